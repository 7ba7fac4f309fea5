"""Machinery shared by the lifetime-value estimators: warnings, row merging and the optimiser."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import ClassVar, NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import OptimizeResult, minimize
from sklearn.base import BaseEstimator

FloatArray = NDArray[np.float64]
Objective = Callable[[FloatArray], tuple[float, FloatArray]]

#: Log-parameters are optimised inside ``[-LOG_BOUND, LOG_BOUND]`` (time rescaled so max T = 1).
LOG_BOUND = 20.0
#: A log-parameter closer than this to a bound counts as "at the bound".
_AT_BOUND = 1e-3


class ConvergenceWarning(UserWarning):
    """A lifetime-value model did not converge or was fitted on too little data.

    The estimator still stores the best parameters it found, with ``converged_ = False``;
    treat them as unreliable.
    """


def merge_identical_rows(
    columns: list[FloatArray], weights: FloatArray
) -> tuple[list[FloatArray], FloatArray, NDArray[np.intp]]:
    """Merge identical rows of ``columns`` into one row whose weight is the summed ``weights``.

    Fader and Hardie's spreadsheets fit on the distinct ``(x, t_x, T)`` patterns weighted by their
    counts; the likelihood is identical and the work is proportional to the number of patterns.

    Returns the distinct rows (sorted), their weights and ``inverse`` such that
    ``unique[k][inverse] == columns[k]``.
    """
    n = columns[0].shape[0]
    # lexsort + run detection: ~10x faster than np.unique(axis=0), which sorts byte strings
    order = np.lexsort(columns[::-1])
    sorted_cols = [c[order] for c in columns]
    same_as_previous = np.zeros(n, dtype=bool)
    same_as_previous[1:] = True
    for c in sorted_cols:
        same_as_previous[1:] &= c[1:] == c[:-1]
    starts = ~same_as_previous
    group = np.cumsum(starts) - 1
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = group
    merged_w: FloatArray = np.bincount(
        group, weights=weights[order], minlength=int(group[-1]) + 1
    ).astype(np.float64)
    unique = [c[starts] for c in sorted_cols]
    keep = merged_w > 0
    if not keep.all():
        # rows with weight 0 carry no information: drop them (and remap the inverse)
        new_pos = np.cumsum(keep) - 1
        unique = [c[keep] for c in unique]
        merged_w, inverse = merged_w[keep], new_pos[inverse]
    return unique, merged_w, inverse


class TimePairs(NamedTuple):
    """Distinct ``(x, y)`` pairs of a frequency and a time, and where each row's pair is."""

    x: FloatArray
    y: FloatArray
    inverse: NDArray[np.intp]


class RFMPatterns(NamedTuple):
    """Distinct ``(x, t_x, T)`` rows with weights, plus the distinct frequencies.

    ``recency_pairs`` / ``age_pairs`` hold the distinct ``(x, t_x)`` and ``(x, T)`` pairs: with
    times in whole days they are far fewer than the rows, and the Pareto/NBD evaluates its
    hypergeometric terms on them only.
    """

    x: FloatArray
    tx: FloatArray
    T: FloatArray
    w: FloatArray
    x_values: FloatArray  # distinct frequencies
    x_weights: FloatArray  # total weight of each distinct frequency
    recency_pairs: TimePairs
    age_pairs: TimePairs

    @classmethod
    def build(cls, x: FloatArray, tx: FloatArray, T: FloatArray, w: FloatArray) -> RFMPatterns:
        """Build from rows that are already distinct (see :func:`merge_identical_rows`)."""
        xu, xinv = np.unique(x, return_inverse=True)
        xw = np.bincount(xinv.reshape(-1), weights=w, minlength=xu.shape[0]).astype(np.float64)
        ones = np.ones_like(x)
        (px, py), _, pinv = merge_identical_rows([x, tx], ones)
        (qx, qy), _, qinv = merge_identical_rows([x, T], ones)
        return cls(x, tx, T, w, xu, xw, TimePairs(px, py, pinv), TimePairs(qx, qy, qinv))


