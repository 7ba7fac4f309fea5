"""The campaign pages: the list with results, the form (steps and templates), the campaign's page
(plan, progress polled by htmx while sending, results drawn as SVG), the maker–checker actions and
the results workbook.

Thin views: the forms read, :mod:`qiao.campaigns.services` decides (permission, scope, state,
audit). Who reads what is :func:`~qiao.campaigns.services.campaigns_visible_to`'s: out of scope
is missing (404); a write without the permission is 403 (docs/campaigns.md, "Pages").
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from qiao.campaigns import charts
from qiao.campaigns.excel import results_workbook_export
from qiao.campaigns.forms import (
    MAX_STEPS,
    TEMPLATE_VARIABLES,
    ApproveForm,
    CampaignFilterForm,
    CampaignForm,
    RefuseForm,
)
from qiao.campaigns.models import Campaign, CampaignStatus
from qiao.campaigns.segments import segments_visible_to
from qiao.campaigns.services import (
    campaign_approve,
    campaign_get_for_staff,
    campaign_progress,
    campaign_refuse,
    campaign_results,
    campaign_save,
    campaign_stop,
    campaign_submit,
    campaigns_visible_to,
    exclusion_words,
)
from qiao.campaigns.views_words import labelled, row_label
from qiao.org.http import StaffRequest
from qiao.org.permissions import (
    APPROVE_CAMPAIGNS,
    MANAGE_CAMPAIGNS,
    require_perm,
    staff_has_perm,
)

#: States in which a campaign may still be edited by its author.
EDITABLE = (CampaignStatus.DRAFT, CampaignStatus.REFUSED)
#: States in which a campaign may be stopped.
STOPPABLE = (
    CampaignStatus.APPROVED,
    CampaignStatus.SENDING,
    CampaignStatus.RUNNING,
)


def _channels(campaign: Campaign) -> list[str]:
    return [str(s.get_channel_display()) for s in campaign.steps.all()]


def _results(campaign: Campaign) -> dict[str, Any] | None:
    """The campaign's results once measured (after the first load following the send)."""
    results = campaign_results(campaign)
    return results if results.get("measured") else None


def actions_for(staff: Any, campaign: Campaign) -> dict[str, bool]:
    """Which action buttons ``staff`` sees on ``campaign`` (the services decide again)."""
    manage = staff_has_perm(staff, MANAGE_CAMPAIGNS)
    author = campaign.author_id == staff.pk
    return {
        "edit": manage and author and campaign.status in EDITABLE,
        "submit": manage and author and campaign.status in EDITABLE,
        # Maker–checker: never the author.
        "approve": staff_has_perm(staff, APPROVE_CAMPAIGNS)
        and not author
        and campaign.status == CampaignStatus.SUBMITTED,
        "stop": manage and campaign.status in STOPPABLE,
    }


@login_required
@require_GET
def campaign_list(request: StaffRequest) -> HttpResponse:
    staff = request.user
    form = CampaignFilterForm(request.GET or None)
    qs = campaigns_visible_to(staff).select_related("segment").prefetch_related("steps")
    values = form.values() if form.is_bound else {}
    if values.get("status"):
        qs = qs.filter(status=values["status"])
    if values.get("aim"):
        qs = qs.filter(aim=values["aim"])
    page = Paginator(qs.order_by("-created_at", "-id"), 25).get_page(request.GET.get("page"))
    rows = [
        {
            "campaign": c,
            "channels": _channels(c),
            "recipients": (c.plan_stats or {}).get("treated"),
            "control": (c.plan_stats or {}).get("control"),
            "results": _results(c),
        }
        for c in page
    ]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
        "can_manage": staff_has_perm(staff, MANAGE_CAMPAIGNS),
    }
    return render(request, "campaigns/list.html", context)


