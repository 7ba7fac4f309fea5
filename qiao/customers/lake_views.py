"""The 360's views of the lake (DuckDB over the Parquet files): one customer at a time.

- :func:`customer_aum_trend` — month-average AUM per month over the last 24 months;
- :func:`customer_recent_transactions` — the latest transactions, account numbers masked.

Both apply the lake's rule that the row of the highest ``load_id`` wins for each key
(docs/data-interface.md), and the carry-forward rule for balances (a balance holds until the
account's next row), as the nightly scoring does (qiao.analytics.features).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from django.conf import settings
from django.utils import timezone

from qiao.core.masking import mask_account_no
from qiao.products.models import ASSET_CATEGORIES, Account

#: Product categories whose balances make up AUM.
ASSET = {str(c) for c in ASSET_CATEGORIES}


def _files(kind: str, months: Sequence[str] | None = None) -> list[str]:
    root = Path(settings.LAKE_DIR) / kind
    if not root.is_dir():
        return []
    folders = sorted(root.glob("month=*"))
    if months is not None:
        wanted = set(months)
        folders = [f for f in folders if f.name.removeprefix("month=") in wanted]
    return [str(p) for folder in folders for p in sorted(folder.glob("*.parquet"))]


def _months(kind: str) -> list[str]:
    root = Path(settings.LAKE_DIR) / kind
    return (
        sorted(p.name.removeprefix("month=") for p in root.glob("month=*")) if root.is_dir() else []
    )


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("SET threads=2")
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
    try:
        con.register("acct", acct)
        rows = con.execute(
            """
            WITH latest AS (
                SELECT account_no, balance_date, balance
                FROM (
                    SELECT account_no, balance_date, balance,
                           row_number() OVER (
                               PARTITION BY account_no, balance_date ORDER BY load_id DESC
                           ) AS rn
                    FROM read_parquet($files, union_by_name = true)
                    WHERE customer_no = $customer AND balance_date <= $as_of
                ) WHERE rn = 1
            ),
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
        con.close()
    out = [{"month": m, "aum": round(float(aum or 0), 2)} for m, aum, n in rows]
    # Leave out the months before the customer's first balance.
    while out and rows[len(rows) - len(out)][2] == 0:
        out.pop(0)
    return out


def customer_recent_transactions(*, customer_no: str, limit: int = 20) -> list[dict[str, Any]]:
    """The customer's latest transactions (newest first), account numbers masked.

    Reads the newest three monthly partitions first and the rest only if that is not enough.
    """
    months = _months("transactions")
    if not months:
        return []
    rows: list[tuple[Any, ...]] = []
    # Newest months first, widening (3, 6, 12, then the rest) until there are enough rows.
    for chosen in (months[-3:], months[-6:-3], months[-12:-6], months[:-12]):
        files = _files("transactions", chosen)
        if not files:
            continue
        con = _connect()
        try:
            rows += con.execute(
                """
                SELECT txn_id, account_no, txn_time, amount, direction, channel, txn_type
                FROM (
                    SELECT *, row_number() OVER (PARTITION BY txn_id ORDER BY load_id DESC) AS rn
                    FROM read_parquet($files, union_by_name = true)
                    WHERE customer_no = $customer
                ) WHERE rn = 1
                ORDER BY txn_time DESC, txn_id DESC
                LIMIT $limit
                """,
                {"files": files, "customer": customer_no, "limit": limit},
            ).fetchall()
        finally:
            con.close()
        if len(rows) >= limit:
            break
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
