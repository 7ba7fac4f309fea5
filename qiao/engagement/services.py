"""Writes for engagement: the work list, contacts, tasks, prospects, plans, referrals, complaints.

Keyword-only, typed, ``<entity>_<action>``; ``full_clean()`` before saving, inside
``transaction.atomic``; a business rule that says no raises :class:`ApplicationError`.
Every write by a person first checks its permission (:mod:`qiao.org.permissions`, raising
``PermissionDenied``) and the object rule (whose item, whose complaint: decision 0006), and
writes one audit event naming who did what to which customer. The nightly jobs
(``worklist_generate``, ``prospects_regrade_weekly``) act for the bank, not for a person.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, F, Max, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core.errors import ApplicationError
from qiao.customers.models import Customer, CustomerType, Ownership
from qiao.customers.selectors import customers_visible_to
from qiao.engagement import lake
from qiao.engagement.conf import (
    complaint_setting,
    default_cadence,
    prospect_setting,
    value_weight,
    worklist_setting,
)
from qiao.engagement.festivals import festivals_between
from qiao.engagement.models import (
    MEETING_FIELDS,
    PERSONAL_CHANNELS,
    PHONE_STEPS,
    REQUIREMENT_CHANNELS,
    CadenceRule,
    Channel,
    Complaint,
    ComplaintStatus,
    Contact,
    Plan,
    PlanMilestone,
    Prospect,
    ProspectGrade,
    ProspectGradeChange,
    ProspectStatus,
    Referral,
    ReferralStatus,
    Requirement,
    Task,
    WorkItem,
    WorkKind,
    WorkStatus,
)
from qiao.engagement.reasons import render_reason
from qiao.engagement.selectors import cadence_rules, day_start, last_contacts, plans_measure
from qiao.org.models import OWNER_ROLES, Role, Staff
from qiao.org.permissions import (
    FILE_COMPLAINT,
    HANDLE_COMPLAINT,
    LOG_CONTACT,
    MANAGE_PLANS,
    MANAGE_PROSPECTS,
    REFER,
    WORK_OWN_LIST,
    require_perm,
    staff_has_perm,
)
from qiao.products.models import Account, AccountStatus, Category
from qiao.scoring.models import ScoreEvent, ScoreSnapshot

CENT = Decimal("0.01")
BATCH = 5000

# --------------------------------------------------------------------------------------------------
# cadence rules
# --------------------------------------------------------------------------------------------------


def cadence_rules_seed(*, model: Any = CadenceRule) -> int:
    """Create the default rules of config/cadence.toml that are missing (never overwrites edits).

    ``model`` lets the data migration pass its historical model.
    """
    created = 0
    for rule in default_cadence():
        _, made = model.objects.get_or_create(
            tier=rule["tier"],
            requirement=rule["requirement"],
            defaults={
                "interval_days": rule["interval_days"],
                "lead_days": rule.get("lead_days", 3),
            },
        )
        created += int(made)
    return created


# --------------------------------------------------------------------------------------------------
# the daily work list
# --------------------------------------------------------------------------------------------------

# (staff_id, customer_id, prospect_id, kind, reason_code, params, value, due, expires_on, cause_key)
Candidate = tuple[
    int, int | None, int | None, str, str, dict[str, Any], Decimal, dt.date, dt.date | None, str
]


@dataclass
class _Batch:
    kind: str
    candidates: list[Candidate]
    #: For kinds whose cause is a state (not a date): open items whose cause is gone → status.
    stale: Mapping[str, str] | None = None


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date()
    return value.isoformat()


def _gen_cadence(day: dt.date) -> list[_Batch]:
    """Contacts due by cadence: per rule, the tier's customers whose last qualifying contact is
    older than the interval less the lead (one customers query and one contacts GROUP BY)."""
    rules = cadence_rules()
    if not rules:
        return [_Batch(WorkKind.CONTACT_DUE, [], {})]
    end = day_start(day + dt.timedelta(days=1))
    longest = max(r.interval_days for r in rules)
    since = end - dt.timedelta(days=longest + 1)
    risk = _attrition_by_customer({r.tier for r in rules})
    default_risk = value_weight("contact_due_default_risk")
    lasts = {
        req: last_contacts(requirement=req, since=since) for req in {r.requirement for r in rules}
    }
    candidates: list[Candidate] = []
    current: set[str] = set()
    in_scope: set[tuple[str, int]] = set()
    for rule in rules:
        last_map = lasts[rule.requirement]
        customers = Customer.objects.filter(standing__tier=rule.tier, primary_manager__isnull=False)
        for cid, pm, aum in customers.values_list(
            "pk", "primary_manager_id", "standing__aum"
        ).iterator(chunk_size=20000):
            in_scope.add((rule.requirement, cid))
            last = last_map.get(cid)
            last_day = timezone.localtime(last).date() if last else None
            key = f"CADENCE:{rule.requirement}:{cid}:{last_day or 'NONE'}"
            current.add(key)
            due = last_day + dt.timedelta(days=rule.interval_days) if last_day else day
            if due - dt.timedelta(days=rule.lead_days) > day:
                continue
            params = {
                "window": longest + 1,
                "requirement": rule.requirement,
                "tier": rule.tier,
                "interval": rule.interval_days,
                "due": due.isoformat(),
                "last": _iso(last_day),
            }
            value = _money(Decimal(aum or 0) * risk.get(cid, default_risk))
            candidates.append(
                (
                    pm,
                    cid,
                    None,
                    WorkKind.CONTACT_DUE,
                    "CADENCE_LAST" if last_day else "CADENCE_NEVER",
                    params,
                    value,
                    due,
                    None,
                    key,
                )
            )
    # Open items whose key is no longer current: a newer contact met the rule (done), or the
    # customer left the tier or the manager's book (moot).
    stale: dict[str, str] = {}
    for key in (
        WorkItem.objects.filter(kind=WorkKind.CONTACT_DUE, status=WorkStatus.OPEN)
        .values_list("cause_key", flat=True)
        .iterator(chunk_size=20000)
    ):
        if key in current:
            continue
        _, req, cid_text, _ = key.split(":", 3)
        stale[key] = WorkStatus.DONE if (req, int(cid_text)) in in_scope else WorkStatus.EXPIRED
    return [_Batch(WorkKind.CONTACT_DUE, candidates, stale)]


def _attrition_by_customer(tiers: set[str]) -> dict[int, Decimal]:
    latest = ScoreSnapshot.objects.aggregate(d=Max("as_of"))["d"]
    if latest is None:
        return {}
    rows = ScoreSnapshot.objects.filter(
        as_of=latest, attrition_prob__isnull=False, customer__standing__tier__in=list(tiers)
    ).values_list("customer_id", "attrition_prob")
    return {
        cid: Decimal(str(round(float(p or 0), 4))) for cid, p in rows.iterator(chunk_size=20000)
    }


def _managers_by_no(customer_nos: Iterable[str]) -> dict[str, tuple[int, int, Decimal]]:
    nos = sorted(set(customer_nos))
    out: dict[str, tuple[int, int, Decimal]] = {}
    for i in range(0, len(nos), 900):
        for no, cid, pm, aum in Customer.objects.filter(
            customer_no__in=nos[i : i + 900], primary_manager__isnull=False
        ).values_list("customer_no", "pk", "primary_manager_id", "standing__aum"):
            out[no] = (cid, pm, aum)
    return out


def _gen_large(day: dt.date) -> list[_Batch]:
    """Large movements (大额提醒): the lake's transactions of the last days, and the scoring's
    LARGE_INFLOW / LARGE_OUTFLOW events; one item per customer, day and direction."""
    lookback = int(worklist_setting("large_lookback_days"))
    expire = int(worklist_setting("large_expire_days"))
    start = day - dt.timedelta(days=lookback)
    threshold = Decimal(settings.QIAO["LARGE_AMOUNT"])
    found: dict[tuple[int, str, dt.date], tuple[int, Decimal]] = {}
    kind: str
    moves = lake.large_movements(start=start, end=day, threshold=threshold)
    managers = _managers_by_no(m[0] for m in moves)
    for no, when, direction, amount in moves:
        if no not in managers:
            continue
        cid, pm, _aum = managers[no]
        kind = WorkKind.LARGE_INFLOW if direction == "C" else WorkKind.LARGE_OUTFLOW
        found[(cid, kind, when)] = (pm, amount)
    events = ScoreEvent.objects.filter(
        kind__in=[WorkKind.LARGE_INFLOW, WorkKind.LARGE_OUTFLOW],
        event_date__gte=start,
        event_date__lte=day,
        customer__primary_manager__isnull=False,
    ).values_list("customer_id", "customer__primary_manager_id", "kind", "event_date", "detail")
    for cid, pm, kind, when, detail in events:
        amount = _detail_amount(detail)
        if (cid, kind, when) not in found or amount > found[(cid, kind, when)][1]:
            found[(cid, kind, when)] = (pm, amount)
    batches: dict[str, list[Candidate]] = {WorkKind.LARGE_INFLOW: [], WorkKind.LARGE_OUTFLOW: []}
    for (cid, kind, when), (pm, amount) in found.items():
        weight = value_weight(
            "large_inflow_weight" if kind == WorkKind.LARGE_INFLOW else "large_outflow_weight"
        )
        batches[kind].append(
            (
                pm,
                cid,
                None,
                kind,
                kind,
                {"amount": str(_money(amount)), "date": when.isoformat()},
                _money(amount * weight),
                when + dt.timedelta(days=1),
                when + dt.timedelta(days=expire),
                f"{kind}:{cid}:{when.isoformat()}",
            )
        )
    return [_Batch(k, v) for k, v in batches.items()]


def _detail_amount(detail: Any) -> Decimal:
    if isinstance(detail, dict):
        for key in ("amount", "total", "value"):
            if detail.get(key) not in (None, ""):
                try:
                    return abs(Decimal(str(detail[key])))
                except ArithmeticError:
                    continue
    return Decimal(0)


def _gen_maturity(day: dt.date) -> list[_Batch]:
    horizon = day + dt.timedelta(days=int(worklist_setting("maturity_days")))
    weight = value_weight("maturity_weight")
    rows = (
        Account.objects.filter(
            maturity_date__gte=day,
            maturity_date__lte=horizon,
            product__category__in=[Category.TIME, Category.WEALTH],
            customer__primary_manager__isnull=False,
        )
        .exclude(status=AccountStatus.CLOSED)
        .values_list(
            "pk",
            "customer_id",
            "customer__primary_manager_id",
            "balance",
            "maturity_date",
            "product__name",
            "account_no",
        )
    )
    out: list[Candidate] = []
    for aid, cid, pm, balance, maturity, product, account_no in rows.iterator(chunk_size=20000):
        if maturity is None:  # excluded by the filter; keeps the type checker informed
            continue
        out.append(
            (
                pm,
                cid,
                None,
                WorkKind.MATURITY,
                "MATURITY",
                {
                    "product": product,
                    "amount": str(_money(balance)),
                    "date": maturity.isoformat(),
                    "account": account_no,
                },
                _money(Decimal(balance or 0) * weight),
                maturity,
                maturity,
                f"MATURITY:{aid}:{maturity.isoformat()}",
            )
        )
    return [_Batch(WorkKind.MATURITY, out)]


def _window(day: dt.date, lead: int) -> list[dt.date]:
    return [day + dt.timedelta(days=i) for i in range(lead + 1)]


def _gen_birthdays(day: dt.date) -> list[_Batch]:
    tiers = list(worklist_setting("greeting_tiers"))
    dates = _window(day, int(worklist_setting("greeting_lead_days")))
    weight = value_weight("greeting_weight")
    q = Q()
    when: dict[tuple[int, int], dt.date] = {}
    for d in dates:
        q |= Q(birth_date__month=d.month, birth_date__day=d.day)
        when[(d.month, d.day)] = d
        # Born on 29 February: greeted on 28 February in common years.
        if d.month == 2 and d.day == 28 and not _leap(d.year):
            q |= Q(birth_date__month=2, birth_date__day=29)
            when[(2, 29)] = d
    rows = Customer.objects.filter(
        q,
        customer_type=CustomerType.INDIVIDUAL,
        standing__tier__in=tiers,
        primary_manager__isnull=False,
        birth_date__isnull=False,
    ).values_list("pk", "primary_manager_id", "standing__aum", "birth_date")
    out: list[Candidate] = []
    for cid, pm, aum, born in rows.iterator(chunk_size=20000):
        if born is None:
            continue
        d = when[(born.month, born.day)]
        out.append(
            (
                pm,
                cid,
                None,
                WorkKind.BIRTHDAY,
                "BIRTHDAY",
                {"date": d.isoformat()},
                _money(Decimal(aum or 0) * weight),
                d,
                d,
                f"BIRTHDAY:{cid}:{d.year}",
            )
        )
    return [_Batch(WorkKind.BIRTHDAY, out)]


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _gen_festivals(day: dt.date) -> list[_Batch]:
    lead = int(worklist_setting("greeting_lead_days"))
    festivals = festivals_between(day, day + dt.timedelta(days=lead))
    out: list[Candidate] = []
    if festivals:
        weight = value_weight("greeting_weight")
        customers = list(
            Customer.objects.filter(
                standing__tier__in=list(worklist_setting("greeting_tiers")),
                primary_manager__isnull=False,
            )
            .values_list("pk", "primary_manager_id", "standing__aum")
            .iterator(chunk_size=20000)
        )
        for code, d in festivals:
            for cid, pm, aum in customers:
                out.append(
                    (
                        pm,
                        cid,
                        None,
                        WorkKind.FESTIVAL,
                        "FESTIVAL",
                        {"festival": code, "date": d.isoformat()},
                        _money(Decimal(aum or 0) * weight),
                        d,
                        d,
                        f"FESTIVAL:{code}:{d.year}:{cid}",
                    )
                )
    return [_Batch(WorkKind.FESTIVAL, out)]


def _gen_score_events(day: dt.date) -> list[_Batch]:
    start = day - dt.timedelta(days=int(worklist_setting("event_lookback_days")))
    expire = int(worklist_setting("event_expire_days"))
    rows = ScoreEvent.objects.filter(
        kind__in=[WorkKind.TIER_DOWN, WorkKind.ATTRITION_UP],
        event_date__gte=start,
        event_date__lte=day,
        customer__primary_manager__isnull=False,
    ).values_list(
        "customer_id",
        "customer__primary_manager_id",
        "customer__standing__aum",
        "customer__standing__tier",
        "kind",
        "event_date",
        "detail",
    )
    out: dict[str, list[Candidate]] = {WorkKind.TIER_DOWN: [], WorkKind.ATTRITION_UP: []}
    for cid, pm, aum, tier, kind, when, detail in rows:
        detail = detail if isinstance(detail, dict) else {}
        aum = Decimal(aum or 0)
        if kind == WorkKind.TIER_DOWN:
            params = {
                "old": detail.get("from") or detail.get("old") or "",
                "new": detail.get("to") or detail.get("new") or tier,
                "date": when.isoformat(),
            }
            value = aum * value_weight("tier_down_weight")
        else:
            prob = _probability(detail)
            params = {"prob": round(prob * 100), "date": when.isoformat()}
            value = aum * Decimal(str(prob))
        out[kind].append(
            (
                pm,
                cid,
                None,
                kind,
                kind,
                params,
                _money(value),
                when + dt.timedelta(days=2),
                when + dt.timedelta(days=expire),
                f"{kind}:{cid}:{when.isoformat()}",
            )
        )
    return [_Batch(k, v) for k, v in out.items()]


def _probability(detail: dict[str, Any]) -> float:
    for key in ("to", "new", "prob", "attrition_prob", "value"):
        raw = detail.get(key)
        if raw is None:
            continue
        try:
            p = float(raw)
        except (TypeError, ValueError):
            continue
        return p / 100 if p > 1 else p
    return float(value_weight("contact_due_default_risk"))


def _gen_referrals(day: dt.date) -> list[_Batch]:
    default = value_weight("referral_default_amount")
    out: list[Candidate] = []
    current: set[str] = set()
    rows = Referral.objects.filter(status=ReferralStatus.NEW).values_list(
        "pk",
        "to_staff_id",
        "customer_id",
        "prospect_id",
        "amount",
        "customer__standing__aum",
        "prospect__expected_value",
        "prospect__likelihood",
        "reason",
        "created_at",
        "referrer_staff__name",
        "referrer_staff__username",
        "referrer_customer__name",
    )
    for rid, to, cid, pid, amount, aum, pval, plike, reason, created, sname, suser, cname in rows:
        if amount:
            value = Decimal(amount)
        elif cid and aum:
            value = Decimal(aum)
        elif pid and pval:
            value = Decimal(pval) * Decimal(plike or 0) / 100
        else:
            value = default
        created_day = timezone.localtime(created).date()
        key = f"REFERRAL:{rid}"
        current.add(key)
        out.append(
            (
                to,
                cid,
                pid,
                WorkKind.REFERRAL,
                "REFERRAL",
                {
                    "reason": reason,
                    "by": sname or suser or cname or "—",
                    "date": created_day.isoformat(),
                },
                _money(value),
                created_day + dt.timedelta(days=1),
                None,
                key,
            )
        )
    stale = {}
    open_keys = WorkItem.objects.filter(kind=WorkKind.REFERRAL, status=WorkStatus.OPEN).values_list(
        "cause_key", flat=True
    )
    gone = {int(k.split(":")[1]): k for k in open_keys if k not in current}
    for rid, status in Referral.objects.filter(pk__in=list(gone)).values_list("pk", "status"):
        stale[gone[rid]] = (
            WorkStatus.EXPIRED if status == ReferralStatus.CLOSED else WorkStatus.DONE
        )
    for key in gone.values():
        stale.setdefault(key, WorkStatus.EXPIRED)
    return [_Batch(WorkKind.REFERRAL, out, stale)]


def _gen_prospects(day: dt.date) -> list[_Batch]:
    out: list[Candidate] = []
    current: set[str] = set()
    rows = Prospect.objects.filter(status=ProspectStatus.ACTIVE, next_review__lte=day).values_list(
        "pk", "owner_id", "number", "grade", "expected_value", "likelihood", "next_review"
    )
    for pid, owner, number, grade, value, likelihood, next_review in rows.iterator(
        chunk_size=20000
    ):
        key = f"PROSPECT:{pid}:{next_review.isoformat()}"
        current.add(key)
        out.append(
            (
                owner,
                None,
                pid,
                WorkKind.PROSPECT_REVIEW,
                "PROSPECT_REVIEW",
                {"number": number, "grade": grade},
                _money(Decimal(value or 0) * Decimal(likelihood or 0) / 100),
                next_review,
                None,
                key,
            )
        )
    stale = {}
    for key, pstatus in WorkItem.objects.filter(
        kind=WorkKind.PROSPECT_REVIEW, status=WorkStatus.OPEN
    ).values_list("cause_key", "prospect__status"):
        if key not in current:
            stale[key] = WorkStatus.DONE if pstatus == ProspectStatus.ACTIVE else WorkStatus.EXPIRED
    return [_Batch(WorkKind.PROSPECT_REVIEW, out, stale)]


def _gen_complaints(day: dt.date) -> list[_Batch]:
    warn = day + dt.timedelta(days=int(worklist_setting("complaint_warn_days")))
    weight = value_weight("complaint_weight")
    out: list[Candidate] = []
    current: set[str] = set()
    rows = (
        Complaint.objects.exclude(status=ComplaintStatus.RESOLVED)
        .filter(deadline__lte=warn)
        .values_list(
            "pk", "owner_id", "customer_id", "customer__standing__aum", "subject", "deadline"
        )
    )
    for pk, owner, cid, aum, subject, deadline in rows:
        key = f"COMPLAINT:{pk}"
        current.add(key)
        out.append(
            (
                owner,
                cid,
                None,
                WorkKind.COMPLAINT_DUE,
                "COMPLAINT_DUE",
                {"subject": subject[:80], "deadline": deadline.isoformat()},
                _money(Decimal(aum or 0) * weight),
                deadline,
                None,
                key,
            )
        )
    stale = {
        key: WorkStatus.DONE
        for key in WorkItem.objects.filter(
            kind=WorkKind.COMPLAINT_DUE, status=WorkStatus.OPEN
        ).values_list("cause_key", flat=True)
        if key not in current
    }
    return [_Batch(WorkKind.COMPLAINT_DUE, out, stale)]


GENERATORS: list[Callable[[dt.date], list[_Batch]]] = [
    _gen_cadence,
    _gen_large,
    _gen_maturity,
    _gen_birthdays,
    _gen_festivals,
    _gen_score_events,
    _gen_referrals,
    _gen_prospects,
    _gen_complaints,
]

#: Kinds whose items belong to the customer's primary manager (follow a reassignment).
OWNER_KINDS = [
    WorkKind.CONTACT_DUE,
    WorkKind.LARGE_INFLOW,
    WorkKind.LARGE_OUTFLOW,
    WorkKind.MATURITY,
    WorkKind.BIRTHDAY,
    WorkKind.FESTIVAL,
    WorkKind.TIER_DOWN,
    WorkKind.ATTRITION_UP,
]


_ITEM_COLUMNS = (
    "staff_id",
    "customer_id",
    "prospect_id",
    "kind",
    "reason_code",
    "reason_params",
    "reason_text",
    "value_at_stake",
    "due",
    "list_day",
    "expires_on",
    "status",
    "cause_key",
    "created_at",
)


def _insert_items(candidates: list[Candidate], *, day: dt.date, now: dt.datetime) -> int:
    """Insert new items. PostgreSQL: COPY into a temporary table, then one INSERT … ON CONFLICT
    DO NOTHING (several times faster than ``bulk_create`` for the first run's hundreds of
    thousands of items, and as safe against a concurrent run); elsewhere ``bulk_create``."""
    if not candidates:
        return 0
    if connection.vendor != "postgresql":
        WorkItem.objects.bulk_create(
            [
                WorkItem(
                    staff_id=c[0],
                    customer_id=c[1],
                    prospect_id=c[2],
                    kind=c[3],
                    reason_code=c[4],
                    reason_params=c[5],
                    reason_text=render_reason(c[4], c[5])[:300],
                    value_at_stake=c[6],
                    due=c[7],
                    expires_on=c[8],
                    cause_key=c[9],
                    list_day=day,
                )
                for c in candidates
            ],
            batch_size=BATCH,
            ignore_conflicts=True,
        )
        return len(candidates)
    table = WorkItem._meta.db_table
    cols = ", ".join(_ITEM_COLUMNS)
    with connection.cursor() as cur:
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS _qiao_new_items AS SELECT {cols} FROM {table} WITH NO DATA"
        )
        cur.execute("TRUNCATE _qiao_new_items")
        with cur.cursor.copy(f"COPY _qiao_new_items ({cols}) FROM STDIN") as copy:
            for c in candidates:
                copy.write_row(
                    (
                        c[0],
                        c[1],
                        c[2],
                        c[3],
                        c[4],
                        json.dumps(c[5], ensure_ascii=False),
                        render_reason(c[4], c[5])[:300],
                        c[6],
                        c[7],
                        day,
                        c[8],
                        WorkStatus.OPEN,
                        c[9],
                        now,
                    )
                )
        cur.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _qiao_new_items ON CONFLICT DO NOTHING"
        )
        return cur.rowcount


def _close_keys(keys_by_status: dict[str, list[str]], now: dt.datetime) -> int:
    n = 0
    for status, keys in keys_by_status.items():
        for i in range(0, len(keys), 900):
            n += WorkItem.objects.filter(
                status=WorkStatus.OPEN, cause_key__in=keys[i : i + 900]
            ).update(status=status, closed_at=now)
    return n


def _reassign(now: dt.datetime) -> int:
    """Open items follow their customer to the new primary manager (one query per batch)."""
    moved = (
        WorkItem.objects.filter(
            status=WorkStatus.OPEN, kind__in=OWNER_KINDS, customer__primary_manager__isnull=False
        )
        .exclude(staff=F("customer__primary_manager"))
        .values_list("pk", "customer__primary_manager_id")
    )
    by_staff: dict[int, list[int]] = defaultdict(list)
    for pk, pm in moved:
        by_staff[pm].append(pk)
    n = 0
    for pm, ids in by_staff.items():
        for i in range(0, len(ids), 900):
            n += WorkItem.objects.filter(pk__in=ids[i : i + 900]).update(staff_id=pm)
    return n + _reassign_complaints()


def _reassign_complaints() -> int:
    """An open complaint whose handler (a CM) no longer manages the customer goes to the
    customer's primary manager, and its deadline items with it (decision 0006)."""
    still_manages = Ownership.objects.filter(
        staff=OuterRef("owner"), customer=OuterRef("customer"), end_date__isnull=True
    )
    moved = list(
        Complaint.objects.exclude(status=ComplaintStatus.RESOLVED)
        .filter(customer__primary_manager__isnull=False, owner__role__in=[Role.CM, Role.SENIOR_CM])
        .exclude(owner=F("customer__primary_manager"))
        .exclude(Exists(still_manages))
        .values_list("pk", "customer__primary_manager_id")
    )
    for pk, pm in moved:
        Complaint.objects.filter(pk=pk).update(owner_id=pm)
        WorkItem.objects.filter(cause_key=f"COMPLAINT:{pk}", status=WorkStatus.OPEN).update(
            staff_id=pm
        )
    return len(moved)


