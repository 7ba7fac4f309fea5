"""Ingest edge cases (issue 11, item 10): line breaks, stray bytes, BOMs, huge fields, wide files.

Each test failed before its fix; the interrupted-load tests are in ``test_interrupted.py``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from qiao.customers.models import Customer
from qiao.ingest.services import ingest_file
from qiao.scoring.selectors import lake_count

from .conftest import CUSTOMERS, TRANSACTIONS, write

pytestmark = pytest.mark.django_db

HYPO = hsettings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
HEADER, *ROWS = CUSTOMERS.splitlines()
#: a good new customer; its address (field 9) is where the edge cases go
NEW = "P0000009,P,王八,PASSPORT,E7654321,M,,,,{address},,,,,O0101,2015-06-01"
#: every character Python's str.splitlines() ends a line at
LINE_BREAKS = ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def rejects_of(path: Path) -> list[dict[str, str]]:
    target = path.parent / (path.name + ".rejects.csv")
    if not target.exists():
        return []
    with target.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------- a CR inside a field


@pytest.mark.parametrize("ending", ["\n", "\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize(
    "address", ['"江西\r九江"', "江西\r九江", '"江西\r\r九江"'], ids=["quoted", "bare", "two"]
)
def test_a_carriage_return_in_a_field_is_one_reject_on_its_own_line(
    base: Path, tmp_path: Path, ending: str, address: str
) -> None:
    # line 5: the CR row; line 6: a repeat of line 2 (its reject must say line 6, as an editor
    # counts lines: a CR alone does not end a line in a file whose lines end with LF or CRLF)
    text = ending.join([HEADER, *ROWS, NEW.format(address=address), ROWS[0]]) + ending
    path = write(tmp_path, "customers_cr.csv", text)
    result = ingest_file(path)
    assert result.ok, result.message
    assert (result.loaded, result.unchanged, result.rejected) == (0, 3, 2)
    rejects = rejects_of(path)
    assert [(r["line"], r["column"]) for r in rejects] == [("5", "address"), ("6", "customer_no")]
    assert "carriage return" in rejects[0]["reason"] and "U+000D" in rejects[0]["reason"]
    assert rejects[0]["value"] == address.strip('"')
    assert "line 2" in rejects[1]["reason"]
    assert not Customer.objects.filter(customer_no="P0000009").exists()


def test_a_carriage_return_in_a_lake_row_is_one_reject_and_the_lines_stay_right(
    base: Path, tmp_path: Path
) -> None:
    header, *rows = TRANSACTIONS.splitlines()
    bad = "T9,6222000000000001,P0000001,2026-01-05T10:00:00,1,C,COUN\rTER,DEPOSIT"
    wrong = "T10,6222000000000001,P0000001,2026-01-05T10:00:00,-5,C,ATM,DEPOSIT"
    path = write(tmp_path, "transactions_cr.csv", "\n".join([header, *rows, bad, wrong]) + "\n")
    result = ingest_file(path)
    assert result.ok, result.message
    assert (result.loaded, result.rejected) == (3, 2)
    rejects = rejects_of(path)
    assert [(r["line"], r["column"]) for r in rejects] == [("5", "channel"), ("6", "amount")]
    assert rejects[0]["value"] == "COUN\rTER"
    assert lake_count("transactions") == 3


def test_a_file_whose_lines_end_with_cr_alone_still_loads(base: Path, tmp_path: Path) -> None:
    # Classic Mac line ends: when a file has no LF at all, a CR ends the line.
    text = "\r".join([HEADER, *ROWS, NEW.format(address="九江")]) + "\r"
    result = ingest_file(write(tmp_path, "customers_mac.csv", text))
    assert (result.ok, result.loaded, result.unchanged, result.rejected) == (True, 1, 3, 0)


# ------------------------------------------------------------ Unicode line separators


@pytest.mark.parametrize("brk", LINE_BREAKS)
def test_every_line_break_is_refused_in_a_value_like_a_newline(
    base: Path, tmp_path: Path, brk: str
) -> None:
    rows = [
        NEW.format(address=f'"江西{brk}九江"'),
        NEW.replace("P0000009", "P0000010").replace("王八", f'"王{brk}九"').format(address=""),
    ]
    path = write(tmp_path, "customers_ls.csv", "\n".join([HEADER, *ROWS, *rows]) + "\n")
    result = ingest_file(path)
    assert result.ok and (result.loaded, result.rejected) == (0, 2)
    rejects = rejects_of(path)
    second = 7 if brk == "\n" else 6  # a quoted LF continues the row on the next line
    assert [(r["line"], r["column"]) for r in rejects] == [("5", "address"), (str(second), "name")]
    code = f"U+{ord(brk):04X}"
    assert all("line break" in r["reason"] and code in r["reason"] for r in rejects)


@HYPO
@given(
    before=st.text(
        st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Zl", "Zp"]), min_size=1
    ),
    after=st.text(
        st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Zl", "Zp"]), min_size=1
    ),
    brk=st.sampled_from(LINE_BREAKS),
)
def test_a_line_break_anywhere_inside_a_text_value_rejects_the_row(
    base: Path, tmp_path_factory, before: str, after: str, brk: str
) -> None:
    before, after = before.strip()[:40], after.strip()[:40]
    if not before or not after:
        before, after = "江西", "九江"
    folder = tmp_path_factory.mktemp("brk")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER.split(","))
    row = NEW.format(address="").split(",")
    row[9] = before + brk + after
    writer.writerow(row)
    path = write(folder, "customers_h.csv", buf.getvalue())
    result = ingest_file(path)
    assert result.ok and result.rejected == 1 and result.loaded == 0
    [reject] = [r for r in rejects_of(path) if r["column"] == "address"]
    assert reject["line"] == "2" and f"U+{ord(brk):04X}" in reject["reason"]


# ------------------------------------------------------------------ a stray byte


def test_a_utf8_file_with_one_stray_byte_is_reported_where_the_byte_is(db, tmp_path: Path) -> None:
    data = CUSTOMERS.encode("utf-8")
    line4 = data.index(b"\n", data.index(b"\n", data.index(b"\n") + 1) + 1) + 1
    pos = data.index("九江德安".encode(), line4) + 3  # after 九, before 江 (line 4)
    path = tmp_path / "customers_stray.csv"
    path.write_bytes(data[:pos] + b"\xff" + data[pos:])
    result = ingest_file(path)
    assert not result.ok
    assert "UTF-8" in result.message and "line 4" in result.message
    assert f"offset {pos}" in result.message and "0xFF" in result.message


@HYPO
@given(data=st.data())
def test_a_stray_byte_anywhere_in_a_utf8_file_is_reported_on_its_line(
    db, tmp_path_factory, data
) -> None:
    body = CUSTOMERS.encode("utf-8")
    pos = data.draw(st.integers(0, len(body)))
    byte = data.draw(st.sampled_from([b"\xff", b"\xfe", b"\xc0", b"\xf8", b"\x80", b"\xbf"]))
    # Stray bytes between two characters (a break inside a character is a different error).
    while pos < len(body) and 0x80 <= body[pos] < 0xC0:
        pos += 1
    folder = tmp_path_factory.mktemp("stray")
    path = folder / "customers_stray.csv"
    path.write_bytes(body[:pos] + byte + body[pos:])
    result = ingest_file(path)
    assert not result.ok
    line = body[:pos].count(b"\n") + 1
    assert f"line {line}," in result.message and f"offset {pos}" in result.message


def test_a_gbk_file_is_still_read_as_gbk(base: Path, tmp_path: Path) -> None:
    path = write(tmp_path, "customers_gbk.csv", CUSTOMERS, encoding="gbk")
    result = ingest_file(path)
    assert (result.ok, result.encoding, result.unchanged) == (True, "gbk", 3)


def test_a_broken_gbk_file_is_reported_on_the_line_of_the_bad_byte(db, tmp_path: Path) -> None:
    data = CUSTOMERS.encode("gbk")
    pos = data.index("九江德安".encode("gbk"))
    path = tmp_path / "customers_gbk.csv"
    path.write_bytes(data[:pos] + b"\xff" + data[pos:])
    result = ingest_file(path)
    assert not result.ok and "GBK" in result.message and "line 4" in result.message


# ---------------------------------------------------------------------- a double BOM


@pytest.mark.parametrize(
    "name, text",
    [("customers_b.csv", CUSTOMERS), ("transactions_b.csv", TRANSACTIONS)],
    ids=["customers", "transactions"],
)
def test_a_double_bom_is_reported_as_such(base: Path, tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf\xef\xbb\xbf" + text.encode("utf-8"))
    before = lake_count("transactions")
    result = ingest_file(path)
    assert not result.ok
    assert "byte-order mark" in result.message and "twice" in result.message
    assert "missing" not in result.message
    assert lake_count("transactions") == before


def test_an_invisible_character_in_a_column_name_is_named(base: Path, tmp_path: Path) -> None:
    text = CUSTOMERS.replace("customer_type", "customer\u200b_type", 1)
    result = ingest_file(write(tmp_path, "customers_zw.csv", text))
    assert not result.ok
    assert "U+200B" in result.message and "column 2" in result.message


# ------------------------------------------------------------------ one huge field

BIG = 140 * 1024


def test_one_field_over_128_kib_rejects_its_row_not_the_file(base: Path, tmp_path: Path) -> None:
    rows = [NEW.format(address="x" * BIG), NEW.replace("P0000009", "P0000010").format(address="")]
    path = write(tmp_path, "customers_big.csv", "\n".join([HEADER, *ROWS, *rows]) + "\n")
    result = ingest_file(path)
    assert result.ok, result.message
    assert (result.loaded, result.unchanged, result.rejected) == (1, 3, 1)
    [reject] = rejects_of(path)
    assert (reject["line"], reject["column"]) == ("5", "address")
    assert f"{BIG:,}" in reject["reason"] or str(BIG) in reject["reason"]
    assert Customer.objects.filter(customer_no="P0000010").exists()


def test_a_huge_field_in_a_lake_file_rejects_its_row(base: Path, tmp_path: Path) -> None:
    header, *rows = TRANSACTIONS.splitlines()
    huge = f"T9,6222000000000001,P0000001,2026-01-05T10:00:00,1,C,{'A' * BIG},DEPOSIT"
    # The blank line sends the file to the exact (Python) reader.
    path = write(tmp_path, "transactions_big.csv", "\n".join([header, *rows, "", huge]) + "\n")
    result = ingest_file(path)
    assert result.ok, result.message
    assert (result.loaded, result.rejected) == (3, 1)
    [reject] = rejects_of(path)
    assert (reject["line"], reject["column"]) == ("6", "channel")


# -------------------------------------------------------------- 50,000 extra columns


def test_fifty_thousand_extra_columns_are_counted_not_listed(base: Path, tmp_path: Path) -> None:
    extra = [f"x{i}" for i in range(50_000)]
    lines = [HEADER + "," + ",".join(extra)] + [row + "," * len(extra) for row in ROWS]
    result = ingest_file(write(tmp_path, "customers_wide.csv", "\n".join(lines) + "\n"))
    assert result.ok and result.unchanged == 3
    summary = result.summary()
    assert len(summary) < 500
    assert "x0, x1" in summary and "x49999" not in summary
    assert "50,000" in summary
    assert len(result.ignored_columns) == 50_000  # the full list is still there for callers
