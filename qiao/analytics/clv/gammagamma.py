"""The Gamma-Gamma model of spend per transaction (Colombo & Jiang 1999; Fader, Hardie & Lee 2005)."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import numpy as np
from scipy.special import digamma, gammaln

from ._base import BaseFitter, FloatArray, merge_identical_rows, minimize_log_params
from ._validation import as_float_array, check_monetary, check_rfm, check_same_length

#: Length of one month in the time unit of the transaction model (as in ``lifetimes``).
MONTH_IN_UNITS: dict[str, float] = {"D": 30.0, "W": 4.345, "M": 1.0, "H": 30.0 * 24.0}


class TransactionModel(Protocol):
    """Anything with the BG/NBD / Pareto/NBD conditional-expectation method."""

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> FloatArray: ...


def _gg_loglik(
    params: FloatArray, x: FloatArray, m: FloatArray, w: FloatArray, *, with_grad: bool = True
) -> tuple[float, FloatArray]:
    """Weighted Gamma-Gamma log-likelihood of the mean spends and its gradient in ``(p, q, gamma)``.

    Per customer (Fader & Hardie, note 025, eq. 1a, with ``v`` written ``gamma``)::

        lnG(px+q) - lnG(px) - lnG(q) + q ln(gamma) + (px-1) ln(m) + px ln(x) - (px+q) ln(xm+gamma)
    """
    p, q, g = (float(v) for v in params)
    px = p * x
    log_xm_g = np.log(x * m + g)
    log_m = np.log(m)
    log_x = np.log(x)
    terms = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(g)
        + (px - 1.0) * log_m
        + px * log_x
        - (px + q) * log_xm_g
    )
    ll = float(np.dot(w, terms))
    if not with_grad:
        return ll, np.empty(0)
    dg_pq = digamma(px + q)
    d_p = float(np.dot(w * x, dg_pq - digamma(px) + log_m + log_x - log_xm_g))
    d_q = float(np.dot(w, dg_pq - digamma(q) + np.log(g) - log_xm_g))
    d_g = float(np.dot(w, q / g - (px + q) / (x * m + g)))
    return ll, np.array([d_p, d_q, d_g])


def _gg_objective(
    log_params: FloatArray, x: FloatArray, m: FloatArray, w: FloatArray, penalizer_coef: float = 0.0
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood (plus L2 penalty) and its gradient in log-parameters."""
    params = np.exp(log_params)
    with np.errstate(all="ignore"):
        ll, grad = _gg_loglik(params, x, m, w)
    total = w.sum()
    value = -ll / total + penalizer_coef * float(np.sum(params**2))
    grad_log = -grad * params / total + 2.0 * penalizer_coef * params**2
    if not (np.isfinite(value) and np.all(np.isfinite(grad_log))):
        return np.inf, np.zeros_like(log_params)
    return value, grad_log


