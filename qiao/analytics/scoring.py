"""The nightly scoring pipeline: features → contribution → tiers → attributes → models → events.

:func:`run_scoring` is a pure function of the lake, the configuration and the date: the engine
(DuckDB or Spark, through Ibis) computes the per-customer aggregates, numpy and scikit-learn do the
rest with fixed random states, and the tiers are replayed over the month ends instead of being read
from a previous run. Running it twice for the same date gives the same result.

The steps and what they produce (``ScoringResult``):

1. **features** (:mod:`qiao.analytics.features`): one row per customer.
2. **contribution** (:mod:`qiao.analytics.contribution`): revenue − cost to serve, the 20/80 core.
3. **tiers** (:mod:`qiao.analytics.tiers`): the ``pyramid`` and ``deposit`` schemes replayed with
   hysteresis over ``[tiers] replay_months`` month ends → tier, why, path and TIER_UP/DOWN events.
4. **attributes** (:mod:`qiao.analytics.attributes`): lifecycle stage, deposit motive, need mode.
5. **risk style** (``qiao.analytics.riskstyle.rate_risk_style``): K-means on trading behaviour.
6. **cross-sell** (``qiao.analytics.assoc``): association rules on the categories (or products)
   held, then up to ``top_n`` candidates per customer.
7. **attrition** (``qiao.analytics.attrition.fit_attrition``): a gradient-boosting model trained on
   a panel of past month ends built here from the monthly series (label: AUM ``horizon_months``
   later ≤ ``drop_ratio`` × AUM, or every account closed), then applied to today's customers.
8. **CLV** (``qiao.analytics.clv``): BG/NBD on customer-initiated transaction days, P(alive),
   expected transactions in 12 months, and CLV = Σ_{m=1..H} P(alive at m) × contribution_month /
   (1+d)^m; plus a calibration/holdout check.
9. **events**: TIER_UP / TIER_DOWN, ATTRITION_UP (vs ``previous``), LARGE_INFLOW / LARGE_OUTFLOW.

The model modules are imported inside :func:`run_scoring`; a missing module is reported in the
diagnostics' warnings and its columns are left empty, any other error propagates.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import math
import time
import tomllib
import warnings as _warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import import_module, resources
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from ibis.backends import BaseBackend

from qiao.analytics.attributes import rule_attributes
from qiao.analytics.contribution import ContributionRates, compute_contribution, pareto_summary
from qiao.analytics.features import (
    CATEGORIES,
    FeatureData,
    FeatureParams,
    day_number,
    derive_features,
    execute_features,
    feature_expressions,
    from_day_number,
    month_windows,
)
from qiao.analytics.tiers import TierResult, join_text, parse_tier_rules, replay_tiers

__all__ = [
    "MAIN_FEATURES",
    "SCORE_COLUMNS",
    "ScoringResult",
    "attrition_features_at",
    "attrition_panel",
    "load_scoring_config",
    "run_scoring",
]

Progress = Callable[[str, float], None]
FloatArray = npt.NDArray[np.float64]

MAIN_FEATURES: tuple[str, ...] = (
    "customer_type",
    "branch_code",
    "age",
    "tenure_months",
    "aum",
    "aum_avg_3m",
    "aum_avg_6m",
    "aum_avg_12m",
    "trend_3m",
    "trend_6m",
    "trend_12m",
    "deposits",
    "liquidity",
    "loan_balance",
    "n_accounts",
    "n_products",
    "n_categories",
    "categories_held",
    "recency_days",
    "frequency",
    "monetary",
    "n_counter",
    "n_electronic",
    "n_self_service",
    "electronic_share",
    "n_large_in_30d",
    "amt_large_in_30d",
    "n_large_out_30d",
    "amt_large_out_30d",
    "n_purchase",
    "amt_purchase",
    "n_redemption",
    "amt_redemption",
    "n_trades",
    "turnover",
    "avg_trade_size",
    "realised_gain",
    "return_ratio",
    "risky_share",
    "txn_trend_3m",
    "n_ebank_activated",
    "payroll",
    "contacts_90d",
    "restricted_flag",
)
"""Feature columns copied into ``scores`` (all features are in ``ScoringResult.features``)."""

SCORE_COLUMNS: tuple[str, ...] = (
    "customer_no",
    "as_of",
    *MAIN_FEATURES,
    "revenue_month",
    "cost_month",
    "contribution_month",
    "contribution_year",
    "contribution_rank",
    "pareto_core",
    "tier_pyramid",
    "tier_deposit",
    "tier_why",
    "p_alive",
    "expected_txn_12m",
    "clv",
    "attrition_prob",
    "attrition_reasons",
    "attrition_reason_codes",
    "risk_style",
    "stage",
    "stage_why",
    "stage_why_code",
    "stage_why_params",
    "motive",
    "motive_why",
    "motive_why_code",
    "motive_why_params",
    "need_mode",
    "need_mode_why",
    "need_mode_why_code",
    "need_mode_why_params",
    "cross_sell",
    "aum_series",
)
"""Columns of ``ScoringResult.scores``, in order.

