"""Reads of the Parquet lake for key accounts and credit risk (DuckDB): the counter transactions
of listed customers (the red-list alert) and the monthly settlement flows (the settlement-flow
decline trigger).

Which files, the keys and the newest-load-wins rule are the lake contract (:mod:`qiao.core.lake`);
a transaction's local day is its date in ``QIAO_TIME_ZONE``, as in the scoring and the work list.
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

from qiao.core.lake import lake_files, months_between, newest_load_sql, offset_sql, utc_offsets


def _files(kind: str, months: Iterable[str]) -> list[str]:
    return [str(p) for p in lake_files(Path(settings.LAKE_DIR), kind, months)]


def _local_day_sql(start: dt.date, end: dt.date) -> str:
    offset = offset_sql("epoch(txn_time)", utc_offsets(settings.TIME_ZONE, start, end))
    return f"CAST(make_timestamp(epoch_us(txn_time) + 1000000::BIGINT * ({offset})) AS DATE)"


def _bounds(start: dt.date, end: dt.date) -> tuple[int, int]:
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    lo = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return int(lo.timestamp() * 1_000_000), int(hi.timestamp() * 1_000_000)


def counter_days(
    *, customer_nos: Iterable[str], channels: Iterable[str], start: dt.date, end: dt.date
) -> list[tuple[str, str, dt.date, int, Decimal]]:
    """The days ``customer_nos`` transacted through ``channels`` (the counter: in person, at an
    outlet) between ``start`` and ``end``: ``(customer_no, account_no, day, count, amount)``, one
    row per customer, account and local day."""
    wanted = sorted(set(customer_nos))
    kinds = sorted(set(channels))
    files = _files("transactions", months_between(start - dt.timedelta(days=1), end))
    if not wanted or not kinds or not files:
        return []
    newest = newest_load_sql(
        "transactions",
        "?",
        columns="txn_id, customer_no, account_no, txn_time, amount, channel",
        where="epoch_us(txn_time) >= ? AND epoch_us(txn_time) < ? AND customer_no IN "
        "(SELECT customer_no FROM wanted)",
    )
    lo, hi = _bounds(start, end)
    con = duckdb.connect()
    try:
        con.register("wanted", pa.table({"customer_no": wanted}))
        con.register("kinds", pa.table({"channel": kinds}))
        rows = con.execute(
            f"""
            SELECT customer_no, account_no, {_local_day_sql(start, end)} AS day, count(*),
                   sum(amount)
            FROM ({newest}) WHERE channel IN (SELECT channel FROM kinds)
            GROUP BY ALL ORDER BY customer_no, day, account_no
            """,  # noqa: S608  (DuckDB over Parquet: identifiers from code, values bound)
            [files, lo, hi],
        ).fetchall()
    finally:
        con.close()
    return [(r[0], r[1], r[2], int(r[3]), Decimal(r[4])) for r in rows]


def monthly_flows(
    *, account_nos: Iterable[str], first: dt.date, last: dt.date
) -> list[tuple[str, str, Decimal]]:
    """The turnover (credits and debits alike) of ``account_nos`` per local month between
    ``first`` and ``last`` (whole days): ``(account_no, "YYYY-MM", amount)``."""
    wanted = sorted(set(account_nos))
    files = _files("transactions", months_between(first - dt.timedelta(days=1), last))
    if not wanted or not files:
        return []
    newest = newest_load_sql(
        "transactions",
        "?",
        columns="txn_id, account_no, txn_time, amount",
        where="epoch_us(txn_time) >= ? AND epoch_us(txn_time) < ? AND account_no IN "
        "(SELECT account_no FROM wanted)",
    )
    lo, hi = _bounds(first, last)
    con = duckdb.connect()
    try:
        con.register("wanted", pa.table({"account_no": wanted}))
        rows = con.execute(
            f"""
            SELECT account_no, strftime({_local_day_sql(first, last)}, '%Y-%m') AS month,
                   sum(amount)
            FROM ({newest}) GROUP BY ALL
            """,  # noqa: S608  (DuckDB over Parquet: identifiers from code, values bound)
            [files, lo, hi],
        ).fetchall()
    finally:
        con.close()
    return [(r[0], r[1], Decimal(r[2])) for r in rows]
