from django.urls import path

from qiao.api.api import api

urlpatterns = [path("", api.urls)]
