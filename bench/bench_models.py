"""Time the risk-style, association-rule and attrition models on synthetic data.

Usage::

    python bench/bench_models.py [--customers 1000000] [--repeats 3] [--periods 4] [--threads 1]
    python bench/bench_models.py --nightly 200000 [--repeats 3] [--threads 1]

Prints one JSON object: the median wall time (seconds) of each step over ``--repeats`` runs, the
sizes, and a few quality numbers (chosen k, number of rules, validation AUC) so that a fast but
wrong run is visible.

``--nightly N`` times the nightly attrition step instead — ``fit_nightly_attrition`` then
``apply_attrition`` on N customers' monthly series (the partitioned nightly fits on a sample of
200,000 customers whatever the bank's size, so N = 200,000 is the 1 M run's fit) — against the
baseline ``previous_recipe``: the same panel fitted as before issue 13 item 8 (the 13 earlier
features, balanced 31-leaf trees, no gap), measured in the same run, with the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from qiao.analytics.assoc import cross_sell_candidates, mine_rules
from qiao.analytics.attrition import fit_attrition
from qiao.analytics.riskstyle import FEATURES, rate_risk_style

T = TypeVar("T")

ITEMS = [f"P{j:02d}" for j in range(40)]
ATTRITION_FEATURES = [
    "trend_3m",
    "recency_days",
    "aum",
    "n_products",
    "frequency",
    "contacts_90d",
    "deposit_liquidity",
    "large_out_sum_30d",
    "ebank_services",
    "tenure_months",
]


def risk_features(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Half dormant customers, the rest spread over four trading styles, heavy-tailed amounts."""
    style = rng.choice(5, size=n, p=[0.5, 0.15, 0.15, 0.12, 0.08])
    aum = np.exp(rng.normal(10.5 + 0.3 * style, 1.2))
    turn_rate = np.array([0.0, 0.3, 1.0, 3.0, 10.0])[style] * np.exp(rng.normal(0, 0.4, n))
    n_trades = rng.poisson(np.array([0.0, 3.0, 10.0, 30.0, 120.0])[style]).astype(float)
    turnover = np.where(n_trades > 0, turn_rate * aum, 0.0)
    risky = np.clip(np.array([0.0, 0.05, 0.25, 0.55, 0.9])[style] + rng.normal(0, 0.05, n), 0, 1)
    ret = np.where(n_trades > 0, rng.normal(0.02, 0.03 + 0.05 * style, n), 0.0)
    df = pd.DataFrame(
        {
            "aum": aum,
            "turnover": turnover,
            "n_trades": n_trades,
            "avg_trade_size": np.where(n_trades > 0, turnover / np.maximum(n_trades, 1), 0.0),
            "return_ratio": ret,
            "risky_share": np.where(n_trades > 0, risky, 0.0),
        },
        index=pd.Index([f"C{i:08d}" for i in range(n)], name="customer_no"),
    )
    return df[list(FEATURES)]


