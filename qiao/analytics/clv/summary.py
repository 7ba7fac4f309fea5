"""RFM summaries of a transaction log.

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

How: the input becomes three columns -- a customer code (0 .. n-1 in id order), the instant of
each transaction as an integer and the amount. A pandas frame with a datetime column is read
straight from its numpy arrays; files, Arrow tables and text or ``YYYYMMDD`` dates go through
DuckDB, which parses and checks them. The per-customer numbers are then array operations:
first and last period by ``minimum.at`` / ``maximum.at``, amounts by ``bincount``, and the number
of distinct periods as rows minus repeated (customer, period) keys, found by sorting the keys --
in customer ranges on several threads, each range small enough for 32-bit keys. That is the one
costly step (a sort of the keys; no hash table of (customer, period) groups).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd

Freq = Literal["D", "W"]
_PERIOD_DAYS: dict[str, int] = {"D": 1, "W": 7}
_EPOCH = dt.date(1970, 1, 1)
#: 1970-01-01 was a Thursday: ``(day + 3) // 7`` numbers the Monday-to-Sunday weeks.
_WEEK_SHIFT = 3
#: A customer range is sorted as 32-bit keys (customer x periods + period) when they fit.
_KEY_RANGE = 2**31 - 1
#: ... in at most this many customer ranges (each range is one pass over the log)
_MAX_RANGES = 16
#: numpy datetime units of a log's instants, and how many make a day
_UNITS_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}
#: Smaller logs are sorted in one piece (threads do not pay for themselves).
_PARALLEL_ROWS = 1_000_000


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

    def _timestamp_expr(self, date_col: str, dtype: str, date_format: str | None) -> str:
        col = _q(date_col)
        upper = dtype.upper()
        if upper.startswith("TIMESTAMP") or upper == "DATE":
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

    def log(self) -> _Log:
        """The transactions as arrays; customers coded in id order (one pass over the input).

        Ids and arrays come out through Arrow (a text id column to pandas through Arrow is ~30x
        faster than ``.df()``).
        """
        amount = f", coalesce({self.amount}, 'NaN'::DOUBLE) AS amount" if self.amount else ""
        con = self.con
        con.execute(
            f"""CREATE TEMP TABLE rows AS
                SELECT {self.customer} AS customer_id, epoch_us({self.ts}) AS us {amount}
                FROM txn WHERE {self.customer} IS NOT NULL AND {self.ts} IS NOT NULL"""
        )
        con.execute(
            """CREATE TEMP TABLE ids AS
               SELECT customer_id, CAST(row_number() OVER (ORDER BY customer_id) - 1 AS BIGINT)
                      AS code
               FROM (SELECT DISTINCT customer_id FROM rows)"""
        )
        ids = con.execute("SELECT customer_id FROM ids ORDER BY code").to_arrow_table()
        table = con.execute(
            f"SELECT code, us {', amount' if self.amount else ''} FROM rows JOIN ids USING"
            " (customer_id)"
        ).to_arrow_table()
        return _Log(
            ids=pd.Index(ids["customer_id"].to_pandas()),
            code=table["code"].to_numpy(),
            when=table["us"].to_numpy(),
            unit="us",
            amount=table["amount"].to_numpy() if self.amount else None,
        )


def _amount_expr(col: str, dtype: str) -> str:
    upper = dtype.upper()
    if upper in {"VARCHAR", "DATE", "BOOLEAN"} or upper.startswith("TIMESTAMP"):
        raise ValueError(f"{col.strip(chr(34))}: expected numbers, found column type {dtype}")
    return f"CAST({col} AS DOUBLE)"


@dataclass(frozen=True)
class _Log:
    """A transaction log as arrays, one entry per transaction.

    ``code`` numbers the customers 0 .. n-1 in the order of their ids (``ids[code]`` is the id);
    ``when`` is the instant in ``unit`` (numpy's datetime units) since 1970-01-01;
    ``amount`` has NaN where the amount is missing.
    """

    ids: pd.Index
    code: np.ndarray
    when: np.ndarray
    unit: str
    amount: np.ndarray | None

    @property
    def per_day(self) -> int:
        return _UNITS_PER_DAY[self.unit]

    def instant(self, value: Any) -> int:
        """``value`` (a timestamp) in this log's unit, floored."""
        ns = pd.Timestamp(value).as_unit("ns").value
        return int(ns // (86_400_000_000_000 // self.per_day))

    def timestamp(self, instant: int) -> pd.Timestamp:
        return pd.Timestamp(np.int64(instant).astype(f"datetime64[{self.unit}]"))

    def periods(self, freq: str) -> np.ndarray:
        """The number of each transaction's period (see :func:`_period_number`)."""
        day = self.when // self.per_day
        return day if freq == "D" else (day + _WEEK_SHIFT) // 7

    def take(self, mask: np.ndarray) -> _Log:
        return _Log(
            self.ids,
            self.code[mask],
            self.when[mask],
            self.unit,
            None if self.amount is None else self.amount[mask],
        )


def _period_number(day: dt.date, freq: str) -> int:
    """Days since 1970-01-01, or weeks (Monday to Sunday) counted from the week of that day."""
    days = (day - _EPOCH).days
    return days if freq == "D" else (days + _WEEK_SHIFT) // 7


def _customer_codes(ids: pd.Series, name: str) -> tuple[np.ndarray, pd.Index]:
    """Codes 0 .. n-1 in id order (-1 for a missing id) and the ids they stand for."""
    dtype = ids.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iu" and len(ids):
        values = ids.to_numpy()
        if dtype.itemsize < 8:
            values = values.astype(np.int64)  # so that id - lowest id cannot overflow
        lo, hi = values.min(), values.max()
        span = int(hi) - int(lo) + 1
        if span <= 2 * len(values) + 1024:
            # dense integer ids (the usual customer numbers): the code is the offset, no hashing
            codes = (values - lo).astype(np.int64)
            return codes, pd.Index(lo + np.arange(span, dtype=values.dtype))
    try:
        codes, uniques = pd.factorize(ids, sort=True)
    except TypeError as exc:
        raise ValueError(
            f"{name}: customer ids of different kinds cannot be ordered ({exc})"
        ) from None
    return codes.astype(np.int64, copy=False), pd.Index(uniques)


def _frame_log(
    frame: pd.DataFrame, customer_col: str, date_col: str, amount_col: str | None
) -> _Log | None:
    """A pandas frame with a datetime column, read from its arrays (None: let DuckDB read it)."""
    for col in [customer_col, date_col] + ([amount_col] if amount_col else []):
        if col not in frame.columns:
            raise MissingColumnError(col, [str(c) for c in frame.columns])
    dates = frame[date_col]
    if not (isinstance(dates.dtype, np.dtype) and dates.dtype.kind == "M"):
        return None
    unit, _ = np.datetime_data(dates.dtype)
    if unit not in _UNITS_PER_DAY:
        return None
    amount = None
    if amount_col:
        money = frame[amount_col]
        if not pd.api.types.is_numeric_dtype(money.dtype) or pd.api.types.is_bool_dtype(
            money.dtype
        ):
            return None
        amount = money.to_numpy(dtype=np.float64, na_value=np.nan)
    when = dates.to_numpy().view(np.int64)
    code, ids = _customer_codes(frame[customer_col], customer_col)
    log = _Log(ids, code, when, unit, amount)
    missing = (code < 0) | (when == np.iinfo(np.int64).min)  # no customer, or NaT
    return log.take(~missing) if missing.any() else log


def _read(
    data: Any, customer_col: str, date_col: str, amount_col: str | None, date_format: str | None
) -> _Log:
    if isinstance(data, pd.DataFrame):
        log = _frame_log(data, customer_col, date_col, amount_col)
        if log is not None:
            return log
    with _connect() as con:
        return _Source(con, data, customer_col, date_col, amount_col, date_format).log()


def _threads() -> int:
    """Threads for the key sorts: ``QIAO_DUCKDB_THREADS`` caps them, as it caps DuckDB's."""
    cap = os.environ.get("QIAO_DUCKDB_THREADS")
    return max(1, int(cap) if cap else (os.cpu_count() or 1))


def _repeated_keys(code: np.ndarray, offset: np.ndarray, n: int) -> np.ndarray:
    """Per customer, how many of its transactions fall in a period it already bought in.

    ``offset`` is each transaction's period counted from its customer's first. Keys
    ``customer x span + offset`` are sorted -- per customer range, on several threads, as 32-bit
    keys when at most :data:`_MAX_RANGES` ranges make them fit -- and a key equal to its
    predecessor is a repeat.
    """
    span = int(offset.max()) + 1
    k = -(-n * span // _KEY_RANGE)  # ranges for 32-bit keys
    if k > _MAX_RANGES:
        k = 1  # every range scans the whole log: sort 64-bit keys instead
    if len(code) >= _PARALLEL_ROWS:
        k = max(k, min(_threads(), n))
    bounds = [n * i // k for i in range(k + 1)]

    def repeats(i: int) -> np.ndarray:
        lo, hi = bounds[i], bounds[i + 1]
        if k == 1:
            part_code, part_offset = code, offset
        else:
            inside = (code >= lo) & (code < hi)
            part_code, part_offset = code[inside], offset[inside]
        keys = (part_code - lo) * span + part_offset
        if (hi - lo) * span <= _KEY_RANGE:
            keys = keys.astype(np.int32)
        keys.sort()
        again = keys[1:][keys[1:] == keys[:-1]]
        return np.bincount(again // span, minlength=hi - lo)

    if k == 1:
        return repeats(0)
    with ThreadPoolExecutor(max_workers=min(k, _threads())) as pool:
        return np.concatenate(list(pool.map(repeats, range(k))))


def _per_customer(code: np.ndarray, period: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """First and last period, number of distinct periods of each customer code, and for each
    transaction whether it is in its customer's first period."""
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first, code, period)
    np.maximum.at(last, code, period)
    offset = period - first[code]
    periods = np.bincount(code, minlength=n)
    if len(code) > 1:
        periods -= _repeated_keys(code, offset, n)
    return {"first": first, "last": last, "periods": periods, "in_first": offset == 0}


def _missing_as_zero(amount: np.ndarray) -> np.ndarray:
    """pandas sums skip missing amounts (an all-missing period sums to 0)."""
    nan = np.isnan(amount)
    return np.where(nan, 0.0, amount) if nan.any() else amount


def _summary(log: _Log, freq: str, end: dt.date, up_to: int | None = None) -> pd.DataFrame:
    """The summary of the transactions up to ``end``'s period (and at or before instant
    ``up_to``), one row per customer with a purchase, in id order."""
    period = log.periods(freq)
    end_number = _period_number(end, freq)
    keep = period <= end_number
    if up_to is not None:
        keep &= log.when <= up_to
    if not keep.all():
        log, period = log.take(keep), period[keep]
    stats = _per_customer(log.code, period, len(log.ids))
    present = np.flatnonzero(stats["periods"])
    frequency = stats["periods"][present] - 1
    first = stats["first"][present]
    out = pd.DataFrame(
        {
            "customer_id": log.ids[present],
            "frequency": frequency,
            "recency": (stats["last"][present] - first).astype(np.float64),
            "T": (end_number - first).astype(np.float64),
        }
    )
    if log.amount is not None:
        repeat_amount = np.where(stats["in_first"], 0.0, _missing_as_zero(log.amount))
        repeat_total = np.bincount(log.code, weights=repeat_amount, minlength=len(log.ids))
        mean = np.zeros(len(present))
        np.divide(repeat_total[present], frequency, out=mean, where=frequency > 0)
        out["monetary_value"] = mean
    return out


def _default_end(log: _Log, freq: str) -> dt.date:
    if not len(log.when):
        raise ValueError("no transactions with a valid date")
    return _floor_to_period(log.timestamp(int(log.when.max())), freq)


def _holdout(log: _Log, freq: str) -> pd.DataFrame:
    """Holdout counts: distinct periods with a purchase, and the mean amount per transaction."""
    n = len(log.ids)
    periods = _per_customer(log.code, log.periods(freq), n)["periods"]
    present = np.flatnonzero(periods)
    out = pd.DataFrame(
        {"customer_id": log.ids[present], "frequency_holdout": periods[present].astype(float)}
    )
    if log.amount is not None:
        known = ~np.isnan(log.amount)
        total = np.bincount(log.code, weights=np.where(known, log.amount, 0.0), minlength=n)
        count = np.bincount(log.code, weights=known, minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["monetary_value_holdout"] = total[present] / count[present]
    return out


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
    log = _read(transactions, customer_col, date_col, amount_col, date_format)
    end_day = _default_end(log, freq) if end is None else _floor_to_period(end, freq)
    return _summary(log, freq, end_day)


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
    log = _read(transactions, customer_col, date_col, amount_col, date_format)
    if observation_end is None:
        obs_end = log.timestamp(int(log.when.max())) if len(log.when) else cal_end
    else:
        obs_end = pd.Timestamp(observation_end)
    cal_day = _floor_to_period(cal_end, freq)
    cal_instant = log.instant(cal_end)
    cal = _summary(log, freq, cal_day, up_to=cal_instant)
    cal.columns = ["customer_id"] + [f"{c}_cal" for c in cal.columns[1:]]
    hold = _holdout(log.take((log.when > cal_instant) & (log.when <= log.instant(obs_end))), freq)
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
