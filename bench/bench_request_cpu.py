"""Bench: the CPU one workbench request costs, split into Django (this process) and PostgreSQL.

Latency on a shared machine moves with the load average; the CPU a request consumes hardly does.
This opens the pages of ``bench/bench_workbench.py`` (search, list, 360) and the product page of
``bench/bench_shelf.py`` through Django's test client in one process, against the bench bank
(``--db``, ``--home``), one request at a time, as a customer manager, an outlet head and a
head-office analyst, and measures per request:

- ``django_cpu_ms``: this process's CPU (``time.process_time``: Python, templates, the DuckDB
  lake reads, which run in this process, all threads);
- ``pg_cpu_ms``: the PostgreSQL backend's CPU (``/proc/<backend pid>/stat``, one persistent
  connection; PostgreSQL must run on this machine);
- ``pg_workers_cpu_ms``: the CPU of PostgreSQL's parallel query workers, read as the
  postmaster's reaped children's CPU — which also counts any other client's backend that ends
  during the request (another session's tests on the same server), so the largest tenth of the
  requests' figures is dropped before the mean;
- ``queries`` and ``sql_ms`` (wall time inside the database calls);
- ``wall_ms``.

Per role and page, over ``--requests`` requests after ``--warmup``: wall time and queries as
medians, CPU as means (the kernel counts CPU in 10 ms ticks). ``--profile OP``
prints the cProfile of that page's requests in CPU time (cumulative, top ``--top``) to stderr. Prints JSON,
with the load average before and after: the CPU figures are what to compare between runs.

    python bench/bench_request_cpu.py --db qiao_bench1m --home /tmp/bench1m [--requests 30]
        [--ops search,list,360,product] [--profile 360]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_workbench as wb  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
OPS = ("search", "list", "360", "product")


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()  # fields from the 3rd (state) on


def _proc_cpu(pid: int) -> float:
    """Seconds of CPU (user + system) process ``pid`` has used."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / TICK


def _children_cpu(pid: int) -> float:
    """Seconds of CPU of the reaped children of ``pid`` (the postmaster: parallel query workers,
    and any backend that ended meanwhile — another client's too)."""
    fields = _stat(pid)
    return (int(fields[13]) + int(fields[14])) / TICK


class _SqlTimer:
    def __init__(self) -> None:
        self.queries = 0
        self.seconds = 0.0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - t0
            self.queries += 1


