"""Ingest throughput: 1 M transactions into the lake and 100 k customers into the database.

Runs each measurement in a fresh process with a fresh database (SQLite file, and a fresh
PostgreSQL database on 127.0.0.1), three times, and prints JSON with the median rows/s.
The same customer file is then loaded again (all rows unchanged: the nightly reload) and
timed too. Targets (issue 2): ≥ 200 k transaction rows/s into the lake; ≥ 20 k customer rows/s into PostgreSQL.

    python bench/bench_ingest.py [--customers 100000] [--transactions 1000000] [--runs 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from stdnum.cn import ric

PG_URL = "postgres://postgres@127.0.0.1:5432/{db}"
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉文斌宇浩然欣怡子涵梓轩"
)


def make_files(folder: Path, n_customers: int, n_txn: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    (folder / "org_units.csv").write_text(
        "unit_code,name,level,parent_code\nHO,总行,HEAD_OFFICE,\nB01,分行,BRANCH,HO\n"
        "S01,支行,SUB_BRANCH,B01\nO0101,网点,OUTLET,S01\n",
        encoding="utf-8",
    )
    (folder / "products.csv").write_text(
        "product_code,name,category\nDEM,活期,DEMAND\n", encoding="utf-8"
    )
    births = rng.integers(0, 365 * 60, n_customers)
    ids, genders, birth_dates = [], [], []
    base = np.datetime64("1950-01-01")
    for i in range(n_customers):
        day = (base + np.timedelta64(int(births[i]), "D")).astype(object)
        seq = f"{i % 999 + 1:03d}"
        body = f"110105{day:%Y%m%d}{seq}"
        ids.append(body + ric.calc_check_digit(body + "0"))  # it ignores the last char
        genders.append("M" if int(seq[-1]) % 2 else "F")
        birth_dates.append(day.isoformat())
    names = [
        SURNAMES[a] + GIVEN[b] + (GIVEN[c] if c % 2 else "")
        for a, b, c in zip(
            rng.integers(0, len(SURNAMES), n_customers),
            rng.integers(0, len(GIVEN), n_customers),
            rng.integers(0, len(GIVEN), n_customers),
        )
    ]
    customer_nos = [f"P{i:09d}" for i in range(n_customers)]
    mobiles = [f"139{x:08d}" for x in rng.integers(0, 10**8, n_customers)]
    pacsv.write_csv(
        pa.table(
            {
                "customer_no": customer_nos,
                "customer_type": ["P"] * n_customers,
                "name": names,
                "id_type": ["RIC"] * n_customers,
                "id_no": ids,
                "gender": genders,
                "birth_date": birth_dates,
                "mobile": mobiles,
                "email": [""] * n_customers,
                "address": ["北京市东城区某街1号"] * n_customers,
                "postal_code": ["100010"] * n_customers,
                "occupation": ["职员"] * n_customers,
                "industry": [""] * n_customers,
                "education": [""] * n_customers,
                "branch_code": ["O0101"] * n_customers,
                "open_date": ["2015-06-01"] * n_customers,
            }
        ),
        folder / "customers.csv",
    )
    n_acct = min(n_customers, 20000)
    pacsv.write_csv(
        pa.table(
            {
                "account_no": [f"6222{i:012d}" for i in range(n_acct)],
                "customer_no": customer_nos[:n_acct],
                "product_code": ["DEM"] * n_acct,
                "open_date": ["2015-06-01"] * n_acct,
            }
        ),
        folder / "accounts.csv",
    )
    acct = rng.integers(0, n_acct, n_txn)
    seconds = rng.integers(0, 86400 * 365, n_txn)
    times = (np.datetime64("2025-01-01T00:00:00") + seconds.astype("timedelta64[s]")).astype(str)
    cents = rng.integers(1, 10**7, n_txn)
    pacsv.write_csv(
        pa.table(
            {
                "txn_id": [f"T{i:010d}" for i in range(n_txn)],
                "account_no": [f"6222{i:012d}" for i in acct],
                "customer_no": [customer_nos[i] for i in acct],
                "txn_time": times,
                "amount": [f"{c // 100}.{c % 100:02d}" for c in cents],
                "direction": np.where(rng.random(n_txn) < 0.5, "C", "D"),
                "channel": rng.choice(["COUNTER", "ATM", "ONLINE", "MOBILE"], n_txn),
                "txn_type": rng.choice(["DEPOSIT", "WITHDRAWAL", "TRANSFER", "PAYMENT"], n_txn),
            }
        ),
        folder / "transactions.csv",
    )


def child(folder: Path) -> None:
    """Runs in a fresh process: load the base files, then time customers and transactions."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qiao.settings")
    import django

    django.setup()
    from qiao.core.database import database_migrate
    from qiao.ingest.services import ingest_file

    database_migrate()
    for name in ("org_units.csv", "products.csv"):
        assert ingest_file(folder / name).ok
    t0 = time.perf_counter()
    customers = ingest_file(folder / "customers.csv")
    t1 = time.perf_counter()
    assert customers.ok and customers.rejected == 0, customers.summary()
    # The nightly case: the same extract again, every row compared and found unchanged.
    again = ingest_file(folder / "customers.csv")
    t_again = time.perf_counter() - t1
    assert again.ok and again.unchanged == customers.loaded, again.summary()
    t1 = time.perf_counter()
    assert ingest_file(folder / "accounts.csv").ok
    t2 = time.perf_counter()
    txns = ingest_file(folder / "transactions.csv")
    t3 = time.perf_counter()
    assert txns.ok and txns.rejected == 0, txns.summary()
    print(
        json.dumps(
            {
                "customers_s": t1 - t0,
                "customers": customers.loaded,
                "customers_unchanged_s": t_again,
                "transactions_s": t3 - t2,
                "transactions": txns.loaded,
            }
        )
    )


