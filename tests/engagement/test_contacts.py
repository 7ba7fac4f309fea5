from __future__ import annotations

import datetime as dt

import pytest

from qiao.core.errors import ApplicationError
from qiao.customers.models import Ownership
from qiao.engagement.models import Task, WorkItem, WorkKind
from qiao.engagement.services import contact_log, referral_create, task_complete
from qiao.engagement.worklist import worklist_generate
from tests.engagement.conftest import DAY, at, make_account, make_customer
from tests.helpers import set_standing

pytestmark = pytest.mark.django_db

FIVE_STEPS = {
    "step_greeting": True,
    "step_introduction": True,
    "step_reason": True,
    "step_proposal": True,
    "step_thanks": True,
}


def test_five_step_call_closes_the_call_item_and_creates_the_next_step(people, products):
    alice = people["alice"]
    c = make_customer(alice, tier="GOLD", aum=600_000)
    make_account(c, products["TD"], 200_000, maturity_date=DAY + dt.timedelta(days=5))
    worklist_generate(day=DAY)
    open_before = {i.kind: i for i in WorkItem.objects.filter(customer=c, status="OPEN")}
    assert {"CONTACT_DUE", "MATURITY"} <= set(open_before)

    contact, closed, warnings = contact_log(
        staff=alice,
        customer=c,
        data={
            "channel": "PHONE",
            "at": at(DAY, 9, 30),
            "summary": "到期提醒，约面谈",
            **FIVE_STEPS,
            "appointment_at": at(DAY + dt.timedelta(days=2), 15),
            "appointment_place": "网点贵宾室",
            "next_step": "准备理财方案",
            "next_step_due": DAY + dt.timedelta(days=1),
            "satisfaction": 5,
        },
    )

    assert sorted(i.kind for i in closed) == ["CONTACT_DUE", "MATURITY"]
    assert {i.pk for i in closed} == {
        open_before["MATURITY"].pk,
        *[i.pk for i in closed if i.cause_key.startswith("CADENCE:CALL:")],
    }
    # The quarterly meeting is not met by a call: it stays open.
    still_open = WorkItem.objects.filter(customer=c, status="OPEN").values_list(
        "cause_key", flat=True
    )
    assert [k.split(":")[1] for k in still_open] == ["MEETING"]
    assert all(i.closed_by_contact_id == contact.pk for i in WorkItem.objects.filter(status="DONE"))
    task = Task.objects.get(contact=contact)
    assert (task.staff, task.customer, task.title, task.due) == (
        alice,
        c,
        "准备理财方案",
        DAY + dt.timedelta(days=1),
    )
    c.refresh_from_db()
    assert c.last_contact_at == at(DAY, 9, 30)
    assert warnings == []
    assert [ok for _, ok in contact.phone_steps] == [True] * 5
    # The next run does not raise the call again: it is met until 30 days after this contact.
    worklist_generate(day=DAY + dt.timedelta(days=1))
    assert not WorkItem.objects.filter(
        customer=c, status="OPEN", cause_key__startswith="CADENCE:CALL"
    ).exists()


def test_a_meeting_with_the_outlet_head_meets_both_diamond_rules(people):
    alice = people["alice"]
    c = make_customer(alice, tier="DIAMOND", aum=8_000_000)
    worklist_generate(day=DAY)
    _, closed, _ = contact_log(
        staff=alice,
        customer=c,
        data={
            "channel": "PHONE",
            "at": at(DAY, 9),
            **FIVE_STEPS,
        },
    )
    assert closed == []  # a call meets neither the monthly meeting nor the head meeting
    _, closed, _ = contact_log(
        staff=alice,
        customer=c,
        data={
            "channel": "MEETING",
            "at": at(DAY, 15),
            "with_outlet_head": True,
            "needs_found": "子女教育金",
            "solved_on_spot": "开通手机银行",
            "escalated": "大额存单利率",
            "plan_proposed": "基金定投",
            "outcome": "同意下周签约",
        },
    )
    assert {i.cause_key.split(":")[1] for i in closed} == {"MEETING", "HEAD_MEETING"}


def test_sms_closes_greetings_but_not_a_maturity(people, products):
    alice = people["alice"]
    c = make_customer(alice, tier="ORDINARY", birth_date=dt.date(1970, DAY.month, DAY.day))
    set_standing(c, tier="GOLD")
    make_account(c, products["WM"], 50_000, maturity_date=DAY + dt.timedelta(days=1))
    worklist_generate(day=DAY)
    _, closed, _ = contact_log(staff=alice, customer=c, data={"channel": "SMS", "at": at(DAY, 8)})
    assert [i.kind for i in closed] == [WorkKind.BIRTHDAY]
    assert WorkItem.objects.filter(customer=c, kind="MATURITY", status="OPEN").exists()


