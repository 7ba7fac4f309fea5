"""Work-list reasons: stored as a code and language-neutral parameters, rendered on reading."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from qiao.core.amounts import amount, as_decimal
from qiao.core.labels import CODE_LABELS
from qiao.core.tiers import tier_label

REASONS: dict[str, Any] = {
    "CADENCE_NEVER": _(
        "%(requirement)s due (%(tier)s: every %(interval)s days); none in the last %(window)s days"
    ),
    "CADENCE_LAST": _(
        "%(requirement)s due by %(due)s (%(tier)s: every %(interval)s days); last on %(last)s"
    ),
    "LARGE_INFLOW": _("Large inflow of %(amount)s on %(date)s"),
    "LARGE_OUTFLOW": _("Large outflow of %(amount)s on %(date)s"),
    "MATURITY": _("%(product)s of %(amount)s matures on %(date)s"),
    "BIRTHDAY": _("Birthday on %(date)s: send greetings"),
    "FESTIVAL": _("%(festival)s on %(date)s: send greetings"),
    "TIER_DOWN": _("Tier fell from %(old)s to %(new)s (scored %(date)s)"),
    "ATTRITION_UP": _("Attrition risk rose to %(prob)s%% (scored %(date)s)"),
    "REFERRAL": _("Referral: %(reason)s, from %(by)s on %(date)s"),
    "PROSPECT_REVIEW": _("Review prospect card %(number)s (grade %(grade)s)"),
    "COMPLAINT_DUE": _("Complaint “%(subject)s” must be resolved by %(deadline)s"),
    "PRODUCT_NEW": _("New on the shelf: %(product)s, suitable for this customer"),
    "RATE_CHANGE": _(
        "%(product)s: rate changed from %(old)s%% to %(new)s%% on %(date)s; suitable for this "
        "customer"
    ),
    "ASSESS_EXPIRING": _(
        "Risk assessment (%(tolerance)s) expires on %(date)s: re-assess before the next risk "
        "product"
    ),
    "REASSESS": _(
        "Behaves as %(style)s, well above the assessed %(tolerance)s (assessed %(date)s): "
        "offer a re-assessment"
    ),
    "MONEY_FREE": _("%(amount)s coming free: suggest %(product)s (scored %(date)s)"),
}


def _money(value: Any) -> str:
    """An amount as every page shows it (qiao.core.amounts: 万元 in Chinese, ¥ in English)."""
    if as_decimal(value) is None:  # a malformed parameter renders as given, not breaking the page
        return str(value)
    return amount(value)


@lru_cache(maxsize=16)
def _labels(language: str) -> dict[str, dict[Any, str]]:
    """Label maps rendered once per language (the work list renders many reasons at once)."""
    from qiao.engagement.festivals import FESTIVAL_NAMES
    from qiao.engagement.models import ReferralReason, Requirement

    return {
        "requirement": {k: str(v) for k, v in Requirement.choices},
        "festival": {k: str(v) for k, v in FESTIVAL_NAMES.items()},
        "reason": {k: str(v) for k, v in ReferralReason.choices},
        "templates": {k: str(v) for k, v in REASONS.items()},
        "codes": {**_tolerance_labels(), **{k: str(v) for k, v in CODE_LABELS.items()}},
    }


def _tolerance_labels() -> dict[str, str]:
    from qiao.suitability.models import Tolerance

    return {k: f"{k} {v}" for k, v in Tolerance.choices}


@lru_cache(maxsize=1)
def app_reasons() -> dict[str, Any]:
    """Reason code → renderer ``params → text`` of the apps above engagement: an app config's
    ``worklist_reasons()`` (their items are made by :func:`.worklist.app_generators`)."""
    from django.apps import apps

    found: dict[str, Any] = {}
    for config in apps.get_app_configs():
        hook = getattr(config, "worklist_reasons", None)
        if hook is not None:
            found.update(hook())
    return found


def render_reason(code: str, params: dict[str, Any]) -> str:
    labels = _labels(translation.get_language() or "")
    template = labels["templates"].get(code)
    if template is None:
        renderer = app_reasons().get(code)
        return str(renderer(params or {})) if renderer is not None else code
    p = dict(params or {})
    for key, kind in (
        ("requirement", "requirement"),
        ("festival", "festival"),
        ("reason", "reason"),
    ):
        if key in p:
            p[key] = labels[kind].get(p[key], p[key] or "—")
    # Tiers as the tier rule set names them now (an analyst may rename one in the admin).
    for key in ("tier", "old", "new"):
        if key in p:
            p[key] = tier_label(p[key])
    # The assessed tolerance (C1–C5) and the behavioural risk style, in words.
    for key in ("tolerance", "style"):
        if key in p:
            p[key] = labels["codes"].get(p[key], p[key] or "—")
    if "amount" in p:
        p["amount"] = _money(p["amount"])
    try:
        return template % p
    except (KeyError, TypeError, ValueError):
        return template


def render_english(code: str, params: dict[str, Any]) -> str:
    with translation.override("en"):
        return render_reason(code, params)[:300]
