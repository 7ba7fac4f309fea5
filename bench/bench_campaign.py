"""Campaign benchmarks (issue 15, Speed): the control split and the attribution, side by side.

(a) ``split_control`` on 1 M customer ids with five tiers (and blanks), 10 % held out, against
    the named baseline ``pandas groupby("tier").sample(frac=0.10)``: the usual one-liner, which
    draws in the order of the rows (so the same seed gives another split when the query's order
    changes) and rounds each tier's count its own way. Target: < 1 s.
(b) ``campaign_outcomes`` for a 1 M-recipient campaign (every customer of the lake) over the
    lake's 20 M transactions (a window over all its 24 months, so every partition is read)
    against the named baseline "pandas": pyarrow reads the same Parquet files and columns, pandas
    applies the same rules (window, recipients, newest load, month-end balances, asset categories,
    close dates) with sort / drop_duplicates / groupby. Both results must agree (booleans and
    counts equal, amounts to 0.01 yuan). Target: <= 60 s. A three-month window (the usual
    campaign) is timed too, ours only.
(c) ``bench_plan`` — the planning pipeline (segment -> consent -> caps -> suitability -> control
    -> outbound file, target <= 60 s at 1 M) — is a placeholder for the campaigns app (it needs
    Django and a database): ``--plan`` reports that it is not implemented yet.

Each measurement is repeated (``--runs``, default 3, ours and the baseline alternating) and the
median wall time is reported with the process CPU time next to it and the load averages (the
machine may be shared). The lake is ``bench/bench_score.py``'s synthetic lake (generated once,
or reused with ``--lake``). Prints one JSON document; exits 1 if the results differ or a target
is missed at full size.

    python bench/bench_campaign.py [--quick] [--lake /tmp/qiao-bench-lake-1000000-20000000]
                                   [--runs 3] [--threads 2] [--plan]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

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

from qiao.analytics.campaign import (  # noqa: E402
    ASSET_CATEGORIES,
    campaign_outcomes,
    month_end_on_or_before,
    split_control,
)
from qiao.core.lake import TIME_ZONE, lake_files, month_key, month_of, months_between  # noqa: E402

T = TypeVar("T")
FULL_WINDOW = (dt.date(2024, 11, 1), bench_score.AS_OF)  # the lake's 24 months
QUARTER_WINDOW = (dt.date(2026, 8, 1), bench_score.AS_OF)
PRODUCTS = ["WM-QY", "FD-BOND"]
TIERS = np.array(["DIAMOND", "PLATINUM", "GOLD", "ORDINARY", "RESTRICTED", ""], dtype=object)


def timed(fn: Callable[[], T]) -> tuple[float, float, T]:
    """Wall and CPU seconds of one call, and its result."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w0, time.process_time() - c0, out


def side_by_side(
    ours: Callable[[], Any], baseline: Callable[[], Any], runs: int, name: str
) -> tuple[dict[str, Any], Any, Any]:
    """Alternate ours and the baseline ``runs`` times; medians of wall and CPU seconds."""
    ow, oc, bw, bc = [], [], [], []
    our_out = base_out = None
    for _ in range(runs):
        w, c, our_out = timed(ours)
        ow.append(w)
        oc.append(c)
        w, c, base_out = timed(baseline)
        bw.append(w)
        bc.append(c)
    stats = {
        "baseline": name,
        "qiao_s": round(statistics.median(ow), 3),
        "baseline_s": round(statistics.median(bw), 3),
        "speedup": round(statistics.median(bw) / statistics.median(ow), 2),
        "qiao_cpu_s": round(statistics.median(oc), 3),
        "baseline_cpu_s": round(statistics.median(bc), 3),
        "qiao_runs_s": [round(v, 3) for v in ow],
        "baseline_runs_s": [round(v, 3) for v in bw],
    }
    return stats, our_out, base_out


# --------------------------------------------------------------------------- (a) the split


