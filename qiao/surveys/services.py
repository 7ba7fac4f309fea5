"""Writes of the surveys app: the built-in surveys, editing a survey, recording an answer
(docs/reports.md, "Satisfaction surveys"). Every write by a person checks its permission and is
audited (SURVEY_EDIT, SURVEY_ANSWER)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core import validators as v
from qiao.core.errors import ApplicationError
from qiao.customers.models import Customer
from qiao.org.models import OrgUnit, Staff
from qiao.org.permissions import MANAGE_SURVEYS, RECORD_SURVEY_ANSWERS, require_perm

from .conf import survey_definitions
from .models import Answer, Invitation, Question, QuestionKind, Response, Source, Survey

COMMENT_MAX = 1000
_BREAKS = re.compile(r"[\r\n\t]+")


# ------------------------------------------------------------------ built-in surveys


def surveys_load_builtin(*, force: bool = False) -> dict[str, int]:
    """Write the surveys of ``qiao/surveys/config``: a new one is created; one already there is
    left as edited on /surveys/ unless ``force`` (its questions are matched by code; a question
    with answers is never deleted). Returns ``{"created", "updated", "kept"}``."""
    summary = {"created": 0, "updated": 0, "kept": 0}
    for d in survey_definitions():
        with transaction.atomic():
            survey = Survey.objects.filter(code=d["code"]).first()
            if survey is not None and not force:
                summary["kept"] += 1
                continue
            fields = {
                "purpose": d["purpose"],
                "name": d["name"]["en"],
                "name_zh_hans": d["name"]["zh_hans"],
                "name_zh_hant": d["name"]["zh_hant"],
                "invitation": d["invitation"]["en"],
                "invitation_zh_hans": d["invitation"]["zh_hans"],
                "invitation_zh_hant": d["invitation"]["zh_hant"],
                "built_in": True,
            }
            if survey is None:
                survey = Survey.objects.create(code=d["code"], **fields)
                summary["created"] += 1
            else:
                for k, val in fields.items():
                    setattr(survey, k, val)
                survey.save()
                summary["updated"] += 1
            for position, q in enumerate(d["questions"], start=1):
                Question.objects.update_or_create(
                    survey=survey,
                    code=q["code"],
                    defaults={
                        "position": position,
                        "kind": q["kind"],
                        "measure": q["measure"],
                        "required": q["required"],
                        "text": q["text"]["en"],
                        "text_zh_hans": q["text"]["zh_hans"],
                        "text_zh_hant": q["text"]["zh_hant"],
                        "options": q["options"],
                    },
                )
    return summary


# ------------------------------------------------------------------ editing


SURVEY_TEXTS = (
    "name",
    "name_zh_hans",
    "name_zh_hant",
    "invitation",
    "invitation_zh_hans",
    "invitation_zh_hant",
)
QUESTION_TEXTS = ("text", "text_zh_hans", "text_zh_hant")


def survey_update(*, survey: Survey, data: Mapping[str, Any], by: Staff) -> Survey:
    """Change a survey's names, invitation texts and whether it is sent (``active``), and its
    questions' texts (``q<id>_text``, ``q<id>_text_zh_hans`` …); codes, kinds and options stay
    (answers refer to them). Audited as SURVEY_EDIT with the fields changed."""
    require_perm(by, MANAGE_SURVEYS)
    errors: dict[str, Any] = {}
    changed: list[str] = []
    values: dict[str, Any] = {}
    for f in SURVEY_TEXTS:
        if f in data:
            try:
                values[f] = v.clean_text(data[f], max_length=300 if "invitation" in f else 200)
            except v.FieldError as exc:
                errors[f] = exc.reason
    if "name" in values and not values["name"]:
        errors["name"] = _("A survey needs a name.")
    for f in ("invitation", "invitation_zh_hans", "invitation_zh_hant"):
        if values.get(f) and "{token}" not in values[f]:
            errors[f] = _("The invitation must keep {token}: the reference the answer quotes.")
    questions = list(survey.questions.all())
    q_values: dict[int, dict[str, str]] = {}
    for q in questions:
        for f in QUESTION_TEXTS:
            key = f"q{q.pk}_{f}"
            if key in data:
                try:
                    q_values.setdefault(q.pk, {})[f] = v.clean_text(data[key], max_length=300)
                except v.FieldError as exc:
                    errors[key] = exc.reason
        if q_values.get(q.pk, {}).get("text") == "":
            errors[f"q{q.pk}_text"] = _("A question needs its text.")
    if errors:
        raise ApplicationError(_("Please correct the marked fields."), fields=errors)
    with transaction.atomic():
        for f, val in values.items():
            if getattr(survey, f) != val:
                setattr(survey, f, val)
                changed.append(f)
        if "active" in data:
            active = bool(data["active"]) and data["active"] not in ("0", "false", "off")
            if survey.active != active:
                survey.active = active
                changed.append("active")
        if changed:
            survey.full_clean()
            survey.save(update_fields=[*changed, "updated_at"])
        for q in questions:
            q_changed = [f for f, val in q_values.get(q.pk, {}).items() if getattr(q, f) != val]
            for f in q_changed:
                setattr(q, f, q_values[q.pk][f])
            if q_changed:
                q.save(update_fields=q_changed)
                changed.extend(f"{q.code}.{f}" for f in q_changed)
        if changed:
            audit_record(
                request_or_staff=by,
                action=Action.SURVEY_EDIT,
                detail={"survey": survey.code, "fields": changed},
            )
    return survey


# ------------------------------------------------------------------ answers


def clean_answer(question: Question, raw: object) -> tuple[int | None, str, str]:
    """One answer as typed or loaded → ``(number, choice, text)``; ``v.FieldError`` naming why.
    An empty answer is ``(None, "", "")`` (the caller checks required questions)."""
    text = "" if raw is None else str(raw).strip()
    if text == "":
        return None, "", ""
    if question.kind in (QuestionKind.SCALE, QuestionKind.NPS):
        scale = question.scale() or range(0)
        number = v.clean_int(text)
        if number not in scale:
            raise v.FieldError(
                _("must be a whole number from %(low)s to %(high)s")
                % {"low": scale[0], "high": scale[-1]}
            )
        return number, "", ""
    if question.kind == QuestionKind.CHOICE:
        code = text.upper()
        if code not in question.option_codes:
            raise v.FieldError(
                _("must be one of %(choices)s") % {"choices": ", ".join(question.option_codes)}
            )
        return None, code, ""
    return None, "", v.clean_text(_BREAKS.sub(" ", text), max_length=COMMENT_MAX)


def clean_answers(
    survey: Survey, raw: Mapping[str, object], *, prefix: str = ""
) -> tuple[dict[int, tuple[Question, int | None, str, str]], dict[str, Any]]:
    """Every question's answer from ``raw`` (keyed by question code): the cleaned answers by
    question id and the errors by ``prefix + code``."""
    cleaned: dict[int, tuple[Question, int | None, str, str]] = {}
    errors: dict[str, Any] = {}
    for q in survey.questions.all():
        try:
            number, choice, text = clean_answer(q, raw.get(q.code))
        except v.FieldError as exc:
            errors[prefix + q.code] = exc.reason
            continue
        if number is None and not choice and not text:
            if q.required:
                errors[prefix + q.code] = _("This question needs an answer.")
            continue
        cleaned[q.pk] = (q, number, choice, text)
    if not cleaned and not errors:
        errors[prefix + "answers"] = _("No question was answered.")
    return cleaned, errors


def write_answers(
    response: Response, cleaned: Mapping[int, tuple[Question, int | None, str, str]]
) -> None:
    Answer.objects.bulk_create(
        [
            Answer(response=response, question=q, number=number, choice=choice, text=text)
            for q, number, choice, text in cleaned.values()
        ]
    )


def response_record(
    *,
    survey: Survey,
    answers: Mapping[str, object],
    by: Staff,
    invitation: Invitation | None = None,
    customer: Customer | None = None,
    outlet: OrgUnit | None = None,
    answered_on: dt.date | None = None,
    valid: bool = True,
) -> Response:
    """A paper or phone answer entered by staff (the CM, the lobby). With an ``invitation`` the
    answer is the invitation's (customer, staff spoken about, outlet); without, it speaks about
    ``customer`` (their primary manager) or, for an anonymous questionnaire, ``outlet`` (the
    recorder's outlet by default). The caller has checked the customer is within reach."""
    require_perm(by, RECORD_SURVEY_ANSWERS)
    if invitation is not None and invitation.survey_id != survey.pk:
        raise ApplicationError(_("This reference belongs to another survey."), field="token")
    if invitation is not None and Response.objects.filter(invitation=invitation).exists():
        raise ApplicationError(_("This invitation has already been answered."), field="token")
    answered_on = answered_on or timezone.localdate()
    if answered_on > timezone.localdate():
        raise ApplicationError(_("An answer cannot be dated in the future."), field="answered_on")
    cleaned, errors = clean_answers(survey, answers)
    if errors:
        raise ApplicationError(_("Please correct the marked answers."), fields=errors)
    if invitation is not None:
        customer = invitation.customer
        staff, where = invitation.staff, invitation.outlet
    elif customer is not None:
        staff, where = customer.primary_manager, outlet or customer.branch
    else:
        staff, where = None, outlet or by.unit
    with transaction.atomic():
        response = Response.objects.create(
            survey=survey,
            invitation=invitation,
            customer=customer,
            staff=staff,
            outlet=where,
            answered_on=answered_on,
            source=Source.ENTERED,
            valid=valid,
            recorded_by=by,
        )
        write_answers(response, cleaned)
        audit_record(
            request_or_staff=by,
            action=Action.SURVEY_ANSWER,
            customer_no=customer.customer_no if customer else "",
            detail={"survey": survey.code, "answers": len(cleaned), "valid": valid},
        )
    return response
