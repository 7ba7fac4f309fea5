"""Bench: group exposure (issue 16, Speed: 50,000 groups ≤ 10 s), and — to be filled by the
key-account/early-warning work — the nightly warning evaluation.

Synthetic credit book: ``--groups`` connected groups of 2–8 companies and people (a control star
from the group's first member, a family link in a fifth of them, guarantees inside groups) and as
many customers alone; 1–3 loans a customer, half of the companies under a facility, some
guarantees across groups. Times :func:`qiao.analytics.exposure.compute_exposure` (networkx
connected components, numpy sums, limit checks, concentration; and with the scipy engine, the same
components by :func:`scipy.sparse.csgraph.connected_components`) against a named baseline measured
side by side on the same inputs: **plain Python** — a union-find (path halving, union by size)
over the same links and dictionaries summing each customer's and group's parts — and checks that
both give the same groups and the same group exposures. Prints JSON with medians.

    python bench/bench_risk.py                    # 50,000 groups, 3 runs
    python bench/bench_risk.py --groups 5000 --runs 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from typing import Any

import numpy as np

from qiao.analytics.exposure import ExposureLimits, compute_exposure

LIMITS = ExposureLimits(tier_one_capital=2e9, net_capital=2.4e9)


def book(n_groups: int, seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """The synthetic inputs (customer ids from 1)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 9, n_groups)
    n_grouped = int(sizes.sum())
    n_alone = n_groups
    n = n_grouped + n_alone
    ids = np.arange(1, n + 1, dtype=np.int64)
    group_of = np.repeat(np.arange(n_groups), sizes)
    heads = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    head_id = ids[heads][group_of]
    member_ids = ids[:n_grouped]
    not_head = member_ids != head_id
    # control: a star from each group's first member; family: a pair in a fifth of the groups
    fam_groups = np.flatnonzero(rng.random(n_groups) < 0.2)
    fam_a = ids[heads[fam_groups]]
    fam_b = ids[heads[fam_groups] + 1]
    links = {
        "a": np.concatenate([head_id[not_head], fam_a]),
        "b": np.concatenate([member_ids[not_head], fam_b]),
        "kind": np.concatenate(
            [np.full(int(not_head.sum()), "control", object), np.full(len(fam_a), "family", object)]
        ),
    }
    # loans: 1–3 a customer
    per = rng.integers(1, 4, n)
    l_cust = np.repeat(ids, per)
    l_bal = np.round(rng.lognormal(13, 1.2, len(l_cust)), 2)
    # facilities: half of the grouped customers; their loans under it
    with_fac = member_ids[rng.random(n_grouped) < 0.5]
    f_id = np.arange(1, len(with_fac) + 1, dtype=np.int64)
    fac_of = np.zeros(n + 1, dtype=np.int64) - 1
    fac_of[with_fac] = f_id
    l_fac = fac_of[l_cust]
    drawn = np.bincount(
        np.maximum(l_fac, 0), weights=np.where(l_fac > 0, l_bal, 0), minlength=len(f_id) + 1
    )[1:]
    f_used = np.round(drawn * rng.uniform(1.0, 1.2, len(f_id)), 2)
    # guarantees: 200,000 at 50,000 groups — mostly the first member for another
    n_g = 4 * n_groups
    inside = rng.random(n_g) < 0.8
    pick = rng.integers(0, n_grouped, n_g)
    g_to = member_ids[pick]
    # the others from the customer alone paired with the group (who so joins it)
    g_from = np.where(inside, head_id[pick], ids[n_grouped + group_of[pick]])
    ok = g_from != g_to
    return {
        "loans": {"customer_id": l_cust, "balance": l_bal, "facility_id": l_fac},
        "facilities": {"facility_id": f_id, "customer_id": with_fac, "used": f_used},
        "guarantees": {
            "guarantor_id": g_from[ok],
            "borrower_id": g_to[ok],
            "amount": np.round(rng.uniform(1e4, 5e6, int(ok.sum())), 2),
        },
        "links": links,
    }


def ours(data: dict[str, Any], engine: str = "networkx") -> Any:
    return compute_exposure(
        loans=data["loans"],
        facilities=data["facilities"],
        guarantees=data["guarantees"],
        links=data["links"],
        limits=LIMITS,
        engine=engine,
    )