def test_explicit_item_is_closed_even_when_the_channel_does_not_match(people):
    alice = people["alice"]
    c = make_customer(alice, tier="GOLD")
    worklist_generate(day=DAY)
    meeting = WorkItem.objects.get(customer=c, cause_key__startswith="CADENCE:MEETING")
    _, closed, _ = contact_log(
        staff=alice,
        customer=c,
        data={
            "channel": "WECHAT",
            "at": at(DAY, 8),
            "work_item": meeting.pk,
        },
    )
    assert [i.pk for i in closed] == [meeting.pk]


def test_second_cm_same_day_is_warned(people):
    alice, bob = people["alice"], people["bob"]
    c = make_customer(alice, tier="GOLD")
    # Bob serves the customer too (a secondary manager: the corporate side, say).
    Ownership.objects.create(
        customer=c, staff=bob, role="SECONDARY", start_date=dt.date(2020, 1, 1)
    )
    contact_log(
        staff=alice,
        customer=c,
        data={
            "channel": "PHONE",
            "at": at(DAY, 9),
            **FIVE_STEPS,
            "appointment_at": at(DAY + dt.timedelta(days=3), 10),
            "appointment_place": "客户公司",
        },
    )
    _, _, warnings = contact_log(
        staff=bob, customer=c, data={"channel": "VISIT", "at": at(DAY, 16)}
    )
    assert len(warnings) == 1 and "Alice" in warnings[0] and "contacted" in warnings[0]
    # Booking the day Alice has her appointment is warned too.
    _, _, warnings = contact_log(
        staff=bob,
        customer=c,
        data={
            "channel": "PHONE",
            "at": at(DAY + dt.timedelta(days=1), 9),
            "appointment_at": at(DAY + dt.timedelta(days=3), 14),
        },
    )
    assert any("appointment" in w and "Alice" in w for w in warnings)
    # The same CM twice in a day is not a clash; another day is not either.
    _, _, warnings = contact_log(
        staff=alice, customer=c, data={"channel": "PHONE", "at": at(DAY, 17)}
    )
    assert [w for w in warnings if "Alice" in w] == [] and len(warnings) == 1  # Bob's visit
    _, _, warnings = contact_log(
        staff=alice, customer=c, data={"channel": "PHONE", "at": at(DAY + dt.timedelta(days=2), 9)}
    )
    assert warnings == []


def test_contact_marks_referrals_contacted(people):
    alice, leo = people["alice"], people["leo"]
    c = make_customer(alice, tier="ORDINARY")
    r = referral_create(referrer_staff=leo, to_staff=alice, customer=c, reason="LARGE_TRANSACTION")
    worklist_generate(day=DAY)
    _, closed, _ = contact_log(staff=alice, customer=c, data={"channel": "PHONE", "at": at(DAY, 9)})
    r.refresh_from_db()
    assert r.status == "CONTACTED" and r.contacted_at is not None
    assert [i.kind for i in closed] == ["REFERRAL"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"channel": "FAX"}, "channel"),
        ({"channel": "PHONE", "satisfaction": 6}, "satisfaction"),
        ({"channel": "PHONE", "appointment_place": "网点"}, "appointment_at"),
        ({"channel": "PHONE", "next_step_due": DAY}, "next_step"),
        ({"channel": "PHONE", "with_outlet_head": True}, "with_outlet_head"),
        ({"channel": "PHONE", "at": at(DAY + dt.timedelta(days=4000))}, "at"),
    ],
)
def test_bad_contacts_are_refused(people, data, field):
    alice = people["alice"]
    c = make_customer(alice)
    with pytest.raises(ApplicationError) as exc:
        contact_log(staff=alice, customer=c, data={"at": at(DAY), **data})
    assert field in exc.value.fields
    assert not c.contacts.exists()


def test_task_complete_only_by_its_owner(people):
    alice, bob = people["alice"], people["bob"]
    c = make_customer(alice)
    contact, _, _ = contact_log(
        staff=alice, customer=c, data={"channel": "MEETING", "at": at(DAY), "next_step": "送资料"}
    )
    task = contact.tasks.get()
    with pytest.raises(ApplicationError):
        task_complete(staff=bob, task=task)
    task_complete(staff=alice, task=task)
    task.refresh_from_db()
    assert task.done and task.done_at is not None
