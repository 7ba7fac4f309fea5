"""Template filters of the product shelf: motives and rates in words and numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from qiao.core.amounts import as_decimal
from qiao.core.choices import labels
from qiao.core.vocab import CURRENCIES
from qiao.products.models import Motive

register = template.Library()


@register.filter
def motive_labels(motives: Any) -> str:
    """A product's ``ACCUMULATE|APPRECIATE`` as its motives' names; ``—`` for none."""
    names = dict(Motive.choices)
    codes = [m for m in str(motives or "").split("|") if m]
    return ", ".join(str(names.get(m, m)) for m in codes) or "—"


@register.filter
def rate(value: Any) -> str:
    """An annual rate in per cent, two places at least (``2.4000`` → ``2.40%``)."""
    number = as_decimal(value)
    if number is None:
        return "—"
    shown = number.quantize(Decimal("0.0001")).normalize()
    if -shown.as_tuple().exponent < 2:  # type: ignore[operator]
        shown = shown.quantize(Decimal("0.01"))
    return f"{shown:,f}%"


@register.filter
def currency_label(code: Any) -> str:
    """A currency code (``CNY``) by its name (人民币 / Renminbi yuan)."""
    text = str(code or "")
    return str(labels(CURRENCIES).get(text, text or "—"))
