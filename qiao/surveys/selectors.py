"""Reads of survey answers: CSAT, NPS and the question tallies (docs/reports.md,
"Satisfaction surveys").

- **CSAT** is the share of answers of 4 or 5 to a survey's 1–5 CSAT question (a fraction 0–1).
- **NPS** is the share of promoters (9–10) minus the share of detractors (0–6) among the answers to
  the 0–10 NPS question, in points from −100 to 100.
- Only valid responses count (a questionnaire marked invalid is kept but left out).

The reader's scope is the customers' (``qiao.customers.selectors``): a response about a customer
counts when the customer is in scope; an anonymous questionnaire of an outlet counts for the
roles that see that outlet's subtree; a customer manager also sees the answers that speak about
them. :func:`satisfaction_by_staff` is not scoped: the scorecards scope their own rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth

from qiao.customers.selectors import customers_visible_to, staff_scope_q
from qiao.org.models import BANKWIDE_ROLES, SUBTREE_ROLES, Staff

from .models import Answer, Measure, Question, QuestionKind, Response, Survey, option_label

__all__ = [
    "SatisfactionScore",
    "question_tallies",
    "responses_visible_to",
    "satisfaction_by",
    "satisfaction_by_staff",
]


@dataclass(frozen=True)
class SatisfactionScore:
    #: share of 4–5 on the CSAT question (0–1); ``None`` without a CSAT answer
    csat: float | None
    #: promoters minus detractors, −100 to 100; ``None`` without an NPS answer
    nps: float | None
    #: valid responses counted
    responses: int
    csat_answers: int = 0
    nps_answers: int = 0


def csat_of(scores: Iterable[int]) -> float | None:
    """CSAT of 1–5 scores: the share of 4 and 5 (the definition, for tests and the docs)."""
    values = list(scores)
    return sum(1 for s in values if s >= 4) / len(values) if values else None


def nps_of(scores: Iterable[int]) -> float | None:
    """NPS of 0–10 scores: % promoters (9–10) − % detractors (0–6)."""
    values = list(scores)
    if not values:
        return None
    return (
        100.0 * (sum(1 for s in values if s >= 9) - sum(1 for s in values if s <= 6)) / len(values)
    )


def responses_visible_to(*, staff: Staff) -> QuerySet[Response]:
    """The responses ``staff`` may read (see the module's docstring)."""
    qs = Response.objects.all()
    if not staff.is_active:
        return qs.none()
    scope = staff_scope_q(staff)
    if scope is None or staff.role in BANKWIDE_ROLES:
        return qs
    allowed = Q(customer__in=customers_visible_to(staff=staff).values("pk"))
    if staff.role in SUBTREE_ROLES and staff.unit is not None:
        allowed |= Q(customer__isnull=True, outlet__path__startswith=staff.unit.path)
    allowed |= Q(staff=staff)
    return qs.filter(allowed)


def _answers(responses: QuerySet[Response]) -> QuerySet[Answer]:
    return Answer.objects.filter(
        response__in=responses.filter(valid=True).values("pk"),
        number__isnull=False,
    )


def satisfaction_by(responses: QuerySet[Response], key: str) -> dict[Any, SatisfactionScore]:
    """CSAT, NPS and responses of ``responses`` grouped by ``key``: a ``Response`` field path
    (``"staff_id"``, ``"outlet_id"``, ``"survey_id"``) or ``"month"`` (the first day of the
    answer's month). Three grouped queries whatever the number of groups."""
    valid = responses.filter(valid=True)
    field = "response__" + key if key != "month" else "_month"
    answers = _answers(responses)
    if key == "month":
        answers = answers.annotate(_month=TruncMonth("response__answered_on"))
        counted = valid.annotate(_month=TruncMonth("answered_on")).values("_month")
        rkey = "_month"
    else:
        counted = valid.values(key)
        rkey = key
    totals: dict[Any, int] = {
        r[rkey]: r["n"]  # type: ignore[literal-required]
        for r in counted.annotate(n=Count("pk")).order_by()
    }
    csat = {
        r[field]: (r["good"], r["n"])
        for r in answers.filter(question__measure=Measure.CSAT)
        .values(field)
        .annotate(n=Count("pk"), good=Count("pk", filter=Q(number__gte=4)))
        .order_by()
    }
    nps = {
        r[field]: (r["pro"], r["det"], r["n"])
        for r in answers.filter(question__measure=Measure.NPS)
        .values(field)
        .annotate(
            n=Count("pk"),
            pro=Count("pk", filter=Q(number__gte=9)),
            det=Count("pk", filter=Q(number__lte=6)),
        )
        .order_by()
    }
    out: dict[Any, SatisfactionScore] = {}
    for k, n in totals.items():
        good, cn = csat.get(k, (0, 0))
        pro, det, nn = nps.get(k, (0, 0, 0))
        out[k] = SatisfactionScore(
            csat=good / cn if cn else None,
            nps=100.0 * (pro - det) / nn if nn else None,
            responses=n,
            csat_answers=cn,
            nps_answers=nn,
        )
    return out


def satisfaction_by_staff(*, start: dt.date, end: dt.date) -> dict[int, SatisfactionScore]:
    """Staff id → CSAT, NPS and responses of the valid answers from ``start`` to ``end``
    (both included) that speak about them (the contact's staff member, the complaint's owner).
    Not scoped: the caller (the scorecards) shows only the staff its reader may see."""
    responses = Response.objects.filter(
        answered_on__gte=start, answered_on__lte=end, staff__isnull=False
    )
    return {int(k): v for k, v in satisfaction_by(responses, "staff_id").items() if k is not None}


def _scale_options(question: Question) -> list[tuple[str, str]]:
    scale = question.scale() or range(0)
    return [(str(i), str(i)) for i in scale]


def question_tallies(*, staff: Staff, survey_code: str) -> list[dict[str, Any]]:
    """Per question of the survey ``survey_code``, in order: ``{"code", "question" (words in the
    reader's language), "kind", "answered", "options": [{"code", "label", "count", "share"}]}``
    over the valid responses ``staff`` may read; ``share`` is of the question's answers (0–1).
    A scale question's options are its points (1–5 or 0–10); free text has none, only
    ``answered``. An unknown survey has no tallies (``[]``)."""
    survey = Survey.objects.filter(code=survey_code).first()
    if survey is None:
        return []
    responses = responses_visible_to(staff=staff).filter(survey=survey, valid=True)
    answers = Answer.objects.filter(response__in=responses.values("pk"))
    by_choice: dict[tuple[int, str], int] = {}
    for r in (
        answers.exclude(choice="")
        .values("question_id", "choice")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        by_choice[(r["question_id"], r["choice"])] = r["n"]
    for s in (
        answers.filter(number__isnull=False)
        .values("question_id", "number")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        by_choice[(s["question_id"], str(s["number"]))] = s["n"]
    answered = {
        r["question_id"]: r["n"]
        for r in answers.exclude(number__isnull=True, choice="", text="")
        .values("question_id")
        .annotate(n=Count("pk"))
        .order_by()
    }
    out: list[dict[str, Any]] = []
    for q in survey.questions.all():
        n = answered.get(q.pk, 0)
        if q.kind == QuestionKind.CHOICE:
            pairs = [(str(o["code"]), option_label(o)) for o in q.options]
        elif q.kind == QuestionKind.TEXT:
            pairs = []
        else:
            pairs = _scale_options(q)
        options = [
            {
                "code": code,
                "label": label,
                "count": by_choice.get((q.pk, code), 0),
                "share": by_choice.get((q.pk, code), 0) / n if n else 0.0,
            }
            for code, label in pairs
        ]
        out.append(
            {
                "code": q.code,
                "question": q.label,
                "kind": q.kind,
                "answered": n,
                "options": options,
            }
        )
    return out
