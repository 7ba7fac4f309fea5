"""Customers, AUM and contribution by month, tier and outlet (the ``growth`` report's figures).

Everything heavy runs in the engine (DuckDB by default, Spark alike) through Ibis, on the same
expressions as the nightly features (:mod:`qiao.analytics.features`): the carry-forward balance
intervals and their month-average numerators (``_balance_expr``), the deduplicated transactions
with their local day and month index (``_txn_base``). Only the aggregate per (month, tier,
outlet) comes back.

Definitions (docs/reports.md, "Growth"):

* **AUM** of a month: the month-average daily balance of the customer's asset products (the
  categories flagged ``aum`` in the vocabulary), as in the features;
* **customers** of a month: those whose AUM that month is above zero;
* **contribution** of a month: the month's revenue (each category's annual margin × the month's
  average balance / 12, :class:`~qiao.analytics.contribution.ContributionRates`) less the cost
  of that month's transactions by channel (the nightly contribution's rates; contacts and the
  per-account cost are left out of this monthly series);
* **tier**: the grouping the caller passes for each customer (the Django side passes the tier of
  the latest nightly scoring), with the scope: customers not passed are not counted.

Month-on-month and year-on-year changes are left to the caller: they are ratios of these rows.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from ibis.backends import BaseBackend

from qiao.analytics.contribution import ContributionRates
from qiao.analytics.features import (
    ASSET_CATEGORIES,
    FeatureParams,
    MonthWindow,
    _accounts_expr,
    _balance_expr,
    _txn_base,
    month_windows,
)
from qiao.analytics.lake import read_ref, ref_path
from qiao.core.lake import lake_files

__all__ = [
    "MonthlyAum",
    "customer_month_figures",
    "growth_by_group",
    "monthly_aum",
    "scope_table",
]


def scope_table(customer_nos: Sequence[str], groups: Sequence[str]) -> pa.Table:
    """The customers to count and the group (tier) of each, as the engine joins them."""
    if len(customer_nos) != len(groups):
        raise ValueError("customer_nos and groups must have the same length")
    return pa.table(
        {
            "customer_no": pa.array(customer_nos, pa.string()),
            "grp": pa.array(groups, pa.string()),
        }
    )


def _month_label(m: MonthWindow) -> str:
    return f"{m.month_end.year:04d}-{m.month_end.month:02d}"


def _per_customer(
    con: BaseBackend,
    lake: Path,
    as_of: _dt.date,
    months: list[MonthWindow],
    rates: ContributionRates,
) -> ir.Table:
    """Per customer: ``aum_m{k}`` and ``rev_m{k}`` (yuan) for every month window."""
    accounts = read_ref(con, lake, "accounts")
    products = read_ref(con, lake, "products")
    acc = _accounts_expr(accounts, products)
    bal = _balance_expr(con, lake, as_of, months, accounts)
    j = bal.inner_join(acc.select("account_no", "customer_no", "category"), "account_no")
    asset = j.category.isin(list(ASSET_CATEGORIES))
    margin_cases = [(j.category == c, float(m)) for c, m in rates.margin.items() if m]
    margin = ibis.cases(*margin_cases, else_=0.0) if margin_cases else ibis.literal(0.0)
    aggs: dict[str, ir.Scalar] = {}
    for m in months:
        cd = j[f"bal_cd_m{m.k}"]
        aggs[f"aum_m{m.k}"] = ibis.ifelse(asset, cd, 0.0).sum() / (100.0 * m.days)
        aggs[f"rev_m{m.k}"] = (cd * margin).sum() / (100.0 * m.days * 12.0)
    return j.group_by("customer_no").aggregate(**aggs)


def _fingerprint(
    lake: Path, as_of: _dt.date, n_months: int, rates: ContributionRates, time_zone: str | None
) -> str:
    """What the figures depend on: every data file they read (name, size, modification time:
    a new load adds files, so the figures are computed again) and the parameters."""
    digest = hashlib.sha256()
    files = [*lake_files(lake, "balances"), *lake_files(lake, "transactions")]
    files += [p for p in (ref_path(lake, "accounts"), ref_path(lake, "products")) if p.exists()]
    for path in sorted(files):
        st = path.stat()
        digest.update(f"{path}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    digest.update(repr((FIGURES_VERSION, as_of, n_months, rates, time_zone)).encode())
    return digest.hexdigest()[:24]


#: Changes when the figures' definition changes (a cached table of an older one is not read).
FIGURES_VERSION = 1
#: Cached tables kept (the newest; one per load and date asked for).
KEEP_TABLES = 4


def customer_month_figures(
    con: BaseBackend,
    lake: Path,
    as_of: _dt.date,
    *,
    n_months: int = 25,
    rates: ContributionRates | None = None,
    time_zone: str | None = None,
    cache_dir: Path | None = None,
) -> ir.Table:
    """Per customer and month ``k`` (0 = ``as_of``'s month) with anything held or done:
    ``customer_no, k, aum, revenue`` (yuan) and the month's transactions by channel class
    (``n_counter, n_electronic, n_self_service``), for every customer of the lake.

    The heavy part of the growth and churn figures: the balance intervals of every account and
    the transactions of 25 months. With ``cache_dir`` the table is kept there as Parquet, named
    by :func:`_fingerprint`: a report read again before the next load reads that file (a load
    adds files to the lake, which changes the name, so a stale table is never read).
    """
    rates = rates or ContributionRates()
    path: Path | None = None
    if cache_dir is not None:
        path = (
            Path(cache_dir)
            / f"growth-{_fingerprint(lake, as_of, n_months, rates, time_zone)}.parquet"
        )
        if path.exists():
            return con.read_parquet(str(path))
    months = month_windows(as_of, n_months)
    params = FeatureParams(history_months=max(13, n_months))
    if time_zone:
        params = FeatureParams(history_months=max(13, n_months), time_zone=time_zone)
    per = _per_customer(con, lake, as_of, months, rates).cache()
    try:
        held = [
            per.select(
                "customer_no",
                k=ibis.literal(m.k, "int64"),
                aum=per[f"aum_m{m.k}"],
                revenue=per[f"rev_m{m.k}"],
            )
            for m in months
        ]
        long = held[0].union(*held[1:], distinct=False)
        long = long.filter((long.aum != 0) | (long.revenue != 0))
        base = _txn_base(con, lake, as_of, months, params)
        # Counts by channel class (integers): the cost is priced on the small result, and an
        # untyped 6.0 would be a DECIMAL to DuckDB whatever Ibis's cast says.
        counts = base.group_by("customer_no", "k").aggregate(
            n_counter=ibis.ifelse(base.chan == 1, 1, 0).sum().cast("int64"),
            n_electronic=ibis.ifelse(base.chan == 2, 1, 0).sum().cast("int64"),
            n_self_service=ibis.ifelse(base.chan == 3, 1, 0).sum().cast("int64"),
        )
        joined = long.outer_join(
            counts, [long.customer_no == counts.customer_no, long.k == counts.k]
        ).select(
            customer_no=ibis.coalesce(long.customer_no, counts.customer_no),
            k=ibis.coalesce(long.k, counts.k),
            aum=long.aum.fill_null(0.0),
            revenue=long.revenue.fill_null(0.0),
            n_counter=counts.n_counter.fill_null(0),
            n_electronic=counts.n_electronic.fill_null(0),
            n_self_service=counts.n_self_service.fill_null(0),
        )
        if path is None:
            return joined.cache()
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_name(f".{path.name}.{os.getpid()}")
        joined.to_parquet(str(staged))  # written by the engine (25 M rows at 1 M customers)
        os.replace(staged, path)  # whole or not at all: a reader never sees half a file
        # Tables of earlier loads are never read again: keep the few newest (other dates).
        kept = sorted(path.parent.glob("growth-*.parquet"), key=lambda p: p.stat().st_mtime)
        for stale in kept[:-KEEP_TABLES]:
            stale.unlink(missing_ok=True)
    finally:
        per.release()
    return con.read_parquet(str(path))


def growth_by_group(
    con: BaseBackend,
    lake: Path,
    as_of: _dt.date,
    scope: pa.Table,
    *,
    n_months: int = 25,
    rates: ContributionRates | None = None,
    time_zone: str | None = None,
    cache_dir: Path | None = None,
) -> pd.DataFrame:
    """Customers, AUM and contribution per month, group (tier) and outlet.

    Parameters
    ----------
    con, lake
        The engine and the lake.
    as_of
        The last day of the last month (normally a month end).
    scope
        :func:`scope_table`: the customers to count and their group.
    n_months
        Months back from ``as_of`` (25 gives a year-on-year change for 13 months).
    cache_dir
        Where :func:`customer_month_figures` keeps its table between loads (``None``: not kept).

    Returns
    -------
    pandas.DataFrame
        ``month`` (``YYYY-MM``), ``grp``, ``branch_code``, ``customers``, ``aum``, ``revenue``,
        ``cost``, ``contribution``; one row per combination with any customer or amount, newest
        month first.
    """
    months = month_windows(as_of, n_months)
    figures = customer_month_figures(
        con, lake, as_of, n_months=n_months, rates=rates, time_zone=time_zone, cache_dir=cache_dir
    )
    sc = ibis.memtable(scope)
    cust = read_ref(con, lake, "customers").select("customer_no", "branch_code")
    who = sc.inner_join(cust, "customer_no").select(
        "customer_no", "grp", branch_code=cust.branch_code.fill_null("")
    )
    j = figures.inner_join(who, "customer_no")
    out = (
        j.group_by("grp", "branch_code", "k")
        .aggregate(
            customers=ibis.ifelse(j.aum > 0.005, 1, 0).sum(),
            aum=j.aum.sum(),
            revenue=j.revenue.sum(),
            n_counter=j.n_counter.sum(),
            n_electronic=j.n_electronic.sum(),
            n_self_service=j.n_self_service.sum(),
        )
        .to_pyarrow()
        .to_pandas()
    )
    rates = rates or ContributionRates()
    out["cost"] = (
        out["n_counter"].astype(np.float64) * rates.counter_txn
        + out["n_electronic"].astype(np.float64) * rates.electronic_txn
        + out["n_self_service"].astype(np.float64) * rates.self_service_txn
    )
    labels = {m.k: _month_label(m) for m in months}
    out["month"] = out["k"].map(labels)
    out["customers"] = out["customers"].astype(np.int64)
    out["contribution"] = out["revenue"] - out["cost"]
    out = out.sort_values(["k", "grp", "branch_code"], ascending=[True, True, True])
    columns = ["month", "grp", "branch_code", "customers", "aum", "revenue", "cost", "contribution"]
    return out[columns].reset_index(drop=True)


@dataclass(frozen=True)
class MonthlyAum:
    """Each customer's AUM by month (oldest month first) with their group and opening date."""

    customer_no: npt.NDArray[np.object_]
    grp: npt.NDArray[np.object_]
    open_month: npt.NDArray[np.int64]  # months since year 0 (year × 12 + month − 1); −1 unknown
    months: list[str]  # ``YYYY-MM``, oldest first
    aum: npt.NDArray[np.float64]  # customers × months


def monthly_aum(
    con: BaseBackend,
    lake: Path,
    as_of: _dt.date,
    scope: pa.Table,
    *,
    n_months: int = 25,
    cache_dir: Path | None = None,
    time_zone: str | None = None,
) -> MonthlyAum:
    """Every customer of ``scope`` with their month-average AUM for ``n_months`` months back
    from ``as_of`` (zero when they held nothing), for the churn and cohort figures."""
    months = month_windows(as_of, n_months)
    figures = customer_month_figures(
        con, lake, as_of, n_months=n_months, time_zone=time_zone, cache_dir=cache_dir
    )
    sc = ibis.memtable(scope)
    cust = read_ref(con, lake, "customers").select("customer_no", "open_date")
    who = sc.inner_join(cust, "customer_no")
    # Each customer's row of the matrix is numbered in the engine: the figures come back as
    # integers (row, month, AUM), never as millions of Python strings.
    people_t = who.select(
        "customer_no",
        "grp",
        open_month=ibis.ifelse(
            who.open_date.isnull(), -1, who.open_date.year() * 12 + who.open_date.month() - 1
        ).cast("int64"),
        row=(ibis.row_number().over(order_by=who.customer_no)).cast("int64"),
    ).cache()
    try:
        people = people_t.order_by("row").to_pyarrow()
        held = figures.filter(figures.aum != 0)
        cells = held.inner_join(people_t, "customer_no").select("row", "k", "aum").to_pyarrow()
    finally:
        people_t.release()
    aum = np.zeros((people.num_rows, n_months))
    if cells.num_rows:
        rows = cells["row"].to_numpy(zero_copy_only=False).astype(np.int64)
        cols = n_months - 1 - cells["k"].to_numpy(zero_copy_only=False).astype(np.int64)
        aum[rows, cols] = cells["aum"].to_numpy(zero_copy_only=False)
    nos = np.asarray(people["customer_no"].to_pylist(), dtype=object)
    return MonthlyAum(
        customer_no=nos,
        grp=np.asarray(people["grp"].to_pylist(), dtype=object),
        open_month=people["open_month"].to_numpy(zero_copy_only=False).astype(np.int64),
        months=[_month_label(m) for m in reversed(months)],
        aum=aum,
    )
