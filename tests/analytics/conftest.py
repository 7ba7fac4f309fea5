"""Shared fixtures for the analytics tests: tiny lakes built with pyarrow in ``tmp_path``.

Use the ``lake_builder`` fixture::

    def test_something(lake_builder):
        b = lake_builder()                       # a LakeBuilder with the default catalogue
        b.customer("P1")
        b.account("A1", "P1", "DEM")
        b.balance("A1", date(2026, 1, 1), 10_000)
        lake = b.write()                         # Path of the lake

and ``duck`` for a DuckDB backend (function scope, cheap). The Spark backend is the session-scoped
``spark_con`` fixture (tests using it are marked ``@pytest.mark.spark``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qiao.analytics.lake import connect, write_ref_table

UTC = dt.UTC
MONEY = pa.decimal128(18, 2)

#: product_code → (category, risk_level, motives)
DEFAULT_PRODUCTS: dict[str, tuple[str, str | None, str | None]] = {
    "DEM": ("DEMAND", None, None),
    "TD1": ("TIME", None, "ACCUMULATE"),
    "WM1": ("WEALTH", "R2", "APPRECIATE"),
    "FD1": ("FUND", "R4", "APPRECIATE"),
    "BD1": ("BOND", "R1", "ACCUMULATE"),
    "IN1": ("INSURANCE", "R2", "ACCUMULATE"),
    "PM1": ("PRECIOUS_METAL", "R3", "APPRECIATE"),
    "LN1": ("LOAN", None, "LOAN"),
    "CC1": ("CARD", None, None),
    "ST1": ("SETTLEMENT", None, "LOAN"),
}


def _money(value: float | int | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


class LakeBuilder:
    """Collects rows and writes a lake laid out as in ``docs/data-interface.md``."""

    def __init__(self, root: Path, *, products: bool = True) -> None:
        self.root = root
        self.customers: list[dict[str, Any]] = []
        self.accounts: list[dict[str, Any]] = []
        self.products: list[dict[str, Any]] = []
        self.balances: list[dict[str, Any]] = []
        self.txns: list[dict[str, Any]] = []
        self.ebanking: list[dict[str, Any]] | None = None
        self.payroll: list[dict[str, Any]] | None = None
        self.contacts: list[dict[str, Any]] | None = None
        self._owner: dict[str, str] = {}
        self._txn_seq = 0
        if products:
            for code, (cat, risk, motives) in DEFAULT_PRODUCTS.items():
                self.product(code, cat, risk_level=risk, motives=motives)

    # ---- reference rows -------------------------------------------------------------------------
    def product(
        self,
        code: str,
        category: str,
        *,
        risk_level: str | None = None,
        motives: str | None = None,
        term_days: int | None = None,
        rate: float | None = None,
    ) -> None:
        self.products.append(
            {
                "product_code": code,
                "name": f"{category.title()} {code}",
                "category": category,
                "risk_level": risk_level,
                "motives": motives,
                "term_days": term_days,
                "rate": rate,
            }
        )

    def customer(
        self,
        customer_no: str,
        *,
        customer_type: str = "P",
        birth_date: dt.date | None = dt.date(1980, 6, 15),
        gender: str | None = "F",
        open_date: dt.date = dt.date(2015, 1, 10),
        occupation: str | None = None,
        industry: str | None = None,
        branch_code: str = "O0101",
        size_class: str | None = None,
        blacklisted: bool | None = None,
    ) -> None:
        row = {
            "customer_no": customer_no,
            "customer_type": customer_type,
            "birth_date": birth_date,
            "gender": gender,
            "occupation": occupation,
            "industry": industry,
            "branch_code": branch_code,
            "open_date": open_date,
            "size_class": size_class,
        }
        if blacklisted is not None:
            row["blacklisted"] = blacklisted
        self.customers.append(row)

    def account(
        self,
        account_no: str,
        customer_no: str,
        product_code: str,
        *,
        open_date: dt.date = dt.date(2015, 1, 10),
        close_date: dt.date | None = None,
        maturity_date: dt.date | None = None,
        status: str = "ACTIVE",
        balance: float | None = None,
    ) -> None:
        self._owner[account_no] = customer_no
        self.accounts.append(
            {
                "account_no": account_no,
                "customer_no": customer_no,
                "product_code": product_code,
                "open_date": open_date,
                "maturity_date": maturity_date,
                "close_date": close_date,
                "status": status,
                "balance": _money(balance),
            }
        )

    def ebank(
        self,
        customer_no: str,
        service: str,
        opened: dt.date,
        activated: dt.date | None = None,
    ) -> None:
        self.ebanking = self.ebanking or []
        self.ebanking.append(
            {
                "customer_no": customer_no,
                "service": service,
                "opened_date": opened,
                "activated_date": activated,
            }
        )

    def payroll_relation(
        self,
        customer_no: str,
        account_no: str,
        start: dt.date,
        end: dt.date | None = None,
        relation_type: str = "PAYROLL",
    ) -> None:
        self.payroll = self.payroll or []
        self.payroll.append(
            {
                "customer_no": customer_no,
                "account_no": account_no,
                "relation_type": relation_type,
                "start_date": start,
                "end_date": end,
            }
        )

    def contact(self, customer_no: str, when: dt.date, channel: str = "PHONE") -> None:
        self.contacts = self.contacts or []
        self.contacts.append({"customer_no": customer_no, "contact_date": when, "channel": channel})

    # ---- lake rows --------------------------------------------------------------------------------
    def balance(self, account_no: str, day: dt.date, amount: float, *, load_id: int = 1) -> None:
        self.balances.append(
            {
                "account_no": account_no,
                "customer_no": self._owner[account_no],
                "balance_date": day,
                "balance": _money(amount),
                "load_id": load_id,
            }
        )

    def txn(
        self,
        account_no: str,
        when: dt.datetime | dt.date,
        amount: float,
        *,
        direction: str = "D",
        channel: str = "COUNTER",
        txn_type: str = "TRANSFER",
        product_code: str | None = None,
        gain: float | None = None,
        cash: str | None = None,
        txn_id: str | None = None,
        load_id: int = 1,
    ) -> str:
        if not isinstance(when, dt.datetime):
            # Noon China time, safely inside the local business day.
            when = dt.datetime(when.year, when.month, when.day, 4, 0, tzinfo=UTC)
        if txn_id is None:
            self._txn_seq += 1
            txn_id = f"T{self._txn_seq:07d}"
        self.txns.append(
            {
                "txn_id": txn_id,
                "account_no": account_no,
                "customer_no": self._owner[account_no],
                "txn_time": when.astimezone(UTC),
                "amount": _money(amount),
                "direction": direction,
                "channel": channel,
                "txn_type": txn_type,
                "product_code": product_code,
                "gain": _money(gain),
                "cash": cash,
                "load_id": load_id,
            }
        )
        return txn_id

    # ---- writing ------------------------------------------------------------------------------------
    def write(self) -> Path:
        lake = self.root
        lake.mkdir(parents=True, exist_ok=True)
        write_ref_table(lake, "customers", self._customers_table())
        write_ref_table(
            lake, "accounts", pa.Table.from_pylist(self.accounts, schema=ACCOUNT_SCHEMA)
        )
        write_ref_table(
            lake, "products", pa.Table.from_pylist(self.products, schema=PRODUCT_SCHEMA)
        )
        if self.ebanking is not None:
            write_ref_table(
                lake, "ebanking", pa.Table.from_pylist(self.ebanking, schema=EBANK_SCHEMA)
            )
        if self.payroll is not None:
            write_ref_table(
                lake, "payroll", pa.Table.from_pylist(self.payroll, schema=PAYROLL_SCHEMA)
            )
        if self.contacts is not None:
            write_ref_table(
                lake, "contacts", pa.Table.from_pylist(self.contacts, schema=CONTACT_SCHEMA)
            )
        self._write_partitioned("balances", self.balances, BALANCE_SCHEMA, "balance_date")
        self._write_partitioned("transactions", self.txns, TXN_SCHEMA, "txn_time")
        return lake

    def _customers_table(self) -> pa.Table:
        schema = CUSTOMER_SCHEMA
        if any("blacklisted" in r for r in self.customers):
            schema = schema.append(pa.field("blacklisted", pa.bool_()))
        return pa.Table.from_pylist(self.customers, schema=schema)

    def _write_partitioned(
        self, kind: str, rows: list[dict[str, Any]], schema: pa.Schema, date_col: str
    ) -> None:
        groups: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            d = row[date_col]
            groups[(f"{d.year:04d}-{d.month:02d}", row["load_id"])].append(row)
        for (month, load_id), part in groups.items():
            folder = self.root / kind / f"month={month}"
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(
                pa.Table.from_pylist(part, schema=schema), folder / f"part-{load_id:06d}.parquet"
            )


CUSTOMER_SCHEMA = pa.schema(
    [
        ("customer_no", pa.string()),
        ("customer_type", pa.string()),
        ("birth_date", pa.date32()),
        ("gender", pa.string()),
        ("occupation", pa.string()),
        ("industry", pa.string()),
        ("branch_code", pa.string()),
        ("open_date", pa.date32()),
        ("size_class", pa.string()),
    ]
)
ACCOUNT_SCHEMA = pa.schema(
    [
        ("account_no", pa.string()),
        ("customer_no", pa.string()),
        ("product_code", pa.string()),
        ("open_date", pa.date32()),
        ("maturity_date", pa.date32()),
        ("close_date", pa.date32()),
        ("status", pa.string()),
        ("balance", MONEY),
    ]
)
PRODUCT_SCHEMA = pa.schema(
    [
        ("product_code", pa.string()),
        ("name", pa.string()),
        ("category", pa.string()),
        ("risk_level", pa.string()),
        ("motives", pa.string()),
        ("term_days", pa.int64()),
        ("rate", pa.float64()),
    ]
)
EBANK_SCHEMA = pa.schema(
    [
        ("customer_no", pa.string()),
        ("service", pa.string()),
        ("opened_date", pa.date32()),
        ("activated_date", pa.date32()),
    ]
)
PAYROLL_SCHEMA = pa.schema(
    [
        ("customer_no", pa.string()),
        ("account_no", pa.string()),
        ("relation_type", pa.string()),
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),
    ]
)
CONTACT_SCHEMA = pa.schema(
    [("customer_no", pa.string()), ("contact_date", pa.date32()), ("channel", pa.string())]
)
BALANCE_SCHEMA = pa.schema(
    [
        ("account_no", pa.string()),
        ("customer_no", pa.string()),
        ("balance_date", pa.date32()),
        ("balance", MONEY),
        ("load_id", pa.int64()),
    ]
)
TXN_SCHEMA = pa.schema(
    [
        ("txn_id", pa.string()),
        ("account_no", pa.string()),
        ("customer_no", pa.string()),
        ("txn_time", pa.timestamp("us", tz="UTC")),
        ("amount", MONEY),
        ("direction", pa.string()),
        ("channel", pa.string()),
        ("txn_type", pa.string()),
        ("product_code", pa.string()),
        ("gain", MONEY),
        ("cash", pa.string()),
        ("load_id", pa.int64()),
    ]
)


@pytest.fixture
def lake_builder(tmp_path: Path) -> Callable[..., LakeBuilder]:
    """Factory of :class:`LakeBuilder` writing under ``tmp_path`` (``lake``, ``lake2``, …)."""
    count = 0

    def make(*, products: bool = True) -> LakeBuilder:
        nonlocal count
        count += 1
        return LakeBuilder(tmp_path / ("lake" if count == 1 else f"lake{count}"), products=products)

    return make


@pytest.fixture
def duck() -> Iterator[Any]:
    """An in-process DuckDB backend."""
    con = connect("duckdb", threads=2)
    yield con
    con.disconnect()


@pytest.fixture(scope="session")
def spark_con() -> Iterator[Any]:
    """A PySpark local[2] backend shared by the Spark tests of the session."""
    con = connect("spark", spark_driver_memory="1g")
    yield con
    con.disconnect()


def build_bank(
    builder: LakeBuilder,
    n_customers: int = 80,
    *,
    seed: int = 0,
    as_of: dt.date = dt.date(2026, 10, 31),
    months: int = 24,
) -> LakeBuilder:
    """Fill ``builder`` with a small random bank (deterministic for a seed).

    Every customer has a demand account and some of: a time deposit, a fund (R4), a wealth product
    (R2), a loan; monthly balance rows that drift (a fifth of the customers lose most of their
    balance at a random month), transactions on several channels (some large, some trades),
    e-banking, payroll and contacts. Two corrections are written under a later load_id.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    first = dt.date(as_of.year - (months // 12), as_of.month, 1)
    month_starts = []
    cur = first
    while cur <= as_of:
        month_starts.append(cur)
        cur = dt.date(cur.year + (cur.month == 12), cur.month % 12 + 1, 1)
    channels = ["COUNTER", "ATM", "ONLINE", "MOBILE", "WECHAT", "POS", "PHONE"]
    for i in range(n_customers):
        cust = f"{'C' if i % 10 == 9 else 'P'}{i:05d}"
        builder.customer(
            cust,
            customer_type="C" if cust.startswith("C") else "P",
            birth_date=None
            if cust.startswith("C")
            else dt.date(1950 + i % 50, 1 + i % 12, 1 + i % 28),
            open_date=dt.date(2010 + i % 16, 1 + i % 12, 1 + i % 28),
            blacklisted=(i == 7),
        )
        products = ["DEM"] + [p for p in ("TD1", "FD1", "WM1", "LN1", "ST1") if rng.random() < 0.35]
        level = float(rng.lognormal(11.5, 1.2))
        drop_at = int(rng.integers(6, len(month_starts))) if rng.random() < 0.2 else None
        for j, prod in enumerate(products):
            acc = f"{cust}-{j}"
            builder.account(acc, cust, prod, open_date=dt.date(2015, 1, 1))
            value = level * float(rng.uniform(0.2, 1.0))
            for m, start in enumerate(month_starts):
                if rng.random() < 0.5 and m > 0:
                    continue
                value *= float(rng.lognormal(0.0, 0.15))
                if drop_at is not None and m == drop_at:
                    value *= 0.2
                day = start + dt.timedelta(days=int(rng.integers(0, 27)))
                builder.balance(acc, day, round(value, 2))
        for m, start in enumerate(month_starts):
            n_txn = int(rng.poisson(3 if drop_at is None or m < drop_at else 0.5))
            for _ in range(n_txn):
                day = start + dt.timedelta(days=int(rng.integers(0, 28)))
                if day > as_of:
                    continue
                kind = rng.random()
                if kind < 0.1 and "FD1" in products:
                    builder.txn(
                        f"{cust}-{products.index('FD1')}",
                        day,
                        float(rng.integers(1, 50)) * 1000,
                        txn_type="PURCHASE",
                        channel="MOBILE",
                        product_code="FD1",
                    )
                elif kind < 0.15 and "FD1" in products:
                    builder.txn(
                        f"{cust}-{products.index('FD1')}",
                        day,
                        float(rng.integers(1, 50)) * 1000,
                        txn_type="REDEMPTION",
                        direction="C",
                        channel="ONLINE",
                        product_code="FD1",
                        gain=float(rng.normal(200, 500)),
                    )
                else:
                    amount = (
                        80_000.0
                        if rng.random() < 0.03
                        else round(float(rng.lognormal(6.5, 1.2)), 2)
                    )
                    builder.txn(
                        f"{cust}-0",
                        day,
                        amount,
                        direction="C" if rng.random() < 0.5 else "D",
                        channel=channels[int(rng.integers(0, len(channels)))],
                    )
        if rng.random() < 0.6:
            builder.ebank(cust, "MOBILE", dt.date(2020, 1, 1), dt.date(2020, 1, 5))
        if rng.random() < 0.3:
            builder.ebank(cust, "WECHAT", dt.date(2021, 1, 1), dt.date(2021, 1, 5))
        if rng.random() < 0.2:
            builder.payroll_relation(cust, f"{cust}-0", dt.date(2019, 1, 1))
        if rng.random() < 0.3:
            builder.contact(cust, as_of - dt.timedelta(days=int(rng.integers(0, 200))))
    # corrections: a later load restates one balance and one transaction
    if builder.balances:
        row = dict(builder.balances[0])
        builder.balance(
            row["account_no"], row["balance_date"], float(row["balance"]) + 1, load_id=2
        )
    if builder.txns:
        row = dict(builder.txns[-1])
        builder.txn(
            row["account_no"],
            row["txn_time"],
            float(row["amount"]) + 1,
            direction=row["direction"],
            channel=row["channel"],
            txn_type=row["txn_type"],
            txn_id=row["txn_id"],
            load_id=2,
        )
    return builder
