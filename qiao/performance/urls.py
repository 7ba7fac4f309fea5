"""The performance pages, under ``performance/`` (docs/reports.md)."""

from django.urls import path

from qiao.performance import views

app_name = "performance"

urlpatterns = [
    path("", views.scorecard_page, name="scorecards"),
    path("card/", views.scorecard_card, name="card"),
    path("targets/", views.target_list, name="targets"),
    path("targets/split/", views.target_split, name="target_split"),
    path("staffing/", views.staffing_page, name="staffing"),
]
