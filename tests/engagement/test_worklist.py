from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from qiao.engagement.festivals import festivals_between, festivals_in_year
from qiao.engagement.models import Contact, Prospect, Referral, WorkItem, WorkKind, WorkStatus
from qiao.engagement.services import (
    complaint_create,
    prospect_create,
    referral_create,
)
from qiao.engagement.worklist import worklist_generate
from qiao.scoring.models import ScoreEvent, ScoreSnapshot
from tests.engagement.conftest import DAY, at, make_account, make_customer, write_lake
from tests.helpers import set_standing

pytestmark = pytest.mark.django_db


def items(staff=None, **kw):
    qs = WorkItem.objects.filter(status=WorkStatus.OPEN, **kw)
    if staff is not None:
        qs = qs.filter(staff=staff)
    return qs


def test_cadence_rules_are_seeded_from_the_toml_file():
    from qiao.engagement.models import CadenceRule

    rules = {(r.tier, r.requirement): r.interval_days for r in CadenceRule.objects.all()}
    assert rules == {
        ("DIAMOND", "MEETING"): 30,
        ("DIAMOND", "HEAD_MEETING"): 91,
        ("PLATINUM", "CALL"): 30,
        ("PLATINUM", "MEETING"): 91,
        ("GOLD", "CALL"): 30,
        ("GOLD", "MEETING"): 91,
    }


def test_cadence_makes_due_items_per_tier_and_none_for_ordinary(people):
    alice = people["alice"]
    diamond = make_customer(alice, tier="DIAMOND", aum=5_000_000)
    gold = make_customer(alice, tier="GOLD", aum=300_000)
    ordinary = make_customer(alice, tier="ORDINARY", aum=30_000)
    restricted = make_customer(alice, tier="RESTRICTED", aum=0)
    # Gold customer called 20 days ago and met 40 days ago: nothing due yet (call due in 10 days,
    # meeting in 51).
    Contact.objects.create(
        customer=gold, staff=alice, channel="PHONE", at=at(DAY - dt.timedelta(days=20))
    )
    Contact.objects.create(
        customer=gold, staff=alice, channel="MEETING", at=at(DAY - dt.timedelta(days=40))
    )

    summary = worklist_generate(day=DAY)

    keys = set(items(alice).values_list("cause_key", flat=True))
    assert {k.rsplit(":", 1)[0] for k in keys if k.startswith("CADENCE")} == {
        f"CADENCE:MEETING:{diamond.pk}",
        f"CADENCE:HEAD_MEETING:{diamond.pk}",
    }
    assert not items(customer=ordinary).exists() and not items(customer=restricted).exists()
    assert summary["created_by_kind"] == {"CONTACT_DUE": 2}
    item = items(customer=diamond).get(cause_key__startswith="CADENCE:MEETING")
    assert item.due == DAY and item.reason_code == "CADENCE_NEVER"
    assert "Face-to-face meeting" in item.reason_text
    # No attrition score: value at stake = AUM × default risk (10 %).
    assert item.value_at_stake == Decimal("500000.00")


def test_call_falls_due_within_its_lead_days(people):
    alice = people["alice"]
    gold = make_customer(alice, tier="GOLD", aum=300_000)
    Contact.objects.create(
        customer=gold, staff=alice, channel="MEETING", at=at(DAY - dt.timedelta(days=28))
    )
    worklist_generate(day=DAY)
    call = items(customer=gold).get()
    assert call.cause_key.startswith("CADENCE:CALL:")
    assert call.due == DAY + dt.timedelta(days=2)  # last contact + 30 days
    assert call.reason_params["last"] == (DAY - dt.timedelta(days=28)).isoformat()


def test_value_at_stake_uses_the_attrition_score(people):
    alice = people["alice"]
    risky = make_customer(alice, tier="GOLD", aum=400_000)
    ScoreSnapshot.objects.create(
        customer=risky,
        as_of=DAY - dt.timedelta(days=1),
        aum=400_000,
        contribution_year=0,
        tier_pyramid="GOLD",
        tier_deposit="",
        attrition_prob=0.5,
    )
    worklist_generate(day=DAY)
    assert {i.value_at_stake for i in items(customer=risky)} == {Decimal("200000.00")}


