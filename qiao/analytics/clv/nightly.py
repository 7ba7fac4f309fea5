"""The nightly scoring's lifetime-value step: P(alive), expected transactions and the bank CLV of
every customer, from BG/NBD fitted on the customers' transaction days, with a holdout check.

Reads the RFM columns of :mod:`qiao.analytics.features` (``rfm_x``, ``rfm_t_x``, ``rfm_T``, their
``_cal`` / ``_holdout`` versions, ``rfm_has_txn``) and the monthly contribution; the recipe is in
``docs/analytics.md`` ("CLV") and :mod:`.bank`.
"""

from __future__ import annotations

import warnings as _warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from qiao.analytics.jsonable import jsonable

from ._base import FloatArray
from .bank import balance_based_clv
from .bgnbd import BetaGeoFitter
from .holdout import holdout_report

__all__ = ["ClvFit", "ClvScores", "apply_clv", "fit_clv", "not_projected_warning", "score_clv"]

#: Below this many customers in the calibration period the holdout check is skipped.
MIN_HOLDOUT_CUSTOMERS = 30


class Warn(Protocol):
    """Records a run warning: English text, a code and its parameters for the pages."""

    def __call__(self, text: str, code: str = ..., **params: Any) -> None: ...


@dataclass
class ClvScores:
    """Per customer (in the features' order): ``p_alive``, ``expected_txn_12m`` and ``clv``;
    ``diagnostics`` (fit sample, parameters, convergence, holdout) is empty when no customer
    has a customer-initiated transaction (then BG/NBD is not fitted).

    ``p_alive`` is BG/NBD's P(alive) — the probability that the customer still transacts with
    the bank — only where the model says something: customers with at least one repeat
    transaction day (x ≥ 1). It is NaN for a customer who holds something but has no repeat
    transaction day (BG/NBD's P(alive | x = 0) is 1 by assumption) and 0 for one who holds
    nothing any more."""

    p_alive: FloatArray
    expected_txn_12m: FloatArray
    clv: FloatArray
    diagnostics: dict[str, Any] = field(default_factory=dict)


@dataclass
class ClvFit:
    """BG/NBD fitted for the night (:func:`fit_clv`): the model (``None`` when no customer of
    the fit has a customer-initiated transaction) and its diagnostics (fit sample, parameters,
    convergence, holdout)."""

    model: BetaGeoFitter | None
    diagnostics: dict[str, Any] = field(default_factory=dict)


def fit_clv(
    features: pd.DataFrame, cfg: Mapping[str, Any], *, holdout_days: float, warn: Warn
) -> ClvFit:
    """Fit BG/NBD on the customers of ``features`` (all, or the partitioned scoring's sample)
    with a customer-initiated transaction, at most ``max_fit_customers`` of them drawn with
    ``random_state``; then the calibration/holdout check on a sample drawn by the same
    generator."""
    has_txn = features["rfm_has_txn"].to_numpy(dtype=np.float64) > 0
    if not has_txn.any():
        return ClvFit(model=None)
    x = features["rfm_x"].to_numpy(dtype=np.float64)
    t_x = features["rfm_t_x"].to_numpy(dtype=np.float64)
    big_t = np.maximum(features["rfm_T"].to_numpy(dtype=np.float64), np.maximum(t_x, 1.0))
    # One generator for both samples (the fit's, then the holdout's), so one seed fixes both.
    rng = np.random.default_rng(int(cfg["random_state"]))
    cap = int(cfg["max_fit_customers"])
    fit_rows = np.flatnonzero(has_txn)
    if len(fit_rows) > cap:
        fit_rows = np.sort(rng.choice(fit_rows, cap, replace=False))
    info: dict[str, Any] = {
        "fit_customers": len(fit_rows),
        "customers_with_txn": int(has_txn.sum()),
    }
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        model = BetaGeoFitter().fit(x[fit_rows], t_x[fit_rows], big_t[fit_rows])
    for w in caught:
        warn(f"BG/NBD: {w.message}", "BGNBD", message=str(w.message))
    info["params"] = dict(model.params_)
    info["converged"] = bool(model.converged_)
    info["loglik"] = float(model.loglik_)
    info["holdout"] = _holdout(features, holdout_days, rng, cap, warn)
    return ClvFit(model=model, diagnostics=info)


