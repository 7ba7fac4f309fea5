"""The scorecard measures on a tiny lake: DuckDB and Spark give the same numbers, counted by hand
(the same bank as tests/performance/conftest.py, without the database)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from qiao.analytics.scorecard import Period, staff_actuals

D = dt.date
BOOK = pa.table(
    {"customer_no": ["P1", "P4"], "staff_no": ["li", "li"], "tier": ["DIAMOND", "GOLD"]}
)
EXPECTED = {
    "staff_no": "li",
    "customers": 2,
    "aum_avg": 139_000.0,  # A1 100,000 all month; A2 50,000 for 15 days; A5 20,000 for 21 days
    "deposits": 114_000.0,
    "fee_income": 20.0,
    "new_customers": 1,
    "products_per_customer": 1.5,
    "contacts": 1,
    "coverage": 0.5,
    "retention": 1.0,
    "aum_trend": [100_000.0] * 5 + [139_000.0],
    "deposits_trend": [100_000.0] * 5 + [114_000.0],
    "fee_trend": [0.0, 0.0, 0.0, 0.0, 0.0, 20.0],
}


@pytest.fixture
def lake(lake_builder):
    b = lake_builder()
    b.customer("P1")
    b.customer("P4", open_date=D(2026, 11, 10))
    b.account("A1", "P1", "DEM")
    b.account("A2", "P1", "WM1", open_date=D(2026, 11, 16))
    b.account("A5", "P4", "DEM", open_date=D(2026, 11, 10))
    # Before the trend's six months: read as the account's opening row; the newer load wins.
    b.balance("A1", D(2026, 3, 1), 100_000, load_id=2)
    b.balance("A1", D(2026, 3, 1), 90_000, load_id=1)
    b.balance("A1", D(2026, 2, 1), 70_000)
    b.balance("A1", D(2026, 11, 30), 100_000)
    b.balance("A2", D(2026, 11, 16), 50_000, load_id=3)
    b.balance("A2", D(2026, 11, 16), 40_000, load_id=1)  # an older load of the same day
    b.balance("A5", D(2026, 11, 10), 20_000)
    b.txn("A1", D(2026, 11, 5), 12.5, txn_type="FEE")
    b.txn("A5", D(2026, 11, 20), 7.5, txn_type="FEE")
    b.contact("P1", D(2026, 11, 3))
    return b.write()


def _run(con, lake):
    table = staff_actuals(
        con,
        lake,
        book=BOOK,
        period=Period.parse("2026-11"),
        as_of=D(2026, 11, 30),
        cadence_tiers=["DIAMOND", "GOLD"],
    )
    return table.to_pylist()


def test_duckdb(duck, lake):
    assert _run(duck, lake) == [EXPECTED]


def test_the_contacts_can_come_from_the_caller(duck, lake):
    contacts = pa.table(
        {
            "customer_no": ["P1", "P4", "P4"],
            "contact_date": [D(2026, 11, 3), D(2026, 11, 4), D(2026, 10, 1)],
        }
    )
    [row] = staff_actuals(
        duck,
        lake,
        book=BOOK,
        period=Period.parse("2026-11"),
        as_of=D(2026, 11, 30),
        cadence_tiers=["DIAMOND", "GOLD"],
        contacts=contacts,
    ).to_pylist()
    assert row["contacts"] == 2 and row["coverage"] == 1.0


@pytest.mark.spark
def test_spark_gives_the_same(spark_con, lake):
    assert _run(spark_con, lake) == [EXPECTED]
