from pathlib import Path

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "qiao.customers"
    label = "customers"
    verbose_name = _("customers")

    def export_refs(self, lake: Path) -> None:
        """Write the customers to ``lake/ref/`` for the nightly scoring (qiao.core.refs)."""
        from qiao.customers.refs import customers_export_refs

        customers_export_refs(lake=lake)
