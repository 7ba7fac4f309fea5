"""The ``growth`` report: customers, AUM and contribution month on month and year on year, by
month, tier and outlet, in the reader's scope (docs/reports.md, "Growth").

The figures come from the lake through :func:`qiao.analytics.growth.growth_by_group` (DuckDB by
default); this module gives it the customers in scope with their tier (the latest nightly
standing) and turns the rows into the report's tables, in words.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qiao.analytics.growth import customer_month_figures, growth_by_group, scope_table
from qiao.analytics.lake import connect
from qiao.core.lake import lake_months
from qiao.core.reports import Chart, Column, ColumnKind, Report, ReportDef, Table, register
from qiao.core.tiers import tier_codes, tier_label
from qiao.org.models import OrgUnit, Staff
from qiao.reports.selectors import (
    customers_in_scope,
    month_end,
    params_as_of,
    reads_customers,
)
from qiao.scoring.selectors import latest_run

#: Months shown (the lake is read 12 months further back for the year-on-year change).
SHOWN_MONTHS = 13


def report_as_of(params: Mapping[str, str], lake: Path) -> dt.date | None:
    """The date a lake report stands on: the parameter, else the latest scoring's date, else
    the end of the lake's newest month of balances; ``None`` for an empty lake."""
    day = params_as_of(params)
    if day is not None:
        return day
    run = latest_run()
    if run is not None:
        return run.as_of
    months = lake_months(lake, "balances")
    if not months:
        return None
    year, month = months[-1].split("-")
    return month_end(int(year), int(month))


def figures_cache() -> Path:
    """Where the lake reports keep their per-customer monthly figures between loads
    (:func:`qiao.analytics.growth.customer_month_figures`)."""
    return Path(settings.QIAO_HOME) / "cache" / "reports"


def tier_words(code: str) -> str:
    return tier_label(code) if code else _("Not scored")


def tier_order(codes: list[str]) -> list[str]:
    known = [c for c in tier_codes("pyramid") if c in codes]
    return known + sorted(c for c in codes if c not in known)


def _change(now: float, before: float | None) -> float | None:
    if before is None or before == 0:
        return None
    return (now - before) / abs(before)


def _measures() -> list[tuple[str, str, ColumnKind]]:
    return [
        ("customers", _("Customers"), "int"),
        ("aum", _("AUM"), "money"),
        ("contribution", _("Contribution"), "money"),
    ]


def _columns(first: Column) -> list[Column]:
    cols = [first]
    for key, label, kind in _measures():
        cols += [
            Column(key, label, kind),
            Column(f"{key}_mom", _("%(m)s, month on month") % {"m": label}, "pct"),
            Column(f"{key}_yoy", _("%(m)s, year on year") % {"m": label}, "pct"),
        ]
    return cols


def _with_changes(frame: pd.DataFrame, keys: list[str], months: list[str]) -> pd.DataFrame:
    """``frame`` summed by ``keys`` + month, with each measure's change on the month before and
    on the same month a year before."""
    totals = frame.groupby([*keys, "month"], as_index=False)[["customers", "aum", "contribution"]]
    g = totals.sum()
    index = {m: i for i, m in enumerate(months)}
    g["i"] = g["month"].map(index)
    for lag, suffix in ((1, "mom"), (12, "yoy")):
        prev = g[[*keys, "i", "customers", "aum", "contribution"]].copy()
        prev["i"] = prev["i"] + lag
        g = g.merge(prev, on=[*keys, "i"], how="left", suffixes=("", f"_{suffix}_base"))
        for key in ("customers", "aum", "contribution"):
            g[f"{key}_{suffix}"] = [
                _change(float(a), None if pd.isna(b) else float(b))
                for a, b in zip(g[key], g[f"{key}_{suffix}_base"], strict=True)
            ]
    return g


def _records(frame: pd.DataFrame, columns: list[Column]) -> list[dict[str, Any]]:
    out = []
    for rec in frame.to_dict("records"):
        out.append({c.key: _clean(rec.get(c.key)) for c in columns})
    return out


