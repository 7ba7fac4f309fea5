"""Sending a campaign step, idempotent and resumable (docs/campaigns.md, "Sending"; decision 0009).

A step is sent in batches. For each batch the sender

1. **claims** up to ``batch_size`` planned messages whose customers may be reached now (quiet
   hours in the customer's local time, the holiday calendar, their do-not-disturb hours), checking
   again, at that moment, the consent for the channel (a withdrawal since planning wins) and the
   frequency caps: those are marked *not sent* with the reason; the rest are marked *being sent*
   with a batch number and their text — one transaction;
2. **delivers** the batch: SMS and WeChat as one outbound file for the bank's message platform,
   written to a temporary name and renamed into place (atomic); e-mail through Django's e-mail
   backend (SMTP), one message at a time, each with a ``Message-ID`` made from the message's id;
   phone and outlet steps as work-list items for the owning customer manager, with the script;
3. marks the batch *sent* — one transaction — and renews its lease on the step.

A sender killed at any point (``kill -9``) leaves messages *being sent*; the next sender first
finishes them: a file batch whose file exists is marked sent, one whose file is missing is
written again from the stored text (the same file); work-list items are unique per message; an
e-mail being sent when the sender died is the one case that cannot be known from here (the SMTP
server may have accepted it before the kill): it is sent again with the same ``Message-ID``, which
mail systems use to drop the duplicate — at most one such message per killed sender.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone, translation

from qiao.customers.consent import consented_ids, preferences_for
from qiao.customers.consent_rules import Pref
from qiao.customers.models import Customer
from qiao.engagement.models import WorkItem, WorkKind, WorkStatus

from .models import (
    Campaign,
    CampaignStatus,
    Message,
    MessageStatus,
    Recipient,
    Step,
)
from .planning import CONSENT_FOR, over_cap, plan_first_step, plan_follow_up
from .rules import Rules, calendar, campaign_rules

FILE_CHANNELS = ("SMS", "WECHAT", "POST")
ITEM_CHANNELS = {"PHONE": WorkKind.CAMPAIGN_CALL, "OUTLET": WorkKind.CAMPAIGN_VISIT}
#: The opt-out line every marketing SMS and WeChat message ends with (PIPL Art. 24: a
#: convenient way to refuse), in the customer's language.
OPT_OUT = {
    "zh-hans": "回复TD退订",
    "zh-hant": "回覆TD退訂",
    "en": "Reply TD to opt out",
}
#: The columns of an outbound file (docs/data-interface.md, "Outbound message files").
OUTBOUND_COLUMNS = (
    "message_id",
    "channel",
    "customer_no",
    "address",
    "language",
    "text",
    "campaign",
    "not_before",
)


def outbox_dir(channel: str) -> Path:
    return Path(settings.OUTBOX_DIR) / channel.lower()


def batch_path(step: Step, batch: int) -> Path:
    return outbox_dir(step.channel) / (
        f"{step.channel.lower()}_c{step.campaign_id}_s{step.number}_b{batch:05d}.csv"
    )


# ------------------------------------------------------------------------------------ lease


def take_lease(step: Step, now: dt.datetime, rules: Rules) -> bool:
    """Hold the step for ``lease_seconds`` unless another sender holds it (one query)."""
    until = now + dt.timedelta(seconds=rules.lease_seconds)
    won = (
        Step.objects.filter(pk=step.pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=until)
    )
    return bool(won)


def renew_lease(step: Step, rules: Rules) -> None:
    Step.objects.filter(pk=step.pk).update(
        lease_until=timezone.now() + dt.timedelta(seconds=rules.lease_seconds)
    )


def release_lease(step: Step) -> None:
    Step.objects.filter(pk=step.pk).update(lease_until=None)


# -------------------------------------------------------------------------------- rendering


class _Text(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _templates(step: Step) -> dict[tuple[str, str], Any]:
    return {(t.variant, t.language): t for t in step.templates.all()}


def _template_for(templates: dict[tuple[str, str], Any], variant: str, language: str) -> Any:
    for key in ((variant, language), (variant, "zh-hans"), ("A", language), ("A", "zh-hans")):
        if key in templates:
            return templates[key]
    return next(iter(templates.values()), None)


def render(template: Any, values: dict[str, str]) -> tuple[str, str]:
    """``(subject, body)`` with the variables filled in (unknown ones left empty)."""
    if template is None:
        return "", ""
    fill = _Text(values)
    return template.subject.format_map(fill), template.body.format_map(fill)


def _values(customer: Customer, recipient: Recipient, language: str) -> dict[str, str]:
    product = recipient.product
    rate = ""
    if product is not None and product.rate is not None:
        rate = f"{Decimal(product.rate).normalize():f}%"
    manager = customer.primary_manager
    return {
        "name": customer.name,
        "product": product.name if product is not None else "",
        "manager": (manager.name or "") if manager is not None else "",
        "outlet": customer.branch.name if customer.branch_id else "",
        "rate": rate,
    }


# ---------------------------------------------------------------------------------- claiming


def _claim(
    step: Step,
    rules: Rules,
    now: dt.datetime,
    after_id: int,
    batch: int,
) -> tuple[list[int], int, dt.datetime | None]:
    """Claim the next batch: ``(claimed message ids, last id looked at, earliest deferred)``."""
    cal = calendar()
    candidates = list(
        Message.objects.filter(step=step, status=MessageStatus.PLANNED, pk__gt=after_id)
        .order_by("pk")
        .values_list("pk", "recipient__customer_id")[: rules.batch_size]
    )
    if not candidates:
        return [], after_id, None
    last_id = candidates[-1][0]
    ids = np.array(sorted({c for _, c in candidates}), dtype=np.int64)
    prefs = preferences_for(ids)
    consenting = consented_ids(CONSENT_FOR[step.channel], ids)
    capped = ids[over_cap(ids, now, rules)] if step.number > 1 else np.zeros(0, dtype=np.int64)
    deferred: dt.datetime | None = None
    withdrawn: list[int] = []
    at_cap: list[int] = []
    ready: list[int] = []
    for message_id, customer_id in candidates:
        pref: Pref = prefs.get(customer_id) or Pref()
        if not np.isin(customer_id, consenting):
            withdrawn.append(message_id)
            continue
        if capped.size and np.isin(customer_id, capped):
            at_cap.append(message_id)
            continue
        dnd = (pref.dnd_start, pref.dnd_end)
        if step.channel in ITEM_CHANNELS or step.channel == "POST":
            ready.append(message_id)  # a person or the post office chooses the hour
        elif cal.allowed(now, rules, zone=pref.time_zone, dnd=dnd):
            ready.append(message_id)
        else:
            moment = cal.next_allowed(now, rules, zone=pref.time_zone, dnd=dnd)
            deferred = moment if deferred is None else min(deferred, moment)
    with transaction.atomic():
        if withdrawn:
            Message.objects.filter(pk__in=withdrawn, status=MessageStatus.PLANNED).update(
                status=MessageStatus.SKIPPED, skip_reason="WITHDRAWN", result_at=now
            )
        if at_cap:
            Message.objects.filter(pk__in=at_cap, status=MessageStatus.PLANNED).update(
                status=MessageStatus.SKIPPED, skip_reason="CAP", result_at=now
            )
        if ready:
            _fill_texts(step, ready, prefs)
            Message.objects.filter(pk__in=ready, status=MessageStatus.PLANNED).update(
                status=MessageStatus.SENDING, batch=batch
            )
    return ready, last_id, deferred


def _fill_texts(step: Step, message_ids: Sequence[int], prefs: dict[int, Pref]) -> None:
    templates = _templates(step)
    messages = list(
        Message.objects.filter(pk__in=message_ids).select_related(
            "recipient__product",
            "recipient__customer__primary_manager",
            "recipient__customer__branch",
        )
    )
    for m in messages:
        customer = m.recipient.customer
        language = (prefs.get(customer.pk) or Pref()).language
        template = _template_for(templates, m.recipient.variant, language)
        with translation.override(language):
            subject, body = render(template, _values(customer, m.recipient, language))
        if step.channel in ("SMS", "WECHAT"):
            body = f"{body}{OPT_OUT.get(language, OPT_OUT['zh-hans'])}"
        m.text = f"{subject}\n{body}" if subject else body
    Message.objects.bulk_update(messages, ["text"], batch_size=2000)


# -------------------------------------------------------------------------------- delivering


def _address(customer: Customer, channel: str) -> str:
    if channel == "EMAIL":
        return customer.email
    if channel == "POST":
        return customer.address
    return customer.mobile


def _deliver_file(step: Step, batch: int, message_ids: Sequence[int], now: dt.datetime) -> Path:
    """Write the batch's outbound file (temporary name, fsync, rename: all or nothing)."""
    path = batch_path(step, batch)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = (
        Message.objects.filter(pk__in=list(message_ids))
        .order_by("pk")
        .select_related("recipient__customer")
    )
    prefs = preferences_for([m.recipient.customer_id for m in rows])
    tmp = path.with_suffix(".csv.part")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(OUTBOUND_COLUMNS)
        for m in rows:
            customer = m.recipient.customer
            writer.writerow(
                [
                    m.external_id,
                    step.channel,
                    customer.customer_no,
                    _address(customer, step.channel),
                    (prefs.get(customer.pk) or Pref()).language,
                    m.text,
                    step.campaign_id,
                    now.isoformat(timespec="seconds"),
                ]
            )
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return path


