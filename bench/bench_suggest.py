"""Bench: the next-best products of the nightly scoring, and one suitability check.

Synthetic customers (features, rule attributes, assessments: a fifth without one, a tenth
expired) × a shelf of ~40 products of every category and level (some private, some closed) and
category association rules; times :func:`qiao.analytics.suggest.next_best_products` (the whole
step but the lake read of maturities, which is one filtered scan of the accounts) and one call
of :func:`qiao.core.suitability.check`. Prints JSON with medians.

    python bench/bench_suggest.py                     # 200,000 and 1,000,000 customers, 3 runs
    python bench/bench_suggest.py --customers 50000 --runs 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time

import numpy as np
import pandas as pd

from qiao.analytics.scoring import load_scoring_config
from qiao.analytics.suggest import SuggestParams, next_best_products
from qiao.core.suitability import CustomerFacts, ProductFacts, check
from qiao.core.vocab import CATEGORIES, RISK_LEVELS, RISK_TOLERANCES

AS_OF = dt.date(2026, 10, 31)


def shelf(n_products: int, rng: np.random.Generator) -> pd.DataFrame:
    cats = [c for c in CATEGORIES.codes if c not in ("CARD", "SETTLEMENT")]
    rows = []
    for i in range(n_products):
        cat = cats[i % len(cats)]
        rated = cat in CATEGORIES.having("rated")
        rows.append(
            {
                "product_code": f"P{i:03d}",
                "category": cat,
                "risk_level": RISK_LEVELS.codes[int(rng.integers(0, 5))] if rated else "",
                "private": bool(rated and rng.random() < 0.1),
                "sale_status": "CLOSED" if rng.random() < 0.1 else "ON_SALE",
                "motives": ["ACCUMULATE", "APPRECIATE", "LOAN", ""][i % 4],
                "min_amount": float(rng.choice([0, 1000, 10000, 50000, 1_000_000])),
            }
        )
    return pd.DataFrame(rows)


def customers(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    idx = pd.Index([f"C{i:08d}" for i in range(n)], name="customer_no")
    has = {
        f"has_{c}": rng.random(n) < p
        for c, p in zip(CATEGORIES.codes, np.linspace(0.9, 0.05, len(CATEGORIES)), strict=True)
    }
    tol = np.asarray(["", *RISK_TOLERANCES.codes], dtype=object)[rng.integers(0, 6, n)]
    until = pd.to_datetime(AS_OF) + pd.to_timedelta(rng.integers(-100, 365, n), unit="D")
    frame = pd.DataFrame(
        {
            "bal_DEMAND": rng.lognormal(10, 1.5, n),
            "liquidity": rng.random(n),
            "loan_balance": np.where(rng.random(n) < 0.2, rng.lognormal(12, 1, n), 0.0),
            "amt_large_in_30d": np.where(rng.random(n) < 0.05, rng.lognormal(11.5, 0.5, n), 0.0),
            "maturing_amount": np.where(rng.random(n) < 0.08, rng.lognormal(11, 1, n), 0.0),
            "restricted_flag": (rng.random(n) < 0.01).astype(np.int64),
            "stage": np.asarray(
                ["EXPLORATION", "DEVELOPMENT", "MATURITY", "DECLINE"], dtype=object
            )[rng.integers(0, 4, n)],
            "motive": np.asarray(["ACCUMULATE", "APPRECIATE", "LOAN"], dtype=object)[
                rng.integers(0, 3, n)
            ],
            "need_mode": np.asarray(["ACTIVE", "PASSIVE"], dtype=object)[rng.integers(0, 2, n)],
            "tolerance": tol,
            "valid_until": until.to_numpy(),
            "qualified_investor": rng.random(n) < 0.03,
            **has,
        },
        index=idx,
    )
    return frame


def holdings(frame: pd.DataFrame, products: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = len(frame)
    k = int(n * 1.5)
    return pd.DataFrame(
        {
            "customer_no": frame.index.to_numpy()[rng.integers(0, n, k)],
            "product_code": products["product_code"].to_numpy()[rng.integers(0, len(products), k)],
        }
    ).drop_duplicates()


def rules(rng: np.random.Generator, n_rules: int = 60) -> pd.DataFrame:
    items = list(CATEGORIES.codes)
    rows = []
    for _ in range(n_rules):
        a, b, c = rng.choice(len(items), 3, replace=False)
        ante = tuple(sorted({items[a]} | ({items[b]} if rng.random() < 0.5 else set())))
        rows.append(
            {
                "antecedent": ante,
                "consequent": items[c],
                "support": 0.05,
                "confidence": float(rng.uniform(0.2, 0.8)),
                "lift": float(rng.uniform(1.1, 3)),
            }
        )
    return pd.DataFrame(rows)


def bench_suggest(n: int, n_products: int, runs: int) -> dict[str, object]:
    rng = np.random.default_rng(0)
    products = shelf(n_products, rng)
    frame = customers(n, rng)
    held = holdings(frame, products, rng)
    rls = rules(rng)
    cfg = load_scoring_config()
    params = SuggestParams.from_config(cfg["suggest"])
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out, diag = next_best_products(
            customers=frame,
            shelf=products,
            holdings=held,
            rules=rls,
            as_of=AS_OF,
            margins=cfg["contribution"]["margin"],
            params=params,
        )
        times.append(time.perf_counter() - t0)
    return {
        "customers": n,
        "products": n_products,
        "rules": len(rls),
        "runs": runs,
        "seconds_median": round(statistics.median(times), 2),
        "seconds": [round(t, 2) for t in times],
        "suggestions": int(diag["suggestions"]),
        "suggested_customers": int(diag["suggested_customers"]),
        "held_back": int(diag["held_back"]),
    }


def bench_check(calls: int = 100_000) -> dict[str, object]:
    customer = CustomerFacts("C1", "C3", AS_OF + dt.timedelta(days=100), False)
    products = [
        ProductFacts("P1", "WEALTH", "R2"),
        ProductFacts("P2", "FUND", "R5"),
        ProductFacts("P3", "TIME", ""),
        ProductFacts("P4", "WEALTH", "R3", private=True),
    ]
    medians = []
    for _ in range(5):
        t0 = time.perf_counter()
        for i in range(calls):
            check(customer, products[i & 3], on=AS_OF)
        medians.append((time.perf_counter() - t0) / calls)
    return {
        "calls": calls,
        "microseconds_per_call_median": round(statistics.median(medians) * 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, nargs="*", default=[200_000, 1_000_000])
    parser.add_argument("--products", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    out = {
        "suggest": [bench_suggest(n, args.products, args.runs) for n in args.customers],
        "check": bench_check(),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
