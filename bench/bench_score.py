"""Benchmark of the nightly scoring: a synthetic lake, then the scoring pipeline end to end.

By default the pipeline runs in partitions of 250,000 customers
(``qiao.analytics.partitioned.run_scoring_partitioned``, decision 0010) with DuckDB limited to
1 GB (it spills beyond); ``--partitions 0`` runs the whole bank at once (``run_scoring``, the
pipeline before issue 18), the baseline. The lake is generated in a child process, so the peak
memory reported (``peak_rss_mb``, this process's maximum resident set) is the scoring's alone;
``seconds_per_100k_customers`` is the total over the customers. Target (issue 18): peak flat
within 25 % and at most 4 GB from 250,000 to 4,000,000 customers, time no faster than linear.

Usage::

    python bench/bench_score.py                      # 1,000,000 customers, 20,000,000 transactions
    python bench/bench_score.py --customers 4000000  # 4 M customers, 80 M transactions, partitioned
    python bench/bench_score.py --customers 250000 --partitions 0   # the whole-bank baseline
    python bench/bench_score.py --engine spark --spark-driver-memory 1g --customers 1000000
    python bench/bench_score.py --quick              # 50,000 customers, 1,000,000 transactions
    python bench/bench_score.py --lake /path/lake    # reuse (or first create) a lake there
    python bench/bench_score.py --customers 200000 --transactions 4000000 --engine duckdb
    python bench/bench_score.py --suggest --lake /tmp/lake1m   # with and without suggestions
    python bench/bench_score.py --database-inputs --lake /tmp/lake1m  # + snapshot, assessments

The lake is generated directly with numpy/pyarrow (no Python loops over rows) and laid out as in
``docs/data-interface.md``: 24 months of transactions and balances partitioned by month, a few
duplicated rows under a later ``load_id`` (so the latest-load rule is exercised), and the reference
snapshots. The result is printed as JSON: sizes, generation time, total and per-step seconds, and the
diagnostics summary. Target: ≤ 5 minutes for 1 M customers / 20 M transactions on two cores.

``--suggest`` runs ``run_scoring`` on the same lake twice in one process: without the product
shelf (as above), then with a synthetic shelf of 40 products (every category and level, some
private, some closed) and synthetic assessments (C1-C5, some expired, 15 % missing), passed as
``qiao.scoring.services.score_run`` passes them; it prints both totals, the ``suggest`` step's
own seconds and the difference. Target (issue 14): suggestions add ≤ 30 s at 1 M customers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from qiao.analytics.lake import connect, write_ref_table  # noqa: E402

AS_OF = dt.date(2026, 10, 31)
MONTHS = 24
EPOCH = dt.date(1970, 1, 1)
MONEY = pa.decimal128(18, 2)

# code, category, risk, motives, weight among the non-first accounts
PRODUCTS: list[tuple[str, str, str | None, str | None, float]] = [
    ("DEM01", "DEMAND", None, None, 0.10),
    ("TD03M", "TIME", None, "ACCUMULATE", 0.08),
    ("TD01Y", "TIME", None, "ACCUMULATE", 0.10),
    ("TD03Y", "TIME", None, "ACCUMULATE", 0.05),
    ("WM-QY", "WEALTH", "R2", "APPRECIATE", 0.08),
    ("WM-HD", "WEALTH", "R3", "APPRECIATE", 0.05),
    ("FD-BOND", "FUND", "R2", "ACCUMULATE|APPRECIATE", 0.04),
    ("FD-MIX", "FUND", "R3", "APPRECIATE", 0.04),
    ("FD-EQ", "FUND", "R4", "APPRECIATE", 0.04),
    ("FD-EQ5", "FUND", "R5", "APPRECIATE", 0.01),
    ("BD-T3", "BOND", "R1", "ACCUMULATE", 0.04),
    ("INS-L", "INSURANCE", "R2", "ACCUMULATE", 0.04),
    ("PM-AU", "PRECIOUS_METAL", "R3", "APPRECIATE", 0.02),
    ("LN-MTG", "LOAN", None, "LOAN", 0.06),
    ("LN-CON", "LOAN", None, "LOAN", 0.05),
    ("CC-STD", "CARD", None, None, 0.12),
    ("ST-CASH", "SETTLEMENT", None, "LOAN", 0.08),
]
CHANNELS = np.array(
    ["COUNTER", "ATM", "ONLINE", "MOBILE", "PHONE", "WECHAT", "POS", "CORP_ONLINE", "BANK_LINK"]
)
CHANNEL_P = np.array([0.18, 0.10, 0.12, 0.38, 0.02, 0.08, 0.10, 0.01, 0.01])
TXN_TYPES = np.array(
    [
        "DEPOSIT",
        "WITHDRAWAL",
        "TRANSFER",
        "PAYMENT",
        "BILL_PAY",
        "TOPUP",
        "SALARY",
        "INTEREST",
        "FEE",
        "PURCHASE",
        "REDEMPTION",
        "LOAN_DRAWDOWN",
        "LOAN_REPAYMENT",
        "OTHER",
    ]
)
TXN_TYPE_P = np.array(
    [0.08, 0.08, 0.22, 0.22, 0.06, 0.05, 0.05, 0.04, 0.02, 0.05, 0.04, 0.01, 0.04, 0.04]
)
CREDIT_TYPES = {"DEPOSIT", "SALARY", "INTEREST", "REDEMPTION", "LOAN_DRAWDOWN"}


def _days(d: dt.date) -> int:
    return (d - EPOCH).days


def _codes(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pa.array(numbers.astype(np.int64)).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def _dates(day_numbers: np.ndarray) -> pa.Array:
    return pa.array(day_numbers.astype(np.int32), pa.int32()).cast(pa.date32())


def _money_cents(cents: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """decimal(18,2) from integer cents, built from the 128-bit buffer (no per-row objects)."""
    c = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty((len(c), 2), dtype=np.int64)
    words[:, 0] = c
    words[:, 1] = np.where(c < 0, -1, 0)
    validity = None
    null_count = 0
    if mask is not None:
        validity = pa.array(~np.asarray(mask, dtype=bool)).buffers()[1]
        null_count = int(np.asarray(mask).sum())
    return pa.Array.from_buffers(
        MONEY, len(c), [validity, pa.py_buffer(words.tobytes())], null_count=null_count
    )


def generate_lake(lake: Path, n_customers: int, n_txns: int, *, seed: int = 7) -> dict[str, int]:
    """Write a synthetic lake of ``n_customers`` and ``n_txns`` transactions; return row counts."""
    rng = np.random.default_rng(seed)
    lake.mkdir(parents=True, exist_ok=True)
    lake_start = _days(_add_months(AS_OF.replace(day=1), -(MONTHS - 1)))
    as_of = _days(AS_OF)

    # ---- customers ----
    n = n_customers
    corporate = rng.random(n) < 0.08
    cust_no = pc.if_else(
        pa.array(corporate), _codes("C", np.arange(n), 8), _codes("P", np.arange(n), 8)
    )
    birth = as_of - rng.integers(20 * 365, 80 * 365, n)
    cust_open = as_of - np.minimum(rng.exponential(6 * 365, n).astype(np.int64) + 30, 25 * 365)
    wealth = rng.lognormal(mean=10.5, sigma=1.6, size=n)  # yuan, median ≈ 36k
    wealth[corporate] *= 8
    customers = pa.table(
        {
            "customer_no": cust_no,
            "customer_type": pa.array(np.where(corporate, "C", "P")),
            "birth_date": pa.array(_dates(birth), mask=corporate),
            "gender": pa.array(np.where(rng.random(n) < 0.5, "M", "F")),
            "occupation": pa.array(
                rng.choice(["教师", "医生", "工程师", "个体", "公务员", "退休"], n)
            ),
            "industry": pa.array(rng.choice(["教育", "制造业", "批发零售", "金融", "建筑"], n)),
            "branch_code": _codes("O", rng.integers(0, 200, n), 4),
            "open_date": _dates(cust_open),
            "size_class": pa.array(np.where(corporate, "SMALL", None)),
            "blacklisted": pa.array(rng.random(n) < 0.002),
        }
    )
    write_ref_table(lake, "customers", customers)

    # ---- products ----
    codes = [p[0] for p in PRODUCTS]
    products = pa.table(
        {
            "product_code": codes,
            "name": codes,
            "category": [p[1] for p in PRODUCTS],
            "risk_level": [p[2] for p in PRODUCTS],
            "motives": [p[3] for p in PRODUCTS],
            "term_days": pa.array([None] * len(codes), pa.int64()),
            "rate": pa.array([None] * len(codes), pa.float64()),
        }
    )
    write_ref_table(lake, "products", products)
    weights = np.array([p[4] for p in PRODUCTS])
    weights = weights / weights.sum()

    # ---- accounts: the first one is a demand account ----
    per_cust = 1 + rng.poisson(1.5, n)
    n_acc = int(per_cust.sum())
    owner = np.repeat(np.arange(n), per_cust)
    offsets = np.concatenate([[0], np.cumsum(per_cust)[:-1]])
    first_acc = np.zeros(n_acc, dtype=bool)
    first_acc[offsets] = True
    # Customer styles make holdings co-occur the way they do in a bank (savers hold time deposits
    # and bonds, investors wealth products and funds, borrowers loans and settlement), so the
    # association rules have something to find.
    style = rng.choice(4, n, p=[0.35, 0.25, 0.15, 0.25])
    boost = {
        0: {"TIME", "BOND", "INSURANCE"},
        1: {"WEALTH", "FUND", "PRECIOUS_METAL"},
        2: {"LOAN", "SETTLEMENT", "CARD"},
        3: set(),
    }
    prod_idx = np.zeros(n_acc, dtype=np.int64)
    acc_style = style[owner]
    for st, cats in boost.items():
        w = weights * np.array([4.0 if p[1] in cats else 1.0 for p in PRODUCTS])
        mask = acc_style == st
        prod_idx[mask] = rng.choice(len(PRODUCTS), int(mask.sum()), p=w / w.sum())
    prod_idx[first_acc] = 0
    acc_open = cust_open[owner] + (rng.random(n_acc) * (as_of - cust_open[owner])).astype(np.int64)
    acc_open[first_acc] = cust_open[owner[first_acc]]
    closed = (rng.random(n_acc) < 0.04) & ~first_acc
    acc_close = np.where(
        closed, acc_open + ((as_of - acc_open) * rng.random(n_acc)).astype(np.int64) + 1, 0
    )
    dormant = (rng.random(n_acc) < 0.03) & ~closed
    status = np.where(closed, "CLOSED", np.where(dormant, "DORMANT", "ACTIVE"))
    acc_no = _codes("A", np.arange(n_acc), 9)
    # Time deposits, wealth products and bonds mature within 0-400 days (about 7 % of them within
    # the next 30 days: money coming free for the next-best products).
    term_cats = np.array([p[1] in ("TIME", "WEALTH", "BOND") for p in PRODUCTS])
    matures = term_cats[prod_idx] & ~closed
    maturity = as_of + rng.integers(0, 400, n_acc)
    share = rng.dirichlet(np.ones(3), n_acc)[:, 0] + 0.05
    level = wealth[owner] * share
    accounts = pa.table(
        {
            "account_no": acc_no,
            "customer_no": pc.take(cust_no, pa.array(owner)),
            "product_code": pc.take(pa.array(codes), pa.array(prod_idx)),
            "open_date": _dates(acc_open),
            "maturity_date": pa.array(maturity.astype(np.int32), mask=~matures).cast(pa.date32()),
            "close_date": pa.array(acc_close.astype(np.int32), mask=~closed).cast(pa.date32()),
            "status": pa.array(status),
            "balance": _money_cents(np.round(level * 100).astype(np.int64)),
        }
    )
    write_ref_table(lake, "accounts", accounts)

    # ---- balances: an opening row and Poisson(6) changes over the 24 months ----
    n_changes = rng.poisson(6, n_acc)
    rows_per_acc = 1 + n_changes
    b_acc = np.repeat(np.arange(n_acc), rows_per_acc)
    is_first = np.zeros(len(b_acc), dtype=bool)
    is_first[np.concatenate([[0], np.cumsum(rows_per_acc)[:-1]])] = True
    open_b = np.maximum(acc_open[b_acc], lake_start - 400)
    b_day = np.where(
        is_first,
        open_b,
        np.maximum(
            open_b,
            lake_start + (rng.random(len(b_acc)) * (as_of - lake_start + 1)).astype(np.int64),
        ),
    )
    b_day = np.minimum(b_day, as_of)
    b_bal = level[b_acc] * rng.lognormal(0.0, 0.35, len(b_acc))
    b_bal[rng.random(len(b_acc)) < 0.02] = 0.0
    # unique (account, day): keep the first draw of duplicates
    key = b_acc.astype(np.int64) * 100_000 + b_day
    _, keep = np.unique(key, return_index=True)
    keep.sort()
    b_acc, b_day, b_bal = b_acc[keep], b_day[keep], b_bal[keep]
    bal_cents = np.round(b_bal * 100).astype(np.int64)
    n_bal = _write_months(
        lake,
        "balances",
        b_day,
        lambda idx, load: pa.table(
            {
                "account_no": pc.take(acc_no, pa.array(b_acc[idx])),
                "customer_no": pc.take(cust_no, pa.array(owner[b_acc[idx]])),
                "balance_date": _dates(b_day[idx]),
                "balance": _money_cents(bal_cents[idx] + (load - 1) * 100),
                "load_id": pa.array(np.full(len(idx), load, dtype=np.int64)),
            }
        ),
        rng,
    )

    # ---- transactions ----
    activity = rng.lognormal(0.0, 1.0, n) * np.where(corporate, 4.0, 1.0)
    cum = np.cumsum(activity)
    cum /= cum[-1]
    t_cust = np.searchsorted(cum, rng.random(n_txns)).clip(0, n - 1)
    t_acc = offsets[t_cust] + (rng.random(n_txns) * per_cust[t_cust]).astype(np.int64)
    t_day = lake_start + (rng.random(n_txns) * (as_of - lake_start + 1)).astype(np.int64)
    t_sec = t_day.astype(np.int64) * 86400 - 8 * 3600 + rng.integers(8 * 3600, 20 * 3600, n_txns)
    t_type = rng.choice(len(TXN_TYPES), n_txns, p=TXN_TYPE_P)
    t_amount = np.round(rng.lognormal(7.0, 1.5, n_txns), 2) + 0.01
    t_channel = rng.choice(len(CHANNELS), n_txns, p=CHANNEL_P)
    credit = np.isin(TXN_TYPES[t_type], list(CREDIT_TYPES))
    credit |= (TXN_TYPES[t_type] == "TRANSFER") & (rng.random(n_txns) < 0.5)
    trade = np.isin(TXN_TYPES[t_type], ["PURCHASE", "REDEMPTION"])
    redemption = TXN_TYPES[t_type] == "REDEMPTION"
    gain_cents = np.round(t_amount * rng.normal(0.02, 0.08, n_txns) * 100).astype(np.int64)
    amount_cents = np.round(t_amount * 100).astype(np.int64)
    order = np.argsort(t_day, kind="stable")
    t_cust, t_acc, t_day, t_sec, t_type = (
        t_cust[order],
        t_acc[order],
        t_day[order],
        t_sec[order],
        t_type[order],
    )
    amount_cents, t_channel, credit = amount_cents[order], t_channel[order], credit[order]
    trade, redemption, gain_cents = trade[order], redemption[order], gain_cents[order]
    txn_ids = np.arange(n_txns)
    type_names = pa.array(TXN_TYPES)
    chan_names = pa.array(CHANNELS)

    def txn_table(idx: np.ndarray, load: int) -> pa.Table:
        return pa.table(
            {
                "txn_id": _codes("T", txn_ids[idx], 10),
                "account_no": pc.take(acc_no, pa.array(t_acc[idx])),
                "customer_no": pc.take(cust_no, pa.array(t_cust[idx])),
                "txn_time": pa.array(t_sec[idx] * 1_000_000, pa.int64()).cast(
                    pa.timestamp("us", tz="UTC")
                ),
                "amount": _money_cents(amount_cents[idx] + (load - 1) * 100),
                "direction": pa.array(np.where(credit[idx], "C", "D")),
                "channel": pc.take(chan_names, pa.array(t_channel[idx])),
                "txn_type": pc.take(type_names, pa.array(t_type[idx])),
                "product_code": pa.array(
                    pc.take(pa.array(codes), pa.array(prod_idx[t_acc[idx]])).to_numpy(
                        zero_copy_only=False
                    ),
                    mask=~trade[idx],
                ),
                "gain": _money_cents(gain_cents[idx], mask=~redemption[idx]),
                "cash": pa.array(np.where(t_channel[idx] == 0, "Y", "N")),
                "load_id": pa.array(np.full(len(idx), load, dtype=np.int64)),
            }
        )

    n_txn_rows = _write_months(lake, "transactions", t_day, txn_table, rng)

    # ---- e-banking, payroll, contacts ----
    has_eb = rng.random(n) < 0.6
    eb_n = np.where(has_eb, rng.integers(1, 4, n), 0)
    eb_c = np.repeat(np.arange(n), eb_n)
    svc = np.array(["ONLINE", "MOBILE", "PHONE", "WECHAT"])
    within = np.concatenate([np.arange(k) for k in eb_n]) if len(eb_c) else np.zeros(0, np.int64)
    eb_open = np.maximum(cust_open[eb_c], as_of - rng.integers(30, 3000, len(eb_c)))
    activated = rng.random(len(eb_c)) < 0.7
    write_ref_table(
        lake,
        "ebanking",
        pa.table(
            {
                "customer_no": pc.take(cust_no, pa.array(eb_c)),
                "service": pa.array(svc[(within + eb_c) % 4]),
                "opened_date": _dates(eb_open),
                "activated_date": pa.array((eb_open + 3).astype(np.int32), mask=~activated).cast(
                    pa.date32()
                ),
            }
        ),
    )
    pay = np.flatnonzero((rng.random(n) < 0.2) & ~corporate)
    write_ref_table(
        lake,
        "payroll",
        pa.table(
            {
                "customer_no": pc.take(cust_no, pa.array(pay)),
                "account_no": pc.take(acc_no, pa.array(offsets[pay])),
                "relation_type": pa.array(np.full(len(pay), "PAYROLL")),
                "start_date": _dates(cust_open[pay]),
                "end_date": pa.array(
                    np.zeros(len(pay), np.int32), mask=np.ones(len(pay), bool)
                ).cast(pa.date32()),
            }
        ),
    )
    n_contacts = np.where(rng.random(n) < 0.3, rng.integers(1, 6, n), 0)
    c_c = np.repeat(np.arange(n), n_contacts)
    write_ref_table(
        lake,
        "contacts",
        pa.table(
            {
                "customer_no": pc.take(cust_no, pa.array(c_c)),
                "contact_date": _dates(as_of - rng.integers(0, 365, len(c_c))),
                "channel": pa.array(np.full(len(c_c), "PHONE")),
            }
        ),
    )
    return {
        "customers": n,
        "accounts": n_acc,
        "balance_rows": n_bal,
        "transaction_rows": n_txn_rows,
        "ebanking": len(eb_c),
        "payroll": len(pay),
        "contacts": len(c_c),
    }


def _add_months(d: dt.date, months: int) -> dt.date:
    index = d.year * 12 + d.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _write_months(
    lake: Path, kind: str, day_numbers: np.ndarray, make: Any, rng: np.random.Generator
) -> int:
    """Write rows per month partition; ~0.5 % of them again under load_id 2 (corrections)."""
    dates = (np.datetime64("1970-01-01") + day_numbers.astype("timedelta64[D]")).astype(
        "datetime64[M]"
    )
    months = np.unique(dates)
    total = 0
    for month in months:
        idx = np.flatnonzero(dates == month)
        folder = lake / kind / f"month={str(month)}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(make(idx, 1), folder / "part-000001.parquet", row_group_size=1_000_000)
        again = idx[rng.random(len(idx)) < 0.005]
        pq.write_table(make(again, 2), folder / "part-000002.parquet")
        total += len(idx) + len(again)
    return total


def synthetic_shelf(seed: int = 11) -> pd.DataFrame:
    """The product shelf as ``qiao.suitability.suggestions.shelf_frame`` gives it: the lake's
    products (rated as in the lake) and 23 more, 40 in all, over every category and level R1-R5,
    some private, some not selling (closed), with motives and minimum amounts."""
    rng = np.random.default_rng(seed)
    rows = [
        {
            "product_code": code,
            "category": cat,
            "risk_level": risk or "",
            "private": False,
            "sale_status": "ON_SALE",
            "motives": motives or "",
            "min_amount": float(rng.choice([0, 1000, 10000, 50000])),
        }
        for code, cat, risk, motives, _ in PRODUCTS
    ]
    rated = ("WEALTH", "FUND", "BOND", "INSURANCE", "PRECIOUS_METAL")
    extra = [*rated, *rated, *rated, "TIME", "TIME", "DEMAND", "LOAN", "LOAN", "CARD", "SETTLEMENT"]
    for i, cat in enumerate(extra[:23]):
        is_rated = cat in rated
        rows.append(
            {
                "product_code": f"NEW{i:02d}",
                "category": cat,
                "risk_level": f"R{i % 5 + 1}" if is_rated else "",
                "private": bool(is_rated and i % 6 == 0),  # 3 private products
                "sale_status": ["NEW_ISSUE", "ON_SALE", "ON_SALE", "CLOSING", "CLOSED"][i % 5],
                "motives": ["ACCUMULATE", "APPRECIATE", "ACCUMULATE|APPRECIATE", "LOAN", ""][i % 5],
                "min_amount": float(
                    1_000_000 if i % 6 == 0 else rng.choice([0, 1000, 10000, 50000, 100000])
                ),
            }
        )
    return pd.DataFrame(rows)


def synthetic_assessments(lake: Path, seed: int = 12) -> pd.DataFrame:
    """Each customer's latest assessment as ``assessments_frame`` gives it (``customer_no,
    tolerance, valid_until, qualified_investor``; ``valid_until`` Python dates, as Django returns
    them): 15 % of customers have none, C1-C5 for the others, about 12 % of those expired, 2 %
    qualified investors."""
    rng = np.random.default_rng(seed)
    nos = pq.read_table(lake / "ref" / "customers.parquet", columns=["customer_no"])
    customer_no = nos.column("customer_no").to_numpy(zero_copy_only=False)
    have = np.flatnonzero(rng.random(len(customer_no)) >= 0.15)
    k = len(have)
    until = np.datetime64(AS_OF.isoformat()) + rng.integers(-45, 320, k).astype("timedelta64[D]")
    return pd.DataFrame(
        {
            "customer_no": customer_no[have],
            "tolerance": np.array(["C1", "C2", "C3", "C4", "C5"], dtype=object)[
                rng.choice(5, k, p=[0.15, 0.3, 0.3, 0.15, 0.1])
            ],
            "valid_until": pd.Series(until).dt.date.to_numpy(dtype=object),
            "qualified_investor": rng.random(k) < 0.02,
        }
    )


def database_chunks(lake: Path, what: str, size: int = 100_000, seed: int = 13) -> Any:
    """What ``qiao.scoring.services`` streams out of the operational database, made up chunk by
    chunk from the lake's customers (one chunk in memory at a time, as from the server-side
    cursor): ``previous``, a last snapshot of every customer (``customer_no, attrition_prob,
    tier_pyramid``), or ``assessments`` as :func:`synthetic_assessments` draws them."""
    rng = np.random.default_rng(seed)
    tiers = np.array(["ORDINARY", "GOLD", "PLATINUM", "DIAMOND"], dtype=object)
    source = pq.ParquetFile(lake / "ref" / "customers.parquet")
    for batch in source.iter_batches(batch_size=size, columns=["customer_no"]):
        nos = batch.column(0).to_numpy(zero_copy_only=False)
        n = len(nos)
        if what == "previous":
            yield pd.DataFrame(
                {
                    "customer_no": nos,
                    "attrition_prob": rng.beta(1, 12, n),
                    "tier_pyramid": tiers[rng.choice(4, n, p=[0.7, 0.2, 0.08, 0.02])],
                }
            )
            continue
        have = np.flatnonzero(rng.random(n) >= 0.15)
        k = len(have)
        until = np.datetime64(AS_OF.isoformat()) + rng.integers(-45, 320, k).astype(
            "timedelta64[D]"
        )
        yield pd.DataFrame(
            {
                "customer_no": nos[have],
                "tolerance": np.array(["C1", "C2", "C3", "C4", "C5"], dtype=object)[
                    rng.choice(5, k, p=[0.15, 0.3, 0.3, 0.15, 0.1])
                ],
                "valid_until": pd.Series(until).dt.date.to_numpy(dtype=object),
                "qualified_investor": rng.random(k) < 0.02,
            }
        )


def _score_once(
    engine: str,
    threads: int | None,
    lake: Path,
    shelf: pd.DataFrame | None,
    assessments: pd.DataFrame | None,
) -> tuple[dict[str, Any], Any]:
    """One ``run_scoring`` on a fresh connection; the seconds and the result."""
    from qiao.analytics.scoring import run_scoring

    con = connect(engine, threads=threads)
    out: dict[str, Any] = {"load_average_before": [round(x, 2) for x in os.getloadavg()]}
    t0 = time.perf_counter()
    c0 = time.process_time()
    result = run_scoring(
        con=con, lake=lake, as_of=AS_OF, shelf=shelf, assessments=assessments, progress=None
    )
    out["total_seconds"] = round(time.perf_counter() - t0, 1)
    out["cpu_seconds_total"] = round(time.process_time() - c0, 1)
    out["step_seconds"] = result.diagnostics.get("seconds", {})
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    con.disconnect()
    return out, result


def bench_suggest(args: argparse.Namespace, lake: Path, report: dict[str, Any]) -> None:
    """``run_scoring`` twice on the same lake: without the shelf, then with the synthetic shelf
    and assessments (as ``qiao.scoring.services.score_run`` passes them)."""
    shelf = synthetic_shelf()
    assessments = synthetic_assessments(lake)
    without, _ = _score_once(args.engine, args.threads, lake, None, None)
    with_shelf, result = _score_once(args.engine, args.threads, lake, shelf, assessments)
    suggest_s = float(with_shelf["step_seconds"].get("suggest", float("nan")))
    diag = result.diagnostics.get("suggest", {})
    report["shelf"] = {
        "products": len(shelf),
        "selling": int(shelf["sale_status"].ne("CLOSED").sum()),
        "private": int(shelf["private"].sum()),
    }
    report["assessments"] = {
        "rows": len(assessments),
        "expired": int((pd.to_datetime(assessments["valid_until"]) < pd.Timestamp(AS_OF)).sum()),
    }
    report["without_shelf"] = without
    report["with_shelf"] = with_shelf
    report["suggest_seconds"] = suggest_s
    report["difference_seconds"] = round(with_shelf["total_seconds"] - without["total_seconds"], 1)
    report["suggest_diagnostics"] = {
        k: diag[k]
        for k in ("customers", "products", "suggestions", "suggested_customers", "held_back")
        if k in diag
    }
    report["suggest_diagnostics"]["reasons"] = diag.get("reasons", {})
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def tile_lake(source: Path, target: Path, copies: int) -> dict[str, Any]:
    """A lake ``copies`` times as large: every file of ``source`` written ``copies`` times, the
    customer, account and transaction numbers of copy k ≥ 1 suffixed ``-k`` (the same bank's
    customers again, under new numbers). One file in memory at a time, so a 4 M-customer lake
    is made from the 1 M one without the generator's memory (which grows with the lake)."""
    started = time.perf_counter()
    keys = ("customer_no", "account_no", "txn_id")
    rows: dict[str, int] = {}
    for path in sorted(source.rglob("*.parquet")):
        rel = path.relative_to(source)
        table = pq.read_table(path, partitioning=None)
        copies_of: list[pa.Table] = []
        for k in range(copies):
            t = table
            if k:
                for name in keys:
                    if name in t.column_names:
                        col = pc.binary_join_element_wise(t[name], pa.scalar(f"-{k}"), "")
                        t = t.set_column(t.column_names.index(name), name, col)
            copies_of.append(t)
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if rel.parts[0] == "ref" and rel.name != "products.parquet":
            pq.write_table(pa.concat_tables(copies_of), out)
        elif rel.parts[0] == "ref":
            pq.write_table(table, out)
        else:  # a month folder: one file per copy
            for k, t in enumerate(copies_of):
                pq.write_table(t, out.with_name(f"{out.stem}-{k}.parquet"))
        kind = rel.parts[0] if rel.parts[0] != "ref" else rel.stem
        n = table.num_rows if rel.name == "products.parquet" else table.num_rows * copies
        rows[kind] = rows.get(kind, 0) + n
    return {"rows": rows, "seconds": round(time.perf_counter() - started, 1)}


