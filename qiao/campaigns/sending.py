"""Sending a campaign step, idempotent and resumable (docs/campaigns.md, "Sending"; decision 0009).

A step is sent in batches, walking its planned messages in id order. For each batch the sender

1. **reads** up to ``batch_size`` planned messages and decides, at that moment, who may be
   reached: the consent for the channel is checked again (a withdrawal since planning wins) and,
   for a follow-up step, the frequency caps; quiet hours in the customer's local time, the
   holiday calendar and their do-not-disturb hours hold the others back (they stay planned);
2. in one transaction, checks that it still holds the step (its lease), marks the refused ones
   *not sent* with the reason and, for a file channel, records the batch
   (:class:`~qiao.campaigns.models.OutboundBatch`) before its file exists;
3. **delivers** the batch: SMS, WeChat and post as one outbound file for the bank's message
   platform, written to a temporary name, synced and renamed into place (all or nothing); e-mail
   through Django's e-mail backend (SMTP), one message at a time, each with a ``Message-ID``
   made from the message's id and marked sent as soon as the server took it; phone and outlet
   steps as work-list items for the owning customer manager (unique per message);
4. marks the batch's messages *sent* — one statement: the batch's id range when nobody in it
   was held back, else its ids — and the batch written, in one transaction. A file message's
   text is in its file; e-mail and work-list messages keep theirs.

No message is written twice per batch (the earlier design marked each *being sent*, then
*sent*: two rewrites of every row and of all its indexes). A sender killed at any point
(``kill -9``) is resumed from the database and the outbox: a recorded batch whose file is in the
outbox is what the platform has, so its messages are marked sent from the file; one whose file
is missing sent nothing, so its record is dropped and its messages, still planned, go out in a
later batch. Work-list items are unique per message. An e-mail handed to the SMTP server by a
sender killed before it marked it sent is the one case that cannot be known from here: it is
sent again with the same ``Message-ID``, which mail systems use to drop the duplicate — at most
one such message per killed sender.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import os
import secrets
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
    OutboundBatch,
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


class LeaseLost(Exception):
    """Another sender took the step (this one stopped renewing for longer than the lease)."""


def take_lease(step: Step, now: dt.datetime, rules: Rules) -> str | None:
    """Hold the step for ``lease_seconds`` unless another sender holds it (one query); returns
    this sender's token, or ``None``."""
    until = now + dt.timedelta(seconds=rules.lease_seconds)
    holder = secrets.token_hex(8)
    won = (
        Step.objects.filter(pk=step.pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=until, lease_holder=holder)
    )
    return holder if won else None


def renew_lease(step: Step, rules: Rules, holder: str) -> None:
    """Hold the step a while longer, or raise :class:`LeaseLost` if another sender has it. Run
    inside the transaction that records a batch: nothing is written by a sender that lost."""
    kept = Step.objects.filter(pk=step.pk, lease_holder=holder).update(
        lease_until=timezone.now() + dt.timedelta(seconds=rules.lease_seconds)
    )
    if not kept:
        raise LeaseLost


def release_lease(step: Step, holder: str) -> None:
    Step.objects.filter(pk=step.pk, lease_holder=holder).update(lease_until=None, lease_holder="")


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


@functools.lru_cache(maxsize=256)
def _rate(value: Any) -> str:
    """A product's rate as the message shows it (once per rate: a batch names a few products)."""
    return f"{Decimal(value).normalize():f}%" if value is not None else ""


class Claim(NamedTuple):
    """What the sender decided about one batch of planned messages (nothing written yet)."""

    ready: list[Out]
    withdrawn: list[int]
    at_cap: list[int]
    first_id: int
    last_id: int
    deferred: dt.datetime | None
    #: Messages read (ready, refused and held back by quiet hours).
    read: int

    @property
    def held_back(self) -> int:
        return self.read - len(self.ready) - len(self.withdrawn) - len(self.at_cap)


def _claim(step: Step, rules: Rules, now: dt.datetime, after_id: int) -> Claim | None:
    """Read the next batch after ``after_id`` and decide who may be reached now (no writes)."""
    cal = calendar()
    candidates = list(
        Message.objects.filter(step=step, status=MessageStatus.PLANNED, pk__gt=after_id)
        .order_by("pk")
        .values_list(*_FIELDS)[: rules.batch_size]
    )
    if not candidates:
        return None
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
    return Claim(
        ready, withdrawn, at_cap, candidates[0][0], candidates[-1][0], deferred, len(candidates)
    )


