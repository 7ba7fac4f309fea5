from pathlib import Path

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "qiao.engagement"
    label = "engagement"
    verbose_name = _("Customer engagement")
    default_auto_field = "django.db.models.BigAutoField"

    def export_refs(self, lake: Path) -> None:
        """Write the contact history to ``lake/ref/`` for the nightly scoring (qiao.core.refs)."""
        from qiao.engagement.refs import contacts_export_refs

        contacts_export_refs(lake=lake)
