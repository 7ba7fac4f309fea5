"""A tiny bank for the scorecards, counted by hand (tests/performance/test_scorecards.py).

O1 has Li (a junior CM: 钻石 P1 and new P4), Wang (a senior CM: P2, with a loan) and the outlet
head Zhao; O2 has Chen (P3, who left in November). The lake holds November 2026; the figures
stand on 2026-11-30.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from qiao.credit.models import Loan
from qiao.engagement.models import Contact
from qiao.org.models import Role, Staff
from tests.analytics.conftest import LakeBuilder
from tests.factories import make_customer, make_unit, own

AS_OF = dt.date(2026, 11, 30)
D = dt.date


@dataclass
class Bank:
    units: dict[str, Any]
    staff: dict[str, Staff]
    customers: dict[str, Any]


def _lake() -> None:
    b = LakeBuilder(settings.LAKE_DIR)
    b.customer("P1", open_date=D(2015, 1, 10), branch_code="O1")
    b.customer("P2", open_date=D(2016, 1, 10), branch_code="O1")
    b.customer("P3", open_date=D(2017, 1, 10), branch_code="O2")
    b.customer("P4", open_date=D(2026, 11, 10), branch_code="O1")
    b.account("A1", "P1", "DEM")
    b.account("A2", "P1", "WM1", open_date=D(2026, 11, 16))
    b.account("A3", "P2", "TD1")
    b.account("A4", "P3", "DEM")
    b.account("A5", "P4", "DEM", open_date=D(2026, 11, 10))
    b.balance("A1", D(2026, 9, 1), 100_000)
    b.balance("A1", D(2026, 11, 30), 100_000)
    b.balance("A2", D(2026, 11, 16), 50_000)
    b.balance("A3", D(2026, 1, 1), 30_000)
    b.balance("A4", D(2026, 1, 1), 10_000)
    b.balance("A4", D(2026, 11, 1), 0)
    b.balance("A5", D(2026, 11, 10), 20_000)
    b.txn("A1", D(2026, 11, 5), 12.50, txn_type="FEE")
    b.txn("A5", D(2026, 11, 20), 7.50, txn_type="FEE")
    b.txn("A1", D(2026, 10, 5), 99, txn_type="FEE")  # October: not November's
    b.txn("A1", D(2026, 11, 6), 500, txn_type="TRANSFER")  # not a fee
    b.contact("P1", D(2026, 11, 3))
    b.contact("P1", D(2026, 11, 20))
    b.contact("P3", D(2026, 10, 20))  # October
    b.write()


def make_staff(username: str, role: str, unit: Any, name: str) -> Staff:
    """A member of staff without a password (the tests log in with ``force_login``): hashing a
    password with Argon2 costs more than the rest of the bank."""
    member = Staff(username=username, name=name, role=role, unit=unit, is_active=True)
    member.set_unusable_password()
    member.save()
    return member


@pytest.fixture
def bank(db) -> Bank:
    ho = make_unit("HO", "HEAD_OFFICE", None, "总行")
    o1 = make_unit("O1", "OUTLET", ho, "东城网点")
    o2 = make_unit("O2", "OUTLET", ho, "西城网点")
    staff = {
        "li": make_staff("li", Role.CM, o1, "李明"),
        "wang": make_staff("wang", Role.SENIOR_CM, o1, "王芳"),
        "zhao": make_staff("zhao", Role.OUTLET_HEAD, o1, "赵强"),
        "chen": make_staff("chen", Role.CM, o2, "陈静"),
        "analyst": make_staff("analyst", Role.ANALYST, ho, "孙分析"),
    }
    Staff.objects.filter(pk=staff["li"].pk).update(grade="JUNIOR")
    Staff.objects.filter(pk=staff["wang"].pk).update(grade="SENIOR")
    Staff.objects.filter(pk=staff["chen"].pk).update(grade="INTERMEDIATE")
    for s in staff.values():
        s.refresh_from_db()
    customers = {
        "P1": make_customer("P0000001", "张一", o1, aum=Decimal("150000"), tier="DIAMOND"),
        "P2": make_customer("P0000002", "张二", o1, aum=Decimal("30000"), tier="GOLD"),
        "P3": make_customer("P0000003", "张三", o2, aum=Decimal("0"), tier="ORDINARY"),
        "P4": make_customer("P0000004", "张四", o1, aum=Decimal("20000"), tier="GOLD"),
    }
    # The lake's customer numbers are the short ones: the DB's are renamed to match.
    for short, c in customers.items():
        type(c).objects.filter(pk=c.pk).update(customer_no=short)
        c.refresh_from_db()
    own(customers["P1"], staff["li"])
    own(customers["P4"], staff["li"])
    own(customers["P2"], staff["wang"])
    own(customers["P3"], staff["chen"])
    Loan.objects.create(
        loan_no="L1",
        customer=customers["P2"],
        principal=Decimal("250000"),
        balance=Decimal("200000"),
        start_date=D(2026, 1, 5),
        maturity_date=D(2028, 1, 5),
        classification="PASS",
        as_of=AS_OF,
    )
    # The contacts the scorecards count come from the database (fresher than the lake's copy).
    zone = ZoneInfo("Asia/Shanghai")
    for key, day, who in (
        ("P1", D(2026, 11, 3), "li"),
        ("P1", D(2026, 11, 20), "li"),
        ("P3", D(2026, 10, 20), "chen"),
    ):
        Contact.objects.create(
            customer=customers[key],
            staff=staff[who],
            channel="PHONE",
            at=dt.datetime.combine(day, dt.time(10), zone),
        )
    _lake()
    return Bank({"ho": ho, "o1": o1, "o2": o2}, staff, customers)
