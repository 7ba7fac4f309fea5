"""The early-warning endpoints of the REST API (django-ninja), mounted on ``qiao.api.api.api``
with ``api.add_router("/", risk_router)``: the same token and error shape as the rest.

- ``GET /api/warnings[?state=WATCH][&page=2&page_size=100]``: the customers in the caller's
  scope who are not NORMAL (or in ``state``), each with the reasons of the change that put them
  there, in the caller's language, and since when; a page at a time (as ``/api/customers``:
  ``page`` from 1, ``page_size`` at most :data:`MAX_PAGE_SIZE`, 400 outside), with ``count`` and
  ``next``, the path of the next page (``null`` on the last);
- ``GET /api/groups/{id}/exposure``: a group and every customer connected to it (control,
  guarantee, family links): exposure against the group limit, each member's parts and the links
  (``qiao.credit.exposure.group_exposure``), for a caller who may see at least one of the group's
  own members (404 otherwise, as for a missing group).

Scope as the pages: a CM their customers, a team lead or outlet head their subtree, the risk
manager everyone, a key-account team member their key accounts.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlencode

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from pydantic import field_validator

from qiao.audit.services import audit_list_shown
from qiao.core.errors import ApplicationError
from qiao.core.vocab import WARNING_STATES
from qiao.customers.models import Customer, GroupMembership
from qiao.org.http import ErrorOut, api_caller
from qiao.risk.selectors import risk_scope_q, warnings_list

#: A code of ``qiao.core.vocab.WARNING_STATES`` (NORMAL, WATCH, DOUBTFUL, EXIT).
State = str


class WarningOut(Schema):
    customer_no: str
    state: State
    state_label: str
    reasons: list[str]
    since: dt.date


class WarningList(Schema):
    items: list[WarningOut]
    count: int
    next: str | None


#: The pages of the warning list: as the customer list's (``qiao.api.api``: page from 1 to
#: 1,000,000), larger pages (a risk system reads the whole list, a few thousand at most).
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 1000
PAGE_SIZE = 100


class WarningFilter(Schema):
    state: State | None = None
    page: int = Field(1, description=f"From 1 to {MAX_PAGE:,}.")
    page_size: int = Field(PAGE_SIZE, description=f"From 1 to {MAX_PAGE_SIZE:,}.")

    @field_validator("state")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is not None and value not in WARNING_STATES:
            raise ValueError(f"unknown state {value!r}: one of {', '.join(WARNING_STATES.codes)}")
        return value


class MemberOut(Schema):
    customer_no: str
    in_group: bool
    loans: Decimal
    facilities: Decimal
    guarantees: Decimal
    exposure: Decimal
    share: float


class LinkOut(Schema):
    a: str
    b: str
    kinds: list[str]


class GroupExposureOut(Schema):
    group_id: int
    code: str
    name: str
    as_of: dt.date
    exposure: Decimal
    share: float
    limit: float
    status: Literal["OK", "NEAR", "BREACH"]
    large: bool
    members: list[MemberOut]
    links: list[LinkOut]


def _bounded(value: int, field: str, high: int) -> dict[str, str]:
    """The customer list's bound check and message (qiao.api.api), for a router below it."""
    if 1 <= value <= high:
        return {}
    return {
        field: _("%(field)s must be between %(low)s and %(high)s.")
        % {"field": field, "low": 1, "high": f"{high:,}"}
    }


def _money(value: float) -> Decimal:
    return Decimal(str(round(float(value), 2)))


def build_router() -> Router:
    router = Router(tags=["early warning"])

    @router.get(
        "/warnings",
        response={200: WarningList, 400: ErrorOut, 422: ErrorOut},
        summary="Customers in early warning (正常 → 关注 → 可疑 → 退出) with the reasons",
    )
    def warnings(request: HttpRequest, filters: Query[WarningFilter]) -> dict[str, Any]:
        bounds = {
            **_bounded(filters.page, "page", MAX_PAGE),
            **_bounded(filters.page_size, "page_size", MAX_PAGE_SIZE),
        }
        if bounds:
            raise ApplicationError(_("The filter is not valid."), fields=bounds)
        page, size = filters.page, filters.page_size
        items, count = warnings_list(
            staff=api_caller(request), state=filters.state, page=page, page_size=size
        )
        audit_list_shown(
            request_or_staff=request,
            customer_nos=[i["customer_no"] for i in items],
            detail={"page": "api warnings", "state": filters.state or ""},
        )
        query = {"state": filters.state} if filters.state else {}
        more = page * size < count
        return {
            "items": items,
            "count": count,
            "next": f"/api/warnings?{urlencode({**query, 'page': page + 1, 'page_size': size})}"
            if more
            else None,
        }

    @router.get(
        "/groups/{group_id}/exposure",
        response={200: GroupExposureOut, 404: ErrorOut},
        summary="A group's exposure, added up over its connected members",
    )
    def group_exposure(request: HttpRequest, group_id: int) -> dict[str, Any]:
        from qiao.customers.models import CustomerGroup

        staff = api_caller(request)
        group = CustomerGroup.objects.filter(pk=group_id).first()
        if group is None:
            raise Http404("No group matches the given query.")
        member_ids = list(
            GroupMembership.objects.filter(group=group).values_list("customer_id", flat=True)
        )
        scope = risk_scope_q(staff)
        if scope is not None and not Customer.objects.filter(scope, pk__in=member_ids).exists():
            raise Http404("No group matches the given query.")
        from qiao.credit.exposure import group_exposure as credit_group_exposure

        found = credit_group_exposure(group.pk)
        if found is None:
            raise Http404("No group matches the given query.")
        members = [
            {
                "customer_no": m["customer_no"],
                "in_group": m["in_group"],
                "loans": _money(m["loans"]),
                "facilities": _money(m["facilities"]),
                "guarantees": _money(m["guarantees"]),
                "exposure": _money(m["exposure"]),
                "share": round(float(m["share"]), 6),
            }
            for m in found["members"]
        ]
        audit_list_shown(
            request_or_staff=request,
            customer_nos=[m["customer_no"] for m in members],
            detail={"page": "api group exposure", "group": group.code},
        )
        return {
            "group_id": group.pk,
            "code": group.code,
            "name": group.name,
            "as_of": found["as_of"],
            "exposure": _money(found["exposure"]),
            "share": round(float(found["share"]), 6),
            "limit": float(found["limit"]),
            "status": found["status"],
            "large": bool(found["large"]),
            "members": members,
            "links": found["links"],
        }

    return router


risk_router = build_router()
