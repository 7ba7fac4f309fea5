from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.gzip import GZipMiddleware


class StaticGZipMiddleware(GZipMiddleware):
    """gzip for static files only, where no precompressed copy is served (development, tests).

    Pages are left alone: they carry personal data next to text the user typed (BREACH). In
    production WhiteNoise serves the ``.gz`` / ``.br`` copies ``collectstatic`` made, which this
    leaves as they are (they already have a Content-Encoding).
    """

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if not request.path.startswith(settings.STATIC_URL):
            return response
        return super().process_response(request, response)


class NoStoreMiddleware:
    """Pages with customer data must not be kept by browsers or proxies (``no-store``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/static/"):
            response.setdefault("Cache-Control", "no-store")
        return response


#: A signed-in session is renewed (its idle expiry moved to now + ``SESSION_COOKIE_AGE``) at most
#: this often, not on every request: a renewal is a database write (BEGIN, UPDATE, COMMIT) and was
#: a tenth of a search's queries. The session then ends between ``SESSION_COOKIE_AGE`` minus this
#: and ``SESSION_COOKIE_AGE`` after the last request: never later than the idle limit.
SESSION_RENEW_SECONDS = 60
RENEWED_KEY = "_qiao_renewed"


class SessionRenewalMiddleware:
    """Sliding idle expiry for signed-in users, written at most every :data:`SESSION_RENEW_SECONDS`
    (in place of ``SESSION_SAVE_EVERY_REQUEST``). Anonymous requests never create a session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            if now - int(request.session.get(RENEWED_KEY, 0)) >= SESSION_RENEW_SECONDS:
                request.session[RENEWED_KEY] = now  # modified: SessionMiddleware saves it
        return self.get_response(request)
