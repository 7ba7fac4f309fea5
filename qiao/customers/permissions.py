"""Who may do what beyond seeing a customer: role defaults, plus any explicit Django grant.

The permissions themselves are declared on :class:`qiao.org.models.Staff` (``org.reveal_pii`` …).
Every role gets its defaults here, in one table, so that a staff member loaded from the HR extract
needs no group set-up; an administrator can still grant a permission to one person in the admin
(``user_permissions`` or a group), which :func:`staff_has_perm` honours. See docs/privacy.md.
"""

from __future__ import annotations

from qiao.org.models import Role, Staff

REVEAL_PII = "org.reveal_pii"
EXPORT_CUSTOMERS = "org.export_customers"
ASSIGN_CUSTOMERS = "org.assign_customers"
VIEW_AUDIT = "org.view_audit"
#: Editing a profile: Django's own model permission, granted by role to the people who serve
#: customers (head-office analysts and auditors read, they do not write).
EDIT_CUSTOMERS = "customers.change_customer"

#: Role defaults. Revealing stays with the people who serve the customer (and only within their data
#: scope, which every caller checks first); head-office analysts work on masked data.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    REVEAL_PII: frozenset({Role.CM, Role.SENIOR_CM, Role.TEAM_LEAD, Role.OUTLET_HEAD}),
    EXPORT_CUSTOMERS: frozenset({Role.OUTLET_HEAD, Role.ANALYST}),
    ASSIGN_CUSTOMERS: frozenset({Role.OUTLET_HEAD}),
    VIEW_AUDIT: frozenset({Role.AUDITOR}),
    EDIT_CUSTOMERS: frozenset(
        {Role.CM, Role.SENIOR_CM, Role.TEAM_LEAD, Role.OUTLET_HEAD, Role.ADMIN}
    ),
}


def staff_has_perm(staff: Staff, perm: str) -> bool:
    """``perm`` by role default or by an explicit grant; never for an inactive account."""
    if not getattr(staff, "is_active", False):
        return False
    if staff.role in ROLE_PERMISSIONS.get(perm, frozenset()):
        return True
    return bool(staff.has_perm(perm))
