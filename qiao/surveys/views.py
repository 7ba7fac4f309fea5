"""The survey pages (docs/reports.md, "Satisfaction surveys"): results (CSAT and NPS by outlet,
customer manager and month, comments, the e-banking questionnaire's tallies), recording a paper
or phone answer (RECORD_SURVEY_ANSWERS), editing a survey's texts (MANAGE_SURVEYS)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from qiao.core.errors import ApplicationError
from qiao.core.forms import BootstrapMixin
from qiao.customers.selectors import customer_get_for_walk_in
from qiao.org.http import StaffRequest
from qiao.org.models import BANKWIDE_ROLES, OrgUnit
from qiao.org.permissions import (
    MANAGE_SURVEYS,
    RECORD_SURVEY_ANSWERS,
    require_perm,
    staff_has_perm,
)

from .models import Invitation, QuestionKind, Survey
from .report import build_satisfaction
from .selectors import question_tallies
from .services import QUESTION_TEXTS, SURVEY_TEXTS, response_record, survey_update


def _units_for(staff: Any) -> list[tuple[str, str]]:
    qs = OrgUnit.objects.exclude(level="HEAD_OFFICE").order_by("path")
    if staff.unit is not None and staff.role not in BANKWIDE_ROLES:
        qs = qs.filter(path__startswith=staff.unit.path)
    return [("", _("All outlets"))] + [(u.code, u.name) for u in qs[:500]]


class ResultsForm(BootstrapMixin, forms.Form):
    month = forms.CharField(
        label=gettext_lazy("Month"),
        required=False,
        widget=forms.TextInput(attrs={"type": "month"}),
    )
    outlet = forms.ChoiceField(label=gettext_lazy("Outlet"), required=False)
    survey = forms.ChoiceField(label=gettext_lazy("Survey"), required=False)

    def __init__(self, *args: Any, staff: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["outlet"]).choices = _units_for(staff)
        cast(forms.ChoiceField, self.fields["survey"]).choices = [("", _("All surveys"))] + [
            (s.code, s.label) for s in Survey.objects.all()
        ]


@login_required
@require_GET
def results(request: StaffRequest) -> HttpResponse:
    staff = request.user
    form = ResultsForm(request.GET or None, staff=staff)
    params: dict[str, str] = {}
    if form.is_bound and form.is_valid():
        params = {k: str(v) for k, v in form.cleaned_data.items() if v}
    try:
        report = build_satisfaction(staff, params)
    except ApplicationError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        report = build_satisfaction(staff, {})
    context = {
        "form": form,
        "report": report,
        "tallies": question_tallies(staff=staff, survey_code="ebanking"),
        "surveys": Survey.objects.all(),
        "can_manage": staff_has_perm(staff, MANAGE_SURVEYS),
        "can_record": staff_has_perm(staff, RECORD_SURVEY_ANSWERS),
    }
    return render(request, "surveys/results.html", context)


def _question_rows(survey: Survey, data: Any) -> list[dict[str, Any]]:
    rows = []
    for q in survey.questions.all():
        if q.kind == QuestionKind.CHOICE:
            from .models import option_label

            choices = [(o["code"], option_label(o)) for o in q.options]
        else:
            choices = [(str(i), str(i)) for i in (q.scale() or [])]
        rows.append(
            {
                "q": q,
                "choices": choices,
                "value": data.get("q_" + q.code, "") if data else "",
                "is_text": q.kind == QuestionKind.TEXT,
            }
        )
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def answer(request: StaffRequest) -> HttpResponse:
    """Record a paper or phone answer: the survey, the invitation's reference or the customer's
    number (none: an anonymous questionnaire of the recorder's outlet), then the answers."""
    staff = request.user
    require_perm(staff, RECORD_SURVEY_ANSWERS)
    surveys = list(Survey.objects.filter(active=True))
    code = request.POST.get("survey") or request.GET.get("survey") or ""
    survey = next((s for s in surveys if s.code == code), None)
    errors: dict[str, Any] = {}
    data = request.POST if request.method == "POST" else None
    if request.method == "POST" and survey is not None:
        token = request.POST.get("token", "").strip().upper()
        customer_no = request.POST.get("customer_no", "").strip()
        invitation = customer = None
        try:
            if token:
                invitation = (
                    Invitation.objects.select_related("customer").filter(token=token).first()
                )
                if invitation is None:
                    raise ApplicationError(_("No invitation has this reference."), field="token")
                customer_get_for_walk_in(staff=staff, customer_no=invitation.customer.customer_no)
            elif customer_no:
                customer = customer_get_for_walk_in(staff=staff, customer_no=customer_no)
            answered_on = dt.date.fromisoformat(
                request.POST.get("answered_on") or timezone.localdate().isoformat()
            )
            response_record(
                survey=survey,
                answers={
                    q.code: request.POST.get("q_" + q.code, "") for q in survey.questions.all()
                },
                by=staff,
                invitation=invitation,
                customer=customer,
                answered_on=answered_on,
                valid=request.POST.get("valid", "on") == "on",
            )
        except Http404:
            errors["customer_no"] = _("No customer within your reach has this number.")
        except ValueError:
            errors["answered_on"] = _("Give the date as YYYY-MM-DD.")
        except ApplicationError as exc:
            if exc.fields:
                errors.update({k: str(v) for k, v in exc.fields.items()})
            else:
                errors[exc.field or "general"] = str(exc.message)
        if not errors:
            messages.success(request, _("The answer was recorded."))
            return redirect(f"{request.path}?survey={survey.code}")
    context = {
        "surveys": surveys,
        "survey": survey,
        "rows": _question_rows(survey, data) if survey else [],
        "errors": errors,
        "data": data or {},
        "today": timezone.localdate(),
    }
    return render(request, "surveys/answer.html", context, status=400 if errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: StaffRequest, code: str) -> HttpResponse:
    staff = request.user
    require_perm(staff, MANAGE_SURVEYS)
    survey = get_object_or_404(Survey, code=code)
    errors: dict[str, Any] = {}
    if request.method == "POST":
        # Only the fields the form sent change (a field left out stays as it is).
        data: dict[str, Any] = {f: request.POST[f] for f in SURVEY_TEXTS if f in request.POST}
        data["active"] = request.POST.get("active") == "on"
        for q in survey.questions.all():
            for f in QUESTION_TEXTS:
                if f"q{q.pk}_{f}" in request.POST:
                    data[f"q{q.pk}_{f}"] = request.POST[f"q{q.pk}_{f}"]
        try:
            survey_update(survey=survey, data=data, by=staff)
        except ApplicationError as exc:
            errors = {k: str(v) for k, v in (exc.fields or {}).items()}
        else:
            messages.success(request, _("The survey was saved."))
            return redirect("surveys:edit", code=survey.code)
    survey_fields = [
        {
            "name": f,
            "label": str(getattr(Survey._meta.get_field(f), "verbose_name", f)),
            "value": getattr(survey, f),
        }
        for f in SURVEY_TEXTS
    ]
    questions = [
        {
            "q": q,
            "fields": [
                {
                    "name": f"q{q.pk}_{f}",
                    "label": str(getattr(q._meta.get_field(f), "verbose_name", f)),
                    "value": getattr(q, f),
                }
                for f in QUESTION_TEXTS
            ],
        }
        for q in survey.questions.all()
    ]
    context = {
        "survey": survey,
        "survey_fields": survey_fields,
        "questions": questions,
        "errors": errors,
    }
    return render(request, "surveys/edit.html", context, status=400 if errors else 200)
