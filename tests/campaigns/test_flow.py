"""A campaign from segment to outbound file, work list and measured results (issue 15)."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from qiao.audit.models import AuditEvent
from qiao.campaigns.models import (
    Campaign,
    CampaignStatus,
    Exclusion,
    Message,
    MessageStatus,
    Recipient,
    Response,
)
from qiao.campaigns.planning import plan_first_step
from qiao.campaigns.results import measure_campaign
from qiao.campaigns.rules import calendar, campaign_rules
from qiao.campaigns.sending import batch_path, send_step
from qiao.campaigns.services import (
    StepData,
    TemplateData,
    campaign_approve,
    campaign_refuse,
    campaign_submit,
)
from qiao.customers.consent import consent_set
from qiao.customers.models import Consent
from qiao.engagement.models import Complaint, WorkItem, WorkKind
from qiao.ingest.services import ingest_file
from tests.campaigns.conftest import sms_campaign

pytestmark = pytest.mark.django_db


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _outbound(campaign: Campaign) -> list[dict[str, str]]:
    step = campaign.steps.get(number=1)
    rows: list[dict[str, str]] = []
    batches = Message.objects.filter(step=step, batch__isnull=False).values_list("batch", flat=True)
    for batch in sorted(set(batches)):
        if batch:
            rows.extend(_rows(batch_path(step, batch)))
    return rows


def test_the_author_cannot_approve_their_own_campaign(bank):
    campaign = sms_campaign(bank, approve=False)
    campaign_submit(staff=bank.marketing, campaign=campaign)
    with pytest.raises(PermissionDenied):
        campaign_approve(staff=bank.marketing, campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SUBMITTED
    assert not AuditEvent.objects.filter(action="CAMPAIGN_OK").exists()
    # A customer manager cannot approve either (no permission).
    with pytest.raises(PermissionDenied):
        campaign_approve(staff=bank.cm, campaign=campaign)
    refused = campaign_refuse(staff=bank.marketing2, campaign=campaign, note="文案需修改")
    assert refused.status == CampaignStatus.REFUSED
    assert AuditEvent.objects.filter(action="CAMPAIGN_REFUSE", username="marketing2").exists()


def test_plan_leaves_out_by_rule_and_holds_out_a_stratified_control(bank, any_hour):
    c = bank.customers
    # Customer 7 has an open complaint; customer 8 was called by the CM twice this week (cap).
    Complaint.objects.create(
        customer=c[6],
        received_at=timezone.now(),
        subject="服务态度",
        deadline=timezone.localdate() + dt.timedelta(days=10),
        owner=bank.cm,
    )
    from qiao.engagement.models import Contact

    for hours in (5, 30):
        Contact.objects.create(
            customer=c[7],
            staff=bank.cm,
            channel="PHONE",
            at=timezone.now() - dt.timedelta(days=3, hours=hours),
        )
    campaign = sms_campaign(bank, exclude_contacted_days=0)
    stats = plan_first_step(campaign)
    reasons = dict(Exclusion.objects.filter(campaign=campaign).values_list("customer_id", "reason"))
    assert reasons[c[0].pk] == "UNSUITABLE"  # C1: R2 is above their tolerance
    assert reasons[c[6].pk] == "COMPLAINT"
    assert reasons[c[7].pk] == "CAP"
    assert all(reasons[x.pk] == "NO_CONSENT" for x in c[50:])
    assert stats["eligible"] == 60 - len(reasons)
    recipients = Recipient.objects.filter(campaign=campaign)
    assert recipients.count() == stats["eligible"]
    # Control: 10 % of each tier, rounded (the split's rule), never a treated customer.
    for tier in ("PLATINUM", "GOLD", "ORDINARY"):
        n = recipients.filter(stratum=tier).count()
        held = recipients.filter(stratum=tier, group="C").count()
        assert abs(held - n * 0.10) <= 0.5 + 1e-9, (tier, n, held)
    assert Message.objects.filter(recipient__group="C").count() == 0
    assert Message.objects.filter(step__campaign=campaign).count() == stats["treated"]
    campaign.refresh_from_db()
    assert campaign.seed is not None and stats["seed"] == str(campaign.seed)
    # Planning again changes nothing (idempotent).
    assert plan_first_step(campaign) == stats
    assert Recipient.objects.filter(campaign=campaign).count() == stats["eligible"]


def test_send_writes_one_outbound_file_with_only_consenting_suitable_customers(bank, any_hour):
    campaign = sms_campaign(bank)
    plan_first_step(campaign)
    # Customer 12 withdraws SMS consent after planning, before the send: the withdrawal wins.
    withdrawn = bank.customers[11]
    treated_12 = Recipient.objects.filter(campaign=campaign, customer=withdrawn, group="T").exists()
    consent_set(
        staff=bank.cm,
        customer=withdrawn,
        channel="SMS",
        state="WITHDRAWN",
        on=timezone.localdate(),
        evidence="客户来电要求",
    )
    result = send_step(campaign.steps.get(number=1).pk)
    assert result["state"] == "sent"
    rows = _outbound(campaign)
    sent_nos = {r["customer_no"] for r in rows}
    treated = set(
        Recipient.objects.filter(campaign=campaign, group="T").values_list(
            "customer__customer_no", flat=True
        )
    )
    assert sent_nos == treated - {withdrawn.customer_no}
    assert len(rows) == len(sent_nos)  # exactly once each
    for no in ("C00001", "C00051", "C00060"):  # above their level; no SMS consent
        assert no not in sent_nos
    if treated_12:
        m = Message.objects.get(step__campaign=campaign, recipient__customer=withdrawn)
        assert (m.status, m.skip_reason) == (MessageStatus.SKIPPED, "WITHDRAWN")
    row = next(r for r in rows if r["language"] == "zh-hans")
    assert "稳盈理财" in row["text"] and "2.8%" in row["text"] and "王经理" in row["text"]
    assert row["text"].endswith("回复TD退订")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING
    # Sending again sends nothing more.
    assert send_step(campaign.steps.get(number=1).pk)["state"] == "sent"
    assert len(_outbound(campaign)) == len(rows)


def test_quiet_hours_hold_the_send_until_the_morning(bank):
    campaign_rules.cache_clear()
    campaign = sms_campaign(bank)
    step = campaign.steps.get(number=1)
    shanghai = ZoneInfo("Asia/Shanghai")
    late = dt.datetime(2026, 12, 8, 22, 30, tzinfo=shanghai)  # a Tuesday evening
    result = send_step(step.pk, now=late)
    assert result["state"] == "waiting"
    assert result["retry_at"].astimezone(shanghai) == dt.datetime(
        2026, 12, 9, 9, 0, tzinfo=shanghai
    )
    assert (
        not Message.objects.filter(step=step)
        .exclude(status=MessageStatus.PLANNED)
        .exclude(status=MessageStatus.SKIPPED)
        .exists()
    )


def test_the_holiday_calendar_knows_the_adjusted_working_days():
    cal = calendar()
    assert cal.is_working_day(dt.date(2026, 2, 14))  # a Saturday worked before 春节
    assert not cal.is_working_day(dt.date(2026, 2, 16))  # 春节, a Monday
    assert not cal.is_working_day(dt.date(2026, 10, 1))
    assert cal.is_working_day(dt.date(2026, 12, 7))  # an ordinary Monday
    assert not cal.is_working_day(dt.date(2026, 12, 6))  # an ordinary Sunday
    rules = campaign_rules()
    sunday_9 = dt.datetime(2026, 12, 6, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert not cal.allowed(sunday_9, rules)  # rest days open at 10:00
    assert cal.allowed(sunday_9.replace(hour=10), rules)
    # A customer's own do-not-disturb hours (across midnight) hold them too.
    evening = dt.datetime(2026, 12, 7, 19, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert not cal.allowed(evening, rules, dnd=(dt.time(18, 30), dt.time(8, 0)))
    assert cal.allowed(evening, rules, dnd=(dt.time(12, 0), dt.time(13, 0)))


def test_phone_follow_up_reaches_the_cm_work_list_once(bank, any_hour):
    campaign = sms_campaign(
        bank,
        steps=[
            StepData(channel="SMS", templates=[TemplateData("A", "zh-hans", "{product}到了")]),
            StepData(
                channel="PHONE",
                delay_days=3,
                min_aum=Decimal("850000"),
                templates=[TemplateData("A", "zh-hans", "致电介绍{product}")],
            ),
        ],
    )
    send_step(campaign.steps.get(number=1).pk)
    second = campaign.steps.get(number=2)
    send_step(second.pk)
    items = WorkItem.objects.filter(kind=WorkKind.CAMPAIGN_CALL)
    reached = Message.objects.filter(step=second)
    assert items.count() == reached.filter(status=MessageStatus.SENT).count() > 0
    # Only high-value treated recipients who consent to calls, each once, for their manager.
    assert all(i.staff_id == bank.cm.pk for i in items)
    aums = Recipient.objects.filter(messages__step=second).values_list("aum_at_start", flat=True)
    assert min(aums) >= Decimal("850000")
    assert "致电介绍稳盈理财" in items.first().reason
    send_step(second.pk)
    assert WorkItem.objects.filter(kind=WorkKind.CAMPAIGN_CALL).count() == items.count()


def test_delivery_reports_record_replies_and_opt_outs(
    bank, any_hour, tmp_path, django_capture_on_commit_callbacks
):
    campaign = sms_campaign(bank)
    send_step(campaign.steps.get(number=1).pk)
    sent = list(
        Message.objects.filter(step__campaign=campaign, status=MessageStatus.SENT).order_by("pk")
    )
    opted, replied, delivered = sent[0], sent[1], sent[2]
    report = tmp_path / "message_results_20261206.csv"
    report.write_text(
        "message_id,status,at,reply\n"
        f"{delivered.external_id},DELIVERED,2026-12-05T10:00:00,\n"
        f"{replied.external_id},REPLIED,2026-12-05T10:05:00,想了解一下\n"
        f"{opted.external_id},OPTED_OUT,2026-12-05T10:06:00,TD\n"
        "Q999-1-1,DELIVERED,2026-12-05T10:07:00,\n",
        encoding="utf-8",
    )
    # The callbacks that run when the load commits (the tests' transaction never does).
    with django_capture_on_commit_callbacks(execute=True):
        result = ingest_file(report)
    assert result.ok and result.rejected == 1
    assert "is not a message Qiao sent" in result.rejects_file.read_text(encoding="utf-8")
    opted_consent = Consent.objects.get(customer_id=opted.recipient.customer_id, channel="SMS")
    assert opted_consent.state == "WITHDRAWN" and opted_consent.source == "REPLY"
    assert Response.objects.filter(recipient=replied.recipient, kind="REPLIED").exists()
    delivered.refresh_from_db()
    assert delivered.status == MessageStatus.DELIVERED
    # The load measured the campaign: its page shows the reply beside treated vs control.
    campaign.refresh_from_db()
    assert campaign.measured_on == timezone.localdate()
    assert campaign.results["replied"] == 1
    assert campaign.results["treated"]["n"] > 0 and campaign.results["control"]["n"] > 0
    again = ingest_file(report)
    assert again.ok and again.updated == 0


def test_measured_results_compare_treated_and_control(bank, any_hour):
    campaign = sms_campaign(bank)
    send_step(campaign.steps.get(number=1).pk)
    # Two treated customers and one control customer bought the product in the window.
    from tests.factories import make_account

    treated = list(Recipient.objects.filter(campaign=campaign, group="T")[:2])
    control = list(Recipient.objects.filter(campaign=campaign, group="C")[:1])
    for r in treated + control:
        make_account(r.customer, bank.r2, 100_000, open_date=timezone.localdate())
    results = measure_campaign(campaign)
    n_t = Recipient.objects.filter(campaign=campaign, group="T").count()
    n_c = Recipient.objects.filter(campaign=campaign, group="C").count()
    assert results["treated"] == {"n": n_t, "responders": 2, "rate": 2 / n_t}
    assert results["control"] == {"n": n_c, "responders": 1, "rate": 1 / n_c}
    assert results["uplift"] == pytest.approx(2 / n_t - 1 / n_c)
    assert results["ci_low"] < results["uplift"] < results["ci_high"]
    assert results["cost"] == pytest.approx(0.05 * n_t)
    assert Recipient.objects.filter(campaign=campaign, responded_on__isnull=False).count() == 3


def test_a_standing_birthday_campaign_takes_in_the_day_s_cohort_once(bank, any_hour):
    from qiao.campaigns.triggers import campaigns_nightly

    today = timezone.localdate()
    born = [bank.customers[i] for i in (10, 11, 12, 13, 14, 15, 16, 17, 18, 19)]
    for c in born:
        c.birth_date = today.replace(year=1980)
        c.save(update_fields=["birth_date"])
    campaign = sms_campaign(bank, trigger="BIRTHDAY", trigger_days=0)
    assert campaign.seed is not None
    out = campaigns_nightly(today)
    assert out["triggered"][campaign.pk] == len(born)
    recipients = Recipient.objects.filter(campaign=campaign)
    assert set(recipients.values_list("customer_id", flat=True)) == {c.pk for c in born}
    step = campaign.steps.get(number=1)
    assert send_step(step.pk)["state"] == "sent"
    assert Message.objects.filter(step=step, status=MessageStatus.SENT).count() == (
        recipients.filter(group="T").count()
    )
    # The next night brings no one twice.
    assert campaigns_nightly(today)["triggered"][campaign.pk] == 0


def test_a_blacklisted_customer_gets_no_campaign(bank, any_hour):
    from qiao.credit.models import ListEntry

    listed = bank.customers[20]
    ListEntry.objects.create(
        customer=listed, list_kind="BLACK", reason="失信被执行人", status="APPROVED", source="CORE"
    )
    campaign = sms_campaign(bank, exclude_blacklist=False)
    plan_first_step(campaign)
    assert Exclusion.objects.get(campaign=campaign, customer=listed).reason == "BLACKLIST"
    assert not Recipient.objects.filter(campaign=campaign, customer=listed).exists()
