"""The campaign pages, under ``campaigns/`` (docs/campaigns.md, "Pages")."""

from django.urls import path

from qiao.campaigns import views, views_segments

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_new, name="new"),
    path("segments/", views_segments.segment_list, name="segments"),
    path("segments/new/", views_segments.segment_new, name="segment_new"),
    path("segments/count/", views_segments.segment_live_count, name="segment_count"),
    path("segments/upload/", views_segments.segment_upload_page, name="segment_upload"),
    path("segments/<int:segment_id>/edit/", views_segments.segment_edit, name="segment_edit"),
    path("<int:campaign_id>/", views.campaign_detail, name="detail"),
    path("<int:campaign_id>/edit/", views.campaign_edit, name="edit"),
    path("<int:campaign_id>/progress/", views.campaign_progress_partial, name="progress"),
    path("<int:campaign_id>/submit/", views.campaign_submit_view, name="submit"),
    path("<int:campaign_id>/approve/", views.campaign_approve_view, name="approve"),
    path("<int:campaign_id>/refuse/", views.campaign_refuse_view, name="refuse"),
    path("<int:campaign_id>/stop/", views.campaign_stop_view, name="stop"),
    path("<int:campaign_id>/results.xlsx", views.campaign_results_xlsx, name="results_xlsx"),
]
