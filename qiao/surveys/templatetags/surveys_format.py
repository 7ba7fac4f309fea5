"""How a report cell is shown on the survey pages, by its column's kind."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils.formats import date_format

from qiao.core.amounts import grouped

register = template.Library()


@register.filter
def cell(value: Any, kind: str) -> str:
    if value is None or value == "":
        return "—"
    if kind == "int":
        return grouped(value, 0)
    if kind == "pct":
        return f"{float(value) * 100:.1f}%"
    if kind == "float":
        return f"{float(value):.1f}"
    if kind == "date" and isinstance(value, dt.date):
        return date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


@register.filter
def get_cell(row: dict[str, Any], key: str) -> Any:
    return row.get(key)