def test_rerun_is_idempotent_and_list_is_ordered_by_value(people, products):
    alice = people["alice"]
    small = make_customer(alice, tier="GOLD", aum=200_000)
    big = make_customer(alice, tier="DIAMOND", aum=9_000_000)
    make_account(small, products["TD"], 1_000_000, maturity_date=DAY + dt.timedelta(days=3))
    first = worklist_generate(day=DAY)
    count = WorkItem.objects.count()
    second = worklist_generate(day=DAY)
    third = worklist_generate(day=DAY + dt.timedelta(days=1))
    assert first["created"] == count > 0
    assert second["created"] == 0 and third["created"] == 0
    assert WorkItem.objects.count() == count

    from qiao.engagement.selectors import worklist_for_staff

    values = [i.value_at_stake for i in worklist_for_staff(staff=alice)]
    assert values == sorted(values, reverse=True)
    top = list(worklist_for_staff(staff=alice)[:2])
    # A maturing ¥1,000,000 deposit outranks a diamond's overdue meeting (¥9M × 10 % at risk).
    assert (top[0].kind, top[0].customer, top[0].value_at_stake) == (
        "MATURITY",
        small,
        Decimal("1000000.00"),
    )
    assert (top[1].customer, top[1].value_at_stake) == (big, Decimal("900000.00"))


def test_maturities_within_seven_days_only(people, products):
    alice = people["alice"]
    c = make_customer(alice, tier="ORDINARY")
    soon = make_account(c, products["TD"], 80_000, maturity_date=DAY + dt.timedelta(days=7))
    wm = make_account(c, products["WM"], 120_000, maturity_date=DAY)
    make_account(c, products["TD"], 90_000, maturity_date=DAY + dt.timedelta(days=8))
    make_account(c, products["FND"], 90_000, maturity_date=DAY + dt.timedelta(days=2))
    make_account(
        c,
        products["TD"],
        90_000,
        maturity_date=DAY + dt.timedelta(days=1),
        status="CLOSED",
        close_date=DAY - dt.timedelta(days=1),
    )
    make_account(c, products["TD"], 90_000, maturity_date=DAY - dt.timedelta(days=1))
    worklist_generate(day=DAY)
    got = {i.cause_key: i for i in items(kind=WorkKind.MATURITY)}
    assert set(got) == {
        f"MATURITY:{soon.pk}:{(DAY + dt.timedelta(days=7)).isoformat()}",
        f"MATURITY:{wm.pk}:{DAY.isoformat()}",
    }
    item = got[f"MATURITY:{wm.pk}:{DAY.isoformat()}"]
    assert item.value_at_stake == Decimal("120000.00") and item.staff == alice
    assert "乾元理财" in item.reason_text and "120,000" in item.reason_text


def test_maturity_expires_when_passed(people, products):
    alice = people["alice"]
    c = make_customer(alice, tier="ORDINARY")
    make_account(c, products["TD"], 80_000, maturity_date=DAY + dt.timedelta(days=1))
    worklist_generate(day=DAY)
    item = items(kind=WorkKind.MATURITY).get()
    worklist_generate(day=DAY + dt.timedelta(days=1))
    item.refresh_from_db()
    assert item.status == WorkStatus.OPEN
    summary = worklist_generate(day=DAY + dt.timedelta(days=2))
    item.refresh_from_db()
    assert item.status == WorkStatus.EXPIRED and item.closed_at is not None
    assert summary["expired"] == 1 and summary["created"] == 0


