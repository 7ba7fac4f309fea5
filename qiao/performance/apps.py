from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PerformanceConfig(AppConfig):
    name = "qiao.performance"
    label = "performance"
    verbose_name = _("performance and targets")

    def ready(self) -> None:
        # The targets extract loads through `qiao ingest` (docs/data-interface.md, "targets"),
        # after the staff and units it names.
        from qiao.core.reports import register as register_report
        from qiao.ingest.kinds import register

        from .ingest import TARGETS, apply_targets
        from .reports import REPORTS

        register(TARGETS, apply_targets, after="staff")
        # The scorecards and the staffing in the reports' page, API and workbook (qiao.core.reports).
        for report in REPORTS:
            register_report(report)
