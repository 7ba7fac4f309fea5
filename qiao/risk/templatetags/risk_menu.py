"""The menu's risk links: who uses which page (qiao/risk/templates/risk/_nav.html)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def risk_menu(user: Any) -> dict[str, bool]:
    from qiao.org.permissions import (
        APPROVE_KEY_ACCOUNTS,
        CONFIRM_WARNINGS,
        DESIGNATE_KEY_ACCOUNTS,
        staff_has_perm,
    )

    if user is None or not getattr(user, "is_authenticated", False):
        return {"risk": False, "key_accounts": False}
    confirm = staff_has_perm(user, CONFIRM_WARNINGS)
    approve = staff_has_perm(user, APPROVE_KEY_ACCOUNTS)
    return {
        "risk": confirm or approve,
        "key_accounts": confirm or approve or staff_has_perm(user, DESIGNATE_KEY_ACCOUNTS),
    }
