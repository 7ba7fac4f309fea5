from django.urls import path

from qiao.suitability import shelf_views

app_name = "shelf"
urlpatterns = [
    path("", shelf_views.shelf, name="shelf"),
    path("new/", shelf_views.product_new, name="product_new"),
    path("<str:code>/", shelf_views.product_detail, name="product"),
    path("<str:code>/edit/", shelf_views.product_edit, name="product_edit"),
]