The explanations come in English (``tier_why[scheme].rule``, ``attrition_reasons``, ``*_why``,
``cross_sell[].reason``) and in a language-neutral form for the web application to render in the
reader's language: ``tier_why[scheme].conditions``, ``attrition_reason_codes`` (JSON list of
``{"code", "params"}``, see :func:`qiao.analytics.attrition.reason_code`), ``*_why_code`` with
``*_why_params`` (JSON text, see :data:`qiao.analytics.attributes.REASON_CODES`) and
``cross_sell[].antecedent`` / ``cross_sell[].pct``."""

EVENT_COLUMNS = ["customer_no", "event_date", "kind", "detail"]

#: Features of the attrition model: computable at any past month end from the monthly series,
#: so the training panel and today's scoring use the same definitions.
ATTRITION_FEATURES: tuple[str, ...] = (
    "aum",
    "trend_3m",
    "trend_6m",
    "trend_12m",
    "deposit_share",
    "txn_trend_3m",
    "frequency",
    "recency_days",
    "net_outflow_3m",
    "n_accounts",
    "tenure_months",
    "age",
    "is_corporate",
)

#: Months of the series the attrition features at month ``t`` read: t … t + 12.
_ATTRITION_LOOKBACK = 13
#: Months of month-average AUM kept per customer for the 360's chart (``aum_series``).
TREND_MONTHS = 24


@dataclass
class ScoringResult:
    """What :func:`run_scoring` returns.

    Attributes
    ----------
    scores : pandas.DataFrame
        One row per customer, columns :data:`SCORE_COLUMNS`.
    tier_history : pandas.DataFrame
        ``customer_no, month_end, scheme, tier, raw_tier``: the replayed path of both schemes.
    events : pandas.DataFrame
        ``customer_no, event_date, kind, detail`` (detail is JSON text).
    diagnostics : dict
        JSON-serialisable: seconds per step, row counts, model metrics, warnings.
    features : pandas.DataFrame
        The full feature frame (indexed by customer_no).
    rules : pandas.DataFrame
        The association rules mined (empty when the module is unavailable).
    """

    scores: pd.DataFrame
    tier_history: pd.DataFrame
    events: pd.DataFrame
    diagnostics: dict[str, Any]
    features: pd.DataFrame = field(default_factory=pd.DataFrame)
    rules: pd.DataFrame = field(default_factory=pd.DataFrame)


# --------------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------------


def _defaults() -> dict[str, Any]:
    text = resources.files("qiao.analytics.config").joinpath("scoring.toml").read_text("utf-8")
    return tomllib.loads(text)


def _merge(base: dict[str, Any], over: Mapping[str, Any], path: str) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in out:
            raise ValueError(f"scoring config: unknown key {where!r}")
        if isinstance(out[key], dict):
            if not isinstance(value, Mapping):
                raise ValueError(f"scoring config: {where!r} must be a table")
            # margin and cost tables may name any category / cost; checked by their users
            out[key] = (
                {**out[key], **value} if key in ("margin",) else _merge(out[key], value, where)
            )
        else:
            out[key] = value
    return out


def load_scoring_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The defaults of ``scoring.toml`` with ``overrides`` merged in (unknown keys are errors)."""
    return _merge(_defaults(), overrides or {}, "")


def _aum_series(features: pd.DataFrame) -> list[list[float]]:
    """Month-average AUM of the last :data:`TREND_MONTHS` months per customer, oldest first (the
    last is the month of ``as_of``, averaged over its days so far), in yuan to the fen."""
    cols = [f"aum_m{k}" for k in reversed(range(TREND_MONTHS)) if f"aum_m{k}" in features]
    if not cols:
        return [[] for _ in range(len(features))]
    values = np.nan_to_num(features[cols].to_numpy(dtype=np.float64)).round(2)
    out: list[list[float]] = values.tolist()
    return out


def _feature_params(cfg: Mapping[str, Any], history_months: int) -> FeatureParams:
    f = cfg["features"]
    return FeatureParams(
        history_months=history_months,
        large_txn_threshold=float(f["large_txn_threshold"]),
        large_window_days=int(f["large_window_days"]),
        contacts_window_days=int(f["contacts_window_days"]),
        bank_initiated_txn_types=tuple(str(x) for x in f["bank_initiated_txn_types"]),
        utc_offset_hours=int(f["utc_offset_hours"]),
    )


# --------------------------------------------------------------------------------------------------
# attrition panel
# --------------------------------------------------------------------------------------------------


def _series(f: pd.DataFrame, name: str, k: int) -> FloatArray:
    return np.asarray(f[f"{name}_m{k}"].to_numpy(dtype=np.float64), dtype=np.float64)


def _window_sum(f: pd.DataFrame, name: str, start: int, length: int) -> FloatArray:
    total = np.zeros(len(f), dtype=np.float64)
    for k in range(start, start + length):
        total += _series(f, name, k)
    return total


