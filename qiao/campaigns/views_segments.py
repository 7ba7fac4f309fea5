"""The segment pages: the list, the builder with its live count, and the static-list upload.

Thin views: the form reads the inputs, :mod:`qiao.campaigns.segments` checks the permission,
the scope and writes the audit trail.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from qiao.campaigns.forms import SegmentForm, SegmentUploadForm
from qiao.campaigns.models import Segment
from qiao.campaigns.segments import (
    SegmentFilters,
    filters_words,
    segment_count,
    segment_get_for_staff,
    segment_save,
    segment_upload,
    segments_visible_to,
)
from qiao.org.http import StaffRequest
from qiao.org.permissions import MANAGE_CAMPAIGNS, require_perm, staff_has_perm

#: The most rejected lines listed on the upload page (the count says how many there were).
REJECTS_SHOWN = 500


def _words(segment: Segment) -> list[str]:
    if segment.kind != Segment.Kind.DYNAMIC:
        return []
    try:
        return filters_words(SegmentFilters.from_json(segment.filters or {}))
    except ValidationError:
        return [_("These filters no longer read: edit the segment.")]


@login_required
@require_GET
def segment_list(request: StaffRequest) -> HttpResponse:
    segments = list(segments_visible_to(request.user).select_related("owner__unit"))
    rows = [{"segment": s, "words": _words(s)} for s in segments]
    context = {"rows": rows, "can_manage": staff_has_perm(request.user, MANAGE_CAMPAIGNS)}
    return render(request, "campaigns/segments.html", context)


def _builder(request: StaffRequest, segment: Segment | None) -> HttpResponse:
    staff = request.user
    require_perm(staff, MANAGE_CAMPAIGNS)
    if segment is not None and segment.kind != Segment.Kind.DYNAMIC:
        messages.info(request, _("A static list is not edited here: upload a new file instead."))
        return redirect("campaigns:segments")
    if request.method == "POST":
        form = SegmentForm(request.POST, staff=staff)
        filters = form.segment_filters()
        if form.is_valid() and not form.errors:
            try:
                saved = segment_save(
                    staff=staff,
                    name=form.cleaned_data.get("name") or "",
                    filters=filters,
                    segment=segment,
                    description=form.cleaned_data.get("description") or "",
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(
                    request,
                    _("Segment %(name)s saved: %(n)s customers.")
                    % {"name": saved.name, "n": f"{saved.last_count or 0:,}"},
                )
                return redirect("campaigns:segments")
    else:
        initial = SegmentForm.initial_from(segment) if segment is not None else {}
        form = SegmentForm(initial=initial, staff=staff)
        filters = SegmentFilters()
        if segment is not None:
            try:
                filters = SegmentFilters.from_json(segment.filters or {})
            except ValidationError:
                messages.error(request, _("These filters no longer read: edit the segment."))
    context = {
        "form": form,
        "segment": segment,
        "count": segment_count(staff=staff, filters=filters),
        "words": filters_words(filters),
    }
    return render(
        request, "campaigns/segment_form.html", context, status=400 if form.errors else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
def segment_new(request: StaffRequest) -> HttpResponse:
    return _builder(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def segment_edit(request: StaffRequest, segment_id: int) -> HttpResponse:
    segment = segment_get_for_staff(staff=request.user, segment_id=segment_id)
    return _builder(request, segment)


@login_required
@require_GET
def segment_live_count(request: StaffRequest) -> HttpResponse:
    """The builder's live count (htmx): the customers of the form's filters in the builder's
    own scope, and the filters in words."""
    staff = request.user
    require_perm(staff, MANAGE_CAMPAIGNS)
    form = SegmentForm(request.GET, staff=staff)
    filters = form.segment_filters()
    context = {
        "count": segment_count(staff=staff, filters=filters),
        "words": filters_words(filters),
        "form": form,
    }
    return render(request, "campaigns/_segment_count.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def segment_upload_page(request: StaffRequest) -> HttpResponse:
    staff = request.user
    require_perm(staff, MANAGE_CAMPAIGNS)
    form = SegmentUploadForm(request.POST or None, request.FILES or None)
    context: dict[str, object] = {"form": form}
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                segment, rejects = segment_upload(
                    staff=staff,
                    name=form.cleaned_data["name"],
                    data=upload.read(),
                    file_name=upload.name or "",
                )
            except ValidationError as exc:
                form.add_error("name" if "name" in getattr(exc, "error_dict", {}) else None, exc)
                status = 400
            else:
                context |= {
                    "done": True,
                    "segment": segment,
                    "rejects": rejects[:REJECTS_SHOWN],
                    "rejected": len(rejects),
                    "more_rejects": max(0, len(rejects) - REJECTS_SHOWN),
                }
                status = 200 if segment is not None else 400
        else:
            status = 400
    return render(request, "campaigns/segment_upload.html", context, status=status)
