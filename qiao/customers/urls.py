from django.urls import path

from qiao.customers import consent_views, views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("search/", views.search, name="search"),
    path("export/", views.customer_export, name="export"),
    path("exports/", views.export_requests, name="exports"),
    path(
        "exports/<int:request_id>/approve/",
        views.export_request_approve,
        name="export_approve",
    ),
    path("exports/<int:request_id>/refuse/", views.export_request_refuse, name="export_refuse"),
    path(
        "exports/<int:request_id>/download/",
        views.export_request_download,
        name="export_download",
    ),
    path("groups/", views.group_create, name="group_create"),
    path("groups/add/", views.group_add, name="group_add"),
    path("groups/<int:group_id>/delete/", views.group_delete, name="group_delete"),
    path("assignment/", views.assignment, name="assignment"),
    path("assignment/assign/", views.assign_bulk, name="assign_bulk"),
    path("assignment/staff/<str:username>/leave/", views.staff_leave, name="staff_leave"),
    path("<str:customer_no>/reveal/", views.customer_reveal_view, name="reveal"),
    path("<str:customer_no>/transactions/", views.customer_transactions, name="transactions"),
    path("<str:customer_no>/edit/", views.customer_edit, name="edit"),
    path("<str:customer_no>/assign/", views.customer_assign_view, name="assign"),
    path("<str:customer_no>/consent/", consent_views.consent_edit, name="consent"),
]
