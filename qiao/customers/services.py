"""Writes to customers go through these services (keyword-only, ``<entity>_<action>``)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import OuterRef, Subquery

from qiao.customers.models import Customer, Ownership


def customers_refresh_primary_manager(*, customer_ids: Iterable[int]) -> None:
    """Copy each customer's open primary ownership into ``Customer.primary_manager``."""
    ids = sorted(set(customer_ids))
    open_primary = Ownership.objects.filter(
        customer=OuterRef("pk"), role="PRIMARY", end_date__isnull=True
    ).order_by("-start_date", "-id")
    for i in range(0, len(ids), 900):
        Customer.objects.filter(pk__in=ids[i : i + 900]).update(
            primary_manager=Subquery(open_primary.values("staff")[:1])
        )
