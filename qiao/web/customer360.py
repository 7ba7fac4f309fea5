"""The Customer 360: everything the customer page shows, assembled in one selector.

The page joins three apps: the customer, their accounts and transactions (``qiao.customers``), the
nightly scores and their explanations (``qiao.scoring``), and contacts, tasks and complaints
(``qiao.engagement``). It is put together here, above all three, so none of them reaches into
another's templates or tables, and the view only checks access, audits and renders.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from qiao.core.presence import rows_present
from qiao.core.tiers import tier_label
from qiao.credit.models import ListEntry
from qiao.credit.selectors import NO_MARKS, list_marks
from qiao.customers import lake_views
from qiao.customers.consent import contact_panel
from qiao.customers.forms import reveal_choices
from qiao.customers.models import Customer, CustomerChange
from qiao.customers.selectors import (
    RECENT_MONTHS,
    customer_accounts,
    customer_changes,
    customer_completeness,
    customer_connections,
    customer_ebanking,
    customer_ownership_history,
    customer_payroll,
    customer_transactions_shown,
    mask_field,
)
from qiao.customers.services import REVEALABLE_FIELDS
from qiao.engagement.selectors import engagement_panel
from qiao.org.models import Staff
from qiao.org.permissions import (
    ASSESS_RISK,
    ASSIGN_CUSTOMERS,
    EDIT_CONSENT,
    EDIT_CUSTOMERS,
    REVEAL_PII,
    VIEW_BALANCES,
    staff_has_perm,
)
from qiao.products.models import EBankingService, PayrollRelation
from qiao.risk.selectors import customer_risk_panel
from qiao.scoring.explain import explain_snapshot
from qiao.scoring.selectors import customer_aum_trend_scored, customer_latest_score
from qiao.suitability.assessments import assessment_panel
from qiao.suitability.suggestions import cross_sell_suitable, suggestions_panel
from qiao.web.charts import aum_line_svg


def customer_360(*, staff: Staff, customer: Customer) -> dict[str, Any]:
    """The 360 page's context for ``customer`` as ``staff`` may see it.

    ``customer`` must come from :func:`qiao.customers.selectors.customer_get_for_staff`. Balances
    (the AUM chart among them) are left out for staff without ``org.view_balances``; the page
    masks the other amounts itself (``balance`` filter, ``show_balances``).
    """
    show_balances = staff_has_perm(staff, VIEW_BALANCES)
    # The smaller sections are empty for most customers: one probe says which hold anything and
    # only those are read (the panels of risk, engagement, consent and connections probe their
    # own tables the same way: qiao.core.presence).
    has = rows_present(
        customer.pk,
        {
            "lists": (ListEntry, "customer"),
            "ebanking": (EBankingService, "customer"),
            "payroll": (PayrollRelation, "customer"),
            "changes": (CustomerChange, "customer"),
        },
    )
    accounts = customer_accounts(customer)
    score = customer_latest_score(customer)
    why = explain_snapshot(score)
    # Suitability is a hard block on the 360 too: a cross-sell category or product is shown only
    # when something of it may be put to the customer today (docs/suitability.md, "Everywhere").
    why["cross_sell"] = cross_sell_suitable(customer, why.get("cross_sell") or [])
    trend = customer_aum_trend_scored(score)
    trend_as_of = score.as_of if score is not None and trend is not None else None
    if trend is None:  # not scored yet: from the lake, as of today
        trend = lake_views.customer_aum_trend(customer_no=customer.customer_no, accounts=accounts)
    return {
        "customer": customer,
        "tier": tier_label(customer.tier),
        # On the blacklist or the red list now, and why (docs/keyaccounts.md).
        "lists": list_marks(customer) if has["lists"] else NO_MARKS,
        "masked": {f: mask_field(f, getattr(customer, f)) for f in REVEALABLE_FIELDS},
        "identity_fields": [
            (f, getattr(Customer._meta.get_field(f), "verbose_name", f)) for f in REVEALABLE_FIELDS
        ],
        "completeness": customer_completeness(customer),
        "connections": customer_connections(staff=staff, customer=customer),
        "accounts": accounts,
        "has_assets": any(a.product.category in lake_views.ASSET for a in accounts),
        "trend": trend if show_balances else None,  # the AUM chart is a series of balances
        "trend_as_of": trend_as_of,
        "aum_svg": _aum_svg(trend) if show_balances else "",
        **customer_transactions_shown(customer=customer, months=RECENT_MONTHS),
        "ebanking": customer_ebanking(customer) if has["ebanking"] else [],
        "payroll": customer_payroll(customer) if has["payroll"] else [],
        "score": score,
        "why": why,
        # The night's next-best products, checked again today.
        "suggestions": suggestions_panel(staff=staff, customer=customer),
        "engagement": engagement_panel(customer, staff),
        # Credit, early warning, key-account team, group exposure (qiao.risk, docs/keyaccounts.md).
        "risk": customer_risk_panel(staff=staff, customer=customer),
        # The regulatory tolerance C1–C5 (not the behavioural risk style of the scores).
        "assessment": assessment_panel(customer=customer, accounts=accounts),
        "can_assess": staff_has_perm(staff, ASSESS_RISK),
        # Marketing consent per channel and contact preferences (qiao.customers.consent).
        "contact": contact_panel(customer),
        "can_edit_consent": staff_has_perm(staff, EDIT_CONSENT),
        "owners": customer_ownership_history(customer)[:20],
        "changes": customer_changes(customer, limit=30) if has["changes"] else [],
        "can_reveal": staff_has_perm(staff, REVEAL_PII),
        # One reveal control per section (identity, accounts), offering its masked values.
        "reveal_identity": reveal_choices(customer=customer, section="identity"),
        "reveal_accounts": reveal_choices(customer=customer, section="accounts", accounts=accounts),
        "can_assign": staff_has_perm(staff, ASSIGN_CUSTOMERS),
        "can_edit": staff_has_perm(staff, EDIT_CUSTOMERS),
        "show_balances": show_balances,
    }


def _aum_svg(trend: list[dict[str, Any]] | None) -> str:
    # Chinese readers count in 万元, English readers in yuan.
    wan = (get_language() or "").startswith("zh")
    title = _("AUM (10,000 yuan)") if wan else _("AUM (yuan)")
    return aum_line_svg(trend or [], wan=wan, title=title)
