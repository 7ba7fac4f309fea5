"""The credit kinds through the one ingest path (docs/data-interface.md): validation, rejects
with reasons, atomic and idempotent loads; the classification check of loans (compliance.md §10
floors) flags, never rejects; ``qiao status`` counts each kind."""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from qiao.credit.models import ClassFinding, Facility, Guarantee, ListEntry, Loan, RiskSignal
from qiao.credit.rules import CreditConfigError, floor_class, is_below_floor, parse_floors
from qiao.ingest.services import ingest_file
from qiao.scoring.selectors import system_status
from tests.ingest.conftest import write

pytestmark = pytest.mark.django_db

FACILITIES = """facility_no,customer_no,limit,used,currency,start_date,end_date,guarantee_type,collateral,collateral_value,status
F001,C0000001,5000000,3200000,CNY,2025-01-01,2027-12-31,MORTGAGE,厂房,8000000,ACTIVE
F002,C0000002,2000000,,,2025-06-01,2026-06-01,,,,
F003,C0000001,100,50,CNY,2025-01-01,2024-12-31,,,,
F004,C9999999,100,0,CNY,2025-01-01,2026-12-31,,,,
F005,C0000003,100,0,CNY,2025-01-01,2026-12-31,CREDIT,房产,,
F006,C0000003,-5,0,CNY,2025-01-01,2026-12-31,,,,
F007,C0000003,100,0,CNY,2025-01-01,2026-12-31,GOLD,,,
"""
LOANS = """loan_no,customer_no,facility_no,product_code,loan_type,principal,balance,currency,start_date,maturity_date,classification,days_overdue,interest_arrears,as_of_date
L001,C0000001,F001,LN01,WORKING_CAPITAL,3000000,3000000,CNY,2025-02-01,2026-02-01,PASS,0,0,2025-10-31
L002,C0000001,F001,,WORKING_CAPITAL,200000,200000,CNY,2025-03-01,2026-03-01,SPECIAL_MENTION,35,0,2025-10-31
L003,C0000002,F002,LN01,FIXED_ASSET,1000000,900000,CNY,2024-01-01,2027-01-01,SPECIAL_MENTION,100,1200.50,2025-10-31
L004,P0000001,,,CONSUMER,50000,30000,CNY,2023-01-01,2026-01-01,SUBSTANDARD,300,0,2025-10-31
L005,P0000002,,,CONSUMER,80000,80000,CNY,2024-05-01,2027-05-01,PASS,0,10.00,2025-10-31
L006,C0000001,F002,,WORKING_CAPITAL,1,1,CNY,2025-01-01,2026-01-01,PASS,0,0,2025-10-31
L007,C0000001,,DEM,WORKING_CAPITAL,1,1,CNY,2025-01-01,2026-01-01,PASS,0,0,2025-10-31
L008,C0000001,,,WORKING_CAPITAL,1,1,CNY,2025-01-01,2026-01-01,SO_SO,0,0,2025-10-31
L009,C0000001,,,WORKING_CAPITAL,1,1,CNY,2025-01-01,2026-01-01,PASS,99999,0,2025-10-31
L010,C0000001,,,WORKING_CAPITAL,1,1,CNY,2025-12-01,2026-01-01,PASS,0,0,2025-10-31
L011,C0000001,F404,,WORKING_CAPITAL,1,1,CNY,2025-01-01,2026-01-01,PASS,0,0,2025-10-31
"""
GUARANTEES = """guarantee_no,guarantor_customer_no,borrower_customer_no,loan_no,facility_no,amount,guarantee_type,start_date,end_date
G001,C0000002,C0000001,L001,,1500000,GUARANTEE,2025-02-01,2026-02-01
G002,C0000003,C0000002,,F002,500000,,2025-06-01,
G003,C0000001,C0000001,,,100,GUARANTEE,2025-01-01,
G004,C0000003,C0000002,L001,,100,GUARANTEE,2025-01-01,
G005,C0000003,C0000002,,,0,GUARANTEE,2025-01-01,
G006,C0000003,C0000002,,,100,CREDIT,2025-01-01,
"""
SIGNALS = """customer_no,kind,source,signal_date,detail
C0000002,COURT_ENFORCEMENT,中国执行信息公开网,2025-09-12,被执行金额 120万
C0000001,NEGATIVE_NEWS,舆情监测,2025-10-02,
C0000001,RUMOUR,舆情监测,2025-10-02,
"""
LISTS = """customer_no,list_kind,reason,listed_on,removed_on
P0000002,BLACK,恶意逃废债,2024-03-01,
C0000003,RED,纳税信用A级,2023-01-01,
P0000001,BLACK,误列,2023-01-01,2023-06-01
P0000001,GREY,x,2023-01-01,
C0000002,BLACK,x,2024-01-01,2023-01-01
"""


