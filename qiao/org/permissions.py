"""Who may do what: one table of role defaults for every app, plus any explicit Django grant.

Every state-changing service of every app names one of these permissions and checks it with
:func:`require_perm` before it writes (and writes the audit trail after). The permissions are
declared on :class:`qiao.org.models.Staff` (``org.reveal_pii`` …), so an administrator can still
grant one to a single person in the admin (``user_permissions`` or a group), which
:func:`staff_has_perm` honours. Each role gets its defaults here, so a staff member loaded from the
HR extract needs no group set-up. See docs/privacy.md and docs/decisions/0006.

A superuser administers (the admin site, tier and cadence rules); superuser status alone grants
none of the permissions of this table but :data:`EDIT_TIER_RULES`: reading personal data and acting
on customers come from the role or an explicit grant only.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from qiao.org.models import Role, Staff

# -- customers and their personal data
REVEAL_PII = "org.reveal_pii"
EXPORT_CUSTOMERS = "org.export_customers"
#: Ask for an export with ID numbers and mobiles in clear (maker), and approve another's (checker).
EXPORT_PLAIN = "org.export_plain"
APPROVE_EXPORT = "org.approve_export"
#: See balances and AUM in clear (the people who serve the customer); others see them masked.
VIEW_BALANCES = "org.view_balances"
ASSIGN_CUSTOMERS = "org.assign_customers"
VIEW_AUDIT = "org.view_audit"
EDIT_TIER_RULES = "org.edit_tier_rules"
#: Keep one's own saved customer groups (a view of one's scope: create, add to, delete).
SAVE_GROUPS = "org.save_groups"
#: Editing a profile: Django's own model permission.
EDIT_CUSTOMERS = "customers.change_customer"

# -- engagement (the CM's day)
LOG_CONTACT = "org.log_contact"
#: Close one's own work-list items and tasks.
WORK_OWN_LIST = "org.work_own_list"
FILE_COMPLAINT = "org.file_complaint"
#: Update and resolve a complaint (besides this, only its handler or the outlet head: 0006).
HANDLE_COMPLAINT = "org.handle_complaint"
MANAGE_PROSPECTS = "org.manage_prospects"
MANAGE_PLANS = "org.manage_plans"
REFER = "org.refer"

# -- products and suitability
#: Edit the product shelf (products, ratings, rates) through Qiao's pages.
EDIT_PRODUCTS = "org.edit_products"
#: Record a customer's risk assessment with them (and sign it off).
ASSESS_RISK = "org.assess_risk"
#: Record what became of a product suggestion (taken up, declined, not now).
DECIDE_SUGGESTIONS = "org.decide_suggestions"

EDIT_CONSENT = "org.edit_consent"
MANAGE_CAMPAIGNS = "org.manage_campaigns"
APPROVE_CAMPAIGNS = "org.approve_campaigns"

DESIGNATE_KEY_ACCOUNTS = "org.designate_key_accounts"
APPROVE_KEY_ACCOUNTS = "org.approve_key_accounts"
CONFIRM_WARNINGS = "org.confirm_warnings"
#: Propose a worse early-warning state for a customer one serves (the risk manager decides).
PROPOSE_WARNINGS = "org.propose_warnings"
MANAGE_BLACKLIST = "org.manage_blacklist"

# -- performance, reports and surveys (docs/reports.md)
#: Set targets and split them down the org tree (head office for the bank and outlets, the outlet
#: head and team lead for their people).
SET_TARGETS = "org.set_targets"
#: Enter the peer banks' figures shown beside the bank's own in the e-banking analysis.
EDIT_BENCHMARKS = "org.edit_benchmarks"
#: Download a report or scorecard as an .xlsx (masked like the page, audited).
EXPORT_REPORTS = "org.export_reports"
#: Build questionnaires and send surveys.
MANAGE_SURVEYS = "org.manage_surveys"
#: Record a customer's answers to a survey.
RECORD_SURVEY_ANSWERS = "org.record_survey_answers"

_SERVE = frozenset({Role.CM, Role.SENIOR_CM, Role.TEAM_LEAD, Role.OUTLET_HEAD})

#: Role defaults, one row per permission. Head-office analysts, auditors, product and risk
#: managers read (within their scope); the people who serve the customer write.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    REVEAL_PII: _SERVE,
    EXPORT_CUSTOMERS: frozenset({Role.OUTLET_HEAD, Role.ANALYST}),
    EXPORT_PLAIN: frozenset({Role.OUTLET_HEAD}),
    APPROVE_EXPORT: frozenset({Role.OUTLET_HEAD}),
    VIEW_BALANCES: _SERVE,
    ASSIGN_CUSTOMERS: frozenset({Role.OUTLET_HEAD}),
    VIEW_AUDIT: frozenset({Role.AUDITOR}),
    EDIT_TIER_RULES: frozenset({Role.ADMIN}),
    SAVE_GROUPS: _SERVE | {Role.ANALYST, Role.AUDITOR, Role.PRODUCT_MANAGER, Role.RISK_MANAGER},
    EDIT_CUSTOMERS: _SERVE | {Role.ADMIN},
    LOG_CONTACT: _SERVE,
    WORK_OWN_LIST: _SERVE,
    FILE_COMPLAINT: _SERVE | {Role.LOBBY},
    HANDLE_COMPLAINT: _SERVE,
    MANAGE_PROSPECTS: _SERVE,
    MANAGE_PLANS: _SERVE,
    REFER: _SERVE | {Role.LOBBY},
    EDIT_PRODUCTS: frozenset({Role.PRODUCT_MANAGER}),
    ASSESS_RISK: _SERVE,
    DECIDE_SUGGESTIONS: _SERVE,
    # Campaigns (docs/campaigns.md): the CM records consent on the 360; marketing and outlet
    # heads build segments and campaigns; a campaign is approved by someone other than its author.
    EDIT_CONSENT: _SERVE,
    MANAGE_CAMPAIGNS: frozenset({Role.MARKETING, Role.OUTLET_HEAD}),
    APPROVE_CAMPAIGNS: frozenset({Role.MARKETING, Role.OUTLET_HEAD}),
    # Key accounts and credit risk: CMs propose, the outlet head approves, the risk manager
    # confirms warnings and keeps the blacklist (maker–checker).
    DESIGNATE_KEY_ACCOUNTS: _SERVE,
    APPROVE_KEY_ACCOUNTS: frozenset({Role.OUTLET_HEAD}),
    CONFIRM_WARNINGS: frozenset({Role.RISK_MANAGER}),
    PROPOSE_WARNINGS: _SERVE | {Role.RISK_MANAGER},
    MANAGE_BLACKLIST: frozenset({Role.RISK_MANAGER}),
    # Performance, reports and surveys (docs/reports.md).
    SET_TARGETS: frozenset({Role.ANALYST, Role.OUTLET_HEAD, Role.TEAM_LEAD}),
    EDIT_BENCHMARKS: frozenset({Role.ANALYST}),
    EXPORT_REPORTS: _SERVE
    | {Role.ANALYST, Role.AUDITOR, Role.PRODUCT_MANAGER, Role.RISK_MANAGER, Role.MARKETING},
    MANAGE_SURVEYS: frozenset({Role.MARKETING, Role.ANALYST, Role.OUTLET_HEAD}),
    RECORD_SURVEY_ANSWERS: _SERVE | {Role.LOBBY},
}

#: Permissions over customers and their data: never granted by superuser status alone.
EXPLICIT_ONLY_PERMS = frozenset(ROLE_PERMISSIONS) - {EDIT_TIER_RULES}


def staff_has_perm(staff: Staff, perm: str) -> bool:
    """``perm`` by role default or by an explicit grant; never for an inactive account."""
    if not getattr(staff, "is_active", False):
        return False
    if staff.role in ROLE_PERMISSIONS.get(perm, frozenset()):
        return True
    if perm in EXPLICIT_ONLY_PERMS and staff.is_superuser:
        # Django's has_perm answers True to a superuser for everything: look at the grants.
        app_label, codename = perm.split(".", 1)
        return (
            staff.user_permissions.filter(
                content_type__app_label=app_label, codename=codename
            ).exists()
            or staff.groups.filter(
                permissions__content_type__app_label=app_label,
                permissions__codename=codename,
            ).exists()
        )
    return bool(staff.has_perm(perm))


def require_perm(staff: Staff, perm: str) -> None:
    """Raise ``PermissionDenied`` unless ``staff`` has ``perm`` (every write calls this first)."""
    if not staff_has_perm(staff, perm):
        raise PermissionDenied(perm)