def _clean(value: Any) -> Any:
    if isinstance(value, float) and pd.isna(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def build(staff: Staff, params: Mapping[str, str]) -> Report:
    lake = Path(settings.LAKE_DIR)
    as_of = report_as_of(params, lake)
    title = _("Growth month on month and year on year")
    if as_of is None:
        return Report(name="growth", title=title, tables=[], notes=[_("The lake holds no data.")])
    nos, tiers = customers_in_scope(staff=staff, params=params)
    con = connect()
    try:
        rows = growth_by_group(
            con,
            lake,
            as_of,
            scope_table(nos, tiers),
            n_months=SHOWN_MONTHS + 12,
            time_zone=settings.TIME_ZONE,
            cache_dir=figures_cache(),
        )
    finally:
        con.disconnect()
    return growth_report(rows, as_of=as_of, title=title)


def figures_prepare() -> dict[str, Any]:
    """Compute, after the night's load and scoring, the per-customer monthly table the growth
    and churn reports read (both read 25 months with the same key), so that the day's first
    report takes the warm path: at 1 M customers the table costs about a minute of CPU, which
    belongs to the night, not to the first reader (``qiao score`` calls this)."""
    lake = Path(settings.LAKE_DIR)
    as_of = report_as_of({}, lake)
    if as_of is None:
        return {"reports": "the lake holds no data"}
    started = time.perf_counter()
    con = connect()
    try:
        customer_month_figures(
            con,
            lake,
            as_of,
            n_months=SHOWN_MONTHS + 12,
            time_zone=settings.TIME_ZONE,
            cache_dir=figures_cache(),
        )
    finally:
        con.disconnect()
    return {"as_of": as_of.isoformat(), "seconds": round(time.perf_counter() - started, 1)}


def growth_report(rows: pd.DataFrame, *, as_of: dt.date, title: str) -> Report:
    """The tables and charts from :func:`growth_by_group`'s rows (``grp`` is the tier code)."""
    months = sorted(rows["month"].unique().tolist()) if len(rows) else []
    shown = months[-SHOWN_MONTHS:]
    last = shown[-1] if shown else None
    units = dict(OrgUnit.objects.values_list("code", "name"))

    by_month = _with_changes(rows.assign(all=""), ["all"], months)
    by_month = by_month[by_month["month"].isin(shown)].sort_values("month")
    month_cols = _columns(Column("month", _("Month")))
    by_tier = _with_changes(rows, ["grp"], months)
    by_tier = by_tier[by_tier["month"] == last].copy()
    order = {c: i for i, c in enumerate(tier_order(by_tier["grp"].tolist()))}
    by_tier = by_tier.sort_values("grp", key=lambda s: s.map(order))
    by_tier["tier"] = by_tier["grp"].map(tier_words)
    tier_cols = _columns(Column("tier", _("Tier")))
    by_outlet = _with_changes(rows, ["branch_code"], months)
    by_outlet = by_outlet[by_outlet["month"] == last].copy()
    by_outlet["outlet"] = by_outlet["branch_code"].map(lambda c: units.get(c) or c or "—")
    by_outlet = by_outlet.sort_values("aum", ascending=False)
    outlet_cols = _columns(Column("outlet", _("Outlet")))

    tier_aum = rows[rows["month"].isin(shown)].pivot_table(
        index="month", columns="grp", values="aum", aggfunc="sum", fill_value=0.0
    )
    codes = tier_order([str(c) for c in tier_aum.columns])
    stack_cols = [Column("month", _("Month"))] + [
        Column(f"aum_{i}", tier_words(code), "money") for i, code in enumerate(codes)
    ]
    stack_rows = [
        {"month": month, **{f"aum_{i}": float(tier_aum.loc[month, c]) for i, c in enumerate(codes)}}
        for month in tier_aum.index
    ]
    tables = [
        Table("months", _("By month"), month_cols, _records(by_month, month_cols)),
        Table(
            "tiers",
            _("By tier, %(month)s") % {"month": last or "—"},
            tier_cols,
            _records(by_tier, tier_cols),
        ),
        Table(
            "outlets",
            _("By outlet, %(month)s") % {"month": last or "—"},
            outlet_cols,
            _records(by_outlet, outlet_cols),
        ),
        Table("tier_aum", _("AUM by tier and month"), stack_cols, stack_rows),
    ]
    tables[0].note = _(
        "AUM: the month-average daily balance of asset products. Customers: those holding AUM "
        "that month. Contribution: that month's margin on balances less the cost of its "
        "transactions. Changes are against the month before and the same month a year before."
    )
    tables[1].note = _("Customers are grouped by their tier in the latest nightly scoring.")
    return Report(
        name="growth",
        title=title,
        tables=tables,
        charts=[
            Chart("months", "line", _("AUM by month"), "month", ("aum",)),
            Chart(
                "tier_aum",
                "stacked",
                _("AUM by tier and month"),
                "month",
                tuple(c.key for c in stack_cols[1:]),
            ),
            Chart("tiers", "bar", _("AUM year on year, by tier"), "tier", ("aum_yoy",)),
        ],
        as_of=as_of,
    )


register(
    ReportDef(
        name="growth",
        title=lambda: str(gettext_lazy("Growth month on month and year on year")),
        build=build,
        allowed=reads_customers,
    )
)