def worklist_generate(*, day: dt.date | None = None) -> dict[str, Any]:
    """Build every CM's work list for ``day`` (default today): set-based and idempotent.

    1. open items follow their customer to the current primary manager;
    2. items past their ``expires_on`` expire; items whose cause is gone close (done or expired);
    3. each generator proposes items; those whose ``cause_key`` is open, or was done recently, are
       skipped; the rest are inserted with ``bulk_create``.

    Returns a JSON-ready summary (printed by ``qiao worklist``).
    """
    started = time.perf_counter()
    day = day or timezone.localdate()
    now = timezone.now()
    created: Counter[str] = Counter()
    closed: Counter[str] = Counter()
    with transaction.atomic():
        reassigned = _reassign(now)
        expired = WorkItem.objects.filter(status=WorkStatus.OPEN, expires_on__lt=day).update(
            status=WorkStatus.EXPIRED, closed_at=now
        )
        # Causes done within this window are not raised again (a maturity called about stays done).
        recent = now - dt.timedelta(days=120)
        with translation.override("en"):
            for generator in GENERATORS:
                for batch in generator(day):
                    if batch.stale:
                        by_status: dict[str, list[str]] = defaultdict(list)
                        for key, status in batch.stale.items():
                            by_status[status].append(key)
                        n = _close_keys(by_status, now)
                        closed[batch.kind] += n
                    if not batch.candidates:
                        continue
                    known = set(
                        WorkItem.objects.filter(kind=batch.kind)
                        .filter(
                            Q(status=WorkStatus.OPEN)
                            | Q(status=WorkStatus.DONE, closed_at__gte=recent)
                        )
                        .values_list("cause_key", flat=True)
                        .iterator(chunk_size=20000)
                    )
                    fresh = []
                    for c in batch.candidates:
                        if c[9] in known:
                            continue
                        known.add(c[9])
                        fresh.append(c)
                    created[batch.kind] += _insert_items(fresh, day=day, now=now)
    # Seed 004 L44: the prospect cards are tidied and regraded every week (on Mondays).
    regraded = prospects_regrade_weekly(day=day)["regraded"] if day.weekday() == 0 else None
    open_items = WorkItem.objects.filter(status=WorkStatus.OPEN)
    return {
        "prospects_regraded": regraded,
        "day": day.isoformat(),
        "created": sum(created.values()),
        "created_by_kind": {str(k): v for k, v in sorted(created.items())},
        "closed_done_or_moot": sum(closed.values()),
        "expired": expired,
        "reassigned": reassigned,
        "open": open_items.count(),
        "staff_with_items": open_items.values("staff_id").distinct().count(),
        "seconds": round(time.perf_counter() - started, 2),
    }


