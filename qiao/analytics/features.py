"""Per-customer features as of a date, as lazy Ibis expressions (DuckDB or Spark, one code path).

The heavy work — latest-load deduplication, carry-forward balance intervals, month-average daily
balances, transaction counts and sums — is expressed in Ibis and pushed to the engine
(:func:`feature_expressions`). What comes back is small: one row per customer and account summary,
one row per customer × product class for balances, and one row per customer × active month for
transactions. :func:`derive_features` turns those into the feature frame with numpy, computing
ratios with explicit rules for zero denominators (so no engine-specific division semantics, such as
Spark's ANSI mode, leak into the numbers).

Every feature is documented in ``docs/analytics.md`` (formula, unit, window).

Dates and months
----------------
All date logic uses integer *day numbers* (days since 1970-01-01), which is portable across engines.
A transaction's business date is its local date in the bank's time zone (``time_zone``, which the
Django side passes from ``QIAO_TIME_ZONE``), ``floor((epoch_seconds + offset) / 86400)`` with the
zone's offset from UTC at that instant (:func:`qiao.core.lake.utc_offsets`). China has kept UTC+8
without daylight saving since 1991, so there the offset is one number (8·3600) for every row.

Month ``k`` counts back from ``as_of``: month 0 runs from the first of ``as_of``'s month to ``as_of``
inclusive (a full month when ``as_of`` is a month end, the normal case), month ``k ≥ 1`` is the
k-th full calendar month before. "The last 12 months" means months 0–11.

Month-average daily balance (the basis of AUM)
----------------------------------------------
A balance row holds from its ``balance_date`` until the account's next row (carry-forward). With a
``lead()`` window each row becomes an interval ``[start, end)``: ``end`` is the next row's date, the
account's ``close_date`` if earlier, or the day after ``as_of``. For month ``k`` with days
``[ms_k, me_k)`` the overlap is ``max(0, min(end, me_k) − max(start, ms_k))`` days and the month
average is ``Σ balance × overlap / (me_k − ms_k)``. Balances are summed in the engine as integer
cents × days, so the result is exact and identical on every engine.
"""

from __future__ import annotations

import calendar
import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend

from qiao.analytics.lake import (
    engine_name,
    lake_months,
    read_balances,
    read_ref,
    read_transactions,
)
from qiao.core import vocab
from qiao.core.lake import LARGE_AMOUNT, TIME_ZONE, utc_offsets

__all__ = [
    "ASSET_CATEGORIES",
    "CATEGORIES",
    "ELECTRONIC_CHANNELS",
    "SELF_SERVICE_CHANNELS",
    "FeatureExpressions",
    "FeatureParams",
    "MonthWindow",
    "add_months",
    "compute_features",
    "day_number",
    "derive_features",
    "feature_expressions",
    "large_transactions",
    "month_windows",
]

CATEGORIES: tuple[str, ...] = tuple(sorted(vocab.CATEGORIES.codes))
"""Product categories of the catalogue (sorted; ``categories_held`` lists them in this order)."""

ASSET_CATEGORIES: tuple[str, ...] = vocab.CATEGORIES.having("aum")
"""Categories whose balances count towards AUM (assets under management)."""

DEPOSIT_CATEGORIES: tuple[str, ...] = vocab.CATEGORIES.having("deposit")
ELECTRONIC_CHANNELS: tuple[str, ...] = vocab.CHANNELS.having("electronic")
SELF_SERVICE_CHANNELS: tuple[str, ...] = vocab.CHANNELS.having("self_service")
COUNTER_CHANNELS: tuple[str, ...] = vocab.CHANNELS.having("counter")
RISKY_LEVELS: tuple[str, ...] = vocab.RISK_LEVELS.having("risky")
MOTIVES: tuple[str, ...] = vocab.MOTIVES.codes

_EPOCH = _dt.date(1970, 1, 1)
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FeatureParams:
    """Parameters of the feature computation (``[features]`` in ``scoring.toml``).

    Attributes
    ----------
    history_months
        Number of monthly columns (``aum_m0`` … ``aum_m{n-1}`` and the other series); at least 13 so
        that the 12-month trend can be computed. The attrition panel needs more (see scoring).
    large_txn_threshold
        A single transaction of at least this amount (yuan) is *large*; the scoring passes the
        bank's setting (``QIAO_LARGE_AMOUNT``, default :data:`qiao.core.lake.LARGE_AMOUNT`).
    large_window_days, contacts_window_days
        Windows (days, ending at ``as_of`` inclusive) of the large-movement and contact counts.
    bank_initiated_txn_types
        Transaction types the customer does not initiate (excluded from RFM and BG/NBD).
    time_zone
        The bank's time zone (an IANA name): a transaction's business day is its local date
        there. The scoring passes ``QIAO_TIME_ZONE`` (default :data:`qiao.core.lake.TIME_ZONE`).
    holdout_months
        Months (0 … n−1) held out for the BG/NBD calibration/holdout check.
    """

    history_months: int = 13
    large_txn_threshold: float = float(LARGE_AMOUNT)
    large_window_days: int = 30
    contacts_window_days: int = 90
    bank_initiated_txn_types: tuple[str, ...] = vocab.TXN_TYPES.having("bank_initiated")
    time_zone: str = TIME_ZONE
    holdout_months: int = 3

    def __post_init__(self) -> None:
        if self.history_months < 13:
            raise ValueError(f"history_months must be at least 13, got {self.history_months}")
        if self.large_txn_threshold <= 0:
            raise ValueError(
                f"large_txn_threshold must be positive, got {self.large_txn_threshold}"
            )
        if not 1 <= self.holdout_months < self.history_months:
            raise ValueError("holdout_months must be between 1 and history_months - 1")
        if self.large_window_days < 1 or self.contacts_window_days < 1:
            raise ValueError("large_window_days and contacts_window_days must be at least 1")


