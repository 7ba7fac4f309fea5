"""Reads for engagement: work lists, contacts, coverage, prospects, plans, referrals, complaints.

Customer-bearing reads go through :mod:`qiao.customers.selectors` (the one data-scope mechanism):
every engagement object about a customer — item, task, appointment, plan, referral, complaint — is
reached only while its customer is in the reader's scope *now*, so a reassignment ends a former
manager's access to all of them at once (:func:`_customer_in_scope`). Objects a CM owns
(prospects, plans) follow the same shape besides: the owner sees their own, a team lead or outlet
head their subtree's, head-office roles all; anything else is a 404.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Avg, Case, Count, IntegerField, Max, Min, Q, QuerySet, Sum, When
from django.http import Http404
from django.utils import timezone

from qiao.core.presence import rows_present
from qiao.customers.models import Customer
from qiao.customers.selectors import customers_visible_to
from qiao.engagement import lake
from qiao.engagement.models import (
    REQUIREMENT_CHANNELS,
    CadenceRule,
    Complaint,
    ComplaintStatus,
    Contact,
    Plan,
    PlanStatus,
    Prospect,
    ProspectStatus,
    Referral,
    ReferralStatus,
    Requirement,
    Task,
    WorkItem,
    WorkKind,
    WorkStatus,
)
from qiao.org.models import BANKWIDE_ROLES, OWNER_ROLES, SUBTREE_ROLES, Staff
from qiao.products.models import ASSET_CATEGORIES, Account, AccountStatus

# --------------------------------------------------------------------------------------------------
# scope of objects a CM owns
# --------------------------------------------------------------------------------------------------


def owner_scope_q(staff: Staff, field_name: str = "owner") -> Q | None:
    """Filter for objects whose ``field_name`` (a staff FK) ``staff`` may see; ``None`` = all."""
    if not staff.is_active:
        return Q(pk__in=[])
    if staff.role in BANKWIDE_ROLES:  # the role, not superuser status (decision 0006)
        return None
    if staff.role in SUBTREE_ROLES and staff.unit is not None:
        return Q(**{f"{field_name}__unit__path__startswith": staff.unit.path}) | Q(
            **{field_name: staff}
        )
    return Q(**{field_name: staff})


def _scoped(qs: QuerySet[Any], staff: Staff, field_name: str = "owner") -> QuerySet[Any]:
    q = owner_scope_q(staff, field_name)
    return qs if q is None else qs.filter(q)


def _customer_in_scope(staff: Staff, field_name: str = "customer", *, nullable: bool = True) -> Q:
    """Objects whose customer ``staff`` may see now (or that have none, when ``nullable``)."""
    q = Q(**{f"{field_name}__in": customers_visible_to(staff=staff)})
    return q | Q(**{f"{field_name}__isnull": True}) if nullable else q


def staff_visible_to(*, staff: Staff) -> QuerySet[Staff]:
    """The customer managers whose numbers ``staff`` may see (themselves, their subtree, all)."""
    qs = Staff.objects.filter(is_active=True, role__in=OWNER_ROLES).select_related("unit")
    if staff.role in BANKWIDE_ROLES:  # the role, not superuser status (decision 0006)
        return qs
    if staff.role in SUBTREE_ROLES and staff.unit is not None:
        return qs.filter(unit__path__startswith=staff.unit.path)
    return qs.filter(pk=staff.pk)


# --------------------------------------------------------------------------------------------------
# cadence
# --------------------------------------------------------------------------------------------------


def cadence_rules() -> list[CadenceRule]:
    return list(CadenceRule.objects.filter(active=True).order_by("tier", "requirement"))


def cadence_tiers() -> set[str]:
    return {r.tier for r in cadence_rules()}


def last_contacts(
    *, requirement: str, since: dt.datetime, customer_ids: QuerySet[Any] | None = None
) -> dict[int, dt.datetime]:
    """Each customer's last contact meeting ``requirement`` since ``since`` (one GROUP BY)."""
    qs = Contact.objects.filter(channel__in=REQUIREMENT_CHANNELS[requirement], at__gte=since)
    if requirement == Requirement.HEAD_MEETING:
        qs = qs.filter(with_outlet_head=True)
    if customer_ids is not None:
        qs = qs.filter(customer_id__in=customer_ids)
    return dict(
        qs.values("customer_id").annotate(last=Max("at")).values_list("customer_id", "last")
    )


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


