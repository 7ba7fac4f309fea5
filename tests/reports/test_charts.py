"""The report charts drawn as SVG on the server, and the page's cell formats."""

from __future__ import annotations

from decimal import Decimal

from qiao.core.reports import Chart, Column, Table
from qiao.reports.charts import chart_svg
from qiao.reports.views import cell_text

TABLE = Table(
    "t",
    "T",
    [Column("tier", "Tier"), Column("n", "Customers", "int"), Column("aum", "AUM", "money")],
    [
        {"tier": "<script>alert(1)</script>", "n": 3, "aum": Decimal("250000")},
        {"tier": "金", "n": 5, "aum": Decimal("1000000")},
    ],
)


def test_bars_lines_stacks_and_pies_are_svg_with_escaped_labels() -> None:
    for kind in ("bar", "stacked", "line", "pie"):
        svg = str(chart_svg(Chart("t", kind, "Customers", "tier", ("n", "aum")), TABLE))
        assert svg.startswith("<svg") and svg.endswith("</svg>")
        assert "<script>" not in svg and "&lt;script&gt;" in svg
    bars = str(chart_svg(Chart("t", "bar", "AUM", "tier", ("aum",)), TABLE))
    assert bars.count("<rect") == 2 and "万元" in bars  # amounts drawn in 万元


def test_an_empty_table_or_unknown_column_draws_nothing() -> None:
    assert str(chart_svg(Chart("t", "bar", "x", "nope", ("n",)), TABLE)) == ""
    empty = Table("e", "E", TABLE.columns, [])
    assert str(chart_svg(Chart("e", "bar", "x", "tier", ("n",)), empty)) == ""


def test_cells_are_words_with_thousands_separators() -> None:
    assert cell_text(1234567, "int") == "1,234,567"
    assert cell_text(Decimal("1234567.891"), "money") == "¥1,234,567.89"
    assert cell_text(0.1234, "pct") == "12.3%"
    assert cell_text(None, "money") == "—"
