from django.urls import path

from qiao.engagement import views, views_handoff

app_name = "engagement"

urlpatterns = [
    path("today/", views.today, name="today"),
    path("today/items/<int:item_id>/done/", views.item_done, name="item_done"),
    path("tasks/<int:task_id>/done/", views.task_done, name="task_done"),
    path("contacts/new/<str:customer_no>/", views.contact_new, name="contact_new"),
    path("coverage/", views.coverage, name="coverage"),
    path("prospects/", views.prospect_board, name="prospects"),
    path("prospects/new/", views.prospect_new, name="prospect_new"),
    path("prospects/<str:number>/", views.prospect_detail, name="prospect"),
    path("plans/", views.plan_list, name="plans"),
    path("plans/new/", views.plan_new, name="plan_new"),
    path("plans/<int:plan_id>/", views.plan_detail, name="plan"),
    path("referrals/", views.referral_list, name="referrals"),
    path("referrals/new/", views.referral_new, name="referral_new"),
    path("referrals/lookup/", views.referral_lookup, name="referral_lookup"),
    path("referrals/<int:referral_id>/status/", views.referral_status, name="referral_status"),
    path("complaints/", views.complaint_list, name="complaints"),
    path("complaints/new/<str:customer_no>/", views.complaint_new, name="complaint_new"),
    path("complaints/<int:complaint_id>/", views.complaint_detail, name="complaint"),
    path("notifications/", views_handoff.notifications, name="notifications"),
    path("walk-in/", views_handoff.walk_in, name="walk_in"),
]
