"""The product shelf in the REST API: ``GET /api/products``, the catalogue filtered as on the
page (docs/api.md). Mounted on ``qiao.api.api.api`` with ``api.add_router("/", shelf_router)``:
the same token and the same error shape. The catalogue holds no customer data: every staff role
reads it, and reading it is not audited (as the page)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from qiao.core.errors import ApplicationError
from qiao.org.http import ErrorOut
from qiao.suitability.shelf import products_filter
from qiao.suitability.shelf_forms import ShelfFilterForm


class ProductOut(Schema):
    code: str
    name: str
    category: str
    risk_level: str | None = Field(
        description="R1..R5: the higher of the issuer's and the bank's ratings; null if unrated."
    )
    currency: str
    sale_status: str = Field(description="NEW_ISSUE, ON_SALE, CLOSING or CLOSED.")
    min_amount: Decimal | None
    term_days: int | None
    rate: Decimal | None = Field(description="Annual rate in per cent.")
    private: bool = Field(description="For qualified investors only.")
    motives: list[str] = Field(description="ACCUMULATE, APPRECIATE, LOAN.")


class ProductList(Schema):
    items: list[ProductOut]


shelf_router = Router(tags=["products"])


@shelf_router.get(
    "/products",
    response={200: ProductList, 400: ErrorOut},
    summary="The product shelf, filtered as on the page",
)
def products(
    request: HttpRequest,
    category: str = "",
    risk_level: str = "",
    motive: str = "",
    currency: str = "",
    term: str = "",
    amount: Decimal | None = None,
    sale_status: str = "",
    q: str = "",
) -> Any:
    """Filters as the page: ``term`` is ``OPEN``, ``U3M``, ``U1Y`` or ``O1Y``; ``amount`` (yuan)
    keeps the products whose minimum amount is at most it (not a number: 422). A bad filter:
    400 naming it."""
    data = {
        "category": category,
        "risk_level": risk_level,
        "motive": motive,
        "currency": currency,
        "term": term,
        "amount": "" if amount is None else str(amount),
        "sale_status": sale_status,
        "q": q,
    }
    form = ShelfFilterForm(data=data)
    if not form.is_valid():
        raise ApplicationError(
            _("The filter is not valid."),
            fields={f: " ".join(str(m) for m in msgs) for f, msgs in form.errors.items()},
        )
    return {
        "items": [
            {
                "code": p.code,
                "name": p.name,
                "category": p.category,
                "risk_level": p.risk_level or None,
                "currency": p.currency,
                "sale_status": p.sale_status,
                "min_amount": p.min_amount,
                "term_days": p.term_days,
                "rate": p.rate,
                "private": p.private,
                "motives": [m for m in (p.motives or "").split("|") if m],
            }
            for p in products_filter(filters=form.filters())
        ]
    }
