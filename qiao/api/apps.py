from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from qiao.org.models import Staff


class ApiConfig(AppConfig):
    name = "qiao.api"
    label = "api"
    verbose_name = _("api")

    def staff_left(self, staff: Staff) -> None:
        """A leaver's API tokens are deleted (qiao.org.leavers)."""
        from qiao.api.services import api_tokens_revoke

        api_tokens_revoke(staff=staff)
