"""RFM summaries of a transaction log, computed in DuckDB.

The definitions are those of ``lifetimes.utils.summary_data_from_transaction_data`` and the
numbers are identical to it (the test suite and ``bench/bench_clv.py`` check this):

* every timestamp is floored to its period -- the day for ``freq="D"``, the Monday that starts
  its week for ``freq="W"`` (pandas' ``to_period("W")``, weeks ending on Sunday) -- and ``end`` is
  floored the same way; purchases in the same period are merged (amounts summed);
* transactions whose *period* is after ``end``'s period are ignored (so with ``freq="W"`` a
  purchase later in the same week as ``end`` still counts, exactly as in ``lifetimes``);
* ``frequency`` = number of periods with a purchase minus one (repeat periods);
* ``recency`` = first to last purchase period, ``T`` = first purchase period to ``end``, in
  periods (days, or weeks = days / 7);
* ``monetary_value`` = mean of the summed amounts of the repeat periods, 0 when frequency is 0.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd

Freq = Literal["D", "W"]
_PERIOD_DAYS: dict[str, int] = {"D": 1, "W": 7}
#: When the summed |amounts| of a customer exceed the repeat-period total by this factor, the
#: fast "total minus first period" mean loses digits and is recomputed exactly.
_CANCELLATION_RATIO = 1e4


class MissingColumnError(ValueError):
    """A required column is not in the input."""

    def __init__(self, column: str, available: list[str]) -> None:
        super().__init__(f"required column {column} missing")
        self.column = column
        self.available = available


def _q(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _connect() -> duckdb.DuckDBPyConnection:
    """In-memory DuckDB; ``QIAO_DUCKDB_THREADS`` caps its threads (as elsewhere in Qiao)."""
    con = duckdb.connect()
    threads = os.environ.get("QIAO_DUCKDB_THREADS")
    if threads:
        con.execute(f"SET threads={int(threads)}")
    return con


def _check_freq(freq: str) -> None:
    if freq not in _PERIOD_DAYS:
        raise ValueError(f"freq: must be 'D' (days) or 'W' (weeks), got {freq!r}")


def _floor_to_period(value: Any, freq: str) -> dt.date:
    """Floor a date-like value to the first day of its period (pandas' ``to_period().start``)."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"end: cannot read {value!r} as a date ({exc})") from None
    if pd.isna(ts):
        raise ValueError(f"end: cannot read {value!r} as a date")
    day = ts.date()
    if freq == "W":
        day -= dt.timedelta(days=day.weekday())
    return day


class _Source:
    """A transaction table registered in a DuckDB connection as the view ``txn``."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        data: Any,
        customer_col: str,
        date_col: str,
        amount_col: str | None,
        date_format: str | None,
    ) -> None:
        self.con = con
        required = [customer_col, date_col] + ([amount_col] if amount_col else [])
        #: CSV is parsed again by every query that reads it: read it once.
        self.rescans_cheaply = True
        if isinstance(data, str | os.PathLike):
            self._register_path(Path(data), customer_col)
        else:
            con.register("txn_input", data)
            con.execute("CREATE VIEW txn AS SELECT * FROM txn_input")
        types = {
            str(row[0]): str(row[1]) for row in con.execute("DESCRIBE SELECT * FROM txn").fetchall()
        }
        for col in required:
            if col not in types:
                raise MissingColumnError(col, list(types))
        self.customer = _q(customer_col)
        self.amount = _amount_expr(_q(amount_col), types[amount_col]) if amount_col else None
        self.nan_safe_amount = (
            f"CASE WHEN isnan({self.amount}) THEN NULL ELSE {self.amount} END"
            if self.amount
            else None
        )
        self.raw_date: str | None = None
        self.ts = self._timestamp_expr(date_col, types[date_col], date_format)

    def _register_path(self, path: Path, customer_col: str) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: file not found")
        lit = "'" + str(path).replace("'", "''") + "'"
        if path.suffix.lower() in {".parquet", ".pq"}:
            self.con.execute(f"CREATE VIEW txn AS SELECT * FROM read_parquet({lit})")
            return
        header = [
            str(r[0])
            for r in self.con.execute(f"DESCRIBE SELECT * FROM read_csv({lit})").fetchall()
        ]
        if len(header) == 1 and len(header[0].split()) > 1:
            # whitespace-separated text such as CDNOW_master.txt: DuckDB's CSV reader needs a
            # single-character delimiter, so read it with pandas (ids as text).
            frame = pd.read_csv(path, sep=r"\s+", dtype={customer_col: str})
            self.con.register("txn_input", frame)
            self.con.execute("CREATE VIEW txn AS SELECT * FROM txn_input")
            return
        types = ""
        if customer_col in header:
            # keep identifiers as text: "00042" must not become 42
            types = ", types = {" + "'" + customer_col.replace("'", "''") + "': 'VARCHAR'}"
        self.con.execute(f"CREATE VIEW txn AS SELECT * FROM read_csv({lit}{types})")
        self.rescans_cheaply = False

    def _timestamp_expr(self, date_col: str, dtype: str, date_format: str | None) -> str:
        col = _q(date_col)
        upper = dtype.upper()
        if upper.startswith("TIMESTAMP") or upper == "DATE":
            self.raw_date = col
            return f"CAST({col} AS TIMESTAMP)"
        if upper in {"BIGINT", "INTEGER", "HUGEINT", "UBIGINT", "UINTEGER"}:
            lo, hi = self.con.execute(f"SELECT min({col}), max({col}) FROM txn").fetchone() or (
                None,
                None,
            )
            if lo is not None and (lo < 1000_01_01 or hi > 9999_12_31):
                raise ValueError(
                    f"{date_col}: integer dates must be written YYYYMMDD (found {lo} .. {hi})"
                )
            return (
                f"CAST(make_date(CAST({col} // 10000 AS BIGINT), CAST({col} // 100 % 100 AS BIGINT),"
                f" CAST({col} % 100 AS BIGINT)) AS TIMESTAMP)"
            )
        if upper == "VARCHAR":
            fmt = date_format
            if fmt is None:
                sample = self.con.execute(
                    f"SELECT {col} FROM txn WHERE {col} IS NOT NULL LIMIT 1"
                ).fetchone()
                if sample is not None and re.fullmatch(r"\s*\d{8}\s*", str(sample[0])):
                    fmt = "%Y%m%d"
            text = f"trim({col})"
            expr = (
                f"try_strptime({text}, '{fmt.replace(chr(39), chr(39) * 2)}')"
                if fmt
                else f"TRY_CAST({text} AS TIMESTAMP)"
            )
            bad = self.con.execute(
                f"SELECT {col} FROM txn WHERE {col} IS NOT NULL AND {expr} IS NULL LIMIT 1"
            ).fetchone()
            if bad is not None:
                hint = f" with format {fmt!r}" if fmt else ""
                raise ValueError(f"{date_col}: cannot read {bad[0]!r} as a date{hint}")
            return f"CAST({expr} AS TIMESTAMP)"
        raise ValueError(f"{date_col}: expected dates, found column type {dtype}")

    def up_to_end(self, freq: str) -> str:
        """SQL condition "the transaction's period is not after ``$end``'s period"."""
        if self.raw_date:
            # compare the raw timestamps: cheaper than flooring every row first
            return f"{self.raw_date} < $end_next"
        return f"{self.period_expr(freq)} <= $end"

    def period_index(self, freq: str) -> str:
        """SQL for the number of each transaction's period, counted from Monday 0001-01-01.

        Integer arithmetic on the day instead of ``date_trunc('week', …)``; the differences of
        two period numbers are recency and T in periods, as with dates.
        """
        day = f"CAST({self.raw_date} AS DATE)" if self.raw_date else f"CAST({self.ts} AS DATE)"
        offset = f"CAST({day} - DATE '0001-01-01' AS INTEGER)"
        return offset if freq == "D" else f"({offset} // 7)"

    def period_expr(self, freq: str) -> str:
        """SQL for the first day (DATE) of the period of each transaction."""
        day = f"CAST({self.raw_date} AS DATE)" if self.raw_date else f"CAST({self.ts} AS DATE)"
        if freq == "W":
            return f"CAST(date_trunc('week', {day}) AS DATE)"
        return day


def _amount_expr(col: str, dtype: str) -> str:
    upper = dtype.upper()
    if upper in {"VARCHAR", "DATE", "BOOLEAN"} or upper.startswith("TIMESTAMP"):
        raise ValueError(f"{col.strip(chr(34))}: expected numbers, found column type {dtype}")
    return f"CAST({col} AS DOUBLE)"


#: Customers are split by hash into about one part per this many transactions (at most
#: :data:`_MAX_PARTS`), one query each: 5 M transactions in two halves run ~15 % faster than in one
#: (the (customer, period) hash table of each half fits the caches better), while every extra part
#: scans the input once more. ``bench/bench_clv.py`` measures it.
_ROWS_PER_PART = 2_500_000
_MAX_PARTS = 4


def _parts(src: _Source, raw_filter: str) -> int:
    if not src.rescans_cheaply:
        return 1
    where = f"WHERE {raw_filter}" if raw_filter else ""
    row = src.con.execute(f"SELECT count(*) FROM txn {where}").fetchone()
    n = int(row[0]) if row else 0
    return max(1, min(_MAX_PARTS, round(n / _ROWS_PER_PART)))


def _summary_sql(
    src: _Source,
    freq: str,
    raw_filter: str = "",
    nan_safe: bool = False,
    signed: bool = True,
    part: tuple[int, int] = (0, 1),
) -> str:
    """Per-customer period count, recency, T, total and first-period amount.

    Two hash aggregations: transactions to (customer, period) sums, then periods to customers.
    The mean of the repeat periods is ``(total - first) / frequency``, finished in numpy.
    ``part = (i, k)``: only the customers whose hash is ``i`` modulo ``k``.
    """
    amount = src.nan_safe_amount if nan_safe else src.amount
    # pandas sums skip missing values (an all-missing period sums to 0): coalesce(sum(.), 0)
    period_sum = f", coalesce(sum({amount}), 0.0) AS amount" if amount else ""
    where = f"AND {raw_filter}" if raw_filter else ""
    i, k = part
    if k > 1:
        where += f" AND hash({src.customer}) % {k} = {i}"
    money = (
        ", sum(amount) AS total, arg_min(amount, period) AS first_amount"
        + (", sum(abs(amount)) AS abs_total" if signed else "")
        if src.amount
        else ""
    )
    return f"""
        WITH periods AS (
            SELECT {src.customer} AS customer_id, {src.period_index(freq)} AS period {period_sum}
            FROM txn
            WHERE {src.customer} IS NOT NULL AND {src.up_to_end(freq)} {where}
            GROUP BY ALL
        )
        SELECT customer_id,
               count(*) - 1 AS frequency,
               CAST(max(period) - min(period) AS DOUBLE) AS recency,
               CAST($end_index - min(period) AS DOUBLE) AS T
               {money}
        FROM periods
        GROUP BY customer_id
    """


def _end_params(sql: str, end: dt.date, freq: str) -> dict[str, Any]:
    """``$end`` (first day of the last period), ``$end_next`` (the instant after that period) and
    ``$end_index`` (its number, see :meth:`_Source.period_index`), those that ``sql`` uses (DuckDB
    rejects unused parameters)."""
    days = _PERIOD_DAYS[freq]
    after = dt.datetime.combine(end, dt.time()) + dt.timedelta(days=days)
    index = (end - dt.date(1, 1, 1)).days // days
    values = {"end": end, "end_next": after, "end_index": index}
    return {k: v for k, v in values.items() if re.search(rf"\${k}\b", sql)}


def _exact_repeat_means(
    src: _Source, freq: str, customers: pd.DataFrame, end: dt.date, raw_filter: str = ""
) -> pd.DataFrame:
    """Mean of repeat-period sums computed without cancellation, for the given customers."""
    src.con.register("cancel_ids", customers)
    amount = src.nan_safe_amount or "0.0"
    where = f"AND {raw_filter}" if raw_filter else ""
    sql = f"""
        WITH periods AS (
            SELECT {src.customer} AS customer_id, {src.period_index(freq)} AS period,
                   coalesce(sum({amount}), 0.0) AS amount
            FROM txn
            WHERE {src.customer} IN (SELECT customer_id FROM cancel_ids)
              AND {src.up_to_end(freq)} {where}
            GROUP BY ALL
        ), firsts AS (
            SELECT customer_id, min(period) AS first_period FROM periods GROUP BY customer_id
        )
        SELECT customer_id, avg(amount) AS monetary_value
        FROM periods JOIN firsts USING (customer_id)
        WHERE period > first_period
        GROUP BY customer_id
    """
    return src.con.execute(sql, _end_params(sql, end, freq)).df()


def _summaries(
    src: _Source,
    freq: str,
    end: dt.date,
    raw_filter: str,
    *,
    signed: bool,
    nan_safe: bool = False,
) -> pd.DataFrame:
    """The summary query, over the customers' hash parts, as one frame sorted by customer."""
    k = _parts(src, raw_filter)
    con = src.con
    con.execute("DROP TABLE IF EXISTS rfm_parts")
    for i in range(k):
        sql = _summary_sql(src, freq, raw_filter, nan_safe=nan_safe, signed=signed, part=(i, k))
        verb = "CREATE TEMP TABLE rfm_parts AS" if i == 0 else "INSERT INTO rfm_parts"
        con.execute(f"{verb} {sql}", _end_params(sql, end, freq))
    return con.execute("SELECT * FROM rfm_parts ORDER BY customer_id").df()


def _run_summary(
    src: _Source, freq: str, end: dt.date, with_amount: bool, raw_filter: str = ""
) -> pd.DataFrame:
    signed = False
    if with_amount:
        # without refunds (negative amounts) sum(|amount|) is the total: one aggregate less
        row = src.con.execute(f"SELECT bool_or({src.amount} < 0) FROM txn").fetchone()
        signed = bool(row and row[0])
    out = _summaries(src, freq, end, raw_filter, signed=signed)
    if not with_amount:
        out["frequency"] = out["frequency"].astype(np.int64)
        return out
    if out["total"].isna().any():
        # NaN amounts (from a file; pandas NaN arrive as NULL) propagate through sum(): redo the
        # query treating them as missing, like pandas does.
        out = _summaries(src, freq, end, raw_filter, signed=signed, nan_safe=True)
    freq_ = out["frequency"].to_numpy(dtype=np.int64)
    total = out["total"].to_numpy(dtype=float)
    rest = total - out["first_amount"].to_numpy(dtype=float)
    repeat = freq_ > 0
    mean = np.zeros(len(out))
    np.divide(rest, freq_, out=mean, where=repeat)
    magnitude = out["abs_total"].to_numpy(dtype=float) if signed else total
    risky = repeat & (np.abs(magnitude) > _CANCELLATION_RATIO * np.abs(rest))
    if risky.any():
        ids = out.loc[risky, ["customer_id"]].reset_index(drop=True)
        exact = _exact_repeat_means(src, freq, ids, end, raw_filter).set_index("customer_id")
        fixed = out.loc[risky, "customer_id"].map(exact["monetary_value"]).fillna(0.0)
        mean[risky] = fixed.to_numpy(dtype=float)
    out = out[["customer_id", "frequency", "recency", "T"]].copy()
    out["frequency"] = freq_
    out["monetary_value"] = mean
    return out


def _default_end(src: _Source, freq: str, raw_filter: str = "") -> dt.date:
    where = f"WHERE {raw_filter}" if raw_filter else ""
    row = src.con.execute(f"SELECT max({src.period_expr(freq)}) FROM txn {where}").fetchone()
    if row is None or row[0] is None:
        raise ValueError("no transactions with a valid date")
    value = row[0]
    return value if isinstance(value, dt.date) else pd.Timestamp(value).date()


def summary_from_transactions(
    transactions: Any,
    customer_col: str,
    date_col: str,
    amount_col: str | None = None,
    end: Any = None,
    freq: Freq = "D",
    *,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Per-customer ``frequency``, ``recency``, ``T`` and ``monetary_value`` of a transaction log.

    Same definitions and numbers as ``lifetimes.utils.summary_data_from_transaction_data``
    (see the module docstring), computed in DuckDB, in-process.

    Parameters
    ----------
    transactions : pandas.DataFrame, pyarrow.Table or path
        One row per transaction. A path is read by DuckDB: ``.parquet`` / ``.pq`` as Parquet,
        anything else as CSV (customer ids are then kept as text); whitespace-separated text files
        such as ``CDNOW_master.txt`` are recognised.
    customer_col, date_col : str
        Customer identifier and transaction date/time columns. Dates may be dates, timestamps,
        ISO text, or ``YYYYMMDD`` integers/text.
    amount_col : str, optional
        Monetary amount of each transaction; without it there is no ``monetary_value`` column.
    end : date-like, optional
        End of the observation period (default: the last transaction's period).
    freq : {"D", "W"}, default "D"
        Period: days or weeks (Monday to Sunday).
    date_format : str, optional
        ``strptime`` format of text dates (default: ISO, or ``%Y%m%d`` for 8-digit text).

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id, frequency, recency, T[, monetary_value]``, one row per customer with
        a purchase up to ``end``, sorted by ``customer_id``.

    Raises
    ------
    MissingColumnError
        A named column is not in the input.
    FileNotFoundError
        ``transactions`` is a path that does not exist.
    ValueError
        Unreadable dates, non-numeric amounts or a bad ``freq``.
    """
    _check_freq(freq)
    with _connect() as con:
        src = _Source(con, transactions, customer_col, date_col, amount_col, date_format)
        end_day = _default_end(src, freq) if end is None else _floor_to_period(end, freq)
        return _run_summary(src, freq, end_day, amount_col is not None)


def calibration_and_holdout_data(
    transactions: Any,
    customer_col: str,
    date_col: str,
    calibration_end: Any,
    observation_end: Any = None,
    freq: Freq = "D",
    amount_col: str | None = None,
    *,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Split a transaction log into a calibration summary and holdout counts (as ``lifetimes``).

    * Calibration: transactions at or before ``calibration_end`` (compared on the raw timestamps),
      summarised by :func:`summary_from_transactions` with ``end = calibration_end``.
    * Holdout: transactions after ``calibration_end`` and at or before ``observation_end``
      (default: the last transaction). ``frequency_holdout`` is the number of distinct periods with
      a purchase; ``monetary_value_holdout`` the mean amount per holdout *transaction* (as in
      ``lifetimes``); ``duration_holdout`` the number of periods between the two ends' periods.
    * Only customers with a calibration purchase are kept; they get 0 when inactive in the holdout.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, frequency_cal, recency_cal, T_cal[, monetary_value_cal], frequency_holdout
        [, monetary_value_holdout], duration_holdout``, sorted by ``customer_id``.

    Raises
    ------
    ValueError
        When there is no transaction in the holdout window, or on bad input as
        :func:`summary_from_transactions`.
    """
    _check_freq(freq)
    cal_end = pd.Timestamp(calibration_end)
    with _connect() as con:
        src = _Source(con, transactions, customer_col, date_col, amount_col, date_format)
        if observation_end is None:
            row = con.execute(f"SELECT max({src.ts}) FROM txn").fetchone()
            obs_end = pd.Timestamp(row[0]) if row and row[0] is not None else cal_end
        else:
            obs_end = pd.Timestamp(observation_end)
        params = {"cal_end": cal_end.to_pydatetime(), "obs_end": obs_end.to_pydatetime()}
        cal_filter = f"{src.ts} <= TIMESTAMP '{cal_end.isoformat(sep=' ')}'"
        cal_day = _floor_to_period(cal_end, freq)
        cal = _run_summary(src, freq, cal_day, amount_col is not None, cal_filter)
        cal.columns = ["customer_id"] + [f"{c}_cal" for c in cal.columns[1:]]
        amount_sel = f", avg({src.nan_safe_amount}) AS monetary_value_holdout" if src.amount else ""
        hold = con.execute(
            f"""
            SELECT {src.customer} AS customer_id,
                   count(DISTINCT {src.period_expr(freq)}) AS frequency_holdout {amount_sel}
            FROM txn
            WHERE {src.customer} IS NOT NULL AND {src.ts} > $cal_end AND {src.ts} <= $obs_end
            GROUP BY 1
            """,
            params,
        ).df()
    if hold.empty:
        raise ValueError(
            "no transaction falls in the holdout window "
            f"({cal_end.date()} < date <= {obs_end.date()}); check calibration_end and "
            "observation_end"
        )
    out = cal.merge(hold, on="customer_id", how="left")
    hold_cols = [c for c in hold.columns if c != "customer_id"]
    out[hold_cols] = out[hold_cols].fillna(0.0).astype(float)
    obs_day = _floor_to_period(obs_end, freq)
    out["duration_holdout"] = float((obs_day - cal_day).days // _PERIOD_DAYS[freq])
    return out