def _customer_no(customer: Customer | None) -> str:
    return customer.customer_no if customer is not None else ""


def _in_scope(staff: Staff, customer_id: int | None) -> bool:
    """True when the customer is in ``staff``'s data scope now (a reassignment ends access)."""
    if customer_id is None:
        return True
    return customers_visible_to(staff=staff).filter(pk=customer_id).exists()


def work_item_close(*, staff: Staff, item: WorkItem) -> WorkItem:
    """The CM marks an item done without logging a contact (e.g. handled elsewhere)."""
    require_perm(staff, WORK_OWN_LIST)
    if item.staff_id != staff.pk or not _in_scope(staff, item.customer_id):
        raise ApplicationError(_("This item is not on your work list."), status=403)
    if item.status != WorkStatus.OPEN:
        raise ApplicationError(_("This item is already closed."))
    item.status = WorkStatus.DONE
    item.closed_at = timezone.now()
    with transaction.atomic():
        item.save(update_fields=["status", "closed_at"])
        audit_record(
            request_or_staff=staff,
            action=Action.ITEM_CLOSE,
            customer_no=_customer_no(item.customer),
            detail={"item": item.pk, "kind": item.kind},
        )
    return item


# --------------------------------------------------------------------------------------------------
# contacts and tasks
# --------------------------------------------------------------------------------------------------

