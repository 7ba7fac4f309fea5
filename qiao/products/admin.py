from django.contrib import admin

from qiao.products.models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """The product catalogue with risk levels and motives (product managers keep it current)."""

    list_display = [
        "code",
        "name",
        "category",
        "risk_level",
        "min_amount",
        "term_days",
        "motives",
        "rate",
    ]
    list_filter = ["category", "risk_level"]
    search_fields = ["code", "name"]