def bench_split(n: int, runs: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    keys = rng.choice(20 * n, n, replace=False).astype(np.int64)
    tiers = rng.choice(TIERS, n, p=[0.01, 0.04, 0.15, 0.6, 0.15, 0.05])
    frame = pd.DataFrame({"key": keys, "tier": tiers})

    def ours() -> np.ndarray:
        return split_control(keys, tiers, 0.10, seed=seed)

    def baseline() -> np.ndarray:
        held = frame.groupby("tier").sample(frac=0.10, random_state=seed).index
        out = np.zeros(n, dtype=bool)
        out[held] = True
        return out

    stats, held, base = side_by_side(ours, baseline, runs, 'pandas groupby("tier").sample')
    shuffle = rng.permutation(n)
    same_after_shuffle = bool(
        np.array_equal(split_control(keys[shuffle], tiers[shuffle], 0.10, seed=seed), held[shuffle])
    )
    return {
        "keys": n,
        "held_out": int(held.sum()),
        "baseline_held_out": int(base.sum()),
        "per_tier": {t or "(blank)": int(held[tiers == t].sum()) for t in TIERS},
        "same_split_after_shuffling_the_input": same_after_shuffle,
        "target_s": 1.0,
        **stats,
    }


# --------------------------------------------------------------------------- (b) attribution


def pandas_outcomes(
    lake: Path,
    recipients: pa.Table,
    window_start: dt.date,
    window_end: dt.date,
    product_codes: list[str],
) -> pd.DataFrame:
    """The baseline: the rules of ``campaign_outcomes`` in pyarrow + pandas."""
    tz = zoneinfo.ZoneInfo(TIME_ZONE)
    lo = pd.Timestamp(dt.datetime.combine(window_start, dt.time.min, tzinfo=tz))
    hi = pd.Timestamp(
        dt.datetime.combine(window_end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    )
    people = recipients.column("customer_no").to_pandas()
    wanted = pa.array(people.unique())
    day = dt.timedelta(days=1)
    files = lake_files(lake, "transactions", months_between(window_start - day, window_end + day))
    cols = [
        "txn_id",
        "customer_no",
        "txn_time",
        "amount",
        "direction",
        "txn_type",
        "product_code",
        "load_id",
    ]
    parts = []
    for f in files:
        t = pq.read_table(f, columns=cols)
        t = t.filter(
            pc.and_(
                pc.and_(
                    pc.greater_equal(t["txn_time"], pa.scalar(lo.to_pydatetime())),
                    pc.less(t["txn_time"], pa.scalar(hi.to_pydatetime())),
                ),
                pc.is_in(t["customer_no"], value_set=wanted),
            )
        )
        parts.append(t.set_column(3, "amount", t["amount"].cast(pa.float64())))
    txn = pa.concat_tables(parts).to_pandas()
    txn = txn.sort_values(["txn_id", "load_id"]).drop_duplicates("txn_id", keep="last")
    txn["credit"] = np.where(txn["direction"] == "C", txn["amount"], 0.0)
    txn["bought_txn"] = (txn["txn_type"] == "PURCHASE") & txn["product_code"].isin(product_codes)
    per_txn = txn.groupby("customer_no").agg(
        inflow=("credit", "sum"), txn_count=("txn_id", "size"), purchased=("bought_txn", "any")
    )
    del txn, parts

    start_me, end_me = month_end_on_or_before(window_start), month_end_on_or_before(window_end)
    bal_parts = []
    for f in lake_files(lake, "balances"):
        if month_of(f) > month_key(end_me):
            continue
        t = pq.read_table(
            f, columns=["account_no", "customer_no", "balance_date", "balance", "load_id"]
        )
        t = t.filter(
            pc.and_(
                pc.less_equal(t["balance_date"], pa.scalar(end_me)),
                pc.is_in(t["customer_no"], value_set=wanted),
            )
        )
        bal_parts.append(t.set_column(3, "balance", t["balance"].cast(pa.float64())))
    bal = pa.concat_tables(bal_parts).to_pandas()
    bal = bal.sort_values(["account_no", "balance_date", "load_id"])
    last_end = bal.groupby("account_no")["balance"].last()
    before = bal[bal["balance_date"] <= start_me]
    last_start = before.groupby("account_no")["balance"].last()
    del bal, before, bal_parts

    accounts = pq.read_table(
        lake / "ref" / "accounts.parquet",
        columns=["account_no", "customer_no", "product_code", "open_date", "close_date"],
    ).to_pandas()
    products = pq.read_table(
        lake / "ref" / "products.parquet", columns=["product_code", "category"]
    ).to_pandas()
    acc = accounts.merge(products, on="product_code")
    acc = acc[acc["category"].isin(ASSET_CATEGORIES)].set_index("account_no")
    acc["bal_start"] = last_start.reindex(acc.index)
    acc["bal_end"] = last_end.reindex(acc.index)
    has_rows = acc["bal_end"].notna()
    acc = acc[has_rows]
    closed_start = acc["close_date"].notna() & (acc["close_date"] <= start_me)
    closed_end = acc["close_date"].notna() & (acc["close_date"] <= end_me)
    acc["aum_start"] = np.where(closed_start, 0.0, acc["bal_start"].fillna(0.0))
    acc["aum_end"] = np.where(closed_end, 0.0, acc["bal_end"].fillna(0.0))
    aum = acc.groupby("customer_no")[["aum_start", "aum_end"]].sum()

    opened = accounts[
        accounts["product_code"].isin(product_codes)
        & (accounts["open_date"] >= window_start)
        & (accounts["open_date"] <= window_end)
    ]
    bought = set(opened["customer_no"])

    out = pd.DataFrame({"customer_no": people})
    out["bought"] = out["customer_no"].isin(bought)
    out = out.join(per_txn, on="customer_no").join(aum, on="customer_no")
    out["purchased"] = out["purchased"].astype("boolean").fillna(False).astype(bool)
    out["inflow"] = out["inflow"].fillna(0.0)
    out["txn_count"] = out["txn_count"].fillna(0).astype(np.int64)
    out["aum_start"] = out["aum_start"].fillna(0.0)
    out["aum_end"] = out["aum_end"].fillna(0.0)
    out["aum_change"] = out["aum_end"] - out["aum_start"]
    out["balance_up"] = out["aum_end"] > out["aum_start"]
    return out


def compare_outcomes(ours: pa.Table, base: pd.DataFrame) -> dict[str, Any]:
    """Equal booleans and counts, amounts within 0.01 yuan, same customers in the same order."""
    mine = ours.to_pandas()
    same_order = bool((mine["customer_no"].to_numpy() == base["customer_no"].to_numpy()).all())
    worst = 0.0
    differing: dict[str, int] = {}
    for col in ("bought", "purchased", "txn_count", "balance_up"):
        n_diff = int((mine[col].to_numpy() != base[col].to_numpy()).sum())
        if n_diff:
            differing[col] = n_diff
    for col in ("inflow", "aum_start", "aum_end", "aum_change"):
        diff = np.abs(mine[col].to_numpy() - base[col].to_numpy())
        worst = max(worst, float(diff.max(initial=0.0)))
    # balance_up compares two floats: a tie broken by float rounding is not a difference.
    if "balance_up" in differing:
        tie = np.abs(mine["aum_change"].to_numpy()) < 0.01
        n_diff = int(
            ((mine["balance_up"].to_numpy() != base["balance_up"].to_numpy()) & ~tie).sum()
        )
        differing.pop("balance_up")
        if n_diff:
            differing["balance_up"] = n_diff
    return {
        "rows": len(mine),
        "same_order": same_order,
        "differing_rows": differing,
        "max_amount_diff_yuan": round(worst, 6),
        "identical": same_order and not differing and worst <= 0.01,
    }


def summarise(out: pa.Table) -> dict[str, Any]:
    return {
        "recipients": out.num_rows,
        "transactions_in_window": int(pc.sum(out["txn_count"]).as_py() or 0),
        "bought": int(pc.sum(out["bought"].cast(pa.int64())).as_py() or 0),
        "purchased": int(pc.sum(out["purchased"].cast(pa.int64())).as_py() or 0),
        "balance_up": int(pc.sum(out["balance_up"].cast(pa.int64())).as_py() or 0),
        "inflow_yuan": round(float(pc.sum(out["inflow"]).as_py() or 0.0), 2),
    }


def bench_outcomes(lake: Path, runs: int, threads: int | None, baseline: bool) -> dict[str, Any]:
    recipients = pq.read_table(lake / "ref" / "customers.parquet", columns=["customer_no"])
    result: dict[str, Any] = {}
    for name, (start, end) in (("full_window", FULL_WINDOW), ("quarter_window", QUARTER_WINDOW)):

        def ours(start: dt.date = start, end: dt.date = end) -> pa.Table:
            return campaign_outcomes(
                lake,
                recipients,
                window_start=start,
                window_end=end,
                product_codes=PRODUCTS,
                threads=threads,
            )

        entry: dict[str, Any] = {"window": [start.isoformat(), end.isoformat()]}
        if name == "full_window" and baseline:

            def theirs(start: dt.date = start, end: dt.date = end) -> pd.DataFrame:
                return pandas_outcomes(lake, recipients, start, end, PRODUCTS)

            stats, out, base = side_by_side(ours, theirs, runs, "pandas + pyarrow")
            entry.update(stats)
            entry["comparison"] = compare_outcomes(out, base)
        else:
            walls, cpus = [], []
            for _ in range(runs):
                w, c, out = timed(ours)
                walls.append(w)
                cpus.append(c)
            entry.update(
                {
                    "qiao_s": round(statistics.median(walls), 3),
                    "qiao_cpu_s": round(statistics.median(cpus), 3),
                    "qiao_runs_s": [round(v, 3) for v in walls],
                }
            )
        entry["outcomes"] = summarise(out)
        entry["target_s"] = 60.0
        result[name] = entry
    return result


# --------------------------------------------------------------------------- (c) planning


def bench_plan(lake: Path, customers: int, runs: int) -> dict[str, Any]:
    """The planning pipeline (issue 15, Speed): segment, consent, caps, exclusions,
    suitability, the control group and the outbound files, through the campaigns app on a
    PostgreSQL bank — ``bench/bench_campaign_plan.py``, run here as a child process (it needs
    Django and a database, which the rest of this file does not). ``lake`` is not used."""
    import subprocess

    done = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("bench_campaign_plan.py")),
            "--customers",
            str(customers),
            "--runs",
            str(runs),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout[done.stdout.index("{\n") :]))


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--transactions", type=int, default=20_000_000)
    parser.add_argument(
        "--quick", action="store_true", help="50,000 customers, 1,000,000 transactions"
    )
    parser.add_argument("--lake", type=Path, help="lake folder (generated there when empty)")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads")
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--no-baseline", action="store_true", help="time ours only")
    parser.add_argument("--plan", action="store_true", help="also run bench_plan")
    args = parser.parse_args(argv)
    if args.quick:
        args.customers, args.transactions = 50_000, 1_000_000
    lake: Path = args.lake or Path(f"/tmp/qiao-bench-lake-{args.customers}-{args.transactions}")
    report: dict[str, Any] = {
        "benchmark": "campaign",
        "customers": args.customers,
        "transactions": args.transactions,
        "lake": str(lake),
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "duckdb": duckdb.__version__,
        "duckdb_threads": args.threads or "default",
        "loadavg_before": [round(v, 2) for v in os.getloadavg()],
    }
    if args.regenerate or not (lake / "ref" / "customers.parquet").exists():
        t0 = time.perf_counter()
        report["rows"] = bench_score.generate_lake(lake, args.customers, args.transactions)
        report["generate_seconds"] = round(time.perf_counter() - t0, 1)
    report["split_control"] = bench_split(args.customers, args.runs, args.seed)
    report["campaign_outcomes"] = bench_outcomes(
        lake, args.runs, args.threads, baseline=not args.no_baseline
    )
    if args.plan:
        report["plan"] = bench_plan(lake, args.customers, args.runs)
    report["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]
    full = report["campaign_outcomes"]["full_window"]
    targets = {
        "split_under_1s": report["split_control"]["qiao_s"] < 1.0,
        "outcomes_full_window_le_60s": full["qiao_s"] <= 60.0,
        "outcomes_identical_to_baseline": full.get("comparison", {}).get("identical"),
    }
    report["targets_met"] = targets
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if targets["outcomes_identical_to_baseline"] is False:
        return 1
    if not args.quick and not (
        targets["split_under_1s"] and targets["outcomes_full_window_le_60s"]
    ):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
