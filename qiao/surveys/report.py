"""The "satisfaction" report: CSAT and NPS by outlet, customer manager and month, with the
comments (docs/reports.md, "Satisfaction surveys"). The page /surveys/, the reports page, the
API and the workbook all render the :class:`~qiao.core.reports.Report` built here.

Parameters (all optional): ``month`` or ``period`` (``YYYY-MM``: the answers of that month; the trend shows
the twelve months up to it), ``outlet`` (a unit code: answers of that unit's subtree),
``survey`` (a survey code). Unknown values are refused with an ``ApplicationError``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from qiao.audit.services import audit_list_shown
from qiao.core.errors import ApplicationError
from qiao.core.masking import mask_name
from qiao.core.reports import Chart, Column, Report, ReportDef, Table
from qiao.org.models import OrgUnit, Staff

from .models import Answer, Measure, Purpose, Response, Survey
from .selectors import SatisfactionScore, responses_visible_to, satisfaction_by

COMMENTS_SHOWN = 200
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _month(text: str) -> dt.date:
    m = _MONTH.match(text)
    if not m or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2100:
        raise ApplicationError(_("Give the month as YYYY-MM, e.g. 2026-03."), field="month")
    return dt.date(int(m.group(1)), int(m.group(2)), 1)


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def filtered_responses(
    staff: Staff, params: Mapping[str, str]
) -> tuple[QuerySet[Response], dict[str, Any]]:
    """The responses the report counts for ``staff`` and ``params``, and the parameters as
    understood (``month`` a date or ``None``, ``outlet`` a unit or ``None``, ``survey``)."""
    qs = responses_visible_to(staff=staff)
    # ``period`` is the reports page's name for the month (qiao.reports), ``month`` ours.
    wanted = params.get("month") or params.get("period")
    month = _month(wanted) if wanted else None
    outlet = None
    if params.get("outlet"):
        outlet = OrgUnit.objects.filter(code=params["outlet"]).first()
        if outlet is None:
            raise ApplicationError(_("There is no unit with this code."), field="outlet")
        qs = qs.filter(outlet__path__startswith=outlet.path)
    survey = None
    if params.get("survey"):
        survey = Survey.objects.filter(code=params["survey"]).first()
        if survey is None:
            raise ApplicationError(_("There is no survey with this code."), field="survey")
        qs = qs.filter(survey=survey)
    else:
        # The service surveys: the outlets' questionnaires (the e-banking one) are tallied by
        # question, not mixed into the service's CSAT and NPS, unless asked for by name.
        qs = qs.exclude(survey__purpose=Purpose.QUESTIONNAIRE)
    return qs, {"month": month, "outlet": outlet, "survey": survey}


def _unit_name(unit: OrgUnit | None) -> str:
    return unit.name if unit is not None else ""


def _score_row(score: SatisfactionScore) -> dict[str, Any]:
    return {
        "responses": score.responses,
        "csat": score.csat,
        "csat_answers": score.csat_answers,
        "nps": round(score.nps, 1) if score.nps is not None else None,
        "nps_answers": score.nps_answers,
    }


def _score_columns() -> list[Column]:
    return [
        Column("responses", _("Responses"), "int"),
        Column("csat", _("CSAT"), "pct"),
        Column("csat_answers", _("Satisfaction answers"), "int"),
        Column("nps", _("NPS"), "float"),
        Column("nps_answers", _("Recommendation answers"), "int"),
    ]


def build_satisfaction(
    staff: Staff, params: Mapping[str, str], *, with_comments: bool = True
) -> Report:
    """The report for ``staff``; ``with_comments=False`` leaves the comments table empty (and
    nobody listed, so nothing audited): the API's results carry no customers."""
    qs, understood = filtered_responses(staff, params)
    month = understood["month"]
    in_month = qs
    if month is not None:
        in_month = qs.filter(answered_on__gte=month, answered_on__lt=_next_month(month))
    note = _(
        "CSAT: the share of answers of 4 or 5 on the 1–5 satisfaction question. NPS: the share "
        "of 9–10 answers minus the share of 0–6 answers on the 0–10 recommendation question, "
        "in points (−100 to 100). Valid responses only."
    )
    # By outlet
    by_outlet = satisfaction_by(in_month, "outlet_id")
    units = OrgUnit.objects.in_bulk([k for k in by_outlet if k is not None])
    outlet_rows = sorted(
        (
            {"outlet": units[k].name if k in units else _("No outlet"), **_score_row(s)}
            for k, s in by_outlet.items()
        ),
        key=lambda r: (-r["responses"], r["outlet"]),
    )
    # By customer manager
    by_staff = satisfaction_by(in_month, "staff_id")
    people = Staff.objects.select_related("unit").in_bulk([k for k in by_staff if k is not None])
    staff_rows = sorted(
        (
            {
                "staff": people[k].display_name if k in people else _("No one named"),
                "outlet": _unit_name(people[k].unit) if k in people else "",
                **_score_row(s),
            }
            for k, s in by_staff.items()
        ),
        key=lambda r: (-r["responses"], r["staff"]),
    )
    # By month: the twelve months up to the month asked (or this month)
    last = month or timezone.localdate().replace(day=1)
    first = last
    for _i in range(11):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    by_month = satisfaction_by(
        qs.filter(answered_on__gte=first, answered_on__lt=_next_month(last)), "month"
    )
    month_rows = [
        {"month": date_format(k, "YEAR_MONTH_FORMAT"), **_score_row(by_month[k])}
        for k in sorted(by_month)
    ]
    # Comments, newest first (the customers' names masked; the list is audited)
    comments = list(
        Answer.objects.filter(
            response__in=(in_month if with_comments else in_month.none())
            .filter(valid=True)
            .values("pk"),
            question__measure=Measure.COMMENT,
        )
        .exclude(text="")
        .select_related(
            "response__survey", "response__outlet", "response__staff", "response__customer"
        )
        .order_by("-response__answered_on", "-pk")[:COMMENTS_SHOWN]
    )
    scores = {
        (a.response_id): a.number
        for a in Answer.objects.filter(
            response_id__in=[c.response_id for c in comments], question__measure=Measure.CSAT
        )
    }
    comment_rows = []
    shown: list[str] = []
    for a in comments:
        r = a.response
        customer = r.customer
        if customer is not None:
            shown.append(customer.customer_no)
        comment_rows.append(
            {
                "answered_on": r.answered_on,
                "survey": r.survey.label,
                "outlet": r.outlet.name if r.outlet else "",
                "staff": r.staff.display_name if r.staff else "",
                "customer": (
                    customer.name if customer.customer_type == "C" else mask_name(customer.name)
                )
                if customer
                else _("Anonymous"),
                "csat": scores.get(r.pk),
                "comment": a.text,
            }
        )
    if shown:
        audit_list_shown(
            request_or_staff=staff,
            customer_nos=shown,
            detail={"report": "satisfaction", "params": dict(params)},
        )
    tables = [
        Table(
            "by_outlet",
            _("By outlet"),
            [Column("outlet", _("Outlet")), *_score_columns()],
            outlet_rows,
            note,
        ),
        Table(
            "by_staff",
            _("By customer manager"),
            [
                Column("staff", _("Customer manager")),
                Column("outlet", _("Outlet")),
                *_score_columns(),
            ],
            staff_rows,
            note,
        ),
        Table(
            "by_month",
            _("By month"),
            [Column("month", _("Month")), *_score_columns()],
            month_rows,
            note,
        ),
        Table(
            "comments",
            _("Comments"),
            [
                Column("answered_on", _("Answered on"), "date"),
                Column("survey", _("Survey")),
                Column("outlet", _("Outlet")),
                Column("staff", _("Customer manager")),
                Column("customer", _("Customer")),
                Column("csat", _("Satisfaction (1–5)"), "int"),
                Column("comment", _("Comment")),
            ],
            comment_rows,
            _("The newest %(n)s comments.") % {"n": COMMENTS_SHOWN},
        ),
    ]
    charts = [
        Chart("by_outlet", "bar", _("CSAT by outlet"), "outlet", ("csat",)),
        Chart("by_month", "line", _("NPS by month"), "month", ("nps",)),
    ]
    return Report(
        name="satisfaction",
        title=_("Customer satisfaction"),
        tables=tables,
        charts=charts,
        as_of=timezone.localdate(),
        notes=[note],
    )


SATISFACTION = ReportDef(
    name="satisfaction",
    title=lambda: _("Customer satisfaction"),
    build=build_satisfaction,
)