def baseline(data: dict[str, Any]) -> tuple[dict[int, int], dict[int, float]]:
    """Plain Python: union-find over the links and guarantees, dictionaries for the sums."""
    parent: dict[int, int] = {}
    size: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        size.setdefault(x, 1)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(x: int, y: int) -> None:
        rx, ry = find(x), find(y)
        if rx == ry:
            return
        if size[rx] < size[ry]:
            rx, ry = ry, rx
        parent[ry] = rx
        size[rx] += size[ry]

    loans, facs, guas, links = data["loans"], data["facilities"], data["guarantees"], data["links"]
    exposure: dict[int, float] = defaultdict(float)
    drawn: dict[int, float] = defaultdict(float)
    for c, bal, f in zip(
        loans["customer_id"].tolist(),
        loans["balance"].tolist(),
        loans["facility_id"].tolist(),
        strict=True,
    ):
        exposure[c] += bal
        if f > 0:
            drawn[f] += bal
    for f, c, used in zip(
        facs["facility_id"].tolist(),
        facs["customer_id"].tolist(),
        facs["used"].tolist(),
        strict=True,
    ):
        exposure[c] += max(used - drawn[f], 0.0)
    for g, b, amt in zip(
        guas["guarantor_id"].tolist(),
        guas["borrower_id"].tolist(),
        guas["amount"].tolist(),
        strict=True,
    ):
        exposure[g] += amt
        exposure[b] += 0.0
        union(g, b)
    for x, y in zip(links["a"].tolist(), links["b"].tolist(), strict=True):
        union(x, y)
    members: dict[int, list[int]] = defaultdict(list)
    for c in exposure:
        members[find(c)].append(c)
    group_of: dict[int, int] = {}
    group_exposure: dict[int, float] = {}
    for cs in members.values():
        head = min(cs)
        total = sum(exposure[c] for c in cs)
        for c in cs:
            group_of[c] = head
        group_exposure[head] = total
    for g, _b, amt in zip(
        guas["guarantor_id"].tolist(),
        guas["borrower_id"].tolist(),
        guas["amount"].tolist(),
        strict=True,
    ):
        group_exposure[group_of[g]] -= amt  # guarantor and borrower are always in one group
    return group_of, group_exposure


