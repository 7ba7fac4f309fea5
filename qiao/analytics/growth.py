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
from qiao.analytics.lake import read_ref

__all__ = ["MonthlyAum", "growth_by_group", "monthly_aum", "scope_table"]


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


def growth_by_group(
    con: BaseBackend,
    lake: Path,
    as_of: _dt.date,
    scope: pa.Table,
    *,
    n_months: int = 25,
    rates: ContributionRates | None = None,
    time_zone: str | None = None,
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

    Returns
    -------
    pandas.DataFrame
        ``month`` (``YYYY-MM``), ``grp``, ``branch_code``, ``customers``, ``aum``, ``revenue``,
        ``cost``, ``contribution``; one row per combination with any customer or amount, months
        oldest first.
    """
    rates = rates or ContributionRates()
    months = month_windows(as_of, n_months)
    params = FeatureParams(history_months=max(13, n_months))
    if time_zone:
        params = FeatureParams(history_months=max(13, n_months), time_zone=time_zone)
    sc = ibis.memtable(scope)
    cust = read_ref(con, lake, "customers").select("customer_no", "branch_code")
    who = sc.inner_join(cust, "customer_no").select(
        "customer_no", "grp", branch_code=cust.branch_code.fill_null("")
    )

    per = _per_customer(con, lake, as_of, months, rates)
    pj = per.inner_join(who, "customer_no")
    aggs: dict[str, ir.Scalar] = {}
    for m in months:
        aum = pj[f"aum_m{m.k}"]
        aggs[f"n_m{m.k}"] = ibis.ifelse(aum > 0.005, 1, 0).sum()
        aggs[f"aum_m{m.k}"] = aum.sum()
        aggs[f"rev_m{m.k}"] = pj[f"rev_m{m.k}"].sum()
    wide = pj.group_by("grp", "branch_code").aggregate(**aggs).to_pyarrow().to_pandas()

    base = _txn_base(con, lake, as_of, months, params)
    cost_expr = ibis.cases(
        (base.chan == 1, rates.counter_txn),
        (base.chan == 2, rates.electronic_txn),
        (base.chan == 3, rates.self_service_txn),
        else_=0.0,
    )
    costed = base.select("customer_no", "k", cost=cost_expr)
    tj = costed.inner_join(who, "customer_no")
    cost = (
        tj.group_by("grp", "branch_code", "k")
        .aggregate(cost=tj.cost.sum())
        .to_pyarrow()
        .to_pandas()
    )

    frames = []
    for m in months:
        part = pd.DataFrame(
            {
                "month": _month_label(m),
                "k": m.k,
                "grp": wide["grp"],
                "branch_code": wide["branch_code"],
                "customers": wide[f"n_m{m.k}"].astype(np.int64),
                "aum": wide[f"aum_m{m.k}"].astype(np.float64),
                "revenue": wide[f"rev_m{m.k}"].astype(np.float64),
            }
        )
        frames.append(part)
    columns = ["month", "k", "grp", "branch_code", "customers", "aum", "revenue"]
    long = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    out = long.merge(cost, on=["grp", "branch_code", "k"], how="outer")
    labels = {m.k: _month_label(m) for m in months}
    out["month"] = out["k"].map(labels)
    for col in ("customers", "aum", "revenue", "cost"):
        out[col] = out[col].fillna(0)
    out["customers"] = out["customers"].astype(np.int64)
    out["contribution"] = out["revenue"] - out["cost"]
    out = out[(out["customers"] > 0) | (out["aum"] != 0) | (out["cost"] != 0)]
    out = out.sort_values(["k", "grp", "branch_code"], ascending=[False, True, True])
    return out.drop(columns="k").reset_index(drop=True)


@dataclass(frozen=True)
class MonthlyAum:
    """Each customer's AUM by month (oldest month first) with their group and opening date."""

    customer_no: npt.NDArray[np.object_]
    grp: npt.NDArray[np.object_]
    open_month: npt.NDArray[np.int64]  # months since year 0 (year × 12 + month − 1); −1 unknown
    months: list[str]  # ``YYYY-MM``, oldest first
    aum: npt.NDArray[np.float64]  # customers × months


def monthly_aum(
    con: BaseBackend, lake: Path, as_of: _dt.date, scope: pa.Table, *, n_months: int = 25
) -> MonthlyAum:
    """Every customer of ``scope`` with their month-average AUM for ``n_months`` months back
    from ``as_of`` (zero when they held nothing), for the churn and cohort figures."""
    months = month_windows(as_of, n_months)
    rates = ContributionRates(margin={})
    per = _per_customer(con, lake, as_of, months, rates)
    sc = ibis.memtable(scope)
    cust = read_ref(con, lake, "customers").select("customer_no", "open_date")
    who = sc.inner_join(cust, "customer_no")
    cols = [f"aum_m{m.k}" for m in reversed(months)]
    joined = who.left_join(per, who.customer_no == per.customer_no).select(
        who.customer_no,
        who.grp,
        open_month=ibis.ifelse(
            who.open_date.isnull(),
            -1,
            who.open_date.year() * 12 + who.open_date.month() - 1,
        ).cast("int64"),
        **{c: per[c].fill_null(0.0) for c in cols},
    )
    table = joined.order_by("customer_no").to_pyarrow()
    aum = (
        np.column_stack([table[c].to_numpy(zero_copy_only=False) for c in cols]).astype(np.float64)
        if table.num_rows
        else np.zeros((0, len(cols)))
    )
    return MonthlyAum(
        customer_no=np.asarray(table["customer_no"].to_pylist(), dtype=object),
        grp=np.asarray(table["grp"].to_pylist(), dtype=object),
        open_month=table["open_month"].to_numpy(zero_copy_only=False).astype(np.int64),
        months=[_month_label(m) for m in reversed(months)],
        aum=aum,
    )
