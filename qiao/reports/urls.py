"""The report pages, under ``reports/`` (docs/reports.md)."""

from django.urls import path

from qiao.reports import benchmark_views, views

app_name = "reports"

urlpatterns = [
    path("", views.report_index, name="index"),
    path("exports/<int:job_id>/", views.export_job_page, name="export"),
    path("exports/<int:job_id>/progress/", views.export_job_progress, name="export_progress"),
    path("exports/<int:job_id>/download/", views.export_job_file, name="export_download"),
    # E-banking analysis helpers (before "<slug:name>/", which would take "benchmarks").
    path("benchmarks/", benchmark_views.benchmarks, name="benchmarks"),
    path(
        "benchmarks/<int:benchmark_id>/delete/",
        benchmark_views.benchmark_remove,
        name="benchmark_delete",
    ),
    path("ebanking/offers/", benchmark_views.ebanking_offers, name="ebanking_offers"),
    path("<slug:name>/", views.report_page, name="report"),
    path("<slug:name>/xlsx", views.report_xlsx, name="xlsx"),
]
