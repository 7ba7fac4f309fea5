from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    path("", views.results, name="results"),
    path("answer/", views.answer, name="answer"),
    path("<slug:code>/edit/", views.edit, name="edit"),
]
