"""Every way a customer is created gives them a standing, because the lists inner-join it
(decision 0005): a customer without one would be missing from every list.

The creators: the ingest (in bulk, ``standings_create``) and ``customer_create`` (one at a time:
the test factories of tests/workbench and tests/engagement, whose ``set_standing`` reads the
standing and would fail without it). ``Customer.save`` itself has no side effect.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from qiao.customers.models import Customer, CustomerStanding
from qiao.customers.selectors import with_standing
from qiao.customers.services import customer_create
from qiao.ingest.services import ingest_paths
from qiao.org.models import OrgUnit
from tests.ingest.conftest import CUSTOMERS, ORG, write

pytestmark = pytest.mark.django_db


def listed(customer: Customer) -> bool:
    """Whether the lists' query (joined to the standing) can show ``customer``."""
    return with_standing(Customer.objects.filter(pk=customer.pk)).exists()


def test_customer_create_gives_a_zero_standing_and_the_lists_show_the_customer():
    unit = OrgUnit.objects.create(code="O1", name="网点", level="OUTLET", path="/O1/")
    customer = customer_create(
        customer_no="P1", customer_type="P", name="张三", branch=unit, open_date=dt.date(2020, 1, 1)
    )
    standing = CustomerStanding.objects.get(customer=customer)
    assert (standing.aum, standing.contribution, standing.tier) == (0, 0, "")
    assert listed(customer)


def test_the_ingest_gives_every_loaded_customer_a_standing(tmp_path: Path):
    write(tmp_path, "org_units.csv", ORG)
    write(tmp_path, "customers.csv", CUSTOMERS)
    results = ingest_paths([tmp_path])
    assert all(r.ok and r.rejected == 0 for r in results), [r.summary() for r in results]
    customers = list(Customer.objects.all())
    assert len(customers) == 3
    assert all(listed(c) for c in customers)


def test_saving_a_customer_alone_creates_no_standing():
    # Why creators go through customer_create: the model's save has no side effects, so a
    # customer saved directly is one the lists cannot show.
    unit = OrgUnit.objects.create(code="O1", name="网点", level="OUTLET", path="/O1/")
    customer = Customer.objects.create(
        customer_no="P2", customer_type="P", name="李四", branch=unit, open_date=dt.date(2020, 1, 1)
    )
    assert not CustomerStanding.objects.filter(customer=customer).exists()
    assert not listed(customer)


def _branch_of_standing(customer: Customer) -> int | None:
    return CustomerStanding.objects.filter(customer=customer).values_list("branch_id", flat=True)[0]


def test_the_standing_carries_the_customers_branch_however_it_changes(tmp_path: Path):
    # Decision 0012: the database keeps the copy (triggers of customers.0013), whoever writes.
    write(tmp_path, "org_units.csv", ORG)
    write(tmp_path, "customers.csv", CUSTOMERS)
    assert all(r.ok for r in ingest_paths([tmp_path]))
    units = dict(OrgUnit.objects.values_list("code", "pk"))
    zhang = Customer.objects.get(customer_no="P0000001")
    assert _branch_of_standing(zhang) == units["O0101"]  # loaded in bulk (COPY / executemany)
    # A later load moves the customer: the standing follows.
    write(tmp_path, "customers.csv", CUSTOMERS.replace(",O0101,2015-06-01", ",O0102,2015-06-01"))
    assert all(r.ok for r in ingest_paths([tmp_path]))
    assert _branch_of_standing(zhang) == units["O0102"]
    # A standing read before a move and saved after it does not put the old branch back.
    stale = CustomerStanding.objects.get(customer=zhang)
    Customer.objects.filter(pk=zhang.pk).update(branch_id=units["O0101"])
    stale.aum = 123
    stale.save()
    assert _branch_of_standing(zhang) == units["O0101"]
    assert CustomerStanding.objects.get(customer=zhang).aum == 123
    # One at a time, and a save of the customer.
    one = customer_create(
        customer_no="P9",
        customer_type="P",
        name="王五",
        branch_id=units["O0102"],
        open_date=dt.date(2020, 1, 1),
    )
    assert _branch_of_standing(one) == units["O0102"]
    one.branch_id = units["O0101"]
    one.save()
    assert _branch_of_standing(one) == units["O0101"]
    # Nowhere out of step.
    assert not [
        c.pk
        for c in Customer.objects.select_related("standing")
        if c.standing.branch_id != c.branch_id
    ]
