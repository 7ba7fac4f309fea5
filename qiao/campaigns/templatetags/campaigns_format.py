"""Template filters of the campaign pages: shares and percentage points, status badges, and
whether the menu shows "Campaigns" to a member of staff."""

from __future__ import annotations

from typing import Any

from django import template

from qiao.campaigns.charts import pct, points
from qiao.campaigns.models import CampaignStatus
from qiao.campaigns.services import READ_ROLES
from qiao.org.permissions import APPROVE_CAMPAIGNS, MANAGE_CAMPAIGNS, staff_has_perm

register = template.Library()

_BADGES = {
    CampaignStatus.DRAFT: "text-bg-light border",
    CampaignStatus.SUBMITTED: "text-bg-warning",
    CampaignStatus.APPROVED: "text-bg-info",
    CampaignStatus.REFUSED: "text-bg-danger",
    CampaignStatus.SENDING: "text-bg-primary",
    CampaignStatus.RUNNING: "text-bg-success",
    CampaignStatus.FINISHED: "text-bg-secondary",
    CampaignStatus.STOPPED: "text-bg-dark",
}


@register.filter
def share(value: Any, places: int = 1) -> str:
    """A share 0–1 as a percentage with one decimal (``12.3%``)."""
    return pct(value, int(places))


@register.filter
def pp(value: Any, places: int = 1) -> str:
    """A difference of shares in signed percentage points (``+2.4 pp``)."""
    return points(value, int(places))


@register.filter
def status_badge(status: Any) -> str:
    return _BADGES.get(str(status), "text-bg-light")  # type: ignore[call-overload]


@register.filter
def reads_campaigns(staff: Any) -> bool:
    """Whether the menu shows "Campaigns": the roles that read them (bank-wide and subtree
    roles, qiao.campaigns.services.READ_ROLES) and whoever makes or approves them."""
    if not getattr(staff, "is_authenticated", False):
        return False
    return (
        staff.role in READ_ROLES
        or staff_has_perm(staff, MANAGE_CAMPAIGNS)
        or staff_has_perm(staff, APPROVE_CAMPAIGNS)
    )


@register.filter
def message_language(code: Any) -> str:
    """A message template's language code (``zh-hant``) in words."""
    from qiao.core.choices import labels
    from qiao.core.vocab import CUSTOMER_LANGUAGES

    return str(labels(CUSTOMER_LANGUAGES).get(str(code), code))


@register.filter
def cost(value: Any) -> str:
    """A campaign's cost to the fen (``13.70元``, ``¥13.70``, qiao.core.amounts.exact_amount):
    contacts cost cents, which 万元 with two decimals would show as nothing."""
    from qiao.core.amounts import exact_amount

    return exact_amount(value)
