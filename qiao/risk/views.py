"""Pages: the risk manager's page (/risk/), the key-account list, and the forms that propose,
decide and plan. Thin views: scope through the selectors, writes through the services (which
check the permission and write the audit trail); pages that list customers audit the list."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from qiao.audit.services import audit_list_shown
from qiao.core.choices import choices
from qiao.core.errors import ApplicationError
from qiao.core.vocab import KEY_ACCOUNT_GRADES, KEY_ACCOUNT_ROLES, WARNING_STATES
from qiao.org.http import StaffRequest
from qiao.org.models import Staff
from qiao.org.permissions import (
    APPROVE_KEY_ACCOUNTS,
    CONFIRM_WARNINGS,
    DESIGNATE_KEY_ACCOUNTS,
    require_perm,
    staff_has_perm,
)
from qiao.risk import exitplans, keyaccounts, selectors, warnings
from qiao.risk.models import ExitStep, KeyAccountMember


def _back(request: StaffRequest, default: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(default)


@login_required
def risk_home(request: StaffRequest) -> HttpResponse:
    """For the risk manager (confirms warnings) and the outlet head (their outlet's picture)."""
    staff = request.user
    if not (staff_has_perm(staff, CONFIRM_WARNINGS) or staff_has_perm(staff, APPROVE_KEY_ACCOUNTS)):
        raise PermissionDenied(CONFIRM_WARNINGS)
    ctx = selectors.risk_overview(staff=staff)
    shown = [r["customer"].customer_no for r in ctx["proposals"]]
    shown += [p.customer.customer_no for p in ctx["plans"]]
    audit_list_shown(request_or_staff=request, customer_nos=shown, detail={"page": "risk"})
    ctx["can_confirm"] = staff_has_perm(staff, CONFIRM_WARNINGS)
    ctx["can_plan"] = ctx["can_confirm"] or staff_has_perm(staff, DESIGNATE_KEY_ACCOUNTS)
    return render(request, "risk/home.html", ctx)


@login_required
def key_account_list(request: StaffRequest) -> HttpResponse:
    staff = request.user
    try:
        year = int(request.GET.get("year") or timezone.localdate().year)
    except ValueError:
        year = timezone.localdate().year
    accounts = list(selectors.key_accounts_for(staff=staff, year=year)[:500])
    bank_wide = selectors.risk_scope_q(staff) is None
    audit_list_shown(
        request_or_staff=request,
        customer_nos=[ka.customer.customer_no for ka in accounts],
        detail={"page": "key accounts", "year": year},
    )
    return render(
        request,
        "risk/key_accounts.html",
        {
            "accounts": accounts,
            "year": year,
            # Frozen for the reader's part of the bank (their outlet's list, or the whole bank's).
            "frozen": keyaccounts.year_is_frozen(
                year, path=staff.unit.path if staff.unit and not bank_wide else None
            ),
            "can_propose": staff_has_perm(staff, DESIGNATE_KEY_ACCOUNTS),
            "can_approve": staff_has_perm(staff, APPROVE_KEY_ACCOUNTS),
            # An outlet head freezes their outlet's list; a bank-wide approver the bank's.
            "freeze_unit": staff.unit.name if staff.unit and not bank_wide else "",
            "grades": choices(KEY_ACCOUNT_GRADES),
            "roles": choices(KEY_ACCOUNT_ROLES),
        },
    )


@login_required
@require_POST
def key_account_propose(request: StaffRequest) -> HttpResponse:
    require_perm(request.user, DESIGNATE_KEY_ACCOUNTS)
    customer = selectors.customer_get_for_risk(
        staff=request.user, customer_no=request.POST.get("customer_no", "")
    )
    try:
        keyaccounts.key_account_propose(
            by=request.user,
            customer=customer,
            year=int(request.POST.get("year") or timezone.localdate().year),
            grade=request.POST.get("grade", ""),
            strategic=request.POST.get("strategic") == "on",
            note=request.POST.get("note", ""),
        )
        messages.success(request, _("Proposed; the outlet head decides."))
    except (ApplicationError, ValueError) as exc:
        messages.error(request, str(exc))
    return _back(request, reverse("risk:key_accounts"))


@login_required
@require_POST
def key_account_decide(request: StaffRequest, pk: int) -> HttpResponse:
    require_perm(request.user, APPROVE_KEY_ACCOUNTS)
    ka = selectors.key_account_get_for_staff(staff=request.user, pk=pk)
    try:
        keyaccounts.key_account_decide(
            by=request.user,
            key_account=ka,
            approve=request.POST.get("decision") == "approve",
            note=request.POST.get("note", ""),
        )
    except ApplicationError as exc:
        messages.error(request, str(exc))
    return _back(request, reverse("risk:key_accounts"))


@login_required
@require_POST
def key_account_remove(request: StaffRequest, pk: int) -> HttpResponse:
    require_perm(request.user, DESIGNATE_KEY_ACCOUNTS)
    ka = selectors.key_account_get_for_staff(staff=request.user, pk=pk)
    try:
        keyaccounts.key_account_remove(
            by=request.user, key_account=ka, note=request.POST.get("note", "")
        )
    except ApplicationError as exc:
        messages.error(request, str(exc))
    return _back(request, reverse("risk:key_accounts"))


@login_required
@require_POST
def key_account_team(request: StaffRequest, pk: int) -> HttpResponse:
    """Add a member (by staff number) in a role, or take one off (``remove`` = member id)."""
    require_perm(request.user, DESIGNATE_KEY_ACCOUNTS)
    ka = selectors.key_account_get_for_staff(staff=request.user, pk=pk)
    try:
        if request.POST.get("remove"):
            member = KeyAccountMember.objects.filter(
                key_account=ka, pk=int(request.POST["remove"])
            ).first()
            if member is not None:
                keyaccounts.key_account_member_remove(by=request.user, member=member)
        else:
            staff = Staff.objects.filter(
                username=request.POST.get("username", ""), is_active=True
            ).first()
            if staff is None:
                raise ApplicationError(_("No active member of staff has that staff number."))
            keyaccounts.key_account_member_set(
                by=request.user, key_account=ka, staff=staff, role=request.POST.get("role", "")
            )
    except (ApplicationError, ValueError) as exc:
        messages.error(request, str(exc))
    return _back(request, reverse("risk:key_accounts"))


@login_required
@require_POST
def key_accounts_freeze(request: StaffRequest) -> HttpResponse:
    require_perm(request.user, APPROVE_KEY_ACCOUNTS)
    try:
        keyaccounts.freeze_year(
            by=request.user, year=int(request.POST.get("year") or timezone.localdate().year)
        )
        messages.success(request, _("The list is frozen for the year."))
    except (ApplicationError, ValueError) as exc:
        messages.error(request, str(exc))
    return _back(request, reverse("risk:key_accounts"))


@login_required
@require_POST
def transition_decide(request: StaffRequest, pk: int) -> HttpResponse:
    require_perm(request.user, CONFIRM_WARNINGS)
    t = selectors.transition_get_for_staff(staff=request.user, pk=pk)
    try:
        warnings.warning_decide(
            by=request.user,
            transition=t,
            confirm=request.POST.get("decision") == "confirm",
            note=request.POST.get("note", ""),
        )
    except ApplicationError as exc:
        messages.error(request, str(exc))
    return _back(request, reverse("risk:home"))


@login_required
@require_POST
def warning_propose(request: StaffRequest, customer_no: str) -> HttpResponse:
    customer = selectors.customer_get_for_risk(staff=request.user, customer_no=customer_no)
    if not warnings.may_propose_warning(request.user):
        raise PermissionDenied(warnings.PROPOSE_WARNINGS)
    state = request.POST.get("state", "")
    try:
        if state not in WARNING_STATES:
            raise ApplicationError(_("Choose a warning state."))
        warnings.warning_propose(
            by=request.user, customer=customer, to_state=state, note=request.POST.get("note", "")
        )
        messages.success(request, _("Proposed; a risk manager decides."))
    except ApplicationError as exc:
        messages.error(request, str(exc))
    return _back(request, reverse("customers:detail", args=[customer.customer_no]))


@login_required
@require_POST
def exit_plan_new(request: StaffRequest, customer_no: str) -> HttpResponse:
    customer = selectors.customer_get_for_risk(staff=request.user, customer_no=customer_no)
    if not (
        staff_has_perm(request.user, DESIGNATE_KEY_ACCOUNTS)
        or staff_has_perm(request.user, CONFIRM_WARNINGS)
    ):
        raise PermissionDenied(DESIGNATE_KEY_ACCOUNTS)
    try:
        target_date = dt.date.fromisoformat(request.POST.get("target_date", ""))
        target = Decimal(request.POST.get("target_exposure") or "0")
        exitplans.exit_plan_open(
            by=request.user,
            customer=customer,
            target_date=target_date,
            target_exposure=target,
            note=request.POST.get("note", ""),
        )
        messages.success(request, _("Exit plan opened."))
    except ValueError:
        messages.error(request, _("Give the exit date as YYYY-MM-DD."))
    except InvalidOperation:
        messages.error(request, _("The target exposure must be an amount."))
    except ApplicationError as exc:
        messages.error(request, str(exc))
    return _back(request, reverse("customers:detail", args=[customer.customer_no]))


@login_required
@require_POST
def exit_step_done(request: StaffRequest, pk: int, step_id: int) -> HttpResponse:
    plan = selectors.exit_plan_get_for_staff(staff=request.user, pk=pk)
    step = ExitStep.objects.filter(plan=plan, pk=step_id).select_related("plan__customer").first()
    if step is None:
        from django.http import Http404

        raise Http404("No step matches the given query.")
    try:
        exitplans.exit_step_done(by=request.user, step=step, note=request.POST.get("note", ""))
    except ApplicationError as exc:
        messages.error(request, str(exc))
    return _back(request, reverse("risk:home"))
