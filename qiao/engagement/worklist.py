"""The work-list engine: every customer manager's list for a day, built set-based and idempotent.

Generators (one per kind of cause: cadence, large movements, maturities, greetings, score events,
referrals, prospects, complaints) each propose :class:`Candidate` items; :func:`worklist_generate`
moves open items to the current manager, expires and closes what is moot, drops candidates whose
cause is already open (or was done recently) and inserts the rest. The nightly job acts for the
bank, not for a person, so it checks no permission and writes no audit event. The records a person
writes (contacts, tasks, prospects, plans, referrals, complaints) are in :mod:`.services`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Sum
from django.utils import timezone, translation

from qiao.customers.models import Customer, CustomerType, Ownership
from qiao.engagement import lake
from qiao.engagement.conf import default_cadence, value_weight, worklist_setting
from qiao.engagement.festivals import festivals_between
from qiao.engagement.models import (
    CadenceRule,
    Complaint,
    ComplaintStatus,
    Prospect,
    ProspectStatus,
    Referral,
    ReferralStatus,
    WorkItem,
    WorkKind,
    WorkStatus,
)
from qiao.engagement.reasons import render_reason
from qiao.engagement.selectors import cadence_rules, day_start, last_contacts
from qiao.engagement.services import prospects_regrade_weekly
from qiao.org.models import Role
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


class Candidate(NamedTuple):
    """One item a generator proposes; ``cause_key`` names its cause (one open item per cause)."""

    staff_id: int
    customer_id: int | None
    prospect_id: int | None
    kind: str
    reason_code: str
    params: dict[str, Any]
    value: Decimal
    due: dt.date
    expires_on: dt.date | None
    cause_key: str


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
                Candidate(
                    staff_id=pm,
                    customer_id=cid,
                    prospect_id=None,
                    kind=WorkKind.CONTACT_DUE,
                    reason_code="CADENCE_LAST" if last_day else "CADENCE_NEVER",
                    params=params,
                    value=value,
                    due=due,
                    expires_on=None,
                    cause_key=key,
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
            Candidate(
                staff_id=pm,
                customer_id=cid,
                prospect_id=None,
                kind=kind,
                reason_code=kind,
                params={"amount": str(_money(amount)), "date": when.isoformat()},
                value=_money(amount * weight),
                due=when + dt.timedelta(days=1),
                expires_on=when + dt.timedelta(days=expire),
                cause_key=f"{kind}:{cid}:{when.isoformat()}",
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
            Candidate(
                staff_id=pm,
                customer_id=cid,
                prospect_id=None,
                kind=WorkKind.MATURITY,
                reason_code="MATURITY",
                params={
                    "product": product,
                    "amount": str(_money(balance)),
                    "date": maturity.isoformat(),
                    "account": account_no,
                },
                value=_money(Decimal(balance or 0) * weight),
                due=maturity,
                expires_on=maturity,
                cause_key=f"MATURITY:{aid}:{maturity.isoformat()}",
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
            Candidate(
                staff_id=pm,
                customer_id=cid,
                prospect_id=None,
                kind=WorkKind.BIRTHDAY,
                reason_code="BIRTHDAY",
                params={"date": d.isoformat()},
                value=_money(Decimal(aum or 0) * weight),
                due=d,
                expires_on=d,
                cause_key=f"BIRTHDAY:{cid}:{d.year}",
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
                    Candidate(
                        staff_id=pm,
                        customer_id=cid,
                        prospect_id=None,
                        kind=WorkKind.FESTIVAL,
                        reason_code="FESTIVAL",
                        params={"festival": code, "date": d.isoformat()},
                        value=_money(Decimal(aum or 0) * weight),
                        due=d,
                        expires_on=d,
                        cause_key=f"FESTIVAL:{code}:{d.year}:{cid}",
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
        # The customer's tier is the pyramid's: a fall in the deposit scheme (VIP → 重点) is not
        # a fall of the customer's tier and would speak a second tier language on Today.
        if kind == WorkKind.TIER_DOWN and detail.get("scheme", "pyramid") != "pyramid":
            continue
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
            Candidate(
                staff_id=pm,
                customer_id=cid,
                prospect_id=None,
                kind=kind,
                reason_code=kind,
                params=params,
                value=_money(value),
                due=when + dt.timedelta(days=2),
                expires_on=when + dt.timedelta(days=expire),
                cause_key=f"{kind}:{cid}:{when.isoformat()}",
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


def referral_item_raise(*, referral: Referral) -> int:
    """Put a new referral on the receiving CM's list now (the nightly run would raise it the same
    way, and skips it then: its cause is open). Called by ``services.referral_create``."""
    [candidate] = _referral_candidates(Referral.objects.filter(pk=referral.pk))
    if WorkItem.objects.filter(cause_key=candidate.cause_key, status=WorkStatus.OPEN).exists():
        return 0
    with translation.override("en"):
        return _insert_items([candidate], day=timezone.localdate(), now=timezone.now())


def _gen_referrals(day: dt.date) -> list[_Batch]:
    out = _referral_candidates(Referral.objects.filter(status=ReferralStatus.NEW))
    current = {c.cause_key for c in out}
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


def _referral_candidates(referrals: QuerySet[Referral]) -> list[Candidate]:
    default = value_weight("referral_default_amount")
    out: list[Candidate] = []
    rows = referrals.values_list(
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
        out.append(
            Candidate(
                staff_id=to,
                customer_id=cid,
                prospect_id=pid,
                kind=WorkKind.REFERRAL,
                reason_code="REFERRAL",
                params={
                    "reason": reason,
                    "by": sname or suser or cname or "—",
                    "date": created_day.isoformat(),
                },
                value=_money(value),
                due=created_day + dt.timedelta(days=1),
                expires_on=None,
                cause_key=key,
            )
        )
    return out


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
            Candidate(
                staff_id=owner,
                customer_id=None,
                prospect_id=pid,
                kind=WorkKind.PROSPECT_REVIEW,
                reason_code="PROSPECT_REVIEW",
                params={"number": number, "grade": grade},
                value=_money(Decimal(value or 0) * Decimal(likelihood or 0) / 100),
                due=next_review,
                expires_on=None,
                cause_key=key,
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
            Candidate(
                staff_id=owner,
                customer_id=cid,
                prospect_id=None,
                kind=WorkKind.COMPLAINT_DUE,
                reason_code="COMPLAINT_DUE",
                params={"subject": subject[:80], "deadline": deadline.isoformat()},
                value=_money(Decimal(aum or 0) * weight),
                due=deadline,
                expires_on=None,
                cause_key=key,
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


def _by_id(ids: Iterable[int]) -> dict[int, tuple[int, Decimal]]:
    """Customer id → (primary manager id, AUM), for the customers who have a primary manager."""
    wanted = sorted(set(ids))
    out: dict[int, tuple[int, Decimal]] = {}
    for i in range(0, len(wanted), 900):
        for cid, pm, aum in Customer.objects.filter(
            pk__in=wanted[i : i + 900], primary_manager__isnull=False
        ).values_list("pk", "primary_manager_id", "standing__aum"):
            out[cid] = (pm, Decimal(aum or 0))
    return out


def _gen_assessments(day: dt.date) -> list[_Batch]:
    """Risk assessments (docs/suitability.md): an assessment expiring within the questionnaire's
    ``warn_days`` for a customer who holds a rated product or has an open suggestion; and a
    re-assessment for a customer whose behavioural risk style (the latest scoring) reads
    ``reassess.gap`` levels or more above their valid assessed tolerance."""
    from qiao.core.suitability import RATED_CATEGORIES
    from qiao.suitability.assessments import active_questionnaire
    from qiao.suitability.models import RiskAssessment, Suggestion, SuggestionStatus
    from qiao.suitability.questionnaire import style_gap

    questionnaire = active_questionnaire()
    latest: dict[int, tuple[int, str, dt.date, dt.date]] = {}
    rows = RiskAssessment.objects.order_by("customer_id", "assessed_on", "id").values_list(
        "customer_id", "pk", "tolerance", "assessed_on", "valid_until"
    )
    for cid, pk, tolerance, assessed_on, until in rows.iterator(chunk_size=20000):
        latest[cid] = (pk, tolerance, assessed_on, until)

    # -- expiring, for customers with something at stake
    horizon = day + dt.timedelta(days=questionnaire.warn_days)
    expiring = {cid: v for cid, v in latest.items() if day <= v[3] <= horizon}
    ids = sorted(expiring)
    rated: dict[int, Decimal] = {}
    suggested: set[int] = set()
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        for cid, total in (
            Account.objects.filter(customer_id__in=chunk, product__category__in=RATED_CATEGORIES)
            .exclude(status=AccountStatus.CLOSED)
            .values("customer_id")
            .annotate(total=Sum("balance"))
            .values_list("customer_id", "total")
        ):
            rated[cid] = Decimal(total or 0)
        suggested.update(
            # rank 0 is the hold-back's random product (never shown): not a suggestion.
            Suggestion.objects.filter(
                customer_id__in=chunk, status=SuggestionStatus.OPEN, rank__gte=1
            ).values_list("customer_id", flat=True)
        )
    at_stake = [cid for cid in ids if cid in rated or cid in suggested]
    managers = _by_id(at_stake)
    weight = value_weight("maturity_weight")
    soon: list[Candidate] = []
    for cid in at_stake:
        if cid not in managers:
            continue
        _pk, tolerance, _on, until = expiring[cid]
        soon.append(
            Candidate(
                staff_id=managers[cid][0],
                customer_id=cid,
                prospect_id=None,
                kind=WorkKind.ASSESS_EXPIRING,
                reason_code="ASSESS_EXPIRING",
                params={"tolerance": tolerance, "date": until.isoformat()},
                value=_money(rated.get(cid, Decimal(0)) * weight),
                due=max(day, until - dt.timedelta(days=7)),
                expires_on=until,
                cause_key=f"ASSESS_EXPIRING:{cid}:{until.isoformat()}",
            )
        )
    current = {c.cause_key for c in soon}
    stale_soon: dict[str, str] = {}
    for key, cid in WorkItem.objects.filter(
        kind=WorkKind.ASSESS_EXPIRING, status=WorkStatus.OPEN
    ).values_list("cause_key", "customer_id"):
        if key not in current:
            # Re-assessed since (a later end date): done; else nothing is at stake any more.
            renewed = cid in latest and latest[cid][3].isoformat() > key.rsplit(":", 1)[-1]
            stale_soon[key] = WorkStatus.DONE if renewed else WorkStatus.EXPIRED

    # -- behaviour well above the assessed level
    scored = ScoreSnapshot.objects.aggregate(d=Max("as_of"))["d"]
    above: list[tuple[int, str]] = []
    if scored is not None:
        styles = (
            ScoreSnapshot.objects.filter(as_of=scored)
            .exclude(risk_style="")
            .values_list("customer_id", "risk_style")
        )
        for cid, style in styles.iterator(chunk_size=20000):
            found = latest.get(cid)
            if found is None or not (found[2] <= day <= found[3]):
                continue  # no valid assessment: the suitability rule already blocks
            if style_gap(questionnaire, style=style, tolerance=found[1]) >= (
                questionnaire.reassess_gap
            ):
                above.append((cid, style))
    managers = _by_id(cid for cid, _s in above)
    goodwill = value_weight("greeting_weight")
    reassess: list[Candidate] = []
    for cid, style in above:
        if cid not in managers:
            continue
        pk, tolerance, assessed_on, _until = latest[cid]
        reassess.append(
            Candidate(
                staff_id=managers[cid][0],
                customer_id=cid,
                prospect_id=None,
                kind=WorkKind.REASSESS,
                reason_code="REASSESS",
                params={"style": style, "tolerance": tolerance, "date": assessed_on.isoformat()},
                value=_money(managers[cid][1] * goodwill),
                due=day + dt.timedelta(days=7),
                expires_on=None,
                cause_key=f"REASSESS:{cid}:{pk}",
            )
        )
    current = {c.cause_key for c in reassess}
    stale_above: dict[str, str] = {}
    for key, cid in WorkItem.objects.filter(
        kind=WorkKind.REASSESS, status=WorkStatus.OPEN
    ).values_list("cause_key", "customer_id"):
        if key not in current:
            # A new assessment since: done; the behaviour came back in line: moot.
            renewed = cid in latest and str(latest[cid][0]) != key.rsplit(":", 1)[-1]
            stale_above[key] = WorkStatus.DONE if renewed else WorkStatus.EXPIRED
    return [
        _Batch(WorkKind.ASSESS_EXPIRING, soon, stale_soon),
        _Batch(WorkKind.REASSESS, reassess, stale_above),
    ]


def _gen_shelf(day: dt.date) -> list[_Batch]:
    """Triggers from the product shelf (issue 14 item 5): a new product on sale or a rate change
    goes on the lists of the CMs whose top-tier customers it suits (qiao.core.suitability), the
    largest customers first, at most ``shelf_cap_per_cm`` items per CM per day. Each (news,
    customer) is raised once, ever (docs/suitability.md, "The shelf")."""
    from qiao.suitability.shelf import shelf_news, suited_top_customers

    news = shelf_news(day=day, lookback_days=int(worklist_setting("shelf_lookback_days")))
    if not news:
        return [_Batch(WorkKind.SHELF, [])]
    products = list({n.product.pk: n.product for n in news}.values())
    tiers = list(worklist_setting("shelf_tiers"))
    suited = suited_top_customers(products=products, tiers=tiers, on=day)
    raised = set(
        WorkItem.objects.filter(kind=WorkKind.SHELF)
        .values_list("cause_key", flat=True)
        .iterator(chunk_size=20000)
    )
    weight = value_weight("shelf_weight")
    expire = int(worklist_setting("shelf_expire_days"))
    by_staff: dict[int, list[Candidate]] = defaultdict(list)
    for n in news:
        for cid, pm, aum in suited[n.product.pk]:
            key = f"SHELF:{n.key}:{cid}"
            if key in raised:
                continue
            by_staff[pm].append(
                Candidate(
                    staff_id=pm,
                    customer_id=cid,
                    prospect_id=None,
                    kind=WorkKind.SHELF,
                    reason_code=n.reason_code,
                    params=n.params,
                    value=_money(aum * weight),
                    due=day,
                    expires_on=day + dt.timedelta(days=expire),
                    cause_key=key,
                )
            )
    cap = int(worklist_setting("shelf_cap_per_cm"))
    today = Counter(
        WorkItem.objects.filter(kind=WorkKind.SHELF, list_day=day).values_list(
            "staff_id", flat=True
        )
    )
    out: list[Candidate] = []
    for pm, candidates in by_staff.items():
        room = cap - today[pm]
        if room > 0:
            candidates.sort(key=lambda c: (-c.value, c.cause_key))
            out.extend(candidates[:room])
    return [_Batch(WorkKind.SHELF, out)]


def _gen_money_free(day: dt.date) -> list[_Batch]:
    """Money coming free (a maturity, a large inflow) with a next-best product for it: one item
    per customer, naming the best open suggestion of the latest scoring that carries money free —
    checked again with the suitability rule today (an assessment expired since the night: no
    item). Items of an earlier scoring, or whose suggestion was decided or is no longer suitable,
    expire."""
    from qiao.core.suitability import check
    from qiao.suitability.models import Suggestion, SuggestionStatus
    from qiao.suitability.shelf import SELLING, customer_facts, product_facts

    latest = Suggestion.objects.filter(rank__gte=1).aggregate(d=Max("as_of"))["d"]
    out: list[Candidate] = []
    if latest is not None:
        rows = (
            Suggestion.objects.filter(
                as_of=latest,
                rank__gte=1,
                status=SuggestionStatus.OPEN,
                money_free__isnull=False,
                product__sale_status__in=SELLING,
                customer__primary_manager__isnull=False,
            )
            .select_related("product")
            .only("customer_id", "money_free", "as_of", "rank", "product")
            .annotate(pm=F("customer__primary_manager_id"))
            .order_by("customer_id", "rank")
        )
        best: dict[int, Any] = {}
        for s in rows.iterator(chunk_size=5000):
            best.setdefault(s.customer_id, s)
        facts = customer_facts(best)
        weight = value_weight("maturity_weight")
        for cid, s in best.items():
            if not check(facts[cid], product_facts(s.product), on=day):
                continue
            out.append(
                Candidate(
                    staff_id=s.pm,
                    customer_id=cid,
                    prospect_id=None,
                    kind=WorkKind.MONEY_FREE,
                    reason_code="MONEY_FREE",
                    params={
                        "amount": str(_money(s.money_free)),
                        "product": s.product.name,
                        "product_code": s.product.code,
                        "suggestion": s.pk,
                        "date": latest.isoformat(),
                    },
                    value=_money(Decimal(s.money_free or 0) * weight),
                    due=day,
                    expires_on=day + dt.timedelta(days=14),
                    cause_key=f"MONEY_FREE:{cid}:{s.product.code}:{latest.isoformat()}",
                )
            )
    current = {c.cause_key for c in out}
    stale = {
        key: WorkStatus.EXPIRED
        for key in WorkItem.objects.filter(
            kind=WorkKind.MONEY_FREE, status=WorkStatus.OPEN
        ).values_list("cause_key", flat=True)
        if key not in current
    }
    return [_Batch(WorkKind.MONEY_FREE, out, stale)]


#: A generator's batch, for the generators of the apps above this one (see app_generators).
WorkBatch = _Batch

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
    _gen_assessments,
    _gen_shelf,
    _gen_money_free,
]


def app_generators() -> list[Callable[[dt.date], list[_Batch]]]:
    """The generators of the apps above engagement (key accounts and risk, campaigns): an app
    config's ``worklist_generators()`` returns callables ``day → [WorkBatch]``; this app names
    none of them (docs/architecture.md, "Layers")."""
    from django.apps import apps

    found: list[Callable[[dt.date], list[_Batch]]] = []
    for config in apps.get_app_configs():
        hook = getattr(config, "worklist_generators", None)
        if hook is not None:
            found.extend(hook())
    return found


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
    WorkKind.ASSESS_EXPIRING,
    WorkKind.REASSESS,
    WorkKind.SHELF,
    WorkKind.MONEY_FREE,
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
                    staff_id=c.staff_id,
                    customer_id=c.customer_id,
                    prospect_id=c.prospect_id,
                    kind=c.kind,
                    reason_code=c.reason_code,
                    reason_params=c.params,
                    reason_text=render_reason(c.reason_code, c.params)[:300],
                    value_at_stake=c.value,
                    due=c.due,
                    expires_on=c.expires_on,
                    cause_key=c.cause_key,
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
    # Rendered before the COPY: a reason may read the database (the tier rule set's labels), and
    # the connection can run no other query while a COPY is open (it would wait forever).
    texts = [render_reason(c.reason_code, c.params)[:300] for c in candidates]
    with connection.cursor() as cur:
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS _qiao_new_items AS SELECT {cols} FROM {table} WITH NO DATA"
        )
        cur.execute("TRUNCATE _qiao_new_items")
        with cur.cursor.copy(f"COPY _qiao_new_items ({cols}) FROM STDIN") as copy:
            for c, text in zip(candidates, texts, strict=True):
                copy.write_row(
                    (
                        c.staff_id,
                        c.customer_id,
                        c.prospect_id,
                        c.kind,
                        c.reason_code,
                        json.dumps(c.params, ensure_ascii=False),
                        text,
                        c.value,
                        c.due,
                        day,
                        c.expires_on,
                        WorkStatus.OPEN,
                        c.cause_key,
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
            for generator in [*GENERATORS, *app_generators()]:
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
                        if c.cause_key in known:
                            continue
                        known.add(c.cause_key)
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
