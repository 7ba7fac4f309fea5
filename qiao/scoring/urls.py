from django.urls import path

from qiao.scoring import views

app_name = "scoring"

urlpatterns = [
    path("", views.analyst, name="analyst"),
]
