"""The demo bank's performance targets (the ``targets`` extract, loaded through ingest like a real
bank's; docs/data-interface.md, "targets"; docs/reports.md, "Targets").

Each outlet has a target for the year of the as-of date; each CM (and team lead and outlet head
who owns customers) one for the last whole month, the as-of month and their quarters. The values follow the books
as they are, so the scorecards read like a bank's: AUM a few per cent above the book, deposits 90 % of it
(some CMs' targets set higher than others), loans 80 % of the book, fee income 0.04 % of
the book a month, two new customers and forty contacts a month, coverage 80 %, retention 95 %,
two products per customer, satisfaction (CSAT) 85 %. Synthetic, seeded.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from qiao.core import vocab

from . import pools
from .base import Span, stream
from .people import Staff

OWNER_ROLES = frozenset(vocab.ROLES.having("owner"))


def _quarter(d: date) -> str:
    return f"{d.year:04d}-Q{(d.month - 1) // 3 + 1}"


def targets_table(
    seed: int,
    span: Span,
    staff: Staff,
    ownership: pa.Table,
    customer_no: pa.Array,
    customer_outlet: np.ndarray,
    aum_cents: np.ndarray,
) -> pa.Table:
    rng = stream(seed, "targets")
    as_of = span.as_of
    last = as_of.replace(day=1) - timedelta(days=1)  # the last whole month (the page's default)
    periods = [(f"{d.year:04d}-{d.month:02d}", 1) for d in (last, as_of)]
    periods += [(q, 3) for q in dict.fromkeys((_quarter(last), _quarter(as_of)))]
    index = {no: i for i, no in enumerate(customer_no.to_pylist())}
    book = np.zeros(len(staff.staff_no))
    staff_index = {no: i for i, no in enumerate(staff.staff_no)}
    own = ownership.to_pydict()
    ends = own.get("end_date", [None] * len(own["customer_no"]))
    for c, s, role, end in zip(own["customer_no"], own["staff_no"], own["role"], ends, strict=True):
        if role == "PRIMARY" and not end and s in staff_index:
            book[staff_index[s]] += aum_cents[index[c]] / 100
    rows: list[tuple[str, str, str, str, str]] = []

    def add(kind: str, code: str, period: str, measure: str, value: float, places: int) -> None:
        rows.append((kind, code, period, measure, f"{value:.{places}f}"))

    for i, no in enumerate(staff.staff_no):
        if staff.role[i] not in OWNER_ROLES or staff.outlet[i] < 0 or staff.leave_d[i] >= 0:
            continue
        stretch = 1.0 + float(rng.uniform(0.0, 0.12))
        b = float(book[i])
        for period, months in periods:
            add("STAFF", no, period, "aum_avg", b * stretch, 2)
            add("STAFF", no, period, "deposits", b * 0.9 * stretch, 2)
            add("STAFF", no, period, "loans", b * 0.8, 2)
            add("STAFF", no, period, "fee_income", b * 0.0004 * months, 2)
            add("STAFF", no, period, "new_customers", 2 * months, 0)
            add("STAFF", no, period, "contacts", 40 * months, 0)
            add("STAFF", no, period, "coverage", 0.8, 2)
            add("STAFF", no, period, "retention", 0.95, 2)
            add("STAFF", no, period, "products_per_customer", 2.0, 2)
            add("STAFF", no, period, "satisfaction", 0.85, 2)
    year = f"{as_of.year:04d}"
    for k, outlet in enumerate(pools.OUTLETS):
        total = float(aum_cents[customer_outlet == k].sum()) / 100
        n = int((customer_outlet == k).sum())
        add("UNIT", outlet[0], year, "aum_avg", total * 1.08, 2)
        add("UNIT", outlet[0], year, "deposits", total * 0.7, 2)
        add("UNIT", outlet[0], year, "fee_income", total * 0.0048, 2)
        add("UNIT", outlet[0], year, "new_customers", max(round(n * 0.05), 1), 0)
        add("UNIT", outlet[0], year, "coverage", 0.8, 2)
    names = ("subject_type", "subject_code", "period", "measure", "value")
    return pa.table(
        {name: pa.array([r[i] for r in rows], pa.string()) for i, name in enumerate(names)}
    )
