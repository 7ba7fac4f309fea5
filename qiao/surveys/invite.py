"""The daily invitation step (docs/reports.md, "Satisfaction surveys"): after the contacts logged
and the complaints resolved on a day, invite each customer once, through a channel they consent
to, at most once in ``interval_days`` (``config/surveys.toml``), and write the invitations to the
outbound files of the bank's message platform, as the campaign sends do
(``OUTBOX_DIR/<channel>/survey_<day>_<time>.csv``).

Rules, in order:

1. a complaint resolved that day comes before a contact (service recovery is what we most want
   to hear about); of several contacts the day's last one is asked about;
2. a customer invited within ``interval_days`` before the day (any survey) is left out;
3. the channel is the first of ``channels`` the customer consents to **now**
   (``qiao.customers.consent.consented_ids``) and has an address for; none — no invitation;
4. a contact or complaint is invited about at most once (a second run of the day adds nothing).

Run by ``qiao worklist`` each morning for the day before;
audited as SURVEY_SEND with the counts.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core import vocab
from qiao.core.csvsafe import csv_safe_row
from qiao.customers.consent import Pref, consented_ids, preferences_for
from qiao.customers.models import Customer
from qiao.engagement.models import Complaint, ComplaintStatus, Contact

from .conf import sending_rules
from .models import Invitation, Purpose, Survey, Trigger, in_language

OUTBOUND_COLUMNS = (
    "message_id",
    "channel",
    "customer_no",
    "address",
    "language",
    "text",
    "survey",
    "created_at",
)


def _day_range(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    return start, start + dt.timedelta(days=1)


def _survey(purpose: str) -> Survey | None:
    return Survey.objects.filter(purpose=purpose, active=True).order_by("code").first()


def _address(customer: Customer, channel: str) -> str:
    if channel in vocab.CONSENT_CHANNELS.having("mobile"):
        return customer.mobile
    if channel == "EMAIL":
        return customer.email
    return customer.address


class _Lang:
    """The invitation's text in the customer's language (the survey's own three texts)."""

    def __init__(self, survey: Survey) -> None:
        self.texts = {
            "en": survey.invitation,
            "zh-hans": survey.invitation_zh_hans or survey.invitation,
            "zh-hant": survey.invitation_zh_hant or survey.invitation,
        }

    def text(self, language: str, token: str) -> str:
        lang = (language or "").lower()
        key = "zh-hant" if lang in ("zh-hant", "zh-tw", "zh-hk") else "zh-hans"
        if lang.startswith("en"):
            key = "en"
        return self.texts[key].replace("{token}", token)


def _write(path: Path, rows: list[list[Any]]) -> None:
    """The outbound file, all or nothing (temporary name, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.part")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(OUTBOUND_COLUMNS)
        writer.writerows(csv_safe_row(r) for r in rows)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def surveys_invite(*, day: dt.date, now: dt.datetime | None = None) -> dict[str, Any]:
    """Invite the customers served on ``day`` (see the module's docstring). Returns the counts:
    ``{"day", "candidates", "invited", "recent", "no_consent", "by_channel", "files"}``."""
    now = now or timezone.now()
    rules = sending_rules()
    start, end = _day_range(day)
    # customer id → (trigger, contact, complaint, survey, staff id)
    wanted: dict[int, tuple[str, Contact | None, Complaint | None, Survey]] = {}
    after_complaint = _survey(Purpose.COMPLAINT)
    after_contact = _survey(Purpose.CONTACT)
    if after_complaint is not None:
        for complaint in (
            Complaint.objects.filter(
                status=ComplaintStatus.RESOLVED, resolved_at__gte=start, resolved_at__lt=end
            )
            .exclude(pk__in=Invitation.objects.filter(complaint__isnull=False).values("complaint"))
            .order_by("resolved_at", "pk")
        ):
            wanted.setdefault(
                complaint.customer_id, (Trigger.COMPLAINT, None, complaint, after_complaint)
            )
    if after_contact is not None:
        for contact in (
            Contact.objects.filter(at__gte=start, at__lt=end)
            .exclude(pk__in=Invitation.objects.filter(contact__isnull=False).values("contact"))
            .order_by("-at", "-pk")
        ):
            wanted.setdefault(contact.customer_id, (Trigger.CONTACT, contact, None, after_contact))
    return _send(wanted, day=day, now=now, rules=rules)


def surveys_invite_customers(
    *,
    survey_code: str,
    customer_ids: Any,
    day: dt.date,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The hook for a campaign that carries a survey (campaigns sit above surveys and may call
    this): invite ``customer_ids`` to the survey ``survey_code`` under the same rules as the
    daily step — consent now, the interval, an address — speaking about each customer's primary
    manager, trigger CAMPAIGN. Same counts as :func:`surveys_invite`; an inactive or unknown
    survey invites nobody. No campaign calls it yet (docs/reports.md)."""
    now = now or timezone.now()
    survey = Survey.objects.filter(code=survey_code, active=True).first()
    wanted: dict[int, tuple[str, Contact | None, Complaint | None, Survey]] = {}
    if survey is not None:
        for cid in np.unique(np.asarray(list(customer_ids), dtype=np.int64)).tolist():
            wanted[int(cid)] = (Trigger.CAMPAIGN, None, None, survey)
    return _send(wanted, day=day, now=now, rules=sending_rules())


def _send(
    wanted: dict[int, tuple[str, Contact | None, Complaint | None, Survey]],
    *,
    day: dt.date,
    now: dt.datetime,
    rules: Any,
) -> dict[str, Any]:
    """Invite the customers of ``wanted`` (customer id → trigger, contact, complaint, survey):
    the interval, consent and address rules, the outbound files, the audit."""
    summary: dict[str, Any] = {
        "day": day.isoformat(),
        "candidates": len(wanted),
        "invited": 0,
        "recent": 0,
        "no_consent": 0,
        "by_channel": {},
        "files": [],
    }
    if not wanted:
        return summary
    since = day - dt.timedelta(days=rules.interval_days)
    recent = set(
        Invitation.objects.filter(
            customer_id__in=list(wanted), sent_on__gt=since, sent_on__lte=day
        ).values_list("customer_id", flat=True)
    )
    summary["recent"] = len(recent)
    ids = np.array(sorted(set(wanted) - recent), dtype=np.int64)
    consenting = {c: set(consented_ids(c, ids).tolist()) for c in rules.channels}
    customers = Customer.objects.select_related("branch").in_bulk(ids.tolist())
    prefs = preferences_for(ids)
    rows_by_channel: dict[str, list[list[Any]]] = {}
    invitations: list[Invitation] = []
    langs: dict[int, _Lang] = {}
    stamp = now.isoformat(timespec="seconds")
    for cid in ids.tolist():
        customer = customers[cid]
        channel = next(
            (c for c in rules.channels if cid in consenting[c] and _address(customer, c)), None
        )
        if channel is None:
            summary["no_consent"] += 1
            continue
        trigger, via_contact, via_complaint, survey = wanted[cid]
        staff_id = (
            via_contact.staff_id
            if via_contact
            else via_complaint.owner_id
            if via_complaint
            else customer.primary_manager_id
        )
        token = "S" + secrets.token_hex(8).upper()
        invitations.append(
            Invitation(
                survey=survey,
                customer_id=cid,
                staff_id=staff_id,
                outlet_id=customer.branch_id,
                trigger=trigger,
                contact=via_contact,
                complaint=via_complaint,
                channel=channel,
                sent_on=day,
                sent_at=now,
                token=token,
            )
        )
        lang = langs.setdefault(survey.pk, _Lang(survey))
        language = (prefs.get(cid) or Pref()).language
        rows_by_channel.setdefault(channel, []).append(
            [
                token,
                channel,
                customer.customer_no,
                _address(customer, channel),
                language,
                lang.text(language, token),
                in_language(survey, "name"),
                stamp,
            ]
        )
    paths: dict[str, Path] = {
        channel: Path(settings.OUTBOX_DIR)
        / channel.lower()
        / f"survey_{day:%Y%m%d}_{now:%H%M%S%f}.csv"
        for channel in rows_by_channel
    }
    for inv in invitations:
        inv.file_name = paths[inv.channel].name
    with transaction.atomic():
        Invitation.objects.bulk_create(invitations, batch_size=2000)
        # The files are written before the invitations commit: a failed write leaves none.
        for channel, rows in rows_by_channel.items():
            _write(paths[channel], rows)
        summary["invited"] = len(invitations)
        summary["by_channel"] = {c: len(r) for c, r in rows_by_channel.items()}
        summary["files"] = [str(p) for p in paths.values()]
        audit_record(
            request_or_staff=None,
            username="system",
            action=Action.SURVEY_SEND,
            detail={
                k: summary[k]
                for k in ("day", "candidates", "invited", "recent", "no_consent", "by_channel")
            },
        )
    return summary
