"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee, 2005)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1

from ._base import (
    BaseFitter,
    FloatArray,
    RFMPatterns,
    merge_identical_rows,
    minimize_log_params,
)
from ._validation import check_rfm


def _bgnbd_loglik(
    params: FloatArray, data: RFMPatterns, *, with_grad: bool = True
) -> tuple[float, FloatArray]:
    """Weighted BG/NBD log-likelihood and its gradient with respect to ``(r, alpha, a, b)``.

    Implements equation (7) of Fader, Hardie & Lee (2005a) in the overflow-safe form of
    Hardie's note 004: ``LL = A1 + A2 + log(exp(A3) + [x > 0] exp(A4))`` with

    * ``A1 = lnG(r+x) - lnG(r) + r ln(alpha)``
    * ``A2 = lnG(a+b) + lnG(b+x) - lnG(b) - lnG(a+b+x)``
    * ``A3 = -(r+x) ln(alpha+T)``
    * ``A4 = ln(a) - ln(b+x-1) - (r+x) ln(alpha+t_x)``.
    """
    r, alpha, a, b = (float(v) for v in params)
    x, tx, T, w = data.x, data.tx, data.T, data.w
    # terms that depend on x only are evaluated once per distinct frequency
    xu, wx = data.x_values, data.x_weights
    rep = x > 0
    rx = r + x
    a12 = (
        gammaln(r + xu)
        - gammaln(r)
        + gammaln(a + b)
        + gammaln(b + xu)
        - gammaln(b)
        - gammaln(a + b + xu)
    )
    log_at = np.log(alpha + T)
    log_atx = np.log(alpha + tx)
    a3 = -rx * log_at
    a4 = np.where(rep, np.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0) - rx * log_atx, -np.inf)
    m = np.maximum(a3, a4)
    e3 = np.exp(a3 - m)
    e4 = np.exp(a4 - m)
    s34 = e3 + e4
    l34 = m + np.log(s34)
    ll = float(np.dot(wx, a12)) + w.sum() * r * np.log(alpha) + float(np.dot(w, l34))
    if not with_grad:
        return ll, np.empty(0)
    w3 = e3 / s34
    w4 = e4 / s34
    ww4 = w * w4
    d_r = float(np.dot(wx, digamma(r + xu) - digamma(r)))
    d_r += w.sum() * np.log(alpha) - float(np.dot(w * w3, log_at)) - float(np.dot(ww4, log_atx))
    d_alpha = w.sum() * r / alpha - float(np.dot(w * rx, w3 / (alpha + T) + w4 / (alpha + tx)))
    dg_ab = digamma(a + b)
    d_a = float(np.dot(wx, dg_ab - digamma(a + b + xu))) + float(ww4.sum()) / a
    d_b = float(np.dot(wx, dg_ab + digamma(b + xu) - digamma(b) - digamma(a + b + xu)))
    d_b -= float(np.dot(ww4[rep], 1.0 / (b + x[rep] - 1.0)))
    return ll, np.array([d_r, d_alpha, d_a, d_b])