def test_birthdays_for_cadence_tiers_and_expiry(people):
    alice = people["alice"]
    born = dt.date(1980, DAY.month, DAY.day + 2)
    gold = make_customer(alice, tier="GOLD", birth_date=born)
    make_customer(alice, tier="ORDINARY", birth_date=born)  # no personal cadence: no greeting
    make_customer(alice, tier="GOLD", birth_date=dt.date(1980, DAY.month, DAY.day + 5))
    worklist_generate(day=DAY)
    b = items(kind=WorkKind.BIRTHDAY).get()
    assert b.customer == gold and b.due == DAY + dt.timedelta(days=2)
    assert b.cause_key == f"BIRTHDAY:{gold.pk}:{DAY.year}"
    worklist_generate(day=DAY + dt.timedelta(days=3))
    b.refresh_from_db()
    assert b.status == WorkStatus.EXPIRED
    assert not items(kind=WorkKind.BIRTHDAY, customer=gold).exists()


def test_leap_day_birthday_is_greeted_on_28_february(people):
    alice = people["alice"]
    c = make_customer(alice, tier="PLATINUM", birth_date=dt.date(1992, 2, 29))
    worklist_generate(day=dt.date(2027, 2, 26))
    b = items(kind=WorkKind.BIRTHDAY).get()
    assert b.customer == c and b.due == dt.date(2027, 2, 28)


def test_festival_dates_table():
    assert festivals_in_year(2026)["SPRING"] == dt.date(2026, 2, 17)
    assert festivals_in_year(2025)["MID_AUTUMN"] == dt.date(2025, 10, 6)
    assert festivals_in_year(2027)["DRAGON_BOAT"] == dt.date(2027, 6, 9)
    assert festivals_in_year(2030)["LANTERN"] == dt.date(2030, 2, 17)
    assert festivals_in_year(2026)["NATIONAL_DAY"] == dt.date(2026, 10, 1)
    assert festivals_between(dt.date(2025, 9, 29), dt.date(2025, 10, 7)) == [
        ("NATIONAL_DAY", dt.date(2025, 10, 1)),
        ("MID_AUTUMN", dt.date(2025, 10, 6)),
    ]


def test_festival_greetings_before_spring_festival(people):
    alice = people["alice"]
    gold = make_customer(alice, tier="GOLD", aum=1_000_000)
    make_customer(alice, tier="ORDINARY")
    worklist_generate(day=dt.date(2026, 2, 14))  # 春节 is 2026-02-17, three days ahead
    f = items(kind=WorkKind.FESTIVAL).get()
    assert f.customer == gold and f.due == dt.date(2026, 2, 17)
    assert f.value_at_stake == Decimal("10000.00")  # 1 % of AUM
    assert "Spring Festival" in f.reason_text
    worklist_generate(day=dt.date(2026, 2, 13))
    assert items(kind=WorkKind.FESTIVAL).count() == 1
    worklist_generate(day=dt.date(2026, 2, 18))
    f.refresh_from_db()
    assert f.status == WorkStatus.EXPIRED


