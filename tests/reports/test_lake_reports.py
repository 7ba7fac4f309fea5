"""The growth and churn reports over HTTP on the workbench bank with the tiny lake of
test_growth_churn (X = C1 at O1, owned by cm_owner; Y = C2 at O2, owned by cm_other)."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest

from tests.reports.test_growth_churn import tiny_lake


@pytest.fixture
def lake(settings, bank) -> Path:
    return tiny_lake(Path(settings.LAKE_DIR), ("P0000001", "P0000002", "C0000001"))


def _months(client, name: str, **query: str) -> dict[str, dict]:
    report = client.get(f"/reports/{name}/", {"as_of": "2026-06-30", **query}).context["report"]
    return {row["month"]: row for row in report.table("months").rows}


def test_a_cm_of_outlet_o1_does_not_see_outlet_o2_in_growth(lake, login) -> None:
    mine = _months(login("cm_owner"), "growth")
    assert mine["2026-01"]["aum"] == pytest.approx(1000.0)  # X only, not Y's 2,000
    bank = _months(login("head_office"), "growth")
    assert bank["2026-01"]["aum"] == pytest.approx(3000.0)
    assert bank["2026-02"]["aum_mom"] == pytest.approx(-2 / 3)
    o2 = _months(login("head_office"), "growth", outlet="O2")
    assert o2["2026-01"]["aum"] == pytest.approx(2000.0)


def test_growth_page_and_workbook_in_words(lake, login) -> None:
    client = login("outlet_head")
    html = client.get("/reports/growth/", {"as_of": "2026-06-30"}).content.decode()
    assert "Gold" in html or "金" in html
    assert "GOLD" not in html
    response = client.get("/reports/growth/xlsx", {"as_of": "2026-06-30"})
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert len(book.worksheets) == 5  # four tables and the notes
    assert book.worksheets[0]._charts


def test_churn_report_counts_the_lost_customer(lake, login) -> None:
    rows = _months(login("head_office"), "churn")
    assert rows["2026-04"]["lost"] == 1 and rows["2026-04"]["aum_lost"] == pytest.approx(2000.0)
    assert rows["2026-06"]["won_back"] == 1
    assert _months(login("cm_owner"), "churn")["2026-04"]["lost"] == 0


def test_the_night_prepares_the_table_the_first_reports_read(lake, login, settings, tmp_path):
    """``qiao score`` ends with figures_prepare: growth and churn then read its table (the
    default as-of date, no params) instead of computing their own."""
    from qiao.reports.growth import figures_cache, figures_prepare

    settings.QIAO_HOME = tmp_path
    done = figures_prepare()
    assert done["as_of"] == "2026-06-30"
    kept = {p: p.stat().st_mtime_ns for p in figures_cache().glob("growth-*.parquet")}
    assert len(kept) == 1
    client = login("head_office")
    assert client.get("/reports/growth/").status_code == 200
    assert client.get("/reports/churn/").status_code == 200
    assert {p: p.stat().st_mtime_ns for p in figures_cache().glob("growth-*.parquet")} == kept
