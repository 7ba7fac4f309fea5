"""Bench: the product page (/products/<code>/) on the workbench bench's bank.

Uses the bank of ``bench/bench_workbench.py`` (PostgreSQL; built first when missing, without the
lake: ``--txn-per-customer 0``), and adds, once: a wealth product ``WM-R3`` (R3, on sale, minimum
¥10,000) held by every tenth customer, and risk assessments for ~85 % of the customers (C1-C5,
assessed over the last 420 days and valid a year, so ~13 % of them expired; 2 % qualified
investors), loaded with SQL as a core-banking load would leave them. Then serves the bank with
``qiao serve`` (waitress) on loopback and opens the page of the widely held demand deposit
``DEM`` (every customer holds it) and of ``WM-R3`` as a customer manager, an outlet head and a
head-office analyst, one request at a time (``--requests`` each after ``--warmup``). Prints JSON:
p50 / p95 / mean ms per role and product, and the load average. Target (issue 14): p95 ≤ 150 ms
at 1 M customers.

    python bench/bench_shelf.py --db qiao_bench1m --home /tmp/bench1m [--customers 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_workbench as wb  # noqa: E402

PRODUCTS = ("DEM", "WM-R3")


def _add_shelf(connection: Any) -> None:
    """The wealth product, every tenth customer's account of it, and the assessments."""
    from qiao.products.models import Product

    Product.objects.create(
        code="WM-R3",
        name="稳健增利理财R3",
        category="WEALTH",
        seller_risk_level="R3",
        sale_status="ON_SALE",
        min_amount=10000,
        motives="APPRECIATE",
    )
    wm = Product.objects.get(code="WM-R3").pk
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO products_account (account_no, customer_id, product_id, open_date, "
            "status, currency, balance, branch_code) SELECT 'WM' || c.id, c.id, %s, "
            "DATE '2025-01-15', 'ACTIVE', 'CNY', 10000 + (c.id * 7919) %% 990000, '' "
            "FROM customers_customer c WHERE c.id %% 10 = 3",
            [wm],
        )
        cur.execute(
            "INSERT INTO suitability_riskassessment (customer_id, tolerance, score, answers, "
            "questionnaire_version, assessed_on, valid_until, source, customer_signed, "
            "qualified_investor, qualified_evidence, elderly, created_at) "
            "SELECT id, 'C' || (1 + (id * 31) % 5), NULL, '{}', '', d, "
            "(d + INTERVAL '1 year' - INTERVAL '1 day')::date, 'CORE', TRUE, "
            "id % 50 = 0, CASE WHEN id % 50 = 0 THEN 'bench' ELSE '' END, FALSE, now() "
            "FROM (SELECT id, CURRENT_DATE - ((id * 17) % 420)::int AS d "
            "FROM customers_customer WHERE (id * 7919) % 100 < 85) s"
        )


