from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.customers.selectors import (
    customer_get_for_staff,
    customer_portfolio_summary,
    customers_missing_owner,
    reassignment_queue,
)
from qiao.org.http import StaffRequest
from qiao.org.permissions import ASSIGN_CUSTOMERS, staff_has_perm
from qiao.web.customer360 import customer_360


class LoginView(auth_views.LoginView):
    """Django's log-in, with each success and failure in the audit trail (never the password)."""

    template_name = "web/login.html"

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        audit_record(request_or_staff=self.request, action=Action.LOGIN)
        return response

    def form_invalid(self, form: Any) -> HttpResponse:
        audit_record(
            request_or_staff=self.request,
            action=Action.LOGIN_FAILED,
            username=str(self.request.POST.get("username", ""))[:150],
        )
        return super().form_invalid(form)


@login_required
def home(request: StaffRequest) -> HttpResponse:
    staff = request.user
    summary = customer_portfolio_summary(staff=staff)
    context: dict[str, Any] = {"summary": summary}
    if staff_has_perm(staff, ASSIGN_CUSTOMERS):
        context["queue_count"] = reassignment_queue(staff=staff).count()
        context["missing_count"] = customers_missing_owner(staff=staff).count()
    return render(request, "web/home.html", context)


@login_required
@require_GET
def customer_detail(request: StaffRequest, customer_no: str) -> HttpResponse:
    """The Customer 360 (:func:`qiao.web.customer360.customer_360`)."""
    staff = request.user
    customer = customer_get_for_staff(staff=staff, customer_no=customer_no)
    audit_record(request_or_staff=request, action=Action.VIEW, customer_no=customer.customer_no)
    return render(request, "web/customer360.html", customer_360(staff=staff, customer=customer))
