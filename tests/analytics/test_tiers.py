"""Tier rules: validation, assignment, hysteresis replay, why, idempotence, monotonicity."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qiao.analytics.features import month_windows
from qiao.analytics.tiers import (
    TierRuleError,
    assign_tiers,
    default_tier_rules,
    parse_tier_rules,
    replay_tiers,
)

AS_OF = dt.date(2026, 10, 31)
ENDS = [m.month_end for m in month_windows(AS_OF, 13)]
SCHEMES = parse_tier_rules()


def frame(paths: dict[str, list[float]], **static: list[float]) -> pd.DataFrame:
    """Features with monthly AUM paths given oldest → newest (13 values each)."""
    rows = {}
    for cust, path in paths.items():
        assert len(path) == 13
        newest_first = list(reversed(path))
        row = {f"aum_m{k}": v for k, v in enumerate(newest_first)}
        row.update({f"deposits_m{k}": v for k, v in enumerate(newest_first)})
        row["aum"] = newest_first[0]
        row["deposits"] = newest_first[0]
        rows[cust] = row
    f = pd.DataFrame.from_dict(rows, orient="index")
    f.index.name = "customer_no"
    f["restricted_flag"] = static.get("restricted_flag", [0.0] * len(f))
    f["contribution_top_share"] = static.get("contribution_top_share", [1.0] * len(f))
    f["contribution_month"] = static.get("contribution_month", [0.0] * len(f))
    return f


def tiers_of(result, cust):  # type: ignore[no-untyped-def]
    h = result.history
    rows = h[h["customer_no"] == cust].sort_values("month_end")
    return [str(t) for t in rows["tier"]]


GOLD, ORD = 400_000.0, 50_000.0


def test_builtin_rules_parse_and_order():
    assert set(SCHEMES) == {"pyramid", "deposit"}
    pyramid = SCHEMES["pyramid"]
    assert pyramid.codes == ["DIAMOND", "PLATINUM", "GOLD", "ORDINARY", "RESTRICTED"]
    assert [t.label_zh for t in pyramid.tiers] == ["限制", "钻石", "白金", "金", "普通"]
    assert SCHEMES["deposit"].codes == ["VIP", "KEY", "QUALITY", "ORDINARY"]
    assert pyramid.downgrade_after_months == 3


@pytest.mark.parametrize(
    ("deposits", "tier"),
    [
        (0, "ORDINARY"),
        (99_999.99, "ORDINARY"),
        (100_000, "QUALITY"),
        (199_999.99, "QUALITY"),
        (200_000, "KEY"),
        (299_999.99, "KEY"),
        (300_000, "VIP"),
        (5_000_000, "VIP"),
    ],
)
def test_deposit_tiers_lower_bound_inclusive(deposits, tier):
    codes, _ = assign_tiers({"deposits": np.array([deposits])}, SCHEMES["deposit"])
    assert SCHEMES["deposit"].codes[codes[0]] == tier


def test_pyramid_assignment_and_override():
    f = {
        "aum": np.array([7e6, 1e6, 3e5, 299_999, 9e6, 10.0]),
        "restricted_flag": np.array([0, 0, 0, 0, 1, 0]),
        "contribution_top_share": np.array([1, 1, 1, 1, 1, 0.005]),
        "contribution_month": np.array([0, 0, 0, 0, 0, 80.0]),
    }
    codes, rules = assign_tiers(f, SCHEMES["pyramid"])
    names = [SCHEMES["pyramid"].codes[c] for c in codes]
    assert names == ["DIAMOND", "PLATINUM", "GOLD", "ORDINARY", "RESTRICTED", "DIAMOND"]
    assert rules.tolist() == [0, 0, 0, -1, 0, 1]  # the last one is a diamond by contribution


def test_upgrade_is_immediate():
    f = frame({"C1": [ORD] * 12 + [GOLD]})
    r = replay_tiers(f, SCHEMES["pyramid"], ENDS)
    assert tiers_of(r, "C1") == ["ORDINARY"] * 12 + ["GOLD"]
    ev = r.events
    assert ev[["kind", "from_tier", "to_tier"]].values.tolist() == [["TIER_UP", "ORDINARY", "GOLD"]]
    assert ev["event_date"].tolist() == [AS_OF]
    assert r.current.loc["C1", "since"] == AS_OF


def test_two_months_below_keep_the_tier_three_months_downgrade():
    f = frame(
        {
            "KEEP": [GOLD] * 11 + [ORD, ORD],
            "DROP": [GOLD] * 10 + [ORD, ORD, ORD],
        }
    )
    r = replay_tiers(f, SCHEMES["pyramid"], ENDS)
    assert tiers_of(r, "KEEP")[-1] == "GOLD"
    keep = r.current.loc["KEEP"]
    assert bool(keep["held_by_hysteresis"]) and keep["months_below"] == 2
    assert str(keep["raw_tier"]) == "ORDINARY"
    assert tiers_of(r, "DROP") == ["GOLD"] * 12 + ["ORDINARY"]
    drop = r.current.loc["DROP"]
    assert not bool(drop["held_by_hysteresis"]) and drop["months_below"] == 0
    ev = r.events[r.events["customer_no"] == "DROP"]
    assert ev[["kind", "from_tier", "to_tier"]].values.tolist() == [
        ["TIER_DOWN", "GOLD", "ORDINARY"]
    ]
    assert r.events[r.events["customer_no"] == "KEEP"].empty


def test_a_month_back_in_the_tier_resets_the_count():
    f = frame({"C1": [GOLD] * 7 + [ORD, ORD, GOLD, ORD, ORD, GOLD]})
    r = replay_tiers(f, SCHEMES["pyramid"], ENDS)
    assert set(tiers_of(r, "C1")) == {"GOLD"}


def test_downgrade_goes_to_the_best_tier_of_the_months_below():
    f = frame({"C1": [7e6] * 10 + [1.2e6, GOLD, GOLD]})
    r = replay_tiers(f, SCHEMES["pyramid"], ENDS)
    assert tiers_of(r, "C1")[-3:] == ["DIAMOND", "DIAMOND", "PLATINUM"]
    # PLATINUM is held: the last two month ends are GOLD, one short of a second downgrade
    cur = r.current.loc["C1"]
    assert cur["months_below"] == 2 and bool(cur["held_by_hysteresis"])


def test_override_tier_applies_and_lifts_at_once():
    f = frame({"C1": [GOLD] * 13, "C2": [GOLD] * 13}, restricted_flag=[1.0, 0.0])
    r = replay_tiers(f, SCHEMES["pyramid"], ENDS)
    assert set(tiers_of(r, "C1")) == {"RESTRICTED"}
    assert set(tiers_of(r, "C2")) == {"GOLD"}


def test_why_names_the_rule_values_and_since():
    f = frame({"C1": [ORD] * 5 + [GOLD] * 8, "C2": [GOLD] * 11 + [ORD, ORD]})
    r = replay_tiers(f, SCHEMES["pyramid"], ENDS)
    why = r.why("C1")
    assert why["scheme"] == "pyramid" and why["tier"] == "GOLD"
    assert why["rule"] == "AUM ≥ 300,000"
    assert why["values"]["aum"] == GOLD
    assert why["since"] == ENDS[7].isoformat()
    assert why["held_by_hysteresis"] is False and why["months_below"] == 0
    held = r.why("C2")
    assert held["rule"] == "AUM ≥ 300,000" and held["held_by_hysteresis"] is True
    assert held["raw_tier"] == "ORDINARY" and held["months_below"] == 2
    # the fast JSON path says the same
    assert [json.loads(s) for s in r.why_json()] == r.why_records()


def test_why_gives_the_rule_as_conditions_with_the_actual_values():
    f = frame({"C1": [GOLD] * 13, "C2": [ORD] * 13, "C3": [ORD] * 13}, restricted_flag=[0, 0, 1])
    f["contribution_top_share"] = [0.005, 1.0, 1.0]
    f["contribution_month"] = [120.0, 0.0, 0.0]
    r = replay_tiers(f, SCHEMES["pyramid"], ENDS)
    # C1 is DIAMOND by the contribution rule (two conditions), not by AUM.
    assert r.why("C1")["tier"] == "DIAMOND"
    assert r.why("C1")["conditions"] == [
        {"feature": "contribution_top_share", "op": "<=", "value": 0.01, "actual": 0.005},
        {"feature": "contribution_month", "op": ">", "value": 0.0, "actual": 120.0},
    ]
    assert r.why("C2")["conditions"] == []  # the catch-all
    assert r.why("C3")["conditions"] == [
        {"feature": "restricted_flag", "op": ">=", "value": 1.0, "actual": 1.0}
    ]
    deposit = replay_tiers(frame({"K": [250_000.0] * 13}), SCHEMES["deposit"], ENDS)
    assert deposit.why("K")["conditions"] == [
        {
            "feature": "deposits",
            "op": "between",
            "value": 200_000,
            "high": 300_000,
            "actual": 250_000,
        }
    ]
    assert [json.loads(s) for s in r.why_json()] == r.why_records()
    assert [json.loads(s) for s in deposit.why_json()] == deposit.why_records()


def test_replay_is_idempotent():
    rng = np.random.default_rng(3)
    paths = {f"C{i}": list(rng.choice([ORD, GOLD, 1.5e6, 8e6], 13)) for i in range(50)}
    f = frame(paths)
    a = replay_tiers(f, SCHEMES["pyramid"], ENDS)
    b = replay_tiers(f.copy(), SCHEMES["pyramid"], ENDS)
    pd.testing.assert_frame_equal(a.history, b.history)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.current, b.current)
    assert a.why_json() == b.why_json()


def _broken(path: list[object], value: object) -> dict:  # type: ignore[type-arg]
    rules = copy.deepcopy(default_tier_rules())
    node = rules
    for key in path[:-1]:
        node = node[key]  # type: ignore[index]
    if value is KeyError:
        del node[path[-1]]  # type: ignore[arg-type]
    else:
        node[path[-1]] = value  # type: ignore[index]
    return rules


GOLD_COND = ["schemes", "pyramid", "tiers", 3, "rules", 0, "conditions", 0]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ([*GOLD_COND, "op"], "=>", "tier 'GOLD', rule 1, condition 1: field 'op' must be one of"),
        (
            [*GOLD_COND, "value"],
            KeyError,
            "tier 'GOLD', rule 1, condition 1: field 'value' is required",
        ),
        ([*GOLD_COND, "value"], "lots", "condition 1: field 'value' must be a number"),
        ([*GOLD_COND, "feature"], "", "condition 1: field 'feature' is required"),
        ([*GOLD_COND, "colour"], "red", "condition 1: unknown field 'colour'"),
        (
            ["schemes", "deposit", "tiers", 1, "rules", 0, "conditions", 0, "value"],
            [300_000, 200_000],
            "scheme 'deposit', tier 'KEY', rule 1, condition 1: field 'value' of 'between' needs",
        ),
        (
            ["schemes", "pyramid", "tiers", 2, "code"],
            "DIAMOND",
            "tier 'DIAMOND': field 'code' is duplicated",
        ),
        (["schemes", "pyramid", "downgrade_after_months"], 0, "field 'downgrade_after_months'"),
        (["schemes", "pyramid", "tiers", 3, "rules"], [], "exactly one tier without rules"),
        (
            ["schemes", "deposit", "tiers", 3, "rules"],
            [{"conditions": [{"feature": "aum", "op": "<", "value": 1}]}],
            "exactly one tier without rules",
        ),
        (
            ["schemes", "pyramid", "tiers", 1, "rules", 0, "conditions"],
            [],
            "rule 1: field 'conditions' must be a non-empty list",
        ),
    ],
)
def test_validation_errors_name_the_rule_and_field(path, value, message):
    with pytest.raises(TierRuleError, match=message.replace("(", r"\(")):
        parse_tier_rules(_broken(path, value))


def test_unknown_feature_is_named():
    rules = _broken([*GOLD_COND, "feature"], "aum_in_usd")
    scheme = parse_tier_rules(rules)["pyramid"]
    with pytest.raises(TierRuleError, match="feature 'aum_in_usd' is not a feature column"):
        replay_tiers(frame({"C1": [GOLD] * 13}), scheme, ENDS)


def test_rules_may_come_as_a_plain_dict_with_custom_hysteresis():
    rules = {
        "schemes": {
            "simple": {
                "downgrade_after_months": 1,
                "tiers": [
                    {
                        "code": "HIGH",
                        "rules": [{"conditions": [{"feature": "aum", "op": "≥", "value": 100}]}],
                    },
                    {"code": "LOW"},
                ],
            }
        }
    }
    scheme = parse_tier_rules(rules)["simple"]
    f = frame({"C1": [200.0] * 12 + [50.0]})
    r = replay_tiers(f, scheme, ENDS)
    assert tiers_of(r, "C1")[-2:] == ["HIGH", "LOW"]  # one month below is enough here


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.floats(min_value=0, max_value=1e8, allow_nan=False), min_size=1, max_size=40
    ),
    cuts=st.lists(
        st.floats(min_value=1, max_value=1e8, allow_nan=False), min_size=1, max_size=4, unique=True
    ),
)
def test_tiers_are_monotone_in_aum_without_hysteresis(values, cuts):
    cuts = sorted(cuts, reverse=True)
    tiers = [
        {"code": f"T{i}", "rules": [{"conditions": [{"feature": "aum", "op": ">=", "value": c}]}]}
        for i, c in enumerate(cuts)
    ] + [{"code": "BOTTOM"}]
    scheme = parse_tier_rules({"schemes": {"s": {"tiers": tiers}}})["s"]
    aum = np.array(values)
    codes, _ = assign_tiers({"aum": aum}, scheme)
    order = np.argsort(aum, kind="stable")
    # a richer customer never gets a worse (higher-index) tier
    assert np.all(np.diff(codes[order]) <= 0)
    # and the built-in deposit scheme too
    dep, _ = assign_tiers({"deposits": aum}, SCHEMES["deposit"])
    assert np.all(np.diff(dep[order]) <= 0)


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=50))
def test_numbers_as_json_text_round_trip(values):
    # The why's numbers are formatted by Arrow: each must read back as the same number (whole
    # ones below 2**53 as integers), NaN and infinities as null.
    from qiao.analytics.tiers import _json_numbers

    x = np.asarray(values, dtype=np.float64)
    for text, v in zip(_json_numbers(x).to_pylist(), x, strict=True):
        back = json.loads(text)
        if not math.isfinite(v):
            assert back is None
        else:
            assert back == v
            if v == round(v) and abs(v) < 2**53:
                assert isinstance(back, int), text
