"""Rule-based customer attributes: lifecycle stage, deposit motive and need mode.

Each attribute is a vectorised rule over the feature frame (numpy, no row loops except for building
the short reason texts from a handful of templates) and comes with a reason a customer manager can
read. Thresholds live in ``[attributes.*]`` of ``qiao/analytics/config/scoring.toml``.

Every reason comes twice: as English text (``<attribute>_why``, for the CLI and other
framework-free users) and in a language-neutral form — ``<attribute>_why_code`` (one of
:data:`REASON_CODES`) and ``<attribute>_why_params`` (JSON text of whole numbers, e.g.
``{"pct":23}``) — that the web application renders in the reader's language.

* **Lifecycle stage** 考察 EXPLORATION / 发展 DEVELOPMENT / 成熟 MATURITY / 衰退 DECLINE — the
  customer-relationship lifecycle of seed 002 (L293–295): exploration is the trial period of a new
  relationship, development a growing one, maturity the stable peak, decline falling volume.
  Rules, checked in this order: EXPLORATION if tenure < 6 months, or < 12 months with at most one
  product; DECLINE if AUM fell ≥ 30 % over 3 months, or transactions halved while AUM fell;
  DEVELOPMENT if AUM rose ≥ 15 % over 6 months, or transactions rose ≥ 30 % (with ≥ 3 in the
  last 3 months); MATURITY otherwise.
* **Deposit motive** 积累 ACCUMULATE / 增值 APPRECIATE / 贷款 LOAN — seed 004 (L84–92): saving for
  a goal (time deposits, fund plans), chasing yield (wealth products, funds — "the bank's least
  stable depositors"), or keeping deposits to borrow (loans, settlement, corporate credit).
  Rules: LOAN if the customer has a loan balance, or is corporate and uses settlement services;
  else APPRECIATE if wealth + fund hold ≥ 30 % of AUM (or APPRECIATE-tagged products do), or the
  customer traded ≥ 4 times in 12 months; else ACCUMULATE (time deposits and bonds, or by
  default — a depositor without investment or credit products saves).
* **Need mode** 被动 PASSIVE / 主动 ACTIVE — seed 004 (L68): has the customer moved from passive to
  active handling (self-service, proactive requests)? ACTIVE when at least two of: ≥ 50 % of
  transactions through electronic channels, ≥ 1 wealth/fund purchase in 12 months, ≥ 2 e-banking
  services activated; PASSIVE otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "DEFAULTS",
    "REASON_CODES",
    "deposit_motive",
    "lifecycle_stage",
    "need_mode",
    "rule_attributes",
]

DEFAULTS: dict[str, dict[str, float]] = {
    "stage": {
        "exploration_tenure_months": 6,
        "exploration_tenure_months_few": 12,
        "exploration_max_products": 1,
        "decline_aum_trend_3m": -0.30,
        "decline_txn_trend_3m": -0.50,
        "development_aum_trend_6m": 0.15,
        "development_txn_trend_3m": 0.30,
        "development_min_txn_3m": 3,
    },
    "motive": {
        "appreciate_share": 0.30,
        "appreciate_trades": 4,
        "accumulate_share": 0.30,
    },
    "need_mode": {
        "electronic_share": 0.5,
        "min_purchases": 1,
        "min_ebank_services": 2,
        "min_signals": 2,
    },
}


REASON_CODES: dict[str, dict[str, tuple[str, ...]]] = {
    "stage": {
        "NEW_RELATIONSHIP": ("months", "products"),
        "AUM_DOWN_3M": ("pct",),
        "TXN_DOWN_AUM_DOWN": ("txn_pct", "aum_pct"),
        "AUM_UP_6M": ("pct",),
        "TXN_UP_3M": ("pct",),
        "STABLE": (),
    },
    "motive": {
        "LOAN_BALANCE": ("amount",),
        "LOAN_ACCOUNT": (),
        "CORPORATE_SETTLEMENT": (),
        "WEALTH_SHARE": ("pct",),
        "TRADES_12M": ("n",),
        "TIME_BOND_SHARE": ("pct",),
        "DEPOSITS_ONLY": (),
    },
    # need mode: the signals found are the parameters present (any of the three)
    "need_mode": {
        "SIGNALS": ("electronic_pct", "purchases", "services"),
        "SIGNALS_WEAK": ("electronic_pct", "purchases", "services"),
        "COUNTER_ONLY": (),
    },
}
"""The language-neutral reasons: code → its parameters (whole numbers; percentages 0–100,
amounts in yuan). Need mode's parameters are those of the signals found."""


