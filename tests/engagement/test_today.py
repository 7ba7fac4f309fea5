"""Today, one row per customer (issue 13 item 1): all of a customer's reasons in one row with the
summed value at stake, grouped by kind on request, filtered and paged; closing an item without a
contact says why; Today and coverage count overdue with the one definition."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from qiao.audit.models import AuditEvent
from qiao.engagement.models import WorkItem
from qiao.engagement.selectors import coverage, overdue_q, worklist_rows
from qiao.engagement.worklist import worklist_generate
from tests.engagement.conftest import DAY, make_account, make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(people, products):
    """Alice: a gold customer with a deposit maturing (several items) and a diamond one."""
    alice, bob = people["alice"], people["bob"]
    customers = {
        "gold": make_customer(alice, tier="GOLD", aum=800_000, no="P1000001"),
        "diamond": make_customer(alice, tier="DIAMOND", aum=6_000_000, no="P1000002"),
        "bobs": make_customer(bob, tier="GOLD", aum=300_000, no="P1000003"),
    }
    make_account(
        customers["gold"], products["TD"], 500_000, maturity_date=DAY + dt.timedelta(days=2)
    )
    worklist_generate(day=DAY)
    return customers


def _rows(text: str) -> list[str]:
    return re.findall(r'id="row-(c\d+|p\d+)"', text)


def test_one_row_per_customer_with_all_reasons_and_the_summed_value(login, people, book):
    gold = book["gold"]
    items = list(WorkItem.objects.filter(customer=gold, status="OPEN"))
    assert len(items) >= 2 and {i.kind for i in items} >= {"MATURITY", "CONTACT_DUE"}
    text = login(people["alice"]).get("/today/", {"date": DAY.isoformat()}).content.decode()
    rows = _rows(text)
    assert rows.count(f"c{gold.pk}") == 1 and len(rows) == len(set(rows)) == 2
    row = text.split(f'id="row-c{gold.pk}"')[1].split('id="row-')[0]
    for item in items:
        assert f'id="item-{item.pk}"' in row
    total = sum((i.value_at_stake for i in items), Decimal(0))
    assert f"¥{int(total):,}" in row
    # Rows by summed value, largest first.
    totals = {
        f"c{c.pk}": sum(
            i.value_at_stake for i in WorkItem.objects.filter(customer=c, status="OPEN")
        )
        for c in (gold, book["diamond"])
    }
    assert rows == sorted(totals, key=lambda k: -totals[k])


def test_grouped_by_kind_filtered_and_paged(login, people, book):
    alice, gold = people["alice"], book["gold"]
    client = login(alice)
    text = client.get("/today/", {"group": "kind"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in text
    # By kind, a customer appears once per kind they have items of.
    kinds = set(
        WorkItem.objects.filter(staff=alice, status="OPEN").values_list("kind", "customer_id")
    )
    assert len(_rows(text)) == len(kinds)
    assert "list-group-item-secondary" in text  # the kind headings
    only = client.get("/today/", {"kind": "MATURITY"}, HTTP_HX_REQUEST="true").content.decode()
    assert _rows(only) == [f"c{gold.pk}"] and "matures" in only
    found = client.get("/today/", {"q": "P1000002"}, HTTP_HX_REQUEST="true").content.decode()
    assert _rows(found) == [f"c{book['diamond'].pk}"]
    page, rows = worklist_rows(staff=alice, day=DAY, per_page=1, page=2)
    assert page.paginator.num_pages == 2 and len(rows) == 1
    later = DAY + dt.timedelta(days=40)
    _, overdue = worklist_rows(staff=alice, day=later, overdue_only=True)
    assert overdue and all(i.due < later for r in overdue for i in r.items)


def test_closing_without_a_contact_asks_why_and_keeps_it(login, people, book):
    alice = people["alice"]
    item = WorkItem.objects.filter(staff=alice, status="OPEN").first()
    assert item is not None
    client = login(alice)
    client.post(f"/today/items/{item.pk}/done/")
    item.refresh_from_db()
    assert item.status == "OPEN"  # no reason, not closed
    assert not AuditEvent.objects.filter(action="ITEM_CLOSE").exists()
    client.post(f"/today/items/{item.pk}/done/", {"reason": "NOPE"})
    item.refresh_from_db()
    assert item.status == "OPEN"
    r = client.post(f"/today/items/{item.pk}/done/", {"reason": "DONE_ELSEWHERE"})
    assert r.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.close_reason) == ("DONE", "DONE_ELSEWHERE")
    event = AuditEvent.objects.get(action="ITEM_CLOSE")
    assert event.detail["reason"] == "DONE_ELSEWHERE"
    # The form offers the reasons in words.
    text = client.get("/today/").content.decode()
    assert 'name="reason"' in text and "Done elsewhere" in text and "DONE_ELSEWHERE" in text


def test_today_and_coverage_count_overdue_the_same(login, people, book):
    alice, hannah = people["alice"], people["hannah"]
    later = DAY + dt.timedelta(days=40)
    late = WorkItem.objects.filter(staff=alice).filter(overdue_q(later))
    n_items, n_customers = late.count(), late.values("customer_id").distinct().count()
    assert n_items >= 1
    [row] = [r for r in coverage(viewer=hannah, day=later) if r.staff == alice]
    assert (row.overdue_items, row.overdue_customers) == (n_items, n_customers)
    [own] = coverage(viewer=alice, day=later)
    assert (own.overdue_items, own.overdue_customers) == (n_items, n_customers)
    text = login(alice).get("/today/", {"date": later.isoformat()}).content.decode()
    shown = re.search(r'id="overdue-count">([^<]*)<', text)
    assert shown is not None
    words = shown.group(1)
    plural = "s" if n_customers != 1 else ""
    assert f"{n_customers} customer{plural} with overdue items" in words
    assert f"{n_items} overdue item{'s' if n_items != 1 else ''}" in words
    cov = login(hannah).get("/coverage/", {"date": later.isoformat()}).content.decode()
    assert f"{n_customers} customer{plural} with overdue items" in cov
