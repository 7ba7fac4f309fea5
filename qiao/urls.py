from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from qiao.suitability.assessment_views import assessment_new

# The admin is Qiao's, not "Django administration" (issue 13 item 6).
admin.site.site_header = _("Qiao administration")
admin.site.site_title = _("Qiao")
admin.site.index_title = _("Qiao administration")

urlpatterns = [
    path("admin/", admin.site.urls),
    # The menu's language switch (set_language, remembered in the language cookie).
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("qiao.api.urls")),
    path("", include("qiao.engagement.urls")),
    path("analyst/", include("qiao.scoring.urls")),
    path("products/", include("qiao.suitability.shelf_urls")),
    path("suggestions/", include("qiao.suitability.suggestion_urls")),
    path("campaigns/", include("qiao.campaigns.urls")),
    # The risk assessment of a customer: a suitability page under the customer's address (the
    # customers app stands below suitability, so it is routed here, before the customers' paths).
    path("customers/<str:customer_no>/assess/", assessment_new, name="assessment_new"),
    # Key accounts, early warning and exit plans (docs/keyaccounts.md).
    path("", include("qiao.risk.urls")),
    # Performance, reports and surveys (docs/reports.md).
    path("performance/", include("qiao.performance.urls")),
    path("reports/", include("qiao.reports.urls")),
    path("surveys/", include("qiao.surveys.urls")),
    path("", include("qiao.web.urls")),
]
