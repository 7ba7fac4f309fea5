"""qiao.core.lookups: ``__among`` finds what ``__in`` finds, with the ids as one value."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from qiao.customers.models import Customer
from qiao.org.models import OrgUnit
from qiao.products.models import Account, Product
from tests.factories import make_account, make_customer, make_unit

pytestmark = pytest.mark.django_db


def _bank() -> tuple[list[Customer], OrgUnit]:
    unit = make_unit("O1", "OUTLET", None)
    customers = [make_customer(f"C{i:03d}", f"客户{i}", unit) for i in range(6)]
    return customers, unit


def test_among_answers_as_in_on_keys_and_foreign_keys_in_one_parameter():
    customers, _unit = _bank()
    product = Product.objects.create(code="DEM", name="活期存款", category="DEPOSIT")
    for c in customers[::2]:
        make_account(c, product, 100)
    ids = [c.pk for c in customers]
    # More ids than SQLite once allowed parameters, most of them unknown: still one parameter.
    wanted = ids[1:4] + list(range(10**6, 10**6 + 1500))
    qs = Customer.objects.filter(pk__among=wanted).values_list("pk", flat=True)
    _sql, params = qs.query.sql_with_params()
    assert len(params) == 1
    with CaptureQueriesContext(connection) as ctx:
        got = set(qs)
    assert got == set(ids[1:4])
    assert len(ctx.captured_queries) == 1
    held = set(
        Account.objects.filter(customer_id__among=ids, product=product).values_list(
            "customer_id", flat=True
        )
    )
    assert held == {c.pk for c in customers[::2]}
    # Nothing to look up: no query sent (as __in=[]), whether it filters, updates or is negated.
    with CaptureQueriesContext(connection) as ctx:
        assert list(Customer.objects.filter(pk__among=[])) == []
        assert Customer.objects.filter(pk__among=[]).update(name="x") == 0
    assert ctx.captured_queries == []
    assert Customer.objects.exclude(pk__among=[]).count() == len(ids)
    assert Customer.objects.filter(Q(pk__among=[]) | Q(pk=ids[0])).count() == 1
    # Combined with other conditions and negated, as any lookup.
    assert set(Customer.objects.exclude(pk__among=ids[:2]).values_list("pk", flat=True)) == set(
        ids[2:]
    )


def test_among_takes_integers_only():
    with pytest.raises(TypeError):
        list(Customer.objects.filter(pk__among="123"))
    with pytest.raises(ValueError):
        list(Customer.objects.filter(pk__among=["1; DROP TABLE x"]))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=-(2**40), max_value=2**40), max_size=50))
def test_among_equals_in_for_any_ids(extra):
    customers = list(Customer.objects.all()) or _bank()[0]
    ids = [c.pk for c in customers]
    wanted = ids[::3] + extra
    among = set(Customer.objects.filter(pk__among=wanted).values_list("pk", flat=True))
    in_ = set(Customer.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    assert among == in_
