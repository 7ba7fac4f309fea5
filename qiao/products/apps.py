from pathlib import Path

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProductsConfig(AppConfig):
    name = "qiao.products"
    label = "products"
    verbose_name = _("products")

    def export_refs(self, lake: Path) -> None:
        """Write products, accounts, e-banking services and payroll relations to ``lake/ref/``
        for the nightly scoring (qiao.core.refs)."""
        from qiao.products.refs import products_export_refs

        products_export_refs(lake=lake)