@dataclass
class CoverageRow:
    staff: Staff
    customers: int = 0
    covered: int = 0
    open_items: int = 0
    overdue_items: int = 0
    overdue_customers: int = 0
    contacts_30d: int = 0
    satisfaction: float | None = None
    complaints_open: int = 0
    referrals_converted: int = 0
    overdue: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pct(self) -> float | None:
        return round(100.0 * self.covered / self.customers, 1) if self.customers else None


# --------------------------------------------------------------------------------------------------
# overdue: one definition for Today and coverage (docs/engagement.md "Overdue")
# --------------------------------------------------------------------------------------------------


def overdue_q(day: dt.date) -> Q:
    """*Overdue* on ``day``: an open work-list item whose due date is before ``day`` (the CM has
    until the end of the due date). A customer is overdue when one of their items is."""
    return Q(status=WorkStatus.OPEN, due__lt=day)


@dataclass(frozen=True)
class OverdueCounts:
    open_items: int
    overdue_items: int
    overdue_customers: int


def overdue_counts(*, items: QuerySet[WorkItem], day: dt.date) -> dict[int, OverdueCounts]:
    """Per staff member: open items, overdue items and customers overdue among ``items`` (already
    scoped by the caller), by :func:`overdue_q` — what Today and coverage both show."""
    late = overdue_q(day)
    return {
        sid: OverdueCounts(n, n_late, n_customers)
        for sid, n, n_late, n_customers in items.filter(status=WorkStatus.OPEN)
        .order_by()
        .values("staff_id")
        .annotate(
            n=Count("id"),
            late=Count("id", filter=late),
            customers=Count("customer_id", filter=late, distinct=True),
        )
        .values_list("staff_id", "n", "late", "customers")
    }


def coverage(
    *, viewer: Staff, day: dt.date | None = None, overdue_limit: int = 50
) -> list[CoverageRow]:
    """Share of each CM's customers contacted within their cadence, with the overdue customers.

    A customer is *covered* when every active cadence rule of their tier was met within its
    interval, counted back from the end of ``day``.
    """
    day = day or timezone.localdate()
    rules = cadence_rules()
    by_tier: dict[str, list[CadenceRule]] = defaultdict(list)
    for r in rules:
        by_tier[r.tier].append(r)
    cms = list(staff_visible_to(staff=viewer).order_by("unit__path", "username"))
    rows = {s.pk: CoverageRow(staff=s) for s in cms}
    if not rows:
        return []
    customers = customers_visible_to(staff=viewer).filter(
        standing__tier__in=list(by_tier), primary_manager_id__in=list(rows)
    )
    end = day_start(day + dt.timedelta(days=1))
    longest = max((r.interval_days for r in rules), default=0)
    lasts = {
        req: last_contacts(
            requirement=req,
            since=end - dt.timedelta(days=longest),
            customer_ids=customers.values("pk"),
        )
        for req in {r.requirement for r in rules}
    }
    req_labels = dict(Requirement.choices)
    for cid, no, name, tier, pm in customers.values_list(
        "pk", "customer_no", "name", "standing__tier", "primary_manager_id"
    ).order_by("-standing__aum"):
        row = rows[pm]
        row.customers += 1
        missing = []
        for rule in by_tier[tier]:
            last = lasts[rule.requirement].get(cid)
            if last is None or last < end - dt.timedelta(days=rule.interval_days):
                missing.append(str(req_labels[rule.requirement]))
        if not missing:
            row.covered += 1
        elif len(row.overdue) < overdue_limit:
            row.overdue.append({"customer_no": no, "name": name, "tier": tier, "missing": missing})
    items = WorkItem.objects.filter(staff_id__in=list(rows), status=WorkStatus.OPEN).filter(
        _customer_in_scope(viewer)
    )
    for sid, counts in overdue_counts(items=items, day=day).items():
        row = rows[sid]
        row.open_items, row.overdue_items = counts.open_items, counts.overdue_items
        row.overdue_customers = counts.overdue_customers
    since = day_start(day - dt.timedelta(days=29))
    for sid, n, sat in (
        Contact.objects.filter(staff_id__in=list(rows), at__gte=since, at__lt=end)
        .values("staff_id")
        .annotate(n=Count("id"), sat=Avg("satisfaction"))
        .values_list("staff_id", "n", "sat")
    ):
        rows[sid].contacts_30d = n
        rows[sid].satisfaction = round(sat, 2) if sat is not None else None
    for sid, n in (
        Complaint.objects.filter(owner_id__in=list(rows))
        .exclude(status=ComplaintStatus.RESOLVED)
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    ):
        rows[sid].complaints_open = n
    for sid, n in (
        Referral.objects.filter(to_staff_id__in=list(rows), status=ReferralStatus.CONVERTED)
        .values("to_staff_id")
        .annotate(n=Count("id"))
        .values_list("to_staff_id", "n")
    ):
        rows[sid].referrals_converted = n
    return [rows[s.pk] for s in cms]


