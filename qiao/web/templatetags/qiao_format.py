"""Template filters of every page: amounts, percentages, tier and code labels."""

from __future__ import annotations

from typing import Any

from django import template

from qiao.core.amounts import amount as _amount
from qiao.core.amounts import as_decimal, grouped
from qiao.core.amounts import exact_amount as _exact_amount

register = template.Library()


@register.filter
def amount(value: Any) -> str:
    """An amount in yuan as :func:`qiao.core.amounts.amount` shows it."""
    return _amount(value)


@register.filter
def exact_amount(value: Any) -> str:
    """An amount to the fen as :func:`qiao.core.amounts.exact_amount` shows it."""
    return _exact_amount(value)


@register.filter
def yuan(value: Any) -> str:
    """A bare amount with grouped digits and fen, in a column whose heading names the unit
    (tables of transactions)."""
    return grouped(value)


@register.filter
def count(value: Any) -> str:
    """A whole number with grouped digits (``12,345``), in every language."""
    return grouped(value, 0)


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


@register.filter
def may(user: Any, perm: str) -> bool:
    """Whether ``user`` holds ``perm`` (``"org.manage_plans"``): an empty page offers the button
    for what comes next only to those who may press it (qiao.org.permissions.staff_has_perm)."""
    from qiao.org.permissions import staff_has_perm

    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return staff_has_perm(user, str(perm))
