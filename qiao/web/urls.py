from django.contrib.auth import views as auth_views
from django.urls import include, path

from qiao.customers import urls as customers_urls
from qiao.web import views

# The customer pages are the customers app's, but for the 360, which joins the customers, the
# scoring and the engagement apps and so is served from here (qiao.web.customer360); it keeps its
# name, customers:detail, and stands after the app's fixed paths (search/, export/ …).
customers = (
    [
        *customers_urls.urlpatterns,
        path("<str:customer_no>/", views.customer_detail, name="detail"),
    ],
    customers_urls.app_name,
)

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("customers/", include(customers)),
    path("audit/", include("qiao.audit.urls")),
    path("", views.home, name="home"),
]
