from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "qiao.engagement"
    label = "engagement"
    verbose_name = _("Customer engagement")
    default_auto_field = "django.db.models.BigAutoField"
