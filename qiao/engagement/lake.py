"""Reads of the Parquet lake the work list and the plans need (DuckDB; newest load wins per key).

The layout is docs/data-interface.md: ``lake/<kind>/month=YYYY-MM/*.parquet`` with ``load_id``.
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


def _files(kind: str, months: Iterable[str] | None = None) -> list[str]:
    root = Path(settings.LAKE_DIR) / kind
    if not root.is_dir():
        return []
    wanted = set(months) if months is not None else None
    files: list[str] = []
    for folder in sorted(root.glob("month=*")):
        if wanted is not None and folder.name.removeprefix("month=") not in wanted:
            continue
        files.extend(
            str(p) for p in sorted(folder.glob("*.parquet")) if not p.name.startswith((".", "_"))
        )
    return files


def _months(start: dt.date, end: dt.date) -> list[str]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def large_movements(
    *, start: dt.date, end: dt.date, threshold: Decimal
) -> list[tuple[str, dt.date, str, Decimal]]:
    """Large fund movements per customer, local day and direction (大额提醒, seed 004 L134).

    Returns ``(customer_no, day, "C" | "D", amount)``: for credits the sum of the day's single
    transactions of at least ``threshold``; for debits the day's whole outflow when it reaches the
    threshold (money split into smaller transfers still leaves).
    """
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    lo = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    # Local day = UTC instant shifted by the zone's offset (fixed for China; the window's is used).
    offset_us = int(lo.utcoffset().total_seconds() * 1_000_000)  # type: ignore[union-attr]
    files = _files("transactions", _months(start - dt.timedelta(days=1), end))
    if not files:
        return []
    con = duckdb.connect()
    try:
        rows = con.execute(
            """
            WITH t AS (
                SELECT txn_id, customer_no, txn_time, amount, direction
                FROM read_parquet(?, union_by_name = true)
                WHERE epoch_us(txn_time) >= ? AND epoch_us(txn_time) < ?
                QUALIFY row_number() OVER (PARTITION BY txn_id ORDER BY load_id DESC) = 1
            ), d AS (
                SELECT customer_no, direction, amount,
                       CAST(make_timestamp(epoch_us(txn_time) + ?) AS DATE) AS day
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
                offset_us,
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
    files = [f for f in _files("balances") if _month_of(f) <= f"{as_of:%Y-%m}"]
    if not wanted or not files:
        return {}
    con = duckdb.connect()
    try:
        con.register("wanted", pa.table({"account_no": wanted}))
        rows = con.execute(
            """
            SELECT b.account_no, b.balance
            FROM read_parquet(?, union_by_name = true) b
            JOIN wanted w USING (account_no)
            WHERE b.balance_date <= ?
            QUALIFY row_number() OVER (
                PARTITION BY b.account_no ORDER BY b.balance_date DESC, b.load_id DESC) = 1
            """,
            [files, as_of],
        ).fetchall()
    finally:
        con.close()
    return {r[0]: Decimal(r[1]) for r in rows}


def _month_of(path: str) -> str:
    return Path(path).parent.name.removeprefix("month=")