class GammaGammaFitter(BaseFitter):
    """Gamma-Gamma model of the average spend per repeat transaction.

    A customer's spends ``z_1 .. z_x`` are i.i.d. ``Gamma(p, nu)``; across customers
    ``nu ~ Gamma(q, gamma)``. Only the mean spend ``m = mean(z)`` and ``x`` are needed. The model
    assumes spend is independent of purchase frequency (check that the correlation between
    ``frequency`` and ``monetary_value`` is weak before using it).

    Fitted by maximum likelihood (L-BFGS-B on log-parameters, analytic gradient) on the customers
    with ``frequency > 0`` -- rows with ``frequency == 0`` are ignored, so a whole RFM summary can
    be passed. Spend is rescaled to mean 1 during the fit; ``gamma`` is reported in currency
    units.

    Parameters
    ----------
    penalizer_coef : float, default 0.0
        L2 penalty on the (rescaled) parameters added to the mean negative log-likelihood.
    tol : float, default 1e-9
        Gradient tolerance of the optimiser.
    max_iter : int, default 1000
        Maximum number of optimiser iterations.
    min_customers : int, default 30
        Fewer repeat customers than this flag the fit as unreliable.

    Attributes
    ----------
    params_ : dict
        ``{"p", "q", "gamma"}`` (``gamma`` is the paper's ``v``).
    loglik_ : float
        Log-likelihood at ``params_`` (sum over the repeat customers, original currency units).
    n_ : int
        Number of repeat customers used (sum of their weights).
    converged_, n_iter_
        As for :class:`~qiao.analytics.clv.BetaGeoFitter`.

    References
    ----------
    .. [1] Colombo, R. & Jiang, W. (1999). A stochastic RFM model. *Journal of Interactive
       Marketing*, 13(3), 2-12.
    .. [2] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: Using Iso-Value Curves
       for Customer Base Analysis. *Journal of Marketing Research*, 42(4), 415-430.
    .. [3] Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma Model of Monetary Value.
       http://brucehardie.com/notes/025/
    """

    param_names: ClassVar[tuple[str, ...]] = ("p", "q", "gamma")

    def fit(self, frequency: Any, monetary_value: Any, weights: Any = None) -> GammaGammaFitter:
        """Fit on ``(frequency, monetary_value)``; rows with ``frequency == 0`` are skipped.

        Parameters
        ----------
        frequency : array_like
            Number of repeat transactions ``x``.
        monetary_value : array_like
            Mean spend ``m`` over the repeat transactions (must be > 0 where ``x > 0``).
        weights : array_like, optional
            Number of customers having each row (default 1 each).

        Returns
        -------
        GammaGammaFitter
            ``self``, fitted.
        """
        self._check_hyperparams()
        x, m, w = check_monetary(frequency, monetary_value, weights)
        keep = (x > 0) & (w > 0)
        if not keep.any():
            raise ValueError(
                "frequency: no customer has frequency > 0; the Gamma-Gamma model is fitted on "
                "repeat customers only"
            )
        x, m, w = x[keep], m[keep], w[keep]
        (xu, mu), wu, _ = merge_identical_rows([x, m], w)
        scale = float(np.sum(wu * mu) / np.sum(wu))
        ms = mu / scale
        pen = float(self.penalizer_coef)

        def objective(lp: FloatArray) -> tuple[float, FloatArray]:
            return _gg_objective(lp, xu, ms, wu, pen)

        res = minimize_log_params(objective, np.zeros(3), float(self.tol), int(self.max_iter))
        p, q, g_s = np.exp(res.x)
        self.params_ = {"p": float(p), "q": float(q), "gamma": float(g_s * scale)}
        theta = np.array([self.params_[k] for k in self.param_names])
        with np.errstate(all="ignore"):
            self.loglik_ = _gg_loglik(theta, xu, mu, wu, with_grad=False)[0]
        problems = []
        if q <= 1.0:
            problems.append(
                f"q = {q:.3g} <= 1, so the model's population mean spend p*gamma/(q-1) is "
                "infinite and expected spends are meaningless"
            )
        self._record(res, int(round(w.sum())), problems)
        return self

    def conditional_expected_average_profit(
        self, frequency: Any, monetary_value: Any
    ) -> FloatArray:
        """Expected spend per transaction of a customer given ``(x, m)`` (note 025, eq. 5).

        ``E[Z | x, m] = p (gamma + x m) / (p x + q - 1)``: a weighted average of the population
        mean ``p gamma / (q - 1)`` and the customer's own mean ``m``. For ``x = 0`` it is the
        population mean.
        """
        p, q, g = self._check_fitted()
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        m = np.where(x > 0, m, 0.0)
        return np.asarray(p * (g + x * m) / (p * x + q - 1.0), dtype=float)

    def customer_lifetime_value(
        self,
        transaction_model: TransactionModel,
        frequency: Any,
        recency: Any,
        T: Any,
        monetary_value: Any,
        time: int = 12,
        discount_rate: float = 0.01,
        freq: str = "D",
    ) -> FloatArray:
        """Discounted expected value of each customer's purchases over the next ``time`` months.

        ``CLV = sum_{i=1..time} E[Z|x,m] * (E[N(i months)] - E[N((i-1) months)]) / (1+d)^i``,
        where ``E[N(.)]`` is ``transaction_model``'s conditional expected number of purchases
        (BG/NBD or Pareto/NBD) and ``E[Z|x,m]`` the Gamma-Gamma expected spend -- the same
        computation as ``lifetimes``.

        Parameters
        ----------
        transaction_model : BetaGeoFitter or ParetoNBDFitter
            Fitted model of the number of transactions.
        frequency, recency, T : array_like
            RFM summary, in the time unit ``freq``.
        monetary_value : array_like
            Mean spend over the repeat transactions.
        time : int, default 12
            Horizon in months.
        discount_rate : float, default 0.01
            Monthly discount rate.
        freq : {"D", "W", "M", "H"}, default "D"
            Time unit of ``recency`` and ``T`` (a month is 30 days, 4.345 weeks, 720 hours).

        Returns
        -------
        numpy.ndarray
            CLV per customer, in the currency of ``monetary_value``.
        """
        if freq not in MONTH_IN_UNITS:
            raise ValueError(f"freq: must be one of {sorted(MONTH_IN_UNITS)}, got {freq!r}")
        if int(time) < 1:
            raise ValueError(f"time: must be at least 1 month, got {time}")
        if not discount_rate > -1.0:
            raise ValueError(f"discount_rate: must be > -1, got {discount_rate}")
        x, tx, age, _ = check_rfm(frequency, recency, T)
        m = as_float_array("monetary_value", monetary_value)
        check_same_length(frequency=x, monetary_value=m)
        spend = self.conditional_expected_average_profit(x, m)
        unit = MONTH_IN_UNITS[freq]
        clv = np.zeros_like(x)
        previous = np.zeros_like(x)
        for month in range(1, int(time) + 1):
            cumulative = transaction_model.conditional_expected_number_of_purchases_up_to_time(
                month * unit, x, tx, age
            )
            clv += spend * (cumulative - previous) / (1.0 + discount_rate) ** month
            previous = cumulative
        return clv
