from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from qiao.core.lake import KEYS, lake_files
from qiao.core.tiers import tier_codes, tier_label
from qiao.credit.selectors import credit_counts
from qiao.customers.models import Consent, ContactPreference, Customer
from qiao.ingest.models import LoadRecord
from qiao.org.models import BANKWIDE_ROLES, Role
from qiao.products.models import Account
from qiao.scoring.models import ModelRun, ScoreSnapshot
from qiao.suitability.models import RiskAssessment


def lake_count(kind: str, lake: Path | None = None) -> int:
    """Rows of a lake kind, each key counted once (the newest load wins)."""
    files = [str(p) for p in lake_files(lake or settings.LAKE_DIR, kind)]
    if not files:
        return 0
    key = ", ".join(KEYS[kind])
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
        "assessments": RiskAssessment.objects.count(),
        **credit_counts(),
        "consents": Consent.objects.count(),
        "contact_preferences": ContactPreference.objects.count(),
        "transactions": lake_count("transactions"),
        "balances": lake_count("balances"),
        "last_load_at": last_load.isoformat() if last_load else None,
        "scored_customers": scored,
        "last_score_as_of": run.as_of.isoformat() if run else None,
        "tiers": tiers,
    }


# ---------------------------------------------------------------- the analyst page

#: Who sees the analyst page: the bank-wide roles except the auditor (plus superusers).
ANALYST_ROLES = frozenset(BANKWIDE_ROLES - {Role.AUDITOR})

#: The models of the nightly scoring, by their key in the diagnostics.
MODEL_STEPS: dict[str, Any] = {
    "tiers": _("Tiers"),
    "riskstyle": _("Risk-style rating (K-means)"),
    "assoc": _("Association rules"),
    "attrition": _("Attrition model"),
    "clv": _("Lifetime value (BG/NBD)"),
}


def can_see_analyst_page(user: Any) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser or getattr(user, "role", None) in ANALYST_ROLES)


def _tier_rows(
    snaps: QuerySet[ScoreSnapshot], field: str, order: tuple[str, ...], total: int
) -> list[dict[str, Any]]:
    found = {
        row[field]: row
        for row in snaps.values(field)
        .annotate(n=Count("id"), aum=Sum("aum"), contribution=Sum("contribution_year"))
        .order_by(field)
    }
    codes = list(order) + sorted(code for code in found if code not in order)
    rows = []
    for code in codes:
        row = found.get(code, {})
        n = int(row.get("n", 0))
        rows.append(
            {
                "code": code,
                "n": n,
                "share": n / total if total else None,
                "aum": row.get("aum") or Decimal(0),
                "contribution": row.get("contribution") or Decimal(0),
            }
        )
    return rows


def _duration(run: ModelRun) -> float | None:
    if run.finished_at is None:
        return None
    return (run.finished_at - run.started_at).total_seconds()


def analyst_overview(recent: int = 10) -> dict[str, Any]:
    """Everything the analyst page shows, in a handful of queries.

    The tiers and the Pareto core come from the latest successful run's snapshots; the model
    diagnostics from that run's ``diagnostics`` (what ``qiao.analytics.scoring.run_scoring``
    returns); "last ran" per model from the most recent successful run that has the model's
    section, among the last ``recent`` runs.
    """
    run = latest_run()
    runs = list(ModelRun.objects.order_by("-started_at")[:recent])
    out: dict[str, Any] = {"run": run, "runs": runs, "has_run": run is not None}
    for r in runs:
        r.duration = _duration(r)  # type: ignore[attr-defined]
    if run is None:
        return out
    diag: dict[str, Any] = run.diagnostics or {}
    out["duration"] = _duration(run)

    snaps = ScoreSnapshot.objects.filter(as_of=run.as_of)
    totals = snaps.aggregate(
        n=Count("id"),
        contribution=Sum("contribution_year"),
        positive=Sum("contribution_year", filter=Q(contribution_year__gt=0)),
        core=Sum("contribution_year", filter=Q(pareto_core=True)),
        n_core=Count("id", filter=Q(pareto_core=True)),
    )
    scored = int(totals["n"] or 0)
    total = totals["contribution"] or Decimal(0)
    positive = totals["positive"] or Decimal(0)
    core = totals["core"] or Decimal(0)
    out["scored"] = scored
    out["pareto"] = {
        "n_core": int(totals["n_core"] or 0),
        "core_contribution": core,
        "total_contribution": total,
        "share": float(core / total) if total > 0 else None,
        "share_of_positive": float(core / positive) if positive > 0 else None,
    }
    # Tiers top to bottom (the pyramid's apex first), named as in the tier rule set.
    pyramid = _tier_rows(snaps, "tier_pyramid", tier_codes("pyramid"), scored)
    deposit = _tier_rows(snaps, "tier_deposit", tier_codes("deposit"), scored)
    for row in deposit:
        row["label"] = tier_label(row["code"], "deposit")
    out["pyramid"], out["deposit"] = pyramid, deposit

    # When each model last ran (a step whose module was missing leaves no section).
    last: list[dict[str, Any]] = []
    for key, label in MODEL_STEPS.items():
        ran = next(
            (r for r in runs if r.ok and key in (r.diagnostics or {})),
            run if key in diag else None,
        )
        seconds = ((ran.diagnostics or {}).get("seconds") or {}).get(key) if ran else None
        last.append({"key": key, "label": str(label), "run": ran, "seconds": seconds})
    out["models"] = last
    out["seconds"] = sorted((diag.get("seconds") or {}).items(), key=lambda kv: -float(kv[1]))
    out["seconds_total"] = diag.get("seconds_total")

    clv = diag.get("clv") or {}
    holdout = [row for row in clv.get("holdout") or [] if isinstance(row, dict)]
    out["clv"] = {
        "params": clv.get("params") or {},
        "converged": clv.get("converged"),
        "loglik": clv.get("loglik"),
        "fit_customers": clv.get("fit_customers"),
        "holdout": holdout,
    }

    rs = diag.get("riskstyle") or {}
    chosen = rs.get("k")
    silhouette = sorted(
        ((int(k), float(v)) for k, v in (rs.get("silhouette") or {}).items()),
        key=lambda kv: kv[0],
    )
    out["riskstyle"] = {
        "k": chosen,
        "silhouette": [
            {"k": k, "score": v, "chosen": chosen is not None and k == int(chosen)}
            for k, v in silhouette
        ],
        "counts": sorted((rs.get("counts") or {}).items(), key=lambda kv: -int(kv[1])),
        "warnings": rs.get("warnings") or [],
    }

    att = diag.get("attrition") or {}
    metrics = att.get("metrics") or {}
    importance = sorted(
        (metrics.get("feature_importance") or {}).items(), key=lambda kv: -float(kv[1])
    )[:10]
    out["attrition"] = {
        "present": bool(att),
        "metrics": metrics,
        "panel_rows": att.get("panel_rows"),
        "importance": importance,
    }
    assoc = diag.get("assoc") or {}
    out["assoc"] = {
        "present": bool(assoc),
        "n_rules": assoc.get("n_rules"),
        "baskets": assoc.get("baskets"),
        "customers_with_candidates": assoc.get("customers_with_candidates"),
        "top_rules": assoc.get("top_rules") or [],
    }
    out["warnings"] = list(diag.get("warnings") or [])
    out["events"] = sorted(((diag.get("counts") or {}).get("events") or {}).items())
    out["sample"] = _sample_overview(diag.get("partitions") or {})
    return out


