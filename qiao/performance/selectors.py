"""Reads of the performance app: targets, the scorecards and the staffing (docs/reports.md).

The scorecards are computed bank-wide (the bank's rank needs every CM) by
:func:`qiao.analytics.scorecard.staff_actuals` over the lake, kept in a :class:`ScorecardRun`
and filtered for the reader by the one scope helper of staff,
:func:`qiao.engagement.selectors.staff_visible_to` (a CM: themselves; an outlet head or team lead:
their unit's subtree; head office: everyone).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet, Sum

from qiao.analytics.scorecard import (
    MEASURE_CODES,
    MEASURES,
    Period,
    grade_shortfall,
    load_config,
    score_cards,
    staff_actuals,
    trend_months_of,
)
from qiao.analytics.staffing import CadenceLoad, StaffingRow, staffing_row
from qiao.analytics.staffing import load_config as load_staffing_config
from qiao.core.lake import lake_files
from qiao.customers.models import Customer, CustomerStanding
from qiao.engagement.selectors import cadence_rules, cadence_tiers, staff_visible_to
from qiao.org.models import BANKWIDE_ROLES, OWNER_ROLES, SUBTREE_ROLES, OrgUnit, Staff

from .models import ScorecardRun, Target

_BY_CODE = {m.code: m for m in MEASURES}


# --------------------------------------------------------------------------------------------------
# targets
# --------------------------------------------------------------------------------------------------


def targets_visible_to(*, staff: Staff) -> QuerySet[Target]:
    """Targets of the staff and units ``staff`` may see (a CM: their own)."""
    qs = Target.objects.select_related("staff", "unit", "staff__unit")
    if staff.role in BANKWIDE_ROLES:
        return qs
    if staff.role in SUBTREE_ROLES and staff.unit is not None:
        path = staff.unit.path
        return qs.filter(Q(staff__unit__path__startswith=path) | Q(unit__path__startswith=path))
    return qs.filter(staff=staff)


def units_for_targets(*, staff: Staff) -> QuerySet[OrgUnit]:
    """The units ``staff`` may set targets for (their subtree; head office: all)."""
    qs = OrgUnit.objects.order_by("path")
    if staff.role in BANKWIDE_ROLES:
        return qs
    if staff.role in SUBTREE_ROLES and staff.unit is not None:
        return qs.filter(path__startswith=staff.unit.path)
    return qs.none()


def staff_targets(period: Period) -> dict[tuple[str, str], float]:
    """``(staff_no, measure) → target`` for ``period``: the period's own target, else one derived
    from the quarter's or the year's that holds it (a flow by its share of months, a level as is).
    """
    kinds = ["MONTH", "QUARTER", "YEAR"]
    longer = kinds[kinds.index(period.kind) :]
    wanted = {k: period.within(k) for k in longer}  # type: ignore[arg-type]
    q = Q()
    for kind, p in wanted.items():
        q |= Q(period_kind=kind, period_start=p.start)
    out: dict[tuple[str, str], tuple[int, float]] = {}
    rows = Target.objects.filter(q, staff__isnull=False).values_list(
        "staff__username", "period_kind", "measure", "value"
    )
    for staff_no, kind, measure, value in rows:
        rank = longer.index(kind)
        v = float(value)
        if rank and _BY_CODE[measure].additive:
            v = v * period.months / wanted[kind].months
        key = (staff_no, measure)
        if key not in out or rank < out[key][0]:
            out[key] = (rank, v)
    return {k: v for k, (_rank, v) in out.items()}


# --------------------------------------------------------------------------------------------------
# the inputs the lake does not hold
# --------------------------------------------------------------------------------------------------


def scorecard_as_of() -> dt.date:
    """The date the figures stand on: the last day with balances in the lake."""
    from qiao.scoring.services import default_as_of

    return default_as_of()


def book_table() -> pa.Table:
    """Every owned customer with their primary manager and pyramid tier (the CMs' books)."""
    rows = Customer.objects.filter(primary_manager__isnull=False).values_list(
        "customer_no", "primary_manager__username", "standing__tier"
    )
    nos, staff, tiers = [], [], []
    for no, s, tier in rows.iterator(chunk_size=50_000):
        nos.append(no)
        staff.append(s)
        tiers.append(tier or "")
    return pa.table(
        {
            "customer_no": pa.array(nos, pa.string()),
            "staff_no": pa.array(staff, pa.string()),
            "tier": pa.array(tiers, pa.string()),
        }
    )


def contacts_table(start: dt.date, end: dt.date) -> pa.Table:
    """The contacts logged from ``start`` to ``end`` (local days), as the scorecards read them:
    from the operational database, fresher than the lake's copy (written at each scoring)."""
    from django.utils import timezone

    from qiao.engagement.models import Contact

    zone = timezone.get_current_timezone()
    lo = dt.datetime.combine(start, dt.time(), zone)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone)
    nos, days = [], []
    for no, at in (
        Contact.objects.filter(at__gte=lo, at__lt=hi)
        .values_list("customer__customer_no", "at")
        .iterator(chunk_size=50_000)
    ):
        nos.append(no)
        days.append(timezone.localtime(at, zone).date())
    return pa.table(
        {"customer_no": pa.array(nos, pa.string()), "contact_date": pa.array(days, pa.date32())}
    )