def _deliver_email(step: Step, message_ids: Sequence[int], now: dt.datetime) -> None:
    """One SMTP connection per batch; each message marked sent as soon as the server took it."""
    rows = list(
        Message.objects.filter(pk__in=list(message_ids), status=MessageStatus.SENDING)
        .order_by("pk")
        .select_related("recipient__customer")
    )
    if not rows:
        return
    connection = get_connection()
    connection.open()
    try:
        for m in rows:
            subject, _sep, body = m.text.partition("\n") if "\n" in m.text else ("", "", m.text)
            mail = EmailMessage(
                subject=subject or step.campaign.name,
                body=body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[m.recipient.customer.email],
                headers={
                    "Message-ID": f"<{m.external_id}@qiao>",
                    "List-Unsubscribe": f"<mailto:{settings.DEFAULT_FROM_EMAIL}?subject=TD>",
                    "X-Qiao-Message": m.external_id,
                },
                connection=connection,
            )
            mail.send()
            Message.objects.filter(pk=m.pk).update(status=MessageStatus.SENT, sent_at=now)
    finally:
        connection.close()


def _deliver_items(step: Step, message_ids: Sequence[int], now: dt.datetime) -> list[int]:
    """Work-list items for the owning customer managers (unique per message); returns the
    messages whose customer has no manager (not sent)."""
    kind = ITEM_CHANNELS[step.channel]
    today = timezone.localdate(now)
    rows = list(
        Message.objects.filter(pk__in=list(message_ids))
        .select_related("recipient__customer__standing")
        .order_by("pk")
    )
    orphans: list[int] = []
    items = []
    for m in rows:
        customer = m.recipient.customer
        if customer.primary_manager_id is None:
            orphans.append(m.pk)
            continue
        standing = getattr(customer, "standing", None)
        items.append(
            WorkItem(
                staff_id=customer.primary_manager_id,
                customer=customer,
                kind=kind,
                reason_code="CAMPAIGN",
                reason_params={
                    "campaign": step.campaign.name,
                    "script": m.text[:200],
                },
                reason_text=f"Campaign {step.campaign.name}"[:300],
                value_at_stake=standing.aum if standing is not None else 0,
                due=today,
                list_day=today,
                expires_on=today + dt.timedelta(days=max(step.campaign.window_days, 1)),
                status=WorkStatus.OPEN,
                cause_key=f"CAMPAIGN:{m.external_id}",
            )
        )
    try:
        WorkItem.objects.bulk_create(items, batch_size=2000, ignore_conflicts=True)
    except IntegrityError:  # pragma: no cover - ignore_conflicts covers the unique cause
        raise
    return orphans


