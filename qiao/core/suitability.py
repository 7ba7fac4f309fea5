"""Suitability (适当性): may this product be put to this customer? One function for every path.

The 2025 Product Suitability Measures (NFRA Order 2025 No. 7, in force 2026-02-01; see
docs/suitability.md and ../shared/domain/compliance.md §4) make a product whose risk level is above
the customer's assessed tolerance unsuitable (Art. 12), forbid actively promoting it (Art. 13(3))
and forbid selling first and assessing afterwards (Art. 13(1)). Qiao applies that as a hard block
with no override (Art. 39's exception was not found): every suggestion, cross-sell, plan, work-list
item, campaign target and API answer that puts a product to a customer goes through
:func:`check` (one pair) or :func:`suitable_mask` (many, the nightly scoring) — the two are held
equal by a property test.

The block stops what increases the customer's exposure (a suggestion, a proposal, a purchase); it
never stops a redemption or a reduction (:data:`DECREASE`).

Rules, in the order they are tried (the first that blocks is the answer):

1. ``UNRATED`` — a product of a rated category (``CATEGORIES.having("rated")``: wealth, funds,
   bonds, insurance, precious metals) without a risk level is put to nobody.
2. ``NO_ASSESSMENT`` — a rated product needs the customer's risk assessment (2011 Measures
   Art. 28: before the first purchase).
3. ``ASSESSMENT_EXPIRED`` — … one still valid on the day (validity one year by default: industry
   practice, configurable; not a regulation).
4. ``ABOVE_TOLERANCE`` — the product's level R*n* must not exceed the customer's C*n* (C*n* may buy
   R*n* and below; where issuer and seller ratings differ, the higher applies:
   :func:`effective_level`).
5. ``NOT_QUALIFIED`` — a private (私募) product only to a customer shown to be a qualified investor
   (资管新规).

Deposits, loans and other unrated categories pass: they carry no investment risk rating. Pure
Python and numpy, no Django: the analytics use it too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qiao.core.vocab import CATEGORIES, RISK_LEVELS, RISK_TOLERANCES, gettext_noop

INCREASE = "INCREASE"  # a suggestion, a proposal, a plan, a campaign target, a purchase
DECREASE = "DECREASE"  # a redemption or a reduction: never blocked

RATED_CATEGORIES = frozenset(CATEGORIES.having("rated"))

#: Rule code → English text (translated on the Django side, ``qiao.products.suitability``).
RULES: dict[str, str] = {
    "UNRATED": gettext_noop(
        "%(product)s has no risk level: an investment product is put to no one until it is rated."
    ),
    "NO_ASSESSMENT": gettext_noop(
        "%(product)s is rated %(level)s and the customer has no risk assessment: assess first "
        "(selling first and assessing afterwards is forbidden)."
    ),
    "ASSESSMENT_EXPIRED": gettext_noop(
        "%(product)s is rated %(level)s and the customer's risk assessment expired on "
        "%(expired)s: re-assess first."
    ),
    "ABOVE_TOLERANCE": gettext_noop(
        "%(product)s is rated %(level)s, above the customer's assessed tolerance %(tolerance)s: "
        "it is not suitable."
    ),
    "NOT_QUALIFIED": gettext_noop(
        "%(product)s is a private product: only for a customer shown to be a qualified investor."
    ),
}
#: Codes in the order of :data:`RULES` (a vectorised answer is an index into this, -1 = suitable).
RULE_CODES: tuple[str, ...] = tuple(RULES)


def level_rank(code: str | None, vocabulary: Any = RISK_LEVELS) -> int:
    """R1 → 1 … R5 → 5 (C1 → 1 … with ``RISK_TOLERANCES``); 0 for none."""
    if not code or code not in vocabulary:
        return 0
    return int(vocabulary.rank(code)) + 1


def effective_level(issuer: str | None, seller: str | None) -> str:
    """The level that applies when the issuer's and the seller's ratings differ: the higher."""
    ranks = [r for r in (level_rank(issuer), level_rank(seller)) if r]
    return RISK_LEVELS.codes[max(ranks) - 1] if ranks else ""


@dataclass(frozen=True)
class ProductFacts:
    code: str
    category: str
    risk_level: str = ""  # the effective level, R1–R5, or "" for none
    private: bool = False
    name: str = ""


@dataclass(frozen=True)
class CustomerFacts:
    customer_no: str
    tolerance: str = ""  # C1–C5 of the latest assessment, "" for none
    assessment_valid_until: dt.date | None = None
    qualified_investor: bool = False


@dataclass(frozen=True)
class Verdict:
    suitable: bool
    rule: str = ""  # the code of the rule that blocked, "" when suitable
    params: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.suitable

    @property
    def text(self) -> str:
        """The English text (pages translate :data:`RULES` themselves)."""
        return RULES[self.rule] % self.params if self.rule else ""


SUITABLE = Verdict(True)


def check(
    customer: CustomerFacts,
    product: ProductFacts,
    *,
    on: dt.date,
    action: str = INCREASE,
) -> Verdict:
    """Whether ``product`` may be put to ``customer`` on day ``on`` (module docstring)."""
    if action == DECREASE or product.category not in RATED_CATEGORIES:
        return SUITABLE
    level = level_rank(product.risk_level)
    params = {"product": product.name or product.code, "level": product.risk_level}
    if level == 0:
        return Verdict(False, "UNRATED", params)
    tolerance = level_rank(customer.tolerance, RISK_TOLERANCES)
    if tolerance == 0:
        return Verdict(False, "NO_ASSESSMENT", params)
    until = customer.assessment_valid_until
    if until is None or until < on:
        expired = until.isoformat() if until else ""
        return Verdict(False, "ASSESSMENT_EXPIRED", {**params, "expired": expired})
    if level > tolerance:
        return Verdict(False, "ABOVE_TOLERANCE", {**params, "tolerance": customer.tolerance})
    if product.private and not customer.qualified_investor:
        return Verdict(False, "NOT_QUALIFIED", params)
    return SUITABLE


def suitable_products(
    customer: CustomerFacts, products: Iterable[ProductFacts], *, on: dt.date
) -> list[ProductFacts]:
    """The products of ``products`` that may be put to ``customer`` (order kept)."""
    return [p for p in products if check(customer, p, on=on)]


def suitable_mask(
    *,
    tolerance: np.ndarray,
    valid_until: np.ndarray,
    qualified: np.ndarray,
    category_rated: np.ndarray,
    level: np.ndarray,
    private: np.ndarray,
    on: dt.date,
) -> np.ndarray:
    """The blocking rule per (customer, product) pair, vectorised: -1 where suitable, else the
    index of the rule in :data:`RULE_CODES` — the same answers as :func:`check`.

    Customer arrays (``tolerance`` rank 0–5, ``valid_until`` as ``datetime64[D]`` with NaT for
    none, ``qualified`` bool) and product arrays (``category_rated`` bool, ``level`` rank 0–5,
    ``private`` bool) are broadcast against each other: pass customers as a column (``[:, None]``)
    and products as a row for the full matrix, or aligned 1-D arrays for given pairs.
    """
    day = np.datetime64(on, "D")
    tolerance = np.asarray(tolerance)
    level = np.asarray(level)
    until = np.asarray(valid_until, dtype="datetime64[D]")
    expired = np.isnat(until) | (until < day)
    blocks = [
        level == 0,
        tolerance == 0,
        expired,
        level > tolerance,
        np.asarray(private) & ~np.asarray(qualified),
    ]
    shape = np.broadcast_shapes(*(np.shape(b) for b in blocks), np.shape(category_rated))
    out = np.full(shape, -1, dtype=np.int8)
    rated = np.broadcast_to(np.asarray(category_rated, dtype=bool), shape)
    # The first rule that blocks wins: fill from the last rule to the first.
    for index in range(len(blocks) - 1, -1, -1):
        hit = np.broadcast_to(blocks[index], shape) & rated
        out = np.where(hit, np.int8(index), out)
    return out
