"""Reads of customers go through these selectors; the data scope lives here and only here.

One mechanism for every page, API endpoint, search, export and chart:

- a customer manager (CM, senior CM) sees the customers they own, as primary or secondary manager;
- a team lead or outlet head sees every customer of their organisation subtree;
- head-office roles (product and risk managers, analysts, administrators, auditors) see all;
- a lobby manager or teller sees nobody through these selectors: referrals use
  :func:`customer_lookup_for_referral`, which reveals only what a referral needs.

Out of scope is indistinguishable from missing: :func:`customer_get_for_staff` raises ``Http404``.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.db.models.query import ModelIterable
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qiao.core.masking import (
    mask_account_no,
    mask_address,
    mask_email,
    mask_id_no,
    mask_middle,
    mask_mobile,
    mask_name,
)
from qiao.core.presence import rows_present
from qiao.core.tiers import tier_codes
from qiao.customers import lake_views
from qiao.customers.models import (
    Customer,
    CustomerStanding,
    GroupMembership,
    Ownership,
    Relationship,
    SavedGroup,
)
from qiao.customers.scope import customer_scope_extras, customer_scope_has_extra
from qiao.org.models import BANKWIDE_ROLES, OWNER_ROLES, SUBTREE_ROLES, OrgUnit, Role, Staff
from qiao.products.models import (
    Account,
    AccountStatus,
    Category,
    EBankingService,
    Holding,
    PayrollRelation,
    RelationType,
)


def staff_scope_q(staff: Staff) -> Q | None:
    """The filter for the customers ``staff`` may see; ``None`` means all of them.

    Besides the role's scope, the customers an app above grants (a key-account team member's
    key accounts: :mod:`qiao.customers.scope`), in the same statement (for a subtree, only when
    there are any: one query, remembered on ``staff``)."""
    if not staff.is_active:
        return Q(pk__in=[])
    # The role alone decides: superuser status grants no customer scope (docs/privacy.md).
    if staff.role in BANKWIDE_ROLES:
        return None
    extras = customer_scope_extras(staff)
    extra = (extras[0].union(*extras[1:]) if len(extras) > 1 else extras[0]) if extras else None
    if staff.role in SUBTREE_ROLES and staff.unit is not None:
        subtree = Q(branch__path__startswith=staff.unit.path)
        if extra is None or not customer_scope_has_extra(staff, extra):
            return subtree
        return subtree | Q(pk__in=extra)
    if staff.role in OWNER_ROLES:
        # The open ownership rows alone decide: ``primary_manager`` is a denormalised copy of the
        # open primary row (customers_refresh_primary_manager), so OR-ing it in would add nothing
        # but a scan of every customer (an OR defeats the semi-join on ownership(staff, end_date)).
        # The extra customers join the ownership rows in one UNION for the same reason.
        owns = Ownership.objects.filter(staff=staff, end_date__isnull=True).values("customer_id")
        if extras:
            return Q(pk__in=owns.order_by().union(*extras))
        return Q(pk__in=Subquery(owns))
    if extra is None or not customer_scope_has_extra(staff, extra):
        return Q(pk__in=[])
    return Q(pk__in=extra)


def customers_visible_to(*, staff: Staff) -> QuerySet[Customer]:
    qs = Customer.objects.all()
    scope = staff_scope_q(staff)
    return qs if scope is None else qs.filter(scope)


def with_standing(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    """``qs`` joined to each customer's standing (AUM, tier, contribution), for lists.

    An inner join: every customer has a standing (decision 0005), and only an inner join lets
    PostgreSQL walk the standing's (aum, customer) index for "largest first, 50 a page".
    """
    return qs.filter(standing__isnull=False).select_related("standing")


def customer_get_for_staff(*, staff: Staff, customer_no: str) -> Customer:
    """The customer, if ``staff`` may see them; ``Http404`` whether missing or out of scope."""
    customer = (
        customers_visible_to(staff=staff)
        .select_related("branch", "primary_manager", "standing")
        .filter(customer_no=customer_no)
        .first()
    )
    if customer is None:
        raise Http404("No customer matches the given query.")
    return customer


def customer_lookup_for_referral(*, staff: Staff, customer_no: str) -> Customer | None:
    """A lobby manager or teller refers a customer of their own outlet subtree to a CM.

    Returns the customer for the referral form (the caller shows name masked, tier and owner only).
    """
    if staff.role != Role.LOBBY and staff_scope_q(staff) is not None:
        return customers_visible_to(staff=staff).filter(customer_no=customer_no).first()
    unit_path = staff.unit.path if staff.unit is not None else None
    qs = Customer.objects.filter(customer_no=customer_no)
    if staff.role == Role.LOBBY:
        if unit_path is None:
            return None
        # A lobby manager sits at an outlet: refer customers of the outlet's sub-branch.
        parent_path = "/".join(unit_path.rstrip("/").split("/")[:-1]) + "/"
        qs = qs.filter(branch__path__startswith=parent_path)
    return qs.first()


def customer_get_for_walk_in(*, staff: Staff, customer_no: str) -> Customer:
    """The customer a referral or complaint is about: for the lobby and teller role, a customer
    of their outlet's sub-branch (:func:`customer_lookup_for_referral`), else the data scope.
    ``Http404`` when out of reach, as :func:`customer_get_for_staff`."""
    customer = customer_lookup_for_referral(staff=staff, customer_no=customer_no)
    if customer is None:
        raise Http404("No customer matches the given query.")
    return customer


@dataclass(frozen=True)
class WalkIn:
    """A walk-in customer as the lobby sees them: what a referral or complaint needs, no more."""

    customer_no: str
    name: str  # masked for a person; a company's name is not personal information
    tier: str  # the pyramid tier's label
    manager: str  # the primary manager's name


def customers_for_walk_in(*, staff: Staff, query: str, limit: int = 10) -> list[WalkIn]:
    """A lobby manager or teller finds a walk-in customer of their outlet's sub-branch by name,
    pinyin, mobile, ID tail or customer number (the search box's indexed lookups, in order).

    Only the masked name, tier label, manager's name and customer number leave this function.
    """
    from qiao.core.tiers import tier_label

    q = search_terms(query)
    if not q or staff.unit is None:
        return []
    if staff.role == Role.LOBBY:
        parent_path = "/".join(staff.unit.path.rstrip("/").split("/")[:-1]) + "/"
        scoped = Customer.objects.filter(branch__path__startswith=parent_path)
    else:
        scoped = customers_visible_to(staff=staff)
    found: dict[int, Customer] = {}
    for lookup in _search_lookups(q):
        for customer in (
            scoped.filter(lookup)
            .select_related("primary_manager", "standing")
            .order_by("customer_no")[:limit]
        ):
            found.setdefault(customer.pk, customer)
        if len(found) >= limit:
            break
    return [
        WalkIn(
            customer_no=c.customer_no,
            name=c.name if c.customer_type == "C" else mask_name(c.name),
            tier=tier_label(c.tier),
            manager=c.primary_manager.display_name if c.primary_manager else "",
        )
        for c in list(found.values())[:limit]
    ]


# ---------------------------------------------------------------- labels and masking

#: Masking of each personal field (JR/T 0171 C2), applied before any value leaves the server.
MASKERS: dict[str, Callable[[str], str]] = {
    "id_no": mask_id_no,
    "mobile": mask_mobile,
    "landline": lambda text: mask_middle(text or "", 3, 2),
    "email": mask_email,
    "address": mask_address,
    "account_no": mask_account_no,
}


def mask_field(field: str, value: Any) -> str:
    """The masked form of ``value`` if ``field`` is personal, else the value as text."""
    text = "" if value is None else str(value)
    masker = MASKERS.get(field)
    return masker(text) if masker and text else text


# ---------------------------------------------------------------- list filters

AGE_BANDS: dict[str, tuple[int | None, int | None]] = {
    "U30": (None, 29),
    "30-39": (30, 39),
    "40-49": (40, 49),
    "50-59": (50, 59),
    "60+": (60, None),
}
#: sort → (column, descending, nulls first); the primary key breaks ties.
SORTS: dict[str, tuple[str, bool, bool | None]] = {
    "-aum": ("standing__aum", True, None),
    "aum": ("standing__aum", False, None),
    "-contribution": ("standing__contribution", True, None),
    "contribution": ("standing__contribution", False, None),
    # Longest without contact first: never contacted (null) leads.
    "last_contact_at": ("last_contact_at", False, True),
    "-last_contact_at": ("last_contact_at", True, False),
    "name": ("name_pinyin", False, None),
}


def _ordering(sort: str, *, small_scope: bool) -> list[Any]:
    column, descending, nulls_first = SORTS.get(sort, SORTS["-aum"])
    # A CM's scope is a few thousand customers found through the ownership index. Ordering by a
    # bare indexed column invites PostgreSQL to walk that column's index over the whole table,
    # checking each row against the scope, because LIMIT looks cheap: seconds at a million
    # customers. COALESCE(col, col) is the same order but no index matches it, so the planner
    # fetches the scope first and sorts those few rows (milliseconds).
    expr: Any = Coalesce(F(column), F(column)) if small_scope else F(column)
    nulls = (
        {}
        if nulls_first is None
        else {"nulls_first": True}
        if nulls_first
        else {"nulls_last": True}
    )
    return [expr.desc(**nulls) if descending else expr.asc(**nulls), "pk"]


def scope_is_small(staff: Staff) -> bool:
    """True when ``staff`` sees only the customers they own (a CM's portfolio)."""
    scope = staff_scope_q(staff)
    return (
        scope is not None
        and staff.role in OWNER_ROLES
        and not (staff.role in SUBTREE_ROLES and staff.unit is not None)
    )


#: A subtree scope (an outlet head's, a team lead's) of at most this many customers is sorted
#: after it is fetched, like a CM's portfolio, rather than by walking a bank-wide index.
NARROW_SUBTREE = 50000
_NARROW = "_qiao_scope_narrow"


def scope_is_narrow(staff: Staff, limit: int = NARROW_SUBTREE) -> bool:
    """True when ``staff``'s customers are best fetched first and sorted after: a CM's portfolio
    (:func:`scope_is_small`), or a subtree of at most ``limit`` customers (an outlet of 10,000).

    Walking the bank-wide AUM index for the largest customers of an outlet that holds 1 % of the
    bank reads 100 entries for each one it keeps (2,500 for page 1, 12,500 for page 5, with two
    parallel workers: ~200 ms of CPU at a million customers); the outlet's 10,000 ids and their
    AUM are two index-only scans and a top-N sort. The subtree's size is a bounded count (ids
    only, stopped at ``limit + 1``), asked once per staff object for the default limit."""
    if scope_is_small(staff):
        return True
    if staff_scope_q(staff) is None or staff.role not in SUBTREE_ROLES:
        return False
    if limit == NARROW_SUBTREE and hasattr(staff, _NARROW):
        return bool(getattr(staff, _NARROW))
    ids = customers_visible_to(staff=staff).order_by().values("pk")[: limit + 1]
    narrow = ids.count() <= limit
    if limit == NARROW_SUBTREE:
        setattr(staff, _NARROW, narrow)
    return narrow


def _by_standing_branch(staff: Staff) -> Q | None:
    """For a subtree scope that names no one else (an outlet head's, a team lead's): the same
    customers named by their standings' copy of the branch, which the standings' ``(branch, aum
    DESC, customer)`` index serves largest first (decision 0012). A filter to add to the scope's
    own, never to replace it. ``None`` for any other scope."""
    if staff.role not in SUBTREE_ROLES or staff.unit is None:
        return None
    if staff_scope_q(staff) != Q(branch__path__startswith=staff.unit.path):
        return None  # the apps grant this staff member customers elsewhere too
    units = list(
        OrgUnit.objects.filter(path__startswith=staff.unit.path).values_list("pk", flat=True)
    )
    return Q(standing__branch_id=units[0]) if len(units) == 1 else Q(standing__branch_id__in=units)


def largest_first_ids(*, staff: Staff, limit: int) -> list[int]:
    """The ids of up to ``limit`` customers ``staff`` may see, largest AUM first (ties by id).

    A subtree scope that names no one else (an outlet head's, a team lead's) is read down the
    standings' ``(branch, aum DESC, customer)`` index, outlet by outlet, taking only the rows it
    keeps (decision 0012: the branch is copied onto the standing by the database); the customers'
    own branch still decides who is in scope, so a copy out of step could only leave someone out.
    Every other scope as the lists order it (:func:`scope_is_narrow`)."""
    ordered = _sorted_for(staff, with_standing(customers_visible_to(staff=staff)), "-aum")
    return list(ordered.values_list("pk", flat=True)[:limit])


def largest_first(qs: QuerySet[Customer], *, narrow: bool) -> QuerySet[Customer]:
    """``qs`` (customers with their standing) largest AUM first, ties by id, as the lists order
    it: a narrow scope is sorted after it is fetched, a wide one walks the AUM index."""
    return qs.order_by(*_ordering("-aum", small_scope=narrow))


def _sorted_for(staff: Staff, qs: QuerySet[Customer], sort: str) -> QuerySet[Customer]:
    """``qs`` (within ``staff``'s scope, with standings) in the order ``sort`` names, by the
    cheapest path: an outlet's largest first down the standings' branch index
    (:func:`_by_standing_branch`), any other order as :func:`_ordering` plans it."""
    if SORTS.get(sort, SORTS["-aum"]) == SORTS["-aum"]:
        via = _by_standing_branch(staff)
        if via is not None:  # down the branch index: the plain order is the index's
            return qs.filter(via).order_by(*_ordering(sort, small_scope=False))
    return qs.order_by(*_ordering(sort, small_scope=scope_is_narrow(staff)))


class PagedCustomers(QuerySet[Customer]):
    """A customer list that reads a page's ids first and then only those rows.

    PostgreSQL sorts before it limits: for "largest first, 25 a page" over a CM's 1,250
    customers or an outlet's 10,000 it fetched every row of the scope with all its columns (one
    heap page per customer) and kept 25 — 80 ms for a CM, 320 ms for an outlet at a million
    customers. Asked for the ids alone, the same filter and order are served by index-only scans
    (the ownership or branch index, the customer's primary key, the standing's
    ``(customer_id, aum)``), and the 25 rows are then read by primary key.

    Only a slice with an end (a page, ``[:20]``) of model instances goes this way; anything else
    (iteration, ``count()``, ``values()``) is an ordinary queryset. A slice answers a list.
    """

    def __getitem__(self, k: Any) -> Any:
        if (
            not isinstance(k, slice)
            or k.stop is None
            or self._result_cache is not None
            or self._iterable_class is not ModelIterable
        ):
            return super().__getitem__(k)
        ids = list(self.values_list("pk", flat=True)[k])
        if not ids:
            return []
        found = {c.pk: c for c in self.filter(pk__in=ids).order_by()}
        return [found[i] for i in ids if i in found]


def paged(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    """``qs`` as a :class:`PagedCustomers` (the same query, cloned)."""
    clone = qs.all()
    clone.__class__ = PagedCustomers
    return clone


EBANKING_STATES = ("NONE", "OPENED", "ACTIVATED")


@dataclass(frozen=True)
class CustomerFilters:
    """The customer list's filter (also a dynamic saved group's definition). Amounts in yuan."""

    tiers: tuple[str, ...] = ()
    customer_type: str = ""
    aum_min: Decimal | None = None
    aum_max: Decimal | None = None
    age_band: str = ""
    gender: str = ""
    occupation: str = ""
    product: str = ""
    category: str = ""
    ebanking: str = ""
    payroll: str = ""
    owner: str = ""
    outlet: str = ""
    sort: str = "-aum"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value in (None, "", ()):
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else str(value)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CustomerFilters:
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data or data[f.name] in (None, ""):
                continue
            value = data[f.name]
            if f.name == "tiers":
                kwargs[f.name] = tuple(str(t) for t in value)
            elif f.name in ("aum_min", "aum_max"):
                kwargs[f.name] = Decimal(str(value))
            else:
                kwargs[f.name] = str(value)
        return cls(**kwargs)

    @property
    def is_empty(self) -> bool:
        return not {k for k in self.to_json() if k != "sort"}


def _age_q(band: str, today: dt.date) -> Q:
    low, high = AGE_BANDS[band]
    q = Q(birth_date__isnull=False)
    if low is not None:
        q &= Q(birth_date__lte=_years_before(today, low))
    if high is not None:
        q &= Q(birth_date__gt=_years_before(today, high + 1))
    return q


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def customers_filter(*, staff: Staff, filters: CustomerFilters) -> QuerySet[Customer]:
    """The customers ``staff`` may see that pass ``filters``, sorted (one scoped query)."""
    qs = with_standing(_filtered(staff, filters)).select_related("primary_manager", "branch")
    return paged(_sorted_for(staff, qs, filters.sort))


def customers_filter_count(*, staff: Staff, filters: CustomerFilters) -> int:
    """How many customers :func:`customers_filter` lists, counted without its join to the
    standings unless a filter needs them (every customer has one; at a million customers the
    join is most of a count's time).

    The unfiltered bank-wide count (a head-office reader's list) is the number of customers: at a
    million it is a scan of a million index entries on every page (80–150 ms, with two parallel
    workers, ~100 ms of CPU), so a count of at least :data:`BIG_COUNT` is remembered in the
    process for :data:`BIG_COUNT_SECONDS`, for as long as the newest customer id stays the same
    (customers are added, never deleted, so a new customer changes it: one index lookup)."""
    qs = _filtered(staff, filters)
    if staff_scope_q(staff) is not None or not filters.is_empty:
        return qs.count()
    newest = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    key = (qs.db, newest)
    now = time.monotonic()
    known = _BIG_COUNTS.get(key)
    if known is not None and now - known[0] < BIG_COUNT_SECONDS:
        return known[1]
    n = qs.count()
    _BIG_COUNTS.clear()  # one bank, one newest id: nothing else is worth keeping
    if n >= BIG_COUNT:
        _BIG_COUNTS[key] = (now, n)
    return n


#: An unfiltered bank-wide count this large is remembered (:func:`customers_filter_count`);
#: smaller ones are cheap and counted each time.
BIG_COUNT = 100_000
BIG_COUNT_SECONDS = 60.0
_BIG_COUNTS: dict[tuple[str, int], tuple[float, int]] = {}


def customers_matching(*, staff: Staff, filters: CustomerFilters) -> QuerySet[Customer]:
    """The customers ``staff`` may see that pass ``filters``, unordered and without the
    standings' join unless a filter needs it (segments build on this; counts use it)."""
    return _filtered(staff, filters)


def _filtered(staff: Staff, filters: CustomerFilters) -> QuerySet[Customer]:
    qs = customers_visible_to(staff=staff)
    f = filters
    if f.tiers:
        qs = qs.filter(standing__tier__in=list(f.tiers))
    if f.customer_type:
        qs = qs.filter(customer_type=f.customer_type)
    if f.aum_min is not None:
        qs = qs.filter(standing__aum__gte=f.aum_min)
    if f.aum_max is not None:
        qs = qs.filter(standing__aum__lte=f.aum_max)
    if f.age_band in AGE_BANDS:
        qs = qs.filter(_age_q(f.age_band, timezone.localdate()))
    if f.gender:
        qs = qs.filter(gender=f.gender)
    if f.occupation:
        qs = qs.filter(occupation__startswith=f.occupation)
    if f.product or f.category:
        held = Account.objects.filter(customer=OuterRef("pk")).exclude(status=AccountStatus.CLOSED)
        if f.product:
            held = held.filter(product__code=f.product)
        if f.category:
            held = held.filter(product__category=f.category)
        qs = qs.filter(Exists(held))
    if f.ebanking in EBANKING_STATES:
        live = EBankingService.objects.filter(customer=OuterRef("pk"), closed_date__isnull=True)
        activated = live.filter(activated_date__isnull=False)
        if f.ebanking == "NONE":
            qs = qs.exclude(Exists(live))
        elif f.ebanking == "OPENED":
            qs = qs.filter(Exists(live)).exclude(Exists(activated))
        else:
            qs = qs.filter(Exists(activated))
    if f.payroll in ("YES", "NO"):
        today = timezone.localdate()
        paid = PayrollRelation.objects.filter(
            customer=OuterRef("pk"), relation_type=RelationType.PAYROLL
        ).filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        qs = qs.filter(Exists(paid)) if f.payroll == "YES" else qs.exclude(Exists(paid))
    if f.owner == "-":
        qs = qs.filter(primary_manager__isnull=True)
    elif f.owner:
        qs = qs.filter(primary_manager__username=f.owner)
    if f.outlet:
        unit = OrgUnit.objects.filter(code=f.outlet).only("path").first()
        qs = qs.filter(branch__path__startswith=unit.path) if unit else qs.none()
    return qs


def standings_visible_to(*, staff: Staff) -> QuerySet[CustomerStanding]:
    """The standings of the customers ``staff`` may see (one per customer): totals and counts
    by tier read the narrow standings table, bank-wide without touching the customers."""
    scope = staff_scope_q(staff)
    qs = CustomerStanding.objects.all()
    return qs if scope is None else qs.filter(customer__in=Customer.objects.filter(scope))


def customer_tier_counts(*, staff: Staff) -> dict[str, int]:
    rows = standings_visible_to(staff=staff).values("tier").annotate(n=Count("pk")).order_by()
    counts = {row["tier"]: row["n"] for row in rows}
    ordered = {t: counts.pop(t) for t in tier_codes("pyramid") if t in counts}
    ordered.update(sorted(counts.items()))
    return ordered


def customer_portfolio_summary(*, staff: Staff) -> dict[str, Any]:
    """The numbers on the home page: customers, total AUM, customers per tier (all in scope)."""
    totals = standings_visible_to(staff=staff).aggregate(n=Count("pk"), aum=Sum("aum"))
    return {
        "customers": totals["n"] or 0,
        "aum": totals["aum"] or Decimal(0),
        "tiers": customer_tier_counts(staff=staff),
    }


# ---------------------------------------------------------------- search

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_MOBILE = re.compile(r"(?:\+?86)?(1[3-9]\d{9})")
_LETTERS = re.compile(r"[a-z]+")


def search_terms(query: str) -> str:
    """The query as searched: spaces and dashes removed, at most 40 characters."""
    return re.sub(r"[\s\-]+", "", query or "")[:40]


def _search_lookups(q: str) -> list[Q]:
    upper, lower = q.upper(), q.lower()
    lookups: list[Q] = []
    if _CJK.search(q):
        # Names and company names: exact, then prefix (index), then anywhere in the name.
        return [Q(name=q), Q(name__startswith=q), Q(name__contains=q)]
    mobile = _MOBILE.fullmatch(q)
    if mobile:
        lookups.append(Q(mobile=mobile.group(1)))
    if len(upper) == 18:
        lookups.append(Q(id_no=upper))  # resident ID or unified social credit code
    if re.fullmatch(r"\d{3}[\dX]", upper):
        lookups.append(Q(id_tail4=upper))
    if re.fullmatch(r"\d{5}[\dX]", upper):
        lookups.append(Q(id_tail4=upper[-4:], id_tail6=upper))  # indexed by the last 4
    lookups.append(Q(customer_no__in=sorted({q, upper})))
    if re.fullmatch(r"[A-Z0-9]{5,40}", upper) and any(ch.isdigit() for ch in upper):
        lookups.append(Q(id_no=upper))  # passports and other IDs
        lookups.append(Q(customer_no__startswith=upper))
    if _LETTERS.fullmatch(lower):
        lookups += [
            Q(name_initials=lower),
            Q(name_pinyin=lower),
            Q(name_initials__startswith=lower),
            Q(name_pinyin__startswith=lower),
        ]
    elif re.search(r"[A-Za-z]", q):
        lookups.append(Q(name__startswith=q))  # Latin company names
    return lookups


@dataclass(frozen=True)
class AuditedQuery:
    """A search as the audit trail keeps it: masked by the rule of the field it looks like."""

    kind: str  # customer_no, mobile, id_no, id_tail, name
    query: str
    customer_no: str = ""


def search_query_for_audit(query: str, found: Sequence[Customer] = ()) -> AuditedQuery | None:
    """How a search is written to the audit trail (issue 11 item 5; docs/privacy.md).

    A query is masked by the rule of the field it would find: a mobile as a mobile (``139****5678``),
    an ID number or credit code as an ID (first 6 and last 4), the last 4 of an ID as typed (the
    masked ID shows them), the last 6 as ``**`` and their last 4, a name or its pinyin as a name
    (``张*``), any other code with digits (a passport …) as an ID. A customer number that exists is
    kept in clear, also as the event's customer, so the auditor can tell which customer was sought:
    a customer number is the bank's key, not personal information. One indexed lookup.
    """
    q = search_terms(query)
    if not q:
        return None
    upper = q.upper()
    # The customers found answer most searches by number; a query with a digit that found no
    # one (out of scope, say) is looked up once, by the unique index.
    number = next((c.customer_no for c in found if c.customer_no in (q, upper)), None)
    if number is None and any(ch.isdigit() for ch in q):
        number = (
            Customer.objects.filter(customer_no__in=sorted({q, upper}))
            .values_list("customer_no", flat=True)
            .first()
        )
    if number:
        return AuditedQuery("customer_no", number, number)
    if _CJK.search(q):
        return AuditedQuery("name", mask_name(q))
    mobile = _MOBILE.fullmatch(q)
    if mobile:
        return AuditedQuery("mobile", mask_mobile(mobile.group(1)))
    if len(upper) == 18 and upper.isalnum():
        return AuditedQuery("id_no", mask_id_no(upper))
    if re.fullmatch(r"\d{3}[\dX]", upper):
        return AuditedQuery("id_tail", upper)
    if re.fullmatch(r"\d{5}[\dX]", upper):
        return AuditedQuery("id_tail", "**" + upper[-4:])
    if _LETTERS.fullmatch(q.lower()):
        return AuditedQuery("name", mask_name(q.lower()))
    if any(ch.isdigit() for ch in q):
        return AuditedQuery("id_no", mask_id_no(upper))
    return AuditedQuery("name", mask_name(q))


#: Up to this many matches of a search lookup are sorted by AUM after fetching them by the
#: lookup's index; more walk the AUM index instead (see :func:`customer_search`).
_SEARCH_SORTED = 20000


def customer_search(*, staff: Staff, query: str, limit: int = 20) -> list[Customer]:
    """Customers ``staff`` may see that match ``query``, best matches first.

    One box for everything: a name in 汉字 (exact, prefix, anywhere), pinyin in full or initials
    (``zs`` finds 张三), a mobile (full), a resident ID (full, or its last 4 or 6 characters), a
    customer number, a company name or credit code. Each lookup is an indexed equality or prefix
    query on the scoped customers; they run in order until ``limit`` customers are found.
    Typo tolerance, where cheap: a pinyin query that finds nothing is retried without its last
    letter (``zhangsna`` → ``zhangsn`` finds nobody, ``zhangsanx`` → ``zhangsan`` finds 张三).
    """
    q = search_terms(query)
    if not q:
        return []
    limit = max(1, min(limit, 100))
    scoped = customers_visible_to(staff=staff)
    base = with_standing(scoped).select_related("primary_manager", "branch")
    small = scope_is_narrow(staff)
    # Each lookup finds ids only (index-only where it can); the rows shown are read once, at
    # the end, by primary key (as a list page: selectors.PagedCustomers).
    found: dict[int, None] = {}

    def matches(lookup: Q) -> QuerySet[Customer]:
        if not small:
            # Largest first, without letting PostgreSQL guess how to get there: a lookup with at
            # most _SEARCH_SORTED matches (counted, up to that) has them fetched through its own
            # index and sorted (the opaque ordering of a small scope); only one with more walks
            # the AUM index, where its matches are then dense enough to be met quickly. (Left to
            # the planner, 2,600 matches walked the AUM index over 60,000 customers: 220 ms.)
            n = scoped.filter(lookup).order_by()[: _SEARCH_SORTED + 1].count()
            return base.filter(lookup).order_by(*_ordering("-aum", small_scope=n <= _SEARCH_SORTED))
        return base.filter(lookup).order_by(*_ordering("-aum", small_scope=True))

    def run(lookups: list[Q]) -> None:
        for lookup in lookups:
            if len(found) >= limit:
                return
            for pk in matches(lookup).values_list("pk", flat=True)[:limit]:
                if len(found) < limit:
                    found.setdefault(pk)

    run(_search_lookups(q))
    lower = q.lower()
    if not found and _LETTERS.fullmatch(lower) and len(lower) >= 4:
        run([Q(name_pinyin__startswith=lower[:-1])])
    if not found:
        return []
    rows = base.filter(pk__in=list(found)).order_by().in_bulk()
    return [rows[pk] for pk in found if pk in rows]


# ---------------------------------------------------------------- the 360's pieces

#: Seed 004 L58: the "effective information" (有效信息) of a company.
CORPORATE_INFO: list[tuple[str, Any]] = [
    ("name", _("name")),
    ("address", _("address")),
    ("email", _("e-mail")),
    ("postal_code", _("postal code")),
    ("ownership_type", _("company type")),
    ("industry", _("industry")),
    ("main_business", _("products and services")),
    ("registered_capital", _("registered capital")),
    ("tax_record", _("tax record")),
]
#: Seed 004 L60: the effective information of a person, and the preferences the CM learns in talk.
INDIVIDUAL_INFO: list[tuple[str, Any]] = [
    ("name", _("name")),
    ("address", _("address")),
    ("phone", _("mobile or landline")),
    ("email", _("e-mail")),
    ("postal_code", _("postal code")),
    ("gender", _("gender")),
    ("birth_date", _("birth date")),
    ("occupation", _("occupation")),
    ("industry", _("industry")),
    ("education", _("education")),
    ("school", _("school")),
    ("tax_record", _("tax record")),
    ("investment_pref", _("investment preference")),
    ("hobbies", _("hobbies")),
    ("product_pref", _("product preference")),
]


@dataclass(frozen=True)
class Completeness:
    score: int  # 0–100
    filled: int
    total: int
    missing: list[tuple[str, Any]]


def customer_completeness(customer: Customer) -> Completeness:
    """How much of the seed's effective information is on file, and what is missing."""
    items = CORPORATE_INFO if customer.is_corporate else INDIVIDUAL_INFO
    missing = []
    for field, label in items:
        if field == "phone":
            present = bool(customer.mobile or customer.landline)
        else:
            value = getattr(customer, field)
            present = value not in (None, "")
        if not present:
            missing.append((field, label))
    total = len(items)
    filled = total - len(missing)
    return Completeness(round(100 * filled / total), filled, total, missing)


def customer_ownership_history(customer: Customer) -> QuerySet[Ownership]:
    return customer.ownerships.select_related("staff", "assigned_by").order_by(
        F("end_date").desc(nulls_first=True), "-start_date", "-id"
    )


def customer_changes(customer: Customer, *, limit: int = 50) -> list[dict[str, Any]]:
    """The change history, newest first, personal values masked (the page never shows them)."""
    rows = customer.changes.select_related("changed_by").order_by("-changed_at", "-id")[:limit]
    return [
        {
            "field": row.field,
            "label": _field_label(row.field),
            "old": mask_field(row.field, row.old_value),
            "new": mask_field(row.field, row.new_value),
            "by": row.changed_by.username if row.changed_by else "",
            "by_name": row.changed_by.display_name if row.changed_by else "",
            "at": row.changed_at,
            "source": row.get_source_display(),
        }
        for row in rows
    ]


def _field_label(field: str) -> str:
    try:
        return str(getattr(Customer._meta.get_field(field), "verbose_name", field))
    except Exception:  # a field since renamed: show its stored name
        return field


def customer_accounts(customer: Customer) -> list[Account]:
    """Accounts with their product and latest holding, open ones first, soonest maturity first."""
    accounts = list(
        customer.accounts.select_related("product").order_by(
            F("close_date").asc(nulls_first=True),
            F("maturity_date").asc(nulls_last=True),
            "open_date",
        )
    )
    latest: dict[int, Holding] = {}
    for holding in Holding.objects.filter(account__customer=customer).order_by("as_of_date"):
        latest[holding.account_id] = holding
    for account in accounts:
        account.latest_holding = latest.get(account.pk)  # type: ignore[attr-defined]
        account.masked_no = mask_account_no(account.account_no)  # type: ignore[attr-defined]
        account.reveal_field = f"account:{account.pk}"  # type: ignore[attr-defined]
    return accounts


def customer_ebanking(customer: Customer) -> list[EBankingService]:
    return list(customer.ebanking.order_by("service"))


def customer_payroll(customer: Customer) -> list[PayrollRelation]:
    return list(customer.payroll_relations.select_related("account").order_by("-start_date"))


#: Months of transactions the 360 shows at once; earlier ones load when asked for.
RECENT_MONTHS = 3
TRANSACTION_MONTH_CHOICES = (3, 12)


def customer_transactions_shown(*, customer: Customer, months: int | None) -> dict[str, Any]:
    """The customer's latest transactions over ``months`` months (``None``: all the lake holds),
    how many months that is, and the longer spans the page may offer."""
    listed = lake_views.transaction_months()
    available = len(listed)
    shown = available if months is None else min(months, available)
    return {
        "transactions": lake_views.customer_recent_transactions(
            customer_no=customer.customer_no, limit=20, months=months, available=listed
        ),
        "txn_months": shown,
        "txn_months_available": available,
        "txn_more": [m for m in TRANSACTION_MONTH_CHOICES if shown < m < available],
    }


def customer_connections(*, staff: Staff, customer: Customer) -> dict[str, Any]:
    """Family and business relationships and group memberships; the other party is linked only
    when ``staff`` may see them (otherwise the name is masked and there is no link)."""
    # Most customers have no relationship and no group: one probe, then only what exists.
    has = rows_present(
        customer.pk,
        {
            "outgoing": (Relationship, "customer"),
            "incoming": (Relationship, "related"),
            "groups": (GroupMembership, "customer"),
        },
    )
    if not any(has.values()):
        return {"relationships": [], "groups": [], "legal_rep": customer.legal_rep}
    rels = (list(customer.relationships.select_related("related")) if has["outgoing"] else []) + (
        list(customer.related_from.select_related("customer")) if has["incoming"] else []
    )
    others = {r.related_id if r.customer_id == customer.pk else r.customer_id for r in rels}
    memberships = list(customer.group_memberships.select_related("group")) if has["groups"] else []
    peers = list(
        GroupMembership.objects.filter(group__in=[m.group_id for m in memberships])
        .exclude(customer=customer)
        .select_related("customer")
    )
    others |= {p.customer_id for p in peers}
    visible = set(
        customers_visible_to(staff=staff).filter(pk__in=others).values_list("pk", flat=True)
    )

    def party(other: Customer) -> dict[str, Any]:
        shown = other.pk in visible
        return {
            "customer_no": other.customer_no if shown else "",
            "name": other.name if shown else mask_name(other.name),
            "linked": shown,
        }

    relationships = []
    for r in rels:
        outgoing = r.customer_id == customer.pk
        other = r.related if outgoing else r.customer
        relationships.append(
            {
                "relation": r.get_relation_display(),
                "outgoing": outgoing,
                "note": r.note,
                **party(other),
            }
        )
    groups = [
        {
            "group": m.group.name,
            "role": m.get_member_role_display(),
            "link": m.get_link_type_display(),
            "equity_pct": m.equity_pct,
            "members": [
                {**party(p.customer), "role": p.get_member_role_display()}
                for p in peers
                if p.group_id == m.group_id
            ],
        }
        for m in memberships
    ]
    # The legal representative, named on the profile as the relationships name them (issue 13
    # item 5): masked there when the person is a customer outside the viewer's scope. One who is
    # not a customer is shown as the company's registration records them (public data).
    legal_rep = customer.legal_rep
    for r in rels:
        if r.relation == "LEGAL_REP" and r.related_id == customer.pk:
            legal_rep = party(r.customer)["name"]
            break
    return {"relationships": relationships, "groups": groups, "legal_rep": legal_rep}


# ---------------------------------------------------------------- assignment


def staff_assignable_by(*, by: Staff, include_inactive: bool = False) -> QuerySet[Staff]:
    """Staff who can own customers and whom ``by`` may give customers to (their unit's subtree)."""
    qs = Staff.objects.filter(role__in=list(OWNER_ROLES)).select_related("unit")
    if not include_inactive:
        qs = qs.filter(is_active=True, leave_date__isnull=True)
    if by.role in BANKWIDE_ROLES:
        return qs.order_by("unit__path", "username")
    if by.unit is None:
        return qs.none()
    return qs.filter(unit__path__startswith=by.unit.path).order_by("unit__path", "username")


def _owner_gone_q() -> Q:
    today = timezone.localdate()
    return Q(primary_manager__is_active=False) | Q(primary_manager__leave_date__lte=today)


def reassignment_queue(*, staff: Staff) -> QuerySet[Customer]:
    """Customers whose (open) primary manager has left or been deactivated: never lost, queued."""
    return (
        with_standing(customers_visible_to(staff=staff))
        .filter(primary_manager__isnull=False)
        .filter(_owner_gone_q())
        .select_related("primary_manager", "branch")
        .order_by("-standing__aum", "pk")
    )


def customers_missing_owner(*, staff: Staff) -> QuerySet[Customer]:
    """Customers who must have an owner and do not (or whose owner has left).

    Every corporate customer with a loan account; every individual at or above
    ``QIAO["QUALITY_AUM_THRESHOLD"]`` AUM (seed 003: customers stay with the bank when a CM leaves).
    """
    loans = Account.objects.filter(
        customer=OuterRef("pk"), product__category=Category.LOAN
    ).exclude(status=AccountStatus.CLOSED)
    threshold = Decimal(settings.QIAO["QUALITY_AUM_THRESHOLD"])
    must = (Q(customer_type="C") & Exists(loans)) | Q(
        customer_type="P", standing__aum__gte=threshold
    )
    return (
        with_standing(customers_visible_to(staff=staff))
        .filter(must)
        .filter(Q(primary_manager__isnull=True) | _owner_gone_q())
        .select_related("primary_manager", "branch")
        .order_by("-standing__aum", "pk")
    )


# ---------------------------------------------------------------- saved groups


def saved_groups_for(*, staff: Staff) -> QuerySet[SavedGroup]:
    return SavedGroup.objects.filter(owner=staff).order_by("name")


def saved_group_get_for_staff(*, staff: Staff, group_id: int) -> SavedGroup:
    group = SavedGroup.objects.filter(owner=staff, pk=group_id).first()
    if group is None:
        raise Http404("No group matches the given query.")
    return group


def saved_group_customers(*, staff: Staff, group: SavedGroup) -> QuerySet[Customer]:
    """The customers of a saved group that ``staff`` may see today (scope applied on every use).

    A static group is its hand-picked members; a dynamic group is its filter, evaluated now.
    Campaigns resolve their target groups through this function.
    """
    if group.kind == SavedGroup.Kind.DYNAMIC:
        return customers_filter(staff=staff, filters=CustomerFilters.from_json(group.filters))
    return paged(
        with_standing(customers_visible_to(staff=staff))
        .filter(saved_groups=group)
        .select_related("primary_manager", "branch")
        .order_by(*_ordering("-aum", small_scope=True))  # a hand-picked group is small
    )
