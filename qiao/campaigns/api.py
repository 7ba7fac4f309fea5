"""The campaigns endpoints of the REST API (docs/api.md, "Campaigns"):

* ``GET /api/campaigns`` — the campaigns the caller reads (``campaigns_visible_to``);
* ``GET /api/campaigns/{id}/results`` — treated against control, the uplift and its 95 %
  interval, incremental AUM, cost and return on spend (404 out of scope, as missing);
* ``GET /api/segments`` — the segments the caller reads, with the count taken when last saved.

Mounted on ``qiao.api.api.api`` with ``api.add_router("/", campaigns_router)``; the same token
and scope as the pages. Codes (aim, status, channels, kind) are the vocabularies' stable codes.
No customer is listed, so nothing is audited as a view.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from qiao.campaigns.models import Campaign
from qiao.campaigns.segments import segments_visible_to
from qiao.campaigns.services import campaign_get_for_staff, campaign_results, campaigns_visible_to
from qiao.org.http import ErrorOut, api_caller

#: The most campaigns one answer lists (newest first).
MAX_ITEMS = 500


class CampaignOut(Schema):
    id: int
    name: str
    aim: str
    status: str
    channels: list[str]
    segment: str
    recipients: int | None
    created_at: dt.datetime


class CampaignList(Schema):
    items: list[CampaignOut]


class GroupOut(Schema):
    n: int
    responders: int


class ResultsOut(Schema):
    treated: GroupOut
    control: GroupOut
    uplift: float | None
    ci_low: float | None
    ci_high: float | None
    incremental_aum: Decimal | None
    cost: Decimal | None
    roi: float | None


class SegmentOut(Schema):
    id: int
    name: str
    kind: str
    count: int | None


class SegmentList(Schema):
    items: list[SegmentOut]


def _group(value: Any) -> dict[str, int]:
    value = value or {}
    return {"n": int(value.get("n") or 0), "responders": int(value.get("responders") or 0)}


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


campaigns_router = Router(tags=["campaigns"])


@campaigns_router.get("/campaigns", response=CampaignList, summary="The campaigns you read")
def campaigns(request: HttpRequest) -> dict[str, Any]:
    qs = (
        campaigns_visible_to(api_caller(request))
        .prefetch_related("steps")
        .order_by("-created_at", "-id")[:MAX_ITEMS]
    )
    return {"items": [_campaign(c) for c in qs]}


def _campaign(c: Campaign) -> dict[str, Any]:
    return {
        "id": c.pk,
        "name": c.name,
        "aim": c.aim,
        "status": c.status,
        "channels": [s.channel for s in sorted(c.steps.all(), key=lambda s: s.number)],
        "segment": c.segment.name,
        "recipients": (c.plan_stats or {}).get("treated"),
        "created_at": c.created_at,
    }


@campaigns_router.get(
    "/campaigns/{campaign_id}/results",
    response={200: ResultsOut, 404: ErrorOut},
    summary="A campaign's measured results (empty groups before the first measurement)",
)
def campaign_results_api(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    campaign = campaign_get_for_staff(staff=api_caller(request), campaign_id=campaign_id)
    results = campaign_results(campaign)
    if not results.get("measured"):
        results = {}
    return {
        "treated": _group(results.get("treated")),
        "control": _group(results.get("control")),
        "uplift": _number(results.get("uplift")),
        "ci_low": _number(results.get("ci_low")),
        "ci_high": _number(results.get("ci_high")),
        "incremental_aum": _money(results.get("incremental_aum")),
        "cost": _money(results.get("cost")),
        "roi": _number(results.get("roi")),
    }


@campaigns_router.get("/segments", response=SegmentList, summary="The segments you read")
def segments(request: HttpRequest) -> dict[str, Any]:
    qs = segments_visible_to(api_caller(request)).order_by("name", "id")[:MAX_ITEMS]
    return {
        "items": [{"id": s.pk, "name": s.name, "kind": s.kind, "count": s.last_count} for s in qs]
    }
