"""Amounts as a Chinese bank shows them: 万元 in Chinese, grouped yuan in English."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

_WAN = Decimal(10_000)


def as_decimal(value: Any) -> Decimal | None:
    """``value`` as a ``Decimal``; ``None`` for nothing or for what is not a number."""
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _chinese() -> bool:
    return (translation.get_language() or "").lower().startswith("zh")


def amount(value: Any) -> str:
    """An amount in yuan: ``123.46万元`` in Chinese, ``¥1,234,567.89`` in English; ``—`` if none."""
    number = as_decimal(value)
    if number is None:
        return "—"
    if _chinese():
        wan = (number / _WAN).quantize(Decimal("0.01"))
        return _("%(n)s万元") % {"n": f"{wan.copy_abs() if wan == 0 else wan:,.2f}"}
    yuan = number.quantize(Decimal("0.01"))
    return f"{'-' if yuan < 0 else ''}¥{yuan.copy_abs():,.2f}"
