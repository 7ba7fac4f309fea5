from importlib import import_module

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

#: The report modules of this app; each registers its reports (qiao.core.reports.register) on
#: import. Other apps register theirs from their own ``ready`` (surveys, performance).
REPORT_MODULES = ("ebanking", "growth", "churn", "pyramid", "campaigns")


class ReportsConfig(AppConfig):
    name = "qiao.reports"
    label = "reports"
    verbose_name = _("reports")

    def ready(self) -> None:
        for module in REPORT_MODULES:
            import_module(f"qiao.reports.{module}")

    def worklist_reasons(self):  # type: ignore[no-untyped-def]
        """The words of the e-banking offers' work-list items (qiao.reports.ebanking)."""
        from qiao.reports.ebanking import worklist_reasons

        return worklist_reasons()
