"""The demo's surveys on a small bank: contacts, invitations only where consent is given, answers
and the e-banking questionnaires loaded through the survey_answers kind without a reject."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from qiao.customers.consent import consent_is_given, consent_set
from qiao.demo.surveys import demo_surveys
from qiao.surveys.models import Invitation, Response
from tests.surveys.conftest import customer_of


def test_demo_surveys(people, org, tmp_path, settings):
    settings.OUTBOX_DIR = tmp_path / "outbox"
    alice, carol = people["alice"], people["carol"]
    for i in range(36):
        manager = alice if i % 2 else carol
        c = customer_of(manager)
        if i % 3:
            consent_set(
                staff=manager, customer=c, channel="SMS", state="GIVEN", on=dt.date(2026, 1, 1)
            )
    as_of = timezone.localdate() - dt.timedelta(days=1)
    summary = demo_surveys(as_of=as_of, folder=tmp_path / "demo", seed=3)
    assert summary["contacts"] == 9 and summary["rejected"] == 0
    assert summary["questionnaires"] == 20
    assert Response.objects.filter(survey__code="ebanking").count() == 20
    assert summary["invited"] == Invitation.objects.count()
    for inv in Invitation.objects.all():
        assert consent_is_given(inv.customer_id, inv.channel)
    assert Response.objects.filter(invitation__isnull=False).count() == summary["answered"]
