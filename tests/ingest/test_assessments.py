"""The ``assessments`` extract (docs/data-interface.md): same validation, rejects with reasons,
atomic and idempotent as every kind; hostile input never crashes and never half-loads."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from qiao.ingest.services import ingest_file
from qiao.scoring.selectors import system_status
from qiao.suitability.models import RiskAssessment

from .conftest import write

pytestmark = pytest.mark.django_db(transaction=False)

HEADER = [
    "customer_no",
    "assessed_on",
    "tolerance",
    "score",
    "valid_until",
    "questionnaire_version",
    "signed",
    "qualified_investor",
    "qualified_evidence",
]


def _render(rows: list[list[str]], header: list[str] = HEADER) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _rejects(path: Path) -> list[dict[str, str]]:
    target = path.parent / (path.name + ".rejects.csv")
    if not target.exists():
        return []
    with target.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def test_load_reject_and_reload(base: Path, tmp_path: Path) -> None:
    today = timezone.localdate()
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    rows = [
        ["P0000001", "2025-03-10", "C3", "55", "", "CORE-7", "Y", "", ""],
        ["P0000002", "2025-01-02", "C2", "", "2025-06-30", "", "", "Y", "资产证明 600万"],
        ["P0000001", "2024-03-10", "C2", "", "", "", "", "", ""],  # history kept
        ["P0000001", tomorrow, "C3", "", "", "", "", "", ""],  # future
        ["P0000002", "2025-02-01", "C7", "", "", "", "", "", ""],  # no such level
        ["P0000002", "2025-03-01", "C2", "", "2025-01-01", "", "", "", ""],  # ends before
        ["P0000002", "2025-04-01", "C2", "", "", "", "N", "", ""],  # not signed
        ["P9999999", "2025-04-01", "C2", "", "", "", "", "", ""],  # unknown customer
        ["P0000002", "2025-05-01", "C2", "5000", "", "", "", "", ""],  # score too large
    ]
    folder = tmp_path / "a"
    folder.mkdir()
    path = write(folder, "assessments.csv", _render(rows))
    result = ingest_file(path)
    assert result.ok and (result.loaded, result.rejected) == (3, 6), result.summary()
    reasons = {(r["line"], r["column"]): r["reason"] for r in _rejects(path)}
    assert "assessed_on" in {c for _l, c in reasons}
    assert reasons[("6", "tolerance")].startswith("must be one of")
    assert "is before assessed_on" in reasons[("7", "valid_until")]
    assert "not signed" in reasons[("8", "signed")]
    assert "not a known customer" in reasons[("9", "customer_no")]
    assert "at most 1000" in reasons[("10", "score")]
    x = RiskAssessment.objects.get(customer__customer_no="P0000001", assessed_on="2025-03-10")
    assert (x.tolerance, x.score, x.source) == ("C3", 55, "CORE")
    assert x.valid_until == dt.date(2026, 3, 9)  # a year, less a day, when the file gives none
    assert x.customer_signed and not x.elderly and x.questionnaire_version == "CORE-7"
    y = RiskAssessment.objects.get(customer__customer_no="P0000002")
    assert y.valid_until == dt.date(2025, 6, 30) and y.qualified_investor
    assert y.qualified_evidence == "资产证明 600万"
    assert system_status()["assessments"] == 3

    # The same rows again (another file name): nothing changes.
    again = write(folder, "assessments_again.csv", _render(rows))
    result = ingest_file(again)
    assert (result.loaded, result.updated, result.unchanged) == (0, 0, 3)
    assert RiskAssessment.objects.count() == 3


def test_elderly_from_the_birth_date(base: Path, tmp_path: Path) -> None:
    from qiao.customers.models import Customer

    Customer.objects.filter(customer_no="P0000002").update(birth_date=dt.date(1960, 5, 2))
    folder = tmp_path / "e"
    folder.mkdir()
    rows = [
        ["P0000002", "2025-05-01", "C2", "", "", "", "", "", ""],  # 64 on the day
        ["P0000002", "2025-05-02", "C2", "", "", "", "", "", ""],  # 65 on the day
    ]
    assert ingest_file(write(folder, "assessments.csv", _render(rows))).loaded == 2
    flags = dict(RiskAssessment.objects.values_list("assessed_on", "elderly"))
    assert flags == {dt.date(2025, 5, 1): False, dt.date(2025, 5, 2): True}


NASTY = st.sampled_from(
    [
        "",
        " ",
        "-1",
        "0",
        "C0",
        "c3",
        "C3 ",
        "R3",
        "Y",
        "N",
        "yes",
        "2026-02-29",
        "2025-13-01",
        "２０２５-01-01",
        "9" * 40,
        "\u202e",
        "张三",
        "\x00",
        "\t",
        '"',
        ",",
        "\n",
        "P0000001",
        "'; DROP TABLE x;--",
    ]
)
GOOD = ["P0000001", "2025-03-10", "C3", "55", "2026-03-09", "V1", "Y", "N", ""]


@hsettings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.lists(st.tuples(st.integers(0, len(HEADER) - 1), NASTY), max_size=3),
        min_size=1,
        max_size=6,
    ),
    data=st.data(),
)
def test_hostile_assessments(base: Path, tmp_path_factory, rows, data) -> None:
    folder = tmp_path_factory.mktemp("assess")
    lines = []
    for i, mutations in enumerate(rows):
        row = list(GOOD)
        row[1] = (dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat()
        for col, value in mutations:
            row[col] = value
        lines.append(row)
    before = RiskAssessment.objects.count()
    snapshot = json.dumps(
        list(RiskAssessment.objects.order_by("pk").values_list("pk", "tolerance")), default=str
    )
    path = write(folder, "assessments_h.csv", _render(lines))
    result = ingest_file(path)
    if not result.ok:
        assert result.message and RiskAssessment.objects.count() == before
        return
    rejected = {r["line"] for r in _rejects(path)}
    assert all(r["reason"] for r in _rejects(path))
    assert result.loaded + result.updated + result.unchanged + len(rejected) == result.rows
    assert RiskAssessment.objects.count() == before + result.loaded
    for a in RiskAssessment.objects.all():
        assert a.tolerance in {"C1", "C2", "C3", "C4", "C5"}
        assert a.valid_until >= a.assessed_on <= timezone.localdate()
    # Loading the same file again changes nothing.
    again = ingest_file(write(folder, "assessments_h2.csv", _render(lines)))
    assert again.loaded == 0 and again.updated == 0
    kept = list(RiskAssessment.objects.order_by("pk").values_list("pk", "tolerance"))
    assert json.dumps(kept[: len(json.loads(snapshot))], default=str) == snapshot
