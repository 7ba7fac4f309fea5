"""Reads of key accounts, warnings and exit plans, always through the data scope.

Scope: the customer scope of :mod:`qiao.customers.selectors` (a CM their customers, a team lead
or outlet head their subtree, a bank-wide role — the risk manager — everyone), which holds, for a
key-account team member, the key accounts whose team they are on (this app offers them through
its app config: :func:`team_customer_ids`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, Prefetch, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from qiao.core.presence import rows_present
from qiao.core.vocab import WARNING_STATES
from qiao.customers.models import Customer, GroupMembership
from qiao.customers.selectors import staff_scope_q
from qiao.org.models import Staff
from qiao.org.permissions import (
    CONFIRM_WARNINGS,
    DESIGNATE_KEY_ACCOUNTS,
    VIEW_BALANCES,
    staff_has_perm,
)
from qiao.risk.models import (
    Decision,
    ExitPlan,
    ExitPlanStatus,
    KeyAccount,
    KeyAccountMember,
    KeyAccountStatus,
    WarningState,
    WarningTransition,
)
from qiao.risk.reasons import render_reasons, state_label
from qiao.risk.warnings import may_propose_warning


def team_customer_ids(staff: Staff) -> QuerySet[Any]:
    """The customers whose key-account team ``staff`` is on: approved key accounts of this year
    and the last (the new year's list may wait for January's approval; an older team grants
    nothing). The customer scope adds them for every page (qiao.customers.scope)."""
    year = timezone.localdate().year
    return (
        KeyAccountMember.objects.filter(
            staff=staff,
            key_account__status=KeyAccountStatus.APPROVED,
            key_account__year__in=[year - 1, year],
        )
        .values("key_account__customer_id")
        .order_by()
    )


def risk_scope_q(staff: Staff, field: str = "pk") -> Q | None:
    """Customers ``staff`` may see here (``field`` names the customer id); ``None``: all. The
    customer scope, which holds a team member's key accounts too."""
    scope = staff_scope_q(staff)
    if scope is None:
        return None
    if field == "pk":
        return scope
    return Q(**{f"{field}__in": Subquery(Customer.objects.filter(scope).values("pk"))})


def _scoped(qs: QuerySet[Any], staff: Staff, field: str = "customer_id") -> QuerySet[Any]:
    q = risk_scope_q(staff, field)
    return qs if q is None else qs.filter(q)


def customer_get_for_risk(*, staff: Staff, customer_no: str) -> Customer:
    """The customer if ``staff`` may see them here; 404 whether missing or out of scope."""
    qs = _scoped(Customer.objects.filter(customer_no=customer_no), staff, "pk")
    customer = qs.select_related("branch", "primary_manager").first()
    if customer is None:
        raise Http404("No customer matches the given query.")
    return customer


def key_account_get_for_staff(*, staff: Staff, pk: int) -> KeyAccount:
    ka = _scoped(KeyAccount.objects.filter(pk=pk), staff).select_related("customer").first()
    if ka is None:
        raise Http404("No key account matches the given query.")
    return ka


def transition_get_for_staff(*, staff: Staff, pk: int) -> WarningTransition:
    t = _scoped(WarningTransition.objects.filter(pk=pk), staff).select_related("customer").first()
    if t is None:
        raise Http404("No change matches the given query.")
    return t


def exit_plan_get_for_staff(*, staff: Staff, pk: int) -> ExitPlan:
    plan = _scoped(ExitPlan.objects.filter(pk=pk), staff).select_related("customer").first()
    if plan is None:
        raise Http404("No exit plan matches the given query.")
    return plan


def _transition_row(t: WarningTransition) -> dict[str, Any]:
    return {
        "t": t,
        "customer": t.customer,
        "from": state_label(t.from_state),
        "to": state_label(t.to_state),
        "to_code": t.to_state,
        "worse": WARNING_RANK[t.to_state] > WARNING_RANK[t.from_state],
        "reasons": render_reasons(t.reasons),
        "by": t.proposed_by.display_name if t.proposed_by else None,
        "decided_by": t.decided_by.display_name if t.decided_by else None,
    }


WARNING_RANK = {"NORMAL": 0, "WATCH": 1, "DOUBTFUL": 2, "EXIT": 3}


