"""The work-list items of key accounts and early warning (registered by the app config; the
engine is :mod:`qiao.engagement.worklist`).

- ``KA_VISIT``: the lead of an approved key account's team visits at the grade's standard
  (config/keyaccounts.toml ``[[visit]]``; any face-to-face contact with the customer counts);
- ``WARNING_REVIEW``: a customer in 关注 WATCH: the owning CM, and the key-account lead, review
  within ``review_days`` of the state's start;
- ``EXIT_PLAN``: a customer in 可疑 DOUBTFUL or 退出 EXIT with no open exit plan: an exit plan is
  required within ``exit_plan_days`` (done when one is opened);
- ``REDLIST_SEEN``: a customer on the red list or the blacklist transacted at the counter (in
  person, at an outlet) in the last ``listed_seen_days``: the owning CM and the head of the
  outlet where it happened, one item per customer and transaction day;
- ``EXPOSURE_BREACH``: a connected group whose exposure is over the group limit
  (:mod:`qiao.credit.exposure`): every risk manager, one item per group, done when the breach
  ends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from qiao.core.amounts import amount as amount_words
from qiao.core.choices import labels
from qiao.core.vocab import CHANNELS, KEY_ACCOUNT_GRADES, LIST_KINDS, WARNING_STATES
from qiao.credit.models import Facility, Guarantee, ListEntry, ListKind, ListStatus, Loan
from qiao.customers.models import Customer
from qiao.engagement.models import Requirement, WorkItem, WorkKind, WorkStatus
from qiao.engagement.selectors import day_start, last_contacts
from qiao.engagement.worklist import Candidate, WorkBatch
from qiao.org.models import OrgUnit, Role, Staff
from qiao.products.models import Account
from qiao.risk.conf import key_account_rules, warning_action
from qiao.risk.models import (
    ExitPlan,
    ExitPlanStatus,
    KeyAccount,
    KeyAccountMember,
    KeyAccountStatus,
    TeamRole,
    WarningState,
)

REASONS = {
    "KA_VISIT_NEVER": _("%(grade)s: a visit is due — every %(interval)s days; none yet"),
    "KA_VISIT_LAST": _(
        "%(grade)s: a visit is due by %(due)s — every %(interval)s days; last on %(last)s"
    ),
    "WARNING_REVIEW": _("Early warning: under watch since %(since)s — review by %(due)s"),
    "EXIT_PLAN": _(
        "Early warning: %(state)s since %(since)s — an exit plan is required by %(due)s"
    ),
    "LISTED_SEEN": _(
        "On the %(lists)s (%(why)s): transacted at the counter of %(outlet)s on %(date)s — "
        "%(count)s transactions, %(amount)s"
    ),
    "EXPOSURE_BREACH": _(
        "Connected group of %(name)s (%(members)s customers): exposure %(exposure)s is over its "
        "limit of %(limit)s — %(share)s%% of tier-one capital against %(limit_pct)s%%"
    ),
}

_AMOUNTS = ("amount", "exposure", "limit")


def _renderer(code: str) -> Callable[[dict[str, Any]], str]:
    def render(params: dict[str, Any]) -> str:
        from qiao.risk.reasons import state_label

        p = dict(params)
        if "grade" in p:
            p["grade"] = str(labels(KEY_ACCOUNT_GRADES).get(p["grade"], p["grade"]))
        if "state" in p:
            p["state"] = state_label(p["state"])
        if "lists" in p:
            names = labels(LIST_KINDS)
            p["lists"] = " / ".join(str(names.get(k, k)) for k in p["lists"] or [])
        for key in _AMOUNTS:
            if key in p:
                p[key] = amount_words(p[key])  # the one amount rule (qiao.core.amounts)
        try:
            return str(REASONS[code]) % p
        except (KeyError, TypeError, ValueError):
            return str(REASONS[code])

    return render


def worklist_reasons() -> dict[str, Callable[[dict[str, Any]], str]]:
    return {code: _renderer(code) for code in REASONS}


def _managers(customer_ids: Iterable[int]) -> dict[int, int]:
    return dict(
        Customer.objects.filter(pk__among=customer_ids, primary_manager__isnull=False).values_list(
            "pk", "primary_manager_id"
        )
    )


def _leads(customer_ids: Iterable[int], year: int) -> dict[int, int]:
    return dict(
        KeyAccountMember.objects.filter(
            role=TeamRole.LEAD,
            key_account__year=year,
            key_account__status=KeyAccountStatus.APPROVED,
            key_account__customer_id__among=customer_ids,
        ).values_list("key_account__customer_id", "staff_id")
    )


def _warning_candidates(
    day: dt.date, customer_ids: list[int] | None = None
) -> tuple[list[Candidate], list[Candidate], set[int]]:
    states = WarningState.objects.filter(state__in=WARNING_STATES.having("in_warning"))
    if customer_ids is not None:
        states = states.filter(customer_id__in=customer_ids)
    rows = list(states.values_list("customer_id", "state", "since"))
    planned = (
        set(
            ExitPlan.objects.filter(
                status=ExitPlanStatus.OPEN, customer_id__in=[r[0] for r in rows]
            ).values_list("customer_id", flat=True)
        )
        if rows
        else set()
    )
    owners = _managers(r[0] for r in rows)
    leads = _leads((r[0] for r in rows), day.year)
    review_days = warning_action("review_days")
    plan_days = warning_action("exit_plan_days")
    reviews: list[Candidate] = []
    plans: list[Candidate] = []
    for cid, state, since in rows:
        staff = {s for s in (owners.get(cid), leads.get(cid)) if s is not None}
        for sid in sorted(staff):
            if state == "WATCH":
                due = since + dt.timedelta(days=review_days)
                reviews.append(
                    Candidate(
                        staff_id=sid,
                        customer_id=cid,
                        prospect_id=None,
                        kind=WorkKind.WARNING_REVIEW,
                        reason_code="WARNING_REVIEW",
                        params={"since": since.isoformat(), "due": due.isoformat()},
                        value=Decimal(0),
                        due=due,
                        expires_on=None,
                        cause_key=f"WARNING_REVIEW:{cid}:{since.isoformat()}:{sid}",
                    )
                )
            elif cid not in planned:
                due = since + dt.timedelta(days=plan_days)
                plans.append(
                    Candidate(
                        staff_id=sid,
                        customer_id=cid,
                        prospect_id=None,
                        kind=WorkKind.EXIT_PLAN,
                        reason_code="EXIT_PLAN",
                        params={"state": state, "since": since.isoformat(), "due": due.isoformat()},
                        value=Decimal(0),
                        due=due,
                        expires_on=None,
                        cause_key=f"EXIT_PLAN:{cid}:{since.isoformat()}:{sid}",
                    )
                )
    return reviews, plans, planned


def _gen_warnings(day: dt.date) -> list[WorkBatch]:
    reviews, plans, _planned = _warning_candidates(day)
    current_reviews = {c.cause_key for c in reviews}
    current_plans = {c.cause_key for c in plans}
    planned_now = set(
        ExitPlan.objects.filter(status=ExitPlanStatus.OPEN).values_list("customer_id", flat=True)
    )
    stale_reviews = {
        key: WorkStatus.EXPIRED
        for key in WorkItem.objects.filter(
            kind=WorkKind.WARNING_REVIEW, status=WorkStatus.OPEN
        ).values_list("cause_key", flat=True)
        if key not in current_reviews
    }
    stale_plans: dict[str, str] = {}
    for key, cid in WorkItem.objects.filter(
        kind=WorkKind.EXIT_PLAN, status=WorkStatus.OPEN
    ).values_list("cause_key", "customer_id"):
        if key not in current_plans:
            stale_plans[key] = WorkStatus.DONE if cid in planned_now else WorkStatus.EXPIRED
    return [
        WorkBatch(WorkKind.WARNING_REVIEW, reviews, stale_reviews),
        WorkBatch(WorkKind.EXIT_PLAN, plans, stale_plans),
    ]


def _gen_visits(day: dt.date) -> list[WorkBatch]:
    rules = key_account_rules()
    accounts = list(
        KeyAccount.objects.filter(year=day.year, status=KeyAccountStatus.APPROVED).values_list(
            "pk", "customer_id", "grade"
        )
    )
    leads = _leads((a[1] for a in accounts), day.year)
    longest = max((v.interval_days for v in rules.visits.values()), default=0)
    end = day_start(day + dt.timedelta(days=1))
    lasts = (
        last_contacts(requirement=Requirement.MEETING, since=end - dt.timedelta(days=longest + 1))
        if accounts
        else {}
    )
    out: list[Candidate] = []
    current: set[str] = set()
    in_scope: set[int] = set()
    for pk, cid, grade in accounts:
        standard = rules.visits.get(grade)
        lead = leads.get(cid)
        if standard is None or lead is None:
            continue
        in_scope.add(pk)
        last = lasts.get(cid)
        last_day = timezone.localtime(last).date() if last else None
        key = f"KA_VISIT:{pk}:{last_day.isoformat() if last_day else 'NONE'}:{lead}"
        current.add(key)
        due = last_day + dt.timedelta(days=standard.interval_days) if last_day else day
        if due - dt.timedelta(days=standard.lead_days) > day:
            continue
        params = {"grade": grade, "interval": standard.interval_days, "due": due.isoformat()}
        if last_day:
            params["last"] = last_day.isoformat()
        out.append(
            Candidate(
                staff_id=lead,
                customer_id=cid,
                prospect_id=None,
                kind=WorkKind.KEY_ACCOUNT_VISIT,
                reason_code="KA_VISIT_LAST" if last_day else "KA_VISIT_NEVER",
                params=params,
                value=Decimal(0),
                due=due,
                expires_on=None,
                cause_key=key,
            )
        )
    stale: dict[str, str] = {}
    for key in WorkItem.objects.filter(
        kind=WorkKind.KEY_ACCOUNT_VISIT, status=WorkStatus.OPEN
    ).values_list("cause_key", flat=True):
        if key in current:
            continue
        pk = int(key.split(":")[1])
        # A newer visit met the standard (done), or the account left the list or its lead (moot).
        stale[key] = WorkStatus.DONE if pk in in_scope else WorkStatus.EXPIRED
    return [WorkBatch(WorkKind.KEY_ACCOUNT_VISIT, out, stale)]


def _listed(day: dt.date) -> dict[str, tuple[int, list[str], str]]:
    """Customers on the red list or the blacklist on ``day``: customer number → (id, the lists,
    the reason of the first entry, red first)."""
    out: dict[str, tuple[int, list[str], str]] = {}
    rows = (
        ListEntry.objects.filter(
            status=ListStatus.APPROVED, list_kind__in=[ListKind.RED, ListKind.BLACK]
        )
        .exclude(listed_on__gt=day)
        .order_by("-list_kind", "customer_id", "-id")  # RED before BLACK
        .values_list("customer_id", "customer__customer_no", "list_kind", "reason")
    )
    for cid, no, kind, reason in rows:
        _cid, kinds, why = out.get(no, (cid, [], reason))
        if kind not in kinds:
            kinds.append(kind)
        out[no] = (cid, kinds, why)
    return out


def _gen_listed_seen(day: dt.date) -> list[WorkBatch]:
    """A listed customer at the counter: the owning CM and the outlet head where it happened.

    Transactions carry no outlet in the extract (docs/data-interface.md): the outlet is the one
    that keeps the account (``Account.branch_code``), else the customer's own outlet."""
    from qiao.risk.lake import counter_days

    listed = _listed(day)
    if not listed:
        return [WorkBatch(WorkKind.REDLIST_SEEN, [])]
    lookback = warning_action("listed_seen_days") or 3
    expire = warning_action("listed_seen_expire_days") or 14
    seen = counter_days(
        customer_nos=listed,
        channels=CHANNELS.having("counter"),
        start=day - dt.timedelta(days=lookback),
        end=day,
    )
    if not seen:
        return [WorkBatch(WorkKind.REDLIST_SEEN, [])]
    ids = sorted({listed[no][0] for no, *_rest in seen})
    home = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "branch_id"))
    owners = _managers(ids)
    kept = dict(
        Account.objects.filter(account_no__in=sorted({a for _n, a, *_r in seen})).values_list(
            "account_no", "branch_code"
        )
    )
    units = dict(OrgUnit.objects.filter(code__in=set(kept.values())).values_list("code", "pk"))
    # (customer id, day) → accounts' outlets, transactions, amount
    days: dict[tuple[int, dt.date], tuple[set[int], int, Decimal]] = {}
    for no, account_no, when, count, amount in seen:
        cid = listed[no][0]
        outlet = units.get(kept.get(account_no) or "") or home.get(cid)
        outlets, n, total = days.get((cid, when), (set(), 0, Decimal(0)))
        if outlet is not None:
            outlets.add(outlet)
        days[(cid, when)] = (outlets, n + count, total + amount)
    all_outlets = {u for outlets, _n, _t in days.values() for u in outlets}
    names = dict(OrgUnit.objects.filter(pk__in=all_outlets).values_list("pk", "name"))
    heads: dict[int, list[int]] = {}
    for sid, unit in Staff.objects.filter(
        role=Role.OUTLET_HEAD, is_active=True, unit_id__in=all_outlets
    ).values_list("pk", "unit_id"):
        heads.setdefault(unit, []).append(sid)
    by_no = {v[0]: no for no, v in listed.items()}
    out: list[Candidate] = []
    for (cid, when), (outlets, count, amount) in sorted(days.items()):
        _cid, kinds, why = listed[by_no[cid]]
        staff = {s for u in outlets for s in heads.get(u, [])}
        if owners.get(cid) is not None:
            staff.add(owners[cid])
        params = {
            "lists": kinds,
            "why": why,
            "outlet": "、".join(sorted(names.get(u, "") for u in outlets)) or "—",
            "date": when.isoformat(),
            "count": count,
            "amount": str(amount.quantize(Decimal("0.01"))),
        }
        for sid in sorted(staff):
            out.append(
                Candidate(
                    staff_id=sid,
                    customer_id=cid,
                    prospect_id=None,
                    kind=WorkKind.REDLIST_SEEN,
                    reason_code="LISTED_SEEN",
                    params=params,
                    value=amount,
                    due=when + dt.timedelta(days=1),
                    expires_on=when + dt.timedelta(days=expire),
                    cause_key=f"REDLIST_SEEN:{cid}:{when.isoformat()}:{sid}",
                )
            )
    return [WorkBatch(WorkKind.REDLIST_SEEN, out)]


