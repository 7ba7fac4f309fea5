"""Bench: planning and sending a campaign to a segment of a million customers (issue 15, Speed).

Builds (once, then reuses) a bank on PostgreSQL with SQL, as the nightly loads would leave it:
``--customers`` individual customers at 10 outlets with their standings (tiers: 1 % 钻石, 3 %
白金, 8 % 金, the rest 普通), SMS consent for 75 % (5 % of those withdrawn), risk assessments
for 85 % (C1–C5, ~13 % expired), a mobile number for 98 %, and an R2 wealth product. Then times,
through the campaigns app's own services, a campaign to the whole bank:

- ``plan``: resolve the segment in the author's scope, the exclusions (blacklist, complaints,
  other campaigns, contacted recently, caps, consent, address, suitability), the stratified
  control group, recipients, exclusions and messages written (``plan_first_step``);
- ``send``: claim, consent and quiet-hours checks per batch, texts, the outbound SMS files and
  the messages marked sent (``send_step``).

Target: plan + send ≤ 60 s at 1 M. Baseline, side by side in the same run: the same decisions
made customer by customer (ORM lookups of consent, assessment and standing, ``check`` from
``qiao.core.suitability``, one ``Recipient`` saved at a time) on a sample of ``--sample``
customers, scaled to the segment — what a straightforward implementation costs.

    python bench/bench_campaign_plan.py [--customers 1000000] [--db qiao_bench_campaign] [--fresh]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]


def _env(db: str, home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        QIAO_DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{db}",
        QIAO_HOME=str(home),
        DJANGO_SETTINGS_MODULE="qiao.settings",
        QIAO_LANGUAGE="en",
    )
    return env


def _psql(sql: str) -> str:
    done = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _fill_expr(table: str, given: dict[str, str]) -> tuple[str, str]:
    """Columns and SELECT expressions for every NOT NULL column of ``table`` without a default
    (``given`` first; text '' , numbers 0, booleans false, dates today, times now())."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
            "AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO' "
            "ORDER BY ordinal_position",
            [table],
        )
        rows = cur.fetchall()
    cols, exprs = list(given), list(given.values())
    for name, kind in rows:
        if name in given:
            continue
        cols.append(name)
        if "char" in kind or kind == "text":
            exprs.append("''")
        elif kind in ("integer", "bigint", "numeric", "smallint", "double precision"):
            exprs.append("0")
        elif kind == "boolean":
            exprs.append("FALSE")
        elif kind == "date":
            exprs.append("CURRENT_DATE")
        elif kind == "jsonb":
            exprs.append("'{}'::jsonb")
        else:
            exprs.append("now()")
    return ", ".join(cols), ", ".join(exprs)