def _bgnbd_objective(
    log_params: FloatArray, data: RFMPatterns, penalizer_coef: float = 0.0
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood (plus L2 penalty) and its gradient in log-parameters."""
    params = np.exp(log_params)
    ll, grad = _bgnbd_loglik(params, data)
    total = data.w.sum()
    value = -ll / total + penalizer_coef * float(np.sum(params**2))
    grad_log = -grad * params / total + 2.0 * penalizer_coef * params**2
    if not np.isfinite(value):
        return np.inf, np.zeros_like(log_params)
    return value, grad_log


class BetaGeoFitter(BaseFitter):
    """BG/NBD ("beta-geometric / negative binomial distribution") model of repeat purchasing.

    While active, a customer buys according to a Poisson process with rate ``lambda``; after each
    purchase the customer drops out for good with probability ``p``. Across customers
    ``lambda ~ Gamma(r, alpha)`` (shape ``r``, rate ``alpha``) and ``p ~ Beta(a, b)``. The data of
    a customer are ``(x, t_x, T)``: number of repeat purchases (``frequency``), time of the last
    purchase since the first (``recency``) and time since the first purchase (``T``), all in the
    same time unit.

    Fitted by maximum likelihood (L-BFGS-B on the log-parameters, analytic gradient, identical
    ``(x, t_x, T)`` rows merged into weights, time rescaled so that ``max(T) = 1``).

    Parameters
    ----------
    penalizer_coef : float, default 0.0
        L2 penalty on the (time-rescaled) parameters added to the mean negative log-likelihood.
    tol : float, default 1e-9
        Gradient tolerance of the optimiser.
    max_iter : int, default 1000
        Maximum number of optimiser iterations.
    min_customers : int, default 30
        Fewer customers than this flag the fit as unreliable.

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "a", "b"}``, with ``alpha`` in the time unit of the data.
    loglik_ : float
        Log-likelihood (sum over customers) at ``params_``, on the original time unit.
    n_ : int
        Number of customers (sum of weights).
    converged_ : bool
        False when the optimiser failed, a parameter ran to a bound, or the data are too thin;
        a :class:`~qiao.analytics.clv.ConvergenceWarning` is issued in that case.
    n_iter_ : int
        Optimiser iterations.

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the
       Easy Way: An Alternative to the Pareto/NBD Model. *Marketing Science*, 24(2), 275-284.
    .. [2] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2008). Computing P(alive) using the BG/NBD
       model. http://brucehardie.com/notes/021/

    Examples
    --------
    >>> model = BetaGeoFitter().fit(summary.frequency, summary.recency, summary.T)  # doctest: +SKIP
    >>> model.params_  # doctest: +SKIP
    {'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
    """

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> BetaGeoFitter:
        """Fit the model by maximum likelihood.

        Parameters
        ----------
        frequency, recency, T : array_like
            Per-customer ``x``, ``t_x`` and ``T`` (see the class docstring).
        weights : array_like, optional
            Number of customers having each row (default 1 each).

        Returns
        -------
        BetaGeoFitter
            ``self``, fitted.

        Raises
        ------
        ValueError
            On negative, missing or inconsistent inputs (the message names column and row).
        """
        self._check_hyperparams()
        x, tx, age, w = check_rfm(frequency, recency, T, weights)
        (xu, txu, tu), wu, _ = merge_identical_rows([x, tx, age], w)
        scale = 1.0 / float(tu.max())
        scaled = RFMPatterns.build(xu, txu * scale, tu * scale, wu)
        pen = float(self.penalizer_coef)

        def objective(lp: FloatArray) -> tuple[float, FloatArray]:
            return _bgnbd_objective(lp, scaled, pen)

        res = minimize_log_params(objective, np.zeros(4), float(self.tol), int(self.max_iter))
        r, alpha_s, a, b = np.exp(res.x)
        self.params_ = {
            "r": float(r),
            "alpha": float(alpha_s / scale),
            "a": float(a),
            "b": float(b),
        }
        theta = np.array([self.params_[k] for k in self.param_names])
        original = RFMPatterns.build(xu, txu, tu, wu)
        self.loglik_ = _bgnbd_loglik(theta, original, with_grad=False)[0]
        problems = []
        if not (x > 0).any():
            problems.append(
                "no customer made a repeat purchase, so the purchase rate and the drop-out "
                "probability cannot be told apart"
            )
        self._record(res, int(round(w.sum())), problems)
        return self

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> FloatArray:
        """Expected number of repeat purchases in ``(T, T + t]`` given the history.

        Equation (10) of Fader, Hardie & Lee (2005a); inputs broadcast against each other.
        """
        r, alpha, a, b = self._check_fitted()
        t = np.asarray(t, dtype=float)
        x = np.asarray(frequency, dtype=float)
        tx = np.asarray(recency, dtype=float)
        age = np.asarray(T, dtype=float)
        c = a + b + x - 1.0
        z = t / (alpha + age + t)
        with np.errstate(all="ignore"):
            # (1-z)^(r+x) 2F1(r+x, b+x; c; z) directly, or via Euler's transformation
            # (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z) when the direct form overflows.
            log_1mz = np.log1p(-z)
            direct = np.log(hyp2f1(r + x, b + x, c, z)) + (r + x) * log_1mz
            euler = np.log(hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)) + (a - 1.0) * log_1mz
            log_term = np.where(np.isfinite(direct), direct, euler)
            numerator = (a + b + x - 1.0) / (a - 1.0) * (1.0 - np.exp(log_term))
            log_odds = np.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0)
            log_odds = log_odds + (r + x) * (np.log(alpha + age) - np.log(alpha + tx))
            denominator = 1.0 + np.where(x > 0, np.exp(log_odds), 0.0)
            out = numerator / denominator
        return np.where(t > 0, out, 0.0)

    def conditional_probability_alive(self, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Probability that a customer with history ``(x, t_x, T)`` is still active.

        ``P(alive) = 1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))`` (Hardie's note 021).
        """
        r, alpha, a, b = self._check_fitted()
        x = np.asarray(frequency, dtype=float)
        tx = np.asarray(recency, dtype=float)
        age = np.asarray(T, dtype=float)
        with np.errstate(all="ignore"):
            log_odds = np.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0)
            log_odds = log_odds + (r + x) * (np.log(alpha + age) - np.log(alpha + tx))
        return np.where(x > 0, expit(-log_odds), 1.0)

    def conditional_probability_alive_at(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> FloatArray:
        """Probability that the customer is still active at ``T + t`` given the history.

        While active, drop-outs arrive as a thinned Poisson process of rate ``lambda p``, so
        ``P(alive at T+t) = P(alive at T) * E[exp(-lambda p t)]`` with the posterior of an active
        customer, ``lambda ~ Gamma(r+x, alpha+T)`` and ``p ~ Beta(a, b+x)``:
        ``E = 2F1(r+x, a; a+b+x; -t/(alpha+T))``, evaluated through Pfaff's transformation as
        ``(1+u)^-a 2F1(a+b-r, a; a+b+x; u/(1+u))`` with ``u = t/(alpha+T)``.
        """
        r, alpha, a, b = self._check_fitted()
        t = np.asarray(t, dtype=float)
        x = np.asarray(frequency, dtype=float)
        u = t / (alpha + np.asarray(T, dtype=float))
        survive = (1.0 + u) ** (-a) * hyp2f1(a + b - r, a, a + b + x, u / (1.0 + u))
        return self.conditional_probability_alive(frequency, recency, T) * survive

    def expected_number_of_purchases_up_to_time(self, t: Any) -> FloatArray:
        """Expected repeat purchases in ``(0, t]`` for a new, randomly chosen customer (eq. 9)."""
        r, alpha, a, b = self._check_fitted()
        t = np.asarray(t, dtype=float)
        hyp = hyp2f1(r, b, a + b - 1.0, t / (alpha + t))
        return (a + b - 1.0) / (a - 1.0) * (1.0 - hyp * (alpha / (alpha + t)) ** r)
