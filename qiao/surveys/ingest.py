"""Survey answers loaded by ``qiao ingest`` like every extract (docs/data-interface.md,
"survey_answers"): one row per answer to one question of one questionnaire.

A questionnaire (``questionnaire_no`` within a ``survey``) is loaded whole or not at all: when one
of its rows is wrong (an unknown question, an answer outside the scale or the options, a
date that is not one, a reference that is another survey's) every row of it is rejected, each with its line, column and
reason, and the rest of the file loads. It speaks about the invitation's customer and staff when
``token`` names one, else about ``customer_no``'s primary manager, else it is an anonymous
questionnaire of ``outlet_code`` (seed 002 R7's intercept surveys at the outlets). Loading the
same file twice changes nothing the second time; a corrected file replaces the answers it names.
"""

from __future__ import annotations

from collections import defaultdict
from functools import partial
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from qiao.core import validators as v
from qiao.customers.models import Customer
from qiao.ingest.kinds import Kind
from qiao.ingest.master import Counts, Reject
from qiao.org.models import OrgUnit, Staff

from .models import Answer, Invitation, Question, Response, Source, Survey
from .services import COMMENT_MAX, clean_answer

_cell = partial(v.clean_text, max_length=COMMENT_MAX)

#: The columns a questionnaire's rows are grouped by are checked by the reader; the others are
#: read as text and checked here, per questionnaire, so that one wrong cell rejects the whole
#: questionnaire rather than its row alone.
ROW_RULES: dict[str, Any] = {
    "question": v.clean_code,
    "answered_on": v.clean_past_date,
    "token": v.clean_code,
    "customer_no": v.clean_code,
    "outlet_code": v.clean_code,
    "valid": partial(v.clean_enum, choices=("Y", "N")),
}

SURVEY_ANSWERS = Kind(
    "survey_answers",
    {
        "survey": (True, v.clean_code),
        "questionnaire_no": (True, v.clean_code),
        "question": (True, _cell),
        "answer": (True, _cell),
        "answered_on": (True, _cell),
        "token": (False, _cell),
        "customer_no": (False, _cell),
        "outlet_code": (False, _cell),
        "valid": (False, _cell),
    },
    key=("survey", "questionnaire_no", "question"),
)


def _clean_cells(rows: list[Row]) -> list[Reject]:
    """Each row's cells by their own rule (in place); the rejects of those that fail."""
    rejects = []
    for line, r in rows:
        for col, rule in ROW_RULES.items():
            value = r.get(col)
            if value is None or value == "":
                r[col] = None if col != "question" else ""
                continue
            try:
                r[col] = rule(value)
            except v.FieldError as exc:
                rejects.append(Reject(line, col, str(value), str(exc.reason)))
    return rejects


Row = tuple[int, dict[str, Any]]


def _group_problems(
    rows: list[Row],
    survey: Survey | None,
    questions: dict[str, Question],
    invitations: dict[str, Invitation],
    customers: dict[str, Customer],
    outlets: dict[str, OrgUnit],
) -> tuple[list[Reject], dict[int, tuple[Question, int | None, str, str]]]:
    """The rejects of one questionnaire's rows, and its cleaned answers by question id."""
    rejects: list[Reject] = []
    cleaned: dict[int, tuple[Question, int | None, str, str]] = {}
    first = rows[0][1]
    if survey is None:
        return [
            Reject(line, "survey", r["survey"], _("is not a survey of Qiao")) for line, r in rows
        ], {}
    for line, r in rows:
        # One questionnaire, one set of facts: every row must agree with the first.
        for col in ("answered_on", "token", "customer_no", "outlet_code", "valid"):
            if r.get(col) != first.get(col):
                rejects.append(
                    Reject(
                        line,
                        col,
                        str(r.get(col) or ""),
                        _("differs from the questionnaire's first row"),
                    )
                )
        q = questions.get(r["question"])
        if q is None:
            rejects.append(
                Reject(line, "question", r["question"], _("is not a question of this survey"))
            )
            continue
        if q.pk in cleaned:
            rejects.append(
                Reject(
                    line, "question", r["question"], _("is answered twice in this questionnaire")
                )
            )
            continue
        try:
            number, choice, text = clean_answer(q, r["answer"])
        except v.FieldError as exc:
            rejects.append(Reject(line, "answer", r["answer"], str(exc.reason)))
            continue
        cleaned[q.pk] = (q, number, choice, text)
    line0 = rows[0][0]
    token, customer_no, outlet_code = (
        first.get("token"),
        first.get("customer_no"),
        first.get("outlet_code"),
    )
    if token:
        inv = invitations.get(token)
        if inv is None:
            rejects.append(Reject(line0, "token", token, _("is not an invitation Qiao sent")))
        elif inv.survey_id != survey.pk:
            rejects.append(Reject(line0, "token", token, _("belongs to another survey")))
        elif customer_no and inv.customer.customer_no != customer_no:
            rejects.append(
                Reject(line0, "customer_no", customer_no, _("is not the invitation's customer"))
            )
    if customer_no and customer_no not in customers:
        rejects.append(Reject(line0, "customer_no", customer_no, _("is not a customer of Qiao")))
    if outlet_code and outlet_code not in outlets:
        rejects.append(Reject(line0, "outlet_code", outlet_code, _("is not a unit of Qiao")))
    if not (token or customer_no or outlet_code):
        rejects.append(
            Reject(line0, "outlet_code", "", _("is needed when neither token nor customer_no is"))
        )
    answered = {q.code for q, *_rest in cleaned.values()}
    for q in questions.values():
        if (
            q.required
            and q.code not in answered
            and not any(r.get("question") == q.code for _line, r in rows)
        ):
            rejects.append(Reject(line0, "question", q.code, _("this question needs an answer")))
    return rejects, cleaned