def _form_page(request: StaffRequest, campaign: Campaign | None) -> HttpResponse:
    staff = request.user
    require_perm(staff, MANAGE_CAMPAIGNS)
    if campaign is not None:
        if campaign.author_id != staff.pk:
            raise PermissionDenied  # only its author changes a campaign (the service again)
        if campaign.status not in EDITABLE:
            messages.info(request, _("Only a draft or a refused campaign can be changed."))
            return redirect("campaigns:detail", campaign_id=campaign.pk)
    segments = list(segments_visible_to(staff))
    if request.method == "POST":
        form = CampaignForm(request.POST, segments=segments)
        if form.is_valid():
            try:
                saved = campaign_save(staff=staff, data=form.campaign_data(), campaign=campaign)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("Campaign %(name)s saved.") % {"name": saved.name})
                return redirect("campaigns:detail", campaign_id=saved.pk)
    else:
        initial = CampaignForm.initial_from(campaign) if campaign is not None else {}
        form = CampaignForm(initial=initial, segments=segments)
    context = {
        "form": form,
        "campaign": campaign,
        "variables": TEMPLATE_VARIABLES,
        "max_steps": MAX_STEPS,
        "no_segments": not segments,
    }
    return render(request, "campaigns/form.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_new(request: StaffRequest) -> HttpResponse:
    return _form_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_edit(request: StaffRequest, campaign_id: int) -> HttpResponse:
    campaign = campaign_get_for_staff(staff=request.user, campaign_id=campaign_id)
    return _form_page(request, campaign)


def _progress_context(campaign: Campaign) -> dict[str, Any]:
    # Polled while the send is queued or running; a follow-up step days later is not polled for.
    polling = campaign.status in (CampaignStatus.APPROVED, CampaignStatus.SENDING)
    return {"campaign": campaign, "progress": campaign_progress(campaign), "polling": polling}


@login_required
@require_GET
def campaign_detail(request: StaffRequest, campaign_id: int) -> HttpResponse:
    staff = request.user
    campaign = campaign_get_for_staff(staff=staff, campaign_id=campaign_id)
    stats = campaign.plan_stats or {}
    exclusions = [
        {"reason": exclusion_words(code), "count": n}
        for code, n in (stats.get("excluded") or {}).items()
    ]
    results = _results(campaign)
    context: dict[str, Any] = {
        "campaign": campaign,
        "steps": list(campaign.steps.prefetch_related("templates").order_by("number")),
        "products": list(campaign.products.order_by("name")),
        "stats": stats,
        "exclusions": exclusions,
        "excluded_total": sum(e["count"] for e in exclusions),
        "results": results,
        "actions": actions_for(staff, campaign),
        "refuse_form": RefuseForm(),
        "approve_form": ApproveForm(),
        **_progress_context(campaign),
    }
    if results is not None:
        context["rates_chart"] = charts.rates_svg(results)
        context["uplift_chart"] = charts.uplift_svg(results)
        for key in ("by_step", "by_variant", "by_kind"):
            context[key] = labelled(results, key)
        context["response_words"] = row_label("by_kind", {"kind": results.get("response", "")})
        context["step_chart"] = charts.groups_svg(
            context["by_step"], title=_("Response rate by step")
        )
        context["variant_chart"] = charts.groups_svg(
            context["by_variant"], title=_("Response rate by message variant")
        )
    return render(request, "campaigns/detail.html", context)


@login_required
@require_GET
def campaign_progress_partial(request: StaffRequest, campaign_id: int) -> HttpResponse:
    campaign = campaign_get_for_staff(staff=request.user, campaign_id=campaign_id)
    return render(request, "campaigns/_progress.html", _progress_context(campaign))


def _act(request: StaffRequest, campaign_id: int, act: Any, done: str, **kw: Any) -> HttpResponse:
    campaign = campaign_get_for_staff(staff=request.user, campaign_id=campaign_id)
    try:
        act(staff=request.user, campaign=campaign, **kw)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, done)
    return redirect("campaigns:detail", campaign_id=campaign.pk)


@login_required
@require_POST
def campaign_submit_view(request: StaffRequest, campaign_id: int) -> HttpResponse:
    return _act(request, campaign_id, campaign_submit, _("Submitted for approval."))


@login_required
@require_POST
def campaign_approve_view(request: StaffRequest, campaign_id: int) -> HttpResponse:
    form = ApproveForm(request.POST)
    note = form.cleaned_data.get("note", "") if form.is_valid() else ""
    return _act(
        request,
        campaign_id,
        campaign_approve,
        _("Approved: the campaign is sent in the background from its start day."),
        note=note,
    )


@login_required
@require_POST
def campaign_refuse_view(request: StaffRequest, campaign_id: int) -> HttpResponse:
    form = RefuseForm(request.POST)
    if not form.is_valid():
        campaign = campaign_get_for_staff(staff=request.user, campaign_id=campaign_id)
        require_perm(request.user, APPROVE_CAMPAIGNS)
        messages.error(request, _("Say why the campaign is refused."))
        return redirect("campaigns:detail", campaign_id=campaign.pk)
    return _act(
        request, campaign_id, campaign_refuse, _("Refused."), note=form.cleaned_data["note"]
    )


@login_required
@require_POST
def campaign_stop_view(request: StaffRequest, campaign_id: int) -> HttpResponse:
    return _act(request, campaign_id, campaign_stop, _("Stopped: nothing more is sent."))


@login_required
@require_GET
def campaign_results_xlsx(request: StaffRequest, campaign_id: int) -> HttpResponse:
    campaign = campaign_get_for_staff(staff=request.user, campaign_id=campaign_id)
    data = results_workbook_export(request=request, campaign=campaign)
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-results.xlsx"'
    return response
