"""The risk-assessment page: a customer manager fills in the questionnaire with the customer, who
signs; the service (qiao.suitability.services.assessment_record) checks and records it.

Served at ``/customers/<no>/assess/`` (routed in qiao/urls.py: the customers app stands below
this one). Only staff with ``org.assess_risk`` open it (403); out of scope is 404, as missing.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core.errors import ApplicationError
from qiao.customers.selectors import customer_get_for_staff
from qiao.org.http import StaffRequest
from qiao.org.permissions import ASSESS_RISK, require_perm
from qiao.suitability.assessment_forms import PREFIX, AssessmentForm
from qiao.suitability.assessments import (
    active_questionnaire,
    age_on,
    is_elderly,
    latest_assessment,
)
from qiao.suitability.services import assessment_record


@login_required
def assessment_new(request: StaffRequest, customer_no: str) -> HttpResponse:
    staff = request.user
    customer = customer_get_for_staff(staff=staff, customer_no=customer_no)
    require_perm(staff, ASSESS_RISK)
    questionnaire = active_questionnaire()
    if request.method == "POST":
        form = AssessmentForm(request.POST, questionnaire=questionnaire)
        if form.is_valid():
            try:
                assessment = assessment_record(
                    customer=customer,
                    by=staff,
                    answers=form.answers(),
                    customer_signed=form.cleaned_data["customer_signed"],
                    qualified_investor=form.cleaned_data["qualified_investor"],
                    qualified_evidence=form.cleaned_data["qualified_evidence"],
                    ip=request.META.get("REMOTE_ADDR"),
                )
            except ApplicationError as exc:
                placed = False
                for name, message in exc.fields.items():
                    if name in form.fields:
                        form.add_error(name, str(message))
                        placed = True
                if not placed:
                    form.add_error(None, str(exc.message))
            else:
                messages.success(
                    request,
                    _("Risk assessment recorded: %(tolerance)s, valid until %(until)s.")
                    % {
                        "tolerance": assessment.get_tolerance_display(),
                        "until": assessment.valid_until.isoformat(),
                    },
                )
                return redirect("customers:detail", customer.customer_no)
    else:
        form = AssessmentForm(questionnaire=questionnaire)
        audit_record(
            request_or_staff=request,
            action=Action.VIEW,
            customer_no=customer.customer_no,
            detail={"page": "assessment"},
        )
    today = timezone.localdate()
    return render(
        request,
        "suitability/assessment_form.html",
        {
            "customer": customer,
            "form": form,
            "questionnaire": questionnaire,
            "prefix": PREFIX,
            "latest": latest_assessment(customer),
            "elderly": is_elderly(customer, today),
            "age": None if customer.is_corporate else age_on(customer.birth_date, today),
            "today": today,
        },
    )
