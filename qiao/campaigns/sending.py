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
import functools
import os
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from qiao.core.vocab import CONSENT_CHANNELS
from qiao.customers.consent import consented_ids, preferences_for
from qiao.customers.consent_rules import Pref
from qiao.customers.models import CustomerStanding
from qiao.engagement.models import WorkItem, WorkKind, WorkStatus

from .models import (
    Campaign,
    CampaignStatus,
    Message,
    MessageStatus,
    Step,
)
from .planning import CONSENT_FOR, over_cap, plan_first_step, plan_follow_up
from .rules import Rules, calendar, campaign_rules

FILE_CHANNELS = CONSENT_CHANNELS.having("file")
ITEM_CHANNELS = {"PHONE": WorkKind.CAMPAIGN_CALL, "OUTLET": WorkKind.CAMPAIGN_VISIT}
#: The opt-out line every marketing SMS and WeChat message ends with (PIPL Art. 24: a
#: convenient way to refuse), in the customer's language (translated: 回复TD退订).
OPT_OUT = gettext_noop("Reply TD to opt out")


@functools.lru_cache(maxsize=16)
def opt_out_line(language: str) -> str:
    """The opt-out line in ``language`` (once per language: activating a language per message
    cost a third of a send's time)."""
    with translation.override(language):
        return translation.gettext(OPT_OUT)


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


# ---------------------------------------------------------------------------------- claiming

#: What a batch needs of each message, read in one query (no model objects: a million messages).
_FIELDS = (
    "pk",
    "external_id",
    "recipient__variant",
    "recipient__customer_id",
    "recipient__customer__customer_no",
    "recipient__customer__name",
    "recipient__customer__mobile",
    "recipient__customer__email",
    "recipient__customer__address",
    "recipient__customer__branch__name",
    "recipient__customer__primary_manager_id",
    "recipient__customer__primary_manager__name",
    "recipient__product__name",
    "recipient__product__rate",
)


class Out(NamedTuple):
    pk: int
    external_id: str
    customer_id: int
    customer_no: str
    address: str
    language: str
    text: str
    manager_id: int | None


def _rate(value: Any) -> str:
    return f"{Decimal(value).normalize():f}%" if value is not None else ""


def _claim(
    step: Step,
    rules: Rules,
    now: dt.datetime,
    after_id: int,
    batch: int,
) -> tuple[list[Out], int, dt.datetime | None]:
    """Claim the next batch: ``(claimed messages, last id looked at, earliest deferred)``."""
    cal = calendar()
    candidates = list(
        Message.objects.filter(step=step, status=MessageStatus.PLANNED, pk__gt=after_id)
        .order_by("pk")
        .values_list(*_FIELDS)[: rules.batch_size]
    )
    if not candidates:
        return [], after_id, None
    last_id = candidates[-1][0]
    ids = np.array(sorted({c[3] for c in candidates}), dtype=np.int64)
    prefs = preferences_for(ids)
    consenting = set(consented_ids(CONSENT_FOR[step.channel], ids).tolist())
    capped = set(ids[over_cap(ids, now, rules)].tolist()) if step.number > 1 else set()
    templates = _templates(step)
    deferred: dt.datetime | None = None
    withdrawn: list[int] = []
    at_cap: list[int] = []
    ready: list[Out] = []
    person_or_post = step.channel in ITEM_CHANNELS or step.channel == "POST"
    allowed_by_zone: dict[tuple[str, Any, Any], bool] = {}
    default = Pref()
    for row in candidates:
        pk, ext, variant, customer_id = row[0], row[1], row[2], row[3]
        pref = prefs.get(customer_id) or default
        if customer_id not in consenting:
            withdrawn.append(pk)
            continue
        if customer_id in capped:
            at_cap.append(pk)
            continue
        if not person_or_post:
            key = (pref.time_zone, pref.dnd_start, pref.dnd_end)
            if key not in allowed_by_zone:
                allowed_by_zone[key] = cal.allowed(
                    now, rules, zone=pref.time_zone, dnd=(pref.dnd_start, pref.dnd_end)
                )
            if not allowed_by_zone[key]:
                moment = cal.next_allowed(
                    now, rules, zone=pref.time_zone, dnd=(pref.dnd_start, pref.dnd_end)
                )
                deferred = moment if deferred is None else min(deferred, moment)
                continue
        values = {
            "name": row[5],
            "product": row[12] or "",
            "manager": row[11] or "",
            "outlet": row[9] or "",
            "rate": _rate(row[13]),
        }
        subject, body = render(_template_for(templates, variant, pref.language), values)
        if step.channel in ("SMS", "WECHAT"):
            body = f"{body}{opt_out_line(pref.language)}"
        address = (
            row[7] if step.channel == "EMAIL" else row[8] if step.channel == "POST" else row[6]
        )
        ready.append(
            Out(
                pk=pk,
                external_id=ext,
                customer_id=customer_id,
                customer_no=row[4],
                address=address,
                language=pref.language,
                text=f"{subject}\n{body}" if subject else body,
                manager_id=row[10],
            )
        )
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
            _mark_sending(ready, batch)
    return ready, last_id, deferred


def _mark_sending(ready: Sequence[Out], batch: int) -> None:
    """Claimed messages: *being sent*, with their batch and text — one statement on PostgreSQL
    (the ids and texts as two arrays), an ``executemany`` on SQLite (in-process, as fast)."""
    table = Message._meta.db_table
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                f"UPDATE {table} AS m SET status = %s, batch = %s, text = v.text "  # noqa: S608
                "FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::text[]) AS text) AS v "
                "WHERE m.id = v.id AND m.status = %s",
                [
                    MessageStatus.SENDING,
                    batch,
                    [out.pk for out in ready],
                    [out.text for out in ready],
                    MessageStatus.PLANNED,
                ],
            )
            return
        cur.executemany(
            f"UPDATE {table} SET status = %s, batch = %s, text = %s "  # noqa: S608
            "WHERE id = %s AND status = %s",
            [
                (MessageStatus.SENDING, batch, out.text, out.pk, MessageStatus.PLANNED)
                for out in ready
            ],
        )


