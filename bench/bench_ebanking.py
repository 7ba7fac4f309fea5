"""The e-banking analysis (issue 17, Speed: ≤ 10 s at 1 M customers / 20 M transactions).

Times :func:`qiao.analytics.ebanking.ebanking_analysis` for the whole bank (every part, R1–R8 and
the substitution rate, 12 months of transactions) on ``bench/bench_score.py``'s synthetic lake,
side by side with the named baseline **"pandas"**: pyarrow reads the same Parquet files and
columns and pandas computes the transaction part (newest load per ``txn_id`` by sort +
drop_duplicates, the substitution rate by month and by outlet, payments by method, e-channel
types, breadth per customer) — the part that is most of the work. The monthly substitution
counts of both must agree.

bench_score's lake has no ``pay_method`` and no opening source; the first run adds them (a
deterministic hash of the id picks a method for e-channel payments, a card for POS payments, and
SELF for three sign-ups in four) and corporate online banking for 8 % of the companies, and
leaves a marker so later runs reuse the lake.

    python bench/bench_ebanking.py [--customers 1000000] [--runs 3] [--threads N] [--lake DIR]

Prints one JSON document: sizes, per run the wall and CPU seconds of ours and of the baseline,
the medians, the ratio, the load averages before and after. Exit 1 if the results differ.
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

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import bench_score  # noqa: E402

from qiao.analytics.ebanking import (  # noqa: E402
    BANK_INITIATED,
    COUNTER,
    ELECTRONIC,
    Scope,
    ebanking_analysis,
    load_config,
)
from qiao.analytics.lake import connect, write_ref_table  # noqa: E402
from qiao.core.lake import lake_files  # noqa: E402

AS_OF = bench_score.AS_OF
MARKER = "_ebanking_columns_added"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def add_columns(lake: Path) -> None:
    """pay_method on every transaction file, source and corporate services on the e-banking
    snapshot (once; a marker file records it)."""
    if (lake / MARKER).exists():
        return
    con = duckdb.connect()
    e = ", ".join(_lit(c) for c in ELECTRONIC)
    for f in lake_files(lake, "transactions"):
        tmp = f.with_name("_" + f.name)
        con.execute(
            f"""COPY (SELECT * EXCLUDE (pay_method), CASE
                    WHEN channel = 'POS' AND txn_type = 'PAYMENT' THEN 'CARD'
                    WHEN channel IN ({e}) AND txn_type IN ('PAYMENT', 'BILL_PAY', 'TOPUP') THEN
                      CASE WHEN hash(txn_id) % 100 < 60 THEN 'THIRD_PARTY'
                           WHEN hash(txn_id) % 100 < 80 THEN 'QUICK_PAY' ELSE 'EBANK' END
                    END AS pay_method
                FROM (SELECT *, NULL::VARCHAR AS pay_method FROM read_parquet({_lit(str(f))})))
                TO {_lit(str(tmp))} (FORMAT parquet, ROW_GROUP_SIZE 1000000)"""  # noqa: S608
        )
        os.replace(tmp, f)
    eb = pq.read_table(lake / "ref" / "ebanking.parquet")
    n = eb.num_rows
    rng = np.random.default_rng(3)
    src = np.where(rng.random(n) < 0.75, "SELF", "RECOMMENDED")
    eb = eb.append_column("source", pa.array(src))
    cust = pq.read_table(
        lake / "ref" / "customers.parquet", columns=["customer_no", "customer_type"]
    )
    corp = cust.filter(pc.equal(cust["customer_type"], "C"))["customer_no"]
    pick = corp.take(pa.array(np.flatnonzero(rng.random(len(corp)) < 0.08)))
    k = len(pick)
    extra = pa.table(
        {
            "customer_no": pick,
            "service": pa.array(
                np.where(rng.random(k) < 0.72, "CORP_ONLINE_PRO", "CORP_ONLINE_QUERY")
            ),
            "opened_date": pa.array(
                [AS_OF - dt.timedelta(days=int(d)) for d in rng.integers(30, 2000, k)], pa.date32()
            ),
            "activated_date": pa.array([AS_OF - dt.timedelta(days=20)] * k, pa.date32()),
            "source": pa.array(np.where(rng.random(k) < 0.5, "SELF", "RECOMMENDED")),
        }
    )
    write_ref_table(lake, "ebanking", pa.concat_tables([eb, extra.select(eb.column_names)]))
    (lake / MARKER).write_text("pay_method, source, corporate services\n")


def ours(lake: Path, threads: int | None) -> dict[str, Any]:
    con = connect("duckdb", threads=threads)
    try:
        r = ebanking_analysis(con, lake, as_of=AS_OF, scope=Scope(), config=load_config())
    finally:
        con.disconnect()
    return {"months": r.substitution_months, "payroll_list_total": r.payroll_list_total}


def baseline(lake: Path, months: list[str]) -> dict[str, Any]:
    """pandas: the transaction part from the same files and columns."""
    cols = ["txn_id", "customer_no", "channel", "txn_type", "amount", "pay_method", "load_id"]
    frames = []
    for m in months:
        for f in lake_files(lake, "transactions", [m]):
            t = pq.read_table(f, columns=cols).to_pandas()
            t["month"] = m
            frames.append(t)
    t = pd.concat(frames, ignore_index=True)
    t = t.sort_values("load_id").drop_duplicates("txn_id", keep="last")
    t = t[~t["txn_type"].isin(BANK_INITIATED)]
    t["amount"] = t["amount"].astype("float64")
    side = np.select(
        [t["channel"].isin(ELECTRONIC), t["channel"] == "ATM", t["channel"].isin(COUNTER)],
        ["e", "atm", "counter"],
        "other",
    )
    t["side"] = side
    sub = t[t["side"] != "other"]
    by_month = sub.pivot_table(index="month", columns="side", values="amount", aggfunc="count")
    cust = pq.read_table(
        lake / "ref" / "customers.parquet", columns=["customer_no", "branch_code"]
    ).to_pandas()
    per = sub.groupby(["customer_no", "side"]).size().unstack(fill_value=0).reset_index()
    by_outlet = per.merge(cust, on="customer_no").groupby("branch_code").sum(numeric_only=True)
    paying = t[t["pay_method"].notna()]
    methods = paying.groupby("pay_method")["amount"].agg(["count", "sum"])
    ech = t[t["side"] == "e"]
    types = ech.groupby(["channel", "txn_type"])["amount"].agg(["count", "sum"])
    breadth = ech.groupby("customer_no")["txn_type"].nunique().clip(upper=4).value_counts()
    mbreadth = paying.groupby("customer_no")["pay_method"].nunique().clip(upper=4).value_counts()
    return {
        "months": by_month.fillna(0).astype("int64"),
        "outlets": len(by_outlet),
        "methods": len(methods),
        "types": len(types),
        "breadth": int(breadth.sum() + mbreadth.sum()),
    }


def timed(fn: Any) -> tuple[float, float, Any]:
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--lake", type=Path)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    n, t = args.customers, args.customers * 20
    lake = args.lake or Path(f"/tmp/qiao-bench-lake-{n}-{t}")
    report: dict[str, Any] = {
        "customers": n,
        "transactions": t,
        "lake": str(lake),
        "as_of": AS_OF.isoformat(),
        "cpus": os.cpu_count(),
        "threads": args.threads,
        "target_seconds": 10,
        "baseline": "pandas: the transaction part (newest load, substitution by month and outlet, "
        "payment methods, e-channel types, breadth) from the same Parquet files",
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    if not (lake / "ref" / "customers.parquet").exists():
        w0 = time.perf_counter()
        report["rows"] = bench_score.generate_lake(lake, n, t)
        report["generate_seconds"] = round(time.perf_counter() - w0, 1)
    add_columns(lake)
    months = [
        f"{(AS_OF.year * 12 + AS_OF.month - 1 - k) // 12:04d}-{(AS_OF.year * 12 + AS_OF.month - 1 - k) % 12 + 1:02d}"
        for k in range(11, -1, -1)
    ]
    runs: list[dict[str, float]] = []
    agree = True
    for _ in range(args.runs):
        w, c, mine = timed(lambda: ours(lake, args.threads))
        run = {"ours_wall": round(w, 2), "ours_cpu": round(c, 2)}
        if not args.no_baseline:
            w, c, base = timed(lambda: baseline(lake, months))
            run.update({"baseline_wall": round(w, 2), "baseline_cpu": round(c, 2)})
            m = mine["months"].set_index("month")
            b = base["months"]
            for side in ("e", "atm", "counter"):
                if not (m[f"{side}_n"].reindex(b.index).fillna(0).astype("int64") == b[side]).all():
                    agree = False
        runs.append(run)
    report["runs"] = runs
    report["ours_median_seconds"] = statistics.median(r["ours_wall"] for r in runs)
    report["ours_median_cpu"] = statistics.median(r["ours_cpu"] for r in runs)
    if not args.no_baseline:
        report["baseline_median_seconds"] = statistics.median(r["baseline_wall"] for r in runs)
        report["baseline_median_cpu"] = statistics.median(r["baseline_cpu"] for r in runs)
        report["ratio_baseline_over_ours"] = round(
            report["baseline_median_seconds"] / report["ours_median_seconds"], 2
        )
        report["results_agree"] = agree
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
