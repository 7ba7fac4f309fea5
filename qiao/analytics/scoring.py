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
10. **suggest** (:mod:`qiao.analytics.suggest`), when the caller passes the product shelf: up to
    three suitable next-best products per customer, ranked by expected contribution gained.

Each step is one function below (``_features_step`` … ``_assemble``); the attrition and CLV steps
live with their models (:func:`qiao.analytics.attrition.score_attrition`,
:func:`qiao.analytics.clv.nightly.score_clv`). The random seeds (risk style, attrition, CLV samples)
are the ``random_state`` keys of ``scoring.toml``.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import time
import tomllib
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from ibis.backends import BaseBackend

from qiao.analytics.assoc import cross_sell_candidates, mine_rules
from qiao.analytics.attributes import rule_attributes
from qiao.analytics.attrition import ATTRITION_LOOKBACK, AttritionScores, score_attrition
from qiao.analytics.clv.nightly import ClvScores, score_clv
from qiao.analytics.contribution import ContributionRates, compute_contribution, pareto_summary
from qiao.analytics.features import (
    CATEGORIES,
    FeatureData,
    FeatureParams,
    MonthWindow,
    day_number,
    derive_features,
    execute_features,
    feature_expressions,
    from_day_number,
    month_windows,
)
from qiao.analytics.jsonable import jsonable
from qiao.analytics.riskstyle import rate_risk_style
from qiao.analytics.suggest import suggest_step
from qiao.analytics.tiers import (
    TierResult,
    join_text,
    mark_blacklisted,
    parse_tier_rules,
    replay_tiers,
)
from qiao.core.lake import LARGE_AMOUNT, TIME_ZONE

__all__ = [
    "MAIN_FEATURES",
    "SCORE_COLUMNS",
    "ScoringResult",
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
    #: The next-best products (:data:`qiao.analytics.suggest.SUGGESTION_COLUMNS`); empty when
    #: no shelf was passed.
    suggestions: pd.DataFrame = field(default_factory=pd.DataFrame)


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


def _feature_params(
    cfg: Mapping[str, Any], history_months: int, *, time_zone: str, large_amount: float
) -> FeatureParams:
    f = cfg["features"]
    return FeatureParams(
        history_months=history_months,
        large_txn_threshold=float(large_amount),
        large_window_days=int(f["large_window_days"]),
        contacts_window_days=int(f["contacts_window_days"]),
        bank_initiated_txn_types=tuple(str(x) for x in f["bank_initiated_txn_types"]),
        time_zone=time_zone,
    )


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

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time the block as step ``name`` (reported as it starts)."""
        self.start(name)
        yield
        self.stop()

    def warn(self, text: str, code: str = "TEXT", **params: Any) -> None:
        """Record a warning: English text, and a code with parameters for the pages."""
        self.warnings.append(text)
        self.warning_codes.append({"code": code, "params": params or {"text": text}})


def run_scoring(
    *,
    con: BaseBackend,
    lake: Path,
    as_of: _dt.date,
    config: Mapping[str, Any] | None = None,
    tier_rules: Mapping[str, Any] | None = None,
    previous: pd.DataFrame | None = None,
    progress: Progress | None = None,
    time_zone: str = TIME_ZONE,
    large_amount: float = LARGE_AMOUNT,
    shelf: pd.DataFrame | None = None,
    assessments: pd.DataFrame | None = None,
    blacklisted: Collection[str] | None = None,
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
    time_zone
        The bank's time zone: a transaction's business day is its local date there
        (``qiao score`` passes ``QIAO_TIME_ZONE``).
    large_amount
        A transaction of at least this amount (yuan) is large, for the large-movement features
        and events (``qiao score`` passes ``QIAO_LARGE_AMOUNT``, which the work list uses too).
    shelf
        The products (``product_code, category, risk_level, private, sale_status, motives,
        min_amount``) for the next-best products; ``None`` skips that step.
    assessments
        Each customer's latest risk assessment (``customer_no, tolerance, valid_until,
        qualified_investor``), for the suitability of the next-best products.
    blacklisted
        The customer numbers on the blacklist: they fall into 限制 and get no next-best
        product (:func:`qiao.analytics.tiers.mark_blacklisted`).

    Returns
    -------
    ScoringResult
    """
    cfg = load_scoring_config(config)
    schemes = parse_tier_rules(tier_rules)
    steps = _Steps(progress, total=10 if shelf is None else 11)
    att = cfg["attrition"]
    replay = int(cfg["tiers"]["replay_months"])
    history = max(
        13,
        TREND_MONTHS,
        replay,
        int(att["horizon_months"]) + int(att["panel_months"]) - 1 + ATTRITION_LOOKBACK,
    )
    params = _feature_params(cfg, history, time_zone=time_zone, large_amount=large_amount)
    months = month_windows(as_of, history)
    month_ends = [m.month_end for m in months]
    diag: dict[str, Any] = {"as_of": as_of.isoformat(), "history_months": history}

    with steps.step("features"):
        data, features, diag["counts"] = _features_step(con, lake, as_of, params)
        if blacklisted:
            diag["counts"]["blacklisted"] = mark_blacklisted(features, blacklisted)
    with steps.step("contribution"):
        contrib, diag["pareto"] = _contribution_step(features, cfg["contribution"])
    with steps.step("tiers"):
        tier_results, tier_history, diag["tiers"] = _tiers_step(
            features, schemes, month_ends[:replay]
        )
    with steps.step("attributes"):
        attrs = rule_attributes(features, cfg.get("attributes"))
    with steps.step("riskstyle"):
        risk_style, diag["riskstyle"] = _risk_style_step(features, cfg["riskstyle"])
    with steps.step("assoc"):
        cross_sell, rules, diag["assoc"] = _cross_sell_step(features, data, as_of, cfg["assoc"])
    with steps.step("attrition"):
        attrition = score_attrition(features, month_ends, att)
        diag["attrition"] = attrition.diagnostics
    with steps.step("clv"):
        clv = _clv_step(features, contrib, cfg["clv"], params, months, steps)
        if clv.diagnostics:
            diag["clv"] = clv.diagnostics
    with steps.step("events"):
        events = _events(
            tier_results,
            data,
            attrition.prob,
            previous,
            as_of,
            params,
            float(att["event_threshold"]),
        )
        if previous is not None and "tier_pyramid" in previous and "pyramid" in tier_results:
            diag["tier_changes_vs_previous"] = _tier_changes(tier_results["pyramid"], previous)
        diag["counts"]["events"] = {
            str(k): int(v) for k, v in events["kind"].value_counts().items()
        }
    with steps.step("assemble"):
        scores = _assemble(
            features, as_of, contrib, tier_results, clv, attrition, risk_style, attrs, cross_sell
        )

    suggestions = pd.DataFrame()
    if shelf is not None:
        with steps.step("suggest"):
            suggestions, diag["suggest"] = suggest_step(
                con=con,
                lake=lake,
                as_of=as_of,
                features=features,
                attrs=attrs,
                accounts=data.accounts,
                rules=rules,
                shelf=shelf,
                assessments=assessments,
                cfg=cfg,
            )

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
        diagnostics=jsonable(diag),
        features=features,
        rules=rules,
        suggestions=suggestions,
    )