def _skip(ids: Sequence[int], reason: str, now: dt.datetime) -> None:
    if ids:
        Message.objects.filter(pk__in=ids, status=MessageStatus.PLANNED).update(
            status=MessageStatus.SKIPPED, skip_reason=reason, result_at=now
        )


def _mark_range_sent(step: Step, claim: Claim, batch: int, now: dt.datetime) -> None:
    """A file batch with nothing held back: its messages are the step's planned ones in the
    batch's id range (the refused were marked before) — one range of the partial index."""
    Message.objects.filter(
        step=step, status=MessageStatus.PLANNED, pk__gte=claim.first_id, pk__lte=claim.last_id
    ).update(status=MessageStatus.SENT, sent_at=now, batch=batch)


def _mark_sent(
    keys: Sequence[Any],
    batch: int | None,
    now: dt.datetime,
    *,
    by: str = "id",
    texts: Sequence[str] | None = None,
) -> None:
    """Planned messages *sent* — one statement on PostgreSQL (the keys, and texts if kept, as
    arrays), an ``executemany`` on SQLite (in-process, as fast). ``keys`` are ids, or external
    ids (``by="external_id"``: a batch recovered from its file). A file message's text is in its
    file; e-mail and work-list messages keep theirs (``texts``)."""
    if not keys:
        return
    table = Message._meta.db_table
    key = {"id": "id", "external_id": "external_id"}[by]
    sets = "status = %s, sent_at = %s, batch = %s"
    head: list[Any] = [MessageStatus.SENT, now, batch]
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            kind = "bigint" if by == "id" else "text"
            # By the key's own unique index (never the step's: the planner would read every
            # planned message of the step to join a batch of them).
            if texts is None:
                cur.execute(
                    f"UPDATE {table} SET {sets} "  # noqa: S608
                    f"WHERE {key} = ANY(%s::{kind}[]) AND status = %s",
                    [*head, list(keys), MessageStatus.PLANNED],
                )
            else:
                cur.execute(
                    f"UPDATE {table} AS m SET {sets}, text = v.text "  # noqa: S608
                    f"FROM unnest(%s::{kind}[], %s::text[]) AS v(k, text) "
                    f"WHERE m.{key} = v.k AND m.status = %s",
                    [*head, list(keys), list(texts), MessageStatus.PLANNED],
                )
            return
        if texts is None:
            cur.executemany(
                f"UPDATE {table} SET {sets} WHERE {key} = %s AND status = %s",  # noqa: S608
                [(*head, k, MessageStatus.PLANNED) for k in keys],
            )
        else:
            cur.executemany(
                f"UPDATE {table} SET {sets}, text = %s "  # noqa: S608
                f"WHERE {key} = %s AND status = %s",
                [(*head, t, k, MessageStatus.PLANNED) for k, t in zip(keys, texts, strict=True)],
            )


# -------------------------------------------------------------------------------- delivering


def _deliver_file(step: Step, batch: int, messages: Sequence[Out], now: dt.datetime) -> Path:
    """Write the batch's outbound file (temporary name, fsync, rename: all or nothing)."""
    path = batch_path(step, batch)
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
            _mark_sent([m.pk], None, now, texts=[m.text])
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


def _send_batch(
    step: Step, claim: Claim, batch: int, holder: str, rules: Rules, now: dt.datetime
) -> int:
    """Record, deliver and mark one batch (module docstring, steps 2–4); returns the number sent."""
    ready = claim.ready
    file_channel = step.channel in FILE_CHANNELS
    with transaction.atomic():
        renew_lease(step, rules, holder)
        _skip(claim.withdrawn, "WITHDRAWN", now)
        _skip(claim.at_cap, "CAP", now)
        if ready and file_channel:
            OutboundBatch.objects.create(
                step=step,
                number=batch,
                first_id=claim.first_id,
                last_id=claim.last_id,
                size=len(ready),
            )
    if not ready:
        return 0
    if step.channel == "EMAIL":
        _deliver_email(step, ready, now)  # marks each message as the server takes it
        return len(ready)
    if file_channel:
        _deliver_file(step, batch, ready, now)
        with transaction.atomic():
            if claim.held_back:
                _mark_sent([m.pk for m in ready], batch, now)
            else:
                _mark_range_sent(step, claim, batch, now)
            OutboundBatch.objects.filter(step=step, number=batch).update(written=True)
        return len(ready)
    orphans = set(_deliver_items(step, ready, now))
    reached = [m for m in ready if m.pk not in orphans]
    with transaction.atomic():
        _skip(sorted(orphans), "NO_MANAGER", now)
        _mark_sent([m.pk for m in reached], None, now, texts=[m.text for m in reached])
    return len(reached)


