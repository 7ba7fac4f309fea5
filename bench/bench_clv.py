"""Lifetime-value benchmarks: qiao.analytics.clv against lifetimes 0.11.3, side by side.

(a) RFM summary of 5 M synthetic transactions (and 50 M with ``--large``), for ``freq`` D and W:
    ``summary_from_transactions`` (numpy arrays, sorted keys) versus ``lifetimes.utils.
    summary_data_from_transaction_data``; the numbers must be identical (after sorting by id,
    tolerance 1e-9). Target: >= 10x faster at 5 M.
(b) BG/NBD fit on 1 M customers drawn from the BG/NBD process with CDNOW-like parameters, ages
    spread over 39 weeks at daily resolution: ``BetaGeoFitter`` versus lifetimes'
    ``BetaGeoFitter`` on the same per-customer rows; parameters equal to 1e-4 (relative).
    Target: >= 5x faster.

Each measurement is repeated (default 3 runs, ours and lifetimes alternating) and the median wall
time is reported, with the process CPU time next to it (the machine may be shared). Prints one
JSON document; exits with status 1 if the numbers differ or a target is missed.

    python bench/bench_clv.py [--quick] [--large] [--runs 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import duckdb
import numpy as np
import pandas as pd

from qiao.analytics.clv import BetaGeoFitter, summary_from_transactions

warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", message=".*chained_assignment.*")
from lifetimes import BetaGeoFitter as LtBetaGeoFitter  # noqa: E402
from lifetimes.utils import summary_data_from_transaction_data  # noqa: E402

T = TypeVar("T")
CDNOW_PARAMS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
SUMMARY_END = "2023-10-18"  # a Wednesday: weekly periods must floor it to Monday 16 October


def timed(fn: Callable[[], T]) -> tuple[float, float, T]:
    """Wall and CPU seconds of one call, and its result."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w0, time.process_time() - c0, out


def side_by_side(
    ours: Callable[[], Any], theirs: Callable[[], Any], runs: int
) -> tuple[dict[str, float], Any, Any]:
    """Alternate the two implementations ``runs`` times; medians of wall and CPU time."""
    ow, oc, tw, tc = [], [], [], []
    our_out = their_out = None
    for _ in range(runs):
        w, c, our_out = timed(ours)
        ow.append(w)
        oc.append(c)
        w, c, their_out = timed(theirs)
        tw.append(w)
        tc.append(c)
    stats = {
        "qiao_s": round(statistics.median(ow), 3),
        "lifetimes_s": round(statistics.median(tw), 3),
        "speedup": round(statistics.median(tw) / statistics.median(ow), 2),
        "qiao_cpu_s": round(statistics.median(oc), 3),
        "lifetimes_cpu_s": round(statistics.median(tc), 3),
        "qiao_runs_s": [round(v, 3) for v in ow],
        "lifetimes_runs_s": [round(v, 3) for v in tw],
    }
    return stats, our_out, their_out


# --------------------------------------------------------------------------- (a) summaries


