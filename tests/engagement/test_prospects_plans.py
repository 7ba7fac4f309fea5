from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from qiao.core.errors import ApplicationError
from qiao.engagement import conf
from qiao.engagement.models import Plan, Prospect, WorkItem
from qiao.engagement.selectors import plans_progress, plans_rollup
from qiao.engagement.services import (
    complaint_create,
    complaint_update,
    plan_create,
    prospect_convert,
    prospect_create,
    prospect_grade_for,
    prospect_review,
    prospects_regrade_weekly,
    referral_create,
    referral_set_status,
)
from qiao.engagement.worklist import worklist_generate
from tests.engagement.conftest import DAY, at, make_account, make_customer, write_lake


def assessed(*customers):
    """A valid C5 risk assessment: a plan with a wealth product must be suitable for its
    customers (docs/suitability.md, "Everywhere")."""
    from django.utils import timezone

    from qiao.suitability.models import RiskAssessment

    today = timezone.localdate()
    for c in customers:
        RiskAssessment.objects.create(
            customer=c,
            tolerance="C5",
            assessed_on=today - dt.timedelta(days=30),
            valid_until=today + dt.timedelta(days=300),
            source="BRANCH",
            customer_signed=True,
        )


pytestmark = pytest.mark.django_db


def card(owner, value, likelihood, **kw):
    return prospect_create(
        owner=owner,
        day=DAY,
        data={
            "kind": "PERSON",
            "name": "赵六",
            "source": "ACQUAINTANCE",
            "classification": "PROFESSIONAL",
            "expected_value": Decimal(value),
            "likelihood": likelihood,
            **kw,
        },
    )


# ---------------------------------------------------------------- prospects


def test_grade_by_value_times_likelihood():
    assert prospect_grade_for(expected_value=Decimal(2_000_000), likelihood=50) == "A"
    assert prospect_grade_for(expected_value=Decimal(2_000_000), likelihood=49) == "B"
    assert prospect_grade_for(expected_value=Decimal(400_000), likelihood=50) == "B"
    assert prospect_grade_for(expected_value=Decimal(399_999), likelihood=50) == "C"


def test_card_is_numbered_and_reviewed_by_grade(people):
    a = card(people["alice"], 3_000_000, 50)
    b = card(people["alice"], 500_000, 50)
    c = card(people["alice"], 100_000, 10)
    assert re.fullmatch(r"P-2026-\d{6}", a.number) and a.number != b.number
    assert (a.grade, b.grade, c.grade) == ("A", "B", "C")
    assert a.next_review == DAY  # a new card is looked at the day it is made
    for p, days in ((a, 1), (b, 7), (c, 30)):
        prospect_review(prospect=p, by=people["alice"], day=DAY)
        assert p.next_review == DAY + dt.timedelta(days=days)
        assert p.last_reviewed == DAY


def test_review_intervals_are_configurable(people, monkeypatch):
    cfg = conf.engagement_config()
    monkeypatch.setitem(cfg["prospects"], "review_days_b", 3)
    b = card(people["alice"], 500_000, 50)
    prospect_review(prospect=b, by=people["alice"], day=DAY)
    assert b.next_review == DAY + dt.timedelta(days=3)


def test_review_regrades_and_keeps_history(people):
    p = card(people["alice"], 500_000, 50)
    prospect_review(
        prospect=p,
        by=people["alice"],
        day=DAY,
        likelihood=90,
        expected_value=Decimal(2_000_000),
        note="父亲退休金到账",
    )
    assert p.grade == "A" and p.next_review == DAY + dt.timedelta(days=1)
    history = list(p.grade_history.order_by("id").values_list("old_grade", "new_grade", "reason"))
    assert history == [("", "B", "CREATED"), ("B", "A", "REVIEW")]
    assert "父亲退休金到账" in p.notes


