"""The performance endpoints of the REST API, mounted on ``qiao.api.api.api`` (docs/api.md,
"Scorecards"):

* ``GET /api/scorecards[?period=YYYY|YYYY-Qn|YYYY-MM]`` — the scorecards the caller may read
  (their own; an outlet head's or team lead's subtree; head office: every CM), as on
  ``/performance/``: score, ranks and each measure's actual, target and share of target.

The same token and scope as the pages. Measure codes are those of docs/reports.md. No customer is
listed, so nothing is audited as a view.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from qiao.analytics.scorecard import MEASURE_CODES
from qiao.org.http import ErrorOut, api_caller

from .reports import period_param
from .selectors import scorecards


class StaffOut(Schema):
    staff_no: str
    name: str
    unit: str


class RankOut(Schema):
    outlet: int | None
    of_outlet: int
    bank: int | None
    of_bank: int


class MeasureOut(Schema):
    actual: float | None
    target: float | None
    attainment: float | None


class ScorecardOut(Schema):
    staff: StaffOut
    score: float | None
    rank: RankOut
    measures: dict[str, MeasureOut]


class ScorecardList(Schema):
    period: str
    as_of: str
    items: list[ScorecardOut]


performance_router = Router(tags=["performance"])


@performance_router.get(
    "/scorecards",
    response={200: ScorecardList, 422: ErrorOut},
    summary="The scorecards you may read, for a period",
)
def scorecards_api(request: HttpRequest, period: str = "") -> Any:
    staff = api_caller(request)
    p = period_param({"period": period}, status=422)
    as_of, cards = scorecards(staff=staff, period=p)
    return {
        "period": p.key,
        "as_of": as_of.isoformat(),
        "items": [
            {
                "staff": {"staff_no": c["staff_no"], "name": c["name"], "unit": c["unit_name"]},
                "score": c["score"],
                "rank": {
                    "outlet": c["rank_unit"],
                    "of_outlet": c["of_unit"],
                    "bank": c["rank_bank"],
                    "of_bank": c["of_bank"],
                },
                "measures": {code: c["measures"][code] for code in MEASURE_CODES},
            }
            for c in cards
        ],
    }