def _median_time(fn: Any, data: Any, runs: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn(data)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


# --------------------------------------------------------------------------------------------
# RISK HELPER — the nightly warning evaluation bench (issue 16, Speed: 1 M customers, 2 M loans,
# 200 k guarantees ≤ 60 s). ``qiao.risk.warnings.warnings_evaluate`` itself (the database reads,
# the Django-free rules of qiao.analytics.warning, the proposals and baselines it writes) on a
# synthetic credit book in PostgreSQL, built by COPY (bench/bench_worklist.py's helpers). Sizes
# and the database come from the environment (main() takes no options of this part):
#   QIAO_BENCH_WARNING_CUSTOMERS (default 1,000,000; loans = 2 ×, guarantees = 0.2 ×)
#   QIAO_BENCH_WARNING_DB (default postgres://postgres@127.0.0.1:5432/qiao_bench_risk; its name
#   must contain "bench": it is EMPTIED of customers and credit data first)
#   QIAO_BENCH_WARNING=0 skips it; QIAO_BENCH_WARNING_REUSE=1 keeps a book built before.
# Measured: the first night (every proposal filed, the baselines taken), the next night (nothing
# new: the idempotent re-run) and a night 31 days on (every baseline refreshed).
def bench_warning_evaluation(args: argparse.Namespace) -> dict[str, Any] | None:
    import datetime as dt
    import os
    import random
    import sys
    import tempfile
    from decimal import Decimal
    from pathlib import Path

    if os.environ.get("QIAO_BENCH_WARNING", "1") == "0":
        return None
    n = int(os.environ.get("QIAO_BENCH_WARNING_CUSTOMERS", "1000000"))
    db = os.environ.get(
        "QIAO_BENCH_WARNING_DB", "postgres://postgres@127.0.0.1:5432/qiao_bench_risk"
    )
    if "bench" not in db.rsplit("/", 1)[-1]:
        return {"skipped": f"database {db!r}: its name must contain 'bench'"}
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    from bench_worklist import _copy, _setup  # the worklist bench's COPY helpers

    _setup(db, Path(tempfile.mkdtemp(prefix="qiao-bench-risk-")))
    from django.db import connection

    from qiao.credit.models import Facility, Guarantee, Loan, RiskSignal
    from qiao.customers.models import Customer, CustomerGroup, GroupMembership
    from qiao.org.models import OrgUnit
    from qiao.risk.models import WarningState, WarningTransition
    from qiao.risk.warnings import warnings_evaluate

    day = dt.date(2026, 11, 30)
    rng = random.Random(args.seed)
    built_s = 0.0
    if os.environ.get("QIAO_BENCH_WARNING_REUSE") != "1" or not Customer.objects.exists():
        t0 = time.perf_counter()
        tables = [
            m._meta.db_table
            for m in (
                WarningTransition,
                WarningState,
                RiskSignal,
                Guarantee,
                Loan,
                Facility,
                GroupMembership,
                CustomerGroup,
                Customer,
            )
        ]
        with connection.cursor() as cur:
            cur.execute("TRUNCATE " + ", ".join(tables) + " CASCADE")
        OrgUnit.objects.filter(code="BENCH-RISK").delete()
        unit = OrgUnit.objects.create(
            code="BENCH-RISK", name="网点", level="OUTLET", path="/BENCH-RISK/"
        )
        _copy(
            Customer,
            [
                {
                    "customer_no": f"R{i:08d}",
                    "customer_type": "C" if i % 3 == 0 else "P",
                    "name": f"客户{i}",
                    "id_type": "USCC" if i % 3 == 0 else "RIC",
                    "id_no": f"BENCH{i:013d}",
                    "branch_id": unit.pk,
                    "open_date": dt.date(2015, 1, 1),
                }
                for i in range(n)
            ],
        )
        ids = np.array(Customer.objects.order_by("pk").values_list("pk", flat=True), np.int64)
        firms = ids[::3]
        # Facilities for most firms; 2 loans a customer on average, a few bad (the shares of a
        # real book: about 2 % special mention, 1.5 % non-performing).
        fac_owner = firms[: int(len(firms) * 0.9)]
        # bulk_create: the COPY helper does not quote column names, and "limit" is reserved.
        Facility.objects.bulk_create(
            [
                Facility(
                    facility_no=f"F{i:08d}",
                    customer_id=int(c),
                    limit=Decimal(5_000_000),
                    used=Decimal(rng.choice((1_000_000, 2_500_000, 4_800_000))),
                    start_date=dt.date(2025, 1, 1),
                    end_date=dt.date(2027, 12, 31),
                )
                for i, c in enumerate(fac_owner.tolist())
            ],
            batch_size=5000,
        )
        classes = ["PASS", "SPECIAL_MENTION", "SUBSTANDARD", "DOUBTFUL", "LOSS"]
        weights = [0.965, 0.02, 0.008, 0.005, 0.002]
        overdue = {"PASS": 0, "SPECIAL_MENTION": 30, "SUBSTANDARD": 120, "DOUBTFUL": 300}
        borrowers = rng.choices(ids.tolist(), k=2 * n)
        rows = []
        for i, c in enumerate(borrowers):
            cls = rng.choices(classes, weights)[0]
            rows.append(
                {
                    "loan_no": f"L{i:09d}",
                    "customer_id": c,
                    "principal": Decimal(100_000),
                    "balance": Decimal(80_000),
                    "start_date": dt.date(2025, 1, 1),
                    "maturity_date": dt.date(2027, 1, 1),
                    "classification": cls,
                    "days_overdue": overdue.get(cls, 400),
                    "as_of": day,
                }
            )
        _copy(Loan, rows)
        del rows, borrowers
        g = rng.choices(ids.tolist(), k=n // 5)
        b = rng.choices(ids.tolist(), k=n // 5)
        _copy(
            Guarantee,
            [
                {
                    "guarantee_no": f"G{i:08d}",
                    "guarantor_id": x,
                    "borrower_id": y if y != x else int(ids[(i + 1) % len(ids)]),
                    "amount": Decimal(500_000),
                    "start_date": dt.date(2025, 1, 1),
                }
                for i, (x, y) in enumerate(zip(g, b, strict=True))
            ],
        )
        kinds = ["COURT_ENFORCEMENT", "TAX", "NEGATIVE_NEWS", "RATING_DOWNGRADE"]
        RiskSignal.objects.bulk_create(  # "on" is reserved too
            [
                RiskSignal(
                    customer_id=int(c),
                    kind=kinds[i % 4],
                    source="bench",
                    on=day - dt.timedelta(days=i % 120),
                )
                for i, c in enumerate(rng.sample(firms.tolist(), k=min(len(firms), n // 100)))
            ],
            batch_size=5000,
        )
        groups = CustomerGroup.objects.bulk_create(
            [CustomerGroup(code=f"BG{i:06d}", name=f"集团{i}") for i in range(n // 20)],
            batch_size=5000,
        )
        members = []
        for k, grp in enumerate(groups):
            for j in range(3):
                members.append(
                    {
                        "group_id": grp.pk,
                        "customer_id": int(firms[(k * 3 + j) % len(firms)]),
                        "member_role": "PARENT" if j == 0 else "SUBSIDIARY",
                        "link_type": "EQUITY",
                    }
                )
        _copy(GroupMembership, members)
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
        built_s = time.perf_counter() - t0
    with connection.cursor() as cur:  # every measurement starts from no warning history
        cur.execute(
            f"TRUNCATE {WarningTransition._meta.db_table}, {WarningState._meta.db_table}"  # noqa: S608
        )
    runs = []
    for label, on in (
        ("first night", day),
        ("next night", day + dt.timedelta(days=1)),
        ("baselines refreshed", day + dt.timedelta(days=32)),
    ):
        t0 = time.perf_counter()
        summary = warnings_evaluate(day=on)
        runs.append(
            {
                "night": label,
                "seconds": round(time.perf_counter() - t0, 2),
                "rules_seconds": summary["rules_seconds"],
                "watched": summary["watched"],
                "proposed": summary["proposed"],
                "baselines": summary["baselines"],
                "called_for": summary["called_for"],
            }
        )
    return {
        "name": "nightly warning evaluation (qiao.risk.warnings.warnings_evaluate, PostgreSQL)",
        "customers": Customer.objects.count(),
        "loans": Loan.objects.count(),
        "facilities": Facility.objects.count(),
        "guarantees": Guarantee.objects.count(),
        "group_members": GroupMembership.objects.count(),
        "signals": RiskSignal.objects.count(),
        "build_s": round(built_s, 1),
        "runs": runs,
        "median_s": round(statistics.median(r["seconds"] for r in runs), 2),
        "max_s": max(r["seconds"] for r in runs),
        "target_s": 60,
    }


# --------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--groups", type=int, default=50_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    data = book(args.groups, args.seed)
    build_s = time.perf_counter() - t0
    ours_s, result = _median_time(ours, data, args.runs)
    scipy_s, by_scipy = _median_time(lambda d: ours(d, "scipy"), data, args.runs)
    base_s, (group_of, group_exp) = _median_time(baseline, data, args.runs)
    # The same answer: every customer's group, every group's exposure.
    cust = result.customers
    same_groups = group_of == dict(zip(cust.index.tolist(), cust["group"].tolist(), strict=True))
    sums = cust.groupby("group")["exposure"].sum()
    ours_exp = dict(
        zip(result.groups.index.tolist(), result.groups["exposure"].tolist(), strict=True)
    )
    mismatch = max((abs(ours_exp[g] - group_exp[g]) for g in ours_exp), default=0.0)
    out = {
        "bench": "group exposure",
        "groups": args.groups,
        "customers": len(cust),
        "groups_of_2_or_more": len(result.groups),
        "loans": len(data["loans"]["customer_id"]),
        "facilities": len(data["facilities"]["facility_id"]),
        "guarantees": len(data["guarantees"]["guarantor_id"]),
        "links": len(data["links"]["a"]),
        "runs": args.runs,
        "build_inputs_s": round(build_s, 2),
        "median_s": round(ours_s, 3),
        "engine": "networkx (default)",
        "target_s": 10,
        "scipy_engine_median_s": round(scipy_s, 3),
        "scipy_engine_same_groups": bool((by_scipy.customers["group"] == cust["group"]).all()),
        "baseline": "plain Python union-find + dict sums",
        "baseline_median_s": round(base_s, 3),
        "speedup_vs_baseline": round(base_s / ours_s, 2) if ours_s else None,
        "scipy_engine_speedup_vs_baseline": round(base_s / scipy_s, 2) if scipy_s else None,
        "same_groups_as_baseline": bool(same_groups),
        "max_group_exposure_difference": round(mismatch, 4),
        "near_or_breach_groups": int((result.groups["status"] != "OK").sum()),
        "total_exposure": round(float(sums.sum()), 2),
    }
    warning = bench_warning_evaluation(args)
    out["warning_evaluation"] = warning if warning is not None else "not measured"
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