def test_weekly_regrade_after_thresholds_change(people, monkeypatch):
    p = card(people["alice"], 500_000, 50)  # 250,000 weighted: B
    q = card(people["alice"], 3_000_000, 50)  # A either way
    prospect_review(prospect=p, by=people["alice"], day=DAY)
    assert p.next_review == DAY + dt.timedelta(days=7)
    monkeypatch.setitem(conf.engagement_config()["prospects"], "grade_b", 300_000)
    result = prospects_regrade_weekly(day=DAY + dt.timedelta(days=2))
    assert result == {"prospects": 2, "regraded": 1}
    p.refresh_from_db()
    q.refresh_from_db()
    assert (p.grade, q.grade) == ("C", "A")
    assert p.grade_history.filter(reason="WEEKLY", old_grade="B", new_grade="C").exists()
    # Still due for review no later than it already was.
    assert p.next_review == DAY + dt.timedelta(days=7)


def test_conversion_links_the_customer_and_keeps_history(people):
    alice = people["alice"]
    p = card(alice, 3_000_000, 60)
    worklist_generate(day=DAY)
    assert WorkItem.objects.filter(prospect=p, status="OPEN").count() == 1
    customer = make_customer(alice, tier="GOLD")
    prospect_convert(prospect=p, customer=customer, by=alice)
    p.refresh_from_db()
    assert p.status == "CONVERTED" and p.customer == customer and p.converted_at
    assert list(p.grade_history.values_list("reason", flat=True).order_by("id")) == [
        "CREATED",
        "CONVERTED",
    ]
    assert not WorkItem.objects.filter(prospect=p, status="OPEN").exists()
    assert customer.prospect_cards.get() == p
    with pytest.raises(ApplicationError):
        prospect_convert(prospect=p, customer=customer, by=alice)


def test_regrade_ignores_converted_cards(people):
    p = card(people["alice"], 3_000_000, 60)
    prospect_convert(prospect=p, customer=make_customer(people["alice"]), by=people["alice"])
    assert prospects_regrade_weekly(day=DAY)["prospects"] == 0


# ---------------------------------------------------------------- referrals


def test_referral_lifecycle_credits_the_referrer(people):
    alice, leo = people["alice"], people["leo"]
    r = referral_create(
        referrer_staff=leo,
        to_staff=alice,
        reason="LIFE_EVENT",
        note="刚卖房",
        prospect_data={"name": "孙七", "mobile": "13912345678", "kind": "PERSON"},
    )
    assert r.status == "NEW" and r.prospect.owner == alice
    assert r.prospect.source == "TELLER_REFERRAL" and "Leo" in r.prospect.source_note
    referral_set_status(referral=r, status="CONTACTED", by=alice)
    assert r.contacted_at is not None and not r.credited
    with pytest.raises(ApplicationError):
        referral_set_status(referral=r, status="NEW", by=alice)
    # The prospect becomes a customer: the referral converts and Leo is credited.
    customer = make_customer(alice)
    prospect_convert(prospect=r.prospect, customer=customer, by=alice)
    r.refresh_from_db()
    assert (r.status, r.credited, r.customer) == ("CONVERTED", True, customer)
    with pytest.raises(ApplicationError):
        referral_set_status(referral=r, status="CLOSED", by=alice)


def test_customer_refers_an_acquaintance(people):
    alice = people["alice"]
    referrer = make_customer(alice, tier="DIAMOND")
    r = referral_create(
        referrer_customer=referrer,
        to_staff=alice,
        reason="OTHER",
        prospect_data={"name": "周八", "kind": "PERSON"},
    )
    assert r.prospect.source == "ACQUAINTANCE"
    referral_set_status(referral=r, status="CLOSED", by=alice)
    assert r.closed_at is not None and not r.credited


def test_referral_must_go_to_a_cm(people):
    c = make_customer(people["alice"])
    with pytest.raises(ApplicationError):
        referral_create(
            referrer_staff=people["leo"], to_staff=people["leo"], customer=c, reason="OTHER"
        )
    with pytest.raises(ApplicationError):
        referral_create(to_staff=people["alice"], customer=c, reason="OTHER")


# ---------------------------------------------------------------- complaints