@dataclass(frozen=True)
class MonthWindow:
    """Month ``k`` back from ``as_of``: day numbers ``[start, end)`` and its last day."""

    k: int
    start: int
    end: int
    month_end: _dt.date

    @property
    def days(self) -> int:
        """Number of days of the window."""
        return self.end - self.start


def day_number(d: _dt.date) -> int:
    """Days since 1970-01-01 (what Ibis ``epoch_days()`` returns)."""
    return (d - _EPOCH).days


def from_day_number(n: int) -> _dt.date:
    """Inverse of :func:`day_number`."""
    return _EPOCH + _dt.timedelta(days=int(n))


def add_months(d: _dt.date, months: int) -> _dt.date:
    """Shift a date by whole months, clamping the day to the target month's length."""
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return _dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def month_windows(as_of: _dt.date, n: int) -> list[MonthWindow]:
    """The ``n`` monthly windows back from ``as_of`` (month 0 ends at ``as_of``)."""
    out = []
    first = as_of.replace(day=1)
    for k in range(n):
        start = add_months(first, -k)
        if k == 0:
            last = as_of
        else:
            last = start.replace(day=calendar.monthrange(start.year, start.month)[1])
        out.append(
            MonthWindow(k=k, start=day_number(start), end=day_number(last) + 1, month_end=last)
        )
    return out