def _read_batch_file(path: Path) -> tuple[list[str], dt.datetime | None]:
    """The message ids of an outbound file, and when it was released."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    stamp = dt.datetime.fromisoformat(rows[0]["not_before"]) if rows else None
    return [r["message_id"] for r in rows], stamp


def _recover(step: Step, now: dt.datetime) -> int:
    """Finish what a killed sender left (module docstring): each batch recorded but not marked
    written is marked sent from its file, or dropped when its file was never written."""
    n = 0
    for record in OutboundBatch.objects.filter(step=step, written=False).order_by("number"):
        path = batch_path(step, record.number)
        if not path.exists():
            record.delete()  # nothing went out; its messages are still planned
            continue
        external_ids, stamp = _read_batch_file(path)
        with transaction.atomic():
            _mark_sent(external_ids, record.number, stamp or now, by="external_id")
            OutboundBatch.objects.filter(pk=record.pk).update(written=True)
        n += len(external_ids)
    n += _recover_claimed(step, now)
    return n


def _recover_claimed(step: Step, now: dt.datetime) -> int:
    """Messages a sender of the earlier design left *being sent* (before migration 0004): a file
    batch whose file exists went out; anything else is planned again (an e-mail is then sent
    again with the same ``Message-ID``, a work-list item is unique per message)."""
    claimed = Message.objects.filter(step=step, status=MessageStatus.SENDING)
    if not claimed.exists():
        return 0
    n = 0
    if step.channel in FILE_CHANNELS:
        batches = sorted({b for b in claimed.values_list("batch", flat=True) if b is not None})
        for batch in batches:
            path = batch_path(step, batch)
            if path.exists():
                n += claimed.filter(batch=batch).update(status=MessageStatus.SENT, sent_at=now)
    claimed.update(status=MessageStatus.PLANNED, batch=None)
    return n


def _next_batch(step: Step) -> int:
    """The next outbound file's number (after the recorded batches and any older design's)."""
    recorded = OutboundBatch.objects.filter(step=step).aggregate(m=Max("number"))["m"] or 0
    if step.channel not in FILE_CHANNELS:
        return recorded + 1
    older = Message.objects.filter(step=step).aggregate(m=Max("batch"))["m"] or 0
    return max(recorded, older) + 1


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
    holder = take_lease(step, now, rules)
    if holder is None:
        return {"state": "busy"}
    sent = 0
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
        batch = _next_batch(step)
        after_id, deferred = 0, None
        while True:
            campaign.refresh_from_db(fields=["status"])
            if campaign.status == CampaignStatus.STOPPED:
                return {"state": "stopped", "sent": sent}
            claim = _claim(step, rules, clock(), after_id)
            if claim is None:
                break
            after_id = claim.last_id
            if claim.deferred is not None:
                deferred = claim.deferred if deferred is None else min(deferred, claim.deferred)
            sent += _send_batch(step, claim, batch, holder, rules, clock())
            if claim.ready and step.channel in FILE_CHANNELS:
                batch += 1
        if (
            deferred is not None
            and Message.objects.filter(step=step, status=MessageStatus.PLANNED).exists()
        ):
            return {"state": "waiting", "sent": sent, "recovered": recovered, "retry_at": deferred}
        Step.objects.filter(pk=step.pk).update(sent_at=clock())
        _after_step(campaign)
        return {"state": "sent", "sent": sent, "recovered": recovered}
    except LeaseLost:
        return {"state": "busy", "sent": sent}
    finally:
        release_lease(step, holder)


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
