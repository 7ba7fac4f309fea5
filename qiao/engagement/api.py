"""The engagement API (django-ninja): the caller's work list and logging a contact.

Mount with ``api.add_router("/", engagement_router)`` on ``qiao.api.api.api``; the endpoints take
the caller from the API's authentication (``request.auth`` when it is a staff member) or the
Django session, and apply the same scope as the pages.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from qiao.core.errors import ApplicationError
from qiao.customers.selectors import customer_get_for_staff
from qiao.engagement import selectors, services
from qiao.engagement.models import Channel, WorkItem
from qiao.org.http import ErrorOut
from qiao.org.models import Staff
from qiao.org.permissions import LOG_CONTACT, staff_has_perm


class WorkItemOut(Schema):
    id: int
    customer_no: str | None
    kind: str
    reason: str
    value_at_stake: Decimal
    due: dt.date


class WorklistOut(Schema):
    items: list[WorkItemOut]


class ContactIn(Schema):
    customer_no: str
    channel: Channel
    summary: str = ""
    at: dt.datetime | None = None
    with_outlet_head: bool = False
    step_greeting: bool = False
    step_introduction: bool = False
    step_reason: bool = False
    step_proposal: bool = False
    step_thanks: bool = False
    appointment_at: dt.datetime | None = None
    appointment_place: str = ""
    needs_found: str = ""
    solved_on_spot: str = ""
    escalated: str = ""
    plan_proposed: str = ""
    outcome: str = ""
    next_step: str = ""
    next_step_due: dt.date | None = None
    satisfaction: int | None = Field(None, ge=1, le=5)
    work_item: int | None = None


class ContactOut(Schema):
    id: int
    customer_no: str
    channel: str
    at: dt.datetime
    summary: str
    appointment_at: dt.datetime | None
    task_id: int | None


class ContactLogged(Schema):
    contact: ContactOut
    closed: list[WorkItemOut]
    warnings: list[str]


def _caller(request: HttpRequest) -> Staff:
    auth = getattr(request, "auth", None)
    if isinstance(auth, Staff):
        return auth
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_active:
        return user
    raise HttpError(401, "Unauthorized")


def _item(item: WorkItem) -> dict[str, Any]:
    return {
        "id": item.pk,
        "customer_no": item.customer.customer_no if item.customer is not None else None,
        "kind": item.kind,
        "reason": item.reason,
        "value_at_stake": item.value_at_stake,
        "due": item.due,
    }


def build_router() -> Router:
    """A fresh router (a ninja Router can be mounted on one API only; tests mount their own)."""
    router = Router(tags=["engagement"])

    @router.get("/worklist", response=WorklistOut, summary="The caller's work list")
    def worklist(request: HttpRequest, date: dt.date | None = None) -> dict[str, Any]:
        staff = _caller(request)
        items = selectors.worklist_for_staff(staff=staff, day=date)[:500]
        return {"items": [_item(i) for i in items]}

    @router.post(
        "/contacts",
        response={201: ContactLogged, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
        summary="Log a call, meeting or visit",
    )
    def contacts(request: HttpRequest, payload: ContactIn) -> Status:
        staff = _caller(request)
        if not staff_has_perm(staff, LOG_CONTACT):  # read-only roles: auditors, analysts …
            return Status(403, {"error": _("You do not have permission to do this."), "fields": {}})
        try:
            customer = customer_get_for_staff(staff=staff, customer_no=payload.customer_no)
        except Http404:  # the same answer whether missing or out of scope
            return Status(
                404, {"error": _("Not found."), "fields": {"customer_no": _("Not found.")}}
            )
        data = payload.dict(exclude={"customer_no"}, exclude_none=True)
        try:
            contact, closed, warnings = services.contact_log(
                staff=staff, customer=customer, data=data
            )
        except ApplicationError as exc:
            return Status(exc.status if exc.status in (400, 404) else 400, exc.as_dict())
        task = contact.tasks.first()
        return Status(
            201,
            {
                "contact": {
                    "id": contact.pk,
                    "customer_no": customer.customer_no,
                    "channel": contact.channel,
                    "at": contact.at,
                    "summary": contact.summary,
                    "appointment_at": contact.appointment_at,
                    "task_id": task.pk if task else None,
                },
                "closed": [_item(i) for i in closed],
                "warnings": warnings,
            },
        )

    return router


engagement_router = build_router()
