"""Loading balances and transactions into the Parquet lake, validated column-wise in DuckDB.

The rules are those of docs/data-interface.md (the same as the per-field validators in
``qiao.core.validators``), written as SQL so that a million rows validate in about a second.
Good rows are written to ``lake/_staging/<kind>-<load>/`` and moved into place by :func:`publish`
only after the load's database record has committed. The layout, the file names, which files are
data and the newest-load-wins rule are the lake contract (:mod:`qiao.core.lake`).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from django.conf import settings
from django.utils.translation import gettext as _

from qiao.core.lake import (
    STAGING,
    file_pattern,
    lake_files,
    newest_value_sql,
    staged_name,
)
from qiao.ingest.kinds import CHANNELS, PAY_METHODS, TXN_TYPES
from qiao.ingest.master import Counts, Reject

CODE_RE = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}"
AMOUNT_RE = r"\+?\d{1,16}(\.\d{1,2})?"
SIGNED_RE = r"[+-]?\d{1,16}(\.\d{1,2})?"
DATE_RE = r"\d{4}-\d{2}-\d{2}"


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


Check = tuple[str, str, str]  # (column, SQL condition that is true when wrong, reason)


def _problem(column: str, condition: str, reason: str) -> Check:
    return (column, condition, reason)


def _case(check: Check) -> str:
    column, condition, reason = check
    return f"CASE WHEN {condition} THEN {{'col': {_lit(column)}, 'reason': {_lit(reason)}}} END"


def _required(column: str) -> Check:
    return _problem(column, f"{column} IS NULL", _("is required"))


def _code(column: str, required: bool = True) -> list[Check]:
    checks = [_required(column)] if required else []
    checks.append(
        _problem(
            column,
            f"{column} IS NOT NULL AND NOT regexp_full_match({column}, {_lit(CODE_RE)})",
            _("is not a valid code: use 1–40 letters, digits, '-', '_' or '.'"),
        )
    )
    return checks


def _enum(column: str, choices: tuple[str, ...] | list[str], required: bool = True) -> list[Check]:
    checks = [_required(column)] if required else []
    values = ", ".join(_lit(c) for c in choices)
    checks.append(
        _problem(
            column,
            f"{column} IS NOT NULL AND upper({column}) NOT IN ({values})",
            _("must be one of %(choices)s") % {"choices": ", ".join(choices)},
        )
    )
    return checks


def _amount(
    column: str, *, positive: bool = False, signed: bool = False, required: bool = True
) -> list[Check]:
    checks = [_required(column)] if required else []
    pattern = SIGNED_RE if signed else AMOUNT_RE
    checks.append(
        _problem(
            column,
            f"{column} IS NOT NULL AND NOT regexp_full_match({column}, {_lit(pattern)})",
            _("is not an amount with at most 2 decimal places")
            if signed
            else _("is not a non-negative amount with at most 2 decimal places"),
        )
    )
    if positive:
        checks.append(
            _problem(
                column,
                f"regexp_full_match({column}, {_lit(pattern)}) AND TRY_CAST({column} AS DECIMAL(18,2)) <= 0",
                _("must be greater than zero"),
            )
        )
    return checks


TXN_RAW = (
    "{'txn_id': txn_id, 'account_no': account_no, 'customer_no': customer_no, 'txn_time': txn_time, "
    "'amount': amount, 'direction': direction, 'channel': channel, 'txn_type': txn_type, "
    "'product_code': product_code, 'gain': gain, 'cash': cash, 'pay_method': pay_method}"
)
BAL_RAW = "{'account_no': account_no, 'balance_date': balance_date, 'balance': balance}"
# A fingerprint of a transaction's values, to tell "the same row again" from "changed".
TXN_HASH = (
    "md5(concat_ws('|', account_no, customer_no, epoch_us({t}), amount, direction, channel, "
    "txn_type, coalesce(product_code, ''), coalesce(CAST(gain AS VARCHAR), ''), coalesce(cash, ''), "
    "coalesce({pm}, '')))"
)


@dataclass
class LakeResult:
    counts: Counts
    staged: Path | None
    rows_written: int


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    # A txn_time without an offset is local time (QIAO_TIME_ZONE); months partition by local date.
    con.execute(f"SET TimeZone={_lit(settings.TIME_ZONE)}")
    threads = os.environ.get("QIAO_DUCKDB_THREADS")
    if threads:
        con.execute(f"SET threads={int(threads)}")
    return con


def _existing_files(lake: Path, kind: str) -> list[str]:
    return [str(p) for p in lake_files(lake, kind)]


def _conditions(checks: list[Check]) -> str:
    """The checks as one boolean: is anything wrong with the row? (Cheap for the good rows.)"""
    return " OR ".join(f"coalesce({cond}, false)" for _col, cond, _reason in checks)


def _collect_rejects(
    con: duckdb.DuckDBPyConnection, counts: Counts, checks: list[Check], raw: str
) -> None:
    # The list of problems (with reasons) is built only for the rows that have one.
    rows = con.execute(
        f"""
        SELECT __line, p.col, p.reason, __raw
        FROM (SELECT __line, unnest(list_filter([{", ".join(_case(c) for c in checks)}], x -> x IS NOT NULL)) AS p,
                     {raw} AS __raw
              FROM checked WHERE is_bad)
        ORDER BY __line
        """
    ).fetchall()
    for line, col, reason, raw in rows:
        value = raw.get(col) if isinstance(raw, dict) else None
        counts.rejects.append(Reject(int(line), col, "" if value is None else str(value), reason))


def _as_varchar(con: duckdb.DuckDBPyConnection, table: pa.Table, columns: list[str]) -> None:
    con.register("src_arrow", table)
    present = set(table.column_names)
    select = []
    for col in columns:
        if col in present:
            # Parquet brings typed columns: render them as text so one set of rules applies.
            select.append(f"NULLIF(trim(CAST({col} AS VARCHAR)), '') AS {col}")
        else:
            select.append(f"CAST(NULL AS VARCHAR) AS {col}")
    # A view: the casts run once, fused into the validation query that reads it.
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW src AS SELECT {', '.join(select)}, __line FROM src_arrow"
    )


def load_transactions(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    *,
    accounts: pa.Table,
    lake: Path,
    load_id: int,
    now: dt.datetime,
) -> LakeResult:
    cols = [
        "txn_id",
        "account_no",
        "customer_no",
        "txn_time",
        "amount",
        "direction",
        "channel",
        "txn_type",
        "product_code",
        "gain",
        "cash",
        "pay_method",
    ]
    _as_varchar(con, table, cols)
    con.register("acct", accounts)
    checks = (
        _code("txn_id")
        + _code("account_no")
        + _code("customer_no")
        + [
            _required("txn_time"),
            _problem(
                "txn_time",
                "txn_time IS NOT NULL AND ts IS NULL",
                _("is not an ISO 8601 date and time"),
            ),
            _problem(
                "txn_time",
                f"ts > CAST({_lit(now.isoformat())} AS TIMESTAMPTZ)",
                _("is in the future"),
            ),
        ]
        + _amount("amount", positive=True)
        + _enum("direction", ("C", "D"))
        + _enum("channel", CHANNELS)
        + _enum("txn_type", TXN_TYPES)
        + _code("product_code", required=False)
        + _amount("gain", signed=True, required=False)
        + _enum("cash", ("Y", "N"), required=False)
        + _enum("pay_method", PAY_METHODS, required=False)
        + [
            _problem(
                "account_no",
                "a_account IS NULL AND account_no IS NOT NULL",
                _("is not a known account"),
            ),
            _problem(
                "customer_no",
                "a_account IS NOT NULL AND a_customer <> customer_no",
                _("does not own this account"),
            ),
        ]
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE checked AS
        SELECT j.*, ({_conditions(checks)}) AS is_bad
        FROM (SELECT s.*, TRY_CAST(s.txn_time AS TIMESTAMPTZ) AS ts, a.account_no AS a_account,
                     a.customer_no AS a_customer
              FROM src s LEFT JOIN acct a ON a.account_no = s.account_no) j
        """
    )
    counts = Counts()
    _collect_rejects(con, counts, checks, TXN_RAW)
    con.execute(
        """
        CREATE OR REPLACE TEMP VIEW good AS
        SELECT txn_id, account_no, customer_no, ts AS txn_time,
               CAST(amount AS DECIMAL(18,2)) AS amount, upper(direction) AS direction,
               upper(channel) AS channel, upper(txn_type) AS txn_type, product_code,
               CAST(gain AS DECIMAL(18,2)) AS gain, upper(cash) AS cash,
               upper(pay_method) AS pay_method, __line
        FROM checked WHERE NOT is_bad
        """
    )
    existing = _existing_files(lake, "transactions")
    # Fingerprints only for the few rows that need comparing: ids seen before (in the lake or
    # earlier in the file). The rest, nearly always all of them, are simply new.
    if existing:
        files = "[" + ", ".join(_lit(f) for f in existing) + "]"
        # Files written before pay_method existed lack the column: it reads as blank there.
        names = {
            row[0]
            for row in con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({files}, union_by_name = true)"
            ).fetchall()
        }
        newest = newest_value_sql(
            "transactions",
            files,
            {
                "h": TXN_HASH.format(
                    t="txn_time", pm="pay_method" if "pay_method" in names else "NULL"
                )
            },
            where="txn_id IN (SELECT txn_id FROM good)",
        )
        con.execute(f"CREATE OR REPLACE TEMP TABLE old AS {newest}")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE old (txn_id VARCHAR, h VARCHAR)")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE dup AS SELECT txn_id FROM good GROUP BY txn_id HAVING count(*) > 1"
    )
    # Within the file: the first occurrence of an id counts; a later identical one is unchanged,
    # a later different one is refused. Against the lake: identical → unchanged, different → refused.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE judged AS
        WITH seen AS (
            SELECT g.*, {TXN_HASH.format(t="txn_time", pm="pay_method")} AS h FROM good g
            WHERE txn_id IN (SELECT txn_id FROM old) OR txn_id IN (SELECT txn_id FROM dup)
        )
        SELECT s.*, o.h AS old_h,
               first_value(s.h) OVER w AS first_h, first_value(s.__line) OVER w AS first_line,
               row_number() OVER w AS nth
        FROM seen s LEFT JOIN old o USING (txn_id)
        WINDOW w AS (PARTITION BY s.txn_id ORDER BY s.__line)
        """
    )
    for line, txn_id, first_line in con.execute(
        "SELECT __line, txn_id, first_line FROM judged WHERE nth > 1 AND h <> first_h ORDER BY __line"
    ).fetchall():
        counts.rejects.append(
            Reject(
                int(line),
                "txn_id",
                txn_id,
                _(
                    "the same txn_id appears earlier in the file, on line %(line)d, with other values"
                )
                % {"line": first_line},
            )
        )
    for line, txn_id in con.execute(
        "SELECT __line, txn_id FROM judged WHERE nth = 1 AND old_h IS NOT NULL AND old_h <> h ORDER BY __line"
    ).fetchall():
        counts.rejects.append(
            Reject(
                int(line),
                "txn_id",
                txn_id,
                _("this txn_id was loaded before with other values; transactions cannot change"),
            )
        )
    [(unchanged,)] = con.execute(
        "SELECT count(*) FROM judged WHERE (nth = 1 AND old_h = h) OR (nth > 1 AND h = first_h)"
    ).fetchall()
    counts.unchanged = int(unchanged)
    # "judged" holds only the ids seen before; every other good row is new.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW fresh AS
        SELECT txn_id, account_no, customer_no, txn_time, amount, direction, channel, txn_type,
               product_code, gain, cash, pay_method, CAST({int(load_id)} AS BIGINT) AS load_id,
               strftime(txn_time, '%Y-%m') AS month
        FROM (
            SELECT * EXCLUDE (h, old_h, first_h, first_line, nth) FROM judged
            WHERE nth = 1 AND old_h IS NULL
            UNION ALL BY NAME
            SELECT * FROM good
            WHERE txn_id NOT IN (SELECT txn_id FROM old) AND txn_id NOT IN (SELECT txn_id FROM dup)
        )
        """
    )
    result = _stage(con, lake, "transactions", load_id, counts)
    con.unregister("acct")
    con.unregister("src_arrow")
    return result