def test_complaint_deadline_owner_and_resolution(people):
    alice, hannah = people["alice"], people["hannah"]
    c = make_customer(alice)
    # The outlet head takes the complaint at the counter; the customer's manager handles it.
    complaint = complaint_create(customer=c, by=hannah, subject="转账延迟", received_at=at(DAY))
    assert complaint.owner == alice
    assert complaint.deadline == DAY + dt.timedelta(days=15)
    worklist_generate(day=DAY + dt.timedelta(days=13))
    assert WorkItem.objects.filter(cause_key=f"COMPLAINT:{complaint.pk}", status="OPEN").exists()
    with pytest.raises(ApplicationError):
        complaint_update(complaint=complaint, by=alice, status="RESOLVED")
    complaint_update(
        complaint=complaint,
        by=alice,
        status="RESOLVED",
        resolution="已退手续费",
        service_recovery="致歉并赠送礼品",
    )
    assert complaint.resolved_at is not None
    assert WorkItem.objects.get(cause_key=f"COMPLAINT:{complaint.pk}").status == "DONE"


# ---------------------------------------------------------------- plans


def test_plan_progress_moves_when_balances_change(people, products):
    alice = people["alice"]
    c = make_customer(alice, tier="GOLD")
    assessed(c)
    td = make_account(c, products["TD"], 100_000, account_no="ACC-TD")
    wm = make_account(c, products["WM"], 0, account_no="ACC-WM")
    make_account(c, products["DEM"], 999_999, account_no="ACC-DEM")  # not a plan product
    start = DAY - dt.timedelta(days=10)
    write_lake(
        "balances",
        [
            {
                "account_no": "ACC-TD",
                "customer_no": c.customer_no,
                "balance_date": start - dt.timedelta(days=5),
                "balance": 100000,
            },
            {
                "account_no": "ACC-WM",
                "customer_no": c.customer_no,
                "balance_date": start - dt.timedelta(days=5),
                "balance": 0,
            },
        ],
        load_id=1,
    )
    plan = plan_create(
        owner=alice,
        customer=c,
        products=[products["TD"], products["WM"]],
        data={
            "title": "提升理财",
            "period": "QUARTERLY",
            "start": start,
            "end": start + dt.timedelta(days=90),
            "target_amount": Decimal(200_000),
        },
        milestones=[(start + dt.timedelta(days=5), Decimal(50_000), "first month")],
    )
    assert plan.baseline_amount == Decimal(100_000)
    [p] = plans_progress([plan], day=DAY)
    assert p.progress == 0 and p.pct == 0 and not p.on_track

    # The next load brings the customer's new balances: the plan moves.
    write_lake(
        "balances",
        [
            {
                "account_no": "ACC-WM",
                "customer_no": c.customer_no,
                "balance_date": DAY - dt.timedelta(days=1),
                "balance": 150000,
            },
            {
                "account_no": "ACC-TD",
                "customer_no": c.customer_no,
                "balance_date": DAY - dt.timedelta(days=1),
                "balance": 80000,
            },
        ],
        load_id=2,
    )
    [p] = plans_progress([plan], day=DAY)
    assert p.current == Decimal(230_000) and p.progress == Decimal(130_000)
    assert p.pct == 65.0 and p.on_track
    # A later load correcting the same day wins.
    write_lake(
        "balances",
        [
            {
                "account_no": "ACC-WM",
                "customer_no": c.customer_no,
                "balance_date": DAY - dt.timedelta(days=1),
                "balance": 320000,
            },
        ],
        load_id=3,
    )
    [p] = plans_progress([plan], day=DAY)
    assert p.pct == 150.0 and p.bar_pct == 100.0
    assert td.pk and wm.pk