def _rejects(path: Path) -> dict[tuple[str, str], str]:
    target = path.parent / (path.name + ".rejects.csv")
    if not target.exists():
        return {}
    with target.open(encoding="utf-8-sig") as fh:
        return {(r["line"], r["column"]): r["reason"] for r in csv.DictReader(fh)}


def _load(folder: Path, name: str, text: str):
    path = write(folder, name, text)
    return path, ingest_file(path)


@pytest.fixture
def credit_loaded(credit_base: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "credit"
    folder.mkdir()
    for name, text in [
        ("facilities.csv", FACILITIES),
        ("loans.csv", LOANS),
        ("guarantees.csv", GUARANTEES),
        ("risk_signals.csv", SIGNALS),
        ("list_entries.csv", LISTS),
    ]:
        result = ingest_file(write(folder, name, text))
        assert result.ok, result.summary()
    return folder


def test_facilities_load_and_reject_with_reasons(credit_base: Path, tmp_path: Path) -> None:
    path, result = _load(tmp_path, "facilities.csv", FACILITIES)
    assert result.ok and (result.loaded, result.rejected) == (2, 5), result.summary()
    reasons = _rejects(path)
    assert "is before start_date" in reasons[("4", "end_date")]
    assert "not a known customer" in reasons[("5", "customer_no")]
    assert "unsecured" in reasons[("6", "collateral")]
    assert "at least 0" in reasons[("7", "limit")]
    assert reasons[("8", "guarantee_type")].startswith("must be one of")
    f1 = Facility.objects.get(facility_no="F001")
    assert (f1.limit, f1.used, f1.guarantee_type, f1.collateral) == (
        Decimal("5000000"),
        Decimal("3200000"),
        "MORTGAGE",
        "厂房",
    )
    f2 = Facility.objects.get(facility_no="F002")
    # Left out: the defaults (nothing used, renminbi, unsecured, active).
    assert (f2.used, f2.currency, f2.guarantee_type, f2.status) == (0, "CNY", "CREDIT", "ACTIVE")
    # Idempotent: the same rows again change nothing.
    _path, again = _load(tmp_path, "facilities_again.csv", FACILITIES)
    assert (again.loaded, again.updated, again.unchanged) == (0, 0, 2)


def test_loans_are_checked_against_the_overdue_floors(credit_base: Path, tmp_path: Path) -> None:
    _load(tmp_path, "facilities.csv", FACILITIES)
    path, result = _load(tmp_path, "loans.csv", LOANS)
    assert result.ok and (result.loaded, result.rejected) == (5, 6), result.summary()
    reasons = _rejects(path)
    assert "belongs to another customer" in reasons[("7", "facility_no")]
    assert "not a loan product" in reasons[("8", "product_code")]
    assert reasons[("9", "classification")].startswith("must be one of")
    assert "at most 36,500" in reasons[("10", "days_overdue")]
    assert "is after as_of_date" in reasons[("11", "start_date")]
    assert "not a known credit facility" in reasons[("12", "facility_no")]
    loans = {x.loan_no: x for x in Loan.objects.all()}
    # 0 days, no arrears: PASS allowed. 35 days: at least 关注 (classified so).
    assert (loans["L001"].floor_class, loans["L001"].below_floor) == ("PASS", False)
    assert (loans["L002"].floor_class, loans["L002"].below_floor) == ("SPECIAL_MENTION", False)
    # 100 days overdue classified 关注: loaded as the bank classified it, and flagged (≥ 次级).
    assert (loans["L003"].classification, loans["L003"].floor_class) == (
        "SPECIAL_MENTION",
        "SUBSTANDARD",
    )
    assert loans["L003"].below_floor
    # 300 days classified 次级: below the 可疑 floor.
    assert loans["L004"].floor_class == "DOUBTFUL" and loans["L004"].below_floor
    # Interest in arrears is interest overdue: at least 关注 even at 0 days.
    assert loans["L005"].floor_class == "SPECIAL_MENTION" and loans["L005"].below_floor
    findings = {
        (f.customer.customer_no, f.kind, f.loan.loan_no if f.loan else "")
        for f in ClassFinding.objects.select_related("customer", "loan")
    }
    assert findings == {
        ("C0000002", "BELOW_FLOOR", "L003"),
        ("P0000001", "BELOW_FLOOR", "L004"),
        ("P0000002", "BELOW_FLOOR", "L005"),
        # C0000001's loans are 正常 and 关注: a debtor classified inconsistently.
        ("C0000001", "MIXED_CLASSES", ""),
    }
    mixed = ClassFinding.objects.get(kind="MIXED_CLASSES")
    assert mixed.detail == {"classes": {"PASS": ["L001"], "SPECIAL_MENTION": ["L002"]}}

    # The next load reclassifies L002 as 正常 and L003 as 次级: the findings follow.
    fixed = LOANS.replace(
        "L002,C0000001,F001,,WORKING_CAPITAL,200000,200000,CNY,2025-03-01,2026-03-01,SPECIAL_MENTION,35,0,2025-10-31",
        "L002,C0000001,F001,,WORKING_CAPITAL,200000,200000,CNY,2025-03-01,2026-03-01,PASS,0,0,2025-11-30",
    ).replace(
        "FIXED_ASSET,1000000,900000,CNY,2024-01-01,2027-01-01,SPECIAL_MENTION,100,1200.50,2025-10-31",
        "FIXED_ASSET,1000000,900000,CNY,2024-01-01,2027-01-01,SUBSTANDARD,130,1200.50,2025-11-30",
    )
    _path, second = _load(tmp_path, "loans_november.csv", fixed)
    assert (second.loaded, second.updated, second.unchanged) == (0, 2, 3), second.summary()
    kinds = set(ClassFinding.objects.values_list("customer__customer_no", "kind"))
    assert ("C0000001", "MIXED_CLASSES") not in kinds
    assert ("C0000002", "BELOW_FLOOR") not in kinds
    # An older state than the one loaded is refused, with the date it is older than.
    path, old = _load(tmp_path, "loans_old.csv", LOANS)
    reasons = _rejects(path)
    assert "older than the state already loaded (as of 2025-11-30)" in reasons[("3", "as_of_date")]
    assert Loan.objects.get(loan_no="L002").classification == "PASS"

    # The same file again: nothing changes.
    _path, again = _load(tmp_path, "loans_november_again.csv", fixed)
    assert (again.loaded, again.updated) == (0, 0)


def test_guarantees_signals_and_lists(credit_loaded: Path) -> None:
    reasons = _rejects(credit_loaded / "guarantees.csv")
    assert "is the guarantor themself" in reasons[("4", "borrower_customer_no")]
    assert "belongs to another customer than the borrower" in reasons[("5", "loan_no")]
    assert "greater than zero" in reasons[("6", "amount")]
    assert reasons[("7", "guarantee_type")].startswith("must be one of")
    assert set(Guarantee.objects.values_list("guarantee_no", flat=True)) == {"G001", "G002"}
    g2 = Guarantee.objects.get(guarantee_no="G002")
    assert g2.facility.facility_no == "F002" and g2.loan is None and g2.end_date is None

    assert _rejects(credit_loaded / "risk_signals.csv")[("4", "kind")].startswith("must be one of")
    court = RiskSignal.objects.get(kind="COURT_ENFORCEMENT")
    assert (court.customer.customer_no, court.on, court.source) == (
        "C0000002",
        dt.date(2025, 9, 12),
        "中国执行信息公开网",
    )

    reasons = _rejects(credit_loaded / "list_entries.csv")
    assert reasons[("5", "list_kind")].startswith("must be one of")
    assert "is before listed_on" in reasons[("6", "removed_on")]
    entries = {
        (e.customer.customer_no, e.list_kind): (e.status, e.source)
        for e in ListEntry.objects.select_related("customer")
    }
    assert entries == {
        ("P0000002", "BLACK"): ("APPROVED", "CORE"),
        ("C0000003", "RED"): ("APPROVED", "CORE"),
        ("P0000001", "BLACK"): ("REMOVED", "CORE"),
    }


def test_a_removed_entry_listed_again(credit_loaded: Path, tmp_path: Path) -> None:
    text = (
        "customer_no,list_kind,reason,listed_on,removed_on\nP0000001,BLACK,再次逃废债,2025-01-01,\n"
    )
    _path, result = _load(tmp_path, "list_entries_again.csv", text)
    assert result.updated == 1
    entry = ListEntry.objects.get(customer__customer_no="P0000001")
    assert (entry.status, entry.removed_on, entry.reason) == ("APPROVED", None, "再次逃废债")


def test_status_counts_each_kind(credit_loaded: Path) -> None:
    status = system_status()
    assert {k: status[k] for k in ("facilities", "loans", "guarantees", "risk_signals")} == {
        "facilities": 2,
        "loans": 5,
        "guarantees": 2,
        "risk_signals": 2,
    }
    assert status["list_entries"] == 3 and status["classification_findings"] == 4


def test_a_failed_load_changes_nothing(credit_loaded: Path, tmp_path: Path) -> None:
    """A file with a missing required column is refused whole."""
    before = list(Loan.objects.order_by("pk").values_list("pk", "balance"))
    _path, result = _load(tmp_path, "loans_bad.csv", "loan_no,customer_no\nL001,C0000001\n")
    assert not result.ok and "classification" in result.message
    assert list(Loan.objects.order_by("pk").values_list("pk", "balance")) == before


@pytest.mark.parametrize(
    ("days", "arrears", "floor"),
    [
        (0, 0, "PASS"),
        (0, Decimal("0.01"), "SPECIAL_MENTION"),
        (1, 0, "SPECIAL_MENTION"),
        (90, 0, "SPECIAL_MENTION"),
        (91, 0, "SUBSTANDARD"),
        (270, 0, "SUBSTANDARD"),
        (271, 0, "DOUBTFUL"),
        (360, 0, "DOUBTFUL"),
        (361, 0, "LOSS"),
    ],
)
def test_floor_boundaries(days: int, arrears: Decimal, floor: str) -> None:
    """compliance.md §10: any overdue → ≥ 关注; > 90 → ≥ 次级; > 270 → ≥ 可疑; > 360 → 损失."""
    assert floor_class(days, arrears) == floor
    assert not is_below_floor(floor, floor)
    assert is_below_floor("PASS", floor) == (floor != "PASS")


def test_floor_config_is_checked() -> None:
    with pytest.raises(CreditConfigError, match=r"floors\[2\]: must have more days"):
        parse_floors(
            {
                "classification": {
                    "floors": [
                        {"over_days": 90, "class": "SUBSTANDARD"},
                        {"over_days": 30, "class": "DOUBTFUL"},
                    ]
                }
            }
        )
    with pytest.raises(CreditConfigError, match=r"floors\[1\].class: 'BAD'"):
        parse_floors({"classification": {"floors": [{"over_days": 1, "class": "BAD"}]}})


NASTY = st.sampled_from(
    [
        "",
        " ",
        "-1",
        "0",
        "1e3",
        "NaN",
        "Infinity",
        "36501",
        "2147483648",
        "9" * 40,
        "PASS",
        "pass",
        "LOSS ",
        "2026-02-29",
        "2025-13-01",
        "２０２５-01-01",
        "\u202e",
        "张三",
        "\x00",
        "\t",
        '"',
        ",",
        "\n",
        "C0000001",
        "F001",
        "'; DROP TABLE x;--",
        "1.005",
        "-0",
        "+5",
    ]
)
HEADER = LOANS.splitlines()[0].split(",")
GOOD = LOANS.splitlines()[1].split(",")


@hsettings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.lists(st.tuples(st.integers(0, len(HEADER) - 1), NASTY), max_size=3),
        min_size=1,
        max_size=6,
    )
)
def test_hostile_loans(credit_base: Path, tmp_path_factory, rows) -> None:
    folder = tmp_path_factory.mktemp("loans")
    write(folder, "facilities.csv", FACILITIES)
    ingest_file(folder / "facilities.csv")
    lines = [",".join(HEADER)]
    for i, mutations in enumerate(rows):
        row = list(GOOD)
        row[0] = f"H{i:03d}"
        for col, value in mutations:
            row[col] = value
        lines.append(",".join(json.dumps(c, ensure_ascii=False) if c else "" for c in row))
    before = Loan.objects.count()
    path = write(folder, "loans_h.csv", "\n".join(lines) + "\n")
    result = ingest_file(path)
    if not result.ok:
        assert result.message and Loan.objects.count() == before
        return
    rejected = {line for line, _c in _rejects(path)}
    assert all(_rejects(path).values())
    assert result.loaded + result.updated + result.unchanged + len(rejected) == result.rows
    for loan in Loan.objects.all():
        assert loan.classification in {"PASS", "SPECIAL_MENTION", "SUBSTANDARD", "DOUBTFUL", "LOSS"}
        assert 0 <= loan.days_overdue <= 36_500 and loan.balance >= 0
        assert loan.below_floor == is_below_floor(loan.classification, loan.floor_class)
    again = ingest_file(write(folder, "loans_h2.csv", "\n".join(lines) + "\n"))
    assert again.loaded == 0 and again.updated == 0