def _month_key(d: _dt.date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _months_between(first: _dt.date, last: _dt.date) -> list[str]:
    out = []
    cur = first.replace(day=1)
    while cur <= last:
        out.append(_month_key(cur))
        cur = add_months(cur, 1)
    return out


def _ind(cond: ir.BooleanValue) -> ir.IntegerValue:
    """0/1 indicator. ``sum(x × indicator)`` is much faster than ``sum(x) FILTER (…)`` in DuckDB."""
    return ibis.ifelse(cond, 1, 0).cast("int64")


def _f64(expr: ir.NumericValue) -> ir.NumericValue:
    return expr.cast("float64")


@ibis.udf.scalar.builtin(name="epoch")
def _duckdb_epoch(ts: dt.Timestamp(timezone="UTC")) -> dt.float64:  # type: ignore[valid-type]
    """DuckDB's ``epoch``: seconds since 1970-01-01 UTC of an instant, as it is stored."""


def _epoch_seconds(con: BaseBackend, ts: ir.TimestampValue) -> ir.NumericValue:
    """Seconds since 1970-01-01 UTC of an instant (``txn_time``).

    On DuckDB, Ibis's ``epoch_seconds()`` first casts the TIMESTAMPTZ to a local TIMESTAMP, an
    ICU time-zone conversion per row: 20 of the 26 seconds of reading 20 M transactions.
    DuckDB's own ``epoch`` reads the instant without one (fractions of a second are kept,
    which ``floor(… / 86400)`` ignores). Spark keeps Ibis's expression.
    """
    if engine_name(con) == "duckdb":
        return _duckdb_epoch(ts)
    return ts.epoch_seconds()


def _local_day(
    con: BaseBackend, ts: ir.TimestampValue, time_zone: str, first: _dt.date, last: _dt.date
) -> ir.IntegerValue:
    """Local day number of an instant in ``time_zone``, for instants from ``first`` to ``last``.

    ``floor((epoch + offset) / 86400)``: one offset when the zone keeps one over the dates (the
    same expression as a fixed offset), else the offset in force at the instant (a CASE).
    """
    offsets = utc_offsets(time_zone, first, last)
    epoch = _epoch_seconds(con, ts)
    offset: int | ir.IntegerValue = offsets[0][1]
    if len(offsets) > 1:
        offset = ibis.cases(
            *[(epoch >= since, off) for since, off in reversed(offsets[1:])], else_=offsets[0][1]
        )
    return ((epoch + offset) // 86400).cast("int64")


def _month_index(day: ir.IntegerValue, months: list[MonthWindow]) -> ir.IntegerValue:
    """Month index ``k`` of a day number (−1 outside the window): a CASE over the boundaries.

    Portable to every engine and cheaper than joining a calendar table.
    """
    branches = [(day >= m.start, m.k) for m in months]
    inside = ibis.cases(*branches, else_=-1)
    return ibis.ifelse(day < months[0].end, inside, -1).cast("int64")


# --------------------------------------------------------------------------------------------------
# the lazy part
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureExpressions:
    """The lazy Ibis expressions behind the features (nothing is executed yet).

    Attributes
    ----------
    customers
        One row per customer of ``lake/ref/customers``: attributes and e-banking, payroll and
        contact counts.
    accounts
        One row per account of ``lake/ref/accounts`` with its product's category, risk level and
        motives and its open/close day numbers.
    balances
        One row per account with balance rows: ``bal_cd_m{k}``, the month-average numerators
        (cents × days) of each month window.
    txn_base
        The deduplicated transactions of the history window, projected to what the aggregates
        need, with the local day and month index ``k``. :func:`execute_features` caches it
        (``Table.cache()``) because two aggregates read it (:func:`txn_monthly_expr`,
        :func:`txn_days_expr`).
    large
        The large transactions of the last ``large_window_days`` (for counts and events).
    """

    customers: ir.Table
    accounts: ir.Table
    balances: ir.Table
    txn_base: ir.Table
    large: ir.Table


def _balance_expr(
    con: BaseBackend,
    lake: Path,
    as_of: _dt.date,
    months: list[MonthWindow],
    accounts: ir.Table,
) -> ir.Table:
    # Carry-forward needs every row up to as_of (an old row may still hold), so no lower bound.
    until = _month_key(as_of)
    bal = read_balances(con, lake, months=[m for m in lake_months(lake, "balances") if m <= until])
    bal = bal.filter(bal.balance_date <= as_of)
    rows = bal.select(
        account_no=bal.account_no,
        start=bal.balance_date.epoch_days(),
        cents=(bal.balance * 100).cast("int64"),
        closing=ibis.literal(0, "int64"),
    )
    # A closed account holds nothing from its close date: a zero row on that date (ordered after
    # a real row of the same date) ends the carry-forward without joining every balance row.
    closed = accounts.filter(accounts.close_date.notnull() & (accounts.close_date <= as_of))
    closing = closed.select(
        account_no=closed.account_no,
        start=closed.close_date.epoch_days(),
        cents=ibis.literal(0, "int64"),
        closing=ibis.literal(1, "int64"),
    )
    rows = rows.union(closing)
    window = ibis.window(group_by=rows.account_no, order_by=[rows.start, rows.closing])
    after = months[0].end
    iv = rows.select(
        account_no=rows.account_no,
        start=rows.start,
        end=ibis.least(rows.start.lead().over(window).fill_null(after), after),
        cents=rows.cents,
    )
    iv = iv.filter(iv.end > months[-1].start, iv.end > iv.start, iv.cents != 0)
    aggs: dict[str, ir.Scalar] = {}
    for m in months:
        overlap = ibis.greatest(ibis.least(iv.end, m.end) - ibis.greatest(iv.start, m.start), 0)
        aggs[f"bal_cd_m{m.k}"] = _f64((iv.cents * overlap).sum())
    return iv.group_by("account_no").aggregate(**aggs)


def _txn_base(
    con: BaseBackend,
    lake: Path,
    as_of: _dt.date,
    months: list[MonthWindow],
    params: FeatureParams,
) -> ir.Table:
    # One month either side: the lake partitions by the transaction's month, which the loader
    # may take in UTC or in local time; the local-day filter below decides.
    first = months[-1].month_end.replace(day=1)
    parts = _months_between(add_months(first, -1), add_months(as_of, 1))
    txn = read_transactions(con, lake, months=parts)
    t = txn.select(
        txn.customer_no,
        txn.txn_type,
        txn.channel,
        txn.direction,
        lday=_local_day(
            con, txn.txn_time, params.time_zone, add_months(first, -1), add_months(as_of, 1)
        ),
        cents=(txn.amount * 100).cast("int64"),
        gain_cents=(txn.gain * 100).cast("int64").fill_null(0),
    )
    t = t.mutate(k=_month_index(t.lday, months))
    t = t.filter(t.k >= 0)
    return t.select(
        "customer_no",
        "lday",
        "k",
        "cents",
        "gain_cents",
        ci=_ind(~t.txn_type.isin(list(params.bank_initiated_txn_types))),
        credit=_ind(t.direction == "C"),
        chan=ibis.cases(
            (t.channel.isin(list(COUNTER_CHANNELS)), 1),
            (t.channel.isin(list(ELECTRONIC_CHANNELS)), 2),
            (t.channel.isin(list(SELF_SERVICE_CHANNELS)), 3),
            else_=0,
        ).cast("int64"),
        trade=ibis.cases(
            (t.txn_type == "PURCHASE", 1), (t.txn_type == "REDEMPTION", 2), else_=0
        ).cast("int64"),
    )


def txn_monthly_expr(base: ir.Table) -> ir.Table:
    """Per customer × month ``k``: counts and cent sums of the transactions of the month.

    ``n_txn`` (all), ``n_ci`` and ``ci_cents`` (customer-initiated), channel counts, purchases,
    redemptions and realised gains, credits and debits, and the first and last day with a
    customer-initiated transaction. Everything per customer is a sum (or min/max) of these rows.
    """
    ci = base.ci == 1
    never = ibis.null("int64")
    return base.group_by("customer_no", "k").aggregate(
        n_txn=base.count(),
        n_ci=base.ci.sum(),
        ci_cents=_f64((base.cents * base.ci).sum()),
        n_counter=_ind(base.chan == 1).sum(),
        n_electronic=_ind(base.chan == 2).sum(),
        n_self_service=_ind(base.chan == 3).sum(),
        n_purchase=_ind(base.trade == 1).sum(),
        purchase_cents=_f64((base.cents * _ind(base.trade == 1)).sum()),
        n_redemption=_ind(base.trade == 2).sum(),
        redemption_cents=_f64((base.cents * _ind(base.trade == 2)).sum()),
        gain_cents=_f64((base.gain_cents * _ind(base.trade == 2)).sum()),
        in_cents=_f64((base.cents * base.credit).sum()),
        out_cents=_f64((base.cents * (1 - base.credit)).sum()),
        first_ci_day=ibis.ifelse(ci, base.lday, never).min(),
        last_ci_day=ibis.ifelse(ci, base.lday, never).max(),
    )


def txn_days_expr(base: ir.Table, params: FeatureParams) -> ir.Table:
    """Per customer: distinct days with a customer-initiated transaction (BG/NBD's "purchases"),
    in the whole history window and in its calibration part (months ≥ ``holdout_months``).

    A ``DISTINCT`` of (customer, day) then a count: much cheaper than ``COUNT(DISTINCT …)``.
    """
    days = base.filter(base.ci == 1).select("customer_no", "lday", "k").distinct()
    return days.group_by("customer_no").aggregate(
        ci_days=days.count(),
        ci_days_cal=_ind(days.k >= params.holdout_months).sum(),
    )


def _customer_expr(
    con: BaseBackend, lake: Path, as_of: _dt.date, params: FeatureParams
) -> ir.Table:
    customers = read_ref(con, lake, "customers")
    ebanking = read_ref(con, lake, "ebanking")
    payroll = read_ref(con, lake, "payroll")
    contacts = read_ref(con, lake, "contacts")
    as_of_day = day_number(as_of)

    eb_closed = ebanking.closed_date.notnull() & (ebanking.closed_date <= as_of)
    eb_open = ebanking.opened_date.notnull() & (ebanking.opened_date <= as_of) & ~eb_closed
    eb_active = ebanking.activated_date.notnull() & (ebanking.activated_date <= as_of) & ~eb_closed
    eb = ebanking.group_by("customer_no").aggregate(
        n_ebank_opened=ebanking.service.nunique(where=eb_open),
        n_ebank_activated=ebanking.service.nunique(where=eb_active),
    )
    live = (payroll.start_date <= as_of) & (payroll.end_date.isnull() | (payroll.end_date > as_of))
    pay = payroll.group_by("customer_no").aggregate(
        n_payroll=_ind(live & (payroll.relation_type == "PAYROLL")).sum(),
        n_withholding=_ind(live).sum(),
    )
    c_day = contacts.contact_date.epoch_days()
    recent = (c_day > as_of_day - params.contacts_window_days) & (c_day <= as_of_day)
    ctc = contacts.group_by("customer_no").aggregate(contacts_recent=_ind(recent).sum())

    out = customers.select(
        "customer_no",
        "customer_type",
        "gender",
        "occupation",
        "industry",
        "branch_code",
        "size_class",
        "birth_date",
        "open_date",
        blacklisted=customers.blacklisted.fill_null(False),
    )
    for part in (eb, pay, ctc):
        cols = [part[c] for c in part.columns if c != "customer_no"]
        out = out.left_join(part, out.customer_no == part.customer_no).select(out, *cols)
    return out


def _accounts_expr(accounts: ir.Table, products: ir.Table) -> ir.Table:
    prod = products.select(
        p_code=products.product_code,
        category=products.category,
        risk_level=products.risk_level,
        motives=products.motives,
    )
    a = accounts.left_join(prod, accounts.product_code == prod.p_code)
    return a.select(
        account_no=accounts.account_no,
        customer_no=accounts.customer_no,
        product_code=accounts.product_code,
        status=accounts.status,
        open_day=accounts.open_date.epoch_days(),
        close_day=accounts.close_date.epoch_days(),
        category=prod.category.fill_null("UNKNOWN"),
        risk_level=prod.risk_level,
        motives=prod.motives,
    )


def large_transactions(
    con: BaseBackend, lake: Path, as_of: _dt.date, params: FeatureParams | None = None
) -> ir.Table:
    """Lazy list of the large transactions of the last ``large_window_days`` (for events).

    Only the partitions around the window are read, so this is cheap. Columns: customer_no, txn_id,
    txn_day (local day number), amount (yuan, float), direction, channel, txn_type, cash.
    """
    params = params or FeatureParams()
    as_of_day = day_number(as_of)
    first = as_of - _dt.timedelta(days=params.large_window_days)
    txn = read_transactions(
        con, lake, months=_months_between(add_months(first, -1), add_months(as_of, 1))
    )
    t = txn.mutate(
        txn_day=_local_day(
            con, txn.txn_time, params.time_zone, add_months(first, -1), add_months(as_of, 1)
        ),
        cents=(txn.amount * 100).cast("int64"),
    )
    t = t.filter(
        t.txn_day > as_of_day - params.large_window_days,
        t.txn_day <= as_of_day,
        t.cents >= round(params.large_txn_threshold * 100),
    )
    return t.select(
        "customer_no",
        "txn_id",
        "txn_day",
        amount=_f64(t.cents) / 100.0,
        direction=t.direction,
        channel=t.channel,
        txn_type=t.txn_type,
        cash=t.cash,
    )


def feature_expressions(
    con: BaseBackend, lake: Path, as_of: _dt.date, params: FeatureParams | None = None
) -> FeatureExpressions:
    """Build the lazy expressions of the features as of ``as_of`` (nothing is executed).

    Parameters
    ----------
    con
        Backend from :func:`qiao.analytics.lake.connect` (DuckDB or Spark).
    lake
        The lake folder.
    as_of
        The scoring date (a business date, normally a month end).
    params
        Windows and thresholds; defaults to :class:`FeatureParams`.

    Returns
    -------
    FeatureExpressions
    """
    params = params or FeatureParams()
    months = month_windows(as_of, params.history_months)
    accounts = read_ref(con, lake, "accounts")
    products = read_ref(con, lake, "products")
    return FeatureExpressions(
        customers=_customer_expr(con, lake, as_of, params),
        accounts=_accounts_expr(accounts, products),
        balances=_balance_expr(con, lake, as_of, months, accounts),
        txn_base=_txn_base(con, lake, as_of, months, params),
        large=large_transactions(con, lake, as_of, params),
    )


# --------------------------------------------------------------------------------------------------
# the numpy part
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureData:
    """The executed expressions (Arrow tables), input of :func:`derive_features`."""

    customers: pa.Table
    accounts: pa.Table
    balances: pa.Table
    txn_monthly: pa.Table
    txn_days: pa.Table
    large: pa.Table


def _ratio(num: FloatArray, den: FloatArray, *, empty: float) -> FloatArray:
    """``num / den``, and ``empty`` where ``den`` is 0."""
    out = np.full(np.shape(num), empty, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _full_units_between(start: pd.Series, end: _dt.date, unit: str) -> FloatArray:
    """Completed months (``unit='M'``) or years (``'Y'``) from each start date to ``end``."""
    s = pd.to_datetime(start, errors="coerce")
    years = s.dt.year.to_numpy(dtype=np.float64, na_value=np.nan)
    months = s.dt.month.to_numpy(dtype=np.float64, na_value=np.nan)
    dom = s.dt.day.to_numpy(dtype=np.float64, na_value=np.nan)
    if unit == "M":
        whole = (end.year - years) * 12 + (end.month - months) - (end.day < dom)
    else:
        before = (end.month < months) | ((end.month == months) & (end.day < dom))
        whole = (end.year - years) - before
    out = np.asarray(whole, dtype=np.float64)
    out[np.isnan(years)] = np.nan
    return out


def _positions(index: pa.Array, keys: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.int64]:
    """Row of each key in ``index`` (−1 when the key is unknown)."""
    pos = pc.fill_null(pc.index_in(keys, value_set=index), -1)
    return np.asarray(pos.to_numpy(zero_copy_only=False), dtype=np.int64)


def _num(table: pa.Table, name: str, *, fill: float = 0.0) -> FloatArray:
    """A numeric column as float64 with nulls replaced by ``fill``."""
    col = table.column(name)
    if col.null_count and fill == fill:
        col = pc.fill_null(col, fill)
    return np.asarray(col.to_numpy(), dtype=np.float64)


def _strings(table: pa.Table, name: str) -> tuple[npt.NDArray[np.int64], list[str | None]]:
    """Dictionary codes and values of a string column (nulls get their own code)."""
    enc = pc.dictionary_encode(table.column(name).combine_chunks(), null_encoding="encode")
    codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, enc.dictionary.to_pylist()


def _sum_by(rows: npt.NDArray[np.int64], values: FloatArray, n: int) -> FloatArray:
    """Σ values per row index (rows < 0 are ignored); fast ``bincount`` instead of ``add.at``."""
    ok = rows >= 0
    return np.bincount(rows[ok], weights=values[ok], minlength=n).astype(np.float64)


def _sum_by_2d(rows: npt.NDArray[np.int64], values: FloatArray, n: int) -> FloatArray:
    """Σ of each column of ``values`` per row index (an ``n × columns`` matrix)."""
    out = np.zeros((n, values.shape[1]), dtype=np.float64)
    ok = rows >= 0
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(rows[ok], weights=values[ok, j], minlength=n)
    return out


def _reduce_by(rows: npt.NDArray[np.int64], values: FloatArray, n: int, op: np.ufunc) -> FloatArray:
    """min/max (``np.fmin``/``np.fmax``) of values per row index, NaN when none."""
    out = np.full(n, np.nan)
    ok = (rows >= 0) & ~np.isnan(values)
    if ok.any():
        op.at(out, rows[ok], values[ok])
    return out


def derive_features(
    data: FeatureData, as_of: _dt.date, params: FeatureParams | None = None
) -> pd.DataFrame:
    """Assemble the feature frame from the executed expressions of :func:`feature_expressions`.

    Returns
    -------
    pandas.DataFrame
        One row per customer, indexed by customer_no and sorted; columns in ``docs/analytics.md``.
    """
    params = params or FeatureParams()
    months = month_windows(as_of, params.history_months)
    n_m = len(months)
    as_of_day = day_number(as_of)
    customers = data.customers.sort_by("customer_no")
    index = customers.column("customer_no").combine_chunks().cast(pa.string())
    n = len(index)
    f = pd.DataFrame(index=pd.Index(index.to_pylist(), name="customer_no", dtype=object))
    for col in ("customer_type", "gender", "occupation", "industry", "branch_code", "size_class"):
        f[col] = np.asarray(customers.column(col).to_pylist(), dtype=object)
    cols: dict[str, FloatArray] = {
        "age": _full_units_between(customers.column("birth_date").to_pandas(), as_of, "Y"),
        "tenure_months": _full_units_between(customers.column("open_date").to_pandas(), as_of, "M"),
    }

    # ---- accounts: owner row, product class; open at as_of and at each month end ----
    acc = data.accounts
    a_rows = _positions(index, acc.column("customer_no"))
    a_open = _num(acc, "open_day", fill=-(10**9))
    a_close = _num(acc, "close_day", fill=10**9)
    a_cat, cat_values = _strings(acc, "category")
    a_risk, risk_values = _strings(acc, "risk_level")
    a_mot, mot_values = _strings(acc, "motives")
    a_status, status_values = _strings(acc, "status")
    acc_risky = (
        np.isin(np.asarray(risk_values, dtype=object), RISKY_LEVELS)[a_risk]
        if len(acc)
        else np.zeros(0, bool)
    )
    acc_motive = {
        m: np.asarray([m in str(v or "").split("|") for v in mot_values], dtype=bool)[a_mot]
        if len(acc)
        else np.zeros(0, bool)
        for m in MOTIVES
    }
    dormant = (
        (np.asarray(status_values, dtype=object) == "DORMANT")[a_status]
        if len(acc)
        else np.zeros(0, bool)
    )
    open_now = (a_open <= as_of_day) & (a_close > as_of_day)
    ones = np.ones(len(acc))
    cols["n_accounts"] = _sum_by(np.where(open_now, a_rows, -1), ones, n)
    n_dormant = _sum_by(np.where(open_now & dormant, a_rows, -1), ones, n)
    p_codes, p_values = _strings(acc, "product_code")
    live = open_now & (a_rows >= 0)
    pair_keys = np.unique(a_rows[live] * max(len(p_values), 1) + p_codes[live])
    cols["n_products"] = np.bincount(pair_keys // max(len(p_values), 1), minlength=n).astype(
        np.float64
    )
    lookup = {c: i for i, c in enumerate(CATEGORIES)}
    cat_code = np.array([lookup.get(str(v), -1) for v in cat_values], dtype=np.int64)[a_cat]
    n_cat = len(CATEGORIES)
    per_cat = _sum_by(
        np.where(open_now & (cat_code >= 0), a_rows * n_cat + cat_code, -1), ones, n * n_cat
    ).reshape(n, n_cat)
    held = per_cat > 0
    # Open at the end of month k ⇔ open_day ≤ end_k < close_day. Month ends fall with k, so the
    # months an account is open form a range [k_closed, k_opened): add +1/−1 at its ends, cumsum.
    ends = np.array([m.end - 1 for m in months], dtype=np.float64)[::-1]  # ascending
    k_opened = n_m - np.searchsorted(ends, a_open, side="left")  # month ends ≥ open_day
    k_closed = n_m - np.searchsorted(ends, a_close, side="left")  # month ends ≥ close_day
    valid = (a_rows >= 0) & (k_closed < k_opened)
    width = n_m + 1
    diff = _sum_by(np.where(valid, a_rows * width + k_closed, -1), ones, n * width)
    diff -= _sum_by(np.where(valid, a_rows * width + k_opened, -1), ones, n * width)
    open_at_month_end = np.cumsum(diff.reshape(n, width), axis=1)[:, :n_m]
    for m in months:
        cols[f"n_accounts_m{m.k}"] = open_at_month_end[:, m.k]

    # ---- balances per account → per customer and class ----
    bal_t = data.balances
    days = np.array([m.days for m in months], dtype=np.float64)
    b_acc = _positions(acc.column("account_no").combine_chunks(), bal_t.column("account_no"))
    b_known = b_acc >= 0
    b_idx = np.where(b_known, b_acc, 0)
    b_rows = np.where(b_known, a_rows[b_idx] if len(acc) else -1, -1)
    # Numerators are whole cents × days, exact in float64 below 2**53, so summing them per
    # customer in any order gives the same number; divide only afterwards.
    cents_days = (
        np.column_stack([_num(bal_t, f"bal_cd_m{m.k}") for m in months])
        if bal_t.num_rows
        else np.zeros((0, n_m))
    )

    b_code = cat_code[b_idx] if len(acc) else np.zeros(0, dtype=np.int64)

    def by_customer(mask: npt.NDArray[np.bool_]) -> FloatArray:
        return _sum_by_2d(np.where(mask, b_rows, -1), cents_days, n) / (100.0 * days)

    def month0(mask: npt.NDArray[np.bool_]) -> FloatArray:
        col = cents_days[:, 0] if len(cents_days) else np.zeros(0)
        return _sum_by(np.where(mask, b_rows, -1), col, n) / (100.0 * float(days[0]))

    asset_codes = [CATEGORIES.index(c) for c in ASSET_CATEGORIES]
    deposit_codes = [CATEGORIES.index(c) for c in DEPOSIT_CATEGORIES]
    is_asset = np.isin(b_code, asset_codes)
    aum_series = by_customer(is_asset)
    dep_series = by_customer(np.isin(b_code, deposit_codes))
    for m in months:
        cols[f"aum_m{m.k}"] = aum_series[:, m.k]
    for m in months:
        cols[f"deposits_m{m.k}"] = dep_series[:, m.k]
    m0 = cents_days[:, 0] if len(cents_days) else np.zeros(0)
    by_cat = _sum_by(
        np.where((b_code >= 0) & (b_rows >= 0), b_rows * n_cat + b_code, -1), m0, n * n_cat
    ).reshape(n, n_cat) / (100.0 * float(days[0]))
    for i, cat in enumerate(CATEGORIES):
        cols[f"bal_{cat}"] = by_cat[:, i]
    aum = aum_series[:, 0]
    cols["aum"] = aum
    cols["deposits"] = dep_series[:, 0]
    for w in (3, 6, 12):
        cols[f"aum_avg_{w}m"] = aum_series[:, :w].mean(axis=1)
        base_avg = aum_series[:, 1 : w + 1].mean(axis=1)
        cols[f"trend_{w}m"] = _ratio(aum, base_avg, empty=np.nan) - 1.0
    demand, time_ = cols["bal_DEMAND"], cols["bal_TIME"]
    cols["liquidity"] = _ratio(demand, demand + time_, empty=np.nan)
    cols["loan_balance"] = cols["bal_LOAN"]
    b_risky = acc_risky[b_idx] if len(acc) else np.zeros(0, bool)
    cols["risky_share"] = _ratio(month0(is_asset & b_risky), aum, empty=0.0)
    for motive in MOTIVES:
        tagged = acc_motive[motive][b_idx] if len(acc) else np.zeros(0, bool)
        cols[f"motive_share_{motive}"] = _ratio(month0(is_asset & tagged), aum, empty=0.0)
    cols["wealth_fund_share"] = _ratio(cols["bal_WEALTH"] + cols["bal_FUND"], aum, empty=0.0)
    cols["time_bond_share"] = _ratio(cols["bal_TIME"] + cols["bal_BOND"], aum, empty=0.0)

    # ---- transactions: customer × month rows → monthly series and 12-month totals ----
    tm = data.txn_monthly
    m_rows = _positions(index, tm.column("customer_no"))
    m_k = _num(tm, "k").astype(np.int64)
    flat = np.where((m_rows >= 0) & (m_k < n_m), m_rows * n_m + m_k, -1)

    def series(name: str) -> FloatArray:
        return _sum_by(flat, _num(tm, name), n * n_m).reshape(n, n_m)

    in12 = np.where((m_k < 12) & (m_rows >= 0), m_rows, -1)

    def last12(name: str) -> FloatArray:
        return _sum_by(in12, _num(tm, name), n)

    ok = flat >= 0
    first_ci = _reduce_by(m_rows[ok], _num(tm, "first_ci_day", fill=np.nan)[ok], n, np.fmin)
    last_by_month = np.full(n * n_m, np.nan)
    last_by_month[flat[ok]] = _num(tm, "last_ci_day", fill=np.nan)[ok]
    last_day = last_by_month.reshape(n, n_m)
    last_ci = np.fmax.reduce(last_day, axis=1)
    last_ci_cal = np.fmax.reduce(last_day[:, params.holdout_months :], axis=1)

    cols["recency_days"] = as_of_day - last_ci
    cols["frequency"] = last12("n_ci")
    cols["monetary"] = last12("ci_cents") / 100.0
    cols["n_txn_12m"] = last12("n_txn")
    for col in ("n_counter", "n_electronic", "n_self_service"):
        cols[col] = last12(col)
    channel_total = cols["n_counter"] + cols["n_electronic"] + cols["n_self_service"]
    cols["electronic_share"] = _ratio(cols["n_electronic"], channel_total, empty=0.0)
    cols["n_purchase"] = last12("n_purchase")
    cols["amt_purchase"] = last12("purchase_cents") / 100.0
    cols["n_redemption"] = last12("n_redemption")
    cols["amt_redemption"] = last12("redemption_cents") / 100.0
    cols["n_trades"] = cols["n_purchase"] + cols["n_redemption"]
    traded = cols["amt_purchase"] + cols["amt_redemption"]
    cols["traded_amount"] = traded
    cols["turnover"] = traded / np.maximum(aum, 1.0)
    cols["avg_trade_size"] = _ratio(traded, cols["n_trades"], empty=0.0)
    cols["realised_gain"] = last12("gain_cents") / 100.0
    cols["return_ratio"] = _ratio(cols["realised_gain"], cols["amt_redemption"], empty=0.0)

    # ---- large movements of the last large_window_days ----
    lg = data.large
    l_rows = _positions(index, lg.column("customer_no"))
    l_cents = np.round(_num(lg, "amount") * 100.0)  # whole cents: order-independent sums
    l_in = (
        np.asarray(pc.equal(lg.column("direction"), "C").to_numpy(zero_copy_only=False), dtype=bool)
        if lg.num_rows
        else np.zeros(0, bool)
    )
    for name, mask in (("in", l_in), ("out", ~l_in)):
        cols[f"n_large_{name}_30d"] = _sum_by(np.where(mask, l_rows, -1), np.ones(len(l_rows)), n)
        cols[f"amt_large_{name}_30d"] = _sum_by(np.where(mask, l_rows, -1), l_cents, n) / 100.0

    # ---- monthly activity series (for trends and the attrition panel) ----
    n_ci, inflow, outflow = series("n_ci"), series("in_cents") / 100.0, series("out_cents") / 100.0
    for m in months:
        cols[f"n_txn_m{m.k}"] = n_ci[:, m.k]
        cols[f"inflow_m{m.k}"] = inflow[:, m.k]
        cols[f"outflow_m{m.k}"] = outflow[:, m.k]
        cols[f"last_ci_day_m{m.k}"] = last_day[:, m.k]
    cols["txn_trend_3m"] = (
        _ratio(n_ci[:, 0:3].sum(axis=1), n_ci[:, 3:6].sum(axis=1), empty=np.nan) - 1.0
    )

    # ---- products held, services ----
    cols["n_categories"] = held.sum(axis=1).astype(np.float64)
    cols["n_ebank_opened"] = _num(customers, "n_ebank_opened")
    cols["n_ebank_activated"] = _num(customers, "n_ebank_activated")
    cols["contacts_90d"] = _num(customers, "contacts_recent")

    # ---- BG/NBD inputs in days (Fader, Hardie & Lee 2005): x = repeat transaction days,
    # t_x = last − first transaction day, T = as_of − first transaction day. "_cal": the same on
    # months ≥ holdout_months (calibration); "x_holdout": transaction days in months < holdout.
    td = data.txn_days
    d_rows = _positions(index, td.column("customer_no"))
    ci_days = _sum_by(d_rows, _num(td, "ci_days"), n)
    ci_days_cal = _sum_by(d_rows, _num(td, "ci_days_cal"), n)
    cal_end = months[params.holdout_months - 1].start - 1
    cols["rfm_x"] = np.maximum(ci_days - 1.0, 0.0)
    cols["rfm_t_x"] = np.nan_to_num(last_ci - first_ci, nan=0.0)
    cols["rfm_T"] = np.nan_to_num(as_of_day - first_ci, nan=0.0)
    cols["rfm_has_txn"] = (~np.isnan(first_ci)).astype(np.float64)
    cols["rfm_x_cal"] = np.maximum(ci_days_cal - 1.0, 0.0)
    cols["rfm_t_x_cal"] = np.nan_to_num(last_ci_cal - first_ci, nan=0.0)
    cols["rfm_T_cal"] = np.nan_to_num(cal_end - first_ci, nan=-1.0)
    cols["rfm_x_holdout"] = ci_days - ci_days_cal

    block = np.empty((n, len(cols)), dtype=np.float64, order="F")
    for j, values in enumerate(cols.values()):
        block[:, j] = values
    numeric = pd.DataFrame(block, index=f.index, columns=list(cols), copy=False)
    f = pd.concat([f, numeric], axis=1)
    for i, cat in enumerate(CATEGORIES):
        f[f"has_{cat}"] = held[:, i]
    f["categories_held"] = _join_categories(held)
    f["payroll"] = _num(customers, "n_payroll") > 0
    f["withholding"] = _num(customers, "n_withholding") > 0
    blacklisted = np.asarray(
        pc.fill_null(customers.column("blacklisted"), False).to_numpy(zero_copy_only=False),
        dtype=bool,
    )
    all_dormant = (cols["n_accounts"] > 0) & (n_dormant == cols["n_accounts"])
    f["blacklisted"] = blacklisted
    f["all_dormant"] = all_dormant
    f["restricted_flag"] = (blacklisted | (all_dormant & (aum <= 0))).astype(np.float64)
    return f


def _join_categories(held: npt.NDArray[np.bool_]) -> npt.NDArray[np.object_]:
    """``|``-joined sorted category names per row, built once per distinct combination."""
    if held.shape[0] == 0:
        return np.empty(0, dtype=object)
    codes = held.astype(np.int64) @ (1 << np.arange(len(CATEGORIES), dtype=np.int64))
    uniq, inverse = np.unique(codes, return_inverse=True)
    names = np.array(
        ["|".join(c for i, c in enumerate(CATEGORIES) if (u >> i) & 1) for u in uniq], dtype=object
    )
    return np.asarray(names[inverse], dtype=object)


def execute_features(
    exprs: FeatureExpressions, params: FeatureParams, *, cache: bool = True
) -> FeatureData:
    """Run the expressions on their engine and return the Arrow results.

    The transaction base feeds two aggregates; with ``cache`` it is materialised once
    (``Table.cache()``: a temporary table in DuckDB, a persisted DataFrame in Spark).
    """
    base = exprs.txn_base.cache() if cache else exprs.txn_base
    try:
        monthly = txn_monthly_expr(base).to_pyarrow()
        days = txn_days_expr(base, params).to_pyarrow()
    finally:
        if cache:
            base.release()
    return FeatureData(
        customers=exprs.customers.to_pyarrow(),
        accounts=exprs.accounts.to_pyarrow(),
        balances=exprs.balances.to_pyarrow(),
        txn_monthly=monthly,
        txn_days=days,
        large=exprs.large.to_pyarrow(),
    )


def compute_features(
    con: BaseBackend,
    lake: Path,
    as_of: _dt.date,
    params: FeatureParams | None = None,
) -> pd.DataFrame:
    """Features of every customer as of ``as_of``, indexed by customer_no.

    Builds the lazy expressions (:func:`feature_expressions`), runs them on the engine
    (:func:`execute_features`) and assembles the frame (:func:`derive_features`).

    Examples
    --------
    >>> con = connect()                                         # doctest: +SKIP
    >>> f = compute_features(con, lake, date(2026, 10, 31))     # doctest: +SKIP
    >>> f.loc["P0000001", ["aum", "trend_3m", "frequency"]]     # doctest: +SKIP
    """
    params = params or FeatureParams()
    exprs = feature_expressions(con, lake, as_of, params)
    return derive_features(execute_features(exprs, params), as_of, params)
