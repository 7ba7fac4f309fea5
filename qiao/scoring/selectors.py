from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings
from django.db.models import Count, Max

from qiao.customers.models import Customer
from qiao.ingest.models import LoadRecord
from qiao.products.models import Account
from qiao.scoring.models import ModelRun, ScoreSnapshot


def lake_count(kind: str, lake: Path | None = None) -> int:
    """Rows of a lake kind, each key counted once (the newest load wins)."""
    root = (lake or settings.LAKE_DIR) / kind
    files = sorted(str(p) for p in root.glob("month=*/*.parquet"))
    if not files:
        return 0
    key = "txn_id" if kind == "transactions" else "account_no, balance_date"
    con = duckdb.connect()
    try:
        [(n,)] = con.execute(
            f"SELECT count(*) FROM (SELECT DISTINCT {key} FROM read_parquet(?))", [files]
        ).fetchall()
    finally:
        con.close()
    return int(n)


def latest_run() -> ModelRun | None:
    return ModelRun.objects.filter(ok=True).order_by("-as_of", "-started_at").first()


def system_status() -> dict[str, Any]:
    last_load = LoadRecord.objects.filter(status=LoadRecord.Status.LOADED).aggregate(
        at=Max("finished_at")
    )["at"]
    run = latest_run()
    tiers: dict[str, int] = {}
    scored = 0
    if run is not None:
        snaps = ScoreSnapshot.objects.filter(as_of=run.as_of)
        scored = snaps.count()
        tiers = {
            row["tier_pyramid"]: row["n"]
            for row in snaps.values("tier_pyramid").annotate(n=Count("id")).order_by("tier_pyramid")
        }
    return {
        "customers": Customer.objects.count(),
        "accounts": Account.objects.count(),
        "transactions": lake_count("transactions"),
        "balances": lake_count("balances"),
        "last_load_at": last_load.isoformat() if last_load else None,
        "scored_customers": scored,
        "last_score_as_of": run.as_of.isoformat() if run else None,
        "tiers": tiers,
    }
