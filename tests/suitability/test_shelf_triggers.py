"""Triggers from the shelf (issue 14 item 5): a new product on sale or a rate change puts items on
the lists of the CMs whose top-tier customers it suits — through the one suitability rule, capped
per CM per day, raised once, with the reason in words."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from qiao.engagement.models import WorkItem, WorkKind
from qiao.engagement.reasons import render_reason
from qiao.engagement.worklist import worklist_generate
from qiao.products.models import Product, ProductRate
from qiao.suitability.models import RiskAssessment
from tests.engagement.conftest import (  # noqa: F401
    DAY,
    make_account,
    make_customer,
    make_staff,
    org,
    people,
)


def assess(customer, tolerance: str, *, valid_until: dt.date = DAY + dt.timedelta(days=100)):
    RiskAssessment.objects.create(
        customer=customer,
        tolerance=tolerance,
        assessed_on=valid_until - dt.timedelta(days=365),
        valid_until=valid_until,
        source="CORE",
        customer_signed=True,
    )


@pytest.fixture
def wm(db):
    return Product.objects.create(
        code="WM-NEW",
        name="新发稳盈理财",
        category="WEALTH",
        seller_risk_level="R3",
        sale_status="NEW_ISSUE",
        rate=Decimal("2.8"),
    )


def shelf_items(**kw):
    return WorkItem.objects.filter(kind=WorkKind.SHELF, **kw)


def test_a_new_issue_goes_to_the_cms_of_top_customers_it_suits(people, wm):  # noqa: F811
    alice, bob = people["alice"], people["bob"]
    suited = make_customer(alice, tier="DIAMOND", aum=5_000_000)
    assess(suited, "C3")
    low = make_customer(alice, tier="DIAMOND", aum=4_000_000)
    assess(low, "C2")  # R3 above C2
    expired = make_customer(bob, tier="PLATINUM", aum=3_000_000)
    assess(expired, "C5", valid_until=DAY - dt.timedelta(days=1))
    gold = make_customer(bob, tier="GOLD", aum=2_000_000)  # not a top tier
    assess(gold, "C5")
    holder = make_customer(bob, tier="PLATINUM", aum=1_000_000)
    assess(holder, "C5")
    make_account(holder, wm, 100_000)  # already holds it
    worklist_generate(day=DAY)
    items = list(shelf_items())
    assert [(i.staff_id, i.customer_id) for i in items] == [(alice.pk, suited.pk)]
    item = items[0]
    assert item.reason_code == "PRODUCT_NEW"
    assert item.reason_text == "New on the shelf: 新发稳盈理财, suitable for this customer"
    with translation.override("zh-hans"):
        assert "新发稳盈理财" in render_reason(item.reason_code, item.reason_params)
    # Raised once: the next day's run adds nothing, even after the item is closed.
    WorkItem.objects.filter(pk=item.pk).update(status="EXPIRED")
    worklist_generate(day=DAY + dt.timedelta(days=1))
    assert shelf_items().count() == 1


def test_a_rate_change_is_news_and_a_first_rate_is_not(people, wm):  # noqa: F811
    wm.sale_status = "ON_SALE"
    wm.save()
    alice = people["alice"]
    c = make_customer(alice, tier="PLATINUM", aum=2_000_000)
    assess(c, "C4")
    ProductRate.objects.create(
        product=wm, effective=DAY - dt.timedelta(days=40), rate=Decimal("2.8"), source="LOAD"
    )
    worklist_generate(day=DAY)
    assert shelf_items().count() == 0
    ProductRate.objects.create(product=wm, effective=DAY, rate=Decimal("3.05"), source="PAGE")
    worklist_generate(day=DAY + dt.timedelta(days=1))
    item = shelf_items().get()
    assert item.reason_code == "RATE_CHANGE"
    assert item.reason_text == (
        f"新发稳盈理财: rate changed from 2.8% to 3.05% on {DAY.isoformat()}; "
        "suitable for this customer"
    )


def test_a_closed_product_is_no_news(people, wm):  # noqa: F811
    wm.sale_status = "CLOSED"
    wm.save()
    c = make_customer(people["alice"], tier="DIAMOND")
    assess(c, "C5")
    worklist_generate(day=DAY)
    assert shelf_items().count() == 0


def test_capped_per_cm_per_day_largest_first(people, wm, settings):  # noqa: F811
    from qiao.engagement.conf import engagement_config

    cap = engagement_config()["worklist"]["shelf_cap_per_cm"]
    alice = people["alice"]
    customers = []
    for i in range(cap + 3):
        c = make_customer(alice, tier="DIAMOND", aum=1_000_000 + i * 1000)
        assess(c, "C3")
        customers.append(c)
    worklist_generate(day=DAY)
    items = shelf_items(staff=alice)
    assert items.count() == cap
    largest = {c.pk for c in customers[-cap:]}
    assert set(items.values_list("customer_id", flat=True)) == largest
    # Run again the same day: still the cap.
    worklist_generate(day=DAY)
    assert shelf_items(staff=alice).count() == cap
    # The next day, the rest.
    worklist_generate(day=DAY + dt.timedelta(days=1))
    assert shelf_items(staff=alice).count() == cap + 3
