"""Speed of the reports over the lake and of the Excel writer (issue 17, Speed).

(a) the ``growth`` report's figures (:func:`qiao.analytics.growth.growth_by_group`: customers,
    AUM and contribution by month, tier and outlet over 25 months) on ``bench/bench_score.py``'s
    synthetic lake — target ≤ 10 s at 1 M customers / 20 M transactions — cold (computed from
    the lake, the first report after a load) and warm (the per-customer monthly figures kept
    between loads, every later report); the churn figures (:func:`monthly_aum` +
    :func:`churn_by_group` + :func:`cohort_retention`, warm) beside it, and every other lake
    report whose analytics function is found (``ebanking``);
(b) a 100,000-row workbook by :func:`qiao.core.xlsx.report_workbook` against
    ``pandas.DataFrame.to_excel`` with the xlsxwriter and the openpyxl engines, same data, same
    run — target ≤ 15 s.

Medians of ``--runs`` runs; the machine's load average before and after is in the JSON (other
people share the CPU). The lake is generated once and cached in /tmp.

    python bench/bench_reports.py [--customers 100000] [--runs 3] [--xlsx-rows 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qiao.settings")
os.environ.setdefault("QIAO_HOME", tempfile.mkdtemp(prefix="qiao-bench-reports-"))

import bench_score  # noqa: E402
import django  # noqa: E402

django.setup()

from qiao.analytics.churn import churn_by_group, cohort_retention  # noqa: E402
from qiao.analytics.growth import growth_by_group, monthly_aum, scope_table  # noqa: E402
from qiao.analytics.lake import connect  # noqa: E402
from qiao.core.reports import Column, Report, Table  # noqa: E402
from qiao.core.xlsx import report_workbook  # noqa: E402

TIERS = ("DIAMOND", "PLATINUM", "GOLD", "ORDINARY", "RESTRICTED")


def timed_runs(fn: Callable[[], Any], runs: int) -> dict[str, Any]:
    wall, cpu = [], []
    result: Any = None
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {
        "median_seconds": round(statistics.median(wall), 2),
        "runs_seconds": [round(w, 2) for w in wall],
        "median_cpu_seconds": round(statistics.median(cpu), 2),
        "_result": result,
    }


def bench_lake(lake: Path, runs: int, cold_runs: int, threads: int | None) -> dict[str, Any]:
    nos = pq.read_table(lake / "ref" / "customers.parquet", columns=["customer_no"])
    customer_nos = nos["customer_no"].to_pylist()
    rng = np.random.default_rng(5)
    tiers = rng.choice(TIERS, size=len(customer_nos), p=[0.01, 0.04, 0.15, 0.6, 0.2]).tolist()
    scope = scope_table(customer_nos, tiers)
    out: dict[str, Any] = {}
    con = connect(threads=threads)
    cache = Path(tempfile.mkdtemp(prefix="qiao-bench-reports-cache-"))
    try:
        # Cold: every figure computed from the lake (the first report after a load).
        g = timed_runs(lambda: growth_by_group(con, lake, bench_score.AS_OF, scope), cold_runs)
        rows = g.pop("_result")
        g["rows_out"] = len(rows)
        last = rows[rows["month"] == rows["month"].max()]
        g["customers_last_month"] = int(last["customers"].sum())
        g["aum_last_month"] = round(float(last["aum"].sum()), 2)
        out["growth_cold"] = g
        # Warm: the per-customer monthly figures kept between loads (what every later report
        # until the next load reads); the first run fills the cache and is timed apart.
        fill = timed_runs(
            lambda: growth_by_group(con, lake, bench_score.AS_OF, scope, cache_dir=cache), 1
        )
        fill.pop("_result")
        out["growth_cache_fill"] = fill
        w = timed_runs(
            lambda: growth_by_group(con, lake, bench_score.AS_OF, scope, cache_dir=cache), runs
        )
        warm_rows = w.pop("_result")
        w["same_as_cold"] = bool(
            np.allclose(
                warm_rows.sort_values(["month", "grp", "branch_code"])["aum"].to_numpy(),
                rows.sort_values(["month", "grp", "branch_code"])["aum"].to_numpy(),
            )
        )
        out["growth_warm"] = w

        def churn() -> int:
            data = monthly_aum(con, lake, bench_score.AS_OF, scope, cache_dir=cache)
            by = churn_by_group(data.aum, data.grp, data.months)
            cohort_retention(data.aum, data.open_month, data.months)
            return int(by["lost"].sum())

        c = timed_runs(churn, runs)
        c["lost_in_window"] = c.pop("_result")
        out["churn_warm"] = c
        out.update(bench_other_lake_reports(con, lake, runs))
    finally:
        con.disconnect()
    return out


def bench_other_lake_reports(con: Any, lake: Path, runs: int) -> dict[str, Any]:
    """Any other report whose figures come from a ``qiao.analytics`` module exposing
    ``<name>_analysis(con, lake, as_of=…)`` (the e-banking analysis, helper E's), whole bank."""
    out: dict[str, Any] = {}
    for name in ("ebanking",):
        try:
            module = importlib.import_module(f"qiao.analytics.{name}")
        except ImportError:
            out[name] = "not present"
            continue
        fn = getattr(module, f"{name}_analysis", None) or getattr(module, "report_frames", None)
        if fn is None:
            out[name] = f"present, but no {name}_analysis(con, lake, as_of=) to time"
            continue
        result = timed_runs(lambda fn=fn: fn(con, lake, as_of=bench_score.AS_OF), runs)
        result.pop("_result")
        out[name] = result
    return out


def synthetic_report(rows: int) -> tuple[Report, pd.DataFrame]:
    """A table of ``rows`` customers-like rows: text, counts, yuan, 万元, shares, dates."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "customer": [f"客户{i:07d}" for i in range(rows)],
            "outlet": rng.choice(["解放路网点", "人民路网点", "=cmd|' /C calc'!A0"], rows),
            "tier": rng.choice(["钻石", "白金", "金", "普通"], rows),
            "accounts": rng.integers(1, 9, rows),
            "aum": np.round(rng.lognormal(11, 1.2, rows), 2),
            "aum_wan": np.round(rng.lognormal(11, 1.2, rows), 2),
            "contribution": np.round(rng.normal(800, 400, rows), 2),
            "share": rng.random(rows),
            "opened": pd.Timestamp("2015-01-01")
            + pd.to_timedelta(rng.integers(0, 4000, rows), unit="D"),
            "products": rng.integers(0, 6, rows),
        }
    )
    kinds = {
        "accounts": "int",
        "aum": "money",
        "aum_wan": "wan",
        "contribution": "money",
        "share": "pct",
        "opened": "date",
        "products": "int",
    }
    columns = [Column(c, c, kinds.get(c, "text")) for c in frame.columns]  # type: ignore[arg-type]
    records = frame.assign(opened=frame["opened"].dt.date).to_dict("records")
    report = Report("bench", "bench", [Table("rows", "Rows", columns, records)])
    return report, frame


def bench_xlsx(rows: int, runs: int) -> dict[str, Any]:
    report, frame = synthetic_report(rows)
    folder = Path(tempfile.mkdtemp(prefix="qiao-bench-xlsx-"))
    out: dict[str, Any] = {"rows": rows, "columns": len(frame.columns)}
    ours = timed_runs(lambda: report_workbook(report, str(folder / "ours.xlsx")), runs)
    ours.pop("_result")
    ours["bytes"] = (folder / "ours.xlsx").stat().st_size
    out["qiao_report_workbook"] = ours
    for engine in ("xlsxwriter", "openpyxl"):
        try:
            importlib.import_module(engine)
        except ImportError:
            out[f"pandas_to_excel_{engine}"] = "engine not installed"
            continue
        target = folder / f"pandas-{engine}.xlsx"
        base = timed_runs(lambda e=engine, t=target: frame.to_excel(t, index=False, engine=e), runs)
        base.pop("_result")
        base["bytes"] = target.stat().st_size
        out[f"pandas_to_excel_{engine}"] = base
        out[f"ratio_ours_over_pandas_{engine}"] = round(
            ours["median_seconds"] / max(base["median_seconds"], 1e-9), 2
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--transactions", type=int, help="default 20 per customer")
    parser.add_argument("--lake", type=Path, help="lake folder (generated there when empty)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold-runs", type=int, default=3, help="runs without the cache")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--skip-lake", action="store_true")
    parser.add_argument("--skip-xlsx", action="store_true")
    args = parser.parse_args(argv)
    txns = args.transactions or 20 * args.customers
    lake: Path = args.lake or Path(f"/tmp/qiao-bench-lake-{args.customers}-{txns}")
    report: dict[str, Any] = {
        "customers": args.customers,
        "transactions": txns,
        "lake": str(lake),
        "as_of": bench_score.AS_OF.isoformat(),
        "cpus": os.cpu_count(),
        "threads": args.threads,
        "runs": args.runs,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    if not args.skip_lake:
        if not (lake / "ref" / "customers.parquet").exists():
            t0 = time.perf_counter()
            report["lake_rows"] = bench_score.generate_lake(lake, args.customers, txns)
            report["generate_seconds"] = round(time.perf_counter() - t0, 1)
        report.update(bench_lake(lake, args.runs, args.cold_runs, args.threads))
        report["growth_target_seconds"] = 10
        report["load_average_after_lake"] = [round(x, 2) for x in os.getloadavg()]
    if not args.skip_xlsx:
        report["xlsx"] = bench_xlsx(args.xlsx_rows, args.runs)
        report["xlsx_target_seconds"] = 15
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
