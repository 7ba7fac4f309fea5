"""The Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo, 1987)."""

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

#: Relative step of the central differences used for d log J / d(r, s).
_FD_STEP = 1e-4


def _g(ax: FloatArray, s: float, alpha: float, beta: float, y: FloatArray) -> FloatArray:
    """``G(y)``, the log of one hypergeometric term of ``A_0`` (see :func:`_log_j`)."""
    c = ax + s + 1.0
    if alpha >= beta:
        z = (alpha - beta) / (alpha + y)
        return np.log(hyp2f1(1.0, ax, c, z)) - s * np.log(beta + y) - ax * np.log(alpha + y)
    z = (beta - alpha) / (beta + y)
    return (
        np.log(hyp2f1(1.0, s + 1.0, c, z))
        + (1.0 - ax) * np.log(alpha + y)
        - (s + 1.0) * np.log(beta + y)
    )


def _combine(
    g_tx: FloatArray,
    g_t: FloatArray,
    ax: FloatArray,
    s: float,
    alpha: float,
    beta: float,
    tx: FloatArray,
    T: FloatArray,
) -> FloatArray:
    """``log J = log(exp G(t_x) - exp G(T)) - log(ax + s)``, safe for small ``T - t_x``."""
    gap = T - tx
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.minimum(g_t - g_tx, -1e-300)
        exact = g_tx + np.log(-np.expm1(diff)) - np.log(ax + s)
        # For a tiny gap T - t_x the difference of the two 2F1 terms cancels; the integral is
        # then the gap times the integrand at the midpoint to within (gap/(alpha+T))^2.
        mid = 0.5 * (tx + T)
        midpoint = np.log(gap) - ax * np.log(alpha + mid) - (s + 1.0) * np.log(beta + mid)
    tiny = gap < 1e-7 * (T + max(alpha, beta))
    out = np.where(tiny, midpoint, exact)
    return np.where(gap > 0, out, -np.inf)


def _log_j(
    ax: FloatArray, s: float, alpha: float, beta: float, tx: FloatArray, T: FloatArray
) -> FloatArray:
    """``log J`` with ``J = integral_{t_x}^{T} (alpha+u)^-ax (beta+u)^-(s+1) du``.

    ``s / (r+s+x) * A_0`` of Fader & Hardie's note 009 (eq. 19-22) equals ``s * J`` with
    ``ax = r + x``. ``A_0`` is a difference of two Gaussian hypergeometric terms whose form
    depends on whether ``alpha >= beta``; here each 2F1 is taken through Euler's transformation
    ``2F1(a, b; c; z) = (1-z)^(c-a-b) 2F1(c-a, c-b; c; z)``, which leaves ``2F1(1, .; .; z)`` with
    positive, slowly growing terms that neither overflow nor cancel:

    * ``alpha >= beta``: ``G(y) = log 2F1(1, ax; ax+s+1; (alpha-beta)/(alpha+y))
      - s log(beta+y) - ax log(alpha+y)``
    * ``alpha < beta``: ``G(y) = log 2F1(1, s+1; ax+s+1; (beta-alpha)/(beta+y))
      + (1-ax) log(alpha+y) - (s+1) log(beta+y)``

    and ``J = (exp G(t_x) - exp G(T)) / (ax + s)``, evaluated in logs.
    """
    return _combine(
        _g(ax, s, alpha, beta, tx), _g(ax, s, alpha, beta, T), ax, s, alpha, beta, tx, T
    )


def _log_j_patterns(r: float, s: float, alpha: float, beta: float, data: RFMPatterns) -> FloatArray:
    """:func:`_log_j` for every row of ``data``, with ``G`` evaluated once per distinct pair."""
    rp, ap = data.recency_pairs, data.age_pairs
    g_tx = _g(r + rp.x, s, alpha, beta, rp.y)[rp.inverse]
    g_t = _g(r + ap.x, s, alpha, beta, ap.y)[ap.inverse]
    return _combine(g_tx, g_t, r + data.x, s, alpha, beta, data.tx, data.T)


