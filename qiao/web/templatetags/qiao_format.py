"""Template filters of every page: amounts, percentages, tier and code labels."""

from __future__ import annotations

from typing import Any

from django import template

from qiao.core.amounts import amount as _amount
from qiao.core.amounts import as_decimal

register = template.Library()


@register.filter
def amount(value: Any) -> str:
    """An amount in yuan as :func:`qiao.core.amounts.amount` shows it."""
    return _amount(value)


@register.filter
def yuan(value: Any) -> str:
    """An amount in whole yuan with grouped digits (tables of transactions)."""
    number = as_decimal(value)
    if number is None:
        return "—"
    return f"{number:,.2f}"


@register.filter
def percent(value: Any, places: int = 0) -> str:
    """A probability 0–1 as a percentage."""
    number = as_decimal(value)
    if number is None:
        return "—"
    return f"{number * 100:.{int(places)}f}%"


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


@register.filter(name="tier_label")
def tier_label_filter(tier: Any) -> str:
    """A pyramid tier code (``GOLD``) as its name in the tier rule set (qiao.core.tiers)."""
    from qiao.core.tiers import tier_label

    return tier_label(str(tier or ""))


@register.filter(name="code_label")
def code_label_filter(code: Any) -> str:
    """A stage, motive, risk style, channel, transaction type or category code, in words."""
    from qiao.core.labels import code_label

    return code_label(code)
