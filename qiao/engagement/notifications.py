"""The notification area: hand-offs that arrive (issue 13 item 2).

What a customer manager should not miss between two looks at Today — referrals sent to them,
customers assigned to them, complaint deadlines near, large movements — read here and shown on
``/notifications/``; the menu shows how many arrived since they last opened it
(``Staff.notifications_seen_at``). The count is one query over two indexed lookups (work items
by staff and status, ownerships by staff and end date), so the menu can afford it on every page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from qiao.customers.models import Ownership
from qiao.engagement.conf import worklist_setting
from qiao.engagement.models import Complaint, ComplaintStatus, WorkItem, WorkKind, WorkStatus
from qiao.engagement.selectors import _customer_in_scope, referrals_visible_to
from qiao.org.models import Staff
from qiao.org.permissions import WORK_OWN_LIST, staff_has_perm

#: Work-list kinds that are hand-offs or alarms rather than routine cadence.
NOTIFYING_KINDS = (
    WorkKind.REFERRAL,
    WorkKind.COMPLAINT_DUE,
    WorkKind.LARGE_INFLOW,
    WorkKind.LARGE_OUTFLOW,
)
#: Before a first look, "new" means the last week (not every customer of a new CM's book).
FIRST_LOOK = dt.timedelta(days=7)
SHOWN = 50


def _since(staff: Staff) -> dt.datetime:
    return staff.notifications_seen_at or timezone.now() - FIRST_LOOK


#: The menu's badge counts up to this many and then says "99+": every page shows the badge, and
#: a CM handed a whole book (1,250 customers) paid ~5 ms of PostgreSQL on every page to count
#: them all.
BADGE_CAP = 100


def notification_count(*, staff: Staff, cap: int | None = None) -> int:
    """How many hand-offs arrived since ``staff`` last looked, counted up to ``cap`` (``None``:
    all; the menu counts up to :data:`BADGE_CAP`)."""
    if not staff_has_perm(staff, WORK_OWN_LIST):
        return 0
    since = _since(staff)
    items = WorkItem.objects.filter(
        staff=staff, status=WorkStatus.OPEN, kind__in=NOTIFYING_KINDS, created_at__gt=since
    ).values_list("pk")
    assigned = Ownership.objects.filter(
        staff=staff, end_date__isnull=True, created_at__gt=since
    ).values_list("pk")
    # One query: SELECT COUNT(*) FROM (… UNION ALL …), each side on its (staff, …) index.
    both = items.order_by().union(assigned.order_by(), all=True)
    return both.count() if cap is None else len(both[:cap])


@dataclass
class Notifications:
    since: dt.datetime
    referrals: list[Any] = field(default_factory=list)
    assigned: list[Ownership] = field(default_factory=list)
    complaints: list[Complaint] = field(default_factory=list)
    movements: list[WorkItem] = field(default_factory=list)

    @property
    def customer_nos(self) -> list[str]:
        shown = [r.customer for r in self.referrals if r.customer is not None]
        shown += [o.customer for o in self.assigned]
        shown += [c.customer for c in self.complaints]
        shown += [i.customer for i in self.movements if i.customer is not None]
        return [c.customer_no for c in shown]


def notifications_for_staff(*, staff: Staff, day: dt.date | None = None) -> Notifications:
    """Everything the notification page lists for ``staff``, each kind at most :data:`SHOWN`."""
    since = _since(staff)
    out = Notifications(since=since)
    if not staff_has_perm(staff, WORK_OWN_LIST):
        return out
    day = day or timezone.localdate()
    out.referrals = list(
        referrals_visible_to(staff=staff)
        .filter(to_staff=staff, status="NEW")
        .order_by("-created_at")[:SHOWN]
    )
    out.assigned = list(
        Ownership.objects.filter(staff=staff, end_date__isnull=True, created_at__gt=since)
        .filter(_customer_in_scope(staff, nullable=False))
        .select_related("customer", "assigned_by")
        .order_by("-created_at")[:SHOWN]
    )
    warn = day + dt.timedelta(days=int(worklist_setting("complaint_warn_days")))
    out.complaints = list(
        Complaint.objects.filter(owner=staff, deadline__lte=warn)
        .exclude(status=ComplaintStatus.RESOLVED)
        .filter(_customer_in_scope(staff, nullable=False))
        .select_related("customer")
        .order_by("deadline")[:SHOWN]
    )
    out.movements = list(
        WorkItem.objects.filter(
            staff=staff,
            status=WorkStatus.OPEN,
            kind__in=(WorkKind.LARGE_INFLOW, WorkKind.LARGE_OUTFLOW),
        )
        .filter(_customer_in_scope(staff))
        .select_related("customer")
        .order_by("-created_at")[:SHOWN]
    )
    return out


def notifications_mark_seen(*, staff: Staff) -> None:
    """``staff`` looked at their notifications now: the menu's count starts again from zero.

    Not audited: it is the reader's own place in their notifications, not a change to any
    customer or to the bank's records.
    """
    staff.notifications_seen_at = timezone.now()
    staff.save(update_fields=["notifications_seen_at"])
