"""Small helpers shared by the tests."""

from __future__ import annotations

from typing import Any

from qiao.customers.models import Customer


def set_standing(customer: Customer, **values: Any) -> Customer:
    """Give ``customer`` the AUM / tier / contribution the nightly scoring would have written."""
    standing = customer.standing
    for name, value in values.items():
        setattr(standing, name, value)
    standing.save()
    return customer
