"""The surveys endpoints of the REST API, mounted on ``qiao.api.api.api``.

- ``GET /api/surveys/results[?month=YYYY-MM&outlet=CODE&survey=CODE]``: CSAT and NPS by outlet,
  customer manager and month over the valid answers in the caller's scope (the "satisfaction"
  report's tables, ``qiao.surveys.report``); staff by name, outlets by name, no customers.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from qiao.org.http import ErrorOut, api_caller

from .report import build_satisfaction

surveys_router = Router(tags=["surveys"])


class ScoreOut(Schema):
    name: str
    outlet: str = ""
    responses: int
    csat: float | None
    nps: float | None


class ResultsOut(Schema):
    month: str | None
    outlet: str | None
    by_outlet: list[ScoreOut]
    by_staff: list[ScoreOut]
    by_month: list[ScoreOut]


class ResultsFilter(Schema):
    month: str | None = Field(None, description="YYYY-MM: the answers of that month.")
    outlet: str | None = Field(None, description="A unit code: the answers of its subtree.")
    survey: str | None = Field(None, description="A survey code.")


def _scores(rows: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [
        {
            "name": str(r[name]),
            "outlet": str(r.get("outlet", "")) if name != "outlet" else "",
            "responses": r["responses"],
            "csat": r["csat"],
            "nps": r["nps"],
        }
        for r in rows
    ]


@surveys_router.get(
    "/surveys/results",
    response={200: ResultsOut, 400: ErrorOut, 422: ErrorOut},
    summary="Customer satisfaction (CSAT, NPS) by outlet, customer manager and month",
)
def survey_results(request: HttpRequest, filters: Query[ResultsFilter]) -> dict[str, Any]:
    params = {k: v for k, v in filters.dict().items() if v}
    report = build_satisfaction(api_caller(request), params, with_comments=False)
    return {
        "month": filters.month,
        "outlet": filters.outlet,
        "by_outlet": _scores(report.table("by_outlet").rows, "outlet"),
        "by_staff": _scores(report.table("by_staff").rows, "staff"),
        "by_month": _scores(report.table("by_month").rows, "month"),
    }
