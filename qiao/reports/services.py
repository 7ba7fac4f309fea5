"""Writes of the reports: a workbook downloaded (permitted, audited) and large workbooks built in
the background (docs/reports.md, "Excel").

A report whose tables hold fewer than ``QIAO_REPORT_BACKGROUND_ROWS`` rows (20,000 by default) is
written while the reader waits; a larger one becomes an :class:`~qiao.reports.models.ExportJob`
run by ``qiao worker`` (:mod:`qiao.reports.tasks`), whose progress the reader follows and whose
file only they may download. Every download is one ``REPORT_EXPORT`` audit row naming the report
and its parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core.reports import Report
from qiao.core.xlsx import report_to_xlsx, report_workbook
from qiao.org.models import Staff
from qiao.org.permissions import EXPORT_REPORTS, require_perm
from qiao.reports.models import ExportJob
from qiao.reports.selectors import report_build, report_def_get, report_params_clean, report_rows

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def background_rows() -> int:
    """From this many rows a workbook is built in the background."""
    return int(settings.QIAO.get("REPORT_BACKGROUND_ROWS", 20_000))


def exports_dir() -> Path:
    folder = Path(settings.QIAO_HOME) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def file_name(report: str, params: Mapping[str, str]) -> str:
    """The download's name: the report and its parameters, nothing personal."""
    parts = [report, *(params[k] for k in sorted(params))]
    return _SAFE_NAME.sub("-", "-".join(parts)).strip("-") + ".xlsx"


def report_export_audit(
    *, request_or_staff: Any, name: str, params: Mapping[str, str], rows: int, how: str
) -> None:
    audit_record(
        request_or_staff=request_or_staff,
        action=Action.REPORT_EXPORT,
        detail={"report": name, "params": dict(params), "rows": rows, "file": f"xlsx ({how})"},
    )


def report_export_xlsx(
    *, request_or_staff: Any, staff: Staff, report: Report, params: Mapping[str, str]
) -> bytes:
    """The workbook of ``report`` (already built in ``staff``'s scope), permitted and audited."""
    require_perm(staff, EXPORT_REPORTS)
    data = report_to_xlsx(report)
    report_export_audit(
        request_or_staff=request_or_staff,
        name=report.name,
        params=params,
        rows=report_rows(report),
        how="direct",
    )
    return data


def export_job_create(*, by: Staff, name: str, query: Mapping[str, Any]) -> ExportJob:
    """Queue a background workbook of report ``name`` for ``by`` (permission checked now; the
    report itself is built by the worker in ``by``'s scope as it is then)."""
    require_perm(by, EXPORT_REPORTS)
    report_def_get(staff=by, name=name)
    params = report_params_clean(staff=by, query=query)
    job = ExportJob.objects.create(requested_by=by, report=name, params=params)
    from qiao.reports.tasks import export_job_task

    transaction.on_commit(lambda: export_job_task.enqueue(job.pk))
    return job


#: Workbooks of lists other apps offer for the background (``list:<name>``): a function
#: ``(staff, params) -> Report`` each, registered by the app that owns the list.
LIST_BUILDERS: dict[str, Callable[[Staff, Mapping[str, Any]], Report]] = {}


def export_job_run(job_id: int) -> ExportJob:
    """Build a job's workbook (the worker calls this): progress saved as rows are written; the
    file under ``QIAO_HOME/exports/``; ``FAILED`` with the error if anything goes wrong."""
    job = ExportJob.objects.select_related("requested_by").get(pk=job_id)
    if job.status == ExportJob.Status.DONE:
        return job
    job.status = ExportJob.Status.RUNNING
    job.rows_done = 0
    job.save(update_fields=["status", "rows_done"])
    staff = job.requested_by
    try:
        require_perm(staff, EXPORT_REPORTS)
        if job.report.startswith("list:"):
            report = LIST_BUILDERS[job.report[5:]](staff, job.params)
        else:
            report = report_build(staff=staff, name=job.report, query=job.params)
        total = report_rows(report)
        ExportJob.objects.filter(pk=job.pk).update(rows_total=total)

        def progress(done: int) -> None:
            ExportJob.objects.filter(pk=job.pk).update(rows_done=done)

        name = f"{job.pk}-{file_name(job.report.replace(':', '-'), job.params)}"
        path = exports_dir() / name
        report_workbook(report, str(path), progress=progress, tmpdir=str(exports_dir()))
    except Exception as exc:  # noqa: BLE001 (any failure is shown to the person who asked)
        job.refresh_from_db()
        job.status = ExportJob.Status.FAILED
        job.error = str(exc)[:2000] or exc.__class__.__name__
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "error", "finished_at"])
        return job
    job.refresh_from_db()
    job.status = ExportJob.Status.DONE
    job.file_name = name
    job.rows_done = total
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "file_name", "rows_done", "finished_at"])
    return job


def export_job_get_for_staff(*, staff: Staff, job_id: int) -> ExportJob:
    """A job, only for the person who asked (anyone else: 404, as missing)."""
    job = ExportJob.objects.filter(pk=job_id, requested_by=staff).first()
    if job is None:
        raise Http404("No export matches the given query.")
    return job


def export_job_download(*, request_or_staff: Any, staff: Staff, job: ExportJob) -> Path:
    """The finished file of ``job`` (its owner's, checked by the caller), audited."""
    require_perm(staff, EXPORT_REPORTS)
    if job.status != ExportJob.Status.DONE or not job.file_name:
        raise Http404("The export is not ready.")
    path = exports_dir() / job.file_name
    if not path.is_file():
        raise Http404("The export's file is gone.")
    report_export_audit(
        request_or_staff=request_or_staff,
        name=job.report,
        params=job.params,
        rows=job.rows_total or 0,
        how=f"background job {job.pk}",
    )
    return path
