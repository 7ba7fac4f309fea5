"""The report pages: the index of the reports a reader may open, any registered report on screen
(charts drawn on the server, tables with amounts formatted), its workbook, and the background
exports' progress and file (docs/reports.md).

Thin views: :mod:`qiao.reports.selectors` builds the report in the reader's scope and checks the
parameters (a bad one: 400 with the reason); :mod:`qiao.reports.services` permits, audits and
queues. Out of scope is missing (404); without ``EXPORT_REPORTS`` a download is 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from qiao.core.amounts import amount
from qiao.core.errors import ApplicationError
from qiao.core.reports import Table
from qiao.org.http import StaffRequest
from qiao.org.permissions import EXPORT_REPORTS, require_perm, staff_has_perm
from qiao.reports.charts import chart_svg
from qiao.reports.models import ExportJob
from qiao.reports.selectors import (
    outlets_visible_to,
    report_build,
    report_def_get,
    report_params_clean,
    report_rows,
    reports_readable_by,
)
from qiao.reports.services import (
    background_rows,
    export_job_create,
    export_job_download,
    export_job_get_for_staff,
    file_name,
    report_export_xlsx,
)

#: A table on screen shows at most this many rows (the workbook holds them all).
PAGE_ROWS = 500
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cell_text(value: Any, kind: str) -> str:
    """A table cell as a person reads it: amounts as the bank writes them (万元 in Chinese),
    counts with thousands separators, shares as percentages; ``—`` for nothing."""
    if value is None or value == "":
        return "—"
    try:
        if kind in ("money", "wan"):
            return amount(value)
        if kind == "int":
            return f"{int(value):,}"
        if kind == "pct":
            return f"{float(value) * 100:.1f}%"
        if kind == "float":
            return f"{float(value):,.2f}"
        if kind == "date" and isinstance(value, dt.date):
            return value.isoformat()
    except (TypeError, ValueError):
        pass
    return str(value)


def _table_view(table: Table) -> dict[str, Any]:
    shown = table.rows[:PAGE_ROWS]
    return {
        "table": table,
        "columns": [
            {"label": c.label, "numeric": c.kind not in ("text", "date")} for c in table.columns
        ],
        "rows": [
            [
                {"text": cell_text(r.get(c.key), c.kind), "numeric": c.kind not in ("text", "date")}
                for c in table.columns
            ]
            for r in shown
        ],
        "more": max(0, len(table.rows) - PAGE_ROWS),
    }


@login_required
@require_GET
def report_index(request: StaffRequest) -> HttpResponse:
    reports = [{"name": r.name, "title": r.title()} for r in reports_readable_by(request.user)]
    jobs = ExportJob.objects.filter(requested_by=request.user)[:10]
    return render(request, "reports/index.html", {"reports": reports, "jobs": jobs})


def _bad_params(request: StaffRequest, name: str, exc: ApplicationError) -> HttpResponse:
    definition = report_def_get(staff=request.user, name=name)
    return render(
        request,
        "reports/report.html",
        {"title": definition.title(), "name": name, "error": exc, "fields": exc.fields},
        status=400,
    )


@login_required
@require_GET
def report_page(request: StaffRequest, name: str) -> HttpResponse:
    try:
        report = report_build(staff=request.user, name=name, query=request.GET)
        params = report_params_clean(staff=request.user, query=request.GET)
    except ApplicationError as exc:
        return _bad_params(request, name, exc)
    charts = []
    for chart in report.charts:
        try:
            charts.append(chart_svg(chart, report.table(chart.table)))
        except KeyError:
            continue
    outlets = outlets_visible_to(request.user).order_by("path").values("code", "name")[:200]
    return render(
        request,
        "reports/report.html",
        {
            "title": report.title,
            "name": name,
            "report": report,
            "charts": charts,
            "tables": [_table_view(t) for t in report.tables],
            "params": params,
            "query": urlencode(params),
            "outlets": outlets,
            "can_export": staff_has_perm(request.user, EXPORT_REPORTS),
            "background": report_rows(report) >= background_rows(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def report_xlsx(request: StaffRequest, name: str) -> HttpResponse:
    """The workbook: at once when small; a background job (POST, or GET on a large report, which
    answers with the job's page) when the report has many rows."""
    require_perm(request.user, EXPORT_REPORTS)
    query = request.POST if request.method == "POST" else request.GET
    try:
        params = report_params_clean(staff=request.user, query=query)
        if request.method == "POST":
            job = export_job_create(by=request.user, name=name, query=params)
            return redirect("reports:export", job_id=job.pk)
        report = report_build(staff=request.user, name=name, query=params)
    except ApplicationError as exc:
        return _bad_params(request, name, exc)
    if report_rows(report) >= background_rows():
        job = export_job_create(by=request.user, name=name, query=params)
        return redirect("reports:export", job_id=job.pk)
    data = report_export_xlsx(
        request_or_staff=request, staff=request.user, report=report, params=params
    )
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{file_name(name, params)}"'
    return response


def _job_context(job: ExportJob) -> dict[str, Any]:
    total = job.rows_total or 0
    return {
        "job": job,
        "percent": int(100 * job.rows_done / total) if total else 0,
        "finished": job.status in (ExportJob.Status.DONE, ExportJob.Status.FAILED),
    }


@login_required
@require_GET
def export_job_page(request: StaffRequest, job_id: int) -> HttpResponse:
    job = export_job_get_for_staff(staff=request.user, job_id=job_id)
    return render(request, "reports/export.html", _job_context(job))


@login_required
@require_GET
def export_job_progress(request: StaffRequest, job_id: int) -> HttpResponse:
    """The progress partial the job's page polls (htmx) until the file is ready."""
    job = export_job_get_for_staff(staff=request.user, job_id=job_id)
    return render(request, "reports/_export_progress.html", _job_context(job))


@login_required
@require_GET
def export_job_file(request: StaffRequest, job_id: int) -> FileResponse:
    job = export_job_get_for_staff(staff=request.user, job_id=job_id)
    path = export_job_download(request_or_staff=request, staff=request.user, job=job)
    response = FileResponse(path.open("rb"), content_type=XLSX, as_attachment=True)
    response["Content-Disposition"] = (
        f'attachment; filename="{file_name(job.report.replace(":", "-"), job.params)}"'
    )
    return response