def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _generate_apart(lake: Path, customers: int, transactions: int) -> dict[str, Any]:
    """Generate the lake in a child process, so its memory is not counted in the scoring's peak."""
    import subprocess

    code = (
        f"import json, sys, time; sys.path.insert(0, {str(Path(__file__).parent)!r}); from pathlib import Path; "
        "import bench_score as b; t = time.perf_counter(); "
        f"rows = b.generate_lake(Path({str(lake)!r}), {customers}, {transactions}); "
        "print(json.dumps({'rows': rows, 'seconds': round(time.perf_counter() - t, 1)}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument(
        "--transactions",
        type=int,
        default=None,
        help="default: 20 per customer (20,000,000 for 1,000,000 customers)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="50,000 customers, 1,000,000 transactions"
    )
    parser.add_argument("--lake", type=Path, help="lake folder (generated there when empty)")
    parser.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument(
        "--partitions",
        type=int,
        default=None,
        metavar="SIZE",
        help="customers per partition (run_scoring_partitioned; default: scoring.toml's "
        "[partitions] size); 0: the whole bank at once (run_scoring, the pipeline before "
        "issue 18: the baseline)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="DuckDB: worker processes scoring partitions at once (default: scoring.toml's "
        "[partitions] workers; 1: one after another in this process)",
    )
    parser.add_argument(
        "--memory-limit",
        default="1GB",
        help="DuckDB's memory limit in the partitioned run (it spills to disk beyond)",
    )
    parser.add_argument(
        "--no-adequacy",
        action="store_true",
        help="skip the second sample's fit (the adequacy check): the fit step's time halves",
    )
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--spark-driver-memory", default="1g")
    parser.add_argument("--work", type=Path, default=None, help="the partitions' working folder")
    parser.add_argument(
        "--database-inputs",
        action="store_true",
        help="partitioned run with what the operational database gives score_run: a last "
        "snapshot of every customer and assessments, streamed in chunks of 100,000 "
        "(database_chunks), and the synthetic shelf (the next-best products)",
    )
    parser.add_argument(
        "--tile-from",
        type=Path,
        default=None,
        metavar="LAKE",
        help="make the lake (when missing) by copying LAKE k times under new numbers, "
        "k = --customers / LAKE's customers (tile_lake)",
    )
    parser.add_argument(
        "--suggest",
        action="store_true",
        help="run_scoring twice on the lake: without the shelf, then with a synthetic shelf "
        "(40 products) and assessments; print both totals, the suggest step and the difference",
    )
    args = parser.parse_args(argv)
    if args.partitions is None:
        from qiao.analytics.scoring import load_scoring_config

        args.partitions = int(load_scoring_config(None)["partitions"]["size"])
    if args.quick:
        args.customers, args.transactions = 50_000, 1_000_000
    if args.transactions is None:
        args.transactions = 20 * args.customers
    lake: Path = args.lake or Path(f"/tmp/qiao-bench-lake-{args.customers}-{args.transactions}")
    report: dict[str, Any] = {
        "customers": args.customers,
        "transactions": args.transactions,
        "engine": args.engine,
        "lake": str(lake),
        "as_of": AS_OF.isoformat(),
        "cpus": os.cpu_count(),
        "load_average_before": _load_average(),
    }
    if args.tile_from and not (lake / "ref" / "customers.parquet").exists():
        base = pq.read_metadata(args.tile_from / "ref" / "customers.parquet").num_rows
        report["tiled"] = tile_lake(args.tile_from, lake, max(1, round(args.customers / base)))
        report["tiled"]["from"] = str(args.tile_from)
    if args.regenerate or not (lake / "ref" / "customers.parquet").exists():
        generated = _generate_apart(lake, args.customers, args.transactions)
        report["rows"] = generated["rows"]
        report["generate_seconds"] = generated["seconds"]

    if args.suggest:
        bench_suggest(args, lake, report)
        report["load_average_after"] = _load_average()
        print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
        return 0

    if args.partitions > 0:
        bench_partitioned(args, lake, report)
        print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
        return 0

    from qiao.analytics.scoring import run_scoring

    report["pipeline"] = "run_scoring (the whole bank at once)"
    con = connect(args.engine, threads=args.threads)
    steps: list[tuple[str, float, float]] = []
    t0 = time.perf_counter()
    c0 = time.process_time()
    result = run_scoring(
        con=con,
        lake=lake,
        as_of=AS_OF,
        progress=lambda step, fraction: steps.append((step, fraction, time.perf_counter() - t0)),
    )
    report["total_seconds"] = round(time.perf_counter() - t0, 1)
    diag = result.diagnostics
    report["step_seconds"] = diag.get("seconds", {})
    report["step_cpu_seconds"] = diag.get("cpu_seconds", {})
    report["cpu_seconds_total"] = round(time.process_time() - c0, 1)
    report["seconds_per_100k_customers"] = round(
        report["total_seconds"] / args.customers * 100_000, 2
    )
    report["rows_out"] = {
        "scores": len(result.scores),
        "tier_history": len(result.tier_history),
        "events": len(result.events),
    }
    report["load_average_after"] = _load_average()
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    report["diagnostics"] = {
        k: diag[k]
        for k in ("counts", "pareto", "riskstyle", "attrition", "assoc", "clv", "warnings")
        if k in diag
    }
    print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    con.disconnect()
    return 0


class TreeMemory:
    """The largest resident memory of this process and all its descendants *together* (the
    scoring's pool of worker processes, Spark's JVM), sampled every 0.2 s from /proc while in a
    ``with`` block: ``getrusage`` gives one process's peak, never a sum."""

    def __init__(self, interval: float = 0.2) -> None:
        import threading

        self.interval = interval
        self.peak = 0
        #: (seconds since start, this process's RSS, the tree's RSS), each sample
        self.samples: list[tuple[float, int, int]] = []
        self._t0 = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        me = os.getpid()
        while not self._stop.wait(self.interval):
            parents: dict[int, int] = {}
            rss: dict[int, int] = {}
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry}/stat", "rb") as f:
                        stat = f.read()
                    with open(f"/proc/{entry}/statm", "rb") as f:
                        pages = int(f.read().split()[1])
                except OSError:  # gone meanwhile
                    continue
                # the command may hold spaces and parentheses: the fields follow the last ")"
                parents[int(entry)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
                rss[int(entry)] = pages * page
            tree, frontier = {me}, [me]
            while frontier:
                parent = frontier.pop()
                kids = [p for p, pp in parents.items() if pp == parent and p not in tree]
                tree.update(kids)
                frontier.extend(kids)
            total = sum(rss.get(p, 0) for p in tree)
            self.peak = max(self.peak, total)
            self.samples.append((time.perf_counter() - self._t0, rss.get(me, 0), total))

    def by_step(self, starts: list[tuple[str, float]]) -> dict[str, dict[str, int]]:
        """The peaks (MB) of this process and of the tree within each step, given the steps'
        start times (seconds since the sampler started)."""
        out: dict[str, dict[str, int]] = {}
        bounds = [*starts, ("", float("inf"))]
        for (name, start), (_, end) in zip(bounds, bounds[1:], strict=False):
            inside = [(d, t) for at, d, t in self.samples if start <= at < end]
            if inside:
                out[name] = {
                    "driver_mb": round(max(d for d, _ in inside) / 2**20),
                    "tree_mb": round(max(t for _, t in inside) / 2**20),
                }
        return out


def bench_partitioned(args: argparse.Namespace, lake: Path, report: dict[str, Any]) -> None:
    """``run_scoring_partitioned`` end to end: the staging, the two passes over the partitions,
    the fits on the sample; the peak memory of this process (and of Spark's JVM, a child)."""
    import shutil
    import tempfile

    from qiao.analytics.partitioned import run_scoring_partitioned

    report["pipeline"] = f"run_scoring_partitioned (partitions of {args.partitions:,})"
    report["adequacy"] = not args.no_adequacy
    if args.engine == "spark":
        con = connect(
            "spark",
            spark_master=args.spark_master,
            spark_driver_memory=args.spark_driver_memory,
        )
        report["spark"] = {"master": args.spark_master, "driver_memory": args.spark_driver_memory}
    else:
        con = connect("duckdb", threads=args.threads, memory_limit=args.memory_limit)
        report["duckdb_memory_limit"] = args.memory_limit
    work = args.work or Path(tempfile.mkdtemp(prefix="qiao-bench-work-"))
    inputs: dict[str, Any] = {}
    if args.database_inputs:
        inputs = {
            "previous": database_chunks(lake, "previous"),
            "assessments": database_chunks(lake, "assessments"),
            "shelf": synthetic_shelf(),
        }
        report["database_inputs"] = "previous + assessments in chunks of 100,000, shelf of 40"
    partitions: dict[str, Any] = {"size": args.partitions, "adequacy": not args.no_adequacy}
    if args.workers is not None:
        partitions["workers"] = args.workers
    sampler = TreeMemory()
    starts: list[tuple[str, float]] = []

    def progress(step: str, fraction: float) -> None:
        starts.append((step, time.perf_counter() - sampler._t0))

    t0 = time.perf_counter()
    c0 = time.process_time()
    with sampler:
        result = run_scoring_partitioned(
            con=con,
            lake=lake,
            as_of=AS_OF,
            config={"partitions": partitions},
            work=work,
            progress=progress,
            **inputs,
        )
    report["total_seconds"] = round(time.perf_counter() - t0, 1)
    report["cpu_seconds_total"] = round(time.process_time() - c0, 1)
    # this process and its children (the pool's workers, Spark's JVM) together, sampled
    report["peak_rss_tree_mb"] = round(sampler.peak / 2**20)
    report["peak_by_step"] = sampler.by_step(starts)
    report["seconds_per_100k_customers"] = round(
        report["total_seconds"] / args.customers * 100_000, 2
    )
    diag = result.diagnostics
    report["step_seconds"] = diag.get("seconds", {})
    report["step_cpu_seconds"] = diag.get("cpu_seconds", {})
    report["partitions"] = diag.get("partitions", {})
    report["rows_out"] = {
        "scores": diag["counts"].get("scores"),
        "tier_history": diag["counts"].get("tier_history"),
        "events": sum(diag["counts"].get("events", {}).values()),
    }
    if args.database_inputs:
        report["rows_out"]["suggestions"] = diag.get("suggest", {}).get("suggestions")
        report["rows_out"]["tier_changes_vs_previous"] = diag.get("tier_changes_vs_previous")
    report["load_average_after"] = _load_average()
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    report["peak_rss_children_mb"] = round(
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    )
    report["diagnostics"] = {
        k: diag[k]
        for k in ("counts", "pareto", "riskstyle", "attrition", "assoc", "clv", "warnings")
        if k in diag
    }
    con.disconnect()
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
