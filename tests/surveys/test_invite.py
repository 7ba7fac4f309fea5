"""The daily invitation step: after contacts and complaint closures, only on a consented channel,
at most once per customer in the interval, written to the outbound file and audited."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from qiao.audit.models import Action, AuditEvent
from qiao.customers.consent import consent_set
from qiao.engagement.models import Complaint, Contact
from qiao.surveys.invite import surveys_invite
from qiao.surveys.models import Invitation, Trigger
from tests.surveys.conftest import at, customer_of

DAY = dt.date(2026, 3, 10)


def contact(customer, staff, day=DAY, hour=10):
    return Contact.objects.create(customer=customer, staff=staff, channel="PHONE", at=at(day, hour))


def consent(customer, staff, channel="SMS", state="GIVEN"):
    consent_set(
        staff=staff, customer=customer, channel=channel, state=state, on=dt.date(2026, 1, 1)
    )


@pytest.fixture
def outbox(settings, tmp_path):
    settings.OUTBOX_DIR = tmp_path / "outbox"
    return settings.OUTBOX_DIR


def test_only_consenting_customers_are_invited(people, surveys, outbox):
    alice = people["alice"]
    yes, no, withdrawn, post_only = (customer_of(alice) for _ in range(4))
    consent(yes, alice)
    consent(withdrawn, alice)
    consent(withdrawn, alice, state="WITHDRAWN")
    consent(post_only, alice, channel="POST")  # POST needs an address: this customer has none
    for c in (yes, no, withdrawn, post_only):
        contact(c, alice)
    summary = surveys_invite(day=DAY)
    assert summary["candidates"] == 4 and summary["invited"] == 1 and summary["no_consent"] == 3
    inv = Invitation.objects.get()
    assert inv.customer == yes and inv.channel == "SMS" and inv.staff == alice
    assert inv.trigger == Trigger.CONTACT and inv.survey.code == "after-contact"
    rows = list(csv.DictReader((outbox / "sms" / inv.file_name).open(encoding="utf-8")))
    assert [r["customer_no"] for r in rows] == [yes.customer_no]
    assert rows[0]["address"] == yes.mobile and inv.token in rows[0]["text"]
    assert "{token}" not in rows[0]["text"] and "评价" in rows[0]["text"]
    event = AuditEvent.objects.get(action=Action.SURVEY_SEND)
    assert event.detail["invited"] == 1 and event.detail["no_consent"] == 3
    # Running the day again invites nobody twice and writes no file.
    again = surveys_invite(day=DAY)
    assert again["invited"] == 0 and Invitation.objects.count() == 1


def test_a_customer_is_invited_once_in_the_interval(people, surveys, outbox):
    alice = people["alice"]
    c = customer_of(alice)
    consent(c, alice, channel="WECHAT")
    contact(c, alice, hour=9)
    contact(c, alice, hour=15)  # two contacts on one day: one invitation, about the last
    assert surveys_invite(day=DAY)["invited"] == 1
    first = Invitation.objects.get()
    assert first.channel == "WECHAT" and first.contact.at == at(DAY, 15)
    # 30 days later: inside the 90-day interval (config/surveys.toml), left out.
    contact(c, alice, day=DAY + dt.timedelta(days=30))
    later = surveys_invite(day=DAY + dt.timedelta(days=30))
    assert later["recent"] == 1 and later["invited"] == 0
    # 91 days later: invited again.
    contact(c, alice, day=DAY + dt.timedelta(days=91))
    assert surveys_invite(day=DAY + dt.timedelta(days=91))["invited"] == 1


def test_a_resolved_complaint_comes_before_a_contact(people, surveys, outbox):
    alice, hannah = people["alice"], people["hannah"]
    c = customer_of(alice)
    consent(c, alice)
    contact(c, alice)
    Complaint.objects.create(
        customer=c,
        received_at=at(DAY - dt.timedelta(days=3)),
        subject="排队太久",
        deadline=DAY,
        owner=hannah,
        status="RESOLVED",
        resolved_at=at(DAY, 16),
    )
    open_one = customer_of(alice)
    consent(open_one, alice)
    Complaint.objects.create(
        customer=open_one, received_at=at(DAY), subject="x", deadline=DAY, owner=hannah
    )
    assert surveys_invite(day=DAY)["invited"] == 1
    inv = Invitation.objects.get()
    assert inv.trigger == Trigger.COMPLAINT and inv.staff == hannah
    assert inv.survey.code == "after-complaint"


def test_an_inactive_survey_is_not_sent(people, surveys, outbox):
    alice = people["alice"]
    c = customer_of(alice)
    consent(c, alice)
    contact(c, alice)
    surveys["after-contact"].active = False
    surveys["after-contact"].save()
    assert surveys_invite(day=DAY)["candidates"] == 0
    assert not outbox.exists()


def test_the_campaign_hook_follows_the_same_rules(people, surveys, outbox):
    from qiao.surveys.invite import surveys_invite_customers

    alice = people["alice"]
    yes, no = customer_of(alice), customer_of(alice)
    consent(yes, alice)
    summary = surveys_invite_customers(
        survey_code="after-contact", customer_ids=[yes.pk, no.pk, yes.pk], day=DAY
    )
    assert summary["candidates"] == 2 and summary["invited"] == 1
    inv = Invitation.objects.get()
    assert inv.customer == yes and inv.trigger == Trigger.CAMPAIGN and inv.staff == alice
    again = surveys_invite_customers(survey_code="after-contact", customer_ids=[yes.pk], day=DAY)
    assert again["recent"] == 1 and again["invited"] == 0