def _paretonbd_loglik(
    params: FloatArray, data: RFMPatterns, *, with_grad: bool = True
) -> tuple[float, FloatArray]:
    """Weighted Pareto/NBD log-likelihood and gradient with respect to ``(r, alpha, s, beta)``.

    ``L = G(r+x) alpha^r beta^s / G(r) * [ (alpha+T)^-(r+x) (beta+T)^-s + s J ]``
    (Fader & Hardie, note 009, eq. 18). The gradient is analytic except for the derivatives of
    ``log J`` with respect to the 2F1 shape arguments ``r`` and ``s``, taken by central
    differences; ``dJ/dalpha = -(r+x) J(r+x+1, s)`` and ``dJ/dbeta = -(s+1) J(r+x, s+1)``.
    """
    r, alpha, s, beta = (float(v) for v in params)
    x, T, w = data.x, data.T, data.w
    xu, wx = data.x_values, data.x_weights
    ax = r + x
    wsum = float(w.sum())
    log_at = np.log(alpha + T)
    log_bt = np.log(beta + T)
    log_b1 = -ax * log_at - s * log_bt
    log_j = _log_j_patterns(r, s, alpha, beta, data)
    log_sj = np.log(s) + log_j
    m = np.maximum(log_b1, log_sj)
    e1 = np.exp(log_b1 - m)
    ej = np.exp(log_sj - m)
    tot = e1 + ej
    log_k = float(np.dot(wx, gammaln(r + xu))) - wsum * (gammaln(r) - r * np.log(alpha))
    ll = log_k + wsum * s * np.log(beta) + float(np.dot(w, m + np.log(tot)))
    if not with_grad:
        return ll, np.empty(0)
    w1 = w * e1 / tot  # customer weight times share of the "still alive at T" term
    wj = w * ej / tot
    has_j = wj > 0
    safe_log_j = np.where(has_j, log_j, 0.0)

    def dlog_j(r_: float, s_: float) -> FloatArray:
        return np.where(has_j, _log_j_patterns(r_, s_, alpha, beta, data), 0.0)

    h_r = _FD_STEP * (1.0 + r)
    dj_dr = (dlog_j(r + h_r, s) - dlog_j(r - h_r, s)) / (2.0 * h_r)
    h_s = _FD_STEP * (1.0 + s)
    dj_ds = (dlog_j(r, s + h_s) - dlog_j(r, s - h_s)) / (2.0 * h_s)
    dj_dalpha = -ax * np.exp(dlog_j(r + 1.0, s) - safe_log_j)
    dj_dbeta = -(s + 1.0) * np.exp(dlog_j(r, s + 1.0) - safe_log_j)

    d_r = float(np.dot(wx, digamma(r + xu))) - wsum * (digamma(r) - np.log(alpha))
    d_r += float(np.dot(w1, -log_at)) + float(np.dot(wj, dj_dr))
    d_alpha = wsum * r / alpha - float(np.dot(w1, ax / (alpha + T))) + float(np.dot(wj, dj_dalpha))
    d_s = wsum * np.log(beta) - float(np.dot(w1, log_bt))
    d_s += float(np.dot(wj, 1.0 / s + dj_ds))
    d_beta = wsum * s / beta - float(np.dot(w1, s / (beta + T))) + float(np.dot(wj, dj_dbeta))
    return ll, np.array([d_r, d_alpha, d_s, d_beta])


