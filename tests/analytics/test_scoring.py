"""The scoring pipeline end to end on a small random bank, plus contribution by hand."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from qiao.analytics.attrition import ATTRITION_FEATURES, attrition_panel
from qiao.analytics.contribution import ContributionRates, compute_contribution, pareto_summary
from qiao.analytics.features import month_windows
from qiao.analytics.lake import connect
from qiao.analytics.scoring import (
    SCORE_COLUMNS,
    ScoringResult,
    load_scoring_config,
    run_scoring,
)

from .conftest import LakeBuilder, build_bank

AS_OF = dt.date(2026, 10, 31)


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bank(LakeBuilder(tmp_path_factory.mktemp("bank") / "lake"), 80).write()


@pytest.fixture(scope="module")
def con() -> Any:
    c = connect("duckdb", threads=2)
    yield c
    c.disconnect()


@pytest.fixture(scope="module", autouse=True)
def one_openmp_thread() -> Any:
    # Tiny models: OpenMP start-up per tree dominates the fit (seconds on a busy machine).
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def result(bank: Path, con: Any) -> ScoringResult:
    return run_scoring(con=con, lake=bank, as_of=AS_OF)


def test_scores_have_one_row_per_customer_and_the_documented_columns(result: ScoringResult):
    s = result.scores
    assert list(s.columns) == list(SCORE_COLUMNS)
    assert len(s) == 80 and s["customer_no"].is_unique
    assert (s["as_of"] == AS_OF).all()
    assert set(s["tier_pyramid"]) <= {"DIAMOND", "PLATINUM", "GOLD", "ORDINARY", "RESTRICTED"}
    assert set(s["tier_deposit"]) <= {"VIP", "KEY", "QUALITY", "ORDINARY"}
    assert set(s["stage"]) <= {"EXPLORATION", "DEVELOPMENT", "MATURITY", "DECLINE"}
    assert set(s["motive"]) <= {"ACCUMULATE", "APPRECIATE", "LOAN"}
    assert set(s["need_mode"]) <= {"ACTIVE", "PASSIVE"}
    assert s.set_index("customer_no").loc["P00007", "tier_pyramid"] == "RESTRICTED"  # blacklisted
    assert np.allclose(s["contribution_year"], 12 * s["contribution_month"])


def test_json_columns_parse(result: ScoringResult):
    s = result.scores
    for text in s["tier_why"]:
        why = json.loads(text)
        assert set(why) == {"pyramid", "deposit"}
        assert {
            "scheme",
            "tier",
            "rule",
            "values",
            "since",
            "held_by_hysteresis",
            "months_below",
        } <= set(why["pyramid"])
    for text in s["attrition_reasons"]:
        assert isinstance(json.loads(text), list)
    for text in s["cross_sell"]:
        for cand in json.loads(text):
            assert set(cand) == {"item", "reason", "antecedent", "pct"}
            assert f"{cand['pct']} % of such customers also hold {cand['item']}" in cand["reason"]
            assert all(a in cand["reason"] for a in cand["antecedent"])
    for text in result.events["detail"]:
        assert isinstance(json.loads(text), dict)


def test_tier_why_matches_tier_columns(result: ScoringResult):
    for tier, text in zip(result.scores["tier_pyramid"], result.scores["tier_why"], strict=True):
        assert json.loads(text)["pyramid"]["tier"] == tier


def test_pareto_core_is_the_top_fifth_by_contribution(result: ScoringResult):
    s = result.scores.sort_values(["contribution_month", "customer_no"], ascending=[False, True])
    core = s["pareto_core"].to_numpy()
    assert core.sum() == math.ceil(0.2 * 80)
    assert core[:16].all() and not core[16:].any()
    share = result.diagnostics["pareto"]["share_of_contribution"]
    assert share == pytest.approx(
        s["contribution_month"].iloc[:16].sum() / s["contribution_month"].sum()
    )


def test_models_ran_and_diagnostics_are_json(result: ScoringResult):
    d = result.diagnostics
    json.dumps(d, allow_nan=False)
    assert set(d["seconds"]) >= {"features", "tiers", "riskstyle", "assoc", "attrition", "clv"}
    assert d["counts"]["customers"] == 80
    s = result.scores
    # no P(alive) (NaN) for a holder without a repeat transaction day: the model says nothing there
    assert s["p_alive"].dropna().between(0, 1).all()
    assert (s["expected_txn_12m"] >= 0).all()
    assert "params" in d["clv"] and set(d["clv"]["params"]) == {"r", "alpha", "a", "b"}
    assert (
        isinstance(d["clv"]["holdout"], list)
        and d["clv"]["holdout"][-1]["frequency_cal"] == "total"
    )
    if "riskstyle" in d:
        assert s["risk_style"].notna().all()
    scored = s["attrition_prob"].notna()
    assert scored.any()
    assert s.loc[scored, "attrition_prob"].between(0, 1).all()
    assert {"auc", "precision", "recall"} <= set(d["attrition"]["metrics"])


def test_clv_combines_p_alive_and_contribution(result: ScoringResult):
    s = result.scores
    # sign follows the contribution, and it is no more than 12 undiscounted months
    assert (
        np.sign(s["clv"].round(9))
        == np.sign(s["contribution_month"].round(9)) * (s["p_alive"].fillna(1.0) > 0)
    ).all()
    assert (s["clv"].abs() <= 12 * s["contribution_month"].abs() + 1e-9).all()


def test_events(result: ScoringResult):
    e = result.events
    assert list(e.columns) == ["customer_no", "event_date", "kind", "detail"]
    assert set(e["kind"]) <= {
        "TIER_UP",
        "TIER_DOWN",
        "LARGE_INFLOW",
        "LARGE_OUTFLOW",
        "ATTRITION_UP",
    }
    assert "ATTRITION_UP" not in set(e["kind"])  # no previous snapshot given
    large = e[e["kind"].isin(["LARGE_INFLOW", "LARGE_OUTFLOW"])]
    f = result.features
    assert len(large) == int(f["n_large_in_30d"].sum() + f["n_large_out_30d"].sum())
    for d, detail in zip(large["event_date"], large["detail"], strict=True):
        assert AS_OF - dt.timedelta(days=30) < d <= AS_OF
        assert json.loads(detail)["amount"] >= 50_000
    tier = e[e["kind"].isin(["TIER_UP", "TIER_DOWN"])]
    h = result.tier_history
    changes = 0
    for _, g in h.sort_values("month_end").groupby(["customer_no", "scheme"], observed=True):
        t = g["tier"].astype(str).to_numpy()
        changes += int((t[1:] != t[:-1]).sum())
    assert len(tier) == changes


def test_same_date_twice_gives_the_same_result(bank: Path, con: Any, result: ScoringResult):
    again = run_scoring(con=con, lake=bank, as_of=AS_OF)
    pd.testing.assert_frame_equal(result.scores, again.scores)
    pd.testing.assert_frame_equal(result.tier_history, again.tier_history)
    pd.testing.assert_frame_equal(result.events, again.events)


def test_attrition_up_against_previous_and_progress(bank: Path, con: Any, result: ScoringResult):
    s = result.scores.set_index("customer_no")
    high = s["attrition_prob"].dropna().sort_values().index[-1]
    threshold = float(s.loc[high, "attrition_prob"]) / 2
    previous = pd.DataFrame(
        {"customer_no": s.index, "attrition_prob": 0.0, "tier_pyramid": s["tier_pyramid"]}
    )
    seen: list[tuple[str, float]] = []
    r = run_scoring(
        con=con,
        lake=bank,
        as_of=AS_OF,
        config={"attrition": {"event_threshold": threshold}},
        previous=previous,
        progress=lambda step, frac: seen.append((step, frac)),
    )
    up = r.events[r.events["kind"] == "ATTRITION_UP"]
    expected = set(s.index[s["attrition_prob"] >= threshold])
    assert set(up["customer_no"]) == expected and high in expected
    assert r.diagnostics["tier_changes_vs_previous"] == 0
    fractions = [f for _, f in seen]
    assert seen[0][0] == "features" and seen[-1] == ("done", 1.0)
    assert fractions == sorted(fractions)


def test_config_overrides_and_unknown_keys():
    cfg = load_scoring_config({"features": {"large_window_days": 10}})
    assert cfg["features"]["large_window_days"] == 10
    assert cfg["contribution"]["margin"]["DEMAND"] == 0.015
    with pytest.raises(ValueError, match="unknown key 'features.large_threshold'"):
        load_scoring_config({"features": {"large_threshold": 1}})
    # The large amount and the time zone are the bank's settings, passed to run_scoring: the
    # scoring's configuration cannot hold a second copy of them.
    for key in ("large_txn_threshold", "utc_offset_hours", "time_zone"):
        with pytest.raises(ValueError, match=f"unknown key 'features.{key}'"):
            load_scoring_config({"features": {key: 1}})


def test_attrition_panel_labels():
    ends = [m.month_end for m in month_windows(AS_OF, 21)]
    cols: dict[str, list[float]] = {}
    # A: AUM halves between month 5 and month 2 (later); B: stable; C: below the floor
    paths = {"A": [100_000.0] * 21, "B": [100_000.0] * 21, "C": [500.0] * 21}
    for k in range(0, 3):
        paths["A"][k] = 40_000.0
    for name in ("aum", "deposits", "n_txn", "inflow", "outflow", "last_ci_day", "n_accounts"):
        for k in range(21):
            cols[f"{name}_m{k}"] = [
                paths[c][k] if name == "aum" else (1.0 if name == "n_accounts" else 0.0)
                for c in "ABC"
            ]
    f = pd.DataFrame(cols, index=pd.Index(list("ABC"), name="customer_no"))
    f["tenure_months"] = 100.0
    f["age"] = 40.0
    f["customer_type"] = "P"
    panel = attrition_panel(f, ends, horizon_months=3, panel_months=6)
    assert set(panel.columns) == {"customer_no", "as_of", "label", *ATTRITION_FEATURES}
    assert "C" not in set(panel["customer_no"])
    lab = panel.set_index(["customer_no", "as_of"])["label"]
    # month ends t = 3..8; A's AUM at t−3 ≤ 0.5 × AUM at t for t = 3, 4, 5 (months 0–2 are low)
    assert [lab[("A", ends[t])] for t in range(3, 9)] == [1, 1, 1, 0, 0, 0]
    assert lab.xs("B").sum() == 0


def test_contribution_by_hand():
    f = pd.DataFrame(
        {
            **{
                f"bal_{c}": [0.0, 0.0]
                for c in (
                    "BOND",
                    "CARD",
                    "FUND",
                    "INSURANCE",
                    "PRECIOUS_METAL",
                    "SETTLEMENT",
                    "WEALTH",
                )
            },
            "bal_DEMAND": [120_000.0, 0.0],
            "bal_TIME": [240_000.0, 0.0],
            "bal_LOAN": [600_000.0, 0.0],
            "n_counter": [24.0, 12.0],
            "n_electronic": [120.0, 0.0],
            "n_self_service": [12.0, 0.0],
            "contacts_90d": [3.0, 0.0],
            "n_accounts": [3.0, 1.0],
        },
        index=pd.Index(["A", "B"], name="customer_no"),
    )
    c = compute_contribution(f, ContributionRates())
    revenue = (0.015 * 120_000 + 0.008 * 240_000 + 0.02 * 600_000) / 12
    cost = (24 * 6 + 120 * 0.3 + 12 * 1.5) / 12 + 3 / 3 * 30 + 3 * 2
    assert c.loc["A", "revenue_month"] == pytest.approx(revenue)
    assert c.loc["A", "cost_month"] == pytest.approx(cost)
    assert c.loc["A", "contribution_month"] == pytest.approx(revenue - cost)
    assert c.loc["B", "contribution_month"] == pytest.approx(-(12 * 6 / 12 + 2))
    assert c["contribution_rank"].tolist() == [1, 2]
    assert c["pareto_core"].tolist() == [True, False]  # ceil(0.2 × 2) = 1
    summary = pareto_summary(c)
    assert summary["n_core"] == 1
    assert summary["share_of_positive_contribution"] == 1.0
    cheaper = ContributionRates.from_config({"cost": {"counter_txn": 0.0}, "margin": {"LOAN": 0.0}})
    assert compute_contribution(f, cheaper).loc["B", "contribution_month"] == pytest.approx(-2)
    with pytest.raises(ValueError, match="unknown field 'teller'"):
        ContributionRates.from_config({"cost": {"teller": 1}})


def test_ties_in_contribution_break_by_customer_no():
    f = pd.DataFrame(
        {
            f"bal_{c}": 0.0
            for c in (
                "BOND",
                "CARD",
                "DEMAND",
                "FUND",
                "INSURANCE",
                "LOAN",
                "PRECIOUS_METAL",
                "SETTLEMENT",
                "TIME",
                "WEALTH",
            )
        }
        | {
            "n_counter": 0.0,
            "n_electronic": 0.0,
            "n_self_service": 0.0,
            "contacts_90d": 0.0,
            "n_accounts": 1.0,
        },
        index=pd.Index(["Z", "A", "M", "B", "Q"], name="customer_no"),
    )
    c = compute_contribution(f)
    assert c.sort_values("contribution_rank").index.tolist() == ["A", "B", "M", "Q", "Z"]
    assert c["pareto_core"].sum() == 1 and bool(c.loc["A", "pareto_core"])


def test_explanations_have_a_language_neutral_form(result: ScoringResult):
    """Next to every English explanation: a code and parameters (rendered by the web app)."""
    from qiao.analytics.attributes import REASON_CODES

    s = result.scores
    for attr in ("stage", "motive", "need_mode"):
        codes = REASON_CODES[attr]
        for code, params, text in zip(
            s[f"{attr}_why_code"], s[f"{attr}_why_params"], s[f"{attr}_why"], strict=True
        ):
            assert code in codes and text
            parsed = json.loads(params)
            assert set(parsed) <= set(codes[code])
            assert all(isinstance(v, int) for v in parsed.values())
    for reasons, coded, prob in zip(
        s["attrition_reasons"], s["attrition_reason_codes"], s["attrition_prob"], strict=True
    ):
        texts, items = json.loads(reasons), json.loads(coded)
        assert len(texts) == len(items)
        assert all(set(item) == {"code", "params"} for item in items)
        if math.isnan(prob):
            assert items == [{"code": "AUM_FLOOR", "params": {"amount": 1000}}]
    for text in s["tier_why"]:
        why = json.loads(text)
        for scheme in why.values():
            for cond in scheme["conditions"]:
                assert {"feature", "op", "value", "actual"} <= set(cond)
                assert cond["actual"] == scheme["values"][cond["feature"]]
            assert (scheme["conditions"] == []) == (scheme["rule"] == "no higher tier's rule holds")
    codes = result.diagnostics["warning_codes"]
    assert len(codes) == len(result.diagnostics["warnings"])
    assert all(set(c) == {"code", "params"} for c in codes)
