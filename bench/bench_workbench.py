"""Workbench latency under load: search, list and the Customer 360 with 20 concurrent users.

Builds (once, then reuses) a bank of ``--customers`` customers on PostgreSQL through the normal
ingest path (org tree of 100 outlets, 8 CMs each, one demand account per customer), then one
primary CM per customer and AUM and tier as the nightly scoring would fill them (in SQL), serves it with ``qiao serve``
(waitress) on loopback, and drives it with ``--users`` threads that each log in and loop over
search → list → 360 for ``--seconds``. Prints JSON: p50/p95 latency (ms) and requests/s per
operation and overall, the load average before and after. Targets (issue 3): search p95 ≤ 100 ms,
360 p95 ≤ 150 ms, list p95 ≤ 200 ms, with ``--think 1`` (decision 0003); with think time the same
users then run ``--ceiling-seconds`` as a closed loop (no think), reported as ``closed_loop``: the
throughput ceiling. The server runs ``qiao serve``'s default processes (one per core) unless
``--workers N`` is given (decision 0011).

    python bench/bench_workbench.py [--customers 1000000] [--users 20] [--seconds 60] [--fresh]
        [--db qiao_bench_workbench] [--home /tmp/qiao_bench_workbench] [--build-only]

The lake is full, as at a bank after two years: ``--txn-per-customer`` transactions per customer
(default 20, 20 M at a million customers) spread over 24 months, and a month-end balance for
every account in each of those months (24 M rows), loaded through the same ingest path, then
scored once (``qiao score``: the 360's AUM chart comes from the snapshot). The 360 reads its
recent transactions (the newest three months) from the lake.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from stdnum.cn import ric

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
DB = "qiao_bench_workbench"
PG_URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
HOME = Path("/tmp/qiao_bench_workbench")
PASSWORD = "bench-password-0123456789"
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉文斌宇浩然欣怡子涵梓轩")
OUTLETS = [f"O{b:02d}{s}{o}" for b in range(1, 5) for s in range(1, 6) for o in range(1, 6)]
CMS_PER_OUTLET = 8


def use_bank(db: str, home: Path) -> None:
    """Point the bench at database ``db`` and QIAO_HOME ``home`` (``--db``, ``--home``)."""
    global DB, PG_URL, HOME
    DB, HOME = db, Path(home)
    PG_URL = f"postgres://postgres@127.0.0.1:5432/{DB}"


def db_exists() -> bool:
    """Whether the bench database exists."""
    return bool(
        subprocess.run(
            ["psql", PG_ADMIN, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DB}'"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )


def _psql(sql: str) -> None:
    subprocess.run(["psql", PG_ADMIN, "-q", "-c", sql], check=True, capture_output=True)


def make_extracts(folder: Path, n: int, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    units = ["unit_code,name,level,parent_code", "HO,总行,HEAD_OFFICE,"]
    for b in range(1, 5):
        units.append(f"B{b:02d},分行{b},BRANCH,HO")
        for s in range(1, 6):
            units.append(f"S{b:02d}{s},支行{b}{s},SUB_BRANCH,B{b:02d}")
            for o in range(1, 6):
                units.append(f"O{b:02d}{s}{o},网点{b}{s}{o},OUTLET,S{b:02d}{s}")
    (folder / "org_units.csv").write_text("\n".join(units) + "\n", encoding="utf-8")
    staff = ["staff_no,name,role,unit_code", "analyst,分析员,ANALYST,HO"]
    for outlet in OUTLETS:
        staff.append(f"H{outlet},主任{outlet},OUTLET_HEAD,{outlet}")
        staff += [f"C{outlet}{k},经理{outlet}{k},CM,{outlet}" for k in range(CMS_PER_OUTLET)]
    (folder / "staff.csv").write_text("\n".join(staff) + "\n", encoding="utf-8")
    (folder / "products.csv").write_text(
        "product_code,name,category\nDEM,活期,DEMAND\n", encoding="utf-8"
    )
    base = np.datetime64("1950-01-01")
    births = base + rng.integers(0, 365 * 55, n).astype("timedelta64[D]")
    ids = []
    for i, day in enumerate(births.astype(str)):
        body = f"110105{day.replace('-', '')}{i % 999 + 1:03d}"
        ids.append(body + ric.calc_check_digit(body + "0"))  # it ignores the last character
    names = [
        SURNAMES[a] + GIVEN[b] + (GIVEN[c] if c % 3 else "")
        for a, b, c in zip(
            rng.integers(0, len(SURNAMES), n),
            rng.integers(0, len(GIVEN), n),
            rng.integers(0, len(GIVEN), n),
        )
    ]
    numbers = [f"P{i:09d}" for i in range(n)]
    outlet_of = [OUTLETS[i % len(OUTLETS)] for i in range(n)]
    pacsv.write_csv(
        pa.table(
            {
                "customer_no": numbers,
                "customer_type": ["P"] * n,
                "name": names,
                "id_type": ["RIC"] * n,
                "id_no": ids,
                # Unique: 7919 is coprime with 10^8.
                "mobile": [f"139{(i * 7919) % 10**8:08d}" for i in range(n)],
                "occupation": rng.choice(["教师", "医生", "职员", "个体", "工程师"], n),
                "branch_code": outlet_of,
                "open_date": ["2015-06-01"] * n,
            }
        ),
        folder / "customers.csv",
    )
    pacsv.write_csv(
        pa.table(
            {
                "account_no": [f"6222{i:012d}" for i in range(n)],
                "customer_no": numbers,
                "product_code": ["DEM"] * n,
                "open_date": ["2015-06-01"] * n,
                "balance": [f"{x}.00" for x in rng.integers(0, 500_000, n)],
            }
        ),
        folder / "accounts.csv",
    )


def _month_ends(months: int, today: dt.date) -> list[dt.date]:
    """The last ``months`` month ends before ``today``'s month, oldest first."""
    first_of_month = today.replace(day=1)
    ends = []
    for back in range(months, 0, -1):
        index = first_of_month.year * 12 + first_of_month.month - 1 - back + 1
        ends.append(dt.date(index // 12, index % 12 + 1, 1) - dt.timedelta(days=1))
    return ends


def make_lake_extracts(folder: Path, n: int, per_customer: int, months: int = 24) -> list[Path]:
    """Monthly transaction and balance extracts (Parquet) for customers ``P0..P{n-1}``."""
    rng = np.random.default_rng(5)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []

    def account(idx: np.ndarray) -> pa.Array:
        return pc.binary_join_element_wise(
            "6222", pc.utf8_lpad(pc.cast(pa.array(idx), pa.string()), 12, "0"), ""
        )

    def customer(idx: np.ndarray) -> pa.Array:
        return pc.binary_join_element_wise(
            "P", pc.utf8_lpad(pc.cast(pa.array(idx), pa.string()), 9, "0"), ""
        )

    balance = rng.integers(0, 500_000, n).astype(np.float64)
    per_month = n * per_customer // months
    for m, end in enumerate(_month_ends(months, dt.date.today())):
        start = end.replace(day=1)
        who = rng.integers(0, n, per_month)
        seconds = rng.integers(0, (end - start).days * 86_400 + 86_400, per_month)
        times = np.datetime64(start.isoformat(), "s") + seconds.astype("timedelta64[s]")
        cents = rng.integers(100, 5_000_000, per_month)
        txn = pa.table(
            {
                "txn_id": pc.binary_join_element_wise(
                    f"T{m:02d}-", pc.cast(pa.array(np.arange(per_month)), pa.string()), ""
                ),
                "account_no": account(who),
                "customer_no": customer(who),
                "txn_time": pc.cast(pa.array(times), pa.string()),
                "amount": pc.cast(pa.array(cents / 100.0), pa.string()),
                "direction": pa.array(np.where(rng.random(per_month) < 0.5, "C", "D")),
                "channel": pa.array(rng.choice(["COUNTER", "ATM", "ONLINE", "MOBILE"], per_month)),
                "txn_type": pa.array(rng.choice(["DEPOSIT", "WITHDRAWAL", "TRANSFER"], per_month)),
            }
        )
        paths.append(folder / f"transactions_{end:%Y%m}.parquet")
        pq.write_table(txn, paths[-1])
        balance = np.maximum(0.0, balance * rng.normal(1.0, 0.05, n)).round(2)
        bal = pa.table(
            {
                "account_no": account(np.arange(n)),
                "balance_date": pa.array([end.isoformat()] * n),
                "balance": pc.cast(pa.array(balance), pa.string()),
            }
        )
        paths.append(folder / f"balances_{end:%Y%m}.parquet")
        pq.write_table(bal, paths[-1])
    return paths


def build(n: int, fresh: bool, per_customer: int) -> None:
    """Runs in a child process with the bench database in the environment."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qiao.settings")
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from qiao.core.database import database_migrate
    from qiao.customers.models import Customer
    from qiao.ingest.services import ingest_file
    from qiao.org.models import Staff

    database_migrate()
    if Customer.objects.count() >= n and not fresh:
        build_lake(n, per_customer)
        score_once()
        return
    folder = HOME / "extracts"
    t0 = time.perf_counter()
    make_extracts(folder, n)
    print(f"extracts in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    for name in ("org_units", "staff", "products", "customers", "accounts"):
        t0 = time.perf_counter()
        result = ingest_file(folder / f"{name}.csv")
        assert result.ok and result.rejected == 0, result.summary()
        print(
            f"{result.summary()}  ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True
        )
    Staff.objects.update(password=make_password(PASSWORD))
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        # One primary CM per customer, spread over the outlet's CMs. Set in SQL: the ownership
        # extract's applier closes earlier primaries with one UPDATE per row, which takes too long
        # for a million rows (reported to the ingest owner).
        cur.execute(
            "INSERT INTO customers_ownership (customer_id, staff_id, role, start_date, note, "
            "created_at) SELECT c.id, s.id, 'PRIMARY', DATE '2020-01-01', '', now() "
            "FROM customers_customer c JOIN org_orgunit u ON u.id = c.branch_id "
            "JOIN org_staff s ON s.username = 'C' || u.code || "
            f"((substr(c.customer_no, 2)::bigint / {len(OUTLETS)}) % {CMS_PER_OUTLET})"
        )
        cur.execute(
            "UPDATE customers_customer c SET primary_manager_id = o.staff_id "
            "FROM customers_ownership o WHERE o.customer_id = c.id AND o.end_date IS NULL "
            "AND o.role = 'PRIMARY'"
        )
        # What the nightly scoring would write: AUM from the account, a tier from AUM.
        cur.execute(
            "UPDATE customers_standing s SET aum = a.balance, contribution = a.balance * 0.004, "
            "tier = CASE WHEN a.balance >= 450000 THEN 'PLATINUM' WHEN a.balance >= 300000 "
            "THEN 'GOLD' ELSE 'ORDINARY' END FROM products_account a WHERE a.customer_id = s.customer_id"
        )
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    print(f"ownership, AUM, tiers in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    build_lake(n, per_customer)


def build_lake(n: int, per_customer: int) -> None:
    from django.conf import settings

    from qiao.ingest.services import ingest_file

    if per_customer <= 0 or (Path(settings.LAKE_DIR) / "transactions").is_dir():
        return
    t0 = time.perf_counter()
    paths = make_lake_extracts(HOME / "lake-extracts", n, per_customer)
    print(f"lake extracts in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    for path in paths:
        result = ingest_file(path)
        assert result.ok and result.rejected == 0, result.summary()
    print(f"lake loaded in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    score_once()


def score_once() -> None:
    """The nightly scoring over the whole bank (the 360 draws its AUM chart from it)."""
    from qiao.scoring.models import ScoreSnapshot
    from qiao.scoring.services import score_run

    if ScoreSnapshot.objects.exists():
        return
    t0 = time.perf_counter()
    run = score_run()
    assert run.ok, run
    print(f"scored {run.customers} customers in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    from django.db import connection

    # As autovacuum would, before measuring a steady state: every table the scoring wrote (the
    # standings too: left unvacuumed, each index-only probe of a standing visits the heap, which
    # made an outlet's "largest first" ~2x slower). The whole database: a few seconds.
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")


def plan_users(users: int) -> list[dict[str, object]]:
    """Who logs in, and the customers each will search for and open (read before the load)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qiao.settings")
    import django

    django.setup()
    from qiao.customers.selectors import customers_visible_to
    from qiao.org.models import Staff

    rng = random.Random(11)
    cms = list(Staff.objects.filter(role="CM").order_by("?")[: max(1, users - 4)])
    heads = list(Staff.objects.filter(role="OUTLET_HEAD").order_by("?")[:2])
    analysts = list(Staff.objects.filter(role="ANALYST")[:1]) * 2
    plan = []
    for staff in (cms + heads + analysts)[:users]:
        sample = list(
            customers_visible_to(staff=staff)
            .order_by("?")
            .values("customer_no", "name_initials", "mobile", "id_tail4")[:50]
        )
        queries = []
        for c in sample:
            queries += [c["name_initials"][:2], c["mobile"], c["id_tail4"], c["customer_no"]]
        rng.shuffle(queries)
        plan.append(
            {
                "username": staff.username,
                "role": staff.role,
                "customers": [c["customer_no"] for c in sample],
                "queries": queries,
            }
        )
    return plan


def _user(
    base: str, plan: dict, deadline: float, warmup_until: float, out: dict, think: float = 0.0
) -> None:
    import requests

    s = requests.Session()
    page = s.get(f"{base}/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    r = s.post(
        f"{base}/login/",
        data={"username": plan["username"], "password": PASSWORD, "csrfmiddlewaretoken": token},
        allow_redirects=False,
    )
    assert r.status_code == 302, (plan["username"], r.status_code)
    csrf = s.cookies.get("csrftoken")
    rng = random.Random(plan["username"])
    ops = ["search", "list", "360"]
    i = 0
    while time.perf_counter() < deadline:
        op = ops[i % 3]
        i += 1
        t0 = time.perf_counter()
        if op == "search":
            r = s.post(
                f"{base}/customers/search/",
                data={"q": rng.choice(plan["queries"])},
                headers={"X-CSRFToken": csrf, "HX-Request": "true"},
            )
        elif op == "list":
            sort = rng.choice(["-aum", "-contribution", "last_contact_at"])
            r = s.get(f"{base}/customers/?sort={sort}&page={rng.randint(1, 5)}")
        else:
            r = s.get(f"{base}/customers/{rng.choice(plan['customers'])}/")
        elapsed = time.perf_counter() - t0
        if r.status_code != 200:
            out.setdefault("errors", []).append((op, r.status_code))
        elif t0 >= warmup_until:
            out.setdefault(op, []).append(elapsed)
        if think:
            time.sleep(rng.uniform(0.5 * think, 1.5 * think))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        return []
    return [pid] + [d for k in kids for d in _tree(k)]


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command (``None``: the process is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        if (fields := _stat(pid)) is not None:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process on this machine, and of the backends that ended
    (the postmaster's reaped children: a connection older than 60 s is closed and reopened)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == "postgres":
                        pids.append(int(entry))
            except OSError:
                continue
    reaped = 0.0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None and int(fields[1]) == 1:  # the postmaster
            reaped = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
            break
    return _cpu_seconds(pids) + reaped


def _machine() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine so far (/proc/stat)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]
    return (sum(values) - idle) / tick, sum(values) / tick


SERVER_PIDS: list[int] = []


def _drive(
    bases: list[str], plans: list[dict], warmup: float, seconds: float, think: float
) -> list[dict]:
    """Every planned user logs in and works for ``warmup + seconds``; what each measured (and,
    in ``results[0]["cpu"]``, the CPU the servers, this load generator and the machine used over
    the measured seconds)."""
    start = time.perf_counter()
    warmup_until = start + warmup
    deadline = warmup_until + seconds
    cpu: dict[str, float] = {}

    def sample(key: str) -> None:
        time.sleep(max(0.0, warmup_until - time.perf_counter()) if key == "start" else 0.0)
        pids = [p for s in SERVER_PIDS for p in _tree(s)]
        cpu[f"{key}_server"] = _cpu_seconds(pids)
        cpu[f"{key}_self"] = sum(os.times()[:2])
        cpu[f"{key}_postgres"] = _postgres_cpu()
        cpu[f"{key}_busy"], cpu[f"{key}_total"] = _machine()

    sampler = threading.Thread(target=sample, args=("start",))
    sampler.start()
    results: list[dict] = [{} for _ in plans]
    threads = [
        threading.Thread(
            target=_user,
            args=(bases[i % len(bases)], p, deadline, warmup_until, results[i], think),
        )
        for i, p in enumerate(plans)
    ]
    for t in threads:
        t.start()
    sampler.join()
    time.sleep(max(0.0, deadline - time.perf_counter()))
    sample("end")
    for t in threads:
        t.join(timeout=warmup + seconds + 120)
    busy = cpu["end_busy"] - cpu["start_busy"]
    total = cpu["end_total"] - cpu["start_total"]
    server = cpu["end_server"] - cpu["start_server"]
    generator = cpu["end_self"] - cpu["start_self"]
    postgres = cpu["end_postgres"] - cpu["start_postgres"]
    cores = total / seconds if seconds else 0.0
    results[0]["cpu"] = {
        "server_cpu_s": round(server, 1),
        "postgres_cpu_s": round(postgres, 1),
        "load_generator_cpu_s": round(generator, 1),
        # Anything else the machine ran meanwhile (another engineer's jobs): what the bench did
        # not cause but had to share the cores with.
        "other_cpu_s": round(busy - server - postgres - generator, 1),
        "machine_busy": round(busy / total, 2) if total else None,
        "cores": round(cores, 1),
    }
    return results


def _summary(results: list[dict], seconds: float) -> dict[str, object]:
    out: dict[str, object] = {}
    everything: list[float] = []
    for op in ("search", "list", "360"):
        values = [v for r in results for v in r.get(op, [])]
        everything += values
        out[op] = {
            "requests": len(values),
            "per_second": round(len(values) / seconds, 1),
            "p50_ms": round(_pct(values, 0.50), 1) if values else None,
            "p95_ms": round(_pct(values, 0.95), 1) if values else None,
            "mean_ms": round(statistics.fmean(values) * 1000, 1) if values else None,
        }
    out["overall_per_second"] = round(len(everything) / seconds, 1)
    cpu = dict(results[0].get("cpu", {})) if results else {}
    if cpu and everything:
        # The servers' own CPU per measured request (PostgreSQL not included), and how busy the
        # whole machine was: near 1.0 the cores were saturated and latency is queueing.
        cpu["server_cpu_ms_per_request"] = round(1000 * cpu["server_cpu_s"] / len(everything), 1)
        cpu["with_postgres_cpu_ms_per_request"] = round(
            1000 * (cpu["server_cpu_s"] + cpu["postgres_cpu_s"]) / len(everything), 1
        )
    out["cpu"] = cpu
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument(
        "--processes", type=int, default=1, help="server processes (users spread over them)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="qiao serve --workers: processes per server on one port (default: the server's)",
    )
    parser.add_argument(
        "--ceiling-seconds",
        type=int,
        default=30,
        help="with --think: then a closed loop (no think) this long, its throughput (0: skip)",
    )
    parser.add_argument(
        "--think", type=float, default=0.0, help="seconds each user waits between requests"
    )
    parser.add_argument("--port", type=int, default=8911)
    parser.add_argument(
        "--txn-per-customer", type=int, default=20, help="lake transactions per customer (0: none)"
    )
    parser.add_argument("--fresh", action="store_true", help="drop and rebuild the bench database")
    parser.add_argument("--db", default=DB, help=f"PostgreSQL database name (default {DB})")
    parser.add_argument("--home", type=Path, default=HOME, help=f"QIAO_HOME (default {HOME})")
    parser.add_argument(
        "--build-only", action="store_true", help="build (or reuse) the bank, measure nothing"
    )
    parser.add_argument("--_build", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--_plan", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    use_bank(args.db, args.home)
    if args._build:
        build(args.customers, args.fresh, args.txn_per_customer)
        return
    if args._plan:
        print(json.dumps(plan_users(args.users), ensure_ascii=False))
        return
    HOME.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "QIAO_DATABASE_URL": PG_URL,
        "QIAO_HOME": str(HOME),
        "QIAO_REVEAL_RATE_PER_HOUR": "100000",
    }
    if args.fresh:
        _psql(f"DROP DATABASE IF EXISTS {DB}")
        shutil.rmtree(HOME / "lake", ignore_errors=True)
    if not db_exists():
        _psql(f"CREATE DATABASE {DB}")
    t0 = time.perf_counter()
    me = [
        sys.executable,
        __file__,
        "--customers",
        str(args.customers),
        "--users",
        str(args.users),
        "--txn-per-customer",
        str(args.txn_per_customer),
        "--db",
        DB,
        "--home",
        str(HOME),
    ]
    subprocess.run([*me, "--_build", *(["--fresh"] if args.fresh else [])], env=env, check=True)
    build_s = time.perf_counter() - t0
    if args.build_only:
        print(json.dumps({"customers": args.customers, "db": DB, "build_seconds": round(build_s)}))
        return
    plans = json.loads(
        subprocess.run([*me, "--_plan"], env=env, check=True, capture_output=True, text=True).stdout
    )
    # --workers N: `qiao serve --workers N`, N processes on one port (decision 0011; default: the
    # server's own, one per core). --processes N: N separate servers on consecutive ports, the
    # users spread over them in turn (a load balancer's share without one).
    workers = ["--workers", str(args.workers)] if args.workers is not None else []
    servers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from qiao.cli import main; sys.exit(main(sys.argv[1:]))",
                "serve",
                "--port",
                str(args.port + k),
                "--threads",
                str(args.threads),
                *workers,
            ],
            env={**env, "QIAO_LOG_LEVEL": "ERROR"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for k in range(args.processes)
    ]
    bases = [f"http://127.0.0.1:{args.port + k}" for k in range(args.processes)]
    SERVER_PIDS[:] = [server.pid for server in servers]
    load_before = os.getloadavg()
    ceiling: dict[str, object] | None = None
    try:
        import requests

        for base in bases:
            for _ in range(120):
                try:  # the first page takes seconds on a loaded machine (imports, templates)
                    requests.get(f"{base}/login/", timeout=30)
                    break
                except requests.RequestException:
                    time.sleep(0.5)
        results = _drive(bases, plans, args.warmup, args.seconds, args.think)
        load_after = os.getloadavg()
        if args.think and args.ceiling_seconds:
            # The closed loop (no think time) beside it: the throughput ceiling (decision 0003).
            closed = _drive(bases, plans, args.warmup, args.ceiling_seconds, 0.0)
            ceiling = {
                "seconds": args.ceiling_seconds,
                **_summary(closed, args.ceiling_seconds),
                "errors": sum(len(r.get("errors", [])) for r in closed),
                "load_after": [round(x, 2) for x in os.getloadavg()],
            }
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
    report: dict[str, object] = {
        "customers": args.customers,
        "users": len(plans),
        "seconds": args.seconds,
        "think": args.think,
        "waitress_threads": args.threads,
        "server_processes": args.processes,
        "workers_per_server": args.workers if args.workers is not None else "default (cores)",
        "cpus": os.cpu_count(),
        "build_seconds": round(build_s),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        **_summary(results, args.seconds),
    }
    by_role: dict[str, dict[str, object]] = {}
    for plan, result in zip(plans, results):
        for op in ("search", "list", "360"):
            by_role.setdefault(str(plan["role"]), {}).setdefault(op, []).extend(result.get(op, []))  # type: ignore[union-attr]
    report["p95_ms_by_role"] = {
        role: {op: round(_pct(v, 0.95), 1) if v else None for op, v in ops.items()}  # type: ignore[union-attr]
        for role, ops in by_role.items()
    }
    report["errors"] = sum(len(r.get("errors", [])) for r in results)
    if ceiling is not None:
        report["closed_loop"] = ceiling
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
