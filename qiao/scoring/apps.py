from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "qiao.scoring"
    label = "scoring"
    verbose_name = _("scoring")

    def tier_label_rows(self) -> dict[str, list[tuple[str, str, str]]]:
        """The active tier rule set's tiers and labels, for the pages (qiao.core.tiers)."""
        from qiao.scoring.tiers import tier_label_rows

        return tier_label_rows()
