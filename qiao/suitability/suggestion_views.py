"""The 360's suggestions section: what became of a suggestion (htmx; docs/suitability.md,
"Suggestions")."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from qiao.core.errors import ApplicationError
from qiao.org.models import Staff
from qiao.suitability.suggestions import (
    suggestion_decide,
    suggestion_get_for_staff,
    suggestions_panel,
)


@login_required
@require_POST
def suggestion_decide_view(request: HttpRequest, suggestion_id: int) -> HttpResponse:
    """Mark a suggestion taken up, declined (with a reason) or not now. Out of scope: 404; in
    scope without the permission: 403 (the service). htmx gets the section back."""
    staff: Staff = request.user  # type: ignore[assignment]
    suggestion = suggestion_get_for_staff(staff=staff, suggestion_id=suggestion_id)
    error = ""
    try:
        suggestion_decide(
            by=staff,
            suggestion_id=suggestion.pk,
            status=request.POST.get("status", ""),
            decline_reason=request.POST.get("decline_reason", ""),
            ip=request.META.get("REMOTE_ADDR") or None,
        )
    except ApplicationError as exc:
        error = str(exc.message)
    customer = suggestion.customer
    if getattr(request, "htmx", False):
        context = {
            "customer": customer,
            "suggestions": suggestions_panel(staff=staff, customer=customer),
            "suggestion_error": error,
        }
        return render(request, "suitability/_suggestions.html", context)
    if error:
        messages.error(request, error)
    return redirect("customers:detail", customer_no=customer.customer_no)