# --------------------------------------------------------------------------------------------------
# the steps
# --------------------------------------------------------------------------------------------------


def _features_step(
    con: BaseBackend, lake: Path, as_of: _dt.date, params: FeatureParams
) -> tuple[FeatureData, pd.DataFrame, dict[str, Any]]:
    """1. One row per customer, computed by the engine; and the row counts read."""
    exprs = feature_expressions(con, lake, as_of, params)
    data = execute_features(exprs, params)
    features = derive_features(data, as_of, params)
    counts = {
        "customers": len(features),
        "accounts": data.accounts.num_rows,
        "balance_accounts": data.balances.num_rows,
        "customer_months_with_transactions": data.txn_monthly.num_rows,
        "customers_with_transactions_in_history": data.txn_days.num_rows,
        "large_transactions": data.large.num_rows,
    }
    return data, features, counts


def _contribution_step(
    features: pd.DataFrame, cfg: Mapping[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """2. Revenue − cost to serve; the month, year and core-share columns join the features
    (the tier rules read them)."""
    contrib = compute_contribution(features, ContributionRates.from_config(cfg))
    for col in ("contribution_month", "contribution_year", "contribution_top_share"):
        features[col] = contrib[col]
    return contrib, pareto_summary(contrib)


def _tiers_step(
    features: pd.DataFrame, schemes: Mapping[str, Any], month_ends: list[_dt.date]
) -> tuple[dict[str, TierResult], pd.DataFrame, dict[str, dict[str, int]]]:
    """3. Each scheme replayed over the month ends: results, their joint history, tier counts."""
    results = {name: replay_tiers(features, scheme, month_ends) for name, scheme in schemes.items()}
    history = pd.concat([r.history for r in results.values()], ignore_index=True)
    counts = {
        name: {str(k): int(v) for k, v in r.current["tier"].value_counts().items()}
        for name, r in results.items()
    }
    return results, history, counts


def _risk_style_step(
    features: pd.DataFrame, cfg: Mapping[str, Any]
) -> tuple[pd.Series, dict[str, Any]]:
    """5. K-means on trading behaviour: a style per customer, and the fit's diagnostics."""
    cols = ["aum", "turnover", "n_trades", "avg_trade_size", "return_ratio", "risky_share"]
    rs = rate_risk_style(
        features[cols],
        random_state=int(cfg["random_state"]),
        sample_size=int(cfg["sample_size"]),
    )
    risk_style = rs.labels.reindex(features.index).astype(object)
    diagnostics = {
        "k": rs.k,
        "silhouette": {str(k): v for k, v in rs.silhouette.items()},
        "counts": dict(risk_style.value_counts()),
        "warnings": list(rs.warnings),
        "warning_codes": list(rs.warning_codes),
    }
    return risk_style, diagnostics


def _cross_sell_step(
    features: pd.DataFrame, data: FeatureData, as_of: _dt.date, cfg: Mapping[str, Any]
) -> tuple[pd.Series, pd.DataFrame, dict[str, Any]]:
    """6. Association rules on the holdings, then up to ``top_n`` candidates per customer."""
    baskets = _baskets(features, data, as_of, str(cfg["item"]))
    rules = mine_rules(
        baskets,
        min_support=float(cfg["min_support"]),
        min_confidence=float(cfg["min_confidence"]),
        min_lift=float(cfg["min_lift"]),
        max_len=int(cfg["max_len"]),
    )
    cands = cross_sell_candidates(baskets, rules, top_n=int(cfg["top_n"]))
    diagnostics = {
        "item": cfg["item"],
        "baskets": len(baskets),
        "n_rules": len(rules),
        "top_rules": jsonable(rules.head(int(cfg["top_rules_in_diagnostics"])).to_dict("records")),
        "customers_with_candidates": int(cands["customer_no"].nunique()) if len(cands) else 0,
    }
    return _cross_sell_json(cands, features.index), rules, diagnostics


def _clv_step(
    features: pd.DataFrame,
    contrib: pd.DataFrame,
    cfg: Mapping[str, Any],
    params: FeatureParams,
    months: list[MonthWindow],
    steps: _Steps,
) -> ClvScores:
    """8. P(alive), expected transactions and CLV (:func:`qiao.analytics.clv.nightly.score_clv`)."""
    holdout_days = float(months[0].end - months[params.holdout_months - 1].start)
    return score_clv(
        features, contrib["contribution_month"], cfg, holdout_days=holdout_days, warn=steps.warn
    )


def _tier_changes(pyramid: TierResult, previous: pd.DataFrame) -> int:
    """9. Customers whose pyramid tier differs from the previous snapshot's."""
    prev = _previous_frame(previous)
    now_tier = pyramid.current["tier"].astype(object)
    common = now_tier.index.intersection(prev.index)
    return int((now_tier[common] != prev.loc[common, "tier_pyramid"].astype(object)).sum())


def _assemble(
    features: pd.DataFrame,
    as_of: _dt.date,
    contrib: pd.DataFrame,
    tier_results: Mapping[str, TierResult],
    clv: ClvScores,
    attrition: AttritionScores,
    risk_style: pd.Series,
    attrs: pd.DataFrame,
    cross_sell: pd.Series,
) -> pd.DataFrame:
    """10. The scores table: :data:`SCORE_COLUMNS`, one row per customer."""
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
    scores["tier_why"] = _why_json(tier_results, len(features))
    scores["p_alive"] = clv.p_alive
    scores["expected_txn_12m"] = clv.expected_txn_12m
    scores["clv"] = clv.clv
    scores["attrition_prob"] = attrition.prob.to_numpy()
    scores["attrition_reasons"] = attrition.reasons.to_numpy()
    scores["attrition_reason_codes"] = attrition.reason_codes.to_numpy()
    scores["risk_style"] = risk_style.to_numpy()
    for attr in ("stage", "motive", "need_mode"):
        for col in (attr, f"{attr}_why", f"{attr}_why_code", f"{attr}_why_params"):
            scores[col] = attrs[col].to_numpy()
    scores["cross_sell"] = cross_sell.to_numpy()
    scores["aum_series"] = _aum_series(features)
    return scores[list(SCORE_COLUMNS)]


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
