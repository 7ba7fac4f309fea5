"""The suggestions endpoint of the REST API: ``GET /api/customers/{customer_no}/suggestions``.

Mounted on ``qiao.api.api.api`` with ``api.add_router("/", suggestions_router)``: the same token,
the same scope as the customer detail (missing and out of scope both answer 404), audited as a
``VIEW``. Only suggestions that are suitable on the day they are read are listed
(:func:`qiao.suitability.suggestions.suggestions_shown` checks each again); the reason comes in
the caller's language.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.customers.selectors import customer_get_for_staff
from qiao.org.http import ErrorOut, api_caller
from qiao.suitability.suggestions import suggestions_shown


class SuggestionOut(Schema):
    product_code: str
    risk_level: str | None
    reason: str
    expected_gain: Decimal


class SuggestionList(Schema):
    items: list[SuggestionOut]


def build_router() -> Router:
    """A fresh router (a ninja Router can be mounted on one API only)."""
    router = Router(tags=["suggestions"])

    @router.get(
        "/customers/{customer_no}/suggestions",
        response={200: SuggestionList, 404: ErrorOut},
        summary="The customer's next-best products (suitable today)",
    )
    def customer_suggestions(request: HttpRequest, customer_no: str) -> dict[str, Any]:
        customer = customer_get_for_staff(staff=api_caller(request), customer_no=customer_no)
        audit_record(
            request_or_staff=request,
            action=Action.VIEW,
            customer_no=customer.customer_no,
            detail={"page": "api suggestions"},
        )
        shown, _blocked = suggestions_shown(customer)
        return {
            "items": [
                {
                    "product_code": s.product.code,
                    "risk_level": s.product.risk_level or None,
                    "reason": s.reason,
                    "expected_gain": s.suggestion.expected_gain,
                }
                for s in shown
            ]
        }

    return router


suggestions_router = build_router()
