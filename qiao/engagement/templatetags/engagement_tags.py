"""``{% engagement_panel customer %}``: the contacts, tasks and complaints panel of the 360 page."""

from __future__ import annotations

from typing import Any

from django import template

from qiao.engagement.selectors import engagement_panel as panel_context

register = template.Library()


@register.inclusion_tag("engagement/_customer_panel.html", takes_context=True)
def engagement_panel(context: template.Context, customer: Any, staff: Any = None) -> dict[str, Any]:
    staff = staff or context["request"].user
    return {
        **panel_context(customer, staff),
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
    }
