"""One shape for every report: tables of typed columns and the charts drawn from them.

A report (the e-banking analysis, growth, churn, the pyramid, satisfaction, a scorecard …) is a
function ``build(staff, params) -> Report`` registered here under its name by the app that owns
its data (its ``AppConfig.ready``); it lives in core so that every app, whatever its layer, can
register one and write its workbook (``qiao.core.xlsx``). The page, the API
(``GET /api/reports/{name}?format=json|xlsx``) and the Excel workbook all render the same
:class:`Report`, so a figure cannot differ between the screen and the file. A column's ``kind``
says how it is shown and written: amounts in yuan with thousands separators (``money``) or in 万元
(``wan``), counts (``int``), shares (``pct``, a fraction 0–1), dates, and text. Any value a person
reads (a tier, an outlet, a channel) is already words in the reader's language when it reaches a
table: no codes.

Personal data in a table (a list of customers to act on) is masked when the report is built, as
on every page; the workbook writes what the table holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ColumnKind = Literal["text", "int", "money", "wan", "pct", "float", "date"]
ChartKind = Literal["bar", "stacked", "line", "pie"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # already translated
    kind: ColumnKind = "text"


@dataclass
class Table:
    """One table of a report: one sheet of its workbook."""

    name: str  # a short identifier, unique within the report (the sheet's key)
    title: str  # already translated; the sheet's name in the workbook (cut to 31 characters)
    columns: list[Column]
    rows: list[dict[str, Any]]
    note: str = ""  # a sentence under the table: the definition of its measures


@dataclass(frozen=True)
class Chart:
    """A chart drawn from one table: ``x`` a column key, ``y`` one or more column keys."""

    table: str
    kind: ChartKind
    title: str
    x: str
    y: tuple[str, ...]


@dataclass
class Report:
    name: str
    title: str
    tables: list[Table]
    charts: list[Chart] = field(default_factory=list)
    as_of: Any = None  # the date the figures stand on
    notes: list[str] = field(default_factory=list)

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)


Builder = Callable[[Any, Mapping[str, str]], Report]


@dataclass(frozen=True)
class ReportDef:
    name: str
    title: Callable[[], str]  # translated at call time (lazy)
    build: Builder
    #: Who may read it, beyond being staff: ``None`` for every staff role; otherwise a predicate.
    allowed: Callable[[Any], bool] | None = None


REPORTS: dict[str, ReportDef] = {}


def register(report: ReportDef) -> None:
    """Add a report (an app's ``AppConfig.ready`` calls this)."""
    REPORTS[report.name] = report