def minimize_log_params(
    objective: Objective, x0: FloatArray, tol: float, max_iter: int
) -> OptimizeResult:
    """Minimise ``objective(log_params) -> (value, gradient)`` with bounded L-BFGS-B."""
    bounds = [(-LOG_BOUND, LOG_BOUND)] * x0.shape[0]
    with np.errstate(all="ignore"):
        res = minimize(
            objective,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": max_iter, "ftol": tol * 1e-4, "gtol": tol, "maxcor": 20},
        )
        if not res.success and np.all(np.isfinite(res.x)):
            # L-BFGS-B often stops with "ABNORMAL_TERMINATION_IN_LNSRCH" when it is already at
            # the optimum to machine precision; accept that if the gradient is tiny.
            _, grad = objective(res.x)
            free = np.abs(np.abs(res.x) - LOG_BOUND) > _AT_BOUND
            if np.all(np.isfinite(grad)) and np.max(np.abs(grad[free]), initial=0.0) < 1e3 * tol:
                res.success = True
    return res


class BaseFitter(BaseEstimator):
    """Common parameters, fitted attributes and convergence reporting (scikit-learn style).

    A scikit-learn estimator: ``__init__`` stores its parameters as given (checked in ``fit``),
    so ``get_params`` / ``set_params`` and ``sklearn.base.clone`` work as for any estimator.

    Parameters
    ----------
    penalizer_coef : float, default 0.0
        L2 penalty ``penalizer_coef * sum(theta**2)`` added to the mean negative log-likelihood,
        with ``theta`` the parameters on the rescaled time axis (as in the ``lifetimes`` package).
    tol : float, default 1e-9
        Gradient tolerance of the optimiser (on the mean negative log-likelihood).
    max_iter : int, default 1000
        Maximum number of optimiser iterations.
    min_customers : int, default 30
        Below this many customers the fit is flagged as unreliable (``converged_ = False``).
    """

    param_names: ClassVar[tuple[str, ...]] = ()

    params_: dict[str, float]
    loglik_: float
    n_: int
    converged_: bool
    n_iter_: int

    def __init__(
        self,
        penalizer_coef: float = 0.0,
        tol: float = 1e-9,
        max_iter: int = 1000,
        min_customers: int = 30,
    ) -> None:
        self.penalizer_coef = penalizer_coef
        self.tol = tol
        self.max_iter = max_iter
        self.min_customers = min_customers

    def __repr__(self) -> str:
        name = type(self).__name__
        if hasattr(self, "params_"):
            inner = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"<{name} fitted on {self.n_} customers: {inner}>"
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{name}({args})"

    def _check_fitted(self) -> tuple[float, ...]:
        if not hasattr(self, "params_"):
            raise ValueError(f"{type(self).__name__} is not fitted yet: call fit() first")
        return tuple(self.params_[k] for k in self.param_names)

    def _check_hyperparams(self) -> None:
        if not np.isfinite(self.penalizer_coef) or self.penalizer_coef < 0:
            raise ValueError(f"penalizer_coef: must be >= 0, got {self.penalizer_coef}")
        if not self.tol > 0:
            raise ValueError(f"tol: must be > 0, got {self.tol}")
        if int(self.max_iter) < 1:
            raise ValueError(f"max_iter: must be >= 1, got {self.max_iter}")

    def _record(self, res: OptimizeResult, n: int, problems: list[str]) -> None:
        """Store optimiser outcome; warn with every reason the fit is not trustworthy."""
        self.n_iter_ = int(res.nit)
        self.n_ = n
        reasons = list(problems)
        if n < self.min_customers:
            reasons.insert(
                0,
                f"only {n} customers were given; at least {self.min_customers} are needed "
                "for stable estimates",
            )
        if not res.success:
            msg = res.message.decode() if isinstance(res.message, bytes) else str(res.message)
            reasons.append(
                f"the optimiser stopped after {res.nit} iterations without converging ({msg})"
            )
        at_bound = [
            name
            for name, value in zip(self.param_names, res.x, strict=True)
            if abs(abs(value) - LOG_BOUND) < _AT_BOUND
        ]
        if at_bound:
            reasons.append(
                "parameter(s) " + ", ".join(at_bound) + " ran to the edge of the allowed range "
                "(the data cannot identify the model; the estimate is degenerate)"
            )
        if not np.isfinite(res.fun):
            reasons.append("the log-likelihood is not finite at the solution")
        self.converged_ = not reasons
        if reasons:
            warnings.warn(
                f"{type(self).__name__}: the fit is not reliable: " + "; ".join(reasons) + ". "
                "The parameters were stored but converged_ is False; get more data or add a "
                "penalizer_coef.",
                ConvergenceWarning,
                stacklevel=3,
            )
