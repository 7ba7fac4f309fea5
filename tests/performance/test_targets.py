"""Targets: entered with permission and scope, split down the org tree and over time (the parts
sum back), and the ``targets`` extract, whole or nothing under hostile input."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from qiao.analytics.scorecard import Period
from qiao.audit.models import Action, AuditEvent
from qiao.core.errors import ApplicationError
from qiao.ingest.services import ingest_file
from qiao.performance.models import Target
from qiao.performance.services import (
    apportion,
    target_set,
    target_split_periods,
    target_split_to_staff,
)

Y2026 = Period.parse("2026")
HEADER = ["subject_type", "subject_code", "period", "measure", "value"]


def test_set_needs_the_permission_and_the_scope(bank):
    li, zhao = bank.staff["li"], bank.staff["zhao"]
    with pytest.raises(PermissionDenied):
        target_set(staff=li, period=Y2026, measure="contacts", value=Decimal(5), by=li)
    with pytest.raises(Http404):  # Chen is at the other outlet
        target_set(
            staff=bank.staff["chen"], period=Y2026, measure="contacts", value=Decimal(5), by=zhao
        )
    with pytest.raises(ApplicationError):
        target_set(staff=li, period=Y2026, measure="coverage", value=Decimal("1.5"), by=zhao)
    t = target_set(staff=li, period=Y2026, measure="coverage", value=Decimal("0.8"), by=zhao)
    assert t.value == Decimal("0.8")
    assert AuditEvent.objects.filter(action=Action.TARGET_EDIT, username="zhao").count() == 1


def test_apportion_sums_back():
    parts = apportion(Decimal("100.00"), [1, 1, 1], Decimal("0.01"))
    assert parts == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert sum(apportion(Decimal(10), [0, 0, 0, 0], Decimal(1))) == 10
    assert apportion(Decimal(10), [3, 1], Decimal(1)) == [Decimal(8), Decimal(2)]  # 7.5 / 2.5


def test_outlet_target_split_to_its_cms_by_book(bank):
    zhao = bank.staff["zhao"]
    target_set(
        unit=bank.units["o1"], period=Y2026, measure="aum_avg", value=Decimal("1000000.01"), by=zhao
    )
    parts = target_split_to_staff(unit=bank.units["o1"], period=Y2026, measure="aum_avg", by=zhao)
    by_staff = {t.staff.username: t.value for t in parts}
    # Li's book 170,000 (P1 150,000 + P4 20,000), Wang's 30,000: 85 % and 15 %.
    assert set(by_staff) == {"li", "wang"}
    assert sum(by_staff.values()) == Decimal("1000000.01")
    assert by_staff["li"] == Decimal("850000.01") and by_staff["wang"] == Decimal("150000.00")
    # A count splits evenly, a share is copied.
    target_set(
        unit=bank.units["o1"], period=Y2026, measure="new_customers", value=Decimal(7), by=zhao
    )
    parts = target_split_to_staff(
        unit=bank.units["o1"], period=Y2026, measure="new_customers", by=zhao
    )
    assert sorted(t.value for t in parts) == [3, 4]
    target_set(
        unit=bank.units["o1"], period=Y2026, measure="retention", value=Decimal("0.9"), by=zhao
    )
    parts = target_split_to_staff(unit=bank.units["o1"], period=Y2026, measure="retention", by=zhao)
    assert {t.value for t in parts} == {Decimal("0.9")}


def test_year_split_into_months_and_quarters(bank):
    zhao = bank.staff["zhao"]
    fee = target_set(
        staff=bank.staff["li"], period=Y2026, measure="fee_income", value=Decimal("1000"), by=zhao
    )
    months = target_split_periods(target=fee, kind="MONTH", by=zhao)
    assert len(months) == 12 and sum(t.value for t in months) == Decimal("1000")
    assert months[0].period_start.isoformat() == "2026-01-01"
    aum = target_set(
        staff=bank.staff["li"], period=Y2026, measure="aum_avg", value=Decimal("5e5"), by=zhao
    )
    quarters = target_split_periods(target=aum, kind="QUARTER", by=zhao)
    assert [t.value for t in quarters] == [Decimal("500000")] * 4  # a level keeps its value
    with pytest.raises(ApplicationError):
        target_split_periods(target=months[0], kind="YEAR", by=zhao)


def _file(tmp_path: Path, rows: list[list[str]], name: str = "targets_2026.csv") -> Path:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(HEADER)
    w.writerows(rows)
    path = tmp_path / name
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _rejects(path: Path) -> list[dict[str, str]]:
    target = path.parent / (path.name + ".rejects.csv")
    if not target.exists():
        return []
    with target.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def test_targets_extract_loads_once_and_rejects_whole(bank, tmp_path):
    good = [
        ["STAFF", "li", "2026-11", "aum_avg", "139000"],
        ["UNIT", "O1", "2026", "fee_income", "5000.50"],
        ["staff", "wang", "2026-Q4", "coverage", "0.75"],
    ]
    result = ingest_file(_file(tmp_path, good))
    assert result.ok and result.loaded == 3 and result.rejected == 0
    assert Target.objects.count() == 3
    again = ingest_file(_file(tmp_path, good, "targets_again.csv"))
    assert again.loaded == 0 and again.unchanged == 3
    # One bad row: the file's good rows are not written either.
    bad = [
        ["STAFF", "li", "2026-12", "aum_avg", "1"],
        ["STAFF", "nobody", "2026-12", "aum_avg", "1"],
        ["UNIT", "O1", "2026-12", "retention", "1.2"],
    ]
    path = _file(tmp_path, bad, "targets_bad.csv")
    result = ingest_file(path)
    assert result.loaded == 0
    assert Target.objects.count() == 3
    rejects = {(r["line"], r["column"]) for r in _rejects(path)}
    assert rejects == {("3", "subject_code"), ("4", "value")}
    assert all(r["reason"] for r in _rejects(path))


NASTY = st.sampled_from(
    [
        "",
        " ",
        "-1",
        "NaN",
        "1e400",
        "2026-13",
        "2026-Q5",
        "STAFF",
        "UNIT",
        "li",
        "O1",
        "aum_avg",
        "AUM_AVG",
        "coverage",
        "1.5",
        "0.5",
        "张三",
        "\x00",
        "\u202e",
        '"',
        ",",
        "\n",
        "=1+1",
        "9" * 30,
        "2026",
        "2026-Q1",
        "2026-01",
    ]
)


@hsettings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    cells=st.lists(
        st.lists(st.one_of(NASTY, st.text(max_size=8)), min_size=5, max_size=5),
        min_size=1,
        max_size=5,
    )
)
def test_hostile_targets_files(bank, tmp_path_factory, cells):
    before = set(Target.objects.values_list("pk", "value"))
    path = _file(
        tmp_path_factory.mktemp("t"), cells + [["STAFF", "li", "2026-01", "aum_avg", "-5"]]
    )
    result = ingest_file(path)
    # The last row is always bad (a negative target): nothing of the file is loaded.
    assert set(Target.objects.values_list("pk", "value")) == before
    if result.ok:
        rejects = _rejects(path)
        assert rejects and all(r["reason"] and r["line"] for r in rejects)
        assert result.loaded == 0
    else:
        assert result.message
