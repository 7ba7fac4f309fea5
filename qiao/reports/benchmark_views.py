"""Peer benchmarks entered by hand: the list, entering a figure, deleting one
(EDIT_BENCHMARKS; docs/reports.md, "Peer benchmarks"), and the e-banking offers a CM puts on their
work list from the e-banking analysis."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from qiao.core.errors import ApplicationError
from qiao.org.http import StaffRequest
from qiao.org.permissions import EDIT_BENCHMARKS, WORK_OWN_LIST, require_perm, staff_has_perm
from qiao.reports.benchmark_forms import BenchmarkForm
from qiao.reports.benchmarks import (
    benchmark_delete,
    benchmark_save,
    benchmarks_all,
    measure_label,
)
from qiao.reports.ebanking import ebank_offer_candidates, ebank_offers_create
from qiao.reports.models import Benchmark


@login_required
@require_http_methods(["GET", "POST"])
def benchmarks(request: StaffRequest) -> HttpResponse:
    staff = request.user
    can_edit = staff_has_perm(staff, EDIT_BENCHMARKS)
    form = BenchmarkForm(request.POST or None)
    status = 200
    if request.method == "POST":
        require_perm(staff, EDIT_BENCHMARKS)
        if form.is_valid():
            data = form.cleaned_data
            try:
                benchmark_save(
                    measure=data["measure"],
                    period=data["period"],
                    peer=data["peer"],
                    percent=data["value"],
                    source=data["source"],
                    by=staff,
                )
            except ApplicationError as exc:
                for field, message in exc.fields.items() or [(None, exc.message)]:
                    form.add_error(field if field in form.fields else None, str(message))
            else:
                messages.success(request, _("The peer figure was saved."))
                return redirect("reports:benchmarks")
        status = 400
    rows = [
        {
            "b": b,
            "measure": measure_label(b.measure),
            "percent": f"{float(b.value) * 100:,.2f} %",
            "by": b.entered_by.get_full_name() or b.entered_by.get_username(),
        }
        for b in benchmarks_all()
    ]
    return render(
        request,
        "reports/benchmarks.html",
        {"rows": rows, "form": form, "can_edit": can_edit},
        status=status,
    )


@login_required
@require_POST
def benchmark_remove(request: StaffRequest, benchmark_id: int) -> HttpResponse:
    require_perm(request.user, EDIT_BENCHMARKS)
    benchmark = get_object_or_404(Benchmark, pk=benchmark_id)
    benchmark_delete(benchmark=benchmark, by=request.user)
    messages.success(request, _("The peer figure was deleted."))
    return redirect("reports:benchmarks")


@login_required
@require_http_methods(["GET", "POST"])
def ebanking_offers(request: StaffRequest) -> HttpResponse:
    """A CM's own payroll customers without e-banking: how many, and a button that puts them on
    the work list (WORK_OWN_LIST)."""
    staff = request.user
    require_perm(staff, WORK_OWN_LIST)
    if request.method == "POST":
        made = ebank_offers_create(staff=staff)
        messages.success(
            request,
            _("%(n)s customers were put on your work list.") % {"n": f"{made:,}"},
        )
        return redirect("reports:ebanking_offers")
    found = ebank_offer_candidates(staff=staff)
    return render(request, "reports/benchmark_offers.html", {"count": len(found)})
