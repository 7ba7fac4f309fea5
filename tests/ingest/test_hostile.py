"""Hostile input (hypothesis): never a crash, never a partial file, every bad row reported."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from qiao.ingest.services import ingest_file
from qiao.scoring.selectors import lake_count

from .conftest import CUSTOMERS, write

pytestmark = pytest.mark.django_db(transaction=False)

GOOD_TXN = [
    "T{n}",
    "6222000000000001",
    "P0000001",
    "2026-01-05T10:00:00",
    "100.50",
    "C",
    "COUNTER",
    "DEPOSIT",
]
NASTY = st.sampled_from(
    [
        "",
        " ",
        "-1",
        "0",
        "1e5",
        "1.005",
        "NaN",
        "２０２６-01-01",
        "2026-13-01",
        "9" * 40,
        "'; DROP TABLE x;--",
        "\u202e",
        "张三",
        "\x00",
        "\t",
        '"',
        ",",
        "\n",
        "C",
        "D",
        "ZZZ",
        "2026-02-29T00:00:00",
        "+86 139 1234 5678",
    ]
)
HYPO = hsettings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _render(rows: list[list[str]], header: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _rejected_lines(path: Path) -> dict[int, list[str]]:
    target = path.parent / (path.name + ".rejects.csv")
    if not target.exists():
        return {}
    out: dict[int, list[str]] = {}
    with target.open(encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(int(row["line"]), []).append(row["reason"])
    return out


@HYPO
@given(
    mutations=st.lists(st.tuples(st.integers(0, 7), NASTY), max_size=3),
    n=st.integers(1, 12),
    bad_rows=st.sets(st.integers(0, 11)),
    data=st.data(),
)
def test_hostile_transactions(base: Path, tmp_path_factory, mutations, n, bad_rows, data) -> None:
    folder = tmp_path_factory.mktemp("txn")
    before = lake_count("transactions")
    header = [
        "txn_id",
        "account_no",
        "customer_no",
        "txn_time",
        "amount",
        "direction",
        "channel",
        "txn_type",
    ]
    rows = []
    for i in range(n):
        row = [c.format(n=f"H{folder.name}{i}") for c in GOOD_TXN]
        if i in bad_rows:
            for col, value in mutations:
                row[col] = value
        rows.append(row)
    path = write(folder, "transactions_h.csv", _render(rows, header))
    result = ingest_file(path)
    if not result.ok:
        # Refused whole (e.g. a NUL byte or broken quoting): nothing may have changed.
        assert result.message
        assert lake_count("transactions") == before
        return
    rejected = _rejected_lines(path)
    assert all(reason for reasons in rejected.values() for reason in reasons)
    # Every data line is either rejected or counted as loaded/unchanged; nothing vanishes.
    assert result.loaded + result.unchanged + len(rejected) >= result.rows
    assert lake_count("transactions") == before + result.loaded
    assert not any((settings.LAKE_DIR / "_staging").glob("*"))


CUSTOMER_HEADER = CUSTOMERS.splitlines()[0].split(",")


@HYPO
@given(
    cells=st.lists(
        st.lists(st.one_of(NASTY, st.text(max_size=12)), min_size=16, max_size=16), max_size=6
    )
)
def test_hostile_customers(base: Path, tmp_path_factory, cells) -> None:
    folder = tmp_path_factory.mktemp("cust")
    path = write(folder, "customers_h.csv", _render(cells, CUSTOMER_HEADER))
    from qiao.customers.models import Customer

    before = Customer.objects.count()
    result = ingest_file(path)
    if not result.ok:
        assert result.message and Customer.objects.count() == before
        return
    rejected = _rejected_lines(path)
    assert all(reason for reasons in rejected.values() for reason in reasons)
    assert result.loaded + result.updated + result.unchanged + len(rejected) == result.rows
    assert Customer.objects.count() == before + result.loaded


@HYPO
@given(payload=st.binary(max_size=400))
def test_random_bytes_never_crash(base: Path, tmp_path_factory, payload: bytes) -> None:
    folder = tmp_path_factory.mktemp("bytes")
    for name in ("customers_r.csv", "transactions_r.csv", "balances_r.parquet"):
        path = folder / name
        path.write_bytes(payload)
        result = ingest_file(path)
        assert result.ok or result.message
    shutil.rmtree(folder)