def make_transactions(n: int, seed: int) -> pd.DataFrame:
    """``n`` card-like transactions of ``n // 10`` customers over two years.

    Customer activity is heavy-tailed (Gamma(0.8) weights), times are to the second and a few
    transactions fall after the summary's end date.
    """
    rng = np.random.default_rng(seed)
    n_customers = max(n // 10, 1)
    weights = rng.gamma(0.8, 1.0, n_customers)
    customer = rng.choice(n_customers, size=n, p=weights / weights.sum()) + 100_000
    seconds = rng.integers(0, 730 * 86_400, n)
    when = np.datetime64("2022-01-01T00:00:00", "s") + seconds.astype("timedelta64[s]")
    amount = np.round(rng.lognormal(3.5, 1.0, n), 2)
    return pd.DataFrame(
        {"customer_id": customer, "ts": when.astype("datetime64[ns]"), "amount": amount}
    )


def compare_summaries(ours: pd.DataFrame, theirs: pd.DataFrame) -> dict[str, Any]:
    theirs = theirs.reset_index().sort_values("customer_id", kind="stable")
    ours = ours.sort_values("customer_id", kind="stable")
    same_ids = bool(
        np.array_equal(ours["customer_id"].to_numpy(), theirs["customer_id"].to_numpy())
    )
    worst = 0.0
    if same_ids:
        for col in ("frequency", "recency", "T", "monetary_value"):
            a = ours[col].to_numpy(dtype=float)
            b = theirs[col].to_numpy(dtype=float)
            diff = np.abs(a - b) / np.maximum(1.0, np.abs(b))
            worst = max(worst, float(diff.max(initial=0.0)))
    return {
        "customers": int(len(theirs)),
        "identical": same_ids and worst <= 1e-9,
        "max_rel_diff": worst,
    }


def bench_summary(n: int, freq: str, runs: int, seed: int) -> dict[str, Any]:
    frame = make_transactions(n, seed)

    def ours() -> pd.DataFrame:
        return summary_from_transactions(
            frame, "customer_id", "ts", "amount", end=SUMMARY_END, freq=freq
        )

    def theirs() -> pd.DataFrame:
        return summary_data_from_transaction_data(
            frame, "customer_id", "ts", "amount", observation_period_end=SUMMARY_END, freq=freq
        )

    stats, our_out, their_out = side_by_side(ours, theirs, runs)
    return {"transactions": n, "freq": freq, **compare_summaries(our_out, their_out), **stats}


# --------------------------------------------------------------------------- (b) BG/NBD fit


def make_bgnbd_customers(n: int, seed: int) -> pd.DataFrame:
    """Customers from the BG/NBD process; T uniform over 1..273 days, times floored to days.

    Each customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)`` (per week) and drops out after
    each repeat purchase with probability ``p ~ Beta(a, b)``: the number of repeat purchases is
    ``min(N(T), K)`` with ``N(T) ~ Poisson(lambda T)`` and ``K ~ Geometric(p)``, and the last one
    is at ``T * Beta(x, N - x + 1)`` (an order statistic of ``N`` uniform purchase times).
    """
    rng = np.random.default_rng(seed)
    p = CDNOW_PARAMS
    t_days = rng.integers(1, 274, n)
    t_weeks = t_days / 7.0
    lam = rng.gamma(p["r"], 1.0 / p["alpha"], n)
    drop = rng.beta(p["a"], p["b"], n)
    purchases = rng.poisson(lam * t_weeks)
    x = np.minimum(purchases, rng.geometric(drop))
    last = np.where(x > 0, rng.beta(np.maximum(x, 1), purchases - x + 1), 0.0)
    recency_days = np.floor(last * t_days)
    return pd.DataFrame({"frequency": x, "recency": recency_days / 7.0, "T": t_weeks})


def bench_bgnbd(n: int, runs: int, seed: int) -> dict[str, Any]:
    data = make_bgnbd_customers(n, seed)
    f, r, t = (data[c].to_numpy() for c in ("frequency", "recency", "T"))
    distinct = int(len(data.drop_duplicates()))

    def ours() -> dict[str, float]:
        return BetaGeoFitter().fit(f, r, t).params_

    def theirs() -> dict[str, float]:
        return {k: float(v) for k, v in LtBetaGeoFitter().fit(f, r, t).params_.items()}

    stats, our_params, their_params = side_by_side(ours, theirs, runs)
    rel = max(abs(our_params[k] / their_params[k] - 1.0) for k in CDNOW_PARAMS)
    return {
        "customers": n,
        "distinct_rows": distinct,
        "repeat_buyers": int((f > 0).sum()),
        "params": {k: round(v, 6) for k, v in our_params.items()},
        "lifetimes_params": {k: round(v, 6) for k, v in their_params.items()},
        "max_rel_param_diff": rel,
        "params_equal_1e-4": rel <= 1e-4,
        **stats,
    }


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--large", action="store_true", help="also 50 M transactions")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    load_before = [round(v, 2) for v in os.getloadavg()]
    sizes = [200_000] if args.quick else [5_000_000]
    if args.large and not args.quick:
        sizes.append(50_000_000)
    customers = 50_000 if args.quick else 1_000_000

    summaries = [bench_summary(n, freq, args.runs, args.seed) for n in sizes for freq in ("D", "W")]
    fit = bench_bgnbd(customers, args.runs, args.seed)
    main_size = [s for s in summaries if s["transactions"] == sizes[0]]
    targets = {
        "summary_identical": all(s["identical"] for s in summaries),
        "summary_speedup_ge_10x": all(s["speedup"] >= 10.0 for s in main_size),
        "bgnbd_params_equal": bool(fit["params_equal_1e-4"]),
        "bgnbd_speedup_ge_5x": fit["speedup"] >= 5.0,
    }
    report = {
        "benchmark": "clv",
        "quick": args.quick,
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "duckdb": duckdb.__version__,
        "duckdb_threads": os.environ.get("QIAO_DUCKDB_THREADS", "default"),
        # the machine may be shared: 1/5/15-minute load averages around the run
        "loadavg_before": load_before,
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        "summary": summaries,
        "bgnbd_fit": fit,
        "targets_met": targets,
    }
    print(json.dumps(report, indent=2))
    # the numbers must match; the speed targets are judged at full size only
    ok = targets["summary_identical"] and targets["bgnbd_params_equal"]
    if not args.quick:
        ok = ok and targets["summary_speedup_ge_10x"] and targets["bgnbd_speedup_ge_5x"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
