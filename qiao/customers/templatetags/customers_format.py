"""Template helpers of the customer pages: balances for those who may see them, the export menu."""

from __future__ import annotations

from typing import Any

from django import template

from qiao.core.amounts import amount

register = template.Library()

#: How an amount is shown to someone without ``org.view_balances`` (docs/privacy.md).
BALANCE_MASK = "***"


@register.filter
def balance(value: Any, shown: bool) -> str:
    """An amount (AUM, balance, contribution) as :func:`amount` shows it, or ``***`` when the
    viewer may not see balances (``shown`` is the view's ``show_balances``)."""
    return amount(value) if shown else BALANCE_MASK


@register.filter
def uses_plain_exports(user: Any) -> bool:
    """Whether the menu shows *Plain exports*: the user may ask for one or approve them."""
    from qiao.org.permissions import APPROVE_EXPORT, EXPORT_PLAIN, staff_has_perm

    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return staff_has_perm(user, EXPORT_PLAIN) or staff_has_perm(user, APPROVE_EXPORT)