def _trimmed_mean(values: list[float]) -> float:
    """The mean without the largest tenth: another client's backend that ends during a request
    lands in the postmaster's children's CPU all at once (seconds), not in every request."""
    kept = sorted(values)[: max(1, len(values) - max(1, len(values) // 10))]
    return statistics.fmean(kept)


def _users() -> dict[str, Any]:
    from qiao.org.models import Staff

    return {
        "CM": Staff.objects.filter(role="CM", unit__code="O0111").order_by("username").first(),
        "OUTLET_HEAD": Staff.objects.filter(role="OUTLET_HEAD", unit__code="O0111").first(),
        "ANALYST": Staff.objects.filter(role="ANALYST").order_by("username").first(),
    }


def _requests_for(staff: Any, op: str, n: int, rng: random.Random) -> list[Callable[[Any], Any]]:
    """``n`` requests of ``op`` for ``staff`` (functions of a test client), as the load bench
    makes them."""
    from qiao.customers.selectors import customers_visible_to

    sample = list(
        customers_visible_to(staff=staff)
        .order_by("?")
        .values("customer_no", "name_initials", "mobile", "id_tail4")[:50]
    )
    queries = [
        q
        for c in sample
        for q in (c["name_initials"][:2], c["mobile"], c["id_tail4"], c["customer_no"])
    ]
    calls: list[Callable[[Any], Any]] = []
    for i in range(n):
        if op == "search":
            calls.append(_search(rng.choice(queries)))
        elif op == "list":
            sort = rng.choice(["-aum", "-contribution", "last_contact_at"])
            calls.append(_get(f"/customers/?sort={sort}&page={rng.randint(1, 5)}"))
        elif op == "360":
            calls.append(_get(f"/customers/{rng.choice(sample)['customer_no']}/"))
        else:
            calls.append(_get(f"/products/{('DEM', 'WM-R3')[i % 2]}/"))
    return calls


def _get(url: str) -> Callable[[Any], Any]:
    return lambda client: client.get(url)


def _search(query: str) -> Callable[[Any], Any]:
    return lambda client: client.post("/customers/search/", {"q": query}, HTTP_HX_REQUEST="true")


def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qiao.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    connection.settings_dict["CONN_MAX_AGE"] = None  # one backend for the whole run
    rng = random.Random(7)
    report: dict[str, Any] = {
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "pages": {},
    }
    ops = [o for o in args.ops.split(",") if o]
    for role, staff in _users().items():
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(staff)
        for op in ops:
            calls = _requests_for(staff, op, args.warmup + args.requests, rng)
            rows: list[dict[str, float]] = []
            profiler = (
                cProfile.Profile(time.process_time) if op in args.profile.split(",") else None
            )
            for i, call in enumerate(calls):
                timer = _SqlTimer()
                connection.ensure_connection()
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_backend_pid()")
                    (pid,) = cur.fetchone()
                postmaster = int(_stat(pid)[1])
                pg0, py0, t0 = _proc_cpu(pid), time.process_time(), time.perf_counter()
                workers0 = _children_cpu(postmaster)
                with connection.execute_wrapper(timer):
                    if profiler is not None and i >= args.warmup:
                        profiler.enable()
                    response = call(client)
                    if profiler is not None:
                        profiler.disable()
                wall, py1, pg1 = time.perf_counter(), time.process_time(), _proc_cpu(pid)
                workers1 = _children_cpu(postmaster)
                assert response.status_code == 200, (role, op, response.status_code)
                if i >= args.warmup:
                    rows.append(
                        {
                            "wall_ms": (wall - t0) * 1000,
                            "django_cpu_ms": (py1 - py0) * 1000,
                            "pg_cpu_ms": (pg1 - pg0) * 1000,
                            "pg_workers_cpu_ms": (workers1 - workers0) * 1000,
                            "queries": timer.queries,
                            "sql_ms": timer.seconds * 1000,
                        }
                    )
            # Wall time and queries as medians; CPU as means (the kernel counts a process's CPU in
            # 10 ms ticks, so a median of a few-tick figure is all or nothing).
            report["pages"][f"{role} {op}"] = {
                "wall_ms_p50": round(statistics.median(r["wall_ms"] for r in rows), 1),
                "django_cpu_ms": round(statistics.fmean(r["django_cpu_ms"] for r in rows), 1),
                "pg_cpu_ms": round(statistics.fmean(r["pg_cpu_ms"] for r in rows), 1),
                "pg_workers_cpu_ms": round(
                    _trimmed_mean([r["pg_workers_cpu_ms"] for r in rows]), 1
                ),
                "queries": statistics.median(r["queries"] for r in rows),
                "sql_ms_p50": round(statistics.median(r["sql_ms"] for r in rows), 1),
                "requests": len(rows),
            }
            if profiler is not None:
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
                stats.print_stats(args.top)
                if args.profile_dump:
                    stats.dump_stats(f"{args.profile_dump}-{role}-{op}.prof")
                print(f"==== {role} {op}\n{out.getvalue()}", file=sys.stderr)
    pages = report["pages"].values()
    report["cpu_ms_per_op"] = {  # the median over the three roles of each role's mean
        op: round(
            statistics.median(
                p["django_cpu_ms"] + p["pg_cpu_ms"] + p["pg_workers_cpu_ms"]
                for k, p in report["pages"].items()
                if k.endswith(f" {op}")
            ),
            1,
        )
        for op in ops
    }
    report["requests"] = sum(p["requests"] for p in pages)
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="qiao_bench1m")
    parser.add_argument("--home", type=Path, default=Path("/tmp/bench1m"))
    parser.add_argument("--requests", type=int, default=30, help="per role and page")
    parser.add_argument("--warmup", type=int, default=5, help="per role and page")
    parser.add_argument("--ops", default=",".join(OPS), help="of " + ",".join(OPS))
    parser.add_argument("--profile", default="", help="pages to profile (cProfile to stderr)")
    parser.add_argument("--top", type=int, default=60)
    parser.add_argument(
        "--profile-dump",
        default="",
        help="also write each profile to PREFIX-<role>-<page>.prof (pstats, for snakeviz or "
        "pstats.Stats.print_callees)",
    )
    args = parser.parse_args()
    wb.use_bank(args.db, args.home)
    os.environ["QIAO_DATABASE_URL"] = wb.PG_URL
    os.environ["QIAO_HOME"] = str(wb.HOME)
    os.environ.setdefault("QIAO_REVEAL_RATE_PER_HOUR", "100000")
    os.environ.setdefault("QIAO_LOG_LEVEL", "ERROR")
    print(json.dumps(run(args), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