def build(n: int) -> None:
    from django.db import connection, transaction

    from qiao.org.models import OrgUnit, Staff
    from qiao.products.models import Product

    t0 = time.perf_counter()
    with transaction.atomic():
        ho = OrgUnit.objects.create(code="HO", name="总行", level="HEAD_OFFICE", path="/HO/")
        outlets = [
            OrgUnit.objects.create(
                code=f"O{i:02d}", name=f"网点{i}", level="OUTLET", parent=ho, path=f"/HO/O{i:02d}/"
            )
            for i in range(10)
        ]
        for name in ("marketing", "marketing2"):
            Staff.objects.create(username=name, name=name, role="MARKETING", unit=ho)
        Product.objects.create(
            code="WM-R2", name="稳盈理财R2", category="WEALTH", seller_risk_level="R2", rate=2.85
        )
        first = outlets[0].pk
        cols, exprs = _fill_expr(
            "customers_customer",
            {
                "customer_no": "'B' || lpad(i::text, 8, '0')",
                "customer_type": "'P'",
                "name": "'客户' || i",
                "id_type": "'RIC'",
                "id_no": "'1101051980' || lpad(i::text, 8, '0')",
                "mobile": "CASE WHEN i % 50 = 0 THEN '' ELSE '138' || lpad(i::text, 8, '0') END",
                "branch_id": f"{first} + (i % 10)",
                "open_date": "DATE '2015-06-01'",
                "birth_date": "DATE '1960-01-01' + (i % 15000)",
                "created_at": "now()",
                "updated_at": "now()",
            },
        )
        with connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO customers_customer ({cols}) "  # noqa: S608
                f"SELECT {exprs.replace('%', '%%')} FROM generate_series(1, %s) AS i",
                [n],
            )
            cur.execute(
                "INSERT INTO customers_standing (customer_id, aum, contribution, tier, as_of) "
                "SELECT id, (id * 7919) % 2000000, (id * 31) % 20000, CASE "
                "WHEN id % 100 = 0 THEN 'DIAMOND' WHEN id % 100 < 4 THEN 'PLATINUM' "
                "WHEN id % 100 < 12 THEN 'GOLD' ELSE 'ORDINARY' END, CURRENT_DATE "
                "FROM customers_customer"
            )
            cur.execute(
                'INSERT INTO customers_consent (customer_id, channel, state, "on", source, '
                "evidence, recorded_at) SELECT id, 'SMS', CASE WHEN id % 20 = 0 THEN 'WITHDRAWN' "
                "ELSE 'GIVEN' END, DATE '2025-01-01', 'CORE', '', now() FROM customers_customer "
                "WHERE (id * 7919) % 100 < 75"
            )
            cur.execute(
                "INSERT INTO suitability_riskassessment (customer_id, tolerance, score, answers, "
                "questionnaire_version, assessed_on, valid_until, source, customer_signed, "
                "qualified_investor, qualified_evidence, elderly, created_at) "
                "SELECT id, 'C' || (1 + (id * 31) % 5), NULL, '{}', '', d, "
                "(d + INTERVAL '1 year' - INTERVAL '1 day')::date, 'CORE', TRUE, FALSE, '', "
                "FALSE, now() FROM (SELECT id, CURRENT_DATE - ((id * 17) % 420)::int AS d "
                "FROM customers_customer WHERE (id * 7919) % 100 < 85) s"
            )
    with connection.cursor() as cur:
        for table in (
            "customers_customer",
            "customers_standing",
            "customers_consent",
            "suitability_riskassessment",
        ):
            cur.execute(f"VACUUM ANALYZE {table}")
    print(json.dumps({"built": n, "seconds": round(time.perf_counter() - t0, 1)}), flush=True)


def _campaign() -> Any:
    from qiao.campaigns.segments import SegmentFilters, segment_save
    from qiao.campaigns.services import (
        CampaignData,
        StepData,
        TemplateData,
        campaign_approve,
        campaign_save,
        campaign_submit,
    )
    from qiao.customers.selectors import CustomerFilters
    from qiao.org.models import Staff

    maker = Staff.objects.get(username="marketing")
    checker = Staff.objects.get(username="marketing2")
    segment = segment_save(
        staff=maker,
        name="全行个人客户",
        filters=SegmentFilters(base=CustomerFilters(customer_type="P")),
    )
    campaign = campaign_save(
        staff=maker,
        data=CampaignData(
            name="bench",
            aim="CROSS_SELL",
            segment_id=segment.pk,
            starts_on=dt.date(2026, 12, 7),
            product_codes=["WM-R2"],
            exclude_contacted_days=7,
            steps=[
                StepData(
                    channel="SMS",
                    templates=[TemplateData("A", "zh-hans", "尊敬的{name}，{product}年化{rate}。")],
                )
            ],
        ),
    )
    campaign_submit(staff=maker, campaign=campaign)
    return campaign_approve(staff=checker, campaign=campaign)


def run_ours() -> dict[str, float]:
    from qiao.campaigns.models import Message
    from qiao.campaigns.planning import plan_first_step
    from qiao.campaigns.sending import send_step

    campaign = _campaign()
    t0 = time.perf_counter()
    stats = plan_first_step(campaign)
    t1 = time.perf_counter()
    monday = dt.datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    result = send_step(campaign.steps.get(number=1).pk, now=monday)
    t2 = time.perf_counter()
    sent = Message.objects.filter(step__campaign=campaign, status="SENT").count()
    return {
        "plan_s": round(t1 - t0, 2),
        "send_s": round(t2 - t1, 2),
        "total_s": round(t2 - t0, 2),
        "segment": stats["segment"],
        "treated": stats["treated"],
        "control": stats["control"],
        "excluded": stats["excluded"],
        "sent": sent,
        "state": result["state"],
    }