CONTACT_FIELDS = (
    "channel",
    "at",
    "summary",
    "with_outlet_head",
    *PHONE_STEPS,
    "appointment_at",
    "appointment_place",
    *MEETING_FIELDS,
    "next_step",
    "next_step_due",
    "satisfaction",
)
#: Kinds a personal contact (call, meeting, visit, at the outlet) closes; greetings close by any.
CLOSED_BY_PERSONAL = {
    WorkKind.LARGE_INFLOW,
    WorkKind.LARGE_OUTFLOW,
    WorkKind.MATURITY,
    WorkKind.TIER_DOWN,
    WorkKind.ATTRITION_UP,
    WorkKind.REFERRAL,
    WorkKind.BIRTHDAY,
    WorkKind.FESTIVAL,
}
CLOSED_BY_ANY = {WorkKind.BIRTHDAY, WorkKind.FESTIVAL}


def _matches(item: WorkItem, contact: Contact) -> bool:
    if item.kind == WorkKind.CONTACT_DUE:
        req = item.cause_key.split(":")[1]
        if contact.channel not in REQUIREMENT_CHANNELS.get(req, ()):
            return False
        return req != Requirement.HEAD_MEETING or contact.with_outlet_head
    if contact.channel in PERSONAL_CHANNELS:
        return item.kind in CLOSED_BY_PERSONAL
    return item.kind in CLOSED_BY_ANY