def coverage_by_unit(rows: list[CoverageRow]) -> list[dict[str, Any]]:
    units: dict[Any, dict[str, Any]] = {}
    for row in rows:
        u = units.setdefault(
            row.staff.unit_id,
            {"unit": row.staff.unit, "customers": 0, "covered": 0, "overdue_items": 0},
        )
        u["customers"] += row.customers
        u["covered"] += row.covered
        u["overdue_items"] += row.overdue_items
    for u in units.values():
        u["pct"] = round(100.0 * u["covered"] / u["customers"], 1) if u["customers"] else None
    return list(units.values())


# --------------------------------------------------------------------------------------------------
# work list, contacts, tasks
# --------------------------------------------------------------------------------------------------


def worklist_for_staff(*, staff: Staff, day: dt.date | None = None) -> QuerySet[WorkItem]:
    """The caller's open items, by value at stake; items whose customer left their scope are hidden.

    With ``day``: the open items that were put on the list on or before that day.
    """
    qs = WorkItem.objects.filter(staff=staff, status=WorkStatus.OPEN).filter(
        _customer_in_scope(staff)
    )
    if day is not None:
        qs = qs.filter(list_day__lte=day)
    return qs.select_related("customer", "prospect").order_by("-value_at_stake", "due", "id")


@dataclass
class WorklistRow:
    """One line of Today: a customer (or prospect card) with all their open items and reasons."""

    customer: Customer | None
    prospect: Prospect | None
    items: list[WorkItem]
    value: Decimal
    due: dt.date
    kind: str = ""

    @property
    def key(self) -> str:
        return (
            f"c{self.customer.pk}"
            if self.customer
            else f"p{self.prospect.pk if self.prospect else 0}"
        )


def worklist_rows(
    *,
    staff: Staff,
    day: dt.date,
    kind: str = "",
    search: str = "",
    overdue_only: bool = False,
    by_kind: bool = False,
    page: int | str | None = 1,
    per_page: int = 25,
) -> tuple[Page[Any], list[WorklistRow]]:
    """Today's rows: the caller's open items (:func:`worklist_for_staff`) grouped per customer or
    prospect card with their summed value at stake, largest first (then the earliest due date);
    with ``by_kind``, per kind (in :class:`WorkKind` order) and customer. Filters: one kind, a
    customer's name or number, overdue items only (:func:`overdue_q`). Paged in the database: one
    query groups and counts, one fetches the page's items."""
    qs = worklist_for_staff(staff=staff)
    if kind:
        qs = qs.filter(kind=kind)
    if search:
        qs = qs.filter(
            Q(customer__name__icontains=search)
            | Q(customer__customer_no=search)
            | Q(prospect__name__icontains=search)
        )
    if overdue_only:
        qs = qs.filter(overdue_q(day))
    fields = ["customer_id", "prospect_id"]
    order = ["-value", "first_due", "customer_id", "prospect_id"]
    if by_kind:
        kind_order = Case(
            *(When(kind=k, then=i) for i, k in enumerate(WorkKind.values)),
            output_field=IntegerField(),
        )
        fields, order = ["kind", *fields], ["kind_order", *order]
    groups = (
        qs.order_by().values(*fields).annotate(value=Sum("value_at_stake"), first_due=Min("due"))
    )
    if by_kind:
        groups = groups.annotate(kind_order=Min(kind_order))
    paged = Paginator(groups.order_by(*order), per_page).get_page(page)
    keys = list(paged.object_list)
    items: dict[tuple[str, int | None, int | None], list[WorkItem]] = defaultdict(list)
    if keys:
        wanted = qs.filter(
            Q(customer_id__in={k["customer_id"] for k in keys if k["customer_id"]})
            | Q(prospect_id__in={k["prospect_id"] for k in keys if k["prospect_id"]})
        )
        for item in wanted:
            items[(item.kind if by_kind else "", item.customer_id, item.prospect_id)].append(item)
    rows = []
    for k in keys:
        mine = items[(k.get("kind", ""), k["customer_id"], k["prospect_id"])]
        if not mine:
            continue
        rows.append(
            WorklistRow(
                customer=mine[0].customer,
                prospect=mine[0].prospect,
                items=mine,
                value=k["value"],
                due=k["first_due"],
                kind=k.get("kind", ""),
            )
        )
    return paged, rows