def _params(kind: str, given: Mapping[str, Any] | None) -> dict[str, float]:
    out = dict(DEFAULTS[kind])
    for key, value in (given or {}).items():
        if key not in out:
            raise ValueError(f"attributes.{kind}: unknown parameter {key!r}")
        out[key] = float(value)
    return out


def _col(f: pd.DataFrame, name: str) -> npt.NDArray[np.float64]:
    if name not in f.columns:
        raise ValueError(f"required column {name} missing")
    return np.asarray(f[name].to_numpy(dtype=np.float64), dtype=np.float64)


def _pct(x: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    return np.round(np.abs(np.nan_to_num(x)) * 100).astype(np.int64)


def _fill(
    out: npt.NDArray[np.object_],
    mask: npt.NDArray[np.bool_],
    template: str,
    *columns: npt.NDArray[Any],
) -> None:
    """Write ``template.format(*row values)`` into ``out`` where ``mask`` (only those rows)."""
    rows = np.flatnonzero(mask)
    if not columns:
        out[rows] = template
        return
    picked = [c[rows] for c in columns]
    out[rows] = [template.format(*vals) for vals in zip(*picked, strict=True)]


def _code(
    codes: npt.NDArray[np.object_],
    params: npt.NDArray[np.object_],
    mask: npt.NDArray[np.bool_],
    code: str,
    **columns: npt.NDArray[np.int64],
) -> None:
    """Write ``code`` and its parameters (JSON text, whole numbers) where ``mask``."""
    codes[mask] = code
    if not columns:
        params[mask] = "{}"
        return
    template = "{{" + ",".join(f'"{name}":{{}}' for name in columns) + "}}"
    _fill(params, mask, template, *columns.values())


def _whole(x: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    return np.round(np.nan_to_num(x)).astype(np.int64)


def lifecycle_stage(
    features: pd.DataFrame, params: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Lifecycle stage 考察/发展/成熟/衰退 with a reason (seed 002 L293–295).

    Parameters
    ----------
    features
        Indexed by customer_no with ``tenure_months, n_products, trend_3m, trend_6m,
        txn_trend_3m`` and ``n_txn_m0 … n_txn_m2``.
    params
        Thresholds (``[attributes.stage]``); defaults in :data:`DEFAULTS`.

    Returns
    -------
    pandas.DataFrame
        ``stage`` (EXPLORATION, DEVELOPMENT, MATURITY, DECLINE), ``stage_why`` (English) and
        ``stage_why_code``, ``stage_why_params`` (see :data:`REASON_CODES`).
    """
    p = _params("stage", params)
    n = len(features)
    tenure = _col(features, "tenure_months")
    products = _col(features, "n_products")
    t3 = _col(features, "trend_3m")
    t6 = _col(features, "trend_6m")
    tt = _col(features, "txn_trend_3m")
    txn3 = _col(features, "n_txn_m0") + _col(features, "n_txn_m1") + _col(features, "n_txn_m2")
    stage = np.full(n, "MATURITY", dtype=object)
    why = np.full(n, "", dtype=object)
    with np.errstate(invalid="ignore"):
        new = (tenure < p["exploration_tenure_months"]) | (
            (tenure < p["exploration_tenure_months_few"])
            & (products <= p["exploration_max_products"])
        )
        aum_fall = t3 <= p["decline_aum_trend_3m"]
        txn_fall = (tt <= p["decline_txn_trend_3m"]) & (t3 < 0)
        decline = ~new & (aum_fall | txn_fall)
        aum_rise = t6 >= p["development_aum_trend_6m"]
        txn_rise = (tt >= p["development_txn_trend_3m"]) & (txn3 >= p["development_min_txn_3m"])
        develop = ~new & ~decline & (aum_rise | txn_rise)
    mature = ~new & ~decline & ~develop
    stage[new] = "EXPLORATION"
    stage[decline] = "DECLINE"
    stage[develop] = "DEVELOPMENT"
    ten = np.nan_to_num(tenure, nan=0).astype(np.int64)
    prod = products.astype(np.int64)
    _fill(why, new, "new relationship: customer for {} months, {} product(s)", ten, prod)
    _fill(why, decline & aum_fall, "AUM down {} % over 3 months", _pct(t3))
    _fill(
        why,
        decline & ~aum_fall,
        "transactions down {} % in 3 months while AUM fell {} %",
        _pct(tt),
        _pct(t3),
    )
    _fill(why, develop & aum_rise, "AUM up {} % over 6 months", _pct(t6))
    _fill(why, develop & ~aum_rise, "transactions up {} % in the last 3 months", _pct(tt))
    _fill(why, mature, "stable AUM and activity")
    code = np.full(n, "", dtype=object)
    par = np.full(n, "{}", dtype=object)
    _code(code, par, new, "NEW_RELATIONSHIP", months=ten, products=prod)
    _code(code, par, decline & aum_fall, "AUM_DOWN_3M", pct=_pct(t3))
    _code(code, par, decline & ~aum_fall, "TXN_DOWN_AUM_DOWN", txn_pct=_pct(tt), aum_pct=_pct(t3))
    _code(code, par, develop & aum_rise, "AUM_UP_6M", pct=_pct(t6))
    _code(code, par, develop & ~aum_rise, "TXN_UP_3M", pct=_pct(tt))
    _code(code, par, mature, "STABLE")
    return pd.DataFrame(
        {"stage": stage, "stage_why": why, "stage_why_code": code, "stage_why_params": par},
        index=features.index,
    )


def deposit_motive(features: pd.DataFrame, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Deposit motive 积累/增值/贷款 with a reason (seed 004 L84–92).

    Parameters
    ----------
    features
        With ``loan_balance, customer_type, has_SETTLEMENT, has_LOAN, wealth_fund_share,
        time_bond_share, motive_share_APPRECIATE, motive_share_ACCUMULATE, n_trades``.
    params
        Thresholds (``[attributes.motive]``).

    Returns
    -------
    pandas.DataFrame
        ``motive`` (ACCUMULATE, APPRECIATE, LOAN), ``motive_why`` (English) and
        ``motive_why_code``, ``motive_why_params`` (see :data:`REASON_CODES`).
    """
    p = _params("motive", params)
    n = len(features)
    loan = _col(features, "loan_balance")
    has_loan = (
        features["has_LOAN"].to_numpy(dtype=bool) if "has_LOAN" in features else np.zeros(n, bool)
    )
    corporate = features["customer_type"].astype(object).to_numpy() == "C"
    settlement = features["has_SETTLEMENT"].to_numpy(dtype=bool)
    wf = _col(features, "wealth_fund_share")
    tagged_app = _col(features, "motive_share_APPRECIATE")
    tb = _col(features, "time_bond_share")
    tagged_acc = _col(features, "motive_share_ACCUMULATE")
    trades = _col(features, "n_trades")

    borrower = (loan > 0) | has_loan
    corp_settle = corporate & settlement & ~borrower
    is_loan = borrower | corp_settle
    app_share = np.maximum(wf, tagged_app)
    acc_share = np.maximum(tb, tagged_acc)
    share_app = app_share >= p["appreciate_share"]
    trader = trades >= p["appreciate_trades"]
    by_share = share_app & (app_share >= acc_share)
    appreciate = ~is_loan & (by_share | trader)
    accumulate = ~is_loan & ~appreciate
    saver = accumulate & (acc_share >= p["accumulate_share"])

    motive = np.full(n, "ACCUMULATE", dtype=object)
    motive[is_loan] = "LOAN"
    motive[appreciate] = "APPRECIATE"
    why = np.full(n, "", dtype=object)
    _fill(why, borrower & (loan > 0), "loan balance of ¥{:,.0f}", loan)
    _fill(why, borrower & ~(loan > 0), "holds a loan account")
    _fill(why, corp_settle, "corporate customer using settlement services")
    _fill(why, appreciate & by_share, "{} % of AUM in wealth products and funds", _pct(app_share))
    _fill(
        why,
        appreciate & ~by_share,
        "{} fund/wealth trades in 12 months",
        np.nan_to_num(trades).astype(np.int64),
    )
    _fill(why, saver, "{} % of AUM in time deposits and bonds", _pct(acc_share))
    _fill(why, accumulate & ~saver, "deposits without investment or credit products: saving")
    code = np.full(n, "", dtype=object)
    par = np.full(n, "{}", dtype=object)
    _code(code, par, borrower & (loan > 0), "LOAN_BALANCE", amount=_whole(loan))
    _code(code, par, borrower & ~(loan > 0), "LOAN_ACCOUNT")
    _code(code, par, corp_settle, "CORPORATE_SETTLEMENT")
    _code(code, par, appreciate & by_share, "WEALTH_SHARE", pct=_pct(app_share))
    _code(code, par, appreciate & ~by_share, "TRADES_12M", n=_whole(trades))
    _code(code, par, saver, "TIME_BOND_SHARE", pct=_pct(acc_share))
    _code(code, par, accumulate & ~saver, "DEPOSITS_ONLY")
    return pd.DataFrame(
        {"motive": motive, "motive_why": why, "motive_why_code": code, "motive_why_params": par},
        index=features.index,
    )


def need_mode(features: pd.DataFrame, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Need mode 被动 PASSIVE / 主动 ACTIVE with a reason (seed 004 L68).

    Parameters
    ----------
    features
        With ``electronic_share, n_purchase, n_ebank_activated``.
    params
        Thresholds (``[attributes.need_mode]``).

    Returns
    -------
    pandas.DataFrame
        ``need_mode``, ``need_mode_why`` (the signals found, English) and ``need_mode_why_code``
        (SIGNALS, SIGNALS_WEAK — some signals, not enough for active — or COUNTER_ONLY),
        ``need_mode_why_params`` (the signals found: ``electronic_pct``, ``purchases``,
        ``services``).
    """
    p = _params("need_mode", params)
    e_share = _col(features, "electronic_share")
    purchases = _col(features, "n_purchase")
    services = _col(features, "n_ebank_activated")
    s1 = e_share >= p["electronic_share"]
    s2 = purchases >= p["min_purchases"]
    s3 = services >= p["min_ebank_services"]
    score = s1.astype(np.int64) + s2 + s3
    active = score >= p["min_signals"]
    n = len(features)
    parts = [np.full(n, "", dtype=object) for _ in range(3)]
    _fill(parts[0], s1, "{} % of transactions self-service electronic", _pct(e_share))
    _fill(
        parts[1],
        s2,
        "{} purchase(s) initiated in 12 months",
        np.nan_to_num(purchases).astype(np.int64),
    )
    _fill(parts[2], s3, "{} e-banking services in use", np.nan_to_num(services).astype(np.int64))
    why = np.full(
        n, "no self-service, purchases or e-banking use: handled at the counter", dtype=object
    )
    some = np.flatnonzero(score > 0)
    why[some] = [
        "; ".join(x for x in trio if x) for trio in zip(*(p_[some] for p_ in parts), strict=True)
    ]
    weak = np.flatnonzero(~active & (score > 0))
    why[weak] = [w + " (not enough for active)" for w in why[weak]]
    code = np.where(active, "SIGNALS", np.where(score > 0, "SIGNALS_WEAK", "COUNTER_ONLY"))
    frags = [np.full(n, "", dtype=object) for _ in range(3)]
    _fill(frags[0], s1, '"electronic_pct":{}', _pct(e_share))
    _fill(frags[1], s2, '"purchases":{}', _whole(purchases))
    _fill(frags[2], s3, '"services":{}', _whole(services))
    par = np.full(n, "{}", dtype=object)
    par[some] = [
        "{" + ",".join(x for x in trio if x) + "}"
        for trio in zip(*(f_[some] for f_ in frags), strict=True)
    ]
    return pd.DataFrame(
        {
            "need_mode": np.where(active, "ACTIVE", "PASSIVE").astype(object),
            "need_mode_why": why,
            "need_mode_why_code": code.astype(object),
            "need_mode_why_params": par,
        },
        index=features.index,
    )


def rule_attributes(
    features: pd.DataFrame, config: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """All three attributes (``[attributes]`` of ``scoring.toml`` as ``config``)."""
    config = config or {}
    return pd.concat(
        [
            lifecycle_stage(features, config.get("stage")),
            deposit_motive(features, config.get("motive")),
            need_mode(features, config.get("need_mode")),
        ],
        axis=1,
    )
