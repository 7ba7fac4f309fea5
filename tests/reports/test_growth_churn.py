"""Growth and churn on a tiny bank, checked against a hand count.

Three customers, January to June 2026 (every month a full window, so a month-average balance is
the balance itself):

* C1 at O1, opened 2026-01-15: a demand account of 1,000 from 1 January on; one counter
  transaction in February (cost 6 yuan);
* C2 at O2, opened 2025-12-01: a demand account of 2,000 in January, emptied on 1 February,
  500 again from 1 June — active in January, inactive February, March, April (lost in April,
  three months dormant, AUM lost 2,000), inactive in May, won back in June;
* C3 at O1: a loan only (no AUM): never counted as a customer holding AUM.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qiao.analytics.churn import ChurnRule, churn_by_group, churn_events, cohort_retention
from qiao.analytics.growth import growth_by_group, monthly_aum, scope_table
from qiao.analytics.lake import connect, write_ref_table

AS_OF = dt.date(2026, 6, 30)
MONEY = pa.decimal128(18, 2)


def tiny_lake(lake: Path, nos: tuple[str, str, str] = ("C1", "C2", "C3")) -> Path:
    """The lake above; ``nos`` renames C1, C2, C3 (to put it under a test bank's customers)."""
    c1, c2, c3 = nos
    write_ref_table(
        lake,
        "customers",
        pa.table(
            {
                "customer_no": [c1, c2, c3],
                "customer_type": ["P", "P", "C"],
                "birth_date": pa.array([None, None, None], pa.date32()),
                "gender": ["F", "M", None],
                "occupation": [None, None, None],
                "industry": [None, None, None],
                "branch_code": ["O1", "O2", "O1"],
                "open_date": [dt.date(2026, 1, 15), dt.date(2025, 12, 1), dt.date(2020, 1, 1)],
                "size_class": [None, None, None],
            }
        ),
    )
    write_ref_table(
        lake,
        "accounts",
        pa.table(
            {
                "account_no": ["A1", "A2", "L3"],
                "customer_no": [c1, c2, c3],
                "product_code": ["DEM", "DEM", "LOAN1"],
                "open_date": [dt.date(2026, 1, 1), dt.date(2025, 12, 1), dt.date(2020, 1, 1)],
                "maturity_date": pa.array([None, None, None], pa.date32()),
                "close_date": pa.array([None, None, None], pa.date32()),
                "status": ["ACTIVE", "ACTIVE", "ACTIVE"],
                "balance": pa.array([Decimal(1000), Decimal(500), Decimal(90000)], MONEY),
            }
        ),
    )
    write_ref_table(
        lake,
        "products",
        pa.table(
            {
                "product_code": ["DEM", "LOAN1"],
                "name": ["活期", "贷款"],
                "category": ["DEMAND", "LOAN"],
                "risk_level": [None, None],
                "motives": [None, None],
                "term_days": pa.array([None, None], pa.int64()),
                "rate": pa.array([None, None], pa.float64()),
            }
        ),
    )
    rows = [
        ("A1", c1, dt.date(2026, 1, 1), "1000"),
        ("A2", c2, dt.date(2026, 1, 1), "2000"),
        ("A2", c2, dt.date(2026, 2, 1), "0"),
        ("A2", c2, dt.date(2026, 6, 1), "500"),
        ("L3", c3, dt.date(2026, 1, 1), "90000"),
    ]
    for month in ("2026-01", "2026-02", "2026-06"):
        part = [r for r in rows if f"{r[2]:%Y-%m}" == month]
        folder = lake / "balances" / f"month={month}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            pa.table(
                {
                    "account_no": [r[0] for r in part],
                    "customer_no": [r[1] for r in part],
                    "balance_date": [r[2] for r in part],
                    "balance": pa.array([Decimal(r[3]) for r in part], MONEY),
                    "load_id": pa.array([1] * len(part), pa.int64()),
                }
            ),
            folder / "part-00000001-0.parquet",
        )
    folder = lake / "transactions" / "month=2026-02"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table(
            {
                "txn_id": ["T1"],
                "account_no": ["A1"],
                "customer_no": [c1],
                "txn_time": pa.array(
                    [dt.datetime(2026, 2, 10, 2, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC")
                ),
                "amount": pa.array([Decimal("100.00")], MONEY),
                "direction": ["C"],
                "channel": ["COUNTER"],
                "txn_type": ["DEPOSIT"],
                "product_code": [None],
                "gain": pa.array([None], MONEY),
                "cash": ["Y"],
                "load_id": pa.array([1], pa.int64()),
            }
        ),
        folder / "part-00000001-0.parquet",
    )
    return lake


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    return tiny_lake(tmp_path_factory.mktemp("tiny") / "lake")


SCOPE = scope_table(["C1", "C2", "C3"], ["GOLD", "ORDINARY", "ORDINARY"])


def test_growth_counts_customers_aum_and_contribution_by_hand(lake) -> None:
    con = connect()
    rows = growth_by_group(con, lake, AS_OF, SCOPE, n_months=6)
    con.disconnect()

    def cell(month: str, col: str, **where: str) -> float:
        part = rows[rows["month"] == month]
        for key, value in where.items():
            part = part[part[key] == value]
        return float(part[col].sum())

    assert cell("2026-01", "customers") == 2  # C1 and C2; C3 holds a loan only
    assert cell("2026-01", "aum") == pytest.approx(3000.0)
    assert cell("2026-02", "customers") == 1
    assert cell("2026-02", "aum", branch_code="O1") == pytest.approx(1000.0)
    assert cell("2026-06", "aum", grp="ORDINARY") == pytest.approx(500.0)
    # February: C1's margin 1.5 % a year on 1,000 (1.25) less one counter transaction (6).
    assert cell("2026-02", "contribution", grp="GOLD") == pytest.approx(1.25 - 6.0)


def test_growth_counts_only_the_scope(lake) -> None:
    con = connect()
    rows = growth_by_group(con, lake, AS_OF, scope_table(["C1"], ["GOLD"]), n_months=6)
    con.disconnect()
    assert set(rows["branch_code"]) == {"O1"}
    assert float(rows[rows["month"] == "2026-01"]["aum"].sum()) == pytest.approx(1000.0)


def test_churn_lost_won_back_and_cohorts_by_hand(lake) -> None:
    con = connect()
    data = monthly_aum(con, lake, AS_OF, SCOPE, n_months=6)
    con.disconnect()
    assert data.months == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert list(data.customer_no) == ["C1", "C2", "C3"]
    by = churn_by_group(data.aum, data.grp, data.months, ChurnRule(100, 3))
    ordinary = by[by["grp"] == "ORDINARY"].set_index("month")
    assert ordinary["lost"].tolist() == [0, 0, 0, 1, 0, 0]  # April
    assert ordinary.loc["2026-04", "aum_lost"] == pytest.approx(2000.0)
    assert ordinary["won_back"].tolist() == [0, 0, 0, 0, 0, 1]  # June
    assert by[by["grp"] == "GOLD"]["lost"].sum() == 0
    cohorts = cohort_retention(data.aum, data.open_month, data.months, cohorts=6).set_index(
        "cohort"
    )
    assert cohorts.loc["2026-01", "size"] == 1  # C1 (C2 opened in December, before the window)
    assert cohorts.loc["2026-01", "m0"] == 1.0 and cohorts.loc["2026-01", "m5"] == 1.0
    assert np.isnan(cohorts.loc["2026-06", "m1"])


def test_a_customer_lost_twice_counts_twice() -> None:
    aum = np.array([[500.0, 0, 0, 500, 0, 0]])
    events = churn_events(aum, ChurnRule(100, 2))
    assert events.lost[0].tolist() == [False, False, True, False, False, True]
    assert events.won_back[0].tolist() == [False, False, False, True, False, False]


def test_the_figures_are_kept_between_loads_and_computed_again_after_one(tmp_path) -> None:
    lake = tiny_lake(tmp_path / "lake")
    cache = tmp_path / "cache"
    con = connect()
    first = growth_by_group(con, lake, AS_OF, SCOPE, n_months=6, cache_dir=cache)
    kept = sorted(cache.glob("growth-*.parquet"))
    assert len(kept) == 1
    again = growth_by_group(con, lake, AS_OF, SCOPE, n_months=6, cache_dir=cache)
    assert again.equals(first)
    assert sorted(cache.glob("growth-*.parquet")) == kept  # read, not written again
    # A new load: C1's March balance rises to 4,000; the next report sees it.
    folder = lake / "balances" / "month=2026-03"
    folder.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "account_no": ["A1"],
                "customer_no": ["C1"],
                "balance_date": [dt.date(2026, 3, 1)],
                "balance": pa.array([Decimal(4000)], MONEY),
                "load_id": pa.array([2], pa.int64()),
            }
        ),
        folder / "part-00000002-0.parquet",
    )
    after = growth_by_group(con, lake, AS_OF, SCOPE, n_months=6, cache_dir=cache)
    con.disconnect()
    march = after[after["month"] == "2026-03"]
    assert float(march["aum"].sum()) == pytest.approx(4000.0)
    assert len(list(cache.glob("growth-*.parquet"))) == 2
