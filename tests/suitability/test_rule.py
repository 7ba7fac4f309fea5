"""The one suitability function: nothing unsuitable ever passes, and the vectorised form used by
the nightly scoring gives exactly the answers of the one-pair form."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qiao.core.suitability import (
    DECREASE,
    RATED_CATEGORIES,
    RULE_CODES,
    CustomerFacts,
    ProductFacts,
    check,
    effective_level,
    level_rank,
    suitable_mask,
)
from qiao.core.vocab import CATEGORIES, RISK_LEVELS, RISK_TOLERANCES

DAY = dt.date(2026, 12, 5)

customers = st.builds(
    CustomerFacts,
    customer_no=st.just("P1"),
    tolerance=st.sampled_from(["", *RISK_TOLERANCES.codes]),
    # Assessment age: none, expired long ago, expiring today, valid for a while.
    assessment_valid_until=st.one_of(
        st.none(), st.integers(-800, 400).map(lambda d: DAY + dt.timedelta(days=d))
    ),
    qualified_investor=st.booleans(),
)
products = st.builds(
    ProductFacts,
    code=st.just("X1"),
    category=st.sampled_from(CATEGORIES.codes),
    risk_level=st.sampled_from(["", *RISK_LEVELS.codes]),
    private=st.booleans(),
)


@settings(max_examples=600, deadline=None)
@given(customers, products, st.integers(18, 100))
def test_nothing_unsuitable_passes(customer, product, age):
    verdict = check(customer, product, on=DAY)
    if product.category not in RATED_CATEGORIES:
        assert verdict.suitable  # deposits, loans … carry no investment rating
        return
    ok = (
        level_rank(product.risk_level) > 0
        and customer.tolerance != ""
        and customer.assessment_valid_until is not None
        and customer.assessment_valid_until >= DAY
        and level_rank(product.risk_level) <= level_rank(customer.tolerance, RISK_TOLERANCES)
        and (customer.qualified_investor or not product.private)
    )
    # Age (65+ is flagged on the assessment, bank policy) never unblocks anything.
    assert verdict.suitable == ok, (customer, product, age, verdict)
    if not ok:
        assert verdict.rule in RULE_CODES and verdict.text
    # A redemption or reduction is never blocked.
    assert check(customer, product, on=DAY, action=DECREASE).suitable


@settings(max_examples=200, deadline=None)
@given(st.lists(customers, min_size=1, max_size=8), st.lists(products, min_size=1, max_size=8))
def test_the_vectorised_form_agrees(cs, ps):
    nat = np.datetime64("NaT", "D")
    got = suitable_mask(
        tolerance=np.array([level_rank(c.tolerance, RISK_TOLERANCES) for c in cs])[:, None],
        valid_until=np.array(
            [
                np.datetime64(c.assessment_valid_until, "D") if c.assessment_valid_until else nat
                for c in cs
            ]
        )[:, None],
        qualified=np.array([c.qualified_investor for c in cs])[:, None],
        category_rated=np.array([p.category in RATED_CATEGORIES for p in ps])[None, :],
        level=np.array([level_rank(p.risk_level) for p in ps])[None, :],
        private=np.array([p.private for p in ps])[None, :],
        on=DAY,
    )
    for i, c in enumerate(cs):
        for j, p in enumerate(ps):
            verdict = check(c, p, on=DAY)
            want = -1 if verdict.suitable else RULE_CODES.index(verdict.rule)
            assert got[i, j] == want, (c, p)


def test_the_rules_in_words():
    c2 = CustomerFacts("P1", "C2", DAY + dt.timedelta(days=100))
    fund = ProductFacts("F3", "FUND", "R3", name="稳健基金")
    verdict = check(c2, fund, on=DAY)
    assert verdict.rule == "ABOVE_TOLERANCE"
    assert verdict.text == (
        "稳健基金 is rated R3, above the customer's assessed tolerance C2: it is not suitable."
    )
    expired = CustomerFacts("P1", "C5", DAY - dt.timedelta(days=1))
    assert check(expired, ProductFacts("W2", "WEALTH", "R2"), on=DAY).rule == "ASSESSMENT_EXPIRED"
    assert check(CustomerFacts("P1"), ProductFacts("W1", "WEALTH", "R1"), on=DAY).rule == (
        "NO_ASSESSMENT"
    )
    assert check(CustomerFacts("P1"), ProductFacts("TD", "TIME"), on=DAY).suitable


def test_the_higher_rating_applies():
    assert effective_level("R2", "R3") == "R3"
    assert effective_level("R4", "") == "R4"
    assert effective_level("", None) == ""
