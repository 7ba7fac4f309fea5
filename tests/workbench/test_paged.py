"""A list page is read ids first, then its rows (``selectors.PagedCustomers``): every page of
every sort, for every persona, is the same customers in the same order as the whole list read
at once; an outlet head's list is sorted after fetching (a narrow scope), as a CM's."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qiao.customers.models import Customer
from qiao.customers.selectors import (
    SORTS,
    CustomerFilters,
    PagedCustomers,
    customer_search,
    customers_filter,
    scope_is_narrow,
)
from tests.workbench.conftest import _fast_hasher, bank, make_customer, own  # noqa: F401

PERSONAS = ("cm_owner", "outlet_head", "head_office")


@pytest.fixture
def crowd(bank):  # noqa: F811
    """40 more customers, AUM and contribution with ties, half of them the CM's."""
    for i in range(40):
        c = make_customer(
            f"P40{i:05d}",
            "客户",
            bank.o1 if i % 4 else bank.o2,
            aum=Decimal(1000 * (i % 7)),
            contribution=Decimal(10 * (i % 3)),
            tier="GOLD",
        )
        if i % 2:
            own(c, bank.staff["cm_owner"])
    return bank


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    persona=st.sampled_from(PERSONAS),
    sort=st.sampled_from(sorted(SORTS)),
    start=st.integers(0, 50),
    size=st.integers(1, 30),
)
def test_every_page_is_the_slice_of_the_whole_list(crowd, persona, sort, start, size):
    staff = crowd.staff[persona]
    qs = customers_filter(staff=staff, filters=CustomerFilters(sort=sort))
    assert isinstance(qs, PagedCustomers)
    whole = [c.customer_no for c in qs]  # iterated: one query, no ids first
    page = qs[start : start + size]
    assert isinstance(page, list)
    assert [c.customer_no for c in page] == whole[start : start + size]
    # The rows come whole: the standing, manager and outlet the list shows, without more queries.
    for c in page:
        assert c.standing.aum == c.aum and c.branch.name


def test_an_outlet_heads_list_is_sorted_after_fetching(crowd):
    head = crowd.staff["outlet_head"]
    assert scope_is_narrow(head) and scope_is_narrow(crowd.staff["cm_owner"])
    assert not scope_is_narrow(crowd.staff["head_office"])
    assert not scope_is_narrow(head, limit=5)  # a subtree of more than 5 customers
    sql = str(customers_filter(staff=head, filters=CustomerFilters(sort="-contribution")).query)
    assert "COALESCE" in sql.upper()
    # Largest first (the default) walks the standings' copy of the branch (decision 0012), the
    # scope still applied on the customer's own branch.
    sql = str(customers_filter(staff=head, filters=CustomerFilters()).query)
    assert '"customers_standing"."branch_id"' in sql and "COALESCE" not in sql.upper()
    assert '"org_orgunit"."path"' in sql


def test_search_reads_the_rows_it_shows_in_the_order_found(crowd):
    head = crowd.staff["outlet_head"]
    found = customer_search(staff=head, query="客户", limit=100)
    # O1's customers named 客户, largest first (ties by id), and only those.
    expected = [
        c.customer_no
        for c in customers_filter(staff=head, filters=CustomerFilters())
        if c.name == "客户"
    ]
    assert [c.customer_no for c in found] == expected and len(expected) == 30
    assert all(c.standing.aum == c.aum for c in found)


def test_a_big_bankwide_count_is_remembered_until_a_customer_is_added(
    crowd, monkeypatch, django_assert_num_queries
):
    from qiao.customers import selectors

    monkeypatch.setattr(selectors, "BIG_COUNT", 10)  # the test bank's 45 customers count as big
    selectors._BIG_COUNTS.clear()
    analyst, unfiltered = crowd.staff["head_office"], CustomerFilters()
    n = Customer.objects.count()
    with django_assert_num_queries(2):  # the newest id, the count
        assert selectors.customers_filter_count(staff=analyst, filters=unfiltered) == n
    with django_assert_num_queries(1):  # the newest id only
        assert selectors.customers_filter_count(staff=analyst, filters=unfiltered) == n
    make_customer("P4099999", "新客", crowd.o1)
    assert selectors.customers_filter_count(staff=analyst, filters=unfiltered) == n + 1
    # A filtered or scoped count is counted each time.
    head = crowd.staff["outlet_head"]
    for staff, filters in ((analyst, CustomerFilters(gender="F")), (head, unfiltered)):
        for _ in range(2):
            with CaptureQueriesContext(connection) as queries:
                selectors.customers_filter_count(staff=staff, filters=filters)
            assert any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    selectors._BIG_COUNTS.clear()


def test_a_cms_open_ownerships_have_their_index_on_postgresql(db):
    # customers 0012: a CM's scope read from the index alone (PostgreSQL; SQLite skips it).
    with connection.cursor() as cur:
        indexes = connection.introspection.get_constraints(cur, "customers_ownership")
    assert ("own_open_staff_customer" in indexes) == (connection.vendor == "postgresql")