WRITE_OFFS = """loan_no,customer_no,facility_no,principal,balance,start_date,maturity_date,classification,days_overdue,as_of_date,written_off_on
L003,C0000002,F002,1000000,900000,2024-01-01,2027-01-01,LOSS,400,2025-11-30,2025-11-20
L005,P0000002,,80000,80000,2024-05-01,2027-05-01,PASS,0,2025-11-30,2024-01-01
L001,C0000001,F001,3000000,3000000,2025-02-01,2026-02-01,PASS,0,2025-11-30,2025-12-01
"""


def test_a_loan_load_writes_a_loan_off(credit_loaded: Path, tmp_path: Path) -> None:
    """Issue 16 gap 3: the write-off (核销) comes through the loan load (``written_off_on``); a
    written-off loan leaves the exposure; a date before the loan or after its state is refused."""
    from qiao.credit.exposure import exposure_inputs

    before = exposure_inputs()["loans"]
    assert 900000.0 in before["balance"].tolist()
    path, result = _load(tmp_path, "loans_written_off.csv", WRITE_OFFS)
    assert result.ok and (result.updated, result.rejected) == (1, 2), result.summary()
    reasons = _rejects(path)
    assert "is before start_date" in reasons[("3", "written_off_on")]
    assert "is after as_of_date" in reasons[("4", "written_off_on")]
    loan = Loan.objects.get(loan_no="L003")
    assert (loan.written_off_on, loan.classification) == (dt.date(2025, 11, 20), "LOSS")
    assert Loan.objects.get(loan_no="L001").written_off_on is None
    after = exposure_inputs()["loans"]
    assert 900000.0 not in after["balance"].tolist()
