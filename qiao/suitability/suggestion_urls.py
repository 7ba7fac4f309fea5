from django.urls import path

from qiao.suitability import suggestion_views

app_name = "suggestions"
urlpatterns = [
    path(
        "<int:suggestion_id>/decide/",
        suggestion_views.suggestion_decide_view,
        name="suggestion_decide",
    ),
]
