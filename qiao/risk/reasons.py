"""Early-warning reasons in the reader's language: stored as codes and language-neutral
parameters (``WarningTransition.reasons``), rendered here when read."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from qiao.core.amounts import amount
from qiao.core.choices import labels
from qiao.core.vocab import LOAN_CLASSES, SIGNAL_KINDS, WARNING_STATES

TEMPLATES: dict[str, Any] = {
    "LOAN_CLASS": _("A loan is classified %(loan_class)s"),
    "WRITTEN_OFF": _("A loan was written off"),
    "OVERDUE": _("A loan is %(days)s days overdue"),
    "DEPOSIT_OUTFLOW": _("Deposits fell %(pct)s%% (%(amount)s) against the baseline"),
    "AUM_DECLINE": _("Assets fell %(pct)s%% over %(months)s months"),
    "SETTLEMENT_DECLINE": _(
        "Settlement flows fell %(pct)s%% over the last %(months)s months (from %(amount)s a month)"
    ),
    "UTILISATION_JUMP": _("Credit drawn rose from %(old)s%% to %(new)s%% of the limits"),
    "RISK_SIGNAL": _("External risk signal: %(kind)s"),
    "LINKED": _("A member of its group, or its guarantor, is in warning"),
    "BLACKLISTED": _("On the blacklist"),
    "NO_IMPROVEMENT": _("Watched for %(days)s days without improvement"),
    "CLEARED": _("No warning trigger any more"),
    "STAFF": _("Proposed by staff"),
}


def state_label(code: str) -> str:
    return str(labels(WARNING_STATES).get(code, code))


def render_reason(code: str, params: dict[str, Any]) -> str:
    template = TEMPLATES.get(code)
    if template is None:
        return str(code)
    p = dict(params or {})
    if "loan_class" in p:
        p["loan_class"] = str(labels(LOAN_CLASSES).get(p["loan_class"], p["loan_class"]))
    if "kind" in p:
        p["kind"] = str(labels(SIGNAL_KINDS).get(p["kind"], p["kind"] or "—"))
    if "amount" in p:
        # The one amount rule (qiao.core.amounts): 万元 in Chinese, ¥ with separators in English.
        p["amount"] = amount(p["amount"])
    try:
        return str(template) % p
    except (KeyError, TypeError, ValueError):
        return str(template)


def render_reasons(reasons: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Each reason as ``{"code", "text", "state"}`` (text and state in the reader's language)."""
    out = []
    for r in reasons or []:
        params = r.get("params") or {}
        out.append(
            {
                "code": str(r.get("code", "")),
                "text": render_reason(str(r.get("code", "")), params),
                "state": state_label(params["state"]) if params.get("state") else "",
            }
        )
    return out