def run_baseline(sample: int, segment: int) -> dict[str, float]:
    """Customer by customer, as a straightforward implementation would (see the docstring)."""
    from django.db import transaction
    from django.utils import timezone

    from qiao.campaigns.models import Group, Recipient
    from qiao.core.suitability import CustomerFacts, ProductFacts, check
    from qiao.customers.models import Consent, Customer, CustomerStanding
    from qiao.products.models import Product
    from qiao.suitability.models import RiskAssessment

    campaign = _campaign()
    product = Product.objects.get(code="WM-R2")
    facts = ProductFacts(
        code=product.code, category=product.category, risk_level=product.risk_level
    )
    today = timezone.localdate()
    t0 = time.perf_counter()
    with transaction.atomic():
        for customer in Customer.objects.order_by("pk")[:sample].iterator():
            if not Consent.objects.filter(customer=customer, channel="SMS", state="GIVEN").exists():
                continue
            if not customer.mobile:
                continue
            a = RiskAssessment.objects.filter(customer=customer).order_by("-assessed_on").first()
            who = CustomerFacts(
                customer_no=customer.customer_no,
                tolerance=a.tolerance if a else "",
                assessment_valid_until=a.valid_until if a else None,
            )
            if not check(who, facts, on=today):
                continue
            standing = CustomerStanding.objects.get(customer=customer)
            Recipient.objects.create(
                campaign=campaign,
                customer=customer,
                group=Group.TREATED,
                stratum=standing.tier,
                aum_at_start=standing.aum,
            )
    seconds = time.perf_counter() - t0
    return {
        "sample": sample,
        "sample_s": round(seconds, 2),
        "scaled_s": round(seconds * segment / sample, 1),
    }


def child(mode: str, arg: str) -> None:
    import django

    django.setup()
    if mode == "build":
        build(int(arg))
    elif mode == "ours":
        print(json.dumps(run_ours()), flush=True)
    else:
        sample, segment = arg.split(":")
        print(json.dumps(run_baseline(int(sample), int(segment))), flush=True)


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--db", default="qiao_bench_campaign")
    parser.add_argument("--home", type=Path, default=Path("/tmp/qiao_bench_campaign"))
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=10_000)
    args = parser.parse_args()
    exists = _psql(f"SELECT 1 FROM pg_database WHERE datname = '{args.db}'") == "1"  # noqa: S608
    if args.fresh or not exists:
        _psql(f"DROP DATABASE IF EXISTS {args.db}")
        _psql(f"CREATE DATABASE {args.db}")
        shutil.rmtree(args.home, ignore_errors=True)
        args.home.mkdir(parents=True)
        env = _env(args.db, args.home)
        subprocess.run(
            [sys.executable, "-m", "qiao.cli", "manage", "migrate", "-v", "0"], env=env, check=True
        )
        subprocess.run(
            [sys.executable, __file__, "--child", "build", str(args.customers)], env=env, check=True
        )
    env = _env(args.db, args.home)
    # A bank built by an earlier version gets the newer migrations (indexes of the campaigns).
    subprocess.run(
        [sys.executable, "-m", "qiao.cli", "manage", "migrate", "-v", "0"], env=env, check=True
    )

    def once(mode: str, arg: str) -> dict[str, Any]:
        # Each run on a copy of the bank without campaigns (the runs do not see each other).
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                args.db,
                "-qc",
                "TRUNCATE campaigns_outboundbatch, campaigns_message, campaigns_exclusion, "
                "campaigns_response, "
                "campaigns_recipient, campaigns_template, campaigns_step, "
                "campaigns_campaign_products, campaigns_campaign, campaigns_segmentmember, "
                "campaigns_segment, django_tasks_database_dbtaskresult CASCADE",
            ],
            check=True,
        )
        shutil.rmtree(args.home / "outbox", ignore_errors=True)
        done = subprocess.run(
            [sys.executable, __file__, "--child", mode, arg],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise SystemExit(done.stderr)
        return json.loads(done.stdout.strip().splitlines()[-1])

    ours = [once("ours", "") for _ in range(args.runs)]
    totals = sorted(r["total_s"] for r in ours)
    median = totals[len(totals) // 2]
    base = once("baseline", f"{args.sample}:{ours[0]['segment']}")
    load = os.getloadavg()[0]
    print(
        json.dumps(
            {
                "bench": "campaign plan + send",
                "customers": args.customers,
                "runs": ours,
                "median_total_s": median,
                "target_s": 60,
                "baseline": {"name": "customer by customer (ORM + check), scaled", **base},
                "ratio_baseline_over_ours": round(base["scaled_s"] / median, 1) if median else None,
                "load_avg_1m": round(load, 2),
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
