"""Reads of the Parquet lake the work list and the plans need (DuckDB).

Which files, the keys and the newest-load-wins rule are the lake contract (:mod:`qiao.core.lake`);
a transaction's local day is its date in ``QIAO_TIME_ZONE``, as in the scoring.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
from django.conf import settings

from qiao.core.lake import (
    lake_files,
    month_key,
    month_of,
    months_between,
    newest_load_sql,
    offset_sql,
    utc_offsets,
)


def _files(kind: str, months: Iterable[str] | None = None) -> list[str]:
    return [str(p) for p in lake_files(Path(settings.LAKE_DIR), kind, months)]


def large_movements(
    *, start: dt.date, end: dt.date, threshold: Decimal
) -> list[tuple[str, dt.date, str, Decimal]]:
    """Large fund movements per customer, local day and direction (大额提醒, seed 004 L134).

    Returns ``(customer_no, day, "C" | "D", amount)``: for credits the sum of the day's single
    transactions of at least ``threshold``; for debits the day's whole outflow when it reaches the
    threshold (money split into smaller transfers still leaves). The local day is the date in
    ``settings.TIME_ZONE`` with the offset in force at the transaction (as the scoring's).
    """
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    lo = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    offset = offset_sql("epoch(txn_time)", utc_offsets(settings.TIME_ZONE, start, end))
    files = _files("transactions", months_between(start - dt.timedelta(days=1), end))
    if not files:
        return []
    newest = newest_load_sql(
        "transactions",
        "?",
        columns="txn_id, customer_no, txn_time, amount, direction",
        where="epoch_us(txn_time) >= ? AND epoch_us(txn_time) < ?",
    )
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"""
            WITH t AS ({newest}), d AS (
                SELECT customer_no, direction, amount,
                       CAST(make_timestamp(epoch_us(txn_time) + 1000000::BIGINT * ({offset})) AS DATE)
                         AS day
                FROM t
            )
            SELECT customer_no, day, 'C', sum(amount) FROM d
            WHERE direction = 'C' AND amount >= ? GROUP BY customer_no, day
            UNION ALL
            SELECT customer_no, day, 'D', sum(amount) FROM d
            WHERE direction = 'D' GROUP BY customer_no, day HAVING sum(amount) >= ?
            """,
            [
                files,
                int(lo.timestamp() * 1_000_000),
                int(hi.timestamp() * 1_000_000),
                threshold,
                threshold,
            ],
        ).fetchall()
    finally:
        con.close()
    return [(r[0], r[1], r[2], Decimal(r[3])) for r in rows]


def latest_balances(*, account_nos: Iterable[str], as_of: dt.date) -> dict[str, Decimal]:
    """Each account's end-of-day balance on ``as_of`` (its last row on or before that day)."""
    wanted = sorted(set(account_nos))
    files = [f for f in _files("balances") if month_of(f) <= month_key(as_of)]
    if not wanted or not files:
        return {}
    newest = newest_load_sql(
        "balances",
        "?",
        columns="account_no, balance_date, balance",
        where="account_no IN (SELECT account_no FROM wanted) AND balance_date <= ?",
    )
    con = duckdb.connect()
    try:
        con.register("wanted", pa.table({"account_no": wanted}))
        rows = con.execute(
            f"""
            SELECT account_no, balance FROM ({newest})
            QUALIFY row_number() OVER (PARTITION BY account_no ORDER BY balance_date DESC) = 1
            """,
            [files, as_of],
        ).fetchall()
    finally:
        con.close()
    return {r[0]: Decimal(r[1]) for r in rows}
