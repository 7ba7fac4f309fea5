from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    name = "qiao.risk"
    label = "risk"
    verbose_name = _("key accounts and risk")

    def ready(self) -> None:
        # The early-warning list on the reports page, in the API and in Excel (docs/reports.md).
        from qiao.core.reports import register
        from qiao.risk.reports import REPORTS

        for report in REPORTS:
            register(report)

    def worklist_generators(self):  # type: ignore[no-untyped-def]
        """Key-account visits, early-warning reviews and exit plans (qiao.engagement.worklist)."""
        from qiao.risk.worklist import worklist_generators

        return worklist_generators()

    def customer_scope_extra(self, staff):  # type: ignore[no-untyped-def]
        """A key-account team member sees the key accounts they serve (qiao.customers.scope)."""
        from qiao.risk.selectors import team_customer_ids

        return team_customer_ids(staff)

    def worklist_reasons(self):  # type: ignore[no-untyped-def]
        from qiao.risk.worklist import worklist_reasons

        return worklist_reasons()
