"""The scorecards and the staffing as reports of the one report shape (``qiao.core.reports``): the
reports page, ``GET /api/reports/{name}`` and the workbook render them (docs/reports.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from qiao.analytics.scorecard import MEASURES, Period, PeriodError
from qiao.core.errors import ApplicationError
from qiao.core.reports import Chart, Column, ColumnKind, Report, ReportDef, Table
from qiao.org.models import Staff

from .models import MEASURE_LABELS
from .selectors import default_period, scorecards, staffing_rows

_KIND: dict[str, ColumnKind] = {"money": "money", "count": "int", "ratio": "pct", "number": "float"}


def period_param(params: Mapping[str, str], *, status: int = 400) -> Period:
    """The ``period`` parameter (``YYYY``, ``YYYY-Qn``, ``YYYY-MM``; the last whole month when
    empty); a bad one is an :class:`ApplicationError` naming the field, with ``status`` (the
    reports' API answers 400, ``/api/scorecards`` 422)."""
    text = (params.get("period") or "").strip()
    if not text:
        return default_period()
    try:
        return Period.parse(text)
    except PeriodError as exc:
        raise ApplicationError(
            _("The period is a year (2026), a quarter (2026-Q1) or a month (2026-01)."),
            field="period",
            status=status,
        ) from exc


def build_scorecards(staff: Staff, params: Mapping[str, str]) -> Report:
    period = period_param(params)
    as_of, cards = scorecards(staff=staff, period=period)
    columns = [
        Column("name", _t("Customer manager")),
        Column("unit", _t("Outlet")),
        Column("score", _t("Score"), "float"),
        Column("rank_unit", _t("Rank in the outlet"), "int"),
        Column("rank_bank", _t("Rank in the bank"), "int"),
    ]
    for m in MEASURES:
        columns.append(Column(m.code, str(MEASURE_LABELS[m.code]), _KIND[m.kind]))
        columns.append(
            Column(
                f"{m.code}_att",
                _t("%(measure)s, share of target") % {"measure": MEASURE_LABELS[m.code]},
                "pct",
            )
        )
    rows: list[dict[str, Any]] = []
    for c in cards:
        row: dict[str, Any] = {
            "name": c["name"],
            "unit": c["unit_name"],
            "score": c["score"],
            "rank_unit": c["rank_unit"],
            "rank_bank": c["rank_bank"],
        }
        for m in MEASURES:
            row[m.code] = c["measures"][m.code]["actual"]
            row[f"{m.code}_att"] = c["measures"][m.code]["attainment"]
        rows.append(row)
    return Report(
        name="scorecards",
        title=_t("Scorecards, %(period)s") % {"period": period.key},
        tables=[
            Table(
                "scorecards",
                _t("Scorecards"),
                columns,
                rows,
                note=_t(
                    "Score: the weighted mean of each measure's share of its target (capped at "
                    "150 %), times 100; ranks share the better place when scores tie."
                ),
            )
        ],
        charts=[Chart("scorecards", "bar", _t("Score"), "name", ("score",))],
        as_of=as_of,
    )


def build_staffing(staff: Staff, params: Mapping[str, str]) -> Report:
    rows = []
    for unit, r in staffing_rows(staff=staff):
        rows.append(
            {
                "unit": unit.name,
                "level": str(unit.get_level_display()),
                "customers": r.customers,
                "workload": r.workload,
                "needed": r.needed,
                "minimum": r.minimum,
                "has": r.has,
                "gap": r.gap,
            }
        )
    return Report(
        name="staffing",
        title=_t("Staffing"),
        tables=[
            Table(
                "staffing",
                _t("Customer managers needed and in place"),
                [
                    Column("unit", _t("Unit")),
                    Column("level", _t("Level")),
                    Column("customers", _t("Customers"), "int"),
                    Column("workload", _t("Contact workload (CMs)"), "float"),
                    Column("needed", _t("CMs needed"), "int"),
                    Column("minimum", _t("Minimum"), "int"),
                    Column("has", _t("CMs in place"), "int"),
                    Column("gap", _t("Gap"), "int"),
                ],
                rows,
                note=_t(
                    "CMs needed: customers per tier × contacts a year of the cadence × minutes per "
                    "contact ÷ a CM's working minutes for contacts, rounded up, at least the "
                    "level's minimum. Gap: needed − in place (positive: short of CMs)."
                ),
            )
        ],
        charts=[Chart("staffing", "bar", _t("CMs needed and in place"), "unit", ("needed", "has"))],
    )


REPORTS = [
    ReportDef("scorecards", lambda: _t("Scorecards"), build_scorecards),
    ReportDef("staffing", lambda: _t("Staffing"), build_staffing),
]