def setup() -> dict[str, object]:
    """Runs in a child process with the bank in the environment: the wealth product, its
    accounts and the assessments (once), and who logs in."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qiao.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from qiao.org.models import Staff
    from qiao.products.models import Product

    t0 = time.perf_counter()
    created = False
    if not Product.objects.filter(code="WM-R3").exists():
        created = True
        with transaction.atomic():
            _add_shelf(connection)
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE products_account")
            cur.execute("VACUUM ANALYZE suitability_riskassessment")
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*), count(*) FILTER (WHERE valid_until < CURRENT_DATE) "
            "FROM suitability_riskassessment"
        )
        assessed, expired = cur.fetchone()
        cur.execute(
            "SELECT p.code, count(*) FROM products_account a JOIN products_product p "
            "ON p.id = a.product_id WHERE p.code IN ('DEM', 'WM-R3') GROUP BY p.code"
        )
        holders = dict(cur.fetchall())
        cur.execute("SELECT count(*) FROM customers_customer")
        (customers,) = cur.fetchone()
    cm = (
        Staff.objects.filter(role="CM", unit__code="O0111")
        .order_by("username")
        .values_list("username", flat=True)
        .first()
    )
    head = Staff.objects.filter(role="OUTLET_HEAD", unit__code="O0111").values_list(
        "username", flat=True
    )[0]
    analyst = Staff.objects.filter(role="ANALYST").values_list("username", flat=True)[0]
    return {
        "customers": customers,
        "assessments": assessed,
        "assessments_expired": expired,
        "holders": holders,
        "setup_seconds": round(time.perf_counter() - t0, 1),
        "created": created,
        "users": {"CM": cm, "OUTLET_HEAD": head, "ANALYST": analyst},
    }


def _login(base: str, username: str) -> object:
    import re

    import requests

    s = requests.Session()
    page = s.get(f"{base}/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no login form"
    r = s.post(
        f"{base}/login/",
        data={"username": username, "password": wb.PASSWORD, "csrfmiddlewaretoken": token[1]},
        allow_redirects=False,
    )
    assert r.status_code == 302, (username, r.status_code)
    return s


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="qiao_bench1m")
    parser.add_argument("--home", type=Path, default=Path("/tmp/bench1m"))
    parser.add_argument("--customers", type=int, default=1_000_000, help="when building the bank")
    parser.add_argument("--requests", type=int, default=40, help="per role and product")
    parser.add_argument("--warmup", type=int, default=3, help="per role and product")
    parser.add_argument("--port", type=int, default=8913)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="qiao serve --workers (default: the server's, one per core; decision 0011)",
    )
    parser.add_argument("--_setup", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._setup:
        print(json.dumps(setup(), ensure_ascii=False))
        return
    wb.use_bank(args.db, args.home)
    env = {
        **os.environ,
        "QIAO_DATABASE_URL": wb.PG_URL,
        "QIAO_HOME": str(wb.HOME),
        "QIAO_REVEAL_RATE_PER_HOUR": "100000",
    }
    if not wb.db_exists():
        subprocess.run(
            [
                sys.executable,
                wb.__file__,
                "--customers",
                str(args.customers),
                "--txn-per-customer",
                "0",
                "--db",
                wb.DB,
                "--home",
                str(wb.HOME),
                "--build-only",
            ],
            check=True,
            stdout=sys.stderr,
        )
    report: dict[str, object] = json.loads(
        subprocess.run(
            [sys.executable, __file__, "--_setup"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    report["cpus"] = os.cpu_count()
    report["workers"] = args.workers if args.workers is not None else "default (cores)"
    report["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from qiao.cli import main; sys.exit(main(sys.argv[1:]))",
            "serve",
            "--port",
            str(args.port),
            *(["--workers", str(args.workers)] if args.workers is not None else []),
        ],
        env={**env, "QIAO_LOG_LEVEL": "ERROR"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    pages: dict[str, dict[str, object]] = {}
    try:
        import requests

        for _ in range(120):
            try:
                requests.get(f"{base}/login/", timeout=30)
                break
            except requests.RequestException:
                time.sleep(0.5)
        users: dict[str, str] = report["users"]  # type: ignore[assignment]
        for role, username in users.items():
            session = _login(base, username)
            for code in PRODUCTS:
                url = f"{base}/products/{code}/"
                times = []
                for i in range(args.warmup + args.requests):
                    t0 = time.perf_counter()
                    r = session.get(url)  # type: ignore[attr-defined]
                    elapsed = time.perf_counter() - t0
                    assert r.status_code == 200, (role, code, r.status_code)
                    if i >= args.warmup:
                        times.append(elapsed)
                pages[f"{role} {code}"] = {
                    "requests": len(times),
                    "p50_ms": _pct(times, 0.5),
                    "p95_ms": _pct(times, 0.95),
                    "mean_ms": round(statistics.fmean(times) * 1000, 1),
                    "max_ms": round(max(times) * 1000, 1),
                }
    finally:
        server.terminate()
        server.wait(timeout=30)
    report["pages"] = pages
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
