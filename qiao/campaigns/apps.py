from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "qiao.campaigns"
    label = "campaigns"
    verbose_name = _("campaigns")

    def ready(self) -> None:
        # The message platform's delivery and reply reports load through `qiao ingest`.
        from qiao.campaigns.ingest import MESSAGE_RESULTS, apply_message_results
        from qiao.ingest.kinds import register

        register(MESSAGE_RESULTS, apply_message_results)

    def worklist_reasons(self) -> dict[str, Callable[[dict[str, Any]], str]]:
        """The reason of a campaign's call or invitation on the work list, with its script."""
        from django.utils.translation import gettext

        def campaign(params: dict[str, Any]) -> str:
            return gettext("Campaign “%(campaign)s”: %(script)s") % {
                "campaign": params.get("campaign", ""),
                "script": params.get("script", ""),
            }

        return {"CAMPAIGN": campaign}