def test_large_movements_from_the_lake_and_from_scoring(people, settings):
    alice = people["alice"]
    settings.QIAO = {**settings.QIAO, "LARGE_AMOUNT": 50_000}
    c1 = make_customer(alice, tier="ORDINARY", no="P9000001")
    c2 = make_customer(alice, tier="ORDINARY", no="P9000002")
    c3 = make_customer(alice, tier="ORDINARY", no="P9000003")
    utc = dt.UTC
    write_lake(
        "transactions",
        [
            # 80,000 in on DAY-1 at 23:30 local = 15:30 UTC: counted on DAY-1 local.
            {
                "txn_id": "T1",
                "account_no": "A1",
                "customer_no": "P9000001",
                "txn_time": dt.datetime(DAY.year, DAY.month, DAY.day - 1, 15, 30, tzinfo=utc),
                "amount": 80000,
                "direction": "C",
                "channel": "COUNTER",
                "txn_type": "DEPOSIT",
            },
            # Three 20,000 transfers out the same day: an outflow of 60,000.
            *[
                {
                    "txn_id": f"T2{i}",
                    "account_no": "A2",
                    "customer_no": "P9000002",
                    "txn_time": dt.datetime(DAY.year, DAY.month, DAY.day - 2, 2 + i, tzinfo=utc),
                    "amount": 20000,
                    "direction": "D",
                    "channel": "MOBILE",
                    "txn_type": "TRANSFER",
                }
                for i in range(3)
            ],
            # Small credits are not a large inflow even when they add up.
            *[
                {
                    "txn_id": f"T3{i}",
                    "account_no": "A2",
                    "customer_no": "P9000002",
                    "txn_time": dt.datetime(DAY.year, DAY.month, DAY.day - 2, 3, i, tzinfo=utc),
                    "amount": 30000,
                    "direction": "C",
                    "channel": "MOBILE",
                    "txn_type": "TRANSFER",
                }
                for i in range(3)
            ],
            # Too old (10 days back).
            {
                "txn_id": "T4",
                "account_no": "A1",
                "customer_no": "P9000001",
                "txn_time": dt.datetime(DAY.year, DAY.month, DAY.day, 3, tzinfo=utc)
                - dt.timedelta(days=10),
                "amount": 900000,
                "direction": "D",
                "channel": "COUNTER",
                "txn_type": "WITHDRAWAL",
            },
        ],
    )
    # A later load corrects T1 to 90,000: the newest load wins.
    write_lake(
        "transactions",
        [
            {
                "txn_id": "T1",
                "account_no": "A1",
                "customer_no": "P9000001",
                "txn_time": dt.datetime(DAY.year, DAY.month, DAY.day - 1, 15, 30, tzinfo=utc),
                "amount": 90000,
                "direction": "C",
                "channel": "COUNTER",
                "txn_type": "DEPOSIT",
            },
        ],
        load_id=2,
    )
    ScoreEvent.objects.create(
        customer=c3, event_date=DAY, kind="LARGE_OUTFLOW", detail={"amount": "250000"}, as_of=DAY
    )
    worklist_generate(day=DAY)
    got = {(i.customer_id, i.kind): i for i in items(kind__in=["LARGE_INFLOW", "LARGE_OUTFLOW"])}
    assert set(got) == {(c1.pk, "LARGE_INFLOW"), (c2.pk, "LARGE_OUTFLOW"), (c3.pk, "LARGE_OUTFLOW")}
    assert got[(c1.pk, "LARGE_INFLOW")].value_at_stake == Decimal("90000.00")
    assert (
        got[(c1.pk, "LARGE_INFLOW")].reason_params["date"]
        == (DAY - dt.timedelta(days=1)).isoformat()
    )
    assert got[(c2.pk, "LARGE_OUTFLOW")].value_at_stake == Decimal("60000.00")
    assert got[(c3.pk, "LARGE_OUTFLOW")].value_at_stake == Decimal("250000.00")
    # Still reported the next days but not duplicated; moot two weeks after.
    worklist_generate(day=DAY + dt.timedelta(days=1))
    assert items(kind__in=["LARGE_INFLOW", "LARGE_OUTFLOW"]).count() == 3
    worklist_generate(day=DAY + dt.timedelta(days=20))
    assert items(kind__in=["LARGE_INFLOW", "LARGE_OUTFLOW"]).count() == 0


def test_tier_down_and_attrition_events(people):
    alice = people["alice"]
    c = make_customer(alice, tier="GOLD", aum=1_000_000)
    ScoreEvent.objects.create(
        customer=c,
        event_date=DAY - dt.timedelta(days=1),
        kind="TIER_DOWN",
        detail={"from": "PLATINUM", "to": "GOLD"},
        as_of=DAY,
    )
    ScoreEvent.objects.create(
        customer=c,
        event_date=DAY - dt.timedelta(days=1),
        kind="ATTRITION_UP",
        detail={"from": 0.2, "to": 0.6},
        as_of=DAY,
    )
    ScoreEvent.objects.create(
        customer=c,
        event_date=DAY - dt.timedelta(days=30),
        kind="TIER_DOWN",
        detail={},
        as_of=DAY - dt.timedelta(days=30),
    )
    worklist_generate(day=DAY)
    down = items(kind=WorkKind.TIER_DOWN).get()
    assert down.value_at_stake == Decimal("200000.00")
    assert "Platinum" in down.reason_text and "Gold" in down.reason_text
    up = items(kind=WorkKind.ATTRITION_UP).get()
    assert up.value_at_stake == Decimal("600000.00") and "60%" in up.reason_text