def _finish_batch(step: Step, batch: int, message_ids: Sequence[int], now: dt.datetime) -> None:
    if step.channel in FILE_CHANNELS:
        _deliver_file(step, batch, message_ids, now)
    elif step.channel == "EMAIL":
        _deliver_email(step, message_ids, now)
    else:
        orphans = _deliver_items(step, message_ids, now)
        if orphans:
            Message.objects.filter(pk__in=orphans).update(
                status=MessageStatus.SKIPPED, skip_reason="NO_MANAGER", result_at=now
            )
    Message.objects.filter(pk__in=list(message_ids), status=MessageStatus.SENDING).update(
        status=MessageStatus.SENT, sent_at=now
    )


def _recover(step: Step, now: dt.datetime) -> int:
    """Finish what a killed sender left *being sent* (module docstring)."""
    left = (
        Message.objects.filter(step=step, status=MessageStatus.SENDING)
        .values_list("batch", "pk")
        .order_by("batch", "pk")
    )
    by_batch: dict[int, list[int]] = {}
    for batch, pk in left:
        by_batch.setdefault(batch or 0, []).append(pk)
    for batch, ids in by_batch.items():
        _finish_batch(step, batch, ids, now)
    return sum(len(v) for v in by_batch.values())


# ------------------------------------------------------------------------------------- send


