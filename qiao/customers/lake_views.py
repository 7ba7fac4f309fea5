"""The 360's views of the lake (DuckDB over the Parquet files): one customer at a time.

- :func:`customer_aum_trend` — month-average AUM per month over the last 24 months;
- :func:`customer_recent_transactions` — the latest transactions, account numbers masked.

Both read the lake by its contract (:mod:`qiao.core.lake`: which files, newest load wins per key),
and the trend applies the carry-forward rule for balances (a balance holds until the account's next
row), as the nightly scoring does (qiao.analytics.features).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from django.conf import settings
from django.utils import timezone

from qiao.core.lake import lake_files, lake_months, newest_load_sql
from qiao.core.masking import mask_account_no
from qiao.products.models import ASSET_CATEGORIES, Account

#: Product categories whose balances make up AUM.
ASSET = {str(c) for c in ASSET_CATEGORIES}


def _files(kind: str, months: Sequence[str] | None = None) -> list[str]:
    return [str(p) for p in lake_files(Path(settings.LAKE_DIR), kind, months)]


def _months(kind: str) -> list[str]:
    return lake_months(Path(settings.LAKE_DIR), kind)


_db: duckdb.DuckDBPyConnection | None = None
_db_lock = threading.Lock()
_local = threading.local()


def _forget_after_fork() -> None:
    """A forked server process (``qiao serve --workers``) opens its own database: DuckDB's
    threads and locks do not survive a fork, so an inherited one is dropped, never used."""
    global _db, _db_lock, _local
    _db, _db_lock, _local = None, threading.Lock(), threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _connect() -> duckdb.DuckDBPyConnection:
    """This thread's connection to one in-process DuckDB database, opened once.

    Opening a DuckDB database costs ~6 ms and a 360 runs up to five lake queries; a cursor per
    thread (DuckDB's way to share a database between threads) costs nothing after the first.
    """
    con = getattr(_local, "con", None)
    if con is None:
        global _db
        with _db_lock:
            if _db is None:
                _db = duckdb.connect()
                # One thread: a 360's lake read is a few small scans; a second thread cost more
                # CPU than it saved time while twenty users share the cores (bench_request_cpu).
                _db.execute("SET threads=1")
                # The files' footers (schema, row-group statistics) are read once, not on every
                # query: lake files are only ever added, never rewritten in place. GLOBAL: a
                # plain SET is the connection's own, and every thread reads through a cursor
                # (a connection of its own), which then read every footer again (~8 ms a 360).
                _db.execute("SET GLOBAL parquet_metadata_cache=true")
            con = _db.cursor()
        con.execute("SET TimeZone='UTC'")
        _local.con = con
    return con


def _month_start(day: dt.date, back: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def customer_aum_trend(
    *,
    customer_no: str,
    accounts: Sequence[Account],
    months: int = 24,
    as_of: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Month-average daily AUM (yuan) for each of the last ``months`` months, oldest first.

    ``accounts`` are the customer's accounts with their product (only asset categories count; a
    closed account stops counting on its close date). The month of ``as_of`` (default today) is
    averaged over its days so far. Months before the first balance are left out.
    """
    asset = [a for a in accounts if a.product.category in ASSET]
    files = _files("balances")
    if not asset or not files:
        return []
    as_of = as_of or timezone.localdate()
    first = _month_start(as_of, months - 1)
    after = as_of + dt.timedelta(days=1)
    acct = pa.table(
        {
            "account_no": [a.account_no for a in asset],
            "close_date": pa.array([a.close_date for a in asset], type=pa.date32()),
        }
    )
    con = _connect()
    con.register("acct", acct)
    try:
        latest = newest_load_sql(
            "balances",
            "$files",
            columns="account_no, balance_date, balance",
            where="customer_no = $customer AND balance_date <= $as_of",
            few=True,
        )
        rows = con.execute(
            f"""
            WITH latest AS ({latest}),
            intervals AS (
                SELECT l.account_no, l.balance_date AS s, l.balance,
                       least(
                           coalesce(lead(l.balance_date) OVER (
                               PARTITION BY l.account_no ORDER BY l.balance_date), $after),
                           coalesce(a.close_date, $after),
                           $after
                       ) AS e
                FROM latest l JOIN acct a USING (account_no)
            ),
            months AS (
                SELECT CAST(m AS DATE) AS ms, CAST(m + INTERVAL 1 MONTH AS DATE) AS me
                FROM generate_series(CAST($first AS TIMESTAMP), CAST($as_of AS TIMESTAMP),
                                     INTERVAL 1 MONTH) AS t(m)
            )
            SELECT strftime(ms, '%Y-%m') AS month,
                   sum(i.balance * greatest(0, date_diff('day', greatest(i.s, ms), least(i.e, me))))
                     / date_diff('day', ms, least(me, $after)) AS aum,
                   count(i.account_no) AS n
            FROM months LEFT JOIN intervals i ON i.s < months.me AND i.e > months.ms
            GROUP BY ms, me
            ORDER BY ms
            """,
            {
                "files": files,
                "customer": customer_no,
                "as_of": as_of,
                "after": after,
                "first": first,
            },
        ).fetchall()
    finally:
        con.unregister("acct")
    out = [{"month": m, "aum": round(float(aum or 0), 2)} for m, aum, n in rows]
    # Leave out the months before the customer's first balance.
    while out and rows[len(rows) - len(out)][2] == 0:
        out.pop(0)
    return out


def transaction_months() -> list[str]:
    """The monthly partitions of transactions the lake holds (``YYYY-MM``, oldest first)."""
    return _months("transactions")


def customer_recent_transactions(
    *,
    customer_no: str,
    limit: int = 20,
    months: int | None = 3,
    available: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The customer's latest transactions (newest first), account numbers masked, from the lake's
    newest ``months`` monthly partitions (``None``: all of them).

    One query over those months' files. Each file costs ~2 ms whatever its size (its footer and
    the one row group that can hold the customer), so the 360 reads three months and earlier
    months are read when asked for (:func:`transaction_months` tells which there are; a caller
    that has them passes them as ``available``, and the lake is not listed again).
    """
    if available is None:
        available = transaction_months()
    chosen = list(available) if months is None else available[-months:] if months > 0 else []
    files = _files("transactions", chosen)
    if not files:
        return []
    newest = newest_load_sql(
        "transactions",
        "$files",
        columns="txn_id, account_no, txn_time, amount, direction, channel, txn_type",
        where="customer_no = $customer",
        few=True,
    )
    rows = (
        _connect()
        .execute(
            f"""
            SELECT * FROM ({newest})
            ORDER BY txn_time DESC, txn_id DESC
            LIMIT $limit
            """,
            {"files": files, "customer": customer_no, "limit": limit},
        )
        .fetchall()
    )
    out = []
    for txn_id, account_no, txn_time, amount, direction, channel, txn_type in rows[:limit]:
        if isinstance(txn_time, dt.datetime) and txn_time.tzinfo is None:
            txn_time = txn_time.replace(tzinfo=dt.UTC)
        out.append(
            {
                "txn_id": txn_id,
                "account": mask_account_no(account_no or ""),
                "at": timezone.localtime(txn_time)
                if isinstance(txn_time, dt.datetime)
                else txn_time,
                "amount": amount,
                "direction": direction,
                "channel": channel,
                "txn_type": txn_type,
            }
        )
    return out
