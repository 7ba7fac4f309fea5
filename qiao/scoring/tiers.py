"""The tiers of the active tier rule set, for the labels every page shows (qiao.core.tiers)."""

from __future__ import annotations

from qiao.analytics.tiers import parse_tier_rules
from qiao.scoring.models import TierRuleSet


def tier_label_rows() -> dict[str, list[tuple[str, str, str]]]:
    """Scheme → ``(code, label_en, label_zh)`` of each tier, best first, then the overrides.

    The active rule set of the admin, else ``qiao/analytics/config/tiers.toml``.
    """
    rule_set = TierRuleSet.objects.filter(active=True).order_by("-updated_at").first()
    try:
        schemes = parse_tier_rules(rule_set.rules if rule_set else None)
    except (ValueError, TypeError, KeyError):  # the admin validates; never break a page on it
        schemes = parse_tier_rules(None)
    return {
        name: [
            (code, scheme.tier(code).label_en, scheme.tier(code).label_zh) for code in scheme.codes
        ]
        for name, scheme in schemes.items()
    }
