"""Customers a member of staff may see beyond their role's scope, offered by the apps above.

The data scope is one helper (:func:`qiao.customers.selectors.staff_scope_q`): a CM their own
customers, a team lead or outlet head their subtree, a bank-wide role everyone. Some apps above
``customers`` give a person more: a key-account team member (``qiao.risk``) serves the key
accounts whose team they are on, wherever the customer banks. Such an app says so in its app
config's ``customer_scope_extra(staff)``, returning a one-column ``values()`` query of customer
ids (unordered); the scope asks every installed app and names none (docs/architecture.md,
"Layers"), so ``customers`` never imports the app above it.

A CM's scope takes the extra customers in one ``UNION`` with their ownership rows (no query
more, the same semi-join). A subtree's would be an ``OR`` with the subtree — a plan that cannot
use the outlet's index — so for those roles the scope first asks whether the extras hold anyone
(one indexed query), remembered on the staff object (a request's ``request.user``); an app that
changes what it grants someone calls :func:`customer_scope_forget` with that person.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from django.db.models import QuerySet

from qiao.core.extensions import app_configs_offering
from qiao.org.models import Staff


@runtime_checkable
class ExtendsCustomerScope(Protocol):
    """An app config that lets some staff see some customers outside their role's scope."""

    def customer_scope_extra(self, staff: Staff) -> QuerySet[Any] | None: ...


#: Remembered on a staff object: whether the apps' extras hold any customer for them.
_HAS_EXTRA = "_qiao_scope_has_extra"


def customer_scope_has_extra(staff: Staff, extra: QuerySet[Any]) -> bool:
    """Does ``extra`` (the union of :func:`customer_scope_extras`) name anyone? Asked once per
    staff object."""
    found = getattr(staff, _HAS_EXTRA, None)
    if found is None:
        found = extra.exists()
        setattr(staff, _HAS_EXTRA, found)
    return bool(found)


def customer_scope_forget(staff: Staff) -> None:
    """What the apps grant ``staff`` changed: the next scope asks again."""
    staff.__dict__.pop(_HAS_EXTRA, None)


def customer_scope_extras(staff: Staff) -> list[QuerySet[Any]]:
    """The extra customer-id queries of every app for ``staff`` (none: an empty list). Each is
    a query, not a list: the scope stays one SQL statement however many customers it names."""
    found = []
    for config in app_configs_offering(ExtendsCustomerScope):
        qs = config.customer_scope_extra(staff)
        if qs is not None:
            found.append(qs.order_by())
    return found