def loans_by_staff() -> dict[str, float]:
    """Loan balance of each CM's book, from the credit book in the operational database (the
    loans are not in the lake; docs/reports.md)."""
    from qiao.credit.models import Loan

    rows = (
        Loan.objects.filter(customer__primary_manager__isnull=False)
        .values("customer__primary_manager__username")
        .annotate(total=Sum("balance"))
        .values_list("customer__primary_manager__username", "total")
    )
    return {no: float(total or 0) for no, total in rows}


def satisfaction_by_staff_no(start: dt.date, end: dt.date) -> dict[str, float]:
    """CSAT (0–1) per staff number from the satisfaction surveys, when the surveys app offers it."""
    from qiao.surveys import selectors as surveys

    by_staff = getattr(surveys, "satisfaction_by_staff", None)
    if by_staff is None:
        return {}
    scores = by_staff(start=start, end=end)
    names = dict(Staff.objects.filter(pk__in=list(scores)).values_list("pk", "username"))
    out = {}
    for pk, score in scores.items():
        csat = getattr(score, "csat", None)
        if csat is not None and pk in names:
            out[names[pk]] = float(csat)
    return out


# --------------------------------------------------------------------------------------------------
# the scorecards
# --------------------------------------------------------------------------------------------------


def _stamp(period: Period, as_of: dt.date) -> str:
    """What the scorecards depend on besides the lake's data: targets, books, configuration."""
    t = Target.objects.aggregate(n=Count("pk"), last=Max("set_at"))
    s = CustomerStanding.objects.aggregate(n=Count("pk"), last=Max("as_of"))
    owners = Customer.objects.filter(primary_manager__isnull=False).aggregate(
        n=Count("pk"), staff=Sum("primary_manager_id")
    )
    lake = Path(settings.LAKE_DIR)
    files = sorted(str(p) for p in lake_files(lake, "balances")) + sorted(
        str(p) for p in (lake / "ref").glob("*.parquet")
    )
    mtimes = [int(Path(f).stat().st_mtime) for f in files]
    config = load_config()
    text = repr((period.key, as_of, t, s, owners, files, mtimes, config))
    return hashlib.sha256(text.encode()).hexdigest()


def scorecards_compute(period: Period, as_of: dt.date) -> list[dict[str, Any]]:
    """Every CM's scorecard for ``period`` as of ``as_of`` (not scoped: see :func:`scorecards`)."""
    from qiao.analytics.lake import connect, ref_path

    config = load_config()
    book = book_table()
    end = min(as_of, period.end)
    con = connect("duckdb")
    try:
        # Before the first load there is no lake to read: every lake measure is then empty.
        if not ref_path(Path(settings.LAKE_DIR), "customers").is_file():
            table = None
        else:
            table = staff_actuals(
                con,
                Path(settings.LAKE_DIR),
                book=book,
                period=period,
                as_of=as_of,
                cadence_tiers=cadence_tiers(),
                trend_months=config.trend_months,
                time_zone=settings.TIME_ZONE,
                contacts=contacts_table(period.start, end),
            )
    finally:
        disconnect = getattr(con, "disconnect", None)
        if callable(disconnect):
            disconnect()
    lake_rows = {r["staff_no"]: r for r in table.to_pylist()} if table is not None else {}
    loans = loans_by_staff()
    csat = satisfaction_by_staff_no(period.start, end)
    tiers: dict[str, dict[str, int]] = {}
    counts = book.group_by(["staff_no", "tier"]).aggregate([("customer_no", "count")])
    for r in counts.to_pylist():
        tiers.setdefault(r["staff_no"], {})[r["tier"]] = int(r["customer_no_count"])

    people = list(
        Staff.objects.filter(is_active=True, role__in=list(OWNER_ROLES))
        .select_related("unit")
        .order_by("username")
    )
    actuals = []
    for p in people:
        r = lake_rows.get(p.username, {})
        row: dict[str, Any] = {"staff_no": p.username, "unit": p.unit.code if p.unit else ""}
        for code in MEASURE_CODES:
            row[code] = r.get(code, 0 if _BY_CODE[code].additive else None)
        for code in ("aum_avg", "deposits"):
            if row[code] is None:
                row[code] = 0.0
        row["loans"] = loans.get(p.username, 0.0)
        row["satisfaction"] = csat.get(p.username)
        actuals.append(row)
    cards = score_cards(actuals, staff_targets(period), config)
    months = trend_months_of(as_of, period, config.trend_months)
    out = []
    for p, card in zip(people, cards, strict=True):
        r = lake_rows.get(p.username, {})
        out.append(
            {
                "staff_no": p.username,
                "staff_id": p.pk,
                "unit": card.unit,
                "customers": int(r.get("customers", 0)),
                "score": card.score,
                "rank_unit": card.rank_unit,
                "of_unit": card.of_unit,
                "rank_bank": card.rank_bank,
                "of_bank": card.of_bank,
                "measures": {
                    c: {
                        "actual": card.actual[c],
                        "target": card.target[c],
                        "attainment": card.attainment[c],
                    }
                    for c in MEASURE_CODES
                },
                "trend": {
                    "months": months,
                    "aum_avg": r.get("aum_trend") or [0.0] * len(months),
                    "deposits": r.get("deposits_trend") or [0.0] * len(months),
                    "fee_income": r.get("fee_trend") or [0.0] * len(months),
                },
                "grade_flags": grade_shortfall(
                    tiers.get(p.username, {}), grade=p.grade, role=p.role, config=config
                ),
            }
        )
    return out


