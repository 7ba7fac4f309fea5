"""The demo's credit book, generated and loaded through ingest (issue 16 item 1, "Done means"):
no reject, the bad cases the docs promise, and the first group near its limit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from qiao.credit.models import ClassFinding, ListEntry, Loan
from qiao.credit.selectors import blacklisted_ids, credit_counts
from qiao.demo.generate import generate_bank
from qiao.ingest.services import ingest_paths

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 10, 31)


def test_the_demo_credit_book(tmp_path: Path) -> None:
    from qiao.credit.exposure import exposure_compute, group_exposure
    from qiao.customers.models import CustomerGroup

    out = tmp_path / "extracts"
    summary = generate_bank(out, customers=800, months=6, seed=11, as_of=AS_OF)
    generate_bank(tmp_path / "again", customers=800, months=6, seed=11, as_of=AS_OF)
    for kind in ("facilities", "loans", "guarantees", "risk_signals", "list_entries"):
        name = summary["files"][kind]
        assert (out / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), kind
        assert summary[kind] > 0, kind
    results = ingest_paths([out])
    assert all(r.ok and r.rejected == 0 for r in results), [r.summary() for r in results]
    counts = credit_counts()
    assert counts["loans"] == summary["loans"] and counts["facilities"] == summary["facilities"]

    # Overdue about 30, 100 and 300 days; exactly one loan classified better than its floor.
    days = list(Loan.objects.values_list("days_overdue", flat=True))
    assert any(20 <= d < 60 for d in days) and any(91 <= d < 181 for d in days)
    assert any(d > 270 for d in days)
    below = Loan.objects.filter(below_floor=True)
    assert [(x.days_overdue, x.classification, x.floor_class) for x in below] == [
        (100, "SPECIAL_MENTION", "SUBSTANDARD")
    ]
    assert ClassFinding.objects.filter(kind="MIXED_CLASSES").exists()
    # One loss written off (核销) through the loan load: a date, 400 days overdue, class 损失.
    off = Loan.objects.filter(written_off_on__isnull=False)
    assert [(x.days_overdue, x.classification) for x in off] == [(400, "LOSS")]
    # Three on the blacklist in force, one removed earlier; three on the red list.
    assert len(blacklisted_ids()) == 3
    assert ListEntry.objects.filter(list_kind="BLACK", status="REMOVED").count() == 1
    assert ListEntry.objects.filter(list_kind="RED", status="APPROVED").count() == 3

    # The first group is near its connected-group limit (≥ 80 % of 20 %, not above it).
    group = CustomerGroup.objects.order_by("code").first()
    assert group is not None
    out_g = group_exposure(group.pk, on=AS_OF)
    assert out_g is not None and out_g["status"] == "NEAR", out_g["share"]
    assert 0.16 <= out_g["share"] <= 0.20
    assert sum(m["in_group"] for m in out_g["members"]) >= 2
    bank = exposure_compute(on=AS_OF)
    assert (bank.groups["status"] == "NEAR").sum() >= 1
    assert (bank.groups["status"] == "BREACH").sum() == 0
