"""The staffing calculator counted by hand, and the outlet head's page."""

from __future__ import annotations

import pytest

from qiao.analytics.staffing import CadenceLoad, StaffingConfig, load_config, staffing_row

RULES = [
    CadenceLoad("DIAMOND", "MEETING", 73),  # 5 a year
    CadenceLoad("GOLD", "CALL", 73),  # 5 a year
    CadenceLoad("GOLD", "MEETING", 365),  # 1 a year
]
CONFIG = StaffingConfig(
    minutes_per_contact={"MEETING": 60, "CALL": 12},
    days_per_year=250,
    hours_per_day=8,
    contact_share=0.5,  # 60,000 minutes a year
    minimum={"OUTLET": 1, "BRANCH": 3},
)


def test_counted_by_hand():
    # 10 钻石 × 5 × 60 = 3,000; 1,000 金 × (5 × 12 + 1 × 60) = 120,000; 123,000 / 60,000 = 2.05
    row = staffing_row(
        unit="O1",
        level="OUTLET",
        tier_counts={"DIAMOND": 10, "GOLD": 1000, "ORDINARY": 5000},
        has=1,
        rules=RULES,
        config=CONFIG,
    )
    assert row.minutes == 123_000 and row.workload == pytest.approx(2.05)
    assert row.needed == 3 and row.gap == 2 and row.customers == 6010
    # Few customers: the outlet's minimum of 1 (seed 001 L869).
    small = staffing_row(
        unit="O2", level="OUTLET", tier_counts={"GOLD": 10}, has=2, rules=RULES, config=CONFIG
    )
    assert small.workload == pytest.approx(0.02) and small.needed == 1 and small.gap == -1
    # A branch: at least 3.
    branch = staffing_row(
        unit="B", level="BRANCH", tier_counts={}, has=0, rules=RULES, config=CONFIG
    )
    assert branch.needed == 3


def test_the_configuration_file():
    config = load_config()
    assert config.minimum == {"OUTLET": 1, "BRANCH": 3}
    assert config.working_minutes == 250 * 8 * 60 * 0.5
    with pytest.raises(ValueError, match="unit level"):
        load_config("[minimum]\nTEAM = 2\n")


def test_outlet_head_sees_the_gap(bank, client):
    client.force_login(bank.staff["zhao"])
    page = client.get("/performance/staffing/").content.decode()
    assert "东城网点" in page and "西城网点" not in page
    client.force_login(bank.staff["analyst"])
    page = client.get("/performance/staffing/").content.decode()
    assert "东城网点" in page and "西城网点" in page
