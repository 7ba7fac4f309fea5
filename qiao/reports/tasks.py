"""Background work of the reports: a large workbook built by ``qiao worker`` (Django Tasks on the
database, as the campaign sends; decision 0009)."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from qiao.reports.services import export_job_run


@task()
def export_job_task(job_id: int) -> dict[str, Any]:
    """Build the workbook of one :class:`~qiao.reports.models.ExportJob`."""
    job = export_job_run(job_id)
    return {"job": job.pk, "status": job.status, "rows": job.rows_done}