def _gen_exposure_breaches(day: dt.date) -> list[WorkBatch]:
    """Every connected group over the group limit on every risk manager's list; the item is done
    the night the group is back within its limit (or has gone)."""
    open_keys = list(
        WorkItem.objects.filter(kind=WorkKind.EXPOSURE_BREACH, status=WorkStatus.OPEN).values_list(
            "cause_key", flat=True
        )
    )
    managers = list(
        Staff.objects.filter(role=Role.RISK_MANAGER, is_active=True).values_list("pk", flat=True)
    )
    out: list[Candidate] = []
    if managers and (
        Loan.objects.exists() or Facility.objects.exists() or Guarantee.objects.exists()
    ):
        from qiao.analytics.exposure import BREACH
        from qiao.credit.exposure import exposure_compute

        result = exposure_compute(on=day)
        limits = result.limits
        limit = Decimal(str(limits.connected_group * limits.tier_one_capital)).quantize(
            Decimal("0.01")
        )
        breaches = result.groups[result.groups["status"] == BREACH]
        leads = {int(gid): int(result.members(gid).index[0]) for gid in breaches.index}
        names = dict(Customer.objects.filter(pk__in=leads.values()).values_list("pk", "name"))
        for gid, g in breaches.iterrows():
            lead = leads[int(gid)]
            exposure = Decimal(str(round(float(g["exposure"]), 2)))
            params = {
                "name": names.get(lead, "—"),
                "members": int(g["members"]),
                "exposure": str(exposure),
                "limit": str(limit),
                "share": f"{float(g['share']) * 100:.1f}",
                "limit_pct": f"{limits.connected_group * 100:g}",
            }
            for sid in managers:
                out.append(
                    Candidate(
                        staff_id=sid,
                        customer_id=lead,
                        prospect_id=None,
                        kind=WorkKind.EXPOSURE_BREACH,
                        reason_code="EXPOSURE_BREACH",
                        params=params,
                        value=max(exposure - limit, Decimal(0)),
                        due=day,
                        expires_on=None,
                        cause_key=f"EXPOSURE_BREACH:{int(gid)}:{sid}",
                    )
                )
    current = {c.cause_key for c in out}
    stale = {key: WorkStatus.DONE for key in open_keys if key not in current}
    return [WorkBatch(WorkKind.EXPOSURE_BREACH, out, stale)]


def worklist_generators() -> list[Callable[[dt.date], list[WorkBatch]]]:
    return [_gen_visits, _gen_warnings, _gen_listed_seen, _gen_exposure_breaches]


def warning_items_raise(*, customer_ids: list[int], day: dt.date) -> int:
    """Put the required actions of these customers' states on the work lists now (a risk
    manager has just confirmed a change), as the nightly run would; an open item is kept."""
    reviews, plans, _planned = _warning_candidates(day, customer_ids)
    made = 0
    with translation.override("en"):
        for c in [*reviews, *plans]:
            if WorkItem.objects.filter(cause_key=c.cause_key, status=WorkStatus.OPEN).exists():
                continue
            try:
                with transaction.atomic():
                    WorkItem.objects.create(
                        staff_id=c.staff_id,
                        customer_id=c.customer_id,
                        kind=c.kind,
                        reason_code=c.reason_code,
                        reason_params=c.params,
                        reason_text=_renderer(c.reason_code)(c.params)[:300],
                        value_at_stake=c.value,
                        due=c.due,
                        list_day=day,
                        cause_key=c.cause_key,
                    )
                made += 1
            except IntegrityError:  # the nightly run made it meanwhile
                continue
    return made
