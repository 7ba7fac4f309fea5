"""The lake contract is written once (qiao.core.lake) and every reader keeps it.

- a file or folder the contract skips is skipped by every reader: the 360's lake views, the work
  list's lake reads, the scoring's readers, ``qiao status`` and ingest;
- the DuckDB and the Ibis renderings of "newest load wins" pick the same rows;
- ``QIAO_TIME_ZONE`` reaches the scoring (its local day) as it reaches the work list;
- the work list and the scoring agree on what a large movement is (``QIAO_LARGE_AMOUNT``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qiao.analytics.features import FeatureParams, day_number, large_transactions
from qiao.analytics.lake import connect, read_balances, read_transactions
from qiao.core import lake as contract
from qiao.customers.lake_views import (
    customer_aum_trend,
    customer_recent_transactions,
    transaction_months,
)
from qiao.customers.selectors import customer_accounts
from qiao.engagement import lake as worklist_lake
from qiao.ingest.services import ingest_paths
from qiao.scoring.models import ScoreEvent
from qiao.scoring.selectors import lake_count
from qiao.scoring.services import default_as_of, score_run
from tests.workbench.conftest import _fast_hasher, bank, lake  # noqa: F401

pytestmark = pytest.mark.django_db

MONEY = pa.decimal128(18, 2)


def _txn_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.table(
        {
            "txn_id": [r["txn_id"] for r in rows],
            "account_no": [r.get("account_no", "6222000000000001") for r in rows],
            "customer_no": [r.get("customer_no", "P0000001") for r in rows],
            "txn_time": pa.array([r["txn_time"] for r in rows], pa.timestamp("us", tz="UTC")),
            "amount": pa.array([Decimal(r["amount"]) for r in rows], MONEY),
            "direction": [r.get("direction", "C") for r in rows],
            "channel": [r.get("channel", "COUNTER") for r in rows],
            "txn_type": [r.get("txn_type", "DEPOSIT") for r in rows],
            "product_code": pa.array([None] * len(rows), pa.string()),
            "gain": pa.array([None] * len(rows), MONEY),
            "cash": [r.get("cash", "N") for r in rows],
            "load_id": pa.array([r.get("load_id", 1) for r in rows], pa.int64()),
        }
    )


def _balance_table(account_no: str, day: dt.date, amount: str, load_id: int) -> pa.Table:
    return pa.table(
        {
            "account_no": [account_no],
            "customer_no": ["P0000001"],
            "balance_date": pa.array([day], pa.date32()),
            "balance": pa.array([Decimal(amount)], MONEY),
            "load_id": pa.array([load_id], pa.int64()),
        }
    )


def _add_decoys(root: Path) -> None:
    """Everything the contract says is not lake data, made to change the answers if read: valid
    Parquet files with a newer load of existing keys and new keys, and files that are not Parquet
    at all (a reader that opens them fails)."""
    utc = dt.UTC
    newer_t1 = _txn_table(
        [
            {"txn_id": "T1", "txn_time": dt.datetime(2026, 1, 5, 2, tzinfo=utc), "amount": "90000",
             "load_id": 99},
            {"txn_id": "TX", "txn_time": dt.datetime(2026, 1, 29, 2, tzinfo=utc), "amount": "80000",
             "load_id": 99},
        ]
    )  # fmt: skip
    newer_balance = _balance_table("6222000000000001", dt.date(2026, 1, 16), "999.00", 99)
    for kind, table in (("transactions", newer_t1), ("balances", newer_balance)):
        month = root / kind / "month=2026-01"
        pq.write_table(table, month / ".part-00000099-0.parquet")  # hidden: being written
        pq.write_table(table, month / "_part-00000099-0.parquet")  # metadata by convention
        (month / "._part-1.parquet").write_bytes(b"\x00\x05\x16\x07 AppleDouble")  # macOS fork
        (month / "part-00000099-0.parquet.tmp").write_bytes(b"half a file")
        (month / "_SUCCESS").write_bytes(b"")
        (month / "_metadata").write_bytes(b"not parquet")
        for folder in ("month=2026-01.old", "month=2026-1", "_staging", "month=2026-02"):
            (root / kind / folder).mkdir()
        pq.write_table(table, root / kind / "month=2026-01.old" / "part-00000099-0.parquet")
        pq.write_table(table, root / kind / "month=2026-1" / "part-00000099-0.parquet")
        pq.write_table(table, root / kind / "_staging" / "part-00000099-0.parquet")
        # A partition with no data file is no month of the lake.
        pq.write_table(table, root / kind / "month=2026-02" / ".part-00000099-0.parquet")
    (root / contract.STAGING / "transactions-99" / "month=2026-01").mkdir(parents=True)
    pq.write_table(
        newer_t1, root / "_staging/transactions-99/month=2026-01/part-00000099-0.parquet"
    )


def _every_reader(the_bank: Any, root: Path) -> dict[str, Any]:
    """What each reader of the lake answers (nothing of it may change with the decoys)."""
    out: dict[str, Any] = {
        "files": {k: [p.name for p in contract.lake_files(root, k)] for k in contract.KINDS},
        "months": {k: contract.lake_months(root, k) for k in contract.KINDS},
        # the 360
        "trend": customer_aum_trend(
            customer_no="P0000001",
            accounts=customer_accounts(the_bank.x),
            as_of=dt.date(2026, 2, 10),
        ),
        "recent": [
            (r["txn_id"], r["amount"])
            for r in customer_recent_transactions(customer_no="P0000001", months=None)
        ],
        "transaction_months": transaction_months(),
        # the work list
        "large": worklist_lake.large_movements(
            start=dt.date(2026, 1, 1), end=dt.date(2026, 2, 28), threshold=Decimal(50)
        ),
        "latest_balances": worklist_lake.latest_balances(
            account_nos=["6222000000000001", "6222000000000011"], as_of=dt.date(2026, 2, 28)
        ),
        # qiao status and qiao score's default date
        "count": {k: lake_count(k) for k in contract.KINDS},
        "as_of": default_as_of(),
    }
    # the scoring's readers (Ibis on DuckDB)
    con = connect("duckdb", threads=1)
    try:
        out["scoring_txn"] = sorted(
            read_transactions(con, root)
            .select("txn_id", "amount", "load_id")
            .to_pyarrow()
            .to_pylist(),
            key=str,
        )
        out["scoring_bal"] = sorted(
            read_balances(con, root)
            .select("account_no", "balance_date", "balance")
            .to_pyarrow()
            .to_pylist(),
            key=str,
        )
        out["scoring_large"] = sorted(
            large_transactions(
                con, root, dt.date(2026, 1, 31), FeatureParams(large_txn_threshold=50)
            )
            .select("txn_id", "amount")
            .to_pyarrow()
            .to_pylist(),
            key=str,
        )
    finally:
        con.disconnect()
    return out


def test_every_reader_skips_what_the_contract_skips(bank, lake, tmp_path):  # noqa: F811
    clean = _every_reader(bank, lake)
    assert clean["files"] == {
        "transactions": ["part-1.parquet"],
        "balances": ["part-1.parquet", "part-2.parquet"],
    }
    assert clean["recent"] and clean["large"] and clean["scoring_large"]
    _add_decoys(lake)
    assert _every_reader(bank, lake) == clean

    # Ingest compares a file with what is loaded through the same contract: the rows below are
    # what the lake holds, so they are unchanged (a hidden newer load would make the balance
    # "updated" and T1 a refused correction; a file that is not Parquet would fail the load).
    extracts = tmp_path / "extracts"
    extracts.mkdir()
    (extracts / "balances_x.csv").write_text(
        "account_no,balance_date,balance\n6222000000000001,2026-01-16,300000.00\n",
        encoding="utf-8",
    )
    (extracts / "transactions_x.csv").write_text(
        "txn_id,account_no,customer_no,txn_time,amount,direction,channel,txn_type,cash\n"
        "T1,6222000000000001,P0000001,2026-01-05T02:00:00+00:00,100.50,C,COUNTER,DEPOSIT,Y\n",
        encoding="utf-8",
    )
    results = {r.kind: r for r in ingest_paths([extracts])}
    assert all(r.ok for r in results.values()), [r.summary() for r in results.values()]
    assert (results["balances"].unchanged, results["balances"].updated) == (1, 0)
    assert (results["transactions"].unchanged, results["transactions"].rejected) == (1, 0)


def test_the_sql_and_the_ibis_rule_pick_the_same_rows(tmp_path):
    root = tmp_path / "root"
    month = root / "transactions" / "month=2026-01"
    month.mkdir(parents=True)
    when = dt.datetime(2026, 1, 5, 2, tzinfo=dt.UTC)
    for load_id, amount in ((3, "30"), (1, "10"), (2, "20")):
        rows = [{"txn_id": "A", "txn_time": when, "amount": amount, "load_id": load_id}]
        if load_id == 1:
            rows.append({"txn_id": "B", "txn_time": when, "amount": "5", "load_id": 1})
        pq.write_table(_txn_table(rows), month / f"part-{load_id:08d}-0.parquet")
    files = [str(p) for p in contract.lake_files(root, "transactions")]
    sql = contract.newest_load_sql("transactions", "?", columns="txn_id, amount, load_id")
    by_sql = sorted(duckdb.execute(sql, [files]).fetchall())
    con = connect("duckdb", threads=1)
    try:
        by_ibis = sorted(
            tuple(r.values())
            for r in read_transactions(con, root)
            .select("txn_id", "amount", "load_id")
            .to_pyarrow()
            .to_pylist()
        )
    finally:
        con.disconnect()
    assert by_sql == by_ibis == [("A", Decimal("30.00"), 3), ("B", Decimal("5.00"), 1)]
    # The form for a page's handful of rows (gathered first, then the rule) picks the same rows,
    # with the columns asked for (load_id among them or not) and a filter before the rule.
    few = contract.newest_load_sql("transactions", "?", columns="txn_id, amount, load_id", few=True)
    assert sorted(duckdb.execute(few, [files]).fetchall()) == by_sql
    few = contract.newest_load_sql(
        "transactions", "?", columns="txn_id, amount", where="amount > 6", few=True
    )
    assert sorted(duckdb.execute(few, [files]).fetchall()) == [("A", Decimal("30.00"))]
    few = contract.newest_load_sql("transactions", "?", where="txn_id = 'A'", few=True)
    picked = duckdb.execute(f"SELECT load_id, amount FROM ({few})", [files])  # noqa: S608
    assert picked.fetchall() == [(3, Decimal("30.00"))]
    values = contract.newest_value_sql("transactions", "?", {"amount": "amount"})
    assert sorted(duckdb.execute(values, [files]).fetchall()) == [
        ("A", Decimal("30.00")),
        ("B", Decimal("5.00")),
    ]


def test_utc_offsets_follow_the_zone():
    assert contract.utc_offsets("Asia/Shanghai", dt.date(2025, 1, 1), dt.date(2026, 12, 31)) == [
        (None, 8 * 3600)
    ]
    # New York changes twice in 2026: 8 March 07:00 UTC and 1 November 06:00 UTC.
    spring = int(dt.datetime(2026, 3, 8, 7, tzinfo=dt.UTC).timestamp())
    autumn = int(dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC).timestamp())
    assert contract.utc_offsets("America/New_York", dt.date(2026, 1, 1), dt.date(2026, 12, 1)) == [
        (None, -5 * 3600),
        (spring, -4 * 3600),
        (autumn, -5 * 3600),
    ]


AS_OF = dt.date(2026, 1, 31)
# 17:00 UTC on 30 January is 31 January 01:00 in Shanghai and 30 January 12:00 in New York.
NEAR_MIDNIGHT = dt.datetime(2026, 1, 30, 17, tzinfo=dt.UTC)


def _large_events() -> set[tuple[str, dt.date, str]]:
    return {
        (e.customer.customer_no, e.event_date, "C" if e.kind == "LARGE_INFLOW" else "D")
        for e in ScoreEvent.objects.filter(kind__in=["LARGE_INFLOW", "LARGE_OUTFLOW"])
    }


def _worklist_moves(day: dt.date = AS_OF) -> set[tuple[str, dt.date, str]]:
    from django.conf import settings

    moves = worklist_lake.large_movements(
        start=day - dt.timedelta(days=29),
        end=day,
        threshold=Decimal(settings.QIAO["LARGE_AMOUNT"]),
    )
    return {(c, d, direction) for c, d, direction, _amount in moves}


def test_qiao_time_zone_reaches_the_scoring_and_the_work_list(bank, lake, settings):  # noqa: F811
    pq.write_table(
        _txn_table([{"txn_id": "BIG", "txn_time": NEAR_MIDNIGHT, "amount": "60000.00"}]),
        lake / "transactions" / "month=2026-01" / "part-00000007-0.parquet",
    )
    assert score_run(as_of=AS_OF).ok
    shanghai = {("P0000001", dt.date(2026, 1, 31), "C")}
    assert _large_events() == _worklist_moves() == shanghai

    settings.TIME_ZONE = "America/New_York"
    assert score_run(as_of=AS_OF).ok
    new_york = {("P0000001", dt.date(2026, 1, 30), "C")}
    assert _large_events() == _worklist_moves() == new_york
    # The features' local day too (the scoring's day number of the transaction).
    con = connect("duckdb", threads=1)
    try:
        days = (
            large_transactions(con, lake, AS_OF, FeatureParams(time_zone="America/New_York"))
            .to_pyarrow()
            .column("txn_day")
            .to_pylist()
        )
    finally:
        con.disconnect()
    assert days == [day_number(dt.date(2026, 1, 30))]


def test_the_work_list_and_the_scoring_agree_on_a_large_movement(bank, lake, settings):  # noqa: F811
    settings.QIAO = {**settings.QIAO, "LARGE_AMOUNT": 30_000}
    when = dt.datetime(2026, 1, 29, 3, tzinfo=dt.UTC)
    rows = [
        # just under / at / just over the threshold, in and out, one customer each way
        {"txn_id": "U1", "txn_time": when, "amount": "29999.99", "customer_no": "P0000001"},
        {"txn_id": "O1", "txn_time": when, "amount": "30000.00", "customer_no": "P0000002",
         "account_no": "6222000000000002"},
        {"txn_id": "U2", "txn_time": when, "amount": "29999.99", "direction": "D",
         "customer_no": "P0000001"},
        {"txn_id": "O2", "txn_time": when, "amount": "30000.01", "direction": "D",
         "customer_no": "P0000002", "account_no": "6222000000000002"},
    ]  # fmt: skip
    pq.write_table(_txn_table(rows), lake / "transactions" / "month=2026-01" / "part-9.parquet")
    assert score_run(as_of=AS_OF).ok
    expected = {
        ("P0000002", dt.date(2026, 1, 29), "C"),
        ("P0000002", dt.date(2026, 1, 29), "D"),
    }
    assert _large_events() == _worklist_moves() == expected


# The contract's knowledge, as it would look if a module wrote it again (strings and SQL, not
# words in a docstring). qiao.demo is left out: it generates a synthetic bank in China, whose
# extracts carry their own UTC offset (+08:00), as a core system's would.
COPIES = {
    "a month folder": r"""["']month=""",
    "the staging folder": r"""["']_staging""",
    "the newest-load rule": r"load_id\s+DESC|arg_max\([^)]*load_id|desc\(\s*[\w.]*load_id",
    "the time zone": r"Asia/Shanghai|utc_offset_hours|8\s*\*\s*3600",
}


@pytest.mark.parametrize("what", sorted(COPIES))
def test_the_contract_is_written_once(what):
    import re

    root = Path(__file__).resolve().parents[1] / "qiao"
    pattern = re.compile(COPIES[what])
    owner = root / "core" / "lake.py"
    found = [
        f"{path.relative_to(root)}:{n}"
        for path in sorted(root.rglob("*.py"))
        if path != owner and "demo" not in path.relative_to(root).parts[:1]
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == [], f"{what} is written outside qiao/core/lake.py"
    assert pattern.search(owner.read_text(encoding="utf-8"))
