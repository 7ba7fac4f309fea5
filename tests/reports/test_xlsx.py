"""The report workbook read back with openpyxl: numbers are numbers with their formats, one sheet
per table, frozen headers, a native chart, formula-like text neutralised."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl

from qiao.core.reports import Chart, Column, Report, Table
from qiao.core.xlsx import report_to_xlsx, sheet_names

COLUMNS = [
    Column("tier", "Tier"),
    Column("n", "Customers", "int"),
    Column("aum", "AUM", "money"),
    Column("aum_wan", "AUM (万元)", "wan"),
    Column("share", "Share", "pct"),
    Column("day", "Day", "date"),
]


def _report(rows: int = 3) -> Report:
    data = [
        {
            "tier": "=cmd|' /C calc'!A0" if i == 0 else f"Tier {i}",
            "n": 1000 + i,
            "aum": Decimal("1234567.89") + i,
            "aum_wan": Decimal("25000000"),
            "share": 0.125,
            "day": dt.date(2026, 1, 31),
        }
        for i in range(rows)
    ]
    return Report(
        name="demo",
        title="Demo",
        tables=[
            Table("tiers", "Customers and AUM by tier, month on month", COLUMNS, data, note="n/a"),
            Table("again", "Customers and AUM by tier, month on month (b)", COLUMNS, data[:1]),
        ],
        charts=[Chart("tiers", "bar", "Customers by tier", "tier", ("n",))],
        as_of=dt.date(2026, 1, 31),
        notes=["A customer is lost when …"],
    )


def _read(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def test_numbers_are_numbers_with_their_formats_and_the_header_is_frozen() -> None:
    book = _read(report_to_xlsx(_report()))
    sheet = book.worksheets[0]
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == [c.label for c in COLUMNS]
    row = sheet[3]
    assert row[1].value == 1001 and row[1].number_format == "#,##0"
    assert row[2].value == 1234568.89 and "#,##0.00" in row[2].number_format
    assert "¥" in row[2].number_format
    assert row[3].value == 2500 and "万元" in row[3].number_format
    assert row[4].value == 0.125 and row[4].number_format == "0.0%"
    assert row[5].value == dt.datetime(2026, 1, 31)


def test_one_sheet_per_table_names_cut_and_unique_and_an_about_sheet() -> None:
    book = _read(report_to_xlsx(_report()))
    assert len(book.sheetnames) == 3
    assert all(len(n) <= 31 for n in book.sheetnames)
    assert len({n.lower() for n in book.sheetnames}) == 3
    about = book.worksheets[-1]
    texts = [c.value for row in about.iter_rows() for c in row if c.value]
    assert "A customer is lost when …" in texts and "2026-01-31" in texts


def test_a_chart_is_drawn_beside_its_table() -> None:
    book = _read(report_to_xlsx(_report()))
    assert len(book.worksheets[0]._charts) == 1
    assert book.worksheets[1]._charts == []


def test_formula_like_text_is_neutralised() -> None:
    sheet = _read(report_to_xlsx(_report())).worksheets[0]
    cell = sheet["A2"]
    assert cell.data_type == "s"
    assert cell.value == "'=cmd|' /C calc'!A0"


def test_large_tables_are_written_in_constant_memory_with_progress() -> None:
    seen: list[int] = []
    from qiao.core.xlsx import report_workbook

    out = io.BytesIO()
    written = report_workbook(_report(rows=4500), out, progress=seen.append, constant_memory=True)
    assert written == 4501
    assert seen[0] == 2000 and seen[-1] == 4501
    sheet = _read(out.getvalue()).worksheets[0]
    assert sheet.max_row == 4501 and sheet["B4501"].value == 1000 + 4499


def test_sheet_names_drop_characters_excel_refuses() -> None:
    assert sheet_names(["a/b", "A/B", "x" * 40]) == ["a b", "A B (2)", "x" * 31]
