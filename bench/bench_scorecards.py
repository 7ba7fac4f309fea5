"""Benchmark of the CM scorecards (issue 17, Speed: all scorecards of 500 CMs ≤ 30 s).

Usage::

    python bench/bench_scorecards.py                         # 1,000,000 customers, 500 CMs
    python bench/bench_scorecards.py --customers 100000      # while developing
    python bench/bench_scorecards.py --lake /path/lake       # reuse (or first create) a lake

The lake is bench/bench_score.py's synthetic lake (24 months of balances and transactions, the
reference snapshots, contacts). Every customer is given to one of ``--cms`` CMs (40 outlets) with
a pyramid tier. Timed, ``--repeat`` times each, medians reported:

* ``qiao``: :func:`qiao.analytics.scorecard.staff_actuals` (one Ibis/DuckDB plan for every CM)
  then :func:`~qiao.analytics.scorecard.score_cards` (score, ranks), for the month of the as-of
  date with a six-month trend — what ``/performance/`` computes;
* ``baseline``: the obvious pandas program: read the lake's balances, accounts, products, fees and
  contacts into pandas once, then loop over the CMs and compute each one's AUM and deposits (daily
  averages over the month, balances carried forward), fee income and contacts from their own rows.
  The baseline computes four measures (not the trend); it is run on ``--baseline-cms`` CMs and its
  time scaled to all of them (said in the output) when that is fewer than ``--cms``.

The two agree on those four measures for every CM the baseline computed (``max_abs_diff``).
Printed as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from bench_score import AS_OF, generate_lake  # noqa: E402

from qiao.analytics.lake import connect  # noqa: E402
from qiao.analytics.scorecard import (  # noqa: E402
    Period,
    load_config,
    score_cards,
    staff_actuals,
)
from qiao.core import vocab  # noqa: E402
from qiao.core.lake import lake_files  # noqa: E402

TIERS = list(vocab.PYRAMID_TIERS.codes[:4])  # 钻石, 白金, 金, 普通
TIER_SHARE = [0.01, 0.04, 0.15, 0.80]
CADENCE = TIERS[:3]  # the tiers with a contact cadence


def make_book(lake: Path, cms: int, seed: int = 5) -> pa.Table:
    nos = pq.read_table(lake / "ref" / "customers.parquet", columns=["customer_no"])["customer_no"]
    rng = np.random.default_rng(seed)
    n = len(nos)
    staff = rng.integers(0, cms, n)
    tier = rng.choice(len(TIERS), n, p=TIER_SHARE)
    return pa.table(
        {
            "customer_no": nos,
            "staff_no": pa.array([f"S{i:04d}" for i in staff]),
            "tier": pa.array([TIERS[t] for t in tier]),
        }
    )


def run_qiao(lake: Path, book: pa.Table, period: Period, as_of: dt.date) -> tuple[float, pa.Table]:
    started = time.perf_counter()
    con = connect("duckdb")
    try:
        table = staff_actuals(
            con, lake, book=book, period=period, as_of=as_of, cadence_tiers=CADENCE
        )
    finally:
        con.disconnect()
    config = load_config()
    rows = table.to_pylist()
    for r in rows:
        r["unit"] = f"O{int(r['staff_no'][1:]) % 40:02d}"
    targets = {(r["staff_no"], "aum_avg"): max(r["aum_avg"], 1.0) * 1.05 for r in rows}
    score_cards(rows, targets, config)
    return time.perf_counter() - started, table


def run_baseline(
    lake: Path, book: pa.Table, period: Period, as_of: dt.date, cms: list[str]
) -> tuple[float, dict[str, dict[str, float]]]:
    """The per-CM pandas loop (see the module's docstring)."""
    started = time.perf_counter()
    files = [str(f) for f in lake_files(lake, "balances", None)]
    bal = pd.concat(
        [
            pd.read_parquet(f, columns=["account_no", "balance_date", "balance", "load_id"])
            for f in files
        ]
    )
    bal = bal[pd.to_datetime(bal.balance_date) <= pd.Timestamp(as_of)]
    bal = bal.sort_values("load_id").drop_duplicates(["account_no", "balance_date"], keep="last")
    acc = pd.read_parquet(
        lake / "ref" / "accounts.parquet",
        columns=["account_no", "customer_no", "product_code", "close_date"],
    )
    prod = pd.read_parquet(lake / "ref" / "products.parquet", columns=["product_code", "category"])
    acc = acc.merge(prod, on="product_code", how="left")
    aum_cats = set(vocab.CATEGORIES.having("aum"))
    dep_cats = set(vocab.CATEGORIES.having("deposit"))
    months = [m for m in (f"{period.start:%Y-%m}",)]
    tfiles = []
    for f in lake_files(lake, "transactions", None):
        if any(
            f"month={m}" in str(f)
            for m in months
            + [
                f"{(period.start - dt.timedelta(days=1)):%Y-%m}",
                f"{(period.end + dt.timedelta(days=1)):%Y-%m}",
            ]
        ):
            tfiles.append(str(f))
    txn = pd.concat(
        [
            pd.read_parquet(
                f, columns=["txn_id", "customer_no", "txn_time", "amount", "txn_type", "load_id"]
            )
            for f in tfiles
        ]
    )
    txn = txn.sort_values("load_id").drop_duplicates("txn_id", keep="last")
    local = pd.to_datetime(txn.txn_time).dt.tz_convert("Asia/Shanghai").dt.date
    txn = txn[(txn.txn_type == "FEE") & (local >= period.start) & (local <= min(as_of, period.end))]
    contacts = pd.read_parquet(lake / "ref" / "contacts.parquet")
    cdate = pd.to_datetime(contacts.contact_date).dt.date
    contacts = contacts[(cdate >= period.start) & (cdate <= min(as_of, period.end))]
    bk = book.to_pandas()
    start = pd.Timestamp(period.start)
    end = pd.Timestamp(min(as_of, period.end)) + pd.Timedelta(days=1)
    days = (end - start).days
    out: dict[str, dict[str, float]] = {}
    for cm in cms:
        custs = set(bk.customer_no[bk.staff_no == cm])
        a = acc[acc.customer_no.isin(custs)]
        b = bal[bal.account_no.isin(set(a.account_no))].copy()
        closes = a[a.close_date.notna()][["account_no", "close_date"]].rename(
            columns={"close_date": "balance_date"}
        )
        closes = closes[pd.to_datetime(closes.balance_date) <= pd.Timestamp(as_of)]
        closes["balance"] = 0
        closes["closing"] = 1
        b["closing"] = 0
        b = pd.concat([b[["account_no", "balance_date", "balance", "closing"]], closes])
        b["d"] = pd.to_datetime(b.balance_date)
        b = b.sort_values(["account_no", "d", "closing"])
        b["next"] = b.groupby("account_no").d.shift(-1).fillna(end)
        lo = b.d.clip(lower=start)
        hi = b.next.clip(upper=end)
        overlap = (hi - lo).dt.days.clip(lower=0)
        b["cd"] = b.balance.astype(float) * overlap
        b = b.merge(a[["account_no", "category"]], on="account_no")
        aum = b.cd[b.category.isin(aum_cats)].sum() / days
        dep = b.cd[b.category.isin(dep_cats)].sum() / days
        fee = float(txn.amount[txn.customer_no.isin(custs)].astype(float).sum())
        ctc = int(contacts.customer_no.isin(custs).sum())
        out[cm] = {
            "aum_avg": round(aum, 2),
            "deposits": round(dep, 2),
            "fee_income": round(fee, 2),
            "contacts": ctc,
        }
    return time.perf_counter() - started, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--transactions", type=int, default=None, help="default: 20 per customer")
    parser.add_argument("--cms", type=int, default=500)
    parser.add_argument("--baseline-cms", type=int, default=None, help="default: all the CMs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-repeat", type=int, default=None, help="default: --repeat")
    parser.add_argument("--lake", type=Path)
    args = parser.parse_args(argv)
    n_txn = args.transactions or 20 * args.customers
    lake = args.lake or Path(f"/tmp/qiao-bench-scorecards-{args.customers}-{n_txn}")
    report: dict[str, Any] = {
        "customers": args.customers,
        "transactions": n_txn,
        "cms": args.cms,
        "lake": str(lake),
        "as_of": AS_OF.isoformat(),
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    if not (lake / "ref" / "customers.parquet").exists():
        t = time.perf_counter()
        report["generated"] = generate_lake(lake, args.customers, n_txn)
        report["generate_seconds"] = round(time.perf_counter() - t, 1)
    book = make_book(lake, args.cms)
    period = Period.of(AS_OF, "MONTH")
    qiao_times = []
    table = None
    for _ in range(args.repeat):
        seconds, table = run_qiao(lake, book, period, AS_OF)
        qiao_times.append(seconds)
    assert table is not None
    cms = sorted(table.column("staff_no").to_pylist())
    sample = cms if not args.baseline_cms else cms[: args.baseline_cms]
    base_times = []
    base: dict[str, dict[str, float]] = {}
    for _ in range(args.baseline_repeat or args.repeat):
        seconds, base = run_baseline(lake, book, period, AS_OF, sample)
        base_times.append(seconds)
    ours = {r["staff_no"]: r for r in table.to_pylist()}
    diff = max(
        abs(float(ours[cm][k]) - float(v)) for cm, row in base.items() for k, v in row.items()
    )
    base_median = statistics.median(base_times)
    scale = len(cms) / len(sample)
    report.update(
        {
            "period": period.key,
            "qiao_seconds": [round(x, 2) for x in qiao_times],
            "qiao_median_seconds": round(statistics.median(qiao_times), 2),
            "baseline": "pandas, a loop over the CMs (AUM, deposits, fee income, contacts)",
            "baseline_cms": len(sample),
            "baseline_seconds": [round(x, 2) for x in base_times],
            "baseline_median_seconds": round(base_median, 2),
            "baseline_median_seconds_all_cms": round(base_median * scale, 2),
            "baseline_scaled": scale != 1,
            "ratio_baseline_over_qiao": round(
                base_median * scale / statistics.median(qiao_times), 1
            ),
            "max_abs_diff": round(diff, 4),
            "target_seconds": 30,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        }
    )
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
