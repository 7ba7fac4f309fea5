"""Any :class:`qiao.core.reports.Report` as an Excel workbook (XlsxWriter).

One sheet per table (its title cut to Excel's 31 characters, made unique), numbers written as
numbers with a format by the column's kind — yuan ``¥#,##0.00``, 万元 (the amount divided by
10,000, ``#,##0.00"万元"``), counts ``#,##0``, shares ``0.0%`` — the header row frozen, widths
from the header and the first rows, and a native Excel chart beside its table for each of the
report's charts. A last sheet holds the report's title, the date its figures stand on and the
notes (the definitions of its measures).

Text goes through :func:`qiao.core.csvsafe.csv_safe` (a cell starting ``=``, ``+``, ``-``, ``@``
is prefixed with ``'``, the same rule as every CSV Qiao writes) and is written with
``write_string``, never ``write``, so nothing in a table can become a formula or a link.

Large tables are written in XlsxWriter's ``constant_memory`` mode (each row flushed to a
temporary file as it is written): memory stays flat whatever the number of rows.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import IO, Any

import xlsxwriter
from django.utils import timezone
from django.utils.translation import gettext as _

from qiao.core.csvsafe import csv_safe
from qiao.core.reports import Chart, Column, Report, Table

#: At or above this many rows in all, the workbook is written row by row (constant memory).
CONSTANT_MEMORY_ROWS = 5_000
#: A chart draws at most this many rows of its table (a chart of 20,000 bars says nothing).
CHART_ROWS = 60
#: Progress is reported every this many rows.
PROGRESS_EVERY = 2_000

NUM_FORMATS: dict[str, str] = {
    "int": "#,##0",
    "money": '"¥"#,##0.00',
    "wan": '#,##0.00"万元"',
    "pct": "0.0%",
    "float": "#,##0.00",
    "date": "yyyy-mm-dd",
}
_WIDTH_BY_KIND = {"int": 12, "money": 18, "wan": 14, "pct": 9, "float": 12, "date": 11}
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_CHART_TYPES: dict[str, dict[str, str]] = {
    "bar": {"type": "column"},
    "stacked": {"type": "column", "subtype": "stacked"},
    "line": {"type": "line"},
    "pie": {"type": "pie"},
}


def sheet_names(titles: Iterable[str]) -> list[str]:
    """Excel sheet names for ``titles``: no ``[]:*?/\\``, at most 31 characters, unique
    (Excel compares them without case), a `` (2)`` suffix where two titles would clash."""
    names: list[str] = []
    seen: set[str] = set()
    for title in titles:
        base = _BAD_SHEET_CHARS.sub(" ", str(title)).strip().strip("'") or "Sheet"
        name, n = base[:31], 1
        while name.lower() in seen:
            n += 1
            suffix = f" ({n})"
            name = base[: 31 - len(suffix)] + suffix
        seen.add(name.lower())
        names.append(name)
    return names


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float | Decimal):
        return float(value)
    try:
        return float(str(value).replace(",", ""))
    except ValueError:
        return None


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _text(value: Any) -> str:
    return csv_safe("" if value is None else value)


def _width(column: Column, rows: list[dict[str, Any]]) -> float:
    """A column's width in characters: the header's longest line or the widest value among the
    first rows (CJK characters count twice), within 8–60."""
    head = max(_display_len(part) for part in column.label.split("\n")) + 2
    if column.kind == "text":
        sample = max((_display_len(_text(r.get(column.key))) for r in rows[:200]), default=0) + 2
    else:
        sample = _WIDTH_BY_KIND.get(column.kind, 12)
    return float(min(60, max(8, head if column.kind == "text" else min(head, 30), sample)))


def _display_len(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


Writer = Callable[[Any, int, int, Any], None]


def _cell_writers(book: Any, columns: list[Column]) -> list[Writer]:
    """One function per column writing a value as its kind says (built once per table)."""
    formats = {kind: book.add_format({"num_format": f}) for kind, f in NUM_FORMATS.items()}
    writers: list[Writer] = []
    for column in columns:
        kind = column.kind
        if kind == "text":

            def write_text(sheet: Any, r: int, c: int, v: Any) -> None:
                if v is not None and v != "":
                    sheet.write_string(r, c, _text(v))

            writers.append(write_text)
        elif kind == "date":
            fmt = formats["date"]

            def write_date(sheet: Any, r: int, c: int, v: Any, fmt: Any = fmt) -> None:
                day = _as_date(v) if v not in (None, "") else None
                if day is not None:
                    sheet.write_datetime(r, c, day, fmt)
                elif v not in (None, ""):
                    sheet.write_string(r, c, _text(v))

            writers.append(write_date)
        else:
            fmt = formats[kind]
            scale = 10_000.0 if kind == "wan" else 1.0

            def write_number(
                sheet: Any, r: int, c: int, v: Any, fmt: Any = fmt, scale: float = scale
            ) -> None:
                number = _number(v)
                if number is not None:
                    sheet.write_number(r, c, number / scale, fmt)
                elif v not in (None, ""):
                    sheet.write_string(r, c, _text(v))

            writers.append(write_number)
    return writers


def report_workbook(
    report: Report,
    out: str | IO[bytes],
    *,
    progress: Callable[[int], None] | None = None,
    constant_memory: bool | None = None,
    tmpdir: str | None = None,
) -> int:
    """Write ``report`` as a workbook to ``out`` (a path or a binary file); the rows written.

    ``progress(rows_done)`` is called every :data:`PROGRESS_EVERY` rows and at the end (a
    background export shows it). ``constant_memory`` defaults to on from
    :data:`CONSTANT_MEMORY_ROWS` rows in all.
    """
    total = sum(len(t.rows) for t in report.tables)
    if constant_memory is None:
        constant_memory = total >= CONSTANT_MEMORY_ROWS
    options: dict[str, Any] = {
        "constant_memory": constant_memory,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
    }
    if tmpdir:
        options["tmpdir"] = tmpdir
    book = xlsxwriter.Workbook(out, options)
    head = book.add_format(
        {"bold": True, "bg_color": "#E9ECEF", "border": 1, "text_wrap": True, "valign": "top"}
    )
    names = sheet_names([t.title for t in report.tables] + [_("About")])
    done = 0
    sheets: dict[str, tuple[str, Table]] = {}
    for table, name in zip(report.tables, names, strict=False):
        sheet = book.add_worksheet(name)
        sheets[table.name] = (name, table)
        for c, column in enumerate(table.columns):
            sheet.set_column(c, c, _width(column, table.rows))
            sheet.write_string(0, c, column.label, head)
        sheet.freeze_panes(1, 0)
        writers = _cell_writers(book, table.columns)
        keys = [column.key for column in table.columns]
        cells = list(zip(range(len(keys)), keys, writers, strict=True))
        for r, row in enumerate(table.rows, start=1):
            for c, key, write in cells:
                write(sheet, r, c, row.get(key))
            done += 1
            if progress is not None and done % PROGRESS_EVERY == 0:
                progress(done)
        if table.rows and table.columns:
            sheet.autofilter(0, 0, len(table.rows), len(table.columns) - 1)
        for chart in report.charts:
            if chart.table == table.name:
                _add_chart(book, sheet, name, table, chart)
    _about_sheet(book, book.add_worksheet(names[-1]), report, head)
    book.close()
    if progress is not None:
        progress(done)
    return done


def _add_chart(book: Any, sheet: Any, sheet_name: str, table: Table, chart: Chart) -> None:
    keys = [c.key for c in table.columns]
    if chart.x not in keys or not table.rows:
        return
    last = min(len(table.rows), CHART_ROWS)
    xl = book.add_chart(dict(_CHART_TYPES.get(chart.kind, {"type": "column"})))
    x = keys.index(chart.x)
    quoted = "'" + sheet_name.replace("'", "''") + "'"
    for key in chart.y:
        if key not in keys:
            continue
        y = keys.index(key)
        series: dict[str, Any] = {
            "name": [sheet_name, 0, y],
            "categories": f"={quoted}!${_col(x)}$2:${_col(x)}${last + 1}",
            "values": f"={quoted}!${_col(y)}$2:${_col(y)}${last + 1}",
        }
        if chart.kind == "pie":
            series["data_labels"] = {"percentage": True}
        xl.add_series(series)
    xl.set_title({"name": chart.title})
    if chart.kind != "pie":
        xl.set_legend({"position": "bottom"} if len(chart.y) > 1 else {"none": True})
    xl.set_size({"width": 640, "height": 340})
    per_chart = 18  # rows a chart takes, so that two charts of one table do not overlap
    index = sum(1 for _c in sheet.charts)
    sheet.insert_chart(1 + index * per_chart, len(table.columns) + 1, xl)


def _col(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def _about_sheet(book: Any, sheet: Any, report: Report, head: Any) -> None:
    bold = book.add_format({"bold": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 100)
    lines: list[tuple[str, str]] = [(_("Report"), report.title)]
    if report.as_of is not None:
        day = _as_date(report.as_of)
        lines.append((_("As of"), day.isoformat() if day else str(report.as_of)))
    lines.append((_("Written"), timezone.localtime().strftime("%Y-%m-%d %H:%M")))
    lines += [("", note) for note in report.notes]
    lines += [(t.title, t.note) for t in report.tables if t.note]
    for r, (label, text) in enumerate(lines):
        if label:
            sheet.write_string(r, 0, _text(label), bold)
        sheet.write_string(r, 1, _text(text), wrap)


def report_to_xlsx(report: Report, **kwargs: Any) -> bytes:
    """The workbook's bytes (for a download that fits in memory)."""
    out = io.BytesIO()
    report_workbook(report, out, **kwargs)
    return out.getvalue()