def contact_log(
    *, staff: Staff, customer: Customer, data: dict[str, Any]
) -> tuple[Contact, list[WorkItem], list[str]]:
    """Record a contact; close the customer's matching open items; create the next-step task.

    ``customer`` must come from the scope selectors (checked again here). ``data`` holds the fields of
    :data:`CONTACT_FIELDS` and optionally ``work_item`` (an item id the contact answers).
    Returns the contact, the items it closed and warnings: another CM of the bank contacted or
    booked this customer the same day (seed 003 L37: two teams at one customer on one day).
    """
    require_perm(staff, LOG_CONTACT)
    if not _in_scope(staff, customer.pk):
        raise ApplicationError(_("This customer is not in your care."), status=404)
    values = {k: data[k] for k in CONTACT_FIELDS if k in data and data[k] is not None}
    values.setdefault("at", timezone.now())
    contact = Contact(customer=customer, staff=staff, **values)
    errors: dict[str, Any] = {}
    try:
        contact.full_clean()
    except ValidationError as exc:
        errors.update({k: "; ".join(str(m) for m in v) for k, v in exc.message_dict.items()})
    if contact.at and contact.at > timezone.now() + dt.timedelta(minutes=10):
        errors["at"] = _("A contact cannot be in the future; book an appointment instead.")
    if contact.appointment_place and not contact.appointment_at:
        errors["appointment_at"] = _("Give the appointment's date and time.")
    if contact.appointment_at and contact.at and contact.appointment_at < contact.at:
        errors["appointment_at"] = _("The appointment must be after the contact.")
    if contact.next_step_due and not contact.next_step:
        errors["next_step"] = _("Say what the next step is.")
    if contact.with_outlet_head and contact.channel not in (Channel.MEETING, Channel.VISIT):
        errors["with_outlet_head"] = _("Only a meeting or a visit can include the outlet head.")
    if errors:
        first = next(iter(errors.values()))
        raise ApplicationError(first, fields=errors)
    now = timezone.now()
    with transaction.atomic():
        contact.save()
        open_items = list(
            WorkItem.objects.select_for_update().filter(customer=customer, status=WorkStatus.OPEN)
        )
        wanted = data.get("work_item")
        closed = [
            item
            for item in open_items
            if _matches(item, contact)
            or (wanted is not None and str(item.pk) == str(wanted) and item.staff_id == staff.pk)
        ]
        for item in closed:
            item.status = WorkStatus.DONE
            item.closed_at = now
            item.closed_by_contact = contact
        WorkItem.objects.bulk_update(closed, ["status", "closed_at", "closed_by_contact"])
        if contact.channel in PERSONAL_CHANNELS:
            Referral.objects.filter(customer=customer, status=ReferralStatus.NEW).update(
                status=ReferralStatus.CONTACTED, contacted_at=now
            )
        if contact.next_step:
            Task.objects.create(
                staff=staff,
                customer=customer,
                contact=contact,
                title=contact.next_step[:200],
                due=contact.next_step_due
                or timezone.localtime(contact.at).date() + dt.timedelta(days=7),
            )
        if customer.last_contact_at is None or contact.at > customer.last_contact_at:
            Customer.objects.filter(pk=customer.pk).update(last_contact_at=contact.at)
            customer.last_contact_at = contact.at
        audit_record(
            request_or_staff=staff,
            action=Action.CONTACT,
            customer_no=customer.customer_no,
            detail={
                "contact": contact.pk,
                "channel": contact.channel,
                "closed_items": [i.pk for i in closed],
            },
        )
    return contact, closed, _same_day_warnings(contact)