def test_referrals_waiting_and_prospect_reviews(people):
    alice, leo = people["alice"], people["leo"]
    c = make_customer(people["bob"], tier="ORDINARY", aum=50_000)
    referral = referral_create(
        referrer_staff=leo,
        to_staff=alice,
        customer=c,
        reason="PRODUCT_INTEREST",
        amount=Decimal("300000"),
    )
    prospect = prospect_create(
        owner=alice,
        day=DAY,
        data={
            "kind": "PERSON",
            "name": "王五",
            "source": "DIRECTORY",
            "expected_value": Decimal("5000000"),
            "likelihood": 40,
        },
    )
    worklist_generate(day=DAY)
    r = items(kind=WorkKind.REFERRAL).get()
    assert r.staff == alice and r.value_at_stake == Decimal("300000.00") and "Leo" in r.reason_text
    p = items(kind=WorkKind.PROSPECT_REVIEW).get()
    assert p.prospect == prospect and p.value_at_stake == Decimal("2000000.00")
    # The referral is contacted, the card reviewed: both items close as done on the next run.
    Referral.objects.filter(pk=referral.pk).update(status="CONTACTED")
    Prospect.objects.filter(pk=prospect.pk).update(next_review=DAY + dt.timedelta(days=1))
    worklist_generate(day=DAY)
    r.refresh_from_db()
    p.refresh_from_db()
    assert (r.status, p.status) == (WorkStatus.DONE, WorkStatus.DONE)


def test_complaint_nearing_its_deadline(people):
    alice = people["alice"]
    c = make_customer(alice, tier="ORDINARY", aum=100_000)
    complaint = complaint_create(
        customer=c, by=alice, subject="排队太久", received_at=at(DAY - dt.timedelta(days=14))
    )
    assert complaint.deadline == DAY + dt.timedelta(days=1)
    worklist_generate(day=DAY)
    item = items(kind=WorkKind.COMPLAINT_DUE).get()
    assert item.staff == alice and item.due == complaint.deadline


def test_items_follow_a_reassigned_customer(people):
    alice, bob = people["alice"], people["bob"]
    c = make_customer(alice, tier="GOLD")
    worklist_generate(day=DAY)
    assert set(items(customer=c).values_list("staff", flat=True)) == {alice.pk}
    c.primary_manager = bob
    c.save()
    summary = worklist_generate(day=DAY)
    assert summary["reassigned"] == 2
    assert set(items(customer=c).values_list("staff", flat=True)) == {bob.pk}


def test_contact_due_closes_when_tier_drops_out_of_cadence(people):
    alice = people["alice"]
    c = make_customer(alice, tier="GOLD")
    worklist_generate(day=DAY)
    assert items(customer=c).count() == 2
    set_standing(c, tier="ORDINARY")
    worklist_generate(day=DAY)
    assert items(customer=c).count() == 0
    assert set(WorkItem.objects.filter(customer=c).values_list("status", flat=True)) == {"EXPIRED"}


def test_customers_without_a_manager_get_no_items(people):
    make_customer(None, tier="DIAMOND")
    assert worklist_generate(day=DAY)["created"] == 0


def test_generation_is_set_based(people, products, django_assert_max_num_queries):
    for i in range(30):
        c = make_customer(
            people["alice" if i % 2 else "bob"],
            tier=["DIAMOND", "GOLD", "PLATINUM"][i % 3],
            birth_date=dt.date(1980, DAY.month, DAY.day + 1),
        )
        make_account(c, products["TD"], 10_000 * i, maturity_date=DAY + dt.timedelta(days=i % 9))
    # The number of queries does not grow with the number of customers.
    with django_assert_max_num_queries(60):
        summary = worklist_generate(day=DAY)
    assert summary["created"] > 60
