from __future__ import annotations

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
