"""A measure's value as a person reads it: amounts as the bank shows them, counts with thousands
separators, shares as percentages (docs/reports.md)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from qiao.core.amounts import amount, as_decimal

register = template.Library()


@register.filter
def measure_value(value: Any, kind: str) -> str:
    number = as_decimal(value)
    if number is None:
        return "—"
    if kind == "money":
        return amount(number)
    if kind == "count":
        return f"{round(number):,}"
    if kind == "ratio":
        return f"{number * 100:,.1f}%"
    return f"{number:,.2f}"


@register.filter
def rank_of(rank: Any, of: Any) -> str:
    """``3 of 12``; ``—`` when not ranked."""
    if rank is None:
        return "—"
    return _("%(rank)s of %(of)s") % {"rank": f"{int(rank):,}", "of": f"{int(of):,}"}
