"""Personas and factories for the engagement tests.

One sub-branch S01 with two outlets: O0101 (Alice and Bob, CMs; Hannah, outlet head; Leo, lobby
manager) and O0102 (Carol, CM). A second branch B02 has Dave (CM) — out of everyone's subtree.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.utils import timezone

from qiao.customers.models import Customer
from qiao.org.models import OrgUnit, Role, Staff
from qiao.products.models import Product
from tests import factories
from tests.factories import make_account, make_staff, make_unit, own  # noqa: F401  (imported from here)

DAY = dt.date(2026, 3, 10)  # a Tuesday, no festival within three days
_seq = itertools.count(1)


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_current_timezone())


@pytest.fixture
def org(db) -> dict[str, OrgUnit]:
    ho = make_unit("HO", "HEAD_OFFICE", None)
    b01 = make_unit("B01", "BRANCH", ho)
    s01 = make_unit("S01", "SUB_BRANCH", b01)
    o1 = make_unit("O0101", "OUTLET", s01)
    o2 = make_unit("O0102", "OUTLET", s01)
    b02 = make_unit("B02", "BRANCH", ho)
    o3 = make_unit("O0201", "OUTLET", b02)
    return {"HO": ho, "S01": s01, "O0101": o1, "O0102": o2, "O0201": o3}


@pytest.fixture
def people(org) -> dict[str, Staff]:
    return {
        "alice": make_staff("alice", Role.CM, org["O0101"], "Alice"),
        "bob": make_staff("bob", Role.CM, org["O0101"], "Bob"),
        "carol": make_staff("carol", Role.CM, org["O0102"], "Carol"),
        "dave": make_staff("dave", Role.CM, org["O0201"], "Dave"),
        "hannah": make_staff("hannah", Role.OUTLET_HEAD, org["O0101"], "Hannah"),
        "leo": make_staff("leo", Role.LOBBY, org["O0101"], "Leo"),
    }


def make_customer(
    manager: Staff | None,
    *,
    tier: str = "GOLD",
    aum: Any = 500_000,
    unit: OrgUnit | None = None,
    birth_date: dt.date | None = None,
    customer_type: str = "P",
    no: str | None = None,
) -> Customer:
    """A customer of ``manager`` (primary since 2020), at the manager's outlet unless ``unit``."""
    n = next(_seq)
    customer = factories.make_customer(
        no or f"P{n:07d}",
        f"客户{n}",
        unit or (manager.unit if manager else OrgUnit.objects.get(code="O0101")),
        customer_type=customer_type,
        id_no=f"ID{n:016d}",
        open_date=dt.date(2015, 1, 1),
        birth_date=birth_date,
        tier=tier,
        aum=Decimal(aum),
    )
    if manager is not None:
        own(customer, manager)
    return customer


@pytest.fixture
def products(db) -> dict[str, Product]:
    return {
        "DEM": Product.objects.create(code="DEM", name="活期", category="DEMAND"),
        "TD": Product.objects.create(code="TD1Y", name="一年定期", category="TIME", term_days=365),
        "WM": Product.objects.create(
            code="WM1", name="乾元理财", category="WEALTH", risk_level="R2"
        ),
        "FND": Product.objects.create(
            code="FND1", name="稳健基金", category="FUND", risk_level="R3"
        ),
    }


def write_lake(kind: str, rows: list[dict[str, Any]], load_id: int = 1) -> Path:
    """Write rows into the lake like a load does (one file per month, with ``load_id``)."""
    lake = Path(settings.LAKE_DIR) / kind
    by_month: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        when = row["txn_time"] if kind == "transactions" else row["balance_date"]
        by_month.setdefault(f"{when:%Y-%m}", []).append({**row, "load_id": load_id})
    money = pa.decimal128(18, 2)
    if kind == "transactions":
        schema = pa.schema(
            [
                ("txn_id", pa.string()),
                ("account_no", pa.string()),
                ("customer_no", pa.string()),
                ("txn_time", pa.timestamp("us", tz="UTC")),
                ("amount", money),
                ("direction", pa.string()),
                ("channel", pa.string()),
                ("txn_type", pa.string()),
                ("load_id", pa.int64()),
            ]
        )
    else:
        schema = pa.schema(
            [
                ("account_no", pa.string()),
                ("customer_no", pa.string()),
                ("balance_date", pa.date32()),
                ("balance", money),
                ("load_id", pa.int64()),
            ]
        )
    path = lake
    for month, month_rows in by_month.items():
        folder = lake / f"month={month}"
        folder.mkdir(parents=True, exist_ok=True)
        cols = {name: [r.get(name) for r in month_rows] for name in schema.names}
        for name in ("amount", "balance"):
            if name in cols:
                cols[name] = [Decimal(str(v)).quantize(Decimal("0.01")) for v in cols[name]]
        path = folder / f"part-{load_id:08d}-0.parquet"
        pq.write_table(pa.table(cols, schema=schema), path)
    return path


@pytest.fixture
def login(client):
    def _login(staff: Staff):
        client.force_login(staff)
        return client

    return _login


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