def apply_survey_answers(rows: list[Row], counts: Counts, by: Staff | None) -> None:
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for line, r in rows:
        groups[(r["survey"], r["questionnaire_no"])].append((line, r))
    surveys = {s.code: s for s in Survey.objects.filter(code__in={k[0] for k in groups})}
    questions: dict[int, dict[str, Question]] = defaultdict(dict)
    for q in Question.objects.filter(survey__in=surveys.values()):
        questions[q.survey_id][q.code] = q
    tokens = {r["token"] for _l, r in rows if r.get("token")}
    invitations = {
        i.token: i
        for i in Invitation.objects.filter(token__in=tokens).select_related("customer", "response")
    }
    customers = {
        c.customer_no: c
        for c in Customer.objects.filter(
            customer_no__in={r["customer_no"] for _l, r in rows if r.get("customer_no")}
        ).select_related("primary_manager")
    }
    outlets = {
        u.code: u
        for u in OrgUnit.objects.filter(
            code__in={r["outlet_code"] for _l, r in rows if r.get("outlet_code")}
        )
    }
    existing = {
        (r.survey_id, r.reference): r
        for r in Response.objects.filter(
            survey__in=surveys.values(), reference__in={k[1] for k in groups}
        )
    }
    for (code, number), group in groups.items():
        survey = surveys.get(code)
        cell_rejects = _clean_cells(group)
        if cell_rejects:
            bad = {r.line for r in cell_rejects}
            counts.rejects.extend(cell_rejects)
            counts.rejects.extend(
                Reject(
                    line,
                    "questionnaire_no",
                    number,
                    _("another row of this questionnaire is wrong"),
                )
                for line, _r in group
                if line not in bad
            )
            continue
        rejects, cleaned = _group_problems(
            group,
            survey,
            questions[survey.pk] if survey else {},
            invitations,
            customers,
            outlets,
        )
        if survey is not None and not rejects:
            inv = invitations.get(group[0][1].get("token") or "")
            if inv is not None:
                taken = getattr(inv, "response", None)
                if taken is not None and (taken.reference, taken.survey_id) != (number, survey.pk):
                    rejects.append(
                        Reject(group[0][0], "token", inv.token, _("has already been answered"))
                    )
        if rejects:
            rejected_lines = {r.line for r in rejects}
            counts.rejects.extend(rejects)
            counts.rejects.extend(
                Reject(
                    line,
                    "questionnaire_no",
                    number,
                    _("another row of this questionnaire is wrong"),
                )
                for line, _r in group
                if line not in rejected_lines
            )
            continue
        assert survey is not None
        _write(
            survey, number, group, cleaned, invitations, customers, outlets, existing, counts, by
        )


def _write(
    survey: Survey,
    number: str,
    group: list[Row],
    cleaned: dict[int, tuple[Question, int | None, str, str]],
    invitations: dict[str, Invitation],
    customers: dict[str, Customer],
    outlets: dict[str, OrgUnit],
    existing: dict[tuple[int, str], Response],
    counts: Counts,
    by: Staff | None,
) -> None:
    first = group[0][1]
    inv = invitations.get(first.get("token") or "")
    customer = inv.customer if inv else customers.get(first.get("customer_no") or "")
    outlet = outlets.get(first.get("outlet_code") or "")
    if inv is not None:
        staff, where = inv.staff, outlet or inv.outlet
    elif customer is not None:
        staff, where = customer.primary_manager, outlet or customer.branch
    else:
        staff, where = None, outlet
    fields = {
        "invitation": inv,
        "customer": customer,
        "staff": staff,
        "outlet": where,
        "answered_on": first["answered_on"],
        "valid": first.get("valid", "Y") != "N",
    }
    with transaction.atomic():
        response = existing.get((survey.pk, number))
        if response is None:
            response = Response.objects.create(
                survey=survey, reference=number, source=Source.LOADED, recorded_by=by, **fields
            )
            changed = True
        else:
            changed = False
            for k, val in fields.items():
                if getattr(response, k) != val:
                    setattr(response, k, val)
                    changed = True
            if changed:
                response.save(update_fields=list(fields))
        have = {a.question_id: a for a in response.answers.all()}
        for qid, (q, num, choice, text) in cleaned.items():
            a = have.get(qid)
            if a is None:
                Answer.objects.create(
                    response=response, question=q, number=num, choice=choice, text=text
                )
                changed = True
            elif (a.number, a.choice, a.text) != (num, choice, text):
                a.number, a.choice, a.text = num, choice, text
                a.save(update_fields=["number", "choice", "text"])
                changed = True
    if response.pk and changed and (survey.pk, number) not in existing:
        counts.loaded += len(group)
        existing[(survey.pk, number)] = response
    elif changed:
        counts.updated += len(group)
    else:
        counts.unchanged += len(group)
