from pathlib import Path
from typing import Any

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

    def audit_detail_words(self, key: str, value: Any) -> str | None:
        """A list's filter and a customer's fields in words (qiao.audit.display)."""
        from qiao.customers.audit_words import audit_detail_words

        return audit_detail_words(key, value)
