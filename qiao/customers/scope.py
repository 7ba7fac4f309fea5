"""Customers a member of staff may see beyond their role's scope, offered by the apps above.

The data scope is one helper (:func:`qiao.customers.selectors.staff_scope_q`): a CM their own
customers, a team lead or outlet head their subtree, a bank-wide role everyone. Some apps above
``customers`` give a person more: a key-account team member (``qiao.risk``) serves the key
accounts whose team they are on, wherever the customer banks. Such an app says so in its app
config's ``customer_scope_extra(staff)``, returning a one-column ``values()`` query of customer
ids (unordered); the scope asks every installed app and names none (docs/architecture.md,
"Layers"), so ``customers`` never imports the app above it.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from django.apps import apps
from django.db.models import QuerySet

from qiao.org.models import Staff


@runtime_checkable
class ExtendsCustomerScope(Protocol):
    """An app config that lets some staff see some customers outside their role's scope."""

    def customer_scope_extra(self, staff: Staff) -> QuerySet[Any] | None: ...


def customer_scope_extras(staff: Staff) -> list[QuerySet[Any]]:
    """The extra customer-id queries of every app for ``staff`` (none: an empty list). Each is
    a query, not a list: the scope stays one SQL statement however many customers it names."""
    found = []
    for config in apps.get_app_configs():
        if isinstance(config, ExtendsCustomerScope):
            qs = config.customer_scope_extra(staff)
            if qs is not None:
                found.append(qs.order_by())
    return found
