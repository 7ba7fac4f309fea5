"""Early warning (issue 16 item 3): the nightly evaluation, proposals and the risk manager's
decision. docs/keyaccounts.md, "Early warning".

The rules themselves are Django-free (:mod:`qiao.analytics.warning`); this module reads what they
need from the credit data, the scores and the lists, turns every change they call for into a
:class:`WarningTransition` *proposal* and lets a risk manager confirm or reject it. Only a
confirmed transition changes a customer's :class:`WarningState`; each one is kept.

Who is watched: the bank's credit customers (a loan, a facility or a guarantee on either side),
the approved key accounts, customers with a risk signal or on the blacklist, and anyone already
in a state other than NORMAL. Deposit outflow and asset decline are read for those customers only:
a retail customer moving money is the work list's business (large movements, attrition), not a
credit warning.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import numpy as np
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Case, IntegerField, Max, OuterRef, Q, Subquery, Sum, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from qiao.analytics.warning import STATES, WarningInputs, evaluate_warnings
from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core.errors import ApplicationError
from qiao.core.vocab import CATEGORIES, LOAN_CLASSES
from qiao.credit.models import Facility, Guarantee, ListEntry, Loan, RiskSignal
from qiao.customers.models import Customer, GroupMembership
from qiao.customers.selectors import staff_scope_q
from qiao.org.models import Staff
from qiao.org.permissions import (
    CONFIRM_WARNINGS,
    PROPOSE_WARNINGS,
    require_perm,
    staff_has_perm,
)
from qiao.products.models import Account, AccountStatus
from qiao.risk.conf import warning_action, warning_rules
from qiao.risk.exposure import customer_exposures
from qiao.risk.models import (
    Decision,
    ExitOutcome,
    ExitPlan,
    ExitPlanStatus,
    KeyAccount,
    KeyAccountStatus,
    WarningState,
    WarningTransition,
)

RANK = {code: i for i, code in enumerate(STATES)}


def may_propose_warning(staff: Staff) -> bool:
    """``org.propose_warnings`` (those who serve the customer, and the risk manager)."""
    return staff_has_perm(staff, PROPOSE_WARNINGS) or staff_has_perm(staff, CONFIRM_WARNINGS)


DEPOSITS = list(CATEGORIES.having("deposit"))


def _blacklisted() -> set[int]:
    try:
        from qiao.credit.selectors import blacklisted_ids
    except ImportError:  # the credit app's selector not there yet: read the table
        return set(
            ListEntry.objects.filter(list_kind="BLACK", status="APPROVED").values_list(
                "customer_id", flat=True
            )
        )
    return {int(i) for i in blacklisted_ids()}


def _int_rows(qs: Any, width: int) -> np.ndarray:
    """The rows of an all-integer ``values_list`` query as an int64 array (``n × width``)."""
    sql, params = qs.query.sql_with_params()
    parts = [np.zeros((0, width), np.int64)]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        while rows := cur.fetchmany(100_000):
            parts.append(np.array(rows, dtype=np.int64).reshape(-1, width))
    return np.concatenate(parts)


def _ids(values: Iterable[int]) -> np.ndarray:
    return np.fromiter(values, dtype=np.int64)


class _Frame:
    """The customers watched tonight, by position, and the lookups to fill the rule inputs."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = np.unique(ids)

    def __len__(self) -> int:
        return len(self.ids)

    def pos(self, ids: np.ndarray) -> np.ndarray:
        """Positions of ``ids`` (-1 for an id not watched)."""
        if len(self.ids) == 0:
            return np.full(len(ids), -1, np.int64)
        p = np.searchsorted(self.ids, ids)
        p = np.clip(p, 0, len(self.ids) - 1)
        return np.where(self.ids[p] == ids, p, -1)