def risk_overview(*, staff: Staff, limit: int = 200) -> dict[str, Any]:
    """The risk manager's page: last night's moves to 关注 (and worse), every open proposal,
    the exposure limits' breaches and near-breaches, the exit plans, the latest decisions."""
    proposals = _scoped(WarningTransition.objects.filter(status=Decision.PROPOSED), staff)
    last_night = proposals.aggregate(d=Max("as_of"))["d"]
    rows = [
        _transition_row(t)
        for t in proposals.select_related("customer", "proposed_by").order_by("-as_of", "-id")[
            :limit
        ]
    ]
    rows.sort(key=lambda r: (-WARNING_RANK[r["to_code"]], r["customer"].customer_no))
    moved_to_watch = [
        r for r in rows if r["to_code"] == "WATCH" and r["worse"] and r["t"].as_of == last_night
    ]
    decided = [
        _transition_row(t)
        for t in _scoped(
            WarningTransition.objects.exclude(status=Decision.PROPOSED).filter(
                decided_by__isnull=False
            ),
            staff,
        )
        .select_related("customer", "proposed_by", "decided_by")
        .order_by("-decided_at")[:20]
    ]
    plans = list(
        _scoped(ExitPlan.objects.all(), staff)
        .select_related("customer")
        .prefetch_related("steps")
        .order_by("status", "target_date")[:100]
    )
    by_state = {
        code: _scoped(WarningState.objects.filter(state=code), staff).count()
        for code in WARNING_STATES.having("in_warning")
    }
    return {
        "last_night": last_night,
        "moved_to_watch": moved_to_watch,
        "proposals": rows,
        "decided": decided,
        "plans": plans,
        "by_state": [(state_label(k), v) for k, v in by_state.items()],
        "limits": exposure_limits(staff=staff),
    }


def exposure_limits(*, staff: Staff) -> list[dict[str, Any]]:
    """Breaches and near-breaches (≥ 80 % of the limit) of the exposure limits — connected groups
    against the group limit, single customers against the single-customer limit — each with the
    members that make it up, largest first (the credit app's figures, qiao.credit.exposure); only
    those with a member in ``staff``'s scope."""
    try:
        from qiao.credit.exposure import exposure_compute
    except ImportError:  # the credit app's exposure not installed
        return []
    from qiao.credit.models import Facility, Guarantee, Loan

    # The bank-wide computation (seconds at a million customers) is shared by every reader for
    # ten minutes, keyed by the state of the credit book (the loads come nightly).
    book = [m.objects.aggregate(n=Count("id"), m=Max("id")) for m in (Loan, Facility, Guarantee)]
    key = "qiao-risk-limits-" + "-".join(f"{b['n']}.{b['m']}" for b in book)
    rows: list[dict[str, Any]] | None = cache.get(key)
    if rows is None:
        rows = _limit_rows(exposure_compute())
        cache.set(key, rows, 600)
    scope = risk_scope_q(staff)
    wanted = {i for r in rows for i in r["ids"]}
    visible_qs = Customer.objects.filter(pk__in=sorted(wanted))
    if scope is not None:
        visible_qs = visible_qs.filter(scope)
    names = dict(visible_qs.values_list("pk", "name"))
    nos = dict(Customer.objects.filter(pk__in=sorted(wanted)).values_list("pk", "customer_no"))
    out = []
    for r in rows:
        if not set(r["ids"]) & set(names):
            continue
        members = [
            {"name": names.get(i, "—"), "customer_no": nos.get(i, ""), "exposure": amount}
            for i, amount in r["parts"][:20]
        ]
        out.append({**r, "members": members, "name": members[0]["name"] if members else "—"})
    out.sort(key=lambda r: (not r["breach"], -r["share"]))
    return out[:50]


def _limit_rows(result: Any) -> list[dict[str, Any]]:
    """The groups and customers at or near their limits, as plain rows (cached)."""
    from qiao.analytics.exposure import OK

    limits = result.limits
    rows: list[dict[str, Any]] = []
    for gid, g in result.groups.iterrows():
        if g["status"] == OK:
            continue
        members = result.members(gid)
        rows.append(
            {
                "kind": "group",
                "breach": g["status"] != "NEAR",
                "exposure": float(g["exposure"]),
                "share": float(g["share"]),
                "limit_pct": limits.connected_group,
                "limit": limits.connected_group * limits.tier_one_capital,
                "ids": [int(i) for i in members.index],
                "parts": [(int(i), float(m["exposure"])) for i, m in members.iterrows()],
            }
        )
    for cid, c in result.customers.iterrows():
        if c["status"] == OK:
            continue
        rows.append(
            {
                "kind": "customer",
                "breach": c["status"] != "NEAR",
                "exposure": float(c["exposure"]),
                "share": float(c["share"]),
                "limit_pct": limits.single_customer,
                "limit": limits.single_customer * limits.tier_one_capital,
                "ids": [int(cid)],
                "parts": [(int(cid), float(c["exposure"]))],
            }
        )
    return rows


def key_accounts_for(*, staff: Staff, year: int | None = None) -> QuerySet[KeyAccount]:
    year = year or timezone.localdate().year
    members = KeyAccountMember.objects.select_related("staff").order_by("role", "staff__name")
    return (
        _scoped(KeyAccount.objects.filter(year=year), staff)
        .select_related("customer", "customer__branch", "proposed_by", "plan")
        .prefetch_related(Prefetch("members", queryset=members))
        .order_by("status", "grade", "customer__name")
    )


def warning_history(customer: Customer) -> list[dict[str, Any]]:
    return [
        _transition_row(t)
        for t in WarningTransition.objects.filter(customer=customer)
        .select_related("proposed_by", "decided_by", "customer")
        .order_by("-proposed_at", "-id")[:30]
    ]


