from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

import qiao


def _perms(request: HttpRequest) -> dict[str, bool]:
    from qiao.org.permissions import (
        ASSIGN_CUSTOMERS,
        EXPORT_CUSTOMERS,
        REVEAL_PII,
        VIEW_AUDIT,
        staff_has_perm,
    )
    from qiao.scoring.selectors import can_see_analyst_page

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"analyst": False, "assign": False, "audit": False, "export": False, "reveal": False}
    return {
        "analyst": can_see_analyst_page(user),
        "assign": staff_has_perm(user, ASSIGN_CUSTOMERS),
        "audit": staff_has_perm(user, VIEW_AUDIT),
        "export": staff_has_perm(user, EXPORT_CUSTOMERS),
        "reveal": staff_has_perm(user, REVEAL_PII),
    }


def qiao_context(request: HttpRequest) -> dict[str, Any]:
    # Lazy: pages that never show the navigation do not pay for the permission checks.
    return {
        "qiao_version": qiao.__version__,
        "qiao_perms": SimpleLazyObject(lambda: _perms(request)),
    }