def warnings_evaluate(*, day: dt.date | None = None) -> dict[str, Any]:
    """Evaluate every watched customer for ``day`` (default today) and file the proposals; also
    measure the open exit plans (a plan closes at zero exposure). Acts for the bank: no
    permission, no audit event (as the work list). Returns a JSON-ready summary."""
    started = time.perf_counter()
    day = day or timezone.localdate()
    rules = warning_rules()
    now = timezone.now()

    # -- loans: the worst class and the longest overdue per borrower, aggregated in SQL and read
    # through the raw cursor (Django's row converters cost more than the query at 2 M loans)
    rank = Case(
        *[When(classification=code, then=Value(i)) for i, code in enumerate(LOAN_CLASSES.codes)],
        default=Value(0),
        output_field=IntegerField(),
    )
    loans = (
        Loan.objects.values("customer_id")
        .annotate(k=Max(rank), d=Max("days_overdue"))
        .values_list("customer_id", "k", "d")
        .order_by()
    )
    table = _int_rows(loans, 3)
    loan_c, loan_k, loan_d = table[:, 0], table[:, 1], table[:, 2]
    # -- facilities: the share of live limits drawn
    fc, fl, fu = [], [], []
    for cid, limit, used in (
        Facility.objects.filter(status="ACTIVE")
        .values("customer_id")
        .annotate(limit=Sum("limit"), used=Sum("used"))
        .values_list("customer_id", "limit", "used")
        .iterator(chunk_size=50000)
    ):
        fc.append(cid)
        fl.append(float(limit or 0))
        fu.append(float(used or 0))
    fac_c, fac_l, fac_u = _ids(fc), np.array(fl), np.array(fu)
    # -- guarantees, signals, lists, groups, key accounts, states
    gpairs = np.array(
        list(Guarantee.objects.values_list("guarantor_id", "borrower_id")), dtype=np.int64
    ).reshape(-1, 2)
    since = day - dt.timedelta(days=rules.signal_days)
    signals = list(
        RiskSignal.objects.filter(on__gte=since, on__lte=day).values_list("customer_id", "kind")
    )
    black = _blacklisted()
    keys = set(
        KeyAccount.objects.filter(year=day.year, status=KeyAccountStatus.APPROVED).values_list(
            "customer_id", flat=True
        )
    )
    states = {
        row[0]: row
        for row in WarningState.objects.values_list(
            "customer_id", "state", "since", "deposit_base", "utilisation_base", "base_on"
        ).iterator(chunk_size=50000)
    }
    frame = _Frame(
        np.concatenate(
            [
                loan_c,
                fac_c,
                gpairs.ravel(),
                _ids(c for c, _k in signals),
                _ids(black),
                _ids(keys),
                _ids(states),
            ]
        )
    )
    n = len(frame)
    memberships = np.array(
        list(GroupMembership.objects.values_list("customer_id", "group_id")), dtype=np.int64
    ).reshape(-1, 2)

    worst = np.full(n, -1, np.int64)
    overdue = np.zeros(n, np.int64)
    if len(loan_c):
        p = frame.pos(loan_c)
        np.maximum.at(worst, p, loan_k)
        np.maximum.at(overdue, p, loan_d)
    util_now = np.full(n, np.nan)
    if len(fac_c):
        with np.errstate(invalid="ignore", divide="ignore"):
            util_now[frame.pos(fac_c)] = np.where(fac_l > 0, fac_u / fac_l * 100.0, np.nan)
    current = np.zeros(n, np.int64)
    days_in = np.zeros(n, np.int64)
    dep_base = np.full(n, np.nan)
    util_base = np.full(n, np.nan)
    base_on: dict[int, dt.date | None] = {}
    if states:
        rows = list(states.values())
        p = frame.pos(_ids(r[0] for r in rows))
        current[p] = [RANK.get(r[1], 0) for r in rows]
        days_in[p] = [(day - r[2]).days if r[2] else 0 for r in rows]
        dep_base[p] = [float(r[3]) if r[3] is not None else np.nan for r in rows]
        util_base[p] = [float(r[4]) if r[4] is not None else np.nan for r in rows]
        base_on = {r[0]: r[5] for r in rows}
    deposits_now = _deposits(frame)
    aum_now, aum_base = _aum(
        frame, months=rules.aum_decline_months, min_base=rules.aum_decline_min_base
    )
    blacklisted = np.zeros(n, bool)
    if black:
        blacklisted[frame.pos(_ids(black))] = True
    written_off = np.zeros(n, bool)
    off = _ids(
        Loan.objects.filter(written_off_on__isnull=False)
        .values_list("customer_id", flat=True)
        .distinct()
        .order_by()
    )
    if len(off):
        p = frame.pos(off)
        written_off[p[p >= 0]] = True
    settle_now, settle_base = _settlement(
        frame, day=day, months=rules.settlement_months, categories=rules.settlement_categories
    )
    sig_pos = frame.pos(_ids(c for c, _k in signals))
    member_pos = frame.pos(memberships[:, 0]) if len(memberships) else np.zeros(0, np.int64)
    inputs = WarningInputs(
        worst_class=worst,
        written_off=written_off,
        max_overdue=overdue,
        deposits_now=deposits_now,
        deposits_base=dep_base,
        aum_now=aum_now,
        aum_base=aum_base,
        utilisation_now=util_now,
        utilisation_base=util_base,
        blacklisted=blacklisted,
        current=current,
        days_in_state=days_in,
        signal_customer=sig_pos,
        signal_kind=[k for _c, k in signals],
        group_member=member_pos,
        group_id=memberships[:, 1] if len(memberships) else np.zeros(0, np.int64),
        guarantor=frame.pos(gpairs[:, 0]) if len(gpairs) else np.zeros(0, np.int64),
        borrower=frame.pos(gpairs[:, 1]) if len(gpairs) else np.zeros(0, np.int64),
        settlement_now=settle_now,
        settlement_base=settle_base,
    )
    result = evaluate_warnings(inputs, rules)
    evaluated = time.perf_counter() - started

    with transaction.atomic():
        filed = _file_proposals(result, frame, day=day, now=now)
        baselines = _baselines(
            frame,
            deposits_now=deposits_now,
            util_now=util_now,
            states=states,
            base_on=base_on,
            day=day,
            baseline_days=int(rules.actions.get("baseline_days", 30)),
            min_deposits=rules.deposit_outflow_min_base,
        )
        plans = exit_plans_measure(day=day)
    return {
        "day": day.isoformat(),
        "watched": n,
        "called_for": {s: int((result.state == i).sum()) for i, s in enumerate(STATES)},
        **filed,
        "baselines": baselines,
        "exit_plans": plans,
        "rules_seconds": round(evaluated, 2),
        "seconds": round(time.perf_counter() - started, 2),
    }


