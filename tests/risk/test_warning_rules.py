"""The early-warning rules on plain arrays (qiao.analytics.warning): each trigger, the worst
wins, the one-hop links, the escalation, EXIT kept, and the rule file's errors."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qiao.analytics.warning import (
    WarningInputs,
    WarningRuleError,
    evaluate_warnings,
    parse_warning_rules,
)

CONFIG = Path(__file__).resolve().parents[2] / "qiao" / "risk" / "config" / "warning.toml"
RAW = tomllib.loads(CONFIG.read_text("utf-8"))
RULES = parse_warning_rules(RAW)
NAN = np.nan


def inputs(n: int, **over) -> WarningInputs:
    base = {
        "worst_class": np.full(n, -1),
        "written_off": np.zeros(n, bool),
        "max_overdue": np.zeros(n, np.int64),
        "deposits_now": np.full(n, NAN),
        "deposits_base": np.full(n, NAN),
        "aum_now": np.full(n, NAN),
        "aum_base": np.full(n, NAN),
        "utilisation_now": np.full(n, NAN),
        "utilisation_base": np.full(n, NAN),
        "blacklisted": np.zeros(n, bool),
        "current": np.zeros(n, np.int64),
        "days_in_state": np.zeros(n, np.int64),
    }
    base.update(
        {
            k: np.asarray(v) if not isinstance(v, list) or k != "signal_kind" else v
            for k, v in over.items()
        }
    )
    return WarningInputs(**base)


def states(result) -> list[str]:
    return [("NORMAL", "WATCH", "DOUBTFUL", "EXIT")[s] for s in result.state]


def codes(result, i: int) -> list[str]:
    return [code for code, _p in result.reasons_of(i)]


def test_loan_classes_map_to_states():
    # none, PASS, SPECIAL_MENTION, SUBSTANDARD, DOUBTFUL, LOSS
    r = evaluate_warnings(inputs(6, worst_class=[-1, 0, 1, 2, 3, 4]), RULES)
    assert states(r) == ["NORMAL", "NORMAL", "WATCH", "DOUBTFUL", "DOUBTFUL", "EXIT"]
    assert r.reasons_of(2) == [("LOAN_CLASS", {"state": "WATCH", "loan_class": "SPECIAL_MENTION"})]


def test_days_overdue_follow_the_floors():
    r = evaluate_warnings(inputs(5, max_overdue=[0, 1, 90, 91, 361]), RULES)
    assert states(r) == ["NORMAL", "WATCH", "WATCH", "DOUBTFUL", "EXIT"]
    assert r.reasons_of(3) == [("OVERDUE", {"state": "DOUBTFUL", "days": 91})]


def test_the_worst_trigger_wins_and_every_reason_is_kept():
    r = evaluate_warnings(
        inputs(1, worst_class=[1], max_overdue=[120], signal_customer=[0], signal_kind=["TAX"]),
        RULES,
    )
    assert states(r) == ["DOUBTFUL"]
    assert codes(r, 0) == ["OVERDUE", "LOAN_CLASS", "RISK_SIGNAL"]


def test_deposit_outflow_needs_a_large_enough_base():
    r = evaluate_warnings(
        inputs(
            3,
            deposits_now=[400_000, 40_000, 900_000],
            deposits_base=[1_000_000, 100_000, 1_000_000],
        ),
        RULES,
    )
    assert states(r) == ["WATCH", "NORMAL", "NORMAL"]
    assert r.reasons_of(0)[0][1]["pct"] == 60.0


def test_asset_decline_and_utilisation_jump():
    r = evaluate_warnings(
        inputs(
            3,
            aum_now=[500_000, 2_000_000, NAN],
            aum_base=[2_000_000, 2_000_000, NAN],
            utilisation_now=[NAN, NAN, 95.0],
            utilisation_base=[NAN, NAN, 50.0],
        ),
        RULES,
    )
    assert states(r) == ["WATCH", "NORMAL", "WATCH"]
    assert codes(r, 0) == ["AUM_DECLINE"] and codes(r, 2) == ["UTILISATION_JUMP"]


def test_court_enforcement_is_doubtful_and_old_kinds_are_ignored():
    r = evaluate_warnings(
        inputs(2, signal_customer=[0, 1], signal_kind=["COURT_ENFORCEMENT", "OTHER"]), RULES
    )
    assert states(r) == ["DOUBTFUL", "NORMAL"]


def test_blacklisting_calls_for_doubtful():
    r = evaluate_warnings(inputs(2, blacklisted=[True, False]), RULES)
    assert states(r) == ["DOUBTFUL", "NORMAL"]
    assert codes(r, 0) == ["BLACKLISTED"]


def test_a_group_member_or_guarantor_in_warning_puts_one_hop_on_watch():
    # 0 is doubtful by its loans; 1 is in its group; 2 is guaranteed by 0; 3 by 2 (two hops).
    r = evaluate_warnings(
        inputs(
            5,
            worst_class=[3, -1, -1, -1, -1],
            group_member=[0, 1, 4],
            group_id=[7, 7, 8],
            guarantor=[0, 2],
            borrower=[2, 3],
        ),
        RULES,
    )
    assert states(r) == ["DOUBTFUL", "WATCH", "WATCH", "NORMAL", "NORMAL"]
    assert codes(r, 1) == ["LINKED"]


def test_the_member_itself_does_not_link_to_itself():
    r = evaluate_warnings(inputs(1, worst_class=[1], group_member=[0], group_id=[5]), RULES)
    assert codes(r, 0) == ["LOAN_CLASS"]


def test_watched_too_long_without_improvement_escalates():
    r = evaluate_warnings(
        inputs(2, worst_class=[1, 1], current=[1, 1], days_in_state=[180, 179]), RULES
    )
    assert states(r) == ["DOUBTFUL", "WATCH"]
    assert "NO_IMPROVEMENT" in codes(r, 0)


def test_exit_is_never_left_by_the_rules_and_a_cleared_state_says_so():
    r = evaluate_warnings(inputs(2, current=[3, 1]), RULES)
    assert states(r) == ["EXIT", "NORMAL"]
    assert codes(r, 1) == ["CLEARED"]
    assert list(r.changed()) == [1]


def test_rule_errors_name_the_section_and_field():
    bad = copy.deepcopy(RAW)
    bad["loans"]["class_states"]["SPECIAL_MENTION"] = "ALERT"
    with pytest.raises(WarningRuleError, match=r"\[loans\] class_states.SPECIAL_MENTION: 'ALERT'"):
        parse_warning_rules(bad)
    bad = copy.deepcopy(RAW)
    bad["loans"]["overdue_days"] = [[91, "DOUBTFUL"], [1, "WATCH"]]
    with pytest.raises(WarningRuleError, match="days must rise"):
        parse_warning_rules(bad)
    bad = copy.deepcopy(RAW)
    del bad["deposits"]["outflow_pct"]
    with pytest.raises(WarningRuleError, match=r"\[deposits\] outflow_pct: required"):
        parse_warning_rules(bad)
    bad = copy.deepcopy(RAW)
    bad["signals"]["kind_states"]["RUMOUR"] = "WATCH"
    with pytest.raises(WarningRuleError, match="not a risk signal kind"):
        parse_warning_rules(bad)


def test_columns_of_different_lengths_are_refused():
    x = inputs(2)
    x.max_overdue = np.zeros(3, np.int64)
    with pytest.raises(ValueError, match="column max_overdue: 3 rows, expected 2"):
        evaluate_warnings(x, RULES)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-1, 4),
            st.integers(0, 2000),
            st.one_of(st.floats(0, 1e9), st.just(float("nan")), st.floats(-1e9, 0)),
            st.one_of(st.floats(0, 1e9), st.just(float("nan")), st.floats(-1e9, 0)),
            st.integers(0, 3),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_hostile_figures_never_break_the_rules(rows):
    cls, days, now, base, cur = (np.array(c) for c in zip(*rows, strict=True))
    r = evaluate_warnings(
        inputs(
            len(rows),
            worst_class=cls,
            max_overdue=days,
            deposits_now=now.astype(float),
            deposits_base=base.astype(float),
            current=cur,
            days_in_state=np.full(len(rows), 400),
        ),
        RULES,
    )
    assert ((r.state >= 0) & (r.state <= 3)).all()
    # A loan's own class and overdue floor are never undercut; EXIT is kept.
    assert (r.state[cur == 3] == 3).all()
    assert (r.state[days >= 361] == 3).all()
    for i in range(len(rows)):
        r.reasons_of(i)  # renders without error
