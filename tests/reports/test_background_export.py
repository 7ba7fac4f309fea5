"""A large report's workbook built in the background, end to end: the download link queues an
ExportJob, the database worker runs the task, the page shows the progress and then the link,
only the person who asked downloads it, and the download is audited."""

from __future__ import annotations

import io

import openpyxl
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from qiao.audit.models import Action, AuditEvent
from qiao.reports.models import ExportJob


def test_a_large_report_is_built_by_the_worker_and_downloaded_once_asked(
    bank, login, settings, django_capture_on_commit_callbacks
) -> None:
    settings.QIAO = {**settings.QIAO, "REPORT_BACKGROUND_ROWS": 5}
    head = login("outlet_head")
    page = head.get("/reports/pyramid/").content.decode()
    assert "in the background" in page  # the button queues a job instead of downloading

    with django_capture_on_commit_callbacks(execute=True):
        asked = head.post("/reports/pyramid/xlsx", {"outlet": "O1"})
    job = ExportJob.objects.get()
    assert asked.status_code == 302 and asked["Location"] == f"/reports/exports/{job.pk}/"
    assert job.status == ExportJob.Status.WAITING and job.params == {"outlet": "O1"}
    waiting = head.get(f"/reports/exports/{job.pk}/progress/").content.decode()
    assert "hx-get" in waiting and "export-download" not in waiting

    # The database worker's own step (`qiao worker` runs db_worker): the queued task, run and
    # marked done. Its loop is not called: it closes the database connection between tasks,
    # which would end the test's transaction on PostgreSQL.
    queued = DBTaskResult.objects.get()
    assert queued.task_path == "qiao.reports.tasks.export_job_task"
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=1,
        worker_id="test",
        excluded_queue_names=[],
    ).run_task(queued)
    queued.refresh_from_db()
    assert queued.status == "SUCCESSFUL", queued.traceback

    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE, job.error
    assert job.rows_total == job.rows_done > 5
    done = head.get(f"/reports/exports/{job.pk}/progress/").content.decode()
    assert 'id="export-download"' in done and "hx-get" not in done

    # Only the person who asked: anyone else is told it does not exist.
    assert login("head_office").get(f"/reports/exports/{job.pk}/download/").status_code == 404
    assert not AuditEvent.objects.filter(action=Action.REPORT_EXPORT).exists()
    response = head.get(f"/reports/exports/{job.pk}/download/")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    tiers = book.worksheets[0]
    assert sum(row[1] for row in tiers.iter_rows(min_row=2, values_only=True)) == 4  # O1's
    event = AuditEvent.objects.get(action=Action.REPORT_EXPORT)
    assert event.detail["report"] == "pyramid" and "background job" in event.detail["file"]


def test_a_failed_job_says_why(bank, login) -> None:
    from qiao.reports.services import export_job_run

    job = ExportJob.objects.create(
        requested_by=bank.staff["outlet_head"], report="no-such-report", params={}
    )
    export_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED and job.error
    page = login("outlet_head").get(f"/reports/exports/{job.pk}/").content.decode()
    assert "could not be built" in page
