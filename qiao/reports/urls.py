"""The report pages, under ``reports/`` (docs/reports.md)."""

from django.urls import path

from qiao.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.report_index, name="index"),
    path("exports/<int:job_id>/", views.export_job_page, name="export"),
    path("exports/<int:job_id>/progress/", views.export_job_progress, name="export_progress"),
    path("exports/<int:job_id>/download/", views.export_job_file, name="export_download"),
    path("<slug:name>/", views.report_page, name="report"),
    path("<slug:name>/xlsx", views.report_xlsx, name="xlsx"),
]
