"""The ``churn`` report: cohorts by opening month with their retention, customers lost and won
back by month and tier, and the AUM lost, in the reader's scope (docs/reports.md, "Churn and
retention" — the definition of *lost* is ours and written there and in
:mod:`qiao.analytics.churn`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qiao.analytics.churn import ChurnRule, churn_by_group, cohort_retention
from qiao.analytics.growth import monthly_aum, scope_table
from qiao.analytics.lake import connect
from qiao.core.reports import Chart, Column, Report, ReportDef, Table, register
from qiao.org.models import Staff
from qiao.reports.growth import figures_cache, report_as_of, tier_order, tier_words
from qiao.reports.selectors import customers_in_scope, reads_customers

#: Months read (the first ``dormant_months`` can only show customers lost later) and shown.
READ_MONTHS, SHOWN_MONTHS, COHORTS = 25, 12, 12


def rule() -> ChurnRule:
    return ChurnRule(
        threshold=float(settings.QIAO.get("CHURN_AUM_THRESHOLD", 100)),
        dormant_months=int(settings.QIAO.get("CHURN_DORMANT_MONTHS", 3)),
    )


def _num(value: Any) -> Any:
    if isinstance(value, float) and np.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def build(staff: Staff, params: Mapping[str, str]) -> Report:
    lake = Path(settings.LAKE_DIR)
    as_of = report_as_of(params, lake)
    title = _("Churn and retention")
    if as_of is None:
        return Report(name="churn", title=title, tables=[], notes=[_("The lake holds no data.")])
    nos, tiers = customers_in_scope(staff=staff, params=params)
    con = connect()
    try:
        data = monthly_aum(
            con,
            lake,
            as_of,
            scope_table(nos, tiers),
            n_months=READ_MONTHS,
            cache_dir=figures_cache(),
            time_zone=settings.TIME_ZONE,
        )
    finally:
        con.disconnect()
    r = rule()
    by = churn_by_group(data.aum, data.grp, data.months, r)
    cohorts = cohort_retention(data.aum, data.open_month, data.months, cohorts=COHORTS, rule=r)
    shown = data.months[-SHOWN_MONTHS:]

    monthly = by[by["month"].isin(shown)].groupby("month", as_index=False).sum(numeric_only=True)
    month_cols = [
        Column("month", _("Month")),
        Column("active", _("Active customers"), "int"),
        Column("lost", _("Lost"), "int"),
        Column("won_back", _("Won back"), "int"),
        Column("aum_lost", _("AUM lost"), "money"),
    ]
    month_rows = [
        {c.key: _num(rec[c.key]) for c in month_cols} for rec in monthly.to_dict("records")
    ]

    first = shown[0] if shown else None
    window = by[by["month"].isin(shown)]
    tier_rows = []
    for code in tier_order(sorted(set(by["grp"]))):
        part = window[window["grp"] == code]
        start = by[(by["grp"] == code) & (by["month"] == first)]["active"].sum()
        lost = int(part["lost"].sum())
        tier_rows.append(
            {
                "tier": tier_words(code),
                "active_start": int(start),
                "lost": lost,
                "lost_rate": lost / start if start else None,
                "won_back": int(part["won_back"].sum()),
                "aum_lost": float(part["aum_lost"].sum()),
            }
        )
    tier_cols = [
        Column("tier", _("Tier")),
        Column("active_start", _("Active at the start"), "int"),
        Column("lost", _("Lost"), "int"),
        Column("lost_rate", _("Lost, share of those active at the start"), "pct"),
        Column("won_back", _("Won back"), "int"),
        Column("aum_lost", _("AUM lost"), "money"),
    ]
    cohort_cols = [Column("cohort", _("Opened in")), Column("size", _("Customers opened"), "int")]
    cohort_cols += [Column(f"m{s}", _("Month %(s)s") % {"s": s}, "pct") for s in range(COHORTS)]
    cohort_rows = [
        {c.key: _num(rec.get(c.key)) for c in cohort_cols} for rec in cohorts.to_dict("records")
    ]
    definition = _(
        "Our definition: a customer is active in a month when their month-average AUM is at "
        "least ¥%(threshold)s; lost when active and then below it for %(months)s months in a "
        "row (all accounts closed or run down); won back when active again after being lost. "
        "AUM lost is the AUM of the last active month."
    ) % {"threshold": f"{r.threshold:,.0f}", "months": r.dormant_months}
    return Report(
        name="churn",
        title=title,
        tables=[
            Table("months", _("Lost and won back by month"), month_cols, month_rows, definition),
            Table(
                "tiers",
                _("Lost and won back by tier, last %(n)s months") % {"n": SHOWN_MONTHS},
                tier_cols,
                tier_rows,
                _("Tier in the latest nightly scoring."),
            ),
            Table(
                "cohorts",
                _("Retention by opening month"),
                cohort_cols,
                cohort_rows,
                _("The share of the customers opened in a month who are active each month after."),
            ),
        ],
        charts=[
            Chart("months", "bar", _("Customers lost and won back"), "month", ("lost", "won_back")),
            Chart("months", "bar", _("AUM lost"), "month", ("aum_lost",)),
            Chart("cohorts", "line", _("Retention by opening month"), "cohort", ("m1", "m3", "m6")),
        ],
        as_of=as_of,
        notes=[definition],
    )


register(
    ReportDef(
        name="churn",
        title=lambda: str(gettext_lazy("Churn and retention")),
        build=build,
        allowed=reads_customers,
    )
)
