"""Reading the audit trail (the auditor's search)."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from qiao.audit.models import AuditEvent


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_events_search(
    *,
    username: str = "",
    action: str = "",
    customer_no: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[AuditEvent]:
    """Events matching every given criterion, newest first; dates are local days, both inclusive."""
    qs = AuditEvent.objects.all()
    if username:
        qs = qs.filter(username=username)
    if action:
        qs = qs.filter(action=action)
    if customer_no:
        qs = qs.filter(customer_no=customer_no)
    if date_from:
        qs = qs.filter(at__gte=_day_start(date_from))
    if date_to:
        qs = qs.filter(at__lt=_day_start(date_to + dt.timedelta(days=1)))
    return qs.order_by("-at", "-id")


def audit_reveals_in_last_hour(*, username: str) -> int:
    """Reveals (granted) by ``username`` in the last 60 minutes: the reveal rate limit counts these."""
    since = timezone.now() - dt.timedelta(hours=1)
    return AuditEvent.objects.filter(username=username, action="REVEAL", at__gte=since).count()


def audit_actions_in_last_hour(*, username: str, action: str, exclude_refused: bool = True) -> int:
    """Events of ``action`` by ``username`` in the last 60 minutes (the plain-export requests'
    rate limit counts these, as the reveal limit counts reveals); refusals are not counted."""
    since = timezone.now() - dt.timedelta(hours=1)
    qs = AuditEvent.objects.filter(username=username, action=action, at__gte=since)
    if exclude_refused:
        qs = qs.exclude(detail__has_key="refused")
    return qs.count()