def _same_day_warnings(contact: Contact) -> list[str]:
    days = {timezone.localtime(contact.at).date()}
    if contact.appointment_at:
        days.add(timezone.localtime(contact.appointment_at).date())
    q = Q()
    for d in days:
        lo, hi = day_start(d), day_start(d + dt.timedelta(days=1))
        q |= Q(at__gte=lo, at__lt=hi) | Q(appointment_at__gte=lo, appointment_at__lt=hi)
    others = (
        Contact.objects.filter(q, customer_id=contact.customer_id)
        .exclude(staff_id=contact.staff_id)
        .select_related("staff")
        .order_by("at")
    )
    warnings = []
    for other in others:
        who = other.staff.display_name
        if other.appointment_at and timezone.localtime(other.appointment_at).date() in days:
            warnings.append(
                _("%(who)s has an appointment with this customer on %(when)s.")
                % {
                    "who": who,
                    "when": timezone.localtime(other.appointment_at).strftime("%Y-%m-%d %H:%M"),
                }
            )
        else:
            warnings.append(
                _("%(who)s already contacted this customer on %(when)s (%(channel)s).")
                % {
                    "who": who,
                    "when": timezone.localtime(other.at).strftime("%Y-%m-%d %H:%M"),
                    "channel": other.get_channel_display(),
                }
            )
    return warnings


def task_complete(*, staff: Staff, task: Task) -> Task:
    require_perm(staff, WORK_OWN_LIST)
    if task.staff_id != staff.pk or not _in_scope(staff, task.customer_id):
        raise ApplicationError(_("This task is not yours."), status=403)
    task.done = True
    task.done_at = timezone.now()
    with transaction.atomic():
        task.save(update_fields=["done", "done_at"])
        audit_record(
            request_or_staff=staff,
            action=Action.TASK_DONE,
            customer_no=_customer_no(task.customer),
            detail={"task": task.pk},
        )
    return task


# --------------------------------------------------------------------------------------------------
# prospect cards
# --------------------------------------------------------------------------------------------------


def prospect_grade_for(*, expected_value: Decimal, likelihood: int) -> str:
    """A/B/C by value × likelihood (seed 004 L44); thresholds in config/cadence.toml."""
    score = Decimal(expected_value or 0) * Decimal(likelihood or 0) / 100
    if score >= Decimal(str(prospect_setting("grade_a"))):
        return ProspectGrade.A
    if score >= Decimal(str(prospect_setting("grade_b"))):
        return ProspectGrade.B
    return ProspectGrade.C


def prospect_review_days(grade: str) -> int:
    return int(prospect_setting(f"review_days_{grade.lower()}"))


def _grade_change(
    prospect: Prospect, old: str, reason: str, by: Staff | None, day: dt.date
) -> None:
    ProspectGradeChange.objects.create(
        prospect=prospect,
        day=day,
        old_grade=old,
        new_grade=prospect.grade,
        expected_value=prospect.expected_value,
        likelihood=prospect.likelihood,
        reason=reason,
        by=by,
    )


PROSPECT_FIELDS = (
    "kind",
    "name",
    "mobile",
    "classification",
    "source",
    "source_note",
    "expected_value",
    "likelihood",
    "notes",
)


def prospect_create(
    *, owner: Staff, data: dict[str, Any], day: dt.date | None = None, by: Staff | None = None
) -> Prospect:
    """A CM opens a prospect card for themselves (``by`` another: a referral, see below)."""
    require_perm(by or owner, MANAGE_PROSPECTS)
    return _prospect_create(owner=owner, data=data, day=day, by=by)


def _prospect_audit(prospect: Prospect, by: Staff | None, change: str) -> None:
    audit_record(
        request_or_staff=by,
        action=Action.PROSPECT_EDIT,
        customer_no=_customer_no(prospect.customer),
        detail={"prospect": prospect.number, "change": change, "owner": prospect.owner.username},
    )


def _prospect_own(prospect: Prospect, by: Staff) -> None:
    require_perm(by, MANAGE_PROSPECTS)
    if prospect.owner_id != by.pk:
        raise PermissionDenied("only the card's owner changes a prospect card")


def _prospect_create(
    *, owner: Staff, data: dict[str, Any], day: dt.date | None, by: Staff | None
) -> Prospect:
    day = day or timezone.localdate()
    if owner.role not in OWNER_ROLES:
        raise ApplicationError(_("Prospect cards belong to a customer manager."), field="owner")
    prospect = Prospect(
        owner=owner, unit=owner.unit, **{k: data[k] for k in PROSPECT_FIELDS if k in data}
    )
    prospect.grade = prospect_grade_for(
        expected_value=prospect.expected_value, likelihood=prospect.likelihood
    )
    prospect.next_review = day
    prospect.number = f"TMP-{uuid.uuid4().hex[:16]}"
    _clean(prospect, exclude=["number"])
    with transaction.atomic():
        prospect.save()
        # The card number is the year and the row id: unique without a counter to lock.
        prospect.number = f"P-{day.year}-{prospect.pk:06d}"
        prospect.save(update_fields=["number"])
        _grade_change(prospect, "", "CREATED", by or owner, day)
        _prospect_audit(prospect, by or owner, "created")
    return prospect


def _clean(obj: Any, exclude: list[str] | None = None) -> None:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        errors = {k: "; ".join(str(m) for m in v) for k, v in exc.message_dict.items()}
        raise ApplicationError(next(iter(errors.values())), fields=errors) from exc


