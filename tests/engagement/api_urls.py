"""The project's URLs plus the engagement router on a NinjaAPI with the project's Bearer-token
auth (qiao.api.api.BearerToken) and Django session auth.

Until qiao/api wires ``engagement_router``, the API tests mount a fresh copy of the router here
(a ninja Router is attached to one API only).
"""

from django.urls import path
from ninja import NinjaAPI
from ninja.security import django_auth

from qiao.api.api import BearerToken
from qiao.engagement.api import build_router
from qiao.urls import urlpatterns as project_urlpatterns

test_api = NinjaAPI(
    title="engagement test", urls_namespace="engagement-test-api", auth=[BearerToken(), django_auth]
)
test_api.add_router("/", build_router())

urlpatterns = [path("api/", test_api.urls), *project_urlpatterns]
