"""What a locked-out client sees (django-axes ``AXES_LOCKOUT_CALLABLE``).

The log-in page gets the lock-out page; the API gets its JSON error shape, so that a script reads
the same ``{"error": ..., "fields": {}}`` as for any other refusal. Both answer 429.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": _("Too many failed log-in attempts; try again later."), "fields": {}},
            status=429,
        )
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, {}, status=429)