def prospect_review(
    *,
    prospect: Prospect,
    by: Staff,
    day: dt.date | None = None,
    expected_value: Decimal | None = None,
    likelihood: int | None = None,
    note: str = "",
) -> Prospect:
    """The CM looked at the card (A daily, B weekly, C monthly): update, regrade, schedule."""
    _prospect_own(prospect, by)
    day = day or timezone.localdate()
    if prospect.status != ProspectStatus.ACTIVE:
        raise ApplicationError(_("Only active prospect cards are reviewed."))
    if expected_value is not None:
        prospect.expected_value = expected_value
    if likelihood is not None:
        prospect.likelihood = likelihood
    if note:
        prospect.notes = (prospect.notes + f"\n{day.isoformat()}: {note}").strip()
    old = prospect.grade
    prospect.grade = prospect_grade_for(
        expected_value=prospect.expected_value, likelihood=prospect.likelihood
    )
    prospect.last_reviewed = day
    prospect.next_review = day + dt.timedelta(days=prospect_review_days(prospect.grade))
    _clean(prospect)
    with transaction.atomic():
        prospect.save()
        if prospect.grade != old:
            _grade_change(prospect, old, "REVIEW", by, day)
        WorkItem.objects.filter(
            prospect=prospect, kind=WorkKind.PROSPECT_REVIEW, status=WorkStatus.OPEN
        ).update(status=WorkStatus.DONE, closed_at=timezone.now())
        _prospect_audit(prospect, by, "reviewed")
    return prospect


def prospects_regrade_weekly(*, day: dt.date | None = None) -> dict[str, int]:
    """Regrade every active card (seed 004 L44: tidy the cards weekly), keeping the history.

    A card whose grade changes is rescheduled to the new grade's interval from its last review
    (never later than it was already due).
    """
    day = day or timezone.localdate()
    changed, seen = 0, 0
    with transaction.atomic():
        for prospect in Prospect.objects.select_for_update().filter(status=ProspectStatus.ACTIVE):
            seen += 1
            new = prospect_grade_for(
                expected_value=prospect.expected_value, likelihood=prospect.likelihood
            )
            if new == prospect.grade:
                continue
            old, prospect.grade = prospect.grade, new
            base = prospect.last_reviewed or day
            prospect.next_review = min(
                prospect.next_review, max(day, base + dt.timedelta(days=prospect_review_days(new)))
            )
            prospect.save(update_fields=["grade", "next_review"])
            _grade_change(prospect, old, "WEEKLY", None, day)
            changed += 1
    return {"prospects": seen, "regraded": changed}


def prospect_convert(*, prospect: Prospect, customer: Customer, by: Staff) -> Prospect:
    """The prospect became a customer: link the card (history kept) and credit any referral."""
    _prospect_own(prospect, by)
    if prospect.status == ProspectStatus.CONVERTED:
        raise ApplicationError(_("This prospect card is already converted."))
    now = timezone.now()
    with transaction.atomic():
        prospect.status = ProspectStatus.CONVERTED
        prospect.customer = customer
        prospect.converted_at = now
        prospect.save(update_fields=["status", "customer", "converted_at"])
        _grade_change(prospect, prospect.grade, "CONVERTED", by, timezone.localdate())
        for referral in Referral.objects.filter(prospect=prospect).exclude(
            status__in=[ReferralStatus.CONVERTED, ReferralStatus.CLOSED]
        ):
            referral.customer = customer
            _referral_set_status(referral=referral, status=ReferralStatus.CONVERTED, by=by)
        WorkItem.objects.filter(prospect=prospect, status=WorkStatus.OPEN).update(
            status=WorkStatus.DONE, closed_at=now
        )
        _prospect_audit(prospect, by, "converted")
    return prospect


def prospect_drop(*, prospect: Prospect, by: Staff) -> Prospect:
    _prospect_own(prospect, by)
    if prospect.status != ProspectStatus.ACTIVE:
        raise ApplicationError(_("Only active prospect cards are dropped."))
    prospect.status = ProspectStatus.DROPPED
    with transaction.atomic():
        prospect.save(update_fields=["status"])
        WorkItem.objects.filter(prospect=prospect, status=WorkStatus.OPEN).update(
            status=WorkStatus.EXPIRED, closed_at=timezone.now()
        )
        _prospect_audit(prospect, by, "dropped")
    return prospect


# --------------------------------------------------------------------------------------------------
# marketing plans
# --------------------------------------------------------------------------------------------------

PLAN_FIELDS = (
    "title",
    "period",
    "start",
    "end",
    "target_amount",
    "resources_people",
    "resources_money",
    "resources_materials",
    "methods",
    "competition",
)


def plan_create(
    *,
    owner: Staff,
    data: dict[str, Any],
    customer: Customer | None = None,
    group: Any = None,
    products: Iterable[Any] = (),
    milestones: Iterable[tuple[dt.date, Decimal, str]] = (),
) -> Plan:
    """Create a plan; its baseline is what it measures at its start (overridable in ``data``).

    ``customer`` must be in the owner's scope and ``group`` one of the owner's saved groups.
    """
    require_perm(owner, MANAGE_PLANS)
    if customer is not None and not _in_scope(owner, customer.pk):
        raise ApplicationError(_("This customer is not in your care."), field="customer_no")
    if group is not None and group.owner_id != owner.pk:
        raise ApplicationError(_("Plans use your own customer groups."), field="group")
    if (customer is None) == (group is None):
        raise ApplicationError(_("A plan is for one customer or one group."), field="customer")
    plan = Plan(
        owner=owner,
        customer=customer,
        group=group,
        **{k: data[k] for k in PLAN_FIELDS if k in data},
    )
    if plan.start and plan.end and plan.end < plan.start:
        raise ApplicationError(_("The plan ends before it starts."), field="end")
    _clean(plan)
    milestones = list(milestones)
    for date, _target, _note in milestones:
        if not (plan.start <= date <= plan.end):
            raise ApplicationError(
                _("Milestones fall within the plan's period."), field="milestones"
            )
    with transaction.atomic():
        plan.save()
        plan.products.set(list(products))
        PlanMilestone.objects.bulk_create(
            [PlanMilestone(plan=plan, date=d, target=t, note=n) for d, t, n in milestones]
        )
        if data.get("baseline_amount") is not None:
            plan.baseline_amount = data["baseline_amount"]
        else:
            plan.baseline_amount = plans_measure([plan], as_of=plan.start)[plan.pk]
        plan.save(update_fields=["baseline_amount"])
        audit_record(
            request_or_staff=owner,
            action=Action.PLAN_NEW,
            customer_no=_customer_no(customer),
            detail={"plan": plan.pk, "group": group.name if group is not None else None},
        )
    return plan


# --------------------------------------------------------------------------------------------------
# referrals
# --------------------------------------------------------------------------------------------------


