"""The product shelf, write side: the product manager creates and changes products through
Qiao's pages. Every write checks ``org.edit_products`` first and is audited (``PRODUCT_EDIT``,
with what changed); a changed rate adds a row to the rate history (source ``PAGE``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core.suitability import effective_level
from qiao.org.models import Staff
from qiao.org.permissions import EDIT_PRODUCTS, require_perm
from qiao.products.models import Product, ProductRate, RateSource

#: The fields the product manager edits (``risk_level`` follows from the two ratings).
EDITABLE = (
    "name",
    "category",
    "issuer_risk_level",
    "seller_risk_level",
    "issuer",
    "private",
    "currency",
    "sale_status",
    "min_amount",
    "term_days",
    "issue_date",
    "maturity_date",
    "motives",
    "rate",
)


def _shown(value: Any) -> Any:
    if isinstance(value, Decimal | dt.date):
        return str(value)
    return value


def _rate_record(product: Product, *, by: Staff, on: dt.date) -> None:
    if product.rate is not None:
        ProductRate.objects.create(
            product=product,
            effective=on,
            rate=product.rate,
            source=RateSource.PAGE,
            recorded_by=by.username,
        )


@transaction.atomic
def product_create(*, by: Staff, code: str, data: dict[str, Any], ip: str | None = None) -> Product:
    """A new product on the shelf (its rate, if any, starts the rate history)."""
    require_perm(by, EDIT_PRODUCTS)
    product = Product(code=code, **{f: data[f] for f in EDITABLE if f in data})
    product.risk_level = effective_level(product.issuer_risk_level, product.seller_risk_level)
    product.full_clean()
    product.save()
    _rate_record(product, by=by, on=timezone.localdate())
    audit_record(
        request_or_staff=by,
        action=Action.PRODUCT_EDIT,
        ip=ip,
        detail={
            "product": product.code,
            "created": True,
            "changes": {
                f: [None, _shown(getattr(product, f))]
                for f in (*EDITABLE, "risk_level")
                if getattr(product, f) not in (None, "")
            },
        },
    )
    return product


@transaction.atomic
def product_update(
    *, product: Product, by: Staff, data: dict[str, Any], ip: str | None = None
) -> dict[str, list[Any]]:
    """Change ``product``; returns ``{field: [old, new]}`` (empty when nothing changed: then
    nothing is written and nothing audited)."""
    require_perm(by, EDIT_PRODUCTS)
    before = {f: getattr(product, f) for f in (*EDITABLE, "risk_level")}
    for f in EDITABLE:
        if f in data:
            setattr(product, f, data[f])
    product.risk_level = effective_level(product.issuer_risk_level, product.seller_risk_level)
    changes = {
        f: [_shown(old), _shown(getattr(product, f))]
        for f, old in before.items()
        if old != getattr(product, f)
    }
    if not changes:
        return {}
    product.full_clean()
    product.save(update_fields=sorted(changes))
    if "rate" in changes:
        _rate_record(product, by=by, on=timezone.localdate())
    audit_record(
        request_or_staff=by,
        action=Action.PRODUCT_EDIT,
        ip=ip,
        detail={"product": product.code, "changes": changes},
    )
    return changes