def send_step(step_id: int, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Send (or resume) one step. Returns what happened and, when customers are in their quiet
    hours, ``retry_at``: the caller (the task) runs again then."""
    rules = campaign_rules()
    fixed = now

    def clock() -> dt.datetime:
        return fixed or timezone.now()

    now = clock()
    step = Step.objects.select_related("campaign").get(pk=step_id)
    campaign = step.campaign
    if campaign.status in (CampaignStatus.STOPPED, CampaignStatus.REFUSED):
        return {"state": "stopped"}
    if campaign.status not in (
        CampaignStatus.APPROVED,
        CampaignStatus.SENDING,
        CampaignStatus.RUNNING,
    ):
        return {"state": "not approved"}
    if step.sent_at is not None:
        return {"state": "sent"}
    if campaign.trigger and step.planned_at is None:
        return {"state": "waiting for its trigger"}
    if not take_lease(step, now, rules):
        return {"state": "busy"}
    try:
        if step.planned_at is None:
            if step.number == 1:
                plan_first_step(campaign, now=now)
            else:
                plan_follow_up(step, now=now)
            step.refresh_from_db()
        Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.APPROVED).update(
            status=CampaignStatus.SENDING
        )
        recovered = _recover(step, now)
        batch = (Message.objects.filter(step=step).aggregate(m=Max("batch"))["m"] or 0) + 1
        after_id, sent, deferred = 0, 0, None
        while True:
            campaign.refresh_from_db(fields=["status"])
            if campaign.status == CampaignStatus.STOPPED:
                return {"state": "stopped", "sent": sent}
            ids, after_id, later = _claim(step, rules, clock(), after_id, batch)
            if later is not None:
                deferred = later if deferred is None else min(deferred, later)
            if not ids:
                if not Message.objects.filter(
                    step=step, status=MessageStatus.PLANNED, pk__gt=after_id
                ).exists():
                    break
                continue
            _finish_batch(step, batch, ids, clock())
            sent += len(ids)
            batch += 1
            renew_lease(step, rules)
        if (
            deferred is not None
            and Message.objects.filter(step=step, status=MessageStatus.PLANNED).exists()
        ):
            return {"state": "waiting", "sent": sent, "recovered": recovered, "retry_at": deferred}
        Step.objects.filter(pk=step.pk).update(sent_at=clock())
        _after_step(campaign)
        return {"state": "sent", "sent": sent, "recovered": recovered}
    finally:
        release_lease(step)


def _after_step(campaign: Campaign) -> None:
    if not campaign.steps.filter(sent_at__isnull=True).exists():
        Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING).update(
            status=CampaignStatus.RUNNING
        )


def next_step_due(campaign: Campaign) -> tuple[Step, dt.datetime] | None:
    """The next follow-up step and when it is due (its delay after the previous step's send)."""
    previous = None
    for step in campaign.steps.order_by("number"):
        if step.sent_at is None:
            if previous is None or previous.sent_at is None:
                return None if previous is not None else (step, timezone.now())
            return step, previous.sent_at + dt.timedelta(days=step.delay_days)
        previous = step
    return None
