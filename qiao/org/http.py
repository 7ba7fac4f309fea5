"""The request a signed-in view receives, typed: ``request.user`` is a member of staff.

Every page behind ``login_required`` (and every API endpoint behind the token) is called for a
:class:`~qiao.org.models.Staff` — the user model (``AUTH_USER_MODEL``) — so its views take a
:class:`StaffRequest` rather than casting ``request.user`` each time. It lives in ``qiao.org``, the
lowest layer that knows the user model, so every app's views can use it.
"""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails
from ninja import Schema
from ninja.errors import HttpError

from qiao.org.models import Staff


class StaffRequest(HttpRequest):
    """An ``HttpRequest`` whose user is signed in (``login_required``): a member of staff.

    Only a type: Django passes its usual request, whose ``user`` the authentication middleware
    set and whose ``htmx`` django-htmx's middleware set.
    """

    user: Staff
    htmx: HtmxDetails


class ErrorOut(Schema):
    """The one error shape of every API endpoint: a sentence, and the fields it concerns."""

    error: str
    fields: dict[str, str] = {}


def api_caller(request: HttpRequest) -> Staff:
    """The member of staff an API request's token authenticated (401 otherwise)."""
    auth = getattr(request, "auth", None)
    if isinstance(auth, Staff):
        return auth
    raise HttpError(401, "Unauthorized")
