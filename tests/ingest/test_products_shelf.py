"""products.csv and the shelf (issue 14): the new columns (both ratings — the higher applies —,
issuer, private, currency, sale status) validated like every other, and the rate history kept by
the load: a changed rate (or a new product's first) is written once; re-loading writes nothing."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from qiao.ingest.services import ingest_file
from qiao.products.models import Product, ProductRate

from .conftest import write

pytestmark = pytest.mark.django_db(transaction=False)

HEADER = [
    "product_code",
    "name",
    "category",
    "risk_level",
    "issuer_risk_level",
    "seller_risk_level",
    "issuer",
    "private",
    "currency",
    "sale_status",
    "rate",
]


def _csv(rows: list[list[str]], header: list[str] = HEADER) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _rejects(path: Path) -> dict[int, list[tuple[str, str]]]:
    target = path.parent / (path.name + ".rejects.csv")
    if not target.exists():
        return {}
    out: dict[int, list[tuple[str, str]]] = {}
    with target.open(encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(int(row["line"]), []).append((row["column"], row["reason"]))
    return out


def test_the_new_columns_load(tmp_path):
    path = write(
        tmp_path,
        "products.csv",
        _csv(
            [
                [
                    "WM1",
                    "稳盈理财",
                    "WEALTH",
                    "",
                    "R2",
                    "R3",
                    "某理财公司",
                    "N",
                    "CNY",
                    "NEW_ISSUE",
                    "2.4",
                ],
                ["PV1", "私募专享", "WEALTH", "", "", "R4", "", "Y", "USD", "CLOSING", ""],
                ["DEM", "活期", "DEMAND", "", "", "", "", "", "", "", "0.2"],
            ]
        ),
    )
    result = ingest_file(path)
    assert (result.ok, result.loaded, result.rejected) == (True, 3, 0)
    wm = Product.objects.get(code="WM1")
    assert (wm.issuer_risk_level, wm.seller_risk_level, wm.risk_level) == ("R2", "R3", "R3")
    assert (wm.issuer, wm.private, wm.currency, wm.sale_status) == (
        "某理财公司",
        False,
        "CNY",
        "NEW_ISSUE",
    )
    pv = Product.objects.get(code="PV1")
    assert (pv.risk_level, pv.private, pv.currency, pv.sale_status) == (
        "R4",
        True,
        "USD",
        "CLOSING",
    )
    dem = Product.objects.get(code="DEM")
    assert (dem.currency, dem.sale_status, dem.private) == ("CNY", "ON_SALE", False)


def test_one_rating_later_keeps_the_other(tmp_path):
    write(
        tmp_path,
        "products_1.csv",
        _csv([["WM1", "稳盈", "WEALTH", "", "R2", "R3", "", "", "", "", ""]]),
    )
    assert ingest_file(tmp_path / "products_1.csv").ok
    # The issuer re-rates to R4: the bank's R3 stays, R4 applies.
    write(
        tmp_path,
        "products_2.csv",
        _csv([["WM1", "稳盈", "WEALTH", "", "R4", "", "", "", "", "", ""]]),
    )
    result = ingest_file(tmp_path / "products_2.csv")
    assert (result.updated, result.rejected) == (1, 0)
    wm = Product.objects.get(code="WM1")
    assert (wm.issuer_risk_level, wm.seller_risk_level, wm.risk_level) == ("R4", "R3", "R4")


@pytest.mark.parametrize(
    ("row", "column"),
    [
        (["F1", "基金", "FUND", "", "", "", "", "", "", "", ""], "risk_level"),  # rated, no rating
        (
            ["F1", "基金", "FUND", "R2", "R3", "", "", "", "", "", ""],
            "risk_level",
        ),  # not the higher
        (["F1", "基金", "FUND", "", "R6", "", "", "", "", "", ""], "issuer_risk_level"),
        (["F1", "基金", "FUND", "", "", "R3", "", "maybe", "", "", ""], "private"),
        (["F1", "基金", "FUND", "", "", "R3", "", "", "RMB", "", ""], "currency"),
        (["F1", "基金", "FUND", "", "", "R3", "", "", "", "SOLD_OUT", ""], "sale_status"),
        (["F1", "基金", "FUND", "", "", "R3", "x" * 201, "", "", "", ""], "issuer"),
    ],
)
def test_bad_values_are_rejected_by_column(tmp_path, row, column):
    path = write(tmp_path, "products.csv", _csv([row]))
    result = ingest_file(path)
    assert (result.ok, result.loaded, result.rejected) == (True, 0, 1)
    assert column in {c for c, _reason in _rejects(path)[2]}


def test_rates_are_kept_once(tmp_path):
    first = _csv([["WM1", "稳盈", "WEALTH", "", "", "R2", "", "", "", "", "2.4000"]])
    path = write(tmp_path, "products.csv", first)
    assert ingest_file(path).ok
    rate = ProductRate.objects.get()
    assert (rate.rate, rate.source, rate.effective) == (
        Decimal("2.4"),
        "LOAD",
        timezone.localdate(),
    )
    # The same file again (and the same rate written differently): nothing new.
    assert ingest_file(path).unchanged == 1
    write(
        tmp_path,
        "products_b.csv",
        _csv([["WM1", "稳盈", "WEALTH", "", "", "R2", "", "", "", "", "2.4"]]),
    )
    assert ingest_file(tmp_path / "products_b.csv").ok
    assert ProductRate.objects.count() == 1
    # No rate given: nothing recorded, the rate stays.
    write(
        tmp_path,
        "products_c.csv",
        _csv([["WM1", "稳盈", "WEALTH", "", "", "R2", "", "", "", "", ""]]),
    )
    assert ingest_file(tmp_path / "products_c.csv").ok
    assert ProductRate.objects.count() == 1
    # A changed rate: one row, once.
    write(
        tmp_path,
        "products_d.csv",
        _csv([["WM1", "稳盈", "WEALTH", "", "", "R2", "", "", "", "", "2.55"]]),
    )
    assert ingest_file(tmp_path / "products_d.csv").updated == 1
    assert ingest_file(tmp_path / "products_d.csv").unchanged == 1
    assert list(ProductRate.objects.order_by("id").values_list("rate", flat=True)) == [
        Decimal("2.4"),
        Decimal("2.55"),
    ]
    assert Product.objects.get(code="WM1").rate == Decimal("2.55")


NASTY = st.sampled_from(
    ["", " ", "R0", "r3", "R5", "Y", "y", "N", "yes", "CNY", "usd", "XXX", "ON_SALE", "closed",
     "-1", "1e5", "1.00005", "NaN", "\u202e", "张三", "\t", '"', ",", "\n", "9" * 40]
)  # fmt: skip
HYPO = hsettings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
GOOD = ["P{n}", "产品", "WEALTH", "", "R2", "R3", "发行人", "N", "CNY", "ON_SALE", "2.5"]


@HYPO
@given(
    cells=st.lists(st.lists(st.tuples(st.integers(0, 10), NASTY), max_size=3), max_size=6),
    data=st.data(),
)
def test_hostile_products(db, tmp_path_factory, cells, data) -> None:
    folder = tmp_path_factory.mktemp("prod")
    rows = []
    for i, mutations in enumerate(cells):
        row = [c.format(n=i) for c in GOOD]
        for col, value in mutations:
            row[col] = value
        rows.append(row)
    path = write(folder, "products_h.csv", _csv(rows))
    products, rates = Product.objects.count(), ProductRate.objects.count()
    result = ingest_file(path)
    if not result.ok:
        assert result.message
        assert (Product.objects.count(), ProductRate.objects.count()) == (products, rates)
        return
    rejected = _rejects(path)
    assert all(reason for reasons in rejected.values() for _c, reason in reasons)
    assert result.loaded + result.updated + result.unchanged + len(rejected) == result.rows
    assert Product.objects.count() == products + result.loaded
    # Every product loaded obeys the shelf's rules: the higher rating applies, a rate is recorded.
    for p in Product.objects.all():
        if p.issuer_risk_level or p.seller_risk_level:
            ranks = [x for x in (p.issuer_risk_level, p.seller_risk_level) if x]
            assert p.risk_level == max(ranks)
        if p.rate is not None:
            assert p.rates.order_by("-effective", "-id").first().rate == p.rate
    # Loading it again changes nothing.
    kept = ProductRate.objects.count()
    again = ingest_file(path)
    assert again.loaded == 0 and again.updated == 0
    assert ProductRate.objects.count() == kept