def run_once(folder: Path, database: str) -> dict[str, float]:
    env = dict(os.environ)
    home = tempfile.mkdtemp(prefix="qiao-bench-")
    env["QIAO_HOME"] = home
    env.pop("QIAO_DATABASE_URL", None)
    if database == "postgresql":
        db = "qiao_bench_ingest"
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {db}"],
            check=True,
        )
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {db}"],
            check=True,
        )
        env["QIAO_DATABASE_URL"] = PG_URL.format(db=db)
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(folder)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(Path(args.child))
        return
    if args.quick:
        args.customers, args.transactions, args.runs = 5000, 50_000, 1
    folder = Path(tempfile.mkdtemp(prefix="qiao-bench-files-"))
    make_files(folder, args.customers, args.transactions)
    report: dict[str, object] = {
        "customers": args.customers,
        "transactions": args.transactions,
        "runs": args.runs,
    }
    for database in ("sqlite", "postgresql"):
        runs = [run_once(folder, database) for _ in range(args.runs)]
        c = statistics.median(r["customers"] / r["customers_s"] for r in runs)
        u = statistics.median(r["customers"] / r["customers_unchanged_s"] for r in runs)
        t = statistics.median(r["transactions"] / r["transactions_s"] for r in runs)
        report[database] = {
            "customer_rows_per_s_median": round(c),
            "customer_reload_unchanged_rows_per_s_median": round(u),
            "transaction_rows_per_s_median": round(t),
            "customer_seconds": [round(r["customers_s"], 2) for r in runs],
            "transaction_seconds": [round(r["transactions_s"], 2) for r in runs],
        }
    report["targets"] = {
        "transaction_rows_per_s": 200_000,
        "customer_rows_per_s_postgresql": 20_000,
    }
    report["meets_targets"] = (
        report["postgresql"]["transaction_rows_per_s_median"] >= 200_000  # type: ignore[index]
        and report["postgresql"]["customer_rows_per_s_median"] >= 20_000  # type: ignore[index]
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
