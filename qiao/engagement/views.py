"""Pages: Today, logging a contact, coverage, prospects, plans, referrals, complaints.

Thin function views: scope through the selectors, writes through the services (which check the
permission and audit); when htmx asks (``request.htmx``) the partial is returned instead of the
full page. A form that writes is refused (403) to whoever may not make the write; every page that
shows a customer's data records a view in the audit trail (one event per page; a list names the
customers it showed).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from qiao.audit.models import Action
from qiao.audit.services import audit_list_shown, audit_record
from qiao.core.errors import ApplicationError
from qiao.core.masking import mask_name
from qiao.core.tiers import tier_label
from qiao.customers.selectors import (
    customer_get_for_staff,
    customer_get_for_walk_in,
    customer_lookup_for_referral,
)
from qiao.engagement import selectors, services
from qiao.engagement.forms import (
    ComplaintForm,
    ComplaintUpdateForm,
    ContactForm,
    ConvertForm,
    PlanForm,
    ProspectForm,
    ProspectReviewForm,
    ReferralForm,
    ReferralStatusForm,
)
from qiao.engagement.models import Channel, CloseReason, PlanStatus, ProspectStatus, WorkKind
from qiao.org.http import StaffRequest
from qiao.org.models import BANKWIDE_ROLES, SUBTREE_ROLES, Role
from qiao.org.permissions import (
    FILE_COMPLAINT,
    LOG_CONTACT,
    MANAGE_PLANS,
    MANAGE_PROSPECTS,
    REFER,
    require_perm,
)


def _apply_error(form: forms.BaseForm, exc: ApplicationError) -> None:
    placed = False
    for name, message in exc.fields.items():
        if name in form.fields:
            form.add_error(name, str(message))
            placed = True
    if not placed:
        form.add_error(None, str(exc.message))


def _audit_view(request: HttpRequest, customer_no: str, page: str) -> None:
    audit_record(
        request_or_staff=request, action=Action.VIEW, customer_no=customer_no, detail={"page": page}
    )


def _audit_list(request: HttpRequest, page: str, customer_nos: list[str]) -> None:
    audit_list_shown(request_or_staff=request, customer_nos=customer_nos, detail={"page": page})


def _day(request: HttpRequest) -> dt.date:
    text = request.GET.get("date")
    if text:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    return timezone.localdate()


# --------------------------------------------------------------------------------------------------
# Today
# --------------------------------------------------------------------------------------------------


@login_required
def today(request: StaffRequest) -> HttpResponse:
    day = _day(request)
    kind = request.GET.get("kind", "")
    if kind not in WorkKind.values:
        kind = ""
    search = request.GET.get("q", "").strip()[:100]
    overdue_only = request.GET.get("overdue") == "1"
    by_kind = request.GET.get("group") == "kind"
    page, rows = selectors.worklist_rows(
        staff=request.user,
        day=day,
        kind=kind,
        search=search,
        overdue_only=overdue_only,
        by_kind=by_kind,
        page=request.GET.get("page"),
    )
    counts = selectors.overdue_counts(
        items=selectors.worklist_for_staff(staff=request.user), day=day
    ).get(request.user.pk)
    tasks = list(selectors.tasks_for_staff(staff=request.user)[:50])
    appointments = list(selectors.appointments_for_staff(staff=request.user, day=day))
    filters = {"kind": kind, "q": search, "overdue": "1" if overdue_only else ""}
    if by_kind:
        filters["group"] = "kind"
    context = {
        "day": day,
        "rows": rows,
        "page": page,
        "page_query": urlencode({k: v for k, v in filters.items() if v}),
        "counts": counts,
        "kind": kind,
        "q": search,
        "overdue_only": overdue_only,
        "by_kind": by_kind,
        "kinds": WorkKind.choices,
        "close_reasons": CloseReason.choices,
        "tasks": tasks,
        "appointments": appointments,
    }
    shown: list[Any] = [*(i for r in rows for i in r.items), *tasks, *appointments]
    _audit_list(request, "today", [o.customer.customer_no for o in shown if o.customer])
    if request.htmx:
        return render(request, "engagement/_worklist.html", context)
    return render(request, "engagement/today.html", context)


@login_required
@require_POST
def item_done(request: StaffRequest, item_id: int) -> HttpResponse:
    """Close an item without a contact; the form says why (``CLOSE_REASONS``)."""
    item = selectors.work_item_get_for_staff(staff=request.user, item_id=item_id)
    try:
        services.work_item_close(
            staff=request.user, item=item, reason=request.POST.get("reason", "")
        )
    except ApplicationError as exc:
        if request.htmx:
            return HttpResponse(str(exc.message), status=exc.status)
        messages.error(request, str(exc.message))
    else:
        if request.htmx:
            return HttpResponse("")
    return redirect("engagement:today")


@login_required
@require_POST
def task_done(request: StaffRequest, task_id: int) -> HttpResponse:
    task = selectors.task_get_for_staff(staff=request.user, task_id=task_id)
    try:
        services.task_complete(staff=request.user, task=task)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    if request.htmx:
        return HttpResponse("")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("engagement:today")
    return redirect(target)


@login_required
def contact_new(request: StaffRequest, customer_no: str) -> HttpResponse:
    customer = customer_get_for_staff(staff=request.user, customer_no=customer_no)
    require_perm(request.user, LOG_CONTACT)
    item_id = request.GET.get("item") or request.POST.get("work_item")
    item = None
    if item_id and str(item_id).isdigit():
        item = selectors.work_item_get_for_staff(staff=request.user, item_id=int(item_id))
        if item.customer_id != customer.pk:
            raise Http404("No work-list item matches the given query.")
    if request.method == "POST":
        form = ContactForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                contact, closed, warnings = services.contact_log(
                    staff=request.user, customer=customer, data=data
                )
            except ApplicationError as exc:
                _apply_error(form, exc)
            else:
                context = {
                    "contact": contact,
                    "closed": closed,
                    "warnings": warnings,
                    "customer": customer,
                }
                if request.htmx:
                    return render(request, "engagement/_contact_logged.html", context)
                for w in warnings:
                    messages.warning(request, w)
                messages.success(
                    request,
                    _("Contact logged; %(n)s work-list item(s) closed.") % {"n": len(closed)},
                )
                return redirect("engagement:today")
    else:
        channel = request.GET.get("channel") or (
            Channel.MEETING
            if item and item.cause_key.split(":")[1:2] in (["MEETING"], ["HEAD_MEETING"])
            else Channel.PHONE
        )
        form = ContactForm(
            initial={
                "channel": channel,
                "at": timezone.localtime().replace(second=0, microsecond=0),
                "work_item": item.pk if item else None,
                "with_outlet_head": bool(item and ":HEAD_MEETING:" in item.cause_key),
            }
        )
    context = {"form": form, "customer": customer, "item": item}
    _audit_view(request, customer.customer_no, "contact form")
    template = "engagement/_contact_form.html" if request.htmx else "engagement/contact_form.html"
    return render(request, template, context)


# --------------------------------------------------------------------------------------------------
# coverage (the outlet head's view)
# --------------------------------------------------------------------------------------------------


@login_required
def coverage(request: StaffRequest) -> HttpResponse:
    day = _day(request)
    rows = selectors.coverage(viewer=request.user, day=day)
    context = {"day": day, "rows": rows, "units": selectors.coverage_by_unit(rows)}
    _audit_list(request, "coverage", [o["customer_no"] for r in rows for o in r.overdue])
    if request.htmx:
        return render(request, "engagement/_coverage_table.html", context)
    return render(request, "engagement/coverage.html", context)


# --------------------------------------------------------------------------------------------------
# prospects
# --------------------------------------------------------------------------------------------------


@login_required
def prospect_board(request: StaffRequest) -> HttpResponse:
    board = selectors.prospect_board(staff=request.user)
    return render(
        request,
        "engagement/prospects.html",
        {
            "board": board,
            "today": timezone.localdate(),
            "columns": [("A", board["A"]), ("B", board["B"]), ("C", board["C"])],
        },
    )


@login_required
def prospect_new(request: StaffRequest) -> HttpResponse:
    require_perm(request.user, MANAGE_PROSPECTS)
    form = ProspectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            prospect = services.prospect_create(owner=request.user, data=form.cleaned_data)
        except ApplicationError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("Prospect card %(n)s created.") % {"n": prospect.number})
            return redirect("engagement:prospect", number=prospect.number)
    return render(request, "engagement/prospect_form.html", {"form": form})


@login_required
def prospect_detail(request: StaffRequest, number: str) -> HttpResponse:
    prospect = selectors.prospect_get_for_staff(staff=request.user, number=number)
    review = ProspectReviewForm(
        initial={
            "expected_value": prospect.expected_value,
            "likelihood": prospect.likelihood,
        }
    )
    convert = ConvertForm()
    if request.method == "POST":
        # The services refuse anyone but the card's owner (PermissionDenied → 403).
        action = request.POST.get("action")
        try:
            if action == "review":
                review = ProspectReviewForm(request.POST)
                if review.is_valid():
                    services.prospect_review(
                        prospect=prospect, by=request.user, **review.cleaned_data
                    )
                    messages.success(
                        request, _("Reviewed; next review on %(d)s.") % {"d": prospect.next_review}
                    )
                    return redirect("engagement:prospect", number=number)
            elif action == "convert":
                convert = ConvertForm(request.POST)
                if convert.is_valid():
                    customer = selectors.customer_for_conversion(
                        staff=request.user, customer_no=convert.cleaned_data["customer_no"]
                    )
                    if customer is None:
                        convert.add_error("customer_no", _("No such customer of your sub-branch."))
                    else:
                        services.prospect_convert(
                            prospect=prospect, customer=customer, by=request.user
                        )
                        messages.success(request, _("The prospect is now a customer."))
                        return redirect("engagement:prospect", number=number)
            elif action == "drop":
                services.prospect_drop(prospect=prospect, by=request.user)
                return redirect("engagement:prospects")
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
    return render(
        request,
        "engagement/prospect_detail.html",
        {
            "prospect": prospect,
            "review": review,
            "convert": convert,
            "history": prospect.grade_history.select_related("by"),
            "active": prospect.status == ProspectStatus.ACTIVE,
            "mine": prospect.owner_id == request.user.pk,
        },
    )


# --------------------------------------------------------------------------------------------------
# plans
# --------------------------------------------------------------------------------------------------


@login_required
def plan_list(request: StaffRequest) -> HttpResponse:
    day = _day(request)
    plans = list(
        selectors.plans_visible_to(staff=request.user).filter(status=PlanStatus.ACTIVE)[:200]
    )
    progress = selectors.plans_progress(plans, day=day)
    _audit_list(request, "plans", [p.customer.customer_no for p in plans if p.customer is not None])
    show_rollup = request.user.role in SUBTREE_ROLES or request.user.role in BANKWIDE_ROLES
    return render(
        request,
        "engagement/plans.html",
        {
            "progress": progress,
            "rollup": selectors.plans_rollup(progress) if show_rollup else None,
            "day": day,
        },
    )


@login_required
def plan_new(request: StaffRequest) -> HttpResponse:
    require_perm(request.user, MANAGE_PLANS)
    form = PlanForm(request.POST or None, staff=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        customer = None
        if data.get("customer_no"):
            customer = customer_get_for_staff(staff=request.user, customer_no=data["customer_no"])
        try:
            plan = services.plan_create(
                owner=request.user,
                data=data,
                customer=customer,
                group=data.get("group"),
                products=data.get("products") or [],
                milestones=data.get("milestones_text") or [],
            )
        except ApplicationError as exc:
            _apply_error(form, exc)
        else:
            return redirect("engagement:plan", plan_id=plan.pk)
    return render(request, "engagement/plan_form.html", {"form": form})


@login_required
def plan_detail(request: StaffRequest, plan_id: int) -> HttpResponse:
    plan = selectors.plan_get_for_staff(staff=request.user, plan_id=plan_id)
    [progress] = selectors.plans_progress([plan], day=_day(request))
    if plan.customer is not None:
        _audit_view(request, plan.customer.customer_no, "plan")
    else:
        _audit_list(
            request,
            "plan",
            list(
                plan.group.customers.filter(pk__in=selectors.plan_customer_ids(plan)).values_list(
                    "customer_no", flat=True
                )
            )
            if plan.group is not None
            else [],
        )
    return render(request, "engagement/plan_detail.html", {"p": progress, "plan": plan})


# --------------------------------------------------------------------------------------------------
# referrals
# --------------------------------------------------------------------------------------------------


@login_required
def referral_list(request: StaffRequest) -> HttpResponse:
    referrals = list(selectors.referrals_visible_to(staff=request.user)[:200])
    for r in referrals:
        # Whom: by name — in full for the receiving manager, masked for the referrer and readers.
        whom = r.customer or r.prospect
        name = whom.name if whom is not None else ""
        r.whom = name if r.to_staff_id == request.user.pk else mask_name(name)  # type: ignore[attr-defined]
    _audit_list(request, "referrals", [r.customer.customer_no for r in referrals if r.customer])
    return render(
        request,
        "engagement/referrals.html",
        {
            "referrals": referrals,
            "credits": selectors.referral_credits(staff=request.user),
            "status_form": ReferralStatusForm(),
        },
    )


def _referral_preview(staff: Any, customer_no: str) -> dict[str, Any] | None:
    """What a referral needs to show about a customer: masked name, tier, manager — nothing else."""
    customer = customer_lookup_for_referral(staff=staff, customer_no=customer_no)
    if customer is None:
        return None
    manager = customer.primary_manager
    return {
        "customer_no": customer.customer_no,
        "name": mask_name(customer.name),
        "tier": tier_label(customer.tier) if customer.tier else "",
        "manager": manager.display_name if manager else None,
        "manager_id": manager.pk if manager else None,
    }


@login_required
def referral_lookup(request: StaffRequest) -> HttpResponse:
    require_perm(request.user, REFER)
    preview = _referral_preview(request.user, request.GET.get("customer_no", "").strip())
    if preview is not None:
        _audit_view(request, preview["customer_no"], "referral lookup")
    return render(request, "engagement/_referral_lookup.html", {"preview": preview})


@login_required
def referral_new(request: StaffRequest) -> HttpResponse:
    require_perm(request.user, REFER)
    form = ReferralForm(
        request.POST or None,
        staff=request.user,
        # From the walk-in page's "Refer": the customer is filled in.
        initial={"customer_no": request.GET.get("customer_no", "")[:40]},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        customer = None
        if data["customer_no"]:
            customer = customer_lookup_for_referral(
                staff=request.user, customer_no=data["customer_no"]
            )
            if customer is None:
                form.add_error("customer_no", _("No such customer at your sub-branch."))
        if not form.errors:
            to_staff = data.get("to_staff") or (customer.primary_manager if customer else None)
            if to_staff is None:
                form.add_error("to_staff", _("This customer has no manager: choose one."))
            else:
                prospect_data = None
                if not customer:
                    prospect_data = {
                        "name": data["prospect_name"],
                        "mobile": data["prospect_mobile"],
                        "kind": data["prospect_kind"] or "PERSON",
                    }
                try:
                    services.referral_create(
                        referrer_staff=request.user,
                        to_staff=to_staff,
                        customer=customer,
                        prospect_data=prospect_data,
                        reason=data["reason"],
                        note=data["note"],
                        amount=data.get("amount"),
                    )
                except ApplicationError as exc:
                    _apply_error(form, exc)
                else:
                    messages.success(
                        request, _("Referral sent to %(cm)s.") % {"cm": to_staff.display_name}
                    )
                    return redirect("engagement:referrals")
    return render(request, "engagement/referral_form.html", {"form": form})


@login_required
@require_POST
def referral_status(request: StaffRequest, referral_id: int) -> HttpResponse:
    referral = selectors.referral_get_for_staff(staff=request.user, referral_id=referral_id)
    form = ReferralStatusForm(request.POST)
    if form.is_valid():
        try:
            services.referral_set_status(
                referral=referral, status=form.cleaned_data["status"], by=request.user
            )
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
    return redirect("engagement:referrals")


# --------------------------------------------------------------------------------------------------
# complaints
# --------------------------------------------------------------------------------------------------


@login_required
def complaint_list(request: StaffRequest) -> HttpResponse:
    complaints = list(selectors.complaints_visible_to(staff=request.user)[:200])
    _audit_list(request, "complaints", [c.customer.customer_no for c in complaints])
    return render(
        request,
        "engagement/complaints.html",
        {
            "complaints": complaints,
            "today": timezone.localdate(),
        },
    )


@login_required
def complaint_new(request: StaffRequest, customer_no: str) -> HttpResponse:
    # The lobby and teller role files for a walk-in customer of its sub-branch (decision 0006).
    customer = customer_get_for_walk_in(staff=request.user, customer_no=customer_no)
    require_perm(request.user, FILE_COMPLAINT)
    walk_in = request.user.role == Role.LOBBY
    form = ComplaintForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            complaint = services.complaint_create(
                customer=customer,
                by=request.user,
                subject=form.cleaned_data["subject"],
                description=form.cleaned_data["description"],
                received_at=form.cleaned_data.get("received_at"),
            )
        except ApplicationError as exc:
            _apply_error(form, exc)
        else:
            if walk_in:  # the lobby reads no customer's complaint: back to the next walk-in
                messages.success(
                    request,
                    _("Complaint recorded; %(cm)s handles it.")
                    % {"cm": complaint.owner.display_name},
                )
                return redirect("engagement:walk_in")
            return redirect("engagement:complaint", complaint_id=complaint.pk)
    _audit_view(request, customer.customer_no, "complaint form")
    name = mask_name(customer.name) if walk_in and customer.customer_type != "C" else customer.name
    return render(
        request,
        "engagement/complaint_form.html",
        {"form": form, "customer": customer, "name": name},
    )


@login_required
def complaint_detail(request: StaffRequest, complaint_id: int) -> HttpResponse:
    complaint = selectors.complaint_get_for_staff(staff=request.user, complaint_id=complaint_id)
    may_handle = services.complaint_may_handle(staff=request.user, complaint=complaint)
    if request.method == "POST" and not may_handle:
        raise PermissionDenied
    form = ComplaintUpdateForm(
        request.POST or None,
        initial={
            "status": complaint.status,
            "resolution": complaint.resolution,
            "service_recovery": complaint.service_recovery,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.complaint_update(complaint=complaint, by=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("Complaint updated."))
            return redirect("engagement:complaint", complaint_id=complaint.pk)
    _audit_view(request, complaint.customer.customer_no, "complaint")
    return render(
        request,
        "engagement/complaint_detail.html",
        {
            "complaint": complaint,
            "form": form if may_handle else None,
            "today": timezone.localdate(),
        },
    )
