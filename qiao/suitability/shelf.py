"""The product shelf, read side: the catalogue and its filters, one product's rate history, and the
customers in the viewer's scope who hold a product or are suited to it (docs/suitability.md,
"The shelf").

The customer lists go through :func:`qiao.customers.selectors.customers_visible_to` (the data
scope) and are bounded — the :data:`SHOWN` largest by AUM — so a product page costs a few indexed
queries at a million customers. Suitability is :func:`qiao.core.suitability.check` with each
customer's latest risk assessment; the database only narrows the candidates first (a superset:
customers with some assessment valid today at or above the product's level).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.http import Http404
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from qiao.core.suitability import (
    RATED_CATEGORIES,
    RULES,
    CustomerFacts,
    ProductFacts,
    Verdict,
    check,
    level_rank,
)
from qiao.core.vocab import SALE_STATUSES
from qiao.customers.models import Customer
from qiao.customers.selectors import (
    NARROW_SUBTREE,
    customers_visible_to,
    largest_first,
    largest_first_ids,
    scope_is_narrow,
    with_standing,
)
from qiao.org.models import Staff
from qiao.products.models import Account, AccountStatus, Product, ProductRate, RiskLevel
from qiao.suitability.assessments import latest_assessments
from qiao.suitability.models import Tolerance

#: How many holders and suited customers a product page (and the API) shows at most.
SHOWN = 50
#: How many of the largest customers in scope are looked at for the suited list (the bound that
#: keeps the page fast in a bank-wide scope; a CM's whole portfolio is smaller than this).
SUITED_CANDIDATES = 2000

#: Term bands of the filter: code → (label, shortest, longest) in days; ``OPEN`` = no term.
TERM_BANDS: dict[str, tuple[Any, int | None, int | None]] = {
    "OPEN": (_("No fixed term"), None, None),
    "U3M": (_("Up to 3 months"), 1, 92),
    "U1Y": (_("3 months to 1 year"), 93, 366),
    "O1Y": (_("Over 1 year"), 367, None),
}

SELLING = frozenset(SALE_STATUSES.having("selling"))


@dataclass(frozen=True)
class ShelfFilters:
    """The catalogue's filter (page and API). ``amount``: what the customer has to invest —
    products whose minimum amount is at most this (or have none)."""

    category: str = ""
    risk_level: str = ""
    motive: str = ""
    currency: str = ""
    term: str = ""
    amount: Decimal | None = None
    sale_status: str = ""
    q: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            f.name: str(getattr(self, f.name))
            for f in fields(self)
            if getattr(self, f.name) not in (None, "")
        }


def products_filter(*, filters: ShelfFilters) -> QuerySet[Product]:
    """The catalogue, filtered (no customer data: every staff role reads it)."""
    qs = Product.objects.all()
    if filters.category:
        qs = qs.filter(category=filters.category)
    if filters.risk_level:
        qs = qs.filter(risk_level=filters.risk_level)
    if filters.motive:
        # A |-separated list of codes: match the code as a whole item.
        m = filters.motive
        qs = qs.filter(
            Q(motives=m)
            | Q(motives__startswith=f"{m}|")
            | Q(motives__endswith=f"|{m}")
            | Q(motives__contains=f"|{m}|")
        )
    if filters.currency:
        qs = qs.filter(currency=filters.currency)
    if filters.term in TERM_BANDS:
        _label, low, high = TERM_BANDS[filters.term]
        if filters.term == "OPEN":
            qs = qs.filter(Q(term_days__isnull=True) | Q(term_days=0))
        else:
            qs = qs.filter(term_days__gte=low)
            if high is not None:
                qs = qs.filter(term_days__lte=high)
    if filters.amount is not None:
        qs = qs.filter(Q(min_amount__isnull=True) | Q(min_amount__lte=filters.amount))
    if filters.sale_status:
        qs = qs.filter(sale_status=filters.sale_status)
    if filters.q:
        qs = qs.filter(Q(code__icontains=filters.q) | Q(name__icontains=filters.q))
    return qs.order_by("category", "code")


def product_get(*, code: str) -> Product:
    """The product of ``code``; ``Http404`` if there is none."""
    product = Product.objects.filter(code=code).first() if "\x00" not in code else None
    if product is None:
        raise Http404("No product matches the given query.")
    return product


def product_rates(*, product: Product, limit: int = 100) -> list[ProductRate]:
    """The rate history, newest first (``limit`` rows)."""
    return list(ProductRate.objects.filter(product=product).order_by("-effective", "-id")[:limit])


def product_facts(product: Product) -> ProductFacts:
    return ProductFacts(
        code=product.code,
        category=product.category,
        risk_level=product.risk_level or "",
        private=product.private,
        name=product.name,
    )


#: The facts of a customer with no assessment.
NO_FACTS = CustomerFacts(customer_no="")


def customer_facts(customer_ids: Iterable[int]) -> dict[int, CustomerFacts]:
    """Each customer's suitability facts from their latest risk assessment
    (:func:`qiao.suitability.assessments.latest_assessments`, the one lookup); a customer without
    one gets empty facts, which :func:`check` answers ``NO_ASSESSMENT``."""
    ids = sorted(set(customer_ids))
    latest = latest_assessments(ids)
    out: dict[int, CustomerFacts] = {}
    for cid in ids:
        found = latest.get(cid)
        out[cid] = (
            CustomerFacts(
                customer_no="",
                tolerance=found.tolerance,
                assessment_valid_until=found.valid_until,
                qualified_investor=found.qualified_investor,
            )
            if found is not None
            else NO_FACTS
        )
    return out


def _open_accounts(product: Product) -> QuerySet[Account]:
    # Unordered: every use is a set, a sum or a probe of at most FEW_HOLDERS + 1 rows, and the
    # model's default order (open date, number) made PostgreSQL sort all of a common product's
    # accounts for the probe (~80 ms for 250,000 demand accounts, a third of the page).
    return Account.objects.filter(product=product).exclude(status=AccountStatus.CLOSED).order_by()


@dataclass(frozen=True)
class Holder:
    customer: Customer
    balance: Decimal
    verdict: Verdict


#: Up to this many open accounts of a product, its holders are found from the accounts (a rare
#: product); beyond, by walking the scope's largest customers (a common one: found at once).
FEW_HOLDERS = 5000
#: A subtree scope (outlet head, team lead) of at most this many customers has its product
#: holders found from its customers rather than from the bank-wide AUM index
#: (:func:`qiao.customers.selectors.scope_is_narrow`).
SMALL_SUBTREE = NARROW_SUBTREE


def product_holders(
    *,
    staff: Staff,
    product: Product,
    on: dt.date,
    few_holders: int = FEW_HOLDERS,
    small_subtree: int = SMALL_SUBTREE,
) -> tuple[list[Holder], bool]:
    """The :data:`SHOWN` largest customers in ``staff``'s scope with an open account of
    ``product``, each with their balance in it and whether the product still suits them (a
    holding above the customer's level is listed for review, never hidden); and whether there are
    more.

    Three ways to the same answer, chosen for speed (docs/suitability.md, "Speed"): from the
    product's accounts (at most ``few_holders``), from a subtree scope's customers (at most
    ``small_subtree``), or down the bank-wide AUM index. The thresholds are parameters so that a
    test can hold the three equal on a small bank."""
    qs = with_standing(customers_visible_to(staff=staff))
    narrow = scope_is_narrow(staff, small_subtree)
    few = list(_open_accounts(product).values_list("customer_id", flat=True)[: few_holders + 1])
    if len(few) <= few_holders:
        qs = qs.filter(pk__in=sorted(set(few)))
    else:
        qs = qs.filter(Exists(_open_accounts(product).filter(customer=OuterRef("pk"))))
        if narrow:
            # A common product in a CM's, an outlet's or a team's scope: from the scope's
            # customers (the ownership or branch index), each probed for an account, then the top
            # 51 sorted — not a walk of the bank-wide AUM index, which reads all 1 M entries when
            # the scope holds few. Ids first (index-only scans on PostgreSQL, migration customers
            # 0009), rows after.
            ids = list(largest_first(qs, narrow=True).values_list("pk", flat=True)[: SHOWN + 1])
            found = Customer.objects.select_related(
                "standing", "primary_manager", "branch"
            ).in_bulk(ids)
            return _holders(product, [found[c] for c in ids if c in found], on=on)
    shown = list(
        largest_first(qs, narrow=narrow).select_related("primary_manager", "branch")[: SHOWN + 1]
    )
    return _holders(product, shown, on=on)


def _holders(product: Product, shown: list[Customer], *, on: dt.date) -> tuple[list[Holder], bool]:
    more = len(shown) > SHOWN
    shown = shown[:SHOWN]
    balances = dict(
        _open_accounts(product)
        .filter(customer_id__in=[c.pk for c in shown])
        .values("customer_id")
        .annotate(total=Sum("balance"))
        .values_list("customer_id", "total")
    )
    facts = customer_facts(c.pk for c in shown)
    pf = product_facts(product)
    return [
        Holder(c, balances.get(c.pk) or Decimal(0), check(facts[c.pk], pf, on=on)) for c in shown
    ], more


def product_page_lists(
    *, staff: Staff, product: Product, on: dt.date
) -> tuple[list[Holder], bool, list[Customer]]:
    """The product page's two lists, :func:`product_holders` (with "more") and
    :func:`product_suited`, from one read of the scope's largest customers.

    Both lists walk the scope largest first: the :data:`SUITED_CANDIDATES` largest ids are read
    once, and one query tells which of them hold the product. When more than :data:`SHOWN` of
    them do, or when those are the whole scope, the holders are those, in that order — the same
    answer as :func:`product_holders` (the largest holders in scope are among the largest
    customers in scope); otherwise :func:`product_holders` finds them its own way. The suited
    list reuses the same ids and holdings. An outlet head's page read the outlet's 10,000
    customers twice, once for each list (docs/suitability.md, "Speed")."""
    top = largest_first_ids(staff=staff, limit=SUITED_CANDIDATES)
    held = set(
        _open_accounts(product).filter(customer_id__among=top).values_list("customer_id", flat=True)
    )
    largest = [c for c in top if c in held][: SHOWN + 1]
    # Enough holders among the largest, or the largest are the whole scope (a CM's portfolio):
    # the holders are found.
    if len(largest) > SHOWN or len(top) < SUITED_CANDIDATES:
        found = Customer.objects.select_related("standing", "primary_manager", "branch").in_bulk(
            largest
        )
        holders, more = _holders(product, [found[c] for c in largest if c in found], on=on)
    else:
        holders, more = product_holders(staff=staff, product=product, on=on)
    return holders, more, product_suited(staff=staff, product=product, on=on, top=(top, held))


def product_suited(
    *,
    staff: Staff,
    product: Product,
    on: dt.date,
    top: tuple[list[int], set[int]] | None = None,
) -> list[Customer]:
    """Up to :data:`SHOWN` customers in ``staff``'s scope, largest first, who do not hold
    ``product`` and to whom it may be put (:func:`check` with each one's latest assessment):
    among the :data:`SUITED_CANDIDATES` largest customers in scope. Nobody for a product no
    longer on sale.

    A bounded number of indexed queries whatever the scope: the candidates' ids (largest first),
    then, a growing slice of them at a time (100, 200, 400, 800 …, largest first), which of them
    hold it and their assessments, until :data:`SHOWN` are found or the candidates run out; then
    the customers shown. A product most customers may buy stops after the first slice or two
    (reading every candidate's assessment was 3 × 900-id queries, ~70 ms at a million).

    ``top``: the candidates' ids and which of them hold the product, when the caller has read
    them already (:func:`product_page_lists`)."""
    if product.sale_status not in SELLING:
        return []
    pf = product_facts(product)
    if product.category in RATED_CATEGORIES and level_rank(product.risk_level) == 0:
        return []  # unrated: put to no one (check's UNRATED)
    if top is None:
        ids = largest_first_ids(staff=staff, limit=SUITED_CANDIDATES)
        known: set[int] | None = None
    else:
        ids, known = top
    rated = product.category in RATED_CATEGORIES
    chosen: list[int] = []
    start, size = 0, SUITED_FIRST_SLICE
    while start < len(ids) and len(chosen) < SHOWN:
        part = ids[start : start + size]
        start, size = start + len(part), size * 2
        held = (
            known
            if known is not None
            else set(
                _open_accounts(product)
                .filter(customer_id__among=part)
                .values_list("customer_id", flat=True)
            )
        )
        free = [c for c in part if c not in held]
        facts = customer_facts(free) if rated and free else {}
        chosen += [c for c in free if not rated or check(facts[c], pf, on=on)]
    chosen = chosen[:SHOWN]
    found = Customer.objects.select_related("standing", "primary_manager", "branch").in_bulk(chosen)
    return [found[c] for c in chosen if c in found]


#: The first slice of the suited list's candidates looked at (then twice as many each time).
SUITED_FIRST_SLICE = 100


def verdict_text(verdict: Verdict) -> str:
    """The blocking rule in the reader's language (the rule's text, translated; levels and
    tolerances by their names)."""
    if verdict.suitable:
        return ""
    params = dict(verdict.params)
    if params.get("level"):
        params["level"] = str(dict(RiskLevel.choices).get(params["level"], params["level"]))
    if params.get("tolerance"):
        names = dict(Tolerance.choices)
        params["tolerance"] = str(names.get(params["tolerance"], params["tolerance"]))
    try:
        return gettext(RULES[verdict.rule]) % params
    except (KeyError, TypeError, ValueError):
        return gettext(RULES[verdict.rule])


# ---------------------------------------------------------------- triggers for the work list


@dataclass(frozen=True)
class ShelfNews:
    """Something on the shelf worth telling the customer managers: a new product on sale
    (``PRODUCT_NEW``) or a rate change (``RATE_CHANGE``), with the reason's parameters."""

    product: Product
    reason_code: str
    params: dict[str, str]
    #: names the cause: one item per (news, customer), ever
    key: str


def shelf_news(*, day: dt.date, lookback_days: int) -> list[ShelfNews]:
    """Products on sale that are new (a new issue, or on sale with an issue date in the last
    ``lookback_days``) and rate changes effective in the last ``lookback_days`` (a rate that
    follows another: a product's first rate is no change)."""
    since = day - dt.timedelta(days=lookback_days)
    selling = Product.objects.filter(sale_status__in=sorted(SELLING))
    out: list[ShelfNews] = []
    new = selling.filter(
        Q(sale_status="NEW_ISSUE") | Q(issue_date__gt=since, issue_date__lte=day)
    ).exclude(sale_status="CLOSING")
    for p in new:
        out.append(ShelfNews(p, "PRODUCT_NEW", {"product": p.name}, f"NEW:{p.code}"))
    recent = list(
        ProductRate.objects.filter(
            effective__gt=since, effective__lte=day, product__in=selling
        ).select_related("product")
    )
    if recent:
        history: dict[int, list[ProductRate]] = {}
        for r in ProductRate.objects.filter(
            product_id__in={r.product_id for r in recent}, effective__lte=day
        ).order_by("product_id", "effective", "id"):
            history.setdefault(r.product_id, []).append(r)
        for rates in history.values():
            for before, after in zip(rates, rates[1:], strict=False):
                if after.effective <= since or after.rate == before.rate:
                    continue
                p = next(r.product for r in recent if r.product_id == after.product_id)
                params = {
                    "product": p.name,
                    "old": str(before.rate.normalize()),
                    "new": str(after.rate.normalize()),
                    "date": after.effective.isoformat(),
                }
                out.append(ShelfNews(p, "RATE_CHANGE", params, f"RATE:{p.code}:{after.pk}"))
    return out


def suited_top_customers(
    *, products: Sequence[Product], tiers: Sequence[str], on: dt.date
) -> dict[int, list[tuple[int, int, Decimal]]]:
    """Product id → the customers of ``tiers`` (with a primary manager, not holding it) it may
    be put to (:func:`check`, each customer's latest assessment): ``(customer, manager, AUM)``."""
    if not products:
        return {}
    top = list(
        Customer.objects.filter(standing__tier__in=list(tiers), primary_manager__isnull=False)
        .values_list("pk", "primary_manager_id", "standing__aum")
        .iterator(chunk_size=20000)
    )
    facts = customer_facts(cid for cid, _pm, _aum in top)
    holders: dict[int, set[int]] = {p.pk: set() for p in products}
    held = _open_accounts_of(products).filter(customer__standing__tier__in=list(tiers))
    for pid, cid in held.values_list("product_id", "customer_id").iterator(chunk_size=20000):
        holders[pid].add(cid)
    out: dict[int, list[tuple[int, int, Decimal]]] = {}
    for p in products:
        pf = product_facts(p)
        out[p.pk] = [
            (cid, pm, Decimal(aum or 0))
            for cid, pm, aum in top
            if cid not in holders[p.pk] and check(facts[cid], pf, on=on)
        ]
    return out


def _open_accounts_of(products: Sequence[Product]) -> QuerySet[Account]:
    return (
        Account.objects.filter(product__in=list(products))
        .exclude(status=AccountStatus.CLOSED)
        .order_by()
    )