def _paretonbd_objective(
    log_params: FloatArray, data: RFMPatterns, penalizer_coef: float = 0.0
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood (plus L2 penalty) and its gradient in log-parameters."""
    params = np.exp(log_params)
    with np.errstate(all="ignore"):
        ll, grad = _paretonbd_loglik(params, data)
    total = data.w.sum()
    value = -ll / total + penalizer_coef * float(np.sum(params**2))
    grad_log = -grad * params / total + 2.0 * penalizer_coef * params**2
    if not (np.isfinite(value) and np.all(np.isfinite(grad_log))):
        return np.inf, np.zeros_like(log_params)
    return value, grad_log


class ParetoNBDFitter(BaseFitter):
    """Pareto/NBD model of repeat purchasing in continuous time.

    While alive, a customer buys according to a Poisson process with rate ``lambda``; the
    unobserved lifetime is exponential with rate ``mu``. Across customers
    ``lambda ~ Gamma(r, alpha)`` and ``mu ~ Gamma(s, beta)``, independent. Data per customer are
    ``(x, t_x, T)`` as for :class:`~qiao.analytics.clv.BetaGeoFitter`.

    The likelihood is evaluated in the numerically stable form of Fader & Hardie's note on the
    Pareto/NBD likelihood, with the Gaussian hypergeometric function ``2F1`` from
    :func:`scipy.special.hyp2f1` and the case split on ``alpha >= beta`` versus ``alpha < beta``
    (see :func:`_log_j`). It is maximised with L-BFGS-B on the log-parameters after merging
    identical rows and rescaling time so that ``max(T) = 1``.

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
        ``{"r", "alpha", "s", "beta"}``; ``alpha`` and ``beta`` in the time unit of the data.
    loglik_, n_, converged_, n_iter_
        As for :class:`~qiao.analytics.clv.BetaGeoFitter`.

    References
    ----------
    .. [1] Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting Your Customers:
       Who Are They and What Will They Do Next? *Management Science*, 33(1), 1-24.
    .. [2] Fader, P. S. & Hardie, B. G. S. (2005). A Note on Deriving the Pareto/NBD Model and
       Related Expressions. http://brucehardie.com/notes/009/
    .. [3] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). A Note on Implementing the
       Pareto/NBD Model in MATLAB. http://brucehardie.com/notes/008/
    """

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")

    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> ParetoNBDFitter:
        """Fit the model by maximum likelihood.

        Parameters
        ----------
        frequency, recency, T : array_like
            Per-customer ``x``, ``t_x`` and ``T``.
        weights : array_like, optional
            Number of customers having each row (default 1 each).

        Returns
        -------
        ParetoNBDFitter
            ``self``, fitted.
        """
        self._check_hyperparams()
        x, tx, age, w = check_rfm(frequency, recency, T, weights)
        (xu, txu, tu), wu, _ = merge_identical_rows([x, tx, age], w)
        scale = 1.0 / float(tu.max())
        scaled = RFMPatterns.build(xu, txu * scale, tu * scale, wu)
        pen = float(self.penalizer_coef)

        def objective(lp: FloatArray) -> tuple[float, FloatArray]:
            return _paretonbd_objective(lp, scaled, pen)

        res = minimize_log_params(objective, np.zeros(4), float(self.tol), int(self.max_iter))
        r, alpha_s, s, beta_s = np.exp(res.x)
        self.params_ = {
            "r": float(r),
            "alpha": float(alpha_s / scale),
            "s": float(s),
            "beta": float(beta_s / scale),
        }
        theta = np.array([self.params_[k] for k in self.param_names])
        with np.errstate(all="ignore"):
            self.loglik_ = _paretonbd_loglik(
                theta, RFMPatterns.build(xu, txu, tu, wu), with_grad=False
            )[0]
        problems = []
        if not (x > 0).any():
            problems.append(
                "no customer made a repeat purchase, so the purchase rate and the drop-out "
                "rate cannot be told apart"
            )
        self._record(res, int(round(w.sum())), problems)
        return self

    def _log_alive_odds(self, x: FloatArray, tx: FloatArray, age: FloatArray) -> FloatArray:
        """``log(s J / B1)``: log-odds of "dropped out before T" versus "alive at T"."""
        r, alpha, s, beta = self._check_fitted()
        x, tx, age = np.broadcast_arrays(x, tx, age)
        ax = r + x
        log_b1 = -ax * np.log(alpha + age) - s * np.log(beta + age)
        with np.errstate(all="ignore"):
            log_j = _log_j(ax, s, alpha, beta, tx, age)
        return np.log(s) + log_j - log_b1

    def conditional_probability_alive(self, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Probability that a customer with history ``(x, t_x, T)`` is alive at ``T``.

        Equations (36)-(37) of note 009: ``1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A_0)``.
        """
        x = np.asarray(frequency, dtype=float)
        tx = np.asarray(recency, dtype=float)
        age = np.asarray(T, dtype=float)
        return expit(-self._log_alive_odds(x, tx, age))

    def conditional_probability_alive_at(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> FloatArray:
        """Probability that the customer is still alive at ``T + t`` given the history.

        ``P(alive at T) * ((beta+T)/(beta+T+t))^s``: an alive customer's drop-out rate has the
        posterior ``mu ~ Gamma(s, beta+T)``.
        """
        r, alpha, s, beta = self._check_fitted()
        t = np.asarray(t, dtype=float)
        age = np.asarray(T, dtype=float)
        survive = ((beta + age) / (beta + age + t)) ** s
        return self.conditional_probability_alive(frequency, recency, T) * survive

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> FloatArray:
        """Expected number of purchases in ``(T, T + t]`` given the history (note 009, eq. 41)."""
        r, alpha, s, beta = self._check_fitted()
        t = np.asarray(t, dtype=float)
        x = np.asarray(frequency, dtype=float)
        tx = np.asarray(recency, dtype=float)
        age = np.asarray(T, dtype=float)
        p_alive = expit(-self._log_alive_odds(x, tx, age))
        with np.errstate(all="ignore"):
            log_q = np.log(beta + age) - np.log(beta + age + t)
            horizon = _one_minus_pow_over(s - 1.0, log_q)
        out = p_alive * (r + x) / (alpha + age) * (beta + age) * horizon
        return np.where(t > 0, out, 0.0)

    def expected_number_of_purchases_up_to_time(self, t: Any) -> FloatArray:
        """Expected purchases in ``(0, t]`` for a new, randomly chosen customer (note 009, eq. 27)."""
        r, alpha, s, beta = self._check_fitted()
        t = np.asarray(t, dtype=float)
        with np.errstate(all="ignore"):
            log_q = np.log(beta) - np.log(beta + t)
            horizon = _one_minus_pow_over(s - 1.0, log_q)
        return r / alpha * beta * horizon


def _one_minus_pow_over(k: float, log_q: FloatArray) -> FloatArray:
    """``(1 - q^k) / k`` for ``q = exp(log_q)``, continuous at ``k = 0`` (value ``-log q``)."""
    if abs(k) < 1e-12:
        return np.asarray(-log_q, dtype=float)
    return np.asarray(-np.expm1(k * log_q) / k, dtype=float)