def warnings_list(
    *, staff: Staff, state: str | None = None, page: int = 1, page_size: int = 100
) -> tuple[list[dict[str, Any]], int]:
    """The API's list, one page of it: customers in a state other than NORMAL (or in
    ``state``), by customer number, with the reasons of the change that put them there; and
    how many there are in all."""
    qs = _scoped(WarningState.objects.all(), staff)
    qs = qs.filter(state=state) if state else qs.exclude(state="NORMAL")
    count = qs.count()
    start = (page - 1) * page_size
    rows = list(
        qs.select_related("customer").order_by("customer__customer_no", "pk")[
            start : start + page_size
        ]
    )
    reasons: dict[int, list[dict[str, Any]]] = {}
    for cid, rs in (
        WarningTransition.objects.filter(
            customer_id__among=[r.customer_id for r in rows], status=Decision.CONFIRMED
        )
        .order_by("customer_id", "decided_at", "id")
        .values_list("customer_id", "reasons")
    ):
        reasons[cid] = rs  # the latest confirmed wins
    items = [
        {
            "customer_no": r.customer.customer_no,
            "state": r.state,
            "state_label": state_label(r.state),
            "reasons": [x["text"] for x in render_reasons(reasons.get(r.customer_id, []))],
            "since": r.since,
        }
        for r in rows
    ]
    return items, count


def customer_risk_panel(*, staff: Staff, customer: Customer) -> dict[str, Any]:
    """The 360's credit and risk section: facilities, loans, warning state and its history, the
    key-account team, and the group's exposure."""
    from qiao.credit.models import Facility, Loan

    # Most customers (retail, no credit) have none of the seven: one probe says which tables hold
    # anything for them and only those are read (eight queries were ~12 ms of a 360's ~110 ms,
    # bench_request_cpu).
    has = rows_present(
        customer.pk,
        {
            "state": (WarningState, "customer"),
            "key_account": (KeyAccount, "customer"),
            "groups": (GroupMembership, "customer"),
            "facilities": (Facility, "customer"),
            "loans": (Loan, "customer"),
            "plan": (ExitPlan, "customer"),
            "history": (WarningTransition, "customer"),
        },
    )
    state = WarningState.objects.filter(customer=customer).first() if has["state"] else None
    ka = (
        KeyAccount.objects.filter(customer=customer, year=timezone.localdate().year)
        .exclude(status__in=[KeyAccountStatus.REJECTED, KeyAccountStatus.REMOVED])
        .prefetch_related("members__staff")
        .first()
        if has["key_account"]
        else None
    )
    groups = [
        {"group": m.group, "exposure": _group_exposure(m.group_id)}
        for m in (
            GroupMembership.objects.filter(customer=customer).select_related("group")
            if has["groups"]
            else []
        )
    ]
    facilities = (
        list(Facility.objects.filter(customer=customer).order_by("-limit")[:50])
        if has["facilities"]
        else []
    )
    loans = (
        list(Loan.objects.filter(customer=customer).order_by("-balance")[:50])
        if has["loans"]
        else []
    )
    plan = (
        ExitPlan.objects.filter(customer=customer, status=ExitPlanStatus.OPEN).first()
        if has["plan"]
        else None
    )
    code = state.state if state else "NORMAL"
    may_plan = staff_has_perm(staff, DESIGNATE_KEY_ACCOUNTS) or staff_has_perm(
        staff, CONFIRM_WARNINGS
    )
    return {
        # Credit figures in clear for those who see balances and for the risk manager.
        "show_credit": staff_has_perm(staff, VIEW_BALANCES)
        or staff_has_perm(staff, CONFIRM_WARNINGS),
        "can_propose": may_propose_warning(staff) and code != "EXIT",
        "worse_states": [
            (c, state_label(c)) for c in WARNING_RANK if WARNING_RANK[c] > WARNING_RANK[code]
        ],
        "can_plan_exit": may_plan and code in ("DOUBTFUL", "EXIT") and plan is None,
        "state": state.state if state else "NORMAL",
        "state_label": state_label(state.state if state else "NORMAL"),
        "since": state.since if state and state.state != "NORMAL" else None,
        "history": warning_history(customer) if has["history"] else [],
        "key_account": ka,
        "groups": groups,
        "facilities": facilities,
        "loans": loans,
        "exit_plan": plan,
        "has_credit": bool(facilities or loans),
        "total_limit": sum((f.limit for f in facilities), Decimal(0)),
        "total_balance": sum((x.balance for x in loans), Decimal(0)),
    }


def _group_exposure(group_id: int) -> Any:
    try:
        from qiao.credit.exposure import group_exposure
    except ImportError:
        return None
    return group_exposure(group_id)


def last_evaluation_day() -> dt.date | None:
    return WarningTransition.objects.aggregate(d=Max("as_of"))["d"]