def scorecards_all(period: Period, as_of: dt.date | None = None) -> tuple[dt.date, list[dict]]:
    """Every CM's scorecard, from the kept run when nothing it depends on has changed."""
    as_of = as_of or scorecard_as_of()
    if as_of < period.start:
        return as_of, []
    stamp = _stamp(period, as_of)
    run = ScorecardRun.objects.filter(period=period.key, as_of=as_of, stamp=stamp).first()
    if run is None:
        started = time.perf_counter()
        cards = scorecards_compute(period, as_of)
        run, _created = ScorecardRun.objects.get_or_create(
            period=period.key,
            as_of=as_of,
            stamp=stamp,
            defaults={"cards": cards, "seconds": round(time.perf_counter() - started, 2)},
        )
        ScorecardRun.objects.filter(period=period.key).exclude(pk=run.pk).delete()
    return as_of, list(run.cards)


def scorecards(*, staff: Staff, period: Period) -> tuple[dt.date, list[dict[str, Any]]]:
    """The scorecards ``staff`` may read (themselves; their subtree; everyone), with names."""
    as_of, cards = scorecards_all(period)
    visible = {s.username: s for s in staff_visible_to(staff=staff).select_related("unit")}
    out = []
    for card in cards:
        s = visible.get(card["staff_no"])
        if s is None:
            continue
        out.append(
            {
                **card,
                "name": s.display_name,
                "unit_name": s.unit.name if s.unit else "",
                "grade": s.grade,
                "role": s.role,
            }
        )
    out.sort(key=lambda c: (c["rank_bank"] is None, c["rank_bank"] or 0, c["staff_no"]))
    return as_of, out


def default_period(as_of: dt.date | None = None) -> Period:
    """The last whole month of the data: the as-of date's month when it is the month's last day,
    else the month before (a month of a few days says little against a month's target)."""
    as_of = as_of or scorecard_as_of()
    if (as_of + dt.timedelta(days=1)).day == 1:
        return Period.of(as_of, "MONTH")
    return Period.of(as_of.replace(day=1) - dt.timedelta(days=1), "MONTH")


# --------------------------------------------------------------------------------------------------
# staffing
# --------------------------------------------------------------------------------------------------


def staffing_rows(*, staff: Staff) -> list[tuple[OrgUnit, StaffingRow]]:
    """The staffing of every outlet (and of each level with a minimum) ``staff`` may see."""
    config = load_staffing_config()
    rules = [CadenceLoad(r.tier, r.requirement, r.interval_days) for r in cadence_rules()]
    units = units_for_targets(staff=staff)
    if staff.role not in BANKWIDE_ROLES and staff.role not in SUBTREE_ROLES:
        units = OrgUnit.objects.filter(pk=staff.unit_id) if staff.unit_id else units
    units_list = list(units)
    if not units_list:
        return []
    unit_ids = [u.pk for u in units_list]
    counts: dict[int, dict[str, int]] = {}
    for branch_id, tier, n in (
        Customer.objects.filter(branch_id__in=unit_ids)
        .values("branch_id", "standing__tier")
        .annotate(n=Count("pk"))
        .values_list("branch_id", "standing__tier", "n")
    ):
        counts.setdefault(branch_id, {})[tier or ""] = n
    has = dict(
        Staff.objects.filter(
            unit_id__in=unit_ids,
            is_active=True,
            leave_date__isnull=True,
            role__in=config.counted_roles,
        )
        .values("unit_id")
        .annotate(n=Count("pk"))
        .values_list("unit_id", "n")
    )
    minimum = config.minimum or {}
    out = []
    for unit in units_list:
        if unit.pk not in counts and unit.level not in minimum:
            continue
        if unit.level in minimum and unit.level != "OUTLET":
            # A higher unit (a branch): its subtree's customers and CMs together.
            sub = [u for u in units_list if u.path.startswith(unit.path)]
            tc: dict[str, int] = {}
            for u in sub:
                for tier, n in counts.get(u.pk, {}).items():
                    tc[tier] = tc.get(tier, 0) + n
            n_has = sum(has.get(u.pk, 0) for u in sub)
        else:
            tc = counts.get(unit.pk, {})
            n_has = has.get(unit.pk, 0)
        out.append(
            (
                unit,
                staffing_row(
                    unit=unit.code,
                    level=unit.level,
                    tier_counts=tc,
                    has=n_has,
                    rules=rules,
                    config=config,
                ),
            )
        )
    return out