def work_item_get_for_staff(*, staff: Staff, item_id: int) -> WorkItem:
    item = worklist_for_staff(staff=staff).filter(pk=item_id).first()
    if item is None:
        raise Http404("No work-list item matches the given query.")
    return item


def tasks_for_staff(*, staff: Staff, include_done: bool = False) -> QuerySet[Task]:
    qs = (
        Task.objects.filter(staff=staff)
        .filter(_customer_in_scope(staff))
        .select_related("customer")
    )
    if not include_done:
        qs = qs.filter(done=False)
    return qs.order_by("due", "id")


def task_get_for_staff(*, staff: Staff, task_id: int) -> Task:
    task = tasks_for_staff(staff=staff, include_done=True).filter(pk=task_id).first()
    if task is None:
        raise Http404("No task matches the given query.")
    return task


def appointments_for_staff(*, staff: Staff, day: dt.date) -> QuerySet[Contact]:
    return (
        Contact.objects.filter(
            _customer_in_scope(staff, nullable=False),
            staff=staff,
            appointment_at__gte=day_start(day),
            appointment_at__lt=day_start(day + dt.timedelta(days=1)),
        )
        .select_related("customer")
        .order_by("appointment_at")
    )


def contacts_for_customer(*, customer: Customer, limit: int = 20) -> QuerySet[Contact]:
    """The customer's contact history (the caller has obtained ``customer`` through the scope)."""
    return Contact.objects.filter(customer=customer).select_related("staff").order_by("-at")[:limit]


def engagement_panel(customer: Customer, staff: Staff) -> dict[str, Any]:
    """Context for ``engagement/_customer_panel.html`` on the customer 360 page.

    ``customer`` must come from :func:`qiao.customers.selectors.customer_get_for_staff`.
    """
    # One probe first: most customers have no open task, complaint or open item, many no
    # contact yet; only the tables that hold something are read.
    has = rows_present(
        customer.pk,
        {
            "contacts": (Contact, "customer"),
            "tasks": (Task, "customer"),
            "complaints": (Complaint, "customer"),
            "items": (WorkItem, "customer"),
        },
    )
    contacts = list(contacts_for_customer(customer=customer)) if has["contacts"] else []
    rated = [c.satisfaction for c in contacts if c.satisfaction]
    return {
        "customer": customer,
        "tasks": list(
            Task.objects.filter(customer=customer, done=False)
            .select_related("staff")
            .order_by("due")
        )
        if has["tasks"]
        else [],
        "contacts": contacts,
        "complaints": list(Complaint.objects.filter(customer=customer).select_related("owner")[:20])
        if has["complaints"]
        else [],
        "open_items": list(
            WorkItem.objects.filter(customer=customer, status=WorkStatus.OPEN, staff=staff)
        )
        if has["items"]
        else [],
        "satisfaction": round(sum(rated) / len(rated), 1) if rated else None,
    }


