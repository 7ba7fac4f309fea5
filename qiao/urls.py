from django.contrib import admin
from django.urls import include, path

from qiao.suitability.assessment_views import assessment_new

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("qiao.api.urls")),
    path("", include("qiao.engagement.urls")),
    path("analyst/", include("qiao.scoring.urls")),
    path("products/", include("qiao.suitability.shelf_urls")),
    path("suggestions/", include("qiao.suitability.suggestion_urls")),
    # The risk assessment of a customer: a suitability page under the customer's address (the
    # customers app stands below suitability, so it is routed here, before the customers' paths).
    path("customers/<str:customer_no>/assess/", assessment_new, name="assessment_new"),
    path("", include("qiao.web.urls")),
]