def _deposits(frame: _Frame) -> np.ndarray:
    """Deposit balances now (0 for a watched customer without deposits): one GROUP BY over the
    deposit accounts, kept for the watched customers."""
    out = np.zeros(len(frame))
    rows = (
        Account.objects.filter(product__category__in=DEPOSITS)
        .exclude(status=AccountStatus.CLOSED)
        .values("customer_id")
        .annotate(total=Sum("balance"))
        .values_list("customer_id", "total")
    )
    cids, totals = [], []
    for cid, total in rows.iterator(chunk_size=50000):
        cids.append(cid)
        totals.append(float(total or 0))
    if cids:
        p = frame.pos(_ids(cids))
        ok = p >= 0
        out[p[ok]] = np.array(totals)[ok]
    return out


def _month_start(day: dt.date, back: int) -> dt.date:
    """The first day of the month ``back`` months before ``day``'s."""
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def _settlement(
    frame: _Frame, *, day: dt.date, months: int, categories: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """The monthly settlement flow of the watched firms: the turnover of their accounts in the
    settlement ``categories`` (the lake's transactions, credits and debits alike), averaged over
    the last ``months`` whole months (``now``) and over the ``months`` before them (``base``).
    Empty arrays when the trigger is off; NaN for a customer without settlement accounts."""
    if not categories or len(frame) == 0:
        return np.zeros(0), np.zeros(0)
    from qiao.risk.lake import monthly_flows

    now, base = np.full(len(frame), np.nan), np.full(len(frame), np.nan)
    owner: dict[str, int] = {}
    ids = frame.ids.tolist()
    for i in range(0, len(ids), 5000):
        owner.update(
            Account.objects.filter(
                customer_id__in=ids[i : i + 5000],
                customer__customer_type="C",
                product__category__in=list(categories),
            )
            .exclude(status=AccountStatus.CLOSED)
            .values_list("account_no", "customer_id")
        )
    if not owner:
        return now, base
    first = _month_start(day, 2 * months)
    last = _month_start(day, 0) - dt.timedelta(days=1)
    recent = {
        f"{m.year:04d}-{m.month:02d}" for m in (_month_start(day, k) for k in range(1, months + 1))
    }
    totals: dict[int, list[float]] = {}
    for account_no, month, amount in monthly_flows(account_nos=owner, first=first, last=last):
        t = totals.setdefault(owner[account_no], [0.0, 0.0])
        t[0 if month in recent else 1] += float(amount)
    cids = sorted({owner[a] for a in owner})
    p = frame.pos(_ids(cids))
    for pos, cid in zip(p.tolist(), cids, strict=True):
        if pos < 0:
            continue
        recent_total, earlier_total = totals.get(cid, [0.0, 0.0])
        now[pos] = recent_total / months
        base[pos] = earlier_total / months
    return now, base


def _aum(frame: _Frame, *, months: int, min_base: float) -> tuple[np.ndarray, np.ndarray]:
    """AUM at the latest scoring and at the latest scoring at least ``months`` months before."""
    from qiao.scoring.models import ScoreSnapshot

    now, base = np.full(len(frame), np.nan), np.full(len(frame), np.nan)
    latest = ScoreSnapshot.objects.aggregate(d=Max("as_of"))["d"]
    if latest is None:
        return now, base
    cutoff = latest - dt.timedelta(days=round(months * 30.44))
    earlier = ScoreSnapshot.objects.filter(as_of__lte=cutoff).aggregate(d=Max("as_of"))["d"]
    if earlier is None:
        return now, base
    current_aum = ScoreSnapshot.objects.filter(as_of=latest, customer_id=OuterRef("customer_id"))
    rows = (
        ScoreSnapshot.objects.filter(as_of=earlier, aum__gte=min_base)
        .annotate(now=Subquery(current_aum.values("aum")[:1]))
        .values_list("customer_id", "aum", "now")
    )
    cids, b, c = [], [], []
    for cid, then, later in rows.iterator(chunk_size=50000):
        cids.append(cid)
        b.append(float(then))
        c.append(float(later) if later is not None else 0.0)
    if cids:
        p = frame.pos(_ids(cids))
        ok = p >= 0
        base[p[ok]] = np.array(b)[ok]
        now[p[ok]] = np.array(c)[ok]
    return now, base


def _insert(model: Any, rows: list[tuple[Any, ...]], columns: list[str]) -> None:
    """Insert new rows, skipping any that conflict (a concurrent run). PostgreSQL: COPY into a
    temporary table, then one INSERT … ON CONFLICT DO NOTHING (as the work list does: bulk_create
    of the first night's hundreds of thousands of rows takes minutes); elsewhere bulk_create."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        objs = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        model.objects.bulk_create(objs, batch_size=2000, ignore_conflicts=True)
        return
    table = model._meta.db_table
    cols = ", ".join(columns)
    tmp = f"_risk_new_{table}"
    json_cols = {i for i, c in enumerate(columns) if c == "reasons"}
    with connection.cursor() as cur:
        # Identifiers from the model's metadata and this code; the values go through COPY.
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {tmp} AS SELECT {cols} FROM {table} WITH NO DATA"  # noqa: S608
        )
        cur.execute(f"TRUNCATE {tmp}")
        with cur.cursor.copy(f"COPY {tmp} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    [
                        json.dumps(v, ensure_ascii=False) if i in json_cols else v
                        for i, v in enumerate(row)
                    ]
                )
        cur.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {tmp} ON CONFLICT DO NOTHING"  # noqa: S608
        )


def _reasons_json(items: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [{"code": code, "params": params} for code, params in items]


def _file_proposals(
    result: Any, frame: _Frame, *, day: dt.date, now: dt.datetime
) -> dict[str, int]:
    improve_after = warning_action("improve_after_days")
    repropose = now - dt.timedelta(days=warning_action("repropose_after_days"))
    open_by_customer = {
        cid: (pk, to, by)
        for pk, cid, to, by in WarningTransition.objects.filter(
            status=Decision.PROPOSED
        ).values_list("pk", "customer_id", "to_state", "proposed_by_id")
    }
    rejected = set(
        WarningTransition.objects.filter(
            status=Decision.REJECTED, decided_at__gte=repropose
        ).values_list("customer_id", "from_state", "to_state")
    )
    created: list[tuple[Any, ...]] = []
    updated = 0
    wanted: set[int] = set()
    for i in result.changed().tolist():
        cid = int(frame.ids[i])
        cur, want = STATES[int(result.inputs.current[i])], STATES[int(result.state[i])]
        if RANK[want] < RANK[cur] and result.inputs.days_in_state[i] < improve_after:
            continue
        wanted.add(cid)
        existing = open_by_customer.get(cid)
        if existing is not None:
            pk, to, by = existing
            if by is None and to != want:
                WarningTransition.objects.filter(pk=pk).update(
                    to_state=want,
                    reasons=_reasons_json(result.reasons_of(i)),
                    as_of=day,
                    proposed_at=now,
                )
                updated += 1
            continue
        if (cid, cur, want) in rejected:
            continue
        reasons = _reasons_json(result.reasons_of(i))
        created.append((cid, cur, want, reasons, day, now, "", Decision.PROPOSED, ""))
    _insert(
        WarningTransition,
        created,
        ["customer_id", "from_state", "to_state", "reasons", "as_of", "proposed_at", "note"]
        + ["status", "decision_note"],
    )
    # A proposal of the rules whose cause has gone (tonight's state is the current one) lapses.
    moot = [
        pk for cid, (pk, _to, by) in open_by_customer.items() if by is None and cid not in wanted
    ]
    withdrawn = (
        WarningTransition.objects.filter(pk__among=moot).update(
            status=Decision.REJECTED,
            decided_at=now,
            decision_note="withdrawn: no longer called for",
        )
        if moot
        else 0
    )
    return {
        "proposed": len(created),
        "proposals_updated": updated,
        "proposals_withdrawn": withdrawn,
    }


def _baselines(
    frame: _Frame,
    *,
    deposits_now: np.ndarray,
    util_now: np.ndarray,
    states: dict[int, tuple[Any, ...]],
    base_on: dict[int, dt.date | None],
    day: dt.date,
    baseline_days: int,
    min_deposits: float,
) -> int:
    """Take the deposit and utilisation baselines the next evaluations compare with: for a
    customer first seen with something to compare (deposits of at least the outflow rule's base,
    or a credit line), and again once the baseline is ``baseline_days`` old. A customer with
    nothing to compare gets no row (NORMAL needs none)."""
    ids = frame.ids
    known = np.isin(ids, _ids(states)) if states else np.zeros(len(ids), bool)
    worth = (deposits_now >= min_deposits) | ~np.isnan(util_now)
    new = []
    for i in np.flatnonzero(worth & ~known).tolist():
        util = None if math.isnan(util_now[i]) else float(util_now[i])
        dep = Decimal(str(round(float(deposits_now[i]), 2)))
        new.append((int(ids[i]), "NORMAL", day, dep, util, day))
    _insert(
        WarningState,
        new,
        ["customer_id", "state", "since", "deposit_base", "utilisation_base", "base_on"],
    )
    stale: list[tuple[int, Decimal, float | None]] = []
    for i in np.flatnonzero(known).tolist():
        cid = int(ids[i])
        taken = base_on.get(cid)
        if taken is None or (day - taken).days >= baseline_days:
            dep = Decimal(str(round(float(deposits_now[i]), 2)))
            util = None if math.isnan(util_now[i]) else float(util_now[i])
            stale.append((cid, dep, util))
    if stale and connection.vendor == "postgresql":
        # One UPDATE … FROM unnest(arrays): bulk_update's CASE per row grows with the square.
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE {WarningState._meta.db_table} AS w SET deposit_base = v.d, "  # noqa: S608
                "utilisation_base = v.u, base_on = %s FROM unnest(%s::bigint[], "
                "%s::numeric[], %s::float8[]) AS v(c, d, u) WHERE w.customer_id = v.c",
                [day, [r[0] for r in stale], [r[1] for r in stale], [r[2] for r in stale]],
            )
    elif stale:
        for i in range(0, len(stale), 900):
            part = stale[i : i + 900]
            pks = dict(
                WarningState.objects.filter(customer_id__in=[r[0] for r in part]).values_list(
                    "customer_id", "pk"
                )
            )
            objs = [
                WarningState(pk=pks[c], deposit_base=d, utilisation_base=u, base_on=day)
                for c, d, u in part
            ]
            WarningState.objects.bulk_update(
                objs, ["deposit_base", "utilisation_base", "base_on"], batch_size=900
            )
    return len(new) + len(stale)


# --------------------------------------------------------------------------------------------------
# people: proposals and decisions
# --------------------------------------------------------------------------------------------------


def warning_state_of(customer: Customer) -> str:
    return (
        WarningState.objects.filter(customer=customer).values_list("state", flat=True).first()
        or "NORMAL"
    )


def _in_scope(staff: Staff, customer_id: int) -> None:
    scope = staff_scope_q(staff)
    if scope is not None and not Customer.objects.filter(scope, pk=customer_id).exists():
        raise Http404("No customer matches the given query.")


def warning_propose(
    *, by: Staff, customer: Customer, to_state: str, note: str
) -> WarningTransition:
    """Staff propose a worsening (a CM who knows something the data does not), with a reason;
    a risk manager then confirms or rejects it."""
    if not may_propose_warning(by):
        raise PermissionDenied(PROPOSE_WARNINGS)
    _in_scope(by, customer.pk)
    if to_state not in RANK:
        raise ApplicationError(_("Choose a warning state."))
    if not note.strip():
        raise ApplicationError(_("Say why the customer should be watched more closely."))
    current = warning_state_of(customer)
    if RANK[to_state] <= RANK[current]:
        raise ApplicationError(_("Staff may propose only a worse state than the current one."))
    with transaction.atomic():
        open_ = WarningTransition.objects.select_for_update().filter(
            customer=customer, status=Decision.PROPOSED
        )
        previous = open_.first()
        if previous is not None:
            if previous.proposed_by_id is not None or RANK[previous.to_state] >= RANK[to_state]:
                raise ApplicationError(_("A change for this customer is already waiting."))
            # The staff proposal goes further than the rules': it takes the rules' place.
            previous.status = Decision.REJECTED
            previous.decided_at = timezone.now()
            previous.decision_note = "superseded by a staff proposal"
            previous.save(update_fields=["status", "decided_at", "decision_note"])
        t = WarningTransition.objects.create(
            customer=customer,
            from_state=current,
            to_state=to_state,
            reasons=[{"code": "STAFF", "params": {}}],
            as_of=timezone.localdate(),
            proposed_by=by,
            proposed_at=timezone.now(),
            note=note.strip()[:300],
        )
        audit_record(
            request_or_staff=by,
            action=Action.WARNING_PROPOSE,
            customer_no=customer.customer_no,
            detail={"from": current, "to": to_state},
        )
    return t


def warning_decide(
    *, by: Staff, transition: WarningTransition, confirm: bool, note: str = ""
) -> WarningTransition:
    """A risk manager confirms (the state changes; the required actions reach the work lists)
    or rejects a proposal; never one they proposed themselves."""
    require_perm(by, CONFIRM_WARNINGS)
    _in_scope(by, transition.customer_id)
    from qiao.risk.worklist import warning_items_raise

    with transaction.atomic():
        t = WarningTransition.objects.select_for_update().get(pk=transition.pk)
        if t.status != Decision.PROPOSED:
            raise ApplicationError(_("This change has already been decided."))
        if t.proposed_by_id == by.pk:
            raise PermissionDenied("maker-checker")
        current = warning_state_of(t.customer)
        if confirm and current != t.from_state:
            raise ApplicationError(
                _("The customer's state has changed since this was proposed; reject it.")
            )
        today = timezone.localdate()
        t.status = Decision.CONFIRMED if confirm else Decision.REJECTED
        t.decided_by = by
        t.decided_at = timezone.now()
        t.decision_note = note.strip()[:300]
        t.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        if confirm:
            WarningState.objects.update_or_create(
                customer_id=t.customer_id, defaults={"state": t.to_state, "since": today}
            )
            warning_items_raise(customer_ids=[t.customer_id], day=today)
        audit_record(
            request_or_staff=by,
            action=Action.WARNING_DECIDE,
            customer_no=t.customer.customer_no,
            detail={
                "from": t.from_state,
                "to": t.to_state,
                "decision": "confirm" if confirm else "reject",
            },
        )
    return t


# --------------------------------------------------------------------------------------------------
# exit plans: progress from the loads
# --------------------------------------------------------------------------------------------------


def exit_plans_measure(*, day: dt.date) -> dict[str, int]:
    """The exposure of every open plan's customer as the latest loads have it; a plan whose
    exposure reached zero closes."""
    plans = list(ExitPlan.objects.filter(status=ExitPlanStatus.OPEN))
    if not plans:
        return {"measured": 0, "closed": 0, "written_off": 0}
    exposures = customer_exposures([p.customer_id for p in plans])
    # What the loan loads say was written off (核销) of each customer's loans since the plan began.
    off: dict[int, list[tuple[dt.date, Decimal]]] = {}
    for cid, when, balance in Loan.objects.filter(
        customer_id__in=[p.customer_id for p in plans], written_off_on__isnull=False
    ).values_list("customer_id", "written_off_on", "balance"):
        if when is not None:
            off.setdefault(cid, []).append((when, balance))
    closed = written = 0
    for plan in plans:
        plan.exposure = exposures.get(plan.customer_id, Decimal(0))
        plan.measured_on = day
        plan.written_off = sum(
            (b for when, b in off.get(plan.customer_id, []) if when >= plan.start), Decimal(0)
        )
        fields = ["exposure", "measured_on", "written_off"]
        if plan.exposure <= 0:
            plan.status = ExitPlanStatus.CLOSED
            plan.closed_on = day
            # Closed by a write-off when a loan was written off during the plan, else recovered.
            wrote_off = any(when >= plan.start for when, _b in off.get(plan.customer_id, []))
            plan.outcome = ExitOutcome.WRITTEN_OFF if wrote_off else ExitOutcome.RECOVERED
            fields += ["status", "closed_on", "outcome"]
            closed += 1
            written += int(wrote_off)
        plan.save(update_fields=fields)
    return {"measured": len(plans), "closed": closed, "written_off": written}


def open_proposals_q() -> Q:
    return Q(status=Decision.PROPOSED)