# --------------------------------------------------------------------------------------------------
# prospects, referrals, complaints
# --------------------------------------------------------------------------------------------------


def prospects_visible_to(*, staff: Staff) -> QuerySet[Prospect]:
    return _scoped(Prospect.objects.select_related("owner", "customer"), staff)


def prospect_get_for_staff(*, staff: Staff, number: str) -> Prospect:
    prospect = prospects_visible_to(staff=staff).filter(number=number).first()
    if prospect is None:
        raise Http404("No prospect matches the given query.")
    return prospect


def prospect_board(*, staff: Staff) -> dict[str, list[Prospect]]:
    board: dict[str, list[Prospect]] = {"A": [], "B": [], "C": []}
    for p in (
        prospects_visible_to(staff=staff)
        .filter(status=ProspectStatus.ACTIVE)
        .order_by("next_review", "number")
    ):
        board[p.grade].append(p)
    return board


def referrals_visible_to(*, staff: Staff) -> QuerySet[Referral]:
    """Referrals made by ``staff``, or sent to them or (for heads) to their subtree's CMs while
    the referred customer is in their scope (a prospect referral has no customer)."""
    q = owner_scope_q(staff, "to_staff")
    qs = Referral.objects.select_related(
        "to_staff", "referrer_staff", "referrer_customer", "customer", "prospect"
    )
    received = _customer_in_scope(staff) if q is None else q & _customer_in_scope(staff)
    return qs.filter(received | Q(referrer_staff=staff))


def referral_get_for_staff(*, staff: Staff, referral_id: int) -> Referral:
    referral = referrals_visible_to(staff=staff).filter(pk=referral_id).first()
    if referral is None:
        raise Http404("No referral matches the given query.")
    return referral