def referral_create(
    *,
    to_staff: Staff,
    reason: str,
    note: str = "",
    amount: Decimal | None = None,
    referrer_staff: Staff | None = None,
    referrer_customer: Customer | None = None,
    customer: Customer | None = None,
    prospect_data: dict[str, Any] | None = None,
) -> Referral:
    """A teller or lobby manager (or a customer) refers an existing customer or a prospect.

    For a prospect a card is created for the CM, sourced as a teller referral or an acquaintance.
    A referral by a member of staff needs their ``org.refer``; a customer's referral is recorded
    by the bank (the demo, a future import).
    """
    if referrer_staff is not None:
        require_perm(referrer_staff, REFER)
    if referrer_staff is None and referrer_customer is None:
        raise ApplicationError(_("Say who made the referral."), field="referrer")
    if (customer is None) == (prospect_data is None):
        raise ApplicationError(_("Refer either a customer or a prospect."), field="customer")
    if to_staff.role not in OWNER_ROLES or not to_staff.is_active:
        raise ApplicationError(_("Referrals go to a customer manager."), field="to_staff")
    with transaction.atomic():
        prospect = None
        if prospect_data is not None:
            source = "TELLER_REFERRAL" if referrer_staff is not None else "ACQUAINTANCE"
            by = referrer_staff.display_name if referrer_staff else str(referrer_customer)
            prospect = _prospect_create(
                owner=to_staff,
                day=None,
                by=referrer_staff,
                data={"source": source, "source_note": by[:200], **prospect_data},
            )
        referral = Referral(
            referrer_staff=referrer_staff,
            referrer_customer=referrer_customer,
            to_staff=to_staff,
            customer=customer,
            prospect=prospect,
            reason=reason,
            note=note,
            amount=amount,
        )
        _clean(referral)
        referral.save()
        audit_record(
            request_or_staff=referrer_staff,
            action=Action.REFERRAL_NEW,
            customer_no=_customer_no(customer),
            detail={
                "referral": referral.pk,
                "to": to_staff.username,
                "prospect": prospect.number if prospect is not None else None,
            },
        )
    return referral


def referral_set_status(*, referral: Referral, status: str, by: Staff) -> Referral:
    """The receiving CM moves their referral on: NEW → CONTACTED → CONVERTED or CLOSED."""
    require_perm(by, REFER)
    if referral.to_staff_id != by.pk or not _in_scope(by, referral.customer_id):
        raise PermissionDenied("only the receiving manager changes a referral")
    return _referral_set_status(referral=referral, status=status, by=by)


def _referral_set_status(*, referral: Referral, status: str, by: Staff) -> Referral:
    """NEW → CONTACTED → CONVERTED or CLOSED; a conversion credits the referrer."""
    order: list[str] = [ReferralStatus.NEW, ReferralStatus.CONTACTED, ReferralStatus.CONVERTED]
    if referral.status in (ReferralStatus.CONVERTED, ReferralStatus.CLOSED):
        raise ApplicationError(_("This referral is already closed."))
    if status not in ReferralStatus.values:
        raise ApplicationError(_("Unknown status."), field="status")
    if status in order and order.index(status) < order.index(referral.status):
        raise ApplicationError(_("A referral does not go back."), field="status")
    now = timezone.now()
    referral.status = status
    if status == ReferralStatus.CONTACTED and referral.contacted_at is None:
        referral.contacted_at = now
    if status in (ReferralStatus.CONVERTED, ReferralStatus.CLOSED):
        referral.closed_at = now
        referral.contacted_at = referral.contacted_at or now
    if status == ReferralStatus.CONVERTED:
        referral.credited = True
    with transaction.atomic():
        referral.save()
        WorkItem.objects.filter(cause_key=f"REFERRAL:{referral.pk}", status=WorkStatus.OPEN).update(
            status=WorkStatus.EXPIRED if status == ReferralStatus.CLOSED else WorkStatus.DONE,
            closed_at=now,
        )
        audit_record(
            request_or_staff=by,
            action=Action.REFERRAL_EDIT,
            customer_no=_customer_no(referral.customer),
            detail={"referral": referral.pk, "status": status},
        )
    return referral


# --------------------------------------------------------------------------------------------------
# complaints
# --------------------------------------------------------------------------------------------------


def complaint_create(
    *,
    customer: Customer,
    by: Staff,
    subject: str,
    description: str = "",
    received_at: dt.datetime | None = None,
    owner: Staff | None = None,
    deadline: dt.date | None = None,
) -> Complaint:
    """File a complaint about a customer in ``by``'s scope (checked again here)."""
    require_perm(by, FILE_COMPLAINT)
    if not _in_scope(by, customer.pk):
        raise ApplicationError(_("This customer is not in your care."), status=404)
    received_at = received_at or timezone.now()
    complaint = Complaint(
        customer=customer,
        subject=subject,
        description=description,
        received_at=received_at,
        owner=owner or customer.primary_manager or by,
        created_by=by,
        deadline=deadline
        or timezone.localtime(received_at).date()
        + dt.timedelta(days=int(complaint_setting("deadline_days"))),
    )
    _clean(complaint)
    with transaction.atomic():
        complaint.save()
        audit_record(
            request_or_staff=by,
            action=Action.COMPLAINT_NEW,
            customer_no=customer.customer_no,
            detail={"complaint": complaint.pk, "owner": complaint.owner.username},
        )
    return complaint


def complaint_may_handle(*, staff: Staff, complaint: Complaint) -> bool:
    """Who updates and resolves a complaint (decision 0006): with ``org.handle_complaint`` and
    the customer in their scope now, its handler, the customer's current primary manager, or the
    outlet head over the customer. Team leads, head office and the filer read it."""
    if not staff_has_perm(staff, HANDLE_COMPLAINT) or not _in_scope(staff, complaint.customer_id):
        return False
    return (
        complaint.owner_id == staff.pk
        or complaint.customer.primary_manager_id == staff.pk
        or staff.role == Role.OUTLET_HEAD
    )


def complaint_update(
    *,
    complaint: Complaint,
    by: Staff,
    status: str,
    resolution: str = "",
    service_recovery: str = "",
) -> Complaint:
    require_perm(by, HANDLE_COMPLAINT)
    if not complaint_may_handle(staff=by, complaint=complaint):
        raise PermissionDenied("only the complaint's handler or the outlet head updates it")
    before = complaint.status
    if status == ComplaintStatus.RESOLVED and not resolution.strip():
        raise ApplicationError(_("Describe the resolution."), field="resolution")
    complaint.status = status
    complaint.resolution = resolution
    complaint.service_recovery = service_recovery
    if status == ComplaintStatus.RESOLVED:
        complaint.resolved_at = complaint.resolved_at or timezone.now()
    _clean(complaint)
    with transaction.atomic():
        complaint.save()
        if status == ComplaintStatus.RESOLVED:
            WorkItem.objects.filter(
                cause_key=f"COMPLAINT:{complaint.pk}", status=WorkStatus.OPEN
            ).update(status=WorkStatus.DONE, closed_at=timezone.now())
        audit_record(
            request_or_staff=by,
            action=Action.COMPLAINT_EDIT,
            customer_no=complaint.customer.customer_no,
            detail={"complaint": complaint.pk, "from": before, "to": status},
        )
    return complaint