def _rel(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out - 1.0


def attrition_features_at(
    features: pd.DataFrame, t: int, month_ends: list[_dt.date]
) -> pd.DataFrame:
    """The attrition model's features as of month end ``t`` (0 = today) from the monthly series.

    Same definitions as the main features where the names agree (``trend_3m`` = AUM of month t
    over the mean of the 3 months before, minus 1; ``frequency`` = customer-initiated
    transactions in the 12 months ending at t; ``recency_days`` = days from the last one to the
    month end), plus ``deposit_share`` (deposits / AUM), ``net_outflow_3m`` ((outflows − inflows)
    of 3 months / max(AUM, 1)), ``is_corporate``.
    """
    aum = _series(features, "aum", t)

    def mean_aum(a: int, b: int) -> FloatArray:
        return _window_sum(features, "aum", a, b - a) / (b - a)

    end_day = day_number(month_ends[t])
    last = np.full(len(features), np.nan)
    for k in range(t, len(month_ends)):
        col = features.get(f"last_ci_day_m{k}")
        if col is None:
            break
        last = np.fmax(last, col.to_numpy(dtype=np.float64))
    out = pd.DataFrame(
        {
            "aum": aum,
            "trend_3m": _rel(aum, mean_aum(t + 1, t + 4)),
            "trend_6m": _rel(aum, mean_aum(t + 1, t + 7)),
            "trend_12m": _rel(aum, mean_aum(t + 1, t + 13)),
            "deposit_share": np.where(
                aum > 0, _series(features, "deposits", t) / np.where(aum > 0, aum, 1), 0.0
            ),
            "txn_trend_3m": _rel(
                _window_sum(features, "n_txn", t, 3), _window_sum(features, "n_txn", t + 3, 3)
            ),
            "frequency": _window_sum(features, "n_txn", t, 12),
            "recency_days": end_day - last,
            "net_outflow_3m": (
                _window_sum(features, "outflow", t, 3) - _window_sum(features, "inflow", t, 3)
            )
            / np.maximum(aum, 1.0),
            "n_accounts": _series(features, "n_accounts", t),
            "tenure_months": features["tenure_months"].to_numpy(dtype=np.float64) - t,
            "age": features["age"].to_numpy(dtype=np.float64),
            "is_corporate": (features["customer_type"].astype(object).to_numpy() == "C").astype(
                np.float64
            ),
        },
        index=features.index,
    )
    out.loc[out["tenure_months"] < 0, "tenure_months"] = np.nan
    return out


def attrition_panel(
    features: pd.DataFrame,
    month_ends: list[_dt.date],
    *,
    horizon_months: int = 3,
    drop_ratio: float = 0.5,
    aum_floor: float = 1000.0,
    panel_months: int = 6,
    max_rows: int | None = None,
    random_state: int = 0,
) -> pd.DataFrame:
    """Training panel of the attrition model: one row per customer × past month end.

    Month ends ``t = horizon … horizon + panel_months − 1`` (each has ``horizon`` months of
    future). A row is kept when AUM at t > ``aum_floor``. ``label`` = 1 when AUM at
    ``t − horizon`` ≤ ``drop_ratio`` × AUM at t, or no account is open any more at ``t − horizon``.
    AUM here is the month-average daily balance of the month ending at the month end.

    Returns
    -------
    pandas.DataFrame
        ``customer_no, as_of`` (the month end), :data:`ATTRITION_FEATURES` and ``label``;
        sampled (fixed seed, equally per month end) down to ``max_rows`` when given.
    """
    need = horizon_months + panel_months - 1 + _ATTRITION_LOOKBACK
    if len(month_ends) < need:
        raise ValueError(
            f"the attrition panel needs {need} months of series, got {len(month_ends)}"
        )
    rng = np.random.default_rng(random_state)
    parts = []
    per_period = None if max_rows is None else max(1, max_rows // panel_months)
    for t in range(horizon_months, horizon_months + panel_months):
        x = attrition_features_at(features, t, month_ends)
        aum_t = x["aum"].to_numpy()
        later = _series(features, "aum", t - horizon_months)
        closed = _series(features, "n_accounts", t - horizon_months) <= 0
        keep = np.flatnonzero(aum_t > aum_floor)
        if per_period is not None and len(keep) > per_period:
            keep = np.sort(rng.choice(keep, per_period, replace=False))
        part = x.iloc[keep].copy()
        part["label"] = ((later[keep] <= drop_ratio * aum_t[keep]) | closed[keep]).astype(np.int64)
        part.insert(0, "as_of", month_ends[t])
        parts.append(part)
    panel = pd.concat(parts)
    panel.index.name = "customer_no"
    return panel.reset_index()


# --------------------------------------------------------------------------------------------------
# the pipeline
# --------------------------------------------------------------------------------------------------


class _Steps:
    """Timing, progress and warnings of the run."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress = progress
        self.total = total
        self.done = 0
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self.warnings: list[str] = []
        self.warning_codes: list[dict[str, Any]] = []
        self._name = ""
        self._t0 = 0.0
        self._c0 = 0.0

    def start(self, name: str) -> None:
        self._name = name
        self._t0 = time.perf_counter()
        self._c0 = time.process_time()
        if self.progress:
            self.progress(name, self.done / self.total)

    def stop(self) -> None:
        self.seconds[self._name] = round(time.perf_counter() - self._t0, 3)
        self.cpu_seconds[self._name] = round(time.process_time() - self._c0, 3)
        self.done += 1

    def warn(self, text: str, code: str = "TEXT", **params: Any) -> None:
        """Record a warning: English text, and a code with parameters for the pages."""
        self.warnings.append(text)
        self.warning_codes.append({"code": code, "params": params or {"text": text}})


def _optional(name: str, steps: _Steps) -> ModuleType | None:
    """Import a model module written alongside; a missing module is a warning, not a failure."""
    try:
        return import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            steps.warn(
                f"{name} is not available: its columns are left empty",
                "MODULE_MISSING",
                module=name,
            )
            return None
        raise


def _jsonable(value: Any) -> Any:
    """Recursively turn numpy / pandas / date values into JSON-serialisable ones."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, _dt.date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, int | str | bool) or value is None:
        return value
    return str(value)


def run_scoring(
    *,
    con: BaseBackend,
    lake: Path,
    as_of: _dt.date,
    config: Mapping[str, Any] | None = None,
    tier_rules: Mapping[str, Any] | None = None,
    previous: pd.DataFrame | None = None,
    progress: Progress | None = None,
) -> ScoringResult:
    """Score every customer of the lake as of ``as_of``.

    Parameters
    ----------
    con
        Ibis backend (:func:`qiao.analytics.lake.connect`), opened by the caller.
    lake
        The lake folder.
    as_of
        The scoring date (normally a month end; month 0 runs from the first of its month to it).
    config
        Overrides of ``qiao/analytics/config/scoring.toml`` (same structure).
    tier_rules
        Tier rule sets as in ``qiao/analytics/config/tiers.toml`` (``None``: the built-in ones).
    previous
        The last snapshot (``customer_no, attrition_prob, tier_pyramid``) for ATTRITION_UP events
        and the tier-change count; ``None`` when there is none.
    progress
        ``progress(step_name, fraction)`` called as the steps start.

    Returns
    -------
    ScoringResult
    """
    cfg = load_scoring_config(config)
    schemes = parse_tier_rules(tier_rules)
    steps = _Steps(progress, total=10)
    att = cfg["attrition"]
    replay = int(cfg["tiers"]["replay_months"])
    history = max(
        13,
        TREND_MONTHS,
        replay,
        int(att["horizon_months"]) + int(att["panel_months"]) - 1 + _ATTRITION_LOOKBACK,
    )
    params = _feature_params(cfg, history)
    months = month_windows(as_of, history)
    month_ends = [m.month_end for m in months]
    diag: dict[str, Any] = {"as_of": as_of.isoformat(), "history_months": history}

    # 1. features ----------------------------------------------------------------------------
    steps.start("features")
    exprs = feature_expressions(con, lake, as_of, params)
    data = execute_features(exprs, params)
    features = derive_features(data, as_of, params)
    n = len(features)
    diag["counts"] = {
        "customers": n,
        "accounts": data.accounts.num_rows,
        "balance_accounts": data.balances.num_rows,
        "customer_months_with_transactions": data.txn_monthly.num_rows,
        "customers_with_transactions_in_history": data.txn_days.num_rows,
        "large_transactions": data.large.num_rows,
    }
    steps.stop()

    # 2. contribution ------------------------------------------------------------------------
    steps.start("contribution")
    contrib = compute_contribution(features, ContributionRates.from_config(cfg["contribution"]))
    for col in ("contribution_month", "contribution_year", "contribution_top_share"):
        features[col] = contrib[col]
    diag["pareto"] = pareto_summary(contrib)
    steps.stop()

    # 3. tiers ---------------------------------------------------------------------------------
    steps.start("tiers")
    tier_results: dict[str, TierResult] = {
        name: replay_tiers(features, scheme, month_ends[:replay])
        for name, scheme in schemes.items()
    }
    tier_history = pd.concat([r.history for r in tier_results.values()], ignore_index=True)
    diag["tiers"] = {
        name: {str(k): int(v) for k, v in r.current["tier"].value_counts().items()}
        for name, r in tier_results.items()
    }
    steps.stop()

    # 4. rule attributes -------------------------------------------------------------------------
    steps.start("attributes")
    attrs = rule_attributes(features, cfg.get("attributes"))
    steps.stop()

    # 5. risk style ------------------------------------------------------------------------------
    steps.start("riskstyle")
    risk_style = pd.Series(None, index=features.index, dtype=object)
    rs_mod = _optional("qiao.analytics.riskstyle", steps)
    if rs_mod is not None:
        cols = ["aum", "turnover", "n_trades", "avg_trade_size", "return_ratio", "risky_share"]
        rs = rs_mod.rate_risk_style(
            features[cols],
            random_state=0,
            sample_size=int(cfg["riskstyle"]["sample_size"]),
        )
        risk_style = rs.labels.reindex(features.index).astype(object)
        diag["riskstyle"] = {
            "k": rs.k,
            "silhouette": {str(k): v for k, v in rs.silhouette.items()},
            "counts": dict(risk_style.value_counts()),
            "warnings": list(getattr(rs, "warnings", [])),
            "warning_codes": list(getattr(rs, "warning_codes", [])),
        }
    steps.stop()

    # 6. cross-sell ------------------------------------------------------------------------------
    steps.start("assoc")
    cross_sell = pd.Series("[]", index=features.index, dtype=object)
    rules = pd.DataFrame()
    as_mod = _optional("qiao.analytics.assoc", steps)
    if as_mod is not None:
        a = cfg["assoc"]
        baskets = _baskets(features, data, as_of, str(a["item"]))
        rules = as_mod.mine_rules(
            baskets,
            min_support=float(a["min_support"]),
            min_confidence=float(a["min_confidence"]),
            min_lift=float(a["min_lift"]),
            max_len=int(a["max_len"]),
        )
        cands = as_mod.cross_sell_candidates(baskets, rules, top_n=int(a["top_n"]))
        cross_sell = _cross_sell_json(cands, features.index)
        top = rules.head(int(a["top_rules_in_diagnostics"]))
        diag["assoc"] = {
            "item": a["item"],
            "baskets": len(baskets),
            "n_rules": len(rules),
            "top_rules": _jsonable(top.to_dict("records")),
            "customers_with_candidates": int(cands["customer_no"].nunique()) if len(cands) else 0,
        }
    steps.stop()

    # 7. attrition --------------------------------------------------------------------------------
    steps.start("attrition")
    attrition_prob = pd.Series(np.nan, index=features.index)
    attrition_reasons = pd.Series("[]", index=features.index, dtype=object)
    attrition_codes = pd.Series("[]", index=features.index, dtype=object)
    at_mod = _optional("qiao.analytics.attrition", steps)
    if at_mod is not None:
        panel = attrition_panel(
            features,
            month_ends,
            horizon_months=int(att["horizon_months"]),
            drop_ratio=float(att["drop_ratio"]),
            aum_floor=float(att["aum_floor"]),
            panel_months=int(att["panel_months"]),
            max_rows=int(att["max_panel_rows"]),
            random_state=0,
        )
        fit = at_mod.fit_attrition(
            panel,
            feature_cols=list(ATTRITION_FEATURES),
            label_col="label",
            time_col="as_of",
            random_state=0,
        )
        now = attrition_features_at(features, 0, month_ends)
        eligible = now["aum"].to_numpy() > float(att["aum_floor"])
        scored = fit.predict(now[eligible].reset_index())
        probs = scored["attrition_prob"].to_numpy(dtype=np.float64)
        attrition_prob[eligible] = probs
        reasons = [json.dumps(list(r), ensure_ascii=False) for r in scored["reasons"]]
        attrition_reasons[eligible] = reasons
        attrition_codes[eligible] = _attrition_codes_json(
            at_mod.reason_code, scored["reason_codes"], getattr(fit.model, "medians_", {})
        )
        floor_text = json.dumps(
            [f"AUM at most ¥{float(att['aum_floor']):,.0f}: not scored for attrition"]
        )
        attrition_reasons[~eligible] = floor_text
        attrition_codes[~eligible] = json.dumps(
            [{"code": "AUM_FLOOR", "params": {"amount": round(float(att["aum_floor"]))}}]
        )
        diag["attrition"] = {
            "panel_rows": len(panel),
            "panel_positive_rate": float(panel["label"].mean()) if len(panel) else None,
            "metrics": _jsonable(fit.metrics),
        }
    steps.stop()

    # 8. CLV ---------------------------------------------------------------------------------------
    steps.start("clv")
    clv_cols = _clv(
        features, contrib["contribution_month"], cfg["clv"], params, months, steps, diag
    )
    steps.stop()

    # 9. events ------------------------------------------------------------------------------------
    steps.start("events")
    events = _events(
        tier_results, data, attrition_prob, previous, as_of, params, float(att["event_threshold"])
    )
    if previous is not None and "tier_pyramid" in previous and "pyramid" in tier_results:
        prev = _previous_frame(previous)
        now_tier = tier_results["pyramid"].current["tier"].astype(object)
        common = now_tier.index.intersection(prev.index)
        changed = now_tier[common] != prev.loc[common, "tier_pyramid"].astype(object)
        diag["tier_changes_vs_previous"] = int(changed.sum())
    diag["counts"]["events"] = {str(k): int(v) for k, v in events["kind"].value_counts().items()}
    steps.stop()

    # 10. assemble --------------------------------------------------------------------------------
    steps.start("assemble")
    scores = pd.DataFrame({"customer_no": features.index.to_numpy(dtype=object)})
    scores["as_of"] = as_of
    for col in MAIN_FEATURES:
        scores[col] = features[col].to_numpy()
    for col in ("revenue_month", "cost_month", "contribution_month", "contribution_year"):
        scores[col] = contrib[col].to_numpy()
    scores["contribution_rank"] = contrib["contribution_rank"].to_numpy()
    scores["pareto_core"] = contrib["pareto_core"].to_numpy()
    scores["tier_pyramid"] = _tier_codes(tier_results, "pyramid")
    scores["tier_deposit"] = _tier_codes(tier_results, "deposit")
    scores["tier_why"] = _why_json(tier_results, n)
    for col in ("p_alive", "expected_txn_12m", "clv"):
        scores[col] = clv_cols[col]
    scores["attrition_prob"] = attrition_prob.to_numpy()
    scores["attrition_reasons"] = attrition_reasons.to_numpy()
    scores["attrition_reason_codes"] = attrition_codes.to_numpy()
    scores["risk_style"] = risk_style.to_numpy()
    for attr in ("stage", "motive", "need_mode"):
        for col in (attr, f"{attr}_why", f"{attr}_why_code", f"{attr}_why_params"):
            scores[col] = attrs[col].to_numpy()
    scores["cross_sell"] = cross_sell.to_numpy()
    scores["aum_series"] = _aum_series(features)
    scores = scores[list(SCORE_COLUMNS)]
    steps.stop()

    diag["seconds"] = steps.seconds
    diag["cpu_seconds"] = steps.cpu_seconds
    diag["warnings"] = steps.warnings
    diag["warning_codes"] = steps.warning_codes
    diag["counts"]["scores"] = len(scores)
    diag["counts"]["tier_history"] = len(tier_history)
    if progress:
        progress("done", 1.0)
    return ScoringResult(
        scores=scores,
        tier_history=tier_history,
        events=events,
        diagnostics=_jsonable(diag),
        features=features,
        rules=rules,
    )


# --------------------------------------------------------------------------------------------------
# helpers of the pipeline
# --------------------------------------------------------------------------------------------------


def _baskets(features: pd.DataFrame, data: FeatureData, as_of: _dt.date, item: str) -> pd.DataFrame:
    """Holdings as ``customer_no, item``: categories held (default) or product codes held."""
    if item == "category":
        parts = []
        for cat in CATEGORIES:
            held = features.index[features[f"has_{cat}"].to_numpy(dtype=bool)]
            parts.append(pd.DataFrame({"customer_no": held.to_numpy(dtype=object), "item": cat}))
        return pd.concat(parts, ignore_index=True)
    if item != "product":
        raise ValueError(f"assoc.item must be 'category' or 'product', got {item!r}")
    acc = data.accounts.select(["customer_no", "product_code", "open_day", "close_day"]).to_pandas()
    day = day_number(as_of)
    open_now = (acc["open_day"].fillna(-(10**9)) <= day) & (acc["close_day"].fillna(10**9) > day)
    out = acc.loc[open_now, ["customer_no", "product_code"]].rename(
        columns={"product_code": "item"}
    )
    return out.drop_duplicates().reset_index(drop=True)


def _attrition_codes_json(
    reason_code: Callable[[str, float | None, float], tuple[str, dict[str, Any]]],
    codes: Any,
    medians: Mapping[str, float],
) -> list[str]:
    """``[(feature, value), …]`` per customer → JSON text ``[{"code", "params"}, …]``."""
    out = []
    for row in codes:
        items = []
        for feature, value in row:
            code, params = reason_code(feature, value, medians.get(feature, math.nan))
            items.append({"code": code, "params": params})
        out.append(json.dumps(items, ensure_ascii=False, separators=(",", ":")))
    return out


def _cross_sell_json(cands: pd.DataFrame, index: pd.Index) -> pd.Series:
    """Candidates → one JSON list ``[{"item", "reason", "antecedent", "pct"}, …]`` per customer
    (``[]`` for none): the English reason and its language-neutral parts (the items held and the
    rule's confidence in whole percent)."""
    out = pd.Series("[]", index=index, dtype=object)
    if cands.empty:
        return out
    c = cands.sort_values(["customer_no", "rank"] if "rank" in cands else ["customer_no"])
    antecedents = c["reason_antecedent"].to_numpy()
    pcts = c["reason_pct"].to_numpy(dtype=np.int64)
    ante_json: dict[Any, str] = {}
    frags = []
    for i, r, a, pct in zip(
        c["item"].to_numpy(), c["reason"].to_numpy(), antecedents, pcts, strict=True
    ):
        key = tuple(a)
        if key not in ante_json:
            ante_json[key] = json.dumps([str(x) for x in key], ensure_ascii=False)
        frags.append(
            '{"item":'
            + json.dumps(str(i), ensure_ascii=False)
            + ',"reason":'
            + json.dumps(str(r), ensure_ascii=False)
            + ',"antecedent":'
            + ante_json[key]
            + ',"pct":'
            + str(int(pct))
            + "}"
        )
    cust = c["customer_no"].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
    ends = np.r_[starts[1:], len(cust)]
    joined = ["[" + ",".join(frags[s:e]) + "]" for s, e in zip(starts, ends, strict=True)]
    pos = index.get_indexer(pd.Index(cust[starts]))
    ok = pos >= 0
    values = out.to_numpy(copy=True)
    values[pos[ok]] = np.asarray(joined, dtype=object)[ok]
    return pd.Series(values, index=index, dtype=object)


def _tier_codes(results: Mapping[str, TierResult], scheme: str) -> npt.NDArray[np.object_]:
    if scheme not in results:
        n = len(next(iter(results.values())).current) if results else 0
        return np.full(n, None, dtype=object)
    return np.asarray(results[scheme].current["tier"].astype(object).to_numpy(), dtype=object)


def _why_json(results: Mapping[str, TierResult], n: int) -> Any:
    """``{"pyramid": {...}, "deposit": {...}}`` per customer, as JSON text (a pandas string
    array backed by Arrow, joined in C)."""
    if not results:
        return np.full(n, "{}", dtype=object)
    pieces: list[Any] = ["{"]
    for i, (name, r) in enumerate(results.items()):
        pieces += [("," if i else "") + json.dumps(name) + ":", r.why_json_arrow()]
    pieces.append("}")
    return join_text(pieces).to_pandas().array


def _previous_frame(previous: pd.DataFrame) -> pd.DataFrame:
    prev = previous.copy()
    if "customer_no" in prev.columns:
        prev = prev.set_index("customer_no")
    prev.index = prev.index.astype(str)
    return prev[~prev.index.duplicated(keep="last")]


def _events(
    tiers: Mapping[str, TierResult],
    data: FeatureData,
    attrition_prob: pd.Series,
    previous: pd.DataFrame | None,
    as_of: _dt.date,
    params: FeatureParams,
    threshold: float,
) -> pd.DataFrame:
    """All events; ``detail`` is JSON text. Keys for idempotent storage: (customer_no, kind,
    event_date, detail.scheme or detail.txn_id)."""
    frames = []
    for name, r in tiers.items():
        e = r.events
        if len(e):
            details = [
                json.dumps({"scheme": name, "from": f, "to": t}, ensure_ascii=False)
                for f, t in zip(e["from_tier"], e["to_tier"], strict=True)
            ]
            frames.append(
                pd.DataFrame(
                    {
                        "customer_no": e["customer_no"].to_numpy(dtype=object),
                        "event_date": e["event_date"].to_numpy(dtype=object),
                        "kind": e["kind"].to_numpy(dtype=object),
                        "detail": details,
                    }
                )
            )
    if previous is not None and "attrition_prob" in previous:
        prev = _previous_frame(previous)["attrition_prob"].astype(float)
        before = prev.reindex(attrition_prob.index).fillna(0.0).to_numpy()
        now = attrition_prob.to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            up = (now >= threshold) & (before < threshold)
        idx = np.flatnonzero(up)
        if len(idx):
            frames.append(
                pd.DataFrame(
                    {
                        "customer_no": attrition_prob.index.to_numpy(dtype=object)[idx],
                        "event_date": [as_of] * len(idx),
                        "kind": "ATTRITION_UP",
                        "detail": [
                            json.dumps(
                                {
                                    "from": round(float(b), 4),
                                    "to": round(float(a), 4),
                                    "threshold": threshold,
                                }
                            )
                            for a, b in zip(now[idx], before[idx], strict=True)
                        ],
                    }
                )
            )
    large = data.large.to_pandas() if data.large.num_rows else None
    if large is not None:
        large = large.sort_values(["customer_no", "txn_day", "txn_id"])
        frames.append(
            pd.DataFrame(
                {
                    "customer_no": large["customer_no"].to_numpy(dtype=object),
                    "event_date": [from_day_number(d) for d in large["txn_day"]],
                    "kind": np.where(large["direction"] == "C", "LARGE_INFLOW", "LARGE_OUTFLOW"),
                    "detail": [
                        json.dumps(
                            {
                                "txn_id": str(t),
                                "amount": float(a),
                                "channel": c,
                                "txn_type": k,
                                "cash": cash,
                                "threshold": params.large_txn_threshold,
                            },
                            ensure_ascii=False,
                        )
                        for t, a, c, k, cash in zip(
                            large["txn_id"],
                            large["amount"],
                            large["channel"],
                            large["txn_type"],
                            large["cash"].astype(object).where(large["cash"].notna(), None),
                            strict=True,
                        )
                    ],
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["customer_no", "event_date", "kind"], kind="stable").reset_index(
        drop=True
    )


def _clv(
    features: pd.DataFrame,
    contribution_month: pd.Series,
    cfg: Mapping[str, Any],
    params: FeatureParams,
    months: list[Any],
    steps: _Steps,
    diag: dict[str, Any],
) -> dict[str, FloatArray]:
    """P(alive), expected transactions in 12 months and CLV (see ``docs/analytics.md``)."""
    n = len(features)
    horizon = int(cfg["horizon_months"])
    d = float(cfg["monthly_discount"])
    annuity = float(sum((1.0 + d) ** -m for m in range(1, horizon + 1)))
    contrib = contribution_month.to_numpy(dtype=np.float64)
    has_txn = features["rfm_has_txn"].to_numpy(dtype=np.float64) > 0
    holds = (features["aum"].to_numpy() > 0) | (features["n_accounts"].to_numpy() > 0)
    # No customer-initiated transaction in the window: BG/NBD's P(alive | x = 0) is 1, which we
    # keep only for customers who still hold something.
    p_alive = np.where(holds, 1.0, 0.0)
    expected = np.zeros(n)
    clv = p_alive * contrib * annuity
    out = {"p_alive": p_alive, "expected_txn_12m": expected, "clv": clv}
    clv_mod = _optional("qiao.analytics.clv", steps)
    if clv_mod is None or not has_txn.any():
        return out
    x = features["rfm_x"].to_numpy(dtype=np.float64)
    t_x = features["rfm_t_x"].to_numpy(dtype=np.float64)
    big_t = np.maximum(features["rfm_T"].to_numpy(dtype=np.float64), np.maximum(t_x, 1.0))
    rng = np.random.default_rng(0)
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
        model = clv_mod.BetaGeoFitter().fit(x[fit_rows], t_x[fit_rows], big_t[fit_rows])
    for w in caught:
        steps.warn(f"BG/NBD: {w.message}", "BGNBD", message=str(w.message))
    info["params"] = dict(model.params_)
    info["converged"] = bool(getattr(model, "converged_", True))
    info["loglik"] = float(getattr(model, "loglik_", float("nan")))

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
        clv_mod.balance_based_clv(
            model, ux, utx, ut, np.ones(len(ux)), horizon_months=horizon, discount_rate=d, freq="D"
        ),
        dtype=np.float64,
    )
    bad = ~np.isfinite(factor_u) | ~np.isfinite(pa_u)
    if bad.any():
        # hyp2f1 overflows for degenerate parameters (a + b huge, typical of thin data): keep
        # P(alive) now for the whole horizon there, and say so.
        pa_u = np.where(np.isfinite(pa_u), pa_u, 1.0)
        factor_u = np.where(np.isfinite(factor_u), factor_u, pa_u * annuity)
        steps.warn(
            f"CLV: P(alive) could not be projected for {int(bad.sum())} RFM patterns "
            "(degenerate BG/NBD parameters); today's P(alive) is used for the whole horizon",
            "CLV_NOT_PROJECTED",
            n=int(bad.sum()),
        )
    ex_u = np.where(np.isfinite(ex_u), ex_u, np.nan)
    p_alive[rows] = pa_u[inverse]
    expected[rows] = ex_u[inverse]
    clv[rows] = factor_u[inverse] * contrib[rows]
    info["distinct_rfm_rows"] = len(uniq)
    info["holdout"] = _clv_holdout(clv_mod, features, params, months, rng, cap, steps)
    diag["clv"] = info
    return out


def _clv_holdout(
    clv_mod: ModuleType,
    features: pd.DataFrame,
    params: FeatureParams,
    months: list[Any],
    rng: np.random.Generator,
    cap: int,
    steps: _Steps,
) -> list[dict[str, Any]] | None:
    """Fit on the calibration months, compare predicted and actual holdout transaction days."""
    t_cal = features["rfm_T_cal"].to_numpy(dtype=np.float64)
    rows = np.flatnonzero(t_cal > 0)
    if len(rows) < 30:
        steps.warn(
            "BG/NBD holdout check skipped: fewer than 30 customers in the calibration period",
            "HOLDOUT_SKIPPED",
            n=30,
        )
        return None
    if len(rows) > cap:
        rows = np.sort(rng.choice(rows, cap, replace=False))
    x = features["rfm_x_cal"].to_numpy(dtype=np.float64)[rows]
    t_x = features["rfm_t_x_cal"].to_numpy(dtype=np.float64)[rows]
    big_t = np.maximum(t_cal[rows], t_x)
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        model = clv_mod.BetaGeoFitter().fit(x, t_x, big_t)
    for w in caught:
        steps.warn(
            f"BG/NBD (calibration): {w.message}", "BGNBD_CALIBRATION", message=str(w.message)
        )
    duration = float(months[0].end - months[params.holdout_months - 1].start)
    frame = pd.DataFrame(
        {
            "frequency_cal": x,
            "recency_cal": t_x,
            "T_cal": big_t,
            "frequency_holdout": features["rfm_x_holdout"].to_numpy(dtype=np.float64)[rows],
            "duration_holdout": duration,
        }
    )
    report = clv_mod.holdout_report(model, frame)
    records = report.reset_index().to_dict("records")
    return [{str(k): _jsonable(v) for k, v in r.items()} for r in records]