def referral_credits(*, staff: Staff) -> list[dict[str, Any]]:
    """Referrers credited with conversions (visible referrals only)."""
    rows = (
        referrals_visible_to(staff=staff)
        .filter(credited=True, referrer_staff__isnull=False)
        .values("referrer_staff__username", "referrer_staff__name")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    return [dict(r) for r in rows]


def complaints_visible_to(*, staff: Staff) -> QuerySet[Complaint]:
    """Complaints about customers in ``staff``'s scope now — its handler's included: a handler
    whose customer was reassigned no longer reads it (the nightly run hands it on)."""
    return Complaint.objects.filter(_customer_in_scope(staff, nullable=False)).select_related(
        "customer", "owner", "customer__primary_manager"
    )


def complaint_get_for_staff(*, staff: Staff, complaint_id: int) -> Complaint:
    complaint = complaints_visible_to(staff=staff).filter(pk=complaint_id).first()
    if complaint is None:
        raise Http404("No complaint matches the given query.")
    return complaint


# --------------------------------------------------------------------------------------------------
# plans and their progress against real balances
# --------------------------------------------------------------------------------------------------


def plans_visible_to(*, staff: Staff) -> QuerySet[Plan]:
    """Plans of ``staff`` (or their subtree, or all); a one-customer plan only while that
    customer is in their scope."""
    return _scoped(
        Plan.objects.filter(_customer_in_scope(staff))
        .select_related("owner", "owner__unit", "customer", "group")
        .prefetch_related("products", "milestones"),
        staff,
    )


def plan_get_for_staff(*, staff: Staff, plan_id: int) -> Plan:
    plan = plans_visible_to(staff=staff).filter(pk=plan_id).first()
    if plan is None:
        raise Http404("No plan matches the given query.")
    return plan


def plan_customer_ids(plan: Plan) -> list[int]:
    """The customers a plan measures: its customer, or those of its group its owner serves now."""
    if plan.customer_id:
        return [plan.customer_id]
    if plan.group is None:
        return []
    members = plan.group.customers.filter(pk__in=customers_visible_to(staff=plan.owner))
    return list(members.values_list("pk", flat=True))


def _plan_accounts(plan: Plan, customer_ids: list[int]) -> QuerySet[Account]:
    qs = Account.objects.filter(customer_id__in=customer_ids)
    product_ids = [p.pk for p in plan.products.all()]
    if product_ids:
        return qs.filter(product_id__in=product_ids)
    return qs.filter(product__category__in=list(ASSET_CATEGORIES))


def plans_measure(plans: list[Plan], *, as_of: dt.date) -> dict[int, Decimal]:
    """The balances each plan measures on ``as_of``: the plan's products, or all asset accounts.

    A balance is the lake's last end-of-day balance on or before ``as_of`` (newest load wins); an
    account the lake has no row for counts with its current ``Account.balance`` if it was open then.
    One lake query for all the plans.
    """
    accounts: dict[int, list[tuple[str, Decimal, dt.date, dt.date | None, str]]] = {}
    for plan in plans:
        accounts[plan.pk] = list(
            _plan_accounts(plan, plan_customer_ids(plan)).values_list(
                "account_no", "balance", "open_date", "close_date", "status"
            )
        )
    all_nos = {a[0] for rows in accounts.values() for a in rows}
    from_lake = lake.latest_balances(account_nos=all_nos, as_of=as_of)
    out: dict[int, Decimal] = {}
    for plan_id, rows in accounts.items():
        total = Decimal(0)
        for no, balance, opened, closed, status in rows:
            if no in from_lake:
                total += from_lake[no]
            elif (
                opened <= as_of
                and (closed is None or closed > as_of)
                and (status != AccountStatus.CLOSED or closed is not None)
            ):
                total += balance or Decimal(0)
        out[plan_id] = total
    return out


@dataclass
class PlanProgress:
    plan: Plan
    current: Decimal
    progress: Decimal
    expected_now: Decimal | None

    @property
    def pct(self) -> float:
        target = self.plan.target_amount
        if not target:
            return 100.0 if self.progress >= 0 else 0.0
        return round(float(self.progress / target * 100), 1)

    @property
    def bar_pct(self) -> float:
        return max(0.0, min(100.0, self.pct))

    @property
    def on_track(self) -> bool:
        return self.expected_now is None or self.progress >= self.expected_now


def plans_progress(plans: list[Plan], *, day: dt.date | None = None) -> list[PlanProgress]:
    day = day or timezone.localdate()
    measured = plans_measure(plans, as_of=min(day, max((p.end for p in plans), default=day)))
    out = []
    for plan in plans:
        current = measured.get(plan.pk, Decimal(0))
        reached = [m for m in plan.milestones.all() if m.date <= day]
        expected = max(reached, key=lambda m: m.date).target if reached else None
        out.append(PlanProgress(plan, current, current - plan.baseline_amount, expected))
    return out


def plans_rollup(progress: list[PlanProgress]) -> dict[str, list[dict[str, Any]]]:
    """Targets and progress of active plans summed per CM and per outlet."""
    by_cm: dict[Any, dict[str, Any]] = {}
    by_unit: dict[Any, dict[str, Any]] = {}
    for p in progress:
        if p.plan.status != PlanStatus.ACTIVE:
            continue
        owner = p.plan.owner
        for key, bucket, label in (
            (owner.pk, by_cm, owner.display_name),
            (owner.unit_id, by_unit, owner.unit.name if owner.unit is not None else "—"),
        ):
            row = bucket.setdefault(
                key, {"label": label, "plans": 0, "target": Decimal(0), "progress": Decimal(0)}
            )
            row["plans"] += 1
            row["target"] += p.plan.target_amount
            row["progress"] += p.progress
    for bucket in (by_cm, by_unit):
        for row in bucket.values():
            row["pct"] = (
                round(float(row["progress"] / row["target"] * 100), 1) if row["target"] else None
            )
    return {"by_cm": list(by_cm.values()), "by_unit": list(by_unit.values())}


def customer_for_conversion(*, staff: Staff, customer_no: str) -> Customer | None:
    """The customer a prospect card became: one the CM may see, or a new customer of their
    sub-branch not yet given a manager (the card's owner usually brought them in)."""
    visible = customers_visible_to(staff=staff).filter(customer_no=customer_no).first()
    if visible is not None or staff.unit is None:
        return visible
    parent = "/".join(staff.unit.path.rstrip("/").split("/")[:-1]) + "/"
    return Customer.objects.filter(
        customer_no=customer_no, branch__path__startswith=parent, primary_manager__isnull=True
    ).first()
