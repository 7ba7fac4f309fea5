from django.urls import path

from qiao.risk import views

app_name = "risk"

urlpatterns = [
    path("risk/", views.risk_home, name="home"),
    path("risk/key-accounts/", views.key_account_list, name="key_accounts"),
    path("risk/key-accounts/propose/", views.key_account_propose, name="key_account_propose"),
    path("risk/key-accounts/freeze/", views.key_accounts_freeze, name="key_accounts_freeze"),
    path("risk/key-accounts/<int:pk>/decide/", views.key_account_decide, name="key_account_decide"),
    path("risk/key-accounts/<int:pk>/remove/", views.key_account_remove, name="key_account_remove"),
    path("risk/key-accounts/<int:pk>/team/", views.key_account_team, name="key_account_team"),
    path("risk/changes/<int:pk>/decide/", views.transition_decide, name="transition_decide"),
    path(
        "risk/customers/<str:customer_no>/propose/", views.warning_propose, name="warning_propose"
    ),
    path("risk/customers/<str:customer_no>/exit-plan/", views.exit_plan_new, name="exit_plan_new"),
    path(
        "risk/exit-plans/<int:pk>/steps/<int:step_id>/done/",
        views.exit_step_done,
        name="exit_step_done",
    ),
]
