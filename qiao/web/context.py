from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

import qiao


def _perms(request: HttpRequest) -> dict[str, bool]:
    from qiao.org.permissions import (
        ASSIGN_CUSTOMERS,
        EXPORT_CUSTOMERS,
        REFER,
        REVEAL_PII,
        VIEW_AUDIT,
        WORK_OWN_LIST,
        staff_has_perm,
    )
    from qiao.scoring.selectors import can_see_analyst_page

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {
            "analyst": False,
            "assign": False,
            "audit": False,
            "export": False,
            "reveal": False,
            "notifications": False,
            "walk_in": False,
        }
    own_list = staff_has_perm(user, WORK_OWN_LIST)
    return {
        # Who has a work list gets notifications; who refers without one (the lobby and teller
        # role) gets the walk-in lookup.
        "notifications": own_list,
        "walk_in": staff_has_perm(user, REFER) and not own_list,
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
        "qiao_notifications": _Notifications(request),
    }


class _Notifications:
    """The menu's count of new notifications, counted only when a page shows it (one query:
    :func:`qiao.engagement.notifications.notification_count`)."""

    def __init__(self, request: HttpRequest) -> None:
        self._request = request
        self._count: int | None = None

    @property
    def cap(self) -> int:
        """The count stops here; the menu shows one less and "+" (``99+``)."""
        from qiao.engagement.notifications import BADGE_CAP

        return BADGE_CAP

    @property
    def count(self) -> int:
        if self._count is None:
            from qiao.engagement.notifications import notification_count

            user = getattr(self._request, "user", None)
            authenticated = user is not None and user.is_authenticated
            self._count = (
                notification_count(staff=user, cap=self.cap)  # type: ignore[arg-type]
                if authenticated
                else 0
            )
        return self._count