def _stored(step: Step, batch: int) -> list[Out]:
    """A batch claimed by a sender that was killed, as it was claimed (texts included)."""
    rows = (
        Message.objects.filter(step=step, batch=batch, status=MessageStatus.SENDING)
        .order_by("pk")
        .values_list(
            "pk",
            "external_id",
            "recipient__customer_id",
            "recipient__customer__customer_no",
            "recipient__customer__mobile",
            "recipient__customer__email",
            "recipient__customer__address",
            "text",
            "recipient__customer__primary_manager_id",
        )
    )
    found = list(rows)
    prefs = preferences_for([r[2] for r in found])
    out = []
    for r in found:
        address = r[5] if step.channel == "EMAIL" else r[6] if step.channel == "POST" else r[4]
        language = (prefs.get(r[2]) or Pref()).language
        out.append(Out(r[0], r[1], r[2], r[3], address, language, r[7], r[8]))
    return out


# -------------------------------------------------------------------------------- delivering


def _deliver_file(step: Step, batch: int, messages: Sequence[Out], now: dt.datetime) -> Path:
    """Write the batch's outbound file (temporary name, fsync, rename: all or nothing)."""
    path = batch_path(step, batch)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.part")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(OUTBOUND_COLUMNS)
        stamp = now.isoformat(timespec="seconds")
        writer.writerows(
            [
                m.external_id,
                step.channel,
                m.customer_no,
                m.address,
                m.language,
                m.text,
                step.campaign_id,
                stamp,
            ]
            for m in messages
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


def _deliver_email(step: Step, messages: Sequence[Out], now: dt.datetime) -> None:
    """One SMTP connection per batch; each message marked sent as soon as the server took it."""
    if not messages:
        return
    connection_ = get_connection()
    connection_.open()
    try:
        for m in messages:
            subject, _sep, body = m.text.partition("\n") if "\n" in m.text else ("", "", m.text)
            mail = EmailMessage(
                subject=subject or step.campaign.name,
                body=body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[m.address],
                headers={
                    "Message-ID": f"<{m.external_id}@qiao>",
                    "List-Unsubscribe": f"<mailto:{settings.DEFAULT_FROM_EMAIL}?subject=TD>",
                    "X-Qiao-Message": m.external_id,
                },
                connection=connection_,
            )
            mail.send()
            Message.objects.filter(pk=m.pk).update(status=MessageStatus.SENT, sent_at=now)
    finally:
        connection_.close()


def _deliver_items(step: Step, messages: Sequence[Out], now: dt.datetime) -> list[int]:
    """Work-list items for the owning customer managers (unique per message); returns the
    messages whose customer has no manager (not sent)."""
    kind = ITEM_CHANNELS[step.channel]
    today = timezone.localdate(now)
    aum = dict(
        CustomerStanding.objects.filter(
            customer_id__in=[m.customer_id for m in messages]
        ).values_list("customer_id", "aum")
    )
    orphans = [m.pk for m in messages if m.manager_id is None]
    items = [
        WorkItem(
            staff_id=m.manager_id,
            customer_id=m.customer_id,
            kind=kind,
            reason_code="CAMPAIGN",
            reason_params={"campaign": step.campaign.name, "script": m.text[:200]},
            reason_text=f"Campaign {step.campaign.name}"[:300],
            value_at_stake=aum.get(m.customer_id, 0),
            due=today,
            list_day=today,
            expires_on=today + dt.timedelta(days=max(step.campaign.window_days, 1)),
            status=WorkStatus.OPEN,
            cause_key=f"CAMPAIGN:{m.external_id}",
        )
        for m in messages
        if m.manager_id is not None
    ]
    WorkItem.objects.bulk_create(items, batch_size=2000, ignore_conflicts=True)
    return orphans


def _finish_batch(step: Step, batch: int, messages: Sequence[Out], now: dt.datetime) -> None:
    if step.channel in FILE_CHANNELS:
        _deliver_file(step, batch, messages, now)
    elif step.channel == "EMAIL":
        _deliver_email(step, messages, now)
    else:
        orphans = _deliver_items(step, messages, now)
        if orphans:
            Message.objects.filter(pk__in=orphans).update(
                status=MessageStatus.SKIPPED, skip_reason="NO_MANAGER", result_at=now
            )
    Message.objects.filter(step=step, batch=batch, status=MessageStatus.SENDING).update(
        status=MessageStatus.SENT, sent_at=now
    )


def _recover(step: Step, now: dt.datetime) -> int:
    """Finish what a killed sender left *being sent* (module docstring)."""
    claimed = Message.objects.filter(step=step, status=MessageStatus.SENDING)
    batches = sorted({b for b in claimed.values_list("batch", flat=True) if b is not None})
    n = 0
    for batch in batches:
        messages = _stored(step, batch)
        _finish_batch(step, batch, messages, now)
        n += len(messages)
    return n


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
            claimed, after_id, later = _claim(step, rules, clock(), after_id, batch)
            if later is not None:
                deferred = later if deferred is None else min(deferred, later)
            if not claimed:
                if not Message.objects.filter(
                    step=step, status=MessageStatus.PLANNED, pk__gt=after_id
                ).exists():
                    break
                continue
            _finish_batch(step, batch, claimed, clock())
            sent += len(claimed)
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