def load_balances(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    *,
    accounts: pa.Table,
    lake: Path,
    load_id: int,
    today: dt.date,
) -> LakeResult:
    _as_varchar(con, table, ["account_no", "balance_date", "balance"])
    con.register("acct", accounts)
    checks = (
        _code("account_no")
        + [
            _required("balance_date"),
            _problem(
                "balance_date",
                f"balance_date IS NOT NULL AND (NOT regexp_full_match(balance_date, {_lit(DATE_RE)}) OR d IS NULL)",
                _("is not a real calendar date in the form YYYY-MM-DD"),
            ),
            _problem("balance_date", f"d > DATE {_lit(today.isoformat())}", _("is in the future")),
        ]
        + _amount("balance")
        + [
            _problem(
                "account_no",
                "a_account IS NULL AND account_no IS NOT NULL",
                _("is not a known account"),
            )
        ]
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE checked AS
        SELECT j.*, ({_conditions(checks)}) AS is_bad
        FROM (SELECT s.*, TRY_CAST(s.balance_date AS DATE) AS d, a.account_no AS a_account,
                     a.customer_no AS customer_no
              FROM src s LEFT JOIN acct a ON a.account_no = s.account_no) j
        """
    )
    counts = Counts()
    _collect_rejects(con, counts, checks, BAL_RAW)
    existing = _existing_files(lake, "balances")
    if existing:
        files = "[" + ", ".join(_lit(f) for f in existing) + "]"
        newest = newest_value_sql("balances", files, {"balance": "balance"})
        con.execute(f"CREATE OR REPLACE TEMP TABLE old AS {newest}")
    else:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE old (account_no VARCHAR, balance_date DATE, balance DECIMAL(18,2))"
        )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE judged AS
        SELECT c.account_no, c.customer_no, c.d AS balance_date, CAST(c.balance AS DECIMAL(18,2)) AS balance,
               c.__line, o.balance AS old_balance,
               row_number() OVER (PARTITION BY c.account_no, c.d ORDER BY c.__line) AS nth,
               first_value(c.__line) OVER (PARTITION BY c.account_no, c.d ORDER BY c.__line) AS first_line
        FROM checked c LEFT JOIN old o ON o.account_no = c.account_no AND o.balance_date = c.d
        WHERE NOT c.is_bad
        """
    )
    for line, acct, first_line in con.execute(
        "SELECT __line, account_no, first_line FROM judged WHERE nth > 1 ORDER BY __line"
    ).fetchall():
        counts.rejects.append(
            Reject(
                int(line),
                "balance_date",
                acct,
                _("the same account and date appear earlier in the file, on line %(line)d")
                % {"line": first_line},
            )
        )
    [(unchanged, updated)] = con.execute(
        """SELECT count(*) FILTER (WHERE old_balance = balance),
                  count(*) FILTER (WHERE old_balance IS NOT NULL AND old_balance <> balance)
           FROM judged WHERE nth = 1"""
    ).fetchall()
    counts.unchanged, counts.updated = int(unchanged), int(updated)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW fresh AS
        SELECT account_no, customer_no, balance_date, balance, CAST({int(load_id)} AS BIGINT) AS load_id,
               strftime(balance_date, '%Y-%m') AS month
        FROM judged WHERE nth = 1 AND (old_balance IS NULL OR old_balance <> balance)
        """
    )
    result = _stage(con, lake, "balances", load_id, counts)
    con.unregister("acct")
    con.unregister("src_arrow")
    # Updated rows were written too, but they are counted as updated, not loaded.
    result.counts.loaded = result.rows_written - counts.updated
    return result


def _stage(
    con: duckdb.DuckDBPyConnection, lake: Path, kind: str, load_id: int, counts: Counts
) -> LakeResult:
    staged = lake / STAGING / staged_name(kind, load_id)
    if staged.exists():
        shutil.rmtree(staged)
    staged.parent.mkdir(parents=True, exist_ok=True)
    # One pass: COPY runs the fused validation pipeline (``fresh`` is a view) and returns the
    # number of rows written. Sorted by customer within each month, in small row groups, so a
    # reader looking for one customer (the 360 page) skips every row group that cannot hold them.
    [(n,)] = con.execute(
        f"""COPY (SELECT * FROM fresh ORDER BY month, customer_no) TO {_lit(str(staged))}
            (FORMAT PARQUET, PARTITION_BY (month), FILENAME_PATTERN {_lit(file_pattern(load_id))},
             COMPRESSION ZSTD, ROW_GROUP_SIZE 16384)"""
    ).fetchall()
    counts.loaded = int(n)
    if not n:
        shutil.rmtree(staged, ignore_errors=True)
        return LakeResult(counts, None, 0)
    return LakeResult(counts, staged, int(n))


def publish(staged: Path, lake: Path, kind: str) -> None:
    """Move staged files into the lake: each rename is atomic, and readers only see whole files."""
    # The staged folder has a kind's layout (month=YYYY-MM/part-….parquet).
    for part in lake_files(staged.parent, staged.name):
        target = lake / kind / part.parent.name / part.name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, target)
    shutil.rmtree(staged, ignore_errors=True)


def discard(staged: Path | None) -> None:
    if staged is not None:
        shutil.rmtree(staged, ignore_errors=True)
