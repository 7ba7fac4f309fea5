"""Benchmark: every CM's work list over a big synthetic bank (issue 5: 500 CMs, 1 M customers, ≤ 60 s).

Usage::

    python bench/bench_worklist.py                      # 1,000,000 customers, 500 CMs, PostgreSQL
    python bench/bench_worklist.py --customers 50000 --cms 50
    python bench/bench_worklist.py --reuse               # keep the data built by an earlier run

The database is ``QIAO_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/qiao_bench``,
created when missing; its name must contain "bench"). It is EMPTIED of customers and engagement
data first: never point it at a real database. The lake goes to a temporary ``QIAO_HOME``. Prints one JSON object: sizes, build
time, and the summaries of a cold run and an idempotent re-run of ``worklist_generate``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/qiao_bench"
TIERS = [
    ("DIAMOND", 0.01),
    ("PLATINUM", 0.04),
    ("GOLD", 0.15),
    ("ORDINARY", 0.60),
    ("RESTRICTED", 0.20),
]


def _setup(db_url: str, home: Path) -> None:
    os.environ["QIAO_DATABASE_URL"] = db_url
    os.environ["QIAO_HOME"] = str(home)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qiao.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    if db_url.startswith("postgres"):
        import psycopg

        base, name = db_url.rsplit("/", 1)
        with psycopg.connect(base + "/postgres", autocommit=True) as con:
            if not con.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                con.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _copy(model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows fast: COPY on PostgreSQL (every NOT NULL column filled from the model's
    defaults), ``bulk_create`` elsewhere."""
    from django.db import connection
    from django.utils import timezone

    given = set(rows[0]) if rows else set()
    # The keys of the model's columns; others (a customer's tier, kept for later) are ignored.
    fields = [f for f in model._meta.concrete_fields if not f.primary_key or f.attname in given]
    if connection.vendor != "postgresql":
        names = {f.attname for f in fields}
        objs = [model(**{k: v for k, v in r.items() if k in names}) for r in rows]
        model.objects.bulk_create(objs, batch_size=5000)
        return
    now = timezone.now()
    cols, defaults = [], []
    for f in fields:
        cols.append(f.column)
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults.append(now)
        elif f.has_default():
            d = f.get_default()
            defaults.append(json.dumps(d) if f.get_internal_type() == "JSONField" else d)
        elif f.null:
            defaults.append(None)
        else:
            defaults.append("")
    names = [f.attname for f in fields]
    json_cols = {i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"}
    sql = f"COPY {model._meta.db_table} ({', '.join(cols)}) FROM STDIN"
    with connection.cursor() as cur:
        raw = cur.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(sql) as copy:
            for r in rows:
                out = []
                for i, name in enumerate(names):
                    if name in r:
                        v = r[name]
                        out.append(json.dumps(v) if i in json_cols else v)
                    else:
                        out.append(defaults[i])
                copy.write_row(out)


def build(n_customers: int, n_cms: int, day: dt.date, seed: int = 0) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from qiao.customers.models import Customer, CustomerStanding
    from qiao.engagement.models import Complaint, Contact, Prospect, Referral, WorkItem
    from qiao.org.models import OrgUnit, Staff
    from qiao.products.models import Account, Product
    from qiao.scoring.models import ScoreEvent, ScoreSnapshot

    rng = random.Random(seed)
    started = time.perf_counter()
    tables = [
        m._meta.db_table
        for m in (
            WorkItem,
            Contact,
            Referral,
            Prospect,
            Complaint,
            ScoreEvent,
            ScoreSnapshot,
            Account,
            Customer,
        )
    ]
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("TRUNCATE " + ", ".join(tables) + " CASCADE")
        else:
            for t in tables:
                cur.execute(f"DELETE FROM {t}")
    Staff.objects.filter(username__startswith="bench").delete()
    Product.objects.filter(code__startswith="BENCH").delete()
    for unit in OrgUnit.objects.filter(code__startswith="BENCH").order_by("-path"):
        unit.delete()

    ho = OrgUnit.objects.create(
        code="BENCH-HO", name="总行", level="HEAD_OFFICE", path="/BENCH-HO/"
    )
    outlets = []
    for i in range(max(1, n_cms // 10)):
        code = f"BENCH-O{i:03d}"
        outlets.append(
            OrgUnit.objects.create(
                code=code, name=f"网点{i}", level="OUTLET", parent=ho, path=f"/BENCH-HO/{code}/"
            )
        )
    cms = Staff.objects.bulk_create(
        [
            Staff(
                username=f"bench{i:04d}",
                name=f"客户经理{i}",
                role="CM",
                unit=outlets[i % len(outlets)],
                password="!",
            )  # unusable password
            for i in range(n_cms)
        ]
    )
    cm_ids = [s.pk for s in cms]
    td = Product.objects.create(code="BENCH-TD", name="一年定期", category="TIME", term_days=365)
    wm = Product.objects.create(code="BENCH-WM", name="理财", category="WEALTH", risk_level="R2")

    tiers = [t for t, _ in TIERS]
    weights = [w for _, w in TIERS]
    customers = []
    for i in range(n_customers):
        tier = rng.choices(tiers, weights)[0]
        aum = {"DIAMOND": 8e6, "PLATINUM": 2e6, "GOLD": 5e5, "ORDINARY": 5e4, "RESTRICTED": 2e3}[
            tier
        ]
        customers.append(
            {
                "customer_no": f"B{i:08d}",
                "customer_type": "P",
                "name": f"客户{i}",
                "id_type": "RIC",
                "id_no": f"BENCH{i:013d}",
                "branch_id": outlets[i % len(outlets)].pk,
                "open_date": dt.date(2015, 1, 1),
                "primary_manager_id": cm_ids[i % n_cms],
                "tier": tier,
                "aum": Decimal(round(aum * rng.uniform(0.5, 1.5), 2)),
                "birth_date": dt.date(
                    rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28)
                ),
            }
        )
    _copy(Customer, customers)
    ids = dict(Customer.objects.values_list("customer_no", "pk"))
    _copy(
        CustomerStanding,
        [
            {"customer_id": ids[c["customer_no"]], "aum": c["aum"], "tier": c["tier"]}
            for c in customers
        ],
    )
    cadence = [
        (ids[c["customer_no"]], c)
        for c in customers
        if c["tier"] in ("DIAMOND", "PLATINUM", "GOLD")
    ]

    tz = timezone.get_current_timezone()
    contacts = []
    for cid, c in cadence:
        if rng.random() < 0.6:  # 60 % of cadence customers were contacted in the last 45 days
            when = dt.datetime.combine(
                day - dt.timedelta(days=rng.randint(0, 45)), dt.time(10), tzinfo=tz
            )
            contacts.append(
                {
                    "customer_id": cid,
                    "staff_id": c["primary_manager_id"],
                    "channel": rng.choice(["PHONE", "MEETING", "VISIT"]),
                    "at": when,
                }
            )
    _copy(Contact, contacts)

    accounts = []
    for i, cid in enumerate(ids.values()):
        if i % 3 == 0:  # a third of the customers hold a time deposit or wealth product
            accounts.append(
                {
                    "account_no": f"BA{i:09d}",
                    "customer_id": cid,
                    "product_id": (td if i % 2 else wm).pk,
                    "open_date": dt.date(2025, 1, 1),
                    "status": "ACTIVE",
                    "currency": "CNY",
                    "balance": Decimal(rng.randint(10_000, 2_000_000)),
                    "maturity_date": day + dt.timedelta(days=rng.randint(-30, 335)),
                }
            )
    _copy(Account, accounts)

    snapshots = [
        {
            "customer_id": cid,
            "as_of": day - dt.timedelta(days=1),
            "aum": c["aum"],
            "contribution_year": Decimal(0),
            "tier_pyramid": c["tier"],
            "tier_deposit": "",
            "attrition_prob": round(rng.random() * 0.5, 3),
        }
        for cid, c in cadence
    ]
    _copy(ScoreSnapshot, snapshots)
    all_ids = list(ids.values())
    events = [
        {
            "customer_id": rng.choice(all_ids),
            "event_date": day - dt.timedelta(days=rng.randint(0, 6)),
            "kind": rng.choice(["TIER_DOWN", "ATTRITION_UP", "LARGE_INFLOW", "LARGE_OUTFLOW"]),
            "detail": {"amount": rng.randint(50_000, 900_000), "from": "GOLD", "to": "ORDINARY"},
            "as_of": day,
        }
        for _ in range(n_customers // 100)
    ]
    _copy(ScoreEvent, events)

    # The lake: a week of transactions, 0.5 % of them large.
    import pyarrow as pa
    import pyarrow.parquet as pq
    from django.conf import settings

    n_txn = n_customers // 2
    nos = list(ids)
    utc = dt.UTC
    times = [
        dt.datetime.combine(
            day - dt.timedelta(days=rng.randint(0, 6)), dt.time(rng.randint(0, 23)), tzinfo=utc
        )
        for _ in range(n_txn)
    ]
    amounts = [
        Decimal(rng.randint(60_000, 900_000) if rng.random() < 0.005 else rng.randint(10, 5_000))
        for _ in range(n_txn)
    ]
    table = pa.table(
        {
            "txn_id": [f"BT{i:010d}" for i in range(n_txn)],
            "account_no": ["X"] * n_txn,
            "customer_no": [rng.choice(nos) for _ in range(n_txn)],
            "txn_time": pa.array(times, pa.timestamp("us", tz="UTC")),
            "amount": pa.array(amounts, pa.decimal128(18, 2)),
            "direction": [rng.choice("CD") for _ in range(n_txn)],
            "channel": ["MOBILE"] * n_txn,
            "txn_type": ["TRANSFER"] * n_txn,
            "load_id": [1] * n_txn,
        }
    )
    folder = Path(settings.LAKE_DIR) / "transactions" / f"month={day:%Y-%m}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "part-00000001-0.parquet")

    prospects = [
        {
            "number": f"P-{day.year}-B{i:06d}",
            "kind": "PERSON",
            "name": f"潜客{i}",
            "classification": "OTHER",
            "source": "DIRECTORY",
            "expected_value": Decimal(rng.randint(10_000, 5_000_000)),
            "likelihood": rng.randint(5, 90),
            "grade": rng.choice("ABC"),
            "owner_id": cm_ids[i % n_cms],
            "next_review": day - dt.timedelta(days=rng.randint(-20, 5)),
            "status": "ACTIVE",
        }
        for i in range(n_cms * 10)
    ]
    _copy(Prospect, prospects)
    referrals = [
        {
            "to_staff_id": cm_ids[i % n_cms],
            "referrer_staff_id": cm_ids[(i + 1) % n_cms],
            "customer_id": rng.choice(all_ids),
            "reason": "PRODUCT_INTEREST",
            "status": "NEW",
            "created_at": timezone.now(),
            "credited": False,
        }
        for i in range(n_cms * 4)
    ]
    _copy(Referral, referrals)
    complaints = [
        {
            "customer_id": rng.choice(all_ids),
            "received_at": timezone.now() - dt.timedelta(days=14),
            "subject": "等候时间长",
            "deadline": day + dt.timedelta(days=rng.randint(-2, 10)),
            "owner_id": cm_ids[i % n_cms],
            "status": "OPEN",
        }
        for i in range(n_cms * 2)
    ]
    _copy(Complaint, complaints)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    return {
        "customers": n_customers,
        "cms": n_cms,
        "cadence_customers": len(cadence),
        "contacts": len(contacts),
        "accounts": len(accounts),
        "score_events": len(events),
        "lake_transactions": n_txn,
        "prospects": len(prospects),
        "referrals": len(referrals),
        "complaints": len(complaints),
        "build_seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--cms", type=int, default=500)
    parser.add_argument("--day", type=dt.date.fromisoformat, default=dt.date(2026, 3, 10))
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run")
    parser.add_argument("--home", default=None, help="QIAO_HOME for the lake (default: a temp dir)")
    args = parser.parse_args(argv)
    home = Path(args.home or tempfile.mkdtemp(prefix="qiao-bench-"))
    db_url = os.environ.get("QIAO_DATABASE_URL") or DEFAULT_DB
    if "bench" not in db_url.rsplit("/", 1)[-1]:
        # The build empties the customer and engagement tables: refuse anything but a bench database.
        print(
            f"error: {db_url!r} is not a benchmark database (its name must contain 'bench')",
            file=sys.stderr,
        )
        return 2
    _setup(db_url, home)
    from django.db import connection

    from qiao.engagement.models import WorkItem
    from qiao.engagement.worklist import worklist_generate

    report: dict[str, Any] = {"database": connection.vendor, "day": args.day.isoformat()}
    if args.reuse and (home / "lake").exists():
        report["build"] = "reused"
    else:
        report["build"] = build(args.customers, args.cms, args.day)
    WorkItem.objects.all().delete()
    t0 = time.perf_counter()
    first = worklist_generate(day=args.day)
    report["first_run_seconds"] = round(time.perf_counter() - t0, 2)
    report["first_run"] = first
    t0 = time.perf_counter()
    second = worklist_generate(day=args.day)
    report["rerun_seconds"] = round(time.perf_counter() - t0, 2)
    report["rerun_created"] = second["created"]
    t0 = time.perf_counter()
    nxt = worklist_generate(day=args.day + dt.timedelta(days=1))
    report["next_day_seconds"] = round(time.perf_counter() - t0, 2)
    report["next_day"] = nxt
    report["within_60s"] = max(report["first_run_seconds"], report["next_day_seconds"]) <= 60
    print(json.dumps(report, ensure_ascii=False, default=str, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
