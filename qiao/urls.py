from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("qiao.api.urls")),
    path("", include("qiao.engagement.urls")),
    path("analyst/", include("qiao.scoring.urls")),
    path("products/", include("qiao.suitability.shelf_urls")),
    path("", include("qiao.web.urls")),
]
