"""Amounts as a Chinese bank shows them — the one rule for every page (docs/workbench.md,
"Amounts"):

- :func:`amount` for a customer's money and what is reckoned in it (AUM, balances, contribution,
  value at stake, a prospect's expected value, a plan's target and progress, a referral's amount,
  exposures and limits): ``123.46万元`` in Chinese, ``¥1,234,567.89`` in English.
- :func:`exact_amount` where every fen counts (a cost per contact, a campaign's cost):
  ``13.70元`` in Chinese, ``¥13.70`` in English.
- :func:`grouped` for a bare number in a column whose heading names the unit (a transaction's
  amount, a count): ``1,234.50``.

Every one groups digits by three with a comma, in every language.
"""

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


def grouped(value: Any, places: int = 2) -> str:
    """``value`` with digits grouped by three (``1,234.50``); ``—`` if none."""
    number = as_decimal(value)
    if number is None:
        return "—"
    return f"{number:,.{int(places)}f}"


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


def exact_amount(value: Any) -> str:
    """An amount to the fen: ``1,234.56元`` in Chinese, ``¥1,234.56`` in English; ``—`` if none.

    For small sums that 万元 with two decimals would show as nothing (a contact costs cents)."""
    number = as_decimal(value)
    if number is None:
        return "—"
    yuan = number.quantize(Decimal("0.01"))
    if _chinese():
        return _("%(n)s yuan") % {"n": f"{yuan:,.2f}"}
    return f"{'-' if yuan < 0 else ''}¥{yuan.copy_abs():,.2f}"