def test_plan_without_lake_uses_account_balances_and_rolls_up(people, products):
    alice, bob, hannah = people["alice"], people["bob"], people["hannah"]
    c1, c2 = make_customer(alice), make_customer(bob)
    a1 = make_account(c1, products["FND"], 100_000)
    make_account(c2, products["DEM"], 50_000)
    make_account(
        c2, products["FND"], 10_000, status="CLOSED", close_date=DAY - dt.timedelta(days=300)
    )
    base = {"period": "ANNUAL", "start": DAY, "end": DAY + dt.timedelta(days=365)}
    p1 = plan_create(
        owner=alice, customer=c1, data={**base, "title": "p1", "target_amount": Decimal(100_000)}
    )
    p2 = plan_create(
        owner=bob,
        customer=c2,
        data={
            **base,
            "title": "p2",
            "target_amount": Decimal(100_000),
            "baseline_amount": Decimal(0),
        },
    )
    assert p1.baseline_amount == Decimal(100_000)
    a1.balance = Decimal(160_000)
    a1.save()
    progress = plans_progress([p1, p2], day=DAY)
    assert [float(p.progress) for p in progress] == [60_000.0, 50_000.0]
    rollup = plans_rollup(progress)
    assert {r["label"]: r["pct"] for r in rollup["by_cm"]} == {"Alice": 60.0, "Bob": 50.0}
    assert rollup["by_unit"] == [
        {
            "label": "O0101",
            "plans": 2,
            "target": Decimal(200_000),
            "progress": Decimal(110_000),
            "pct": 55.0,
        }
    ]
    from qiao.engagement.selectors import plans_visible_to

    assert set(plans_visible_to(staff=hannah)) == {p1, p2}
    assert list(plans_visible_to(staff=alice)) == [p1]
    assert list(plans_visible_to(staff=people["carol"])) == []


def test_plan_for_a_saved_group(people, products):
    from qiao.customers.models import SavedGroup

    alice = people["alice"]
    c1, c2 = make_customer(alice), make_customer(alice)
    assessed(c1, c2)
    make_account(c1, products["WM"], 10_000)
    make_account(c2, products["WM"], 20_000)
    group = SavedGroup.objects.create(name="利得盈组", kind="STATIC", owner=alice)
    group.customers.set([c1, c2])
    plan = plan_create(
        owner=alice,
        group=group,
        products=[products["WM"]],
        data={
            "title": "group",
            "period": "MONTHLY",
            "start": DAY,
            "end": DAY + dt.timedelta(days=30),
            "target_amount": Decimal(10_000),
        },
    )
    assert plan.baseline_amount == Decimal(30_000)


def test_plan_must_have_one_subject_and_a_sane_period(people):
    alice = people["alice"]
    c = make_customer(alice)
    with pytest.raises(ApplicationError):
        plan_create(
            owner=alice,
            data={"title": "x", "period": "ANNUAL", "start": DAY, "end": DAY, "target_amount": 1},
        )
    with pytest.raises(ApplicationError):
        plan_create(
            owner=alice,
            customer=c,
            data={
                "title": "x",
                "period": "ANNUAL",
                "start": DAY,
                "end": DAY - dt.timedelta(days=1),
                "target_amount": 1,
            },
        )
    with pytest.raises(ApplicationError):
        plan_create(
            owner=alice,
            customer=c,
            data={
                "title": "x",
                "period": "ANNUAL",
                "start": DAY,
                "end": DAY + dt.timedelta(days=9),
                "target_amount": 1,
            },
            milestones=[(DAY + dt.timedelta(days=20), Decimal(1), "")],
        )
    assert Plan.objects.count() == 0 and Prospect.objects.count() == 0


def test_monday_work_list_runs_the_weekly_regrade(people, monkeypatch):
    p = card(people["alice"], 500_000, 50)
    monkeypatch.setitem(conf.engagement_config()["prospects"], "grade_b", 300_000)
    tuesday, monday = DAY, DAY + dt.timedelta(days=6)
    assert tuesday.weekday() == 1 and monday.weekday() == 0
    assert worklist_generate(day=tuesday)["prospects_regraded"] is None
    p.refresh_from_db()
    assert p.grade == "B"
    assert worklist_generate(day=monday)["prospects_regraded"] == 1
    p.refresh_from_db()
    assert p.grade == "C"