def apply_clv(
    fit: ClvFit, features: pd.DataFrame, contribution_month: pd.Series, cfg: Mapping[str, Any]
) -> tuple[ClvScores, int]:
    """P(alive), expected transactions and CLV of the customers of ``features`` with a fitted
    BG/NBD (each customer's numbers depend on their own row only); and the number of RFM
    patterns whose P(alive) could not be projected (the caller warns)."""
    n = len(features)
    horizon = int(cfg["horizon_months"])
    d = float(cfg["monthly_discount"])
    annuity = float(sum((1.0 + d) ** -m for m in range(1, horizon + 1)))
    contrib = contribution_month.to_numpy(dtype=np.float64)
    has_txn = features["rfm_has_txn"].to_numpy(dtype=np.float64) > 0
    holds = (features["aum"].to_numpy() > 0) | (features["n_accounts"].to_numpy() > 0)
    # A customer who holds something is a customer: the balances keep earning, so the CLV of one
    # without a customer-initiated transaction counts every month of the horizon.
    kept = np.where(holds, 1.0, 0.0)
    # P(alive) is BG/NBD's, about transactions. Without a repeat transaction day (x = 0) the
    # model says nothing: it lets a customer drop out only after a repeat transaction, so
    # P(alive | x = 0) = 1 whatever the time since (Fader, Hardie & Lee 2005a). Those customers
    # get no P(alive) (NaN; the 360 says why in words); one who holds nothing any more gets 0.
    p_alive = np.where(holds, np.nan, 0.0)
    expected = np.zeros(n)
    clv = kept * contrib * annuity
    out = ClvScores(p_alive=p_alive, expected_txn_12m=expected, clv=clv)
    model = fit.model
    if model is None or not has_txn.any():
        return out, 0
    x = features["rfm_x"].to_numpy(dtype=np.float64)
    t_x = features["rfm_t_x"].to_numpy(dtype=np.float64)
    big_t = np.maximum(features["rfm_T"].to_numpy(dtype=np.float64), np.maximum(t_x, 1.0))
    # Evaluate on distinct (x, t_x, T) triples only, then spread back.
    rows = np.flatnonzero(has_txn)
    triples = np.stack([x[rows], t_x[rows], big_t[rows]], axis=1)
    uniq, inverse = np.unique(triples, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    ux, utx, ut = uniq[:, 0], uniq[:, 1], uniq[:, 2]
    pa_u = np.asarray(model.conditional_probability_alive(ux, utx, ut), dtype=np.float64)
    ex_u = np.asarray(
        model.conditional_expected_number_of_purchases_up_to_time(365.0, ux, utx, ut),
        dtype=np.float64,
    )
    factor_u = np.asarray(
        balance_based_clv(
            model, ux, utx, ut, np.ones(len(ux)), horizon_months=horizon, discount_rate=d, freq="D"
        ),
        dtype=np.float64,
    )
    bad = ~np.isfinite(factor_u) | ~np.isfinite(pa_u)
    if bad.any():
        # hyp2f1 overflows for degenerate parameters (a + b huge, typical of thin data): keep
        # P(alive) now for the whole horizon there.
        pa_u = np.where(np.isfinite(pa_u), pa_u, 1.0)
        factor_u = np.where(np.isfinite(factor_u), factor_u, pa_u * annuity)
    ex_u = np.where(np.isfinite(ex_u), ex_u, np.nan)
    p_alive[rows] = np.where((x[rows] > 0) & holds[rows], pa_u[inverse], p_alive[rows])
    expected[rows] = ex_u[inverse]
    clv[rows] = factor_u[inverse] * contrib[rows]
    out.diagnostics = {"distinct_rfm_rows": len(uniq)}
    return out, int(bad.sum())


def not_projected_warning(n: int, warn: Warn) -> None:
    """Say that ``n`` RFM patterns kept today's P(alive) for the whole horizon."""
    warn(
        f"CLV: P(alive) could not be projected for {n} RFM patterns "
        "(degenerate BG/NBD parameters); today's P(alive) is used for the whole horizon",
        "CLV_NOT_PROJECTED",
        n=n,
    )


def score_clv(
    features: pd.DataFrame,
    contribution_month: pd.Series,
    cfg: Mapping[str, Any],
    *,
    holdout_days: float,
    warn: Warn,
) -> ClvScores:
    """P(alive), expected transactions in 12 months and CLV of every customer.

    Parameters
    ----------
    features
        The feature frame (one row per customer) with the RFM columns.
    contribution_month
        The expected monthly contribution of each customer (yuan), aligned with ``features``.
    cfg
        The ``[clv]`` table of ``scoring.toml``: ``horizon_months``, ``monthly_discount``,
        ``max_fit_customers`` (the fit's random sample at most) and ``random_state`` (its seed).
    holdout_days
        Length of the holdout period in days (the months held out by the features).
    warn
        Receives the fit's warnings (non-convergence, degenerate parameters, a skipped check).

    Notes
    -----
    :func:`fit_clv` on all customers, then :func:`apply_clv` to the same customers.
    """
    fit = fit_clv(features, cfg, holdout_days=holdout_days, warn=warn)
    out, n_bad = apply_clv(fit, features, contribution_month, cfg)
    if n_bad:
        not_projected_warning(n_bad, warn)
    if fit.model is not None:
        holdout = fit.diagnostics.get("holdout")
        out.diagnostics = {
            **{k: v for k, v in fit.diagnostics.items() if k != "holdout"},
            **out.diagnostics,
            "holdout": holdout,
        }
    return out


def _holdout(
    features: pd.DataFrame,
    holdout_days: float,
    rng: np.random.Generator,
    cap: int,
    warn: Warn,
) -> list[dict[str, Any]] | None:
    """Fit on the calibration months, compare predicted and actual holdout transaction days."""
    t_cal = features["rfm_T_cal"].to_numpy(dtype=np.float64)
    rows = np.flatnonzero(t_cal > 0)
    if len(rows) < MIN_HOLDOUT_CUSTOMERS:
        warn(
            "BG/NBD holdout check skipped: fewer than 30 customers in the calibration period",
            "HOLDOUT_SKIPPED",
            n=MIN_HOLDOUT_CUSTOMERS,
        )
        return None
    if len(rows) > cap:
        rows = np.sort(rng.choice(rows, cap, replace=False))
    x = features["rfm_x_cal"].to_numpy(dtype=np.float64)[rows]
    t_x = features["rfm_t_x_cal"].to_numpy(dtype=np.float64)[rows]
    big_t = np.maximum(t_cal[rows], t_x)
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        model = BetaGeoFitter().fit(x, t_x, big_t)
    for w in caught:
        warn(f"BG/NBD (calibration): {w.message}", "BGNBD_CALIBRATION", message=str(w.message))
    frame = pd.DataFrame(
        {
            "frequency_cal": x,
            "recency_cal": t_x,
            "T_cal": big_t,
            "frequency_holdout": features["rfm_x_holdout"].to_numpy(dtype=np.float64)[rows],
            "duration_holdout": holdout_days,
        }
    )
    report = holdout_report(model, frame)
    return [jsonable(r) for r in report.reset_index().to_dict("records")]