def _sample_overview(partitions: dict[str, Any]) -> dict[str, Any]:
    """The partitioned run's sample and, when recorded, the parameters of the models fitted on
    it and on a second, disjoint sample side by side (decision 0010): rows of ``label`` (or a
    risk-style ``code``), ``first``, ``second``; numbers as text."""
    sample = partitions.get("sample") or {}
    pair = partitions.get("adequacy") or []
    out: dict[str, Any] = {
        "present": bool(partitions),
        "partitions": partitions.get("n"),
        "size": partitions.get("size"),
        "sample_partitions": sample.get("partitions"),
        "sample_customers": sample.get("customers"),
        "rows": [],
    }
    if len(pair) != 2 or not all(isinstance(x, dict) for x in pair):
        return out
    first, second = pair

    def number(value: Any, digits: int) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        return f"{value:,}" if digits == 0 else f"{float(value):,.{digits}f}"

    rows: list[dict[str, Any]] = [
        {"label": _("Customers"), "keys": ("customers",), "digits": 0},
        {"label": _("Risk style: number of clusters"), "keys": ("risk_style_k",), "digits": 0},
        {"label": _("Association rules found"), "keys": ("rules",), "digits": 0},
        {"label": _("Attrition: AUC"), "keys": ("attrition_auc",), "digits": 3},
        {"label": _("Attrition: base rate"), "keys": ("attrition_base_rate",), "digits": 4},
    ]
    for name in sorted(set(first.get("bgnbd") or {}) | set(second.get("bgnbd") or {})):
        rows.append({"label": f"BG/NBD {name}", "keys": ("bgnbd", name), "digits": 4})
    styles = sorted(
        set(first.get("risk_style_shares") or {}) | set(second.get("risk_style_shares") or {})
    )
    for code in styles:
        rows.append({"code": code, "keys": ("risk_style_shares", code), "digits": 4})

    def pick(params: dict[str, Any], keys: tuple[str, ...]) -> Any:
        value: Any = params
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    for row in rows:
        keys, digits = row.pop("keys"), row.pop("digits")
        row["first"] = number(pick(first, keys), digits)
        row["second"] = number(pick(second, keys), digits)
    out["rows"] = rows
    return out


def customer_latest_score(customer: Customer) -> ScoreSnapshot | None:
    """The customer's score snapshot of the latest scored date, if any."""
    return ScoreSnapshot.objects.filter(customer=customer).order_by("-as_of").first()


def customer_aum_trend_scored(score: ScoreSnapshot | None) -> list[dict[str, Any]] | None:
    """The 360's AUM chart from a score snapshot: the month-average AUM the nightly scoring
    computed for the 24 months up to its date (the same rules as the lake reader, read from one
    row instead of 24 monthly files). ``None`` when the snapshot has no series (not scored yet,
    or scored before the series was kept). Months before the first balance are left out."""
    if score is None:
        return None
    series = (score.features or {}).get("aum_series")
    if not series:
        return None
    n = len(series)
    first = score.as_of.year * 12 + score.as_of.month - 1 - (n - 1)
    out = [
        {"month": f"{(first + i) // 12:04d}-{(first + i) % 12 + 1:02d}", "aum": float(v)}
        for i, v in enumerate(series)
    ]
    while out and out[0]["aum"] == 0:
        out.pop(0)
    return out
