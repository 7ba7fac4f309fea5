"""One family of factories for the tests' banks: units, staff, customers, ownership, accounts.

Each suite's conftest builds its own bank and personas (the workbench's 张三 and 李四 at O1 and
O2, engagement's Alice and Bob at O0101 …) from these, so a customer is made one way everywhere:
through :func:`qiao.customers.services.customer_create` (which gives it its standing), with the
search keys the ingest would derive, and the nightly values set as the scoring would.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from stdnum.cn import ric

from qiao.customers.models import Customer, Ownership
from qiao.customers.search import pinyin_keys
from qiao.customers.services import customer_create, customers_refresh_primary_manager
from qiao.org.models import OrgUnit, Staff
from qiao.products.models import Account, Product
from tests.helpers import set_standing

#: Every test member of staff's password.
PASSWORD = "correct horse battery staple"

_accounts = itertools.count(1)


def make_unit(code: str, level: str, parent: OrgUnit | None, name: str = "") -> OrgUnit:
    """An organisation unit under ``parent``, with its materialised path (``/HO/B01/``)."""
    path = (parent.path if parent else "/") + code + "/"
    return OrgUnit.objects.create(
        code=code, name=name or code, level=level, parent=parent, path=path
    )


def make_staff(username: str, role: str, unit: OrgUnit, name: str = "") -> Staff:
    """An active member of staff who logs in with :data:`PASSWORD`."""
    member = Staff(
        username=username, name=name or username.title(), role=role, unit=unit, is_active=True
    )
    member.set_password(PASSWORD)
    member.save()
    return member


def make_ric(area: str, born: dt.date, seq: int) -> str:
    """A valid 18-character resident ID (GB 11643 check digit)."""
    body = f"{area}{born:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")  # the function ignores the last character


def make_customer(no: str, name: str, branch: OrgUnit, **fields: Any) -> Customer:
    """A customer through ``customer_create``, as the profile editor or ingest would store it.

    ``fields`` are the customer's fields (an individual with a resident ID derived from ``no``
    unless given; birth date and gender follow a resident ID unless ``birth_date`` is given) and
    its standing (``aum``, ``tier``, ``contribution``).
    """
    standing = {k: fields.pop(k) for k in ("aum", "tier", "contribution") if k in fields}
    customer_type = fields.setdefault("customer_type", "P")
    fields.setdefault("id_type", "RIC" if customer_type == "P" else "USCC")
    fields.setdefault("open_date", dt.date(2015, 6, 1))
    id_no = str(
        fields.pop("id_no", None) or make_ric("110105", dt.date(1980, 5, 5), int(no[-3:]) % 1000)
    )
    if fields["id_type"] == "RIC" and "birth_date" not in fields:
        fields["birth_date"] = dt.date(int(id_no[6:10]), int(id_no[10:12]), int(id_no[12:14]))
        fields["gender"] = "M" if int(id_no[16]) % 2 else "F"
    full, initials = pinyin_keys(name)
    customer = customer_create(
        customer_no=no,
        name=name,
        name_pinyin=full,
        name_initials=initials,
        id_no=id_no,
        id_tail4=id_no[-4:],
        id_tail6=id_no[-6:],
        branch=branch,
        **fields,
    )
    return set_standing(customer, **standing)


def own(
    customer: Customer, staff: Staff, role: str = "PRIMARY", start: dt.date | None = None
) -> None:
    """``staff`` manages ``customer`` from ``start`` (2020-01-01); the primary manager follows."""
    Ownership.objects.create(
        customer=customer, staff=staff, role=role, start_date=start or dt.date(2020, 1, 1)
    )
    customers_refresh_primary_manager(customer_ids=[customer.pk])
    customer.refresh_from_db()


def make_account(customer: Customer, product: Product, balance: Any, **fields: Any) -> Account:
    """An account of ``customer`` holding ``product`` (opened 2020-01-01 unless given)."""
    return Account.objects.create(
        account_no=fields.pop("account_no", None) or f"A{next(_accounts):010d}",
        customer=customer,
        product=product,
        open_date=fields.pop("open_date", dt.date(2020, 1, 1)),
        balance=Decimal(balance),
        **fields,
    )
