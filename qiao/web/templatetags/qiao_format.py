"""Amounts as a Chinese bank shows them: 万元 in Chinese, grouped yuan in English."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import translation
from django.utils.translation import gettext as _

register = template.Library()

_WAN = Decimal(10_000)


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _chinese() -> bool:
    return (translation.get_language() or "").lower().startswith("zh")


@register.filter
def amount(value: Any) -> str:
    """An amount in yuan: ``123.46万元`` in Chinese, ``¥1,234,567.89`` in English; ``—`` if none."""
    number = _decimal(value)
    if number is None:
        return "—"
    if _chinese():
        wan = (number / _WAN).quantize(Decimal("0.01"))
        return _("%(n)s万元") % {"n": f"{wan.copy_abs() if wan == 0 else wan:,.2f}"}
    yuan = number.quantize(Decimal("0.01"))
    return f"{'-' if yuan < 0 else ''}¥{yuan.copy_abs():,.2f}"


@register.filter
def yuan(value: Any) -> str:
    """An amount in whole yuan with grouped digits (tables of transactions)."""
    number = _decimal(value)
    if number is None:
        return "—"
    return f"{number:,.2f}"


@register.filter
def percent(value: Any, places: int = 0) -> str:
    """A probability 0–1 as a percentage."""
    number = _decimal(value)
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
    """A pyramid tier code (``GOLD``) as its translated name."""
    from qiao.customers.selectors import tier_label

    return tier_label(str(tier or ""))


@register.filter(name="code_label")
def code_label_filter(code: Any) -> str:
    """A stage, motive, risk style, channel, transaction type or category code, in words."""
    from qiao.core.labels import code_label

    return code_label(code)
