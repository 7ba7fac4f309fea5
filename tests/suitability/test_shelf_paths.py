"""The product page's holders come the same whichever of its three ways the selector takes
(docs/suitability.md, "Speed"): from the product's accounts (few holders), from a small subtree
scope's customers (an outlet head, a common product), or down the bank-wide AUM index (a wide
scope). At a million customers the thresholds are 5,000 accounts and 50,000 customers; here they
are set low so a small bank reaches every way, and hypothesis draws who holds the product, how
(several accounts, closed ones) and with which assessment."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qiao.customers.models import Customer
from qiao.products.models import Account
from qiao.suitability.models import RiskAssessment
from qiao.suitability.shelf import SHOWN, product_holders
from tests.workbench.conftest import _fast_hasher, bank, make_customer  # noqa: F401

TODAY = timezone.localdate()


def _assess(customers: list[Customer], assessments: Iterable[tuple[int, str, int]]) -> None:
    """Signed branch assessments ``(customer index, level, days left)`` of ``customers``."""
    RiskAssessment.objects.bulk_create(
        RiskAssessment(
            customer=customers[i % len(customers)],
            tolerance=level,
            assessed_on=TODAY - dt.timedelta(days=365 - days_left),
            valid_until=TODAY + dt.timedelta(days=days_left),
            source="BRANCH",
            customer_signed=True,
        )
        for i, level, days_left in assessments
    )


@pytest.fixture
def crowd(bank):  # noqa: F811
    """60 more customers at O1 (the outlet head's scope) and 15 at O2, AUM with ties."""
    for i in range(60):
        make_customer(f"P20{i:05d}", "客户", bank.o1, aum=Decimal(1000 * (i % 23)), tier="GOLD")
    for i in range(15):
        make_customer(f"P30{i:05d}", "他行", bank.o2, aum=Decimal(1000 * i), tier="GOLD")
    return bank


def _holders(staff, product, **thresholds):
    with CaptureQueriesContext(connection) as queries:
        holders, more = product_holders(staff=staff, product=product, on=TODAY, **thresholds)
    answer = (
        [(h.customer.customer_no, h.balance, h.verdict.suitable, h.verdict.rule) for h in holders],
        more,
    )
    return answer, " ".join(q["sql"] for q in queries.captured_queries)


#: an account: (customer index, open?, balance); an assessment: (customer index, level, days left)
_accounts = st.lists(
    st.tuples(st.integers(0, 79), st.booleans(), st.integers(0, 50_000)), min_size=0, max_size=90
)
_assessments = st.lists(
    st.tuples(st.integers(0, 79), st.sampled_from(["C1", "C3", "C5"]), st.integers(-30, 300)),
    max_size=40,
    unique_by=lambda a: (a[0], a[2]),  # one assessment per customer, day and source
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(accounts=_accounts, assessments=_assessments)
def test_the_three_ways_to_the_holders_agree(crowd, accounts, assessments):
    customers = list(Customer.objects.order_by("pk"))
    fund = crowd.products["FND1"]  # R3; 张三 already holds it (an open account)
    head, analyst = crowd.staff["outlet_head"], crowd.staff["head_office"]
    with transaction.atomic():
        Account.objects.bulk_create(
            Account(
                account_no=f"H{n:06d}",
                customer=customers[i % len(customers)],
                product=fund,
                open_date=dt.date(2024, 1, 1),
                status="ACTIVE" if is_open else "CLOSED",
                balance=Decimal(balance),
            )
            for n, (i, is_open, balance) in enumerate(accounts)
        )
        _assess(customers, assessments)
        for staff in (head, analyst):
            few, _sql = _holders(staff, fund)  # every bank here has far fewer than 5,000
            walk, walk_sql = _holders(staff, fund, few_holders=0, small_subtree=0)
            assert walk == few
            if staff is head:
                subtree, subtree_sql = _holders(staff, fund, few_holders=0)
                assert subtree == few
                # It took the subtree way (ordered by the opaque expression, never the bare
                # AUM column); the walk did not.
                assert "COALESCE" in subtree_sql and "COALESCE" not in walk_sql
            # The analyst sees the whole bank: every open holder, the 50 largest shown.
            holders = set(
                Account.objects.filter(product=fund)
                .exclude(status="CLOSED")
                .values_list("customer__customer_no", flat=True)
            )
            if staff is analyst:
                shown, more = few
                assert {no for no, *_ in shown} <= holders
                assert len(shown) == min(SHOWN, len(holders)) and more == (len(holders) > SHOWN)
        transaction.set_rollback(True)


def test_the_subtree_way_lists_a_common_products_holders_largest_first(crowd):
    """Concretely, with more than SHOWN holders in the outlet: the 50 largest, ties by id, each
    with the sum of their open accounts, and "more"."""
    fund = crowd.products["FND1"]
    o1 = list(Customer.objects.filter(branch=crowd.o1).select_related("standing").order_by("pk"))
    for n, c in enumerate(o1):
        Account.objects.create(
            account_no=f"S{n:06d}",
            customer=c,
            product=fund,
            open_date=dt.date(2024, 1, 1),
            balance=Decimal(100 + n),
        )
    Account.objects.create(
        account_no="S999999",
        customer=o1[0],
        product=fund,
        open_date=dt.date(2024, 1, 1),
        balance=Decimal(7),
        status="CLOSED",
    )
    (shown, more), sql = _holders(crowd.staff["outlet_head"], fund, few_holders=10)
    assert "COALESCE" in sql
    assert more is True and len(shown) == SHOWN
    expected = sorted(o1, key=lambda c: (-(c.standing.aum or 0), c.pk))[:SHOWN]
    assert [no for no, *_ in shown] == [c.customer_no for c in expected]
    balances = {c.customer_no: Decimal(100 + n) for n, c in enumerate(o1)}
    assert all(balance == balances[no] for no, balance, *_ in shown)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(assessments=_assessments, first=st.integers(1, 90))
def test_the_suited_list_read_in_slices_is_the_rule_over_all_candidates(crowd, assessments, first):
    """``product_suited`` reads its candidates a growing slice at a time and stops at SHOWN: the
    answer is the first SHOWN of all candidates (largest first, ties by id) that do not hold the
    product and pass the rule, whatever the first slice's size."""
    from qiao.core.suitability import check
    from qiao.suitability import shelf

    customers = list(Customer.objects.order_by("pk"))
    wm2 = _wm2()
    with transaction.atomic():
        # Everyone assessed C3 a year and a half ago, valid for two years (so more than SHOWN
        # are suitable); the drawn assessments, later, decide for some.
        RiskAssessment.objects.bulk_create(
            RiskAssessment(
                customer=c,
                tolerance="C3",
                assessed_on=TODAY - dt.timedelta(days=540),
                valid_until=TODAY + dt.timedelta(days=190),
                source="CORE",
                customer_signed=True,
            )
            for c in customers
        )
        _assess(customers, assessments)
        Account.objects.create(
            account_no="SUITED1",
            customer=customers[3],
            product=wm2,
            open_date=dt.date(2024, 1, 1),
            balance=Decimal(1),
        )
        for persona in ("outlet_head", "head_office"):
            staff = crowd.staff[persona]
            shelf.SUITED_FIRST_SLICE, kept = first, shelf.SUITED_FIRST_SLICE
            try:
                got = [
                    c.customer_no for c in shelf.product_suited(staff=staff, product=wm2, on=TODAY)
                ]
            finally:
                shelf.SUITED_FIRST_SLICE = kept
            visible = staff_customers(staff)
            facts = shelf.customer_facts(c.pk for c in visible)
            pf = shelf.product_facts(wm2)
            expected = [
                c.customer_no
                for c in visible
                if c.pk != customers[3].pk and check(facts[c.pk], pf, on=TODAY)
            ][:SHOWN]
            assert got == expected
        transaction.set_rollback(True)


def staff_customers(staff):
    from qiao.customers.selectors import customers_visible_to

    return sorted(
        customers_visible_to(staff=staff).select_related("standing"),
        key=lambda c: (-(c.standing.aum or 0), c.pk),
    )


def _wm2():
    from qiao.products.models import Product

    return Product.objects.get_or_create(
        code="WM2",
        defaults={
            "name": "稳盈理财",
            "category": "WEALTH",
            "seller_risk_level": "R2",
            "sale_status": "ON_SALE",
        },
    )[0]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    holding=st.lists(st.integers(0, 79), max_size=80, unique=True),
    assessments=_assessments,
)
@example(holding=list(range(80)), assessments=[])  # more than SHOWN hold it: the one read
@example(holding=[], assessments=[])
def test_the_product_page_reads_its_lists_once_and_gets_the_same(
    crowd, monkeypatch, holding, assessments
):
    """``product_page_lists`` reads the scope's largest customers once for both lists: its
    holders (with "more") and suited customers are those of ``product_holders`` and
    ``product_suited``, whether more than SHOWN of the largest hold the product (holders taken
    from them) or not (``product_holders``' own ways)."""
    from qiao.suitability import shelf

    customers = list(Customer.objects.order_by("pk"))
    wm2 = _wm2()
    with transaction.atomic():
        Account.objects.bulk_create(
            Account(
                account_no=f"L{n:06d}",
                customer=customers[i % len(customers)],
                product=wm2,
                open_date=dt.date(2024, 1, 1),
                balance=Decimal(10 * n),
            )
            for n, i in enumerate(holding)
        )
        _assess(customers, assessments)
        # 2,000 candidates hold the whole test bank (the holders are taken from them); 30 do not
        # (product_holders' own ways when fewer than SHOWN of them hold it).
        for persona, candidates in itertools.product(
            ("cm_owner", "outlet_head", "head_office"), (shelf.SUITED_CANDIDATES, 30)
        ):
            staff = crowd.staff[persona]
            monkeypatch.setattr(shelf, "SUITED_CANDIDATES", candidates)
            holders, more, suited = shelf.product_page_lists(staff=staff, product=wm2, on=TODAY)
            apart, apart_more = product_holders(staff=staff, product=wm2, on=TODAY)
            assert more == apart_more
            assert [(h.customer.pk, h.balance, h.verdict) for h in holders] == [
                (h.customer.pk, h.balance, h.verdict) for h in apart
            ]
            alone = shelf.product_suited(staff=staff, product=wm2, on=TODAY)
            assert [c.pk for c in suited] == [c.pk for c in alone]
        transaction.set_rollback(True)


def test_an_outlets_largest_first_walk_the_standings_branch(crowd):
    # Decision 0012: an outlet head's largest customers come down the standings' (branch, aum)
    # index; the same answer as sorting the scope (AUM with ties here: ties by id), and a
    # customer who moves away leaves the list at once.
    from qiao.customers.selectors import customers_visible_to, largest_first_ids

    staff = crowd.staff["outlet_head"]
    expected = [
        c.pk
        for c in sorted(
            customers_visible_to(staff=staff).select_related("standing"),
            key=lambda c: (-c.standing.aum, c.pk),
        )
    ]
    assert len(expected) > 60
    with CaptureQueriesContext(connection) as queries:
        assert largest_first_ids(staff=staff, limit=1000) == expected
    assert '"customers_standing"."branch_id"' in queries.captured_queries[-1]["sql"]
    assert largest_first_ids(staff=staff, limit=7) == expected[:7]
    moved = Customer.objects.get(pk=expected[0])
    moved.branch = crowd.o2
    moved.save()
    assert largest_first_ids(staff=staff, limit=1000) == expected[1:]
    # The head office's scope (no subtree) orders the same way by the lists' path.
    analyst = crowd.staff["head_office"]
    everyone = sorted(
        Customer.objects.select_related("standing"), key=lambda c: (-c.standing.aum, c.pk)
    )
    assert largest_first_ids(staff=analyst, limit=30) == [c.pk for c in everyone[:30]]