def baskets(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """About 6 holdings per customer over 40 products; 6 segments each favour 5 products."""
    seg = rng.integers(0, 6, n)
    prob = np.tile(rng.uniform(0.02, 0.12, len(ITEMS)), (6, 1))
    for s in range(6):
        prob[s, rng.choice(len(ITEMS), 5, replace=False)] = 0.55
    cust_parts: list[np.ndarray] = []
    item_parts: list[np.ndarray] = []
    for j in range(len(ITEMS)):
        p = prob[seg, j]
        holders = np.flatnonzero(rng.random(n) < p)
        cust_parts.append(holders)
        item_parts.append(np.full(holders.size, j))
    cust = np.concatenate(cust_parts)
    item = np.concatenate(item_parts)
    ids = np.array([f"C{i:08d}" for i in range(n)], dtype=object)
    return pd.DataFrame({"customer_no": ids[cust], "item": np.array(ITEMS, dtype=object)[item]})


def attrition_panel(n: int, periods: int, rng: np.random.Generator) -> pd.DataFrame:
    """One row per customer and month-end; the label follows the AUM trend and inactivity."""
    ids = np.array([f"C{i:08d}" for i in range(n)], dtype=object)
    frames = []
    for as_of in pd.date_range("2025-01-31", periods=periods, freq="ME"):
        trend = rng.normal(0.0, 0.25, n)
        recency = rng.exponential(30.0, n)
        contacts = rng.poisson(1.5, n).astype(float)
        liquidity = rng.beta(2, 2, n)
        logit = -3.5 - 6.0 * trend + 0.012 * (recency - 30) - 0.3 * contacts + 1.0 * liquidity
        frames.append(
            pd.DataFrame(
                {
                    "customer_no": ids,
                    "as_of": as_of,
                    "trend_3m": trend,
                    "recency_days": recency,
                    "aum": np.exp(rng.normal(11.0, 1.2, n)),
                    "n_products": rng.integers(1, 8, n).astype(float),
                    "frequency": rng.poisson(8.0, n).astype(float),
                    "contacts_90d": contacts,
                    "deposit_liquidity": liquidity,
                    "large_out_sum_30d": np.where(
                        rng.random(n) < 0.05, np.exp(rng.normal(11, 1, n)), 0.0
                    ),
                    "ebank_services": rng.integers(0, 5, n).astype(float),
                    "tenure_months": rng.integers(1, 300, n).astype(float),
                    "label": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def timed(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    times: list[float] = []
    out: T | None = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    assert out is not None
    return round(statistics.median(times), 2), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--periods", type=int, default=4, help="as_of dates in the panel")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--nightly",
        type=int,
        default=None,
        metavar="N",
        help="time the nightly attrition step on N customers' monthly series instead",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="cap BLAS/OpenMP threads (on a shared, busy machine 1 avoids spin-waiting)",
    )
    args = parser.parse_args()
    if args.threads is not None:
        with threadpool_limits(limits=args.threads):
            run(args)
    else:
        run(args)


def run(args: argparse.Namespace) -> None:
    if args.nightly:
        print(json.dumps(bench_nightly(args), indent=2, ensure_ascii=False))
        return
    n, reps = args.customers, args.repeats
    rng = np.random.default_rng(args.seed)
    report: dict[str, Any] = {
        "customers": n,
        "repeats": reps,
        "cpus": os.cpu_count(),
        "threads": args.threads,
        "python": platform.python_version(),
        "seconds_median": {},
    }
    sec: dict[str, float] = report["seconds_median"]

    report["risk_style"] = bench_risk_style(risk_features(n, rng), reps, sec)
    report["assoc"] = bench_assoc(baskets(n, rng), reps, sec)
    report["attrition"] = bench_attrition(attrition_panel(n, args.periods, rng), reps, sec)
    print(json.dumps(report, indent=2, ensure_ascii=False))


def bench_risk_style(feats: pd.DataFrame, reps: int, sec: dict[str, float]) -> dict[str, Any]:
    sec["rate_risk_style"], rs = timed(lambda: rate_risk_style(feats), reps)
    return {
        "k": rs.k,
        "silhouette": {str(k): round(v, 3) for k, v in rs.silhouette.items()},
        "counts": dict(rs.counts()),
    }


def bench_assoc(b: pd.DataFrame, reps: int, sec: dict[str, float]) -> dict[str, Any]:
    sec["mine_rules"], rules = timed(lambda: mine_rules(b), reps)
    sec["cross_sell_candidates"], cand = timed(lambda: cross_sell_candidates(b, rules), reps)
    return {
        "holdings": len(b),
        "rules": len(rules),
        "max_antecedent": int(rules["antecedent"].map(len).max()) if len(rules) else 0,
        "candidates": len(cand),
    }


def bench_attrition(panel: pd.DataFrame, reps: int, sec: dict[str, float]) -> dict[str, Any]:
    sec["fit_attrition"], res = timed(
        lambda: fit_attrition(panel, feature_cols=ATTRITION_FEATURES), reps
    )
    latest = panel[panel["as_of"] == panel["as_of"].max()]
    sec["attrition_predict_with_reasons"], scored = timed(lambda: res.predict(latest), reps)
    m = res.metrics
    return {
        "panel_rows": len(panel),
        "n_train": m.get("n_train"),
        "n_val": m.get("n_val"),
        "auc": round(float(m.get("auc", float("nan"))), 4),
        "n_iter": m.get("n_iter"),
        "base_rate": round(float(m["base_rate"]), 4),
        "mean_prob_latest": round(float(scored["attrition_prob"].mean()), 4),
        "top_feature": next(iter(m.get("feature_importance", {})), None),
    }


#: The attrition features before issue 13 item 8 (the previous recipe, the baseline).
PREVIOUS_FEATURES = [
    "aum",
    "trend_3m",
    "trend_6m",
    "trend_12m",
    "deposit_share",
    "txn_trend_3m",
    "frequency",
    "recency_days",
    "net_outflow_3m",
    "n_accounts",
    "tenure_months",
    "age",
    "is_corporate",
]
NIGHTLY_CFG = {
    "horizon_months": 3,
    "drop_ratio": 0.5,
    "aum_floor": 1000.0,
    "panel_months": 6,
    "max_panel_rows": 400_000,
    "random_state": 0,
}


def series_features(n: int, rng: np.random.Generator, months: int = 24) -> pd.DataFrame:
    """Monthly series (k = 0 now … months − 1) of n customers; ~0.4 % a month start to leave,
    most with 3 months of warning (transactions and AUM sliding)."""
    k = np.arange(months)[None, :]
    level = np.exp(rng.normal(11.0, 1.2, n))[:, None]
    walk = np.cumsum(rng.normal(0.0, 0.04, (n, months))[:, ::-1], axis=1)[:, ::-1]
    leaver = rng.random(n) < 0.1
    d = np.where(leaver, rng.integers(-3, months - 4, n), -100)[:, None]
    warned = (rng.random(n) < 0.8)[:, None]
    warn = np.clip((d + 4 - k) / 4.0, 0.0, 1.0) * (k > d) * warned
    aum = level * np.exp(walk) * np.where(k <= d, 0.1, 1.0 - 0.2 * warn)
    rate = np.exp(rng.normal(1.5, 0.6, n))[:, None] * np.where(k <= d, 0.1, 1.0 - 0.7 * warn)
    n_txn = rng.poisson(rate).astype(np.float64)
    base_day = float((pd.Timestamp("2026-09-30") - pd.Timestamp("1970-01-01")).days)
    cols: dict[str, Any] = {}
    for j in range(months):
        cols[f"aum_m{j}"] = aum[:, j]
        cols[f"deposits_m{j}"] = 0.7 * aum[:, j]
        cols[f"n_txn_m{j}"] = n_txn[:, j]
        cols[f"inflow_m{j}"] = 0.05 * aum[:, j]
        cols[f"outflow_m{j}"] = 0.05 * aum[:, j] * (1 + 18 * (k[0, j] == d[:, 0]))
        cols[f"n_accounts_m{j}"] = np.full(n, 2.0)
        cols[f"last_ci_day_m{j}"] = np.where(n_txn[:, j] > 0, base_day - 30.4 * j - 3, np.nan)
    cols["tenure_months"] = rng.integers(30, 200, n).astype(np.float64)
    cols["age"] = rng.integers(20, 80, n).astype(np.float64)
    cols["customer_type"] = np.where(rng.random(n) < 0.05, "C", "P")
    ids = pd.Index([f"C{i:08d}" for i in range(n)], name="customer_no")
    return pd.DataFrame(cols, index=ids)


def bench_nightly(args: argparse.Namespace) -> dict[str, Any]:
    from qiao.analytics.attrition import (
        apply_attrition,
        attrition_features_at,
        attrition_panel,
        fit_nightly_attrition,
    )

    rng = np.random.default_rng(args.seed)
    feats = series_features(args.nightly, rng)
    ends = [d.date() for d in pd.date_range(end="2026-09-30", periods=24, freq="ME")[::-1]]
    cfg = NIGHTLY_CFG
    sec: dict[str, float] = {}
    times: list[float] = []
    diag: dict[str, Any] = {}
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        fit, diag = fit_nightly_attrition(feats, ends, cfg)
        apply_attrition(fit, feats, ends, cfg, diag)
        times.append(time.perf_counter() - t0)
    sec["nightly_fit_and_apply"] = round(statistics.median(times), 2)

    def previous() -> Any:
        panel = attrition_panel(
            feats,
            ends,
            horizon_months=3,
            drop_ratio=0.5,
            aum_floor=1000.0,
            panel_months=6,
            max_rows=400_000,
        )
        res = fit_attrition(panel, feature_cols=PREVIOUS_FEATURES)
        today = attrition_features_at(feats, 0, ends)
        res.predict(today[today["aum"] > 1000.0][PREVIOUS_FEATURES])
        return res

    times = []
    prev = None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        prev = previous()
        times.append(time.perf_counter() - t0)
    sec["previous_recipe_fit_and_apply"] = round(statistics.median(times), 2)
    m = diag["metrics"]
    assert prev is not None
    return {
        "customers": args.nightly,
        "repeats": args.repeats,
        "threads": args.threads,
        "load_average": os.getloadavg(),
        "seconds_median": sec,
        "ratio_vs_previous_recipe": round(
            sec["nightly_fit_and_apply"] / sec["previous_recipe_fit_and_apply"], 2
        ),
        "panel_rows": diag["panel_rows"],
        "auc": round(float(m["auc"]), 4),
        "top_decile_recall": round(float(m["top_decile_recall"]), 4),
        "previous_recipe_auc_leaky_split": round(float(prev.metrics["auc"]), 4),
    }


if __name__ == "__main__":
    main()
