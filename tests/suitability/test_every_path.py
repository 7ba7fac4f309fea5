"""Suitability is a hard block on every path that puts a product to a customer (issue 14 item 3).

Over customer level × product level × assessment age × age × product kind (and private / qualified),
no path gives an unsuitable product: the nightly next-best products, the 360's suggestions (a
suggestion stored while the assessment was valid and read after it expired included), the
cross-sell on the 360, a marketing plan (refused with the rule's text and audited as BLOCKED), and
the API's suggestions. What decides is :func:`qiao.core.suitability.check` on the day.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qiao.analytics.scoring import load_scoring_config
from qiao.analytics.suggest import SuggestParams, next_best_products
from qiao.api.services import api_token_issue
from qiao.audit.models import Action, AuditEvent
from qiao.core.errors import ApplicationError
from qiao.core.suitability import CustomerFacts, ProductFacts, check
from qiao.core.vocab import CATEGORIES, RISK_LEVELS, RISK_TOLERANCES
from qiao.engagement.services import plan_create
from qiao.products.models import Product
from qiao.suitability.models import RiskAssessment, Suggestion
from qiao.suitability.suggestions import cross_sell_suitable, suggestions_shown
from tests.workbench.conftest import _fast_hasher, bank  # noqa: F401

TODAY = timezone.localdate()
CFG = load_scoring_config()
#: Kinds of product a suggestion may name (deposits, investment products of each category, loans).
KINDS = [c for c in CATEGORIES.codes if c not in ("CARD", "SETTLEMENT")]

case = st.fixed_dictionaries(
    {
        "tolerance": st.sampled_from(["", *RISK_TOLERANCES.codes]),
        # Assessment age in days: fresh, nearly a year, just expired, long expired.
        "age_days": st.sampled_from([0, 30, 364, 365, 366, 400, 900]),
        "customer_age": st.sampled_from([30, 64, 65, 80]),
        "qualified": st.booleans(),
        "category": st.sampled_from(KINDS),
        "level": st.sampled_from(["", *RISK_LEVELS.codes]),
        "private": st.booleans(),
    }
)


def _facts(c: dict) -> tuple[CustomerFacts, ProductFacts]:
    assessed = TODAY - dt.timedelta(days=c["age_days"])
    until = assessed + dt.timedelta(days=364)  # valid one year: the last day is 364 days on
    customer = CustomerFacts(
        customer_no="X",
        tolerance=c["tolerance"],
        assessment_valid_until=until if c["tolerance"] else None,
        qualified_investor=c["qualified"],
    )
    product = ProductFacts(
        code="P", category=c["category"], risk_level=c["level"], private=c["private"]
    )
    return customer, product


def _setup(bank, c: dict) -> tuple[Product, object]:  # noqa: F811
    x = bank.x
    x.birth_date = TODAY.replace(year=TODAY.year - c["customer_age"])
    x.save(update_fields=["birth_date"])
    if c["tolerance"]:
        assessed = TODAY - dt.timedelta(days=c["age_days"])
        RiskAssessment.objects.create(
            customer=x,
            tolerance=c["tolerance"],
            assessed_on=assessed,
            valid_until=assessed + dt.timedelta(days=364),
            source="BRANCH",
            customer_signed=True,
            qualified_investor=c["qualified"],
            elderly=c["customer_age"] >= 65,
        )
    product = Product.objects.create(
        code="PROP1",
        name="被测产品",
        category=c["category"],
        seller_risk_level=c["level"],
        private=c["private"],
        sale_status="ON_SALE",
        motives="ACCUMULATE|APPRECIATE|LOAN",
    )
    return product, x


def _nightly(c: dict) -> list[str]:
    """The analytics' answer for one customer and the one product."""
    customer, product = _facts(c)
    customers = pd.DataFrame(
        {
            "bal_DEMAND": [2_000_000.0],
            "liquidity": [0.9],
            "loan_balance": [1_000_000.0],
            "amt_large_in_30d": [500_000.0],
            "maturing_amount": [500_000.0],
            "restricted_flag": [0],
            "stage": ["MATURITY"],
            "motive": ["APPRECIATE"],
            "need_mode": ["ACTIVE"],
            "tolerance": [customer.tolerance],
            "valid_until": [customer.assessment_valid_until],
            "qualified_investor": [customer.qualified_investor],
        },
        index=pd.Index(["X"], name="customer_no"),
    )
    shelf = pd.DataFrame(
        {
            "product_code": ["P"],
            "category": [product.category],
            "risk_level": [product.risk_level],
            "private": [product.private],
            "sale_status": ["ON_SALE"],
            "motives": ["APPRECIATE"],
            "min_amount": [None],
        }
    )
    out, _diag = next_best_products(
        customers=customers,
        shelf=shelf,
        holdings=pd.DataFrame(columns=["customer_no", "product_code"]),
        rules=None,
        as_of=TODAY,
        margins=CFG["contribution"]["margin"],
        params=SuggestParams(holdback_share=0.0),
    )
    return list(out["product_code"])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(c=case)
@pytest.mark.django_db
def test_no_path_gives_an_unsuitable_product(bank, client, c):  # noqa: F811
    customer_facts, product_facts = _facts(c)
    suitable = bool(check(customer_facts, product_facts, on=TODAY))

    # 1. the nightly scoring: suggested only when suitable
    if not suitable:
        assert _nightly(c) == []

    owner = bank.staff["cm_owner"]
    with transaction.atomic():
        product, x = _setup(bank, c)
        # The stored (Django-side) facts say the same as the analytics' facts.
        assert bool(check(customer_facts, product_facts, on=TODAY)) == suitable
        # 2. the 360's suggestions: a suggestion stored the night before (when the assessment may
        # still have been valid) is shown only if it is suitable today.
        Suggestion.objects.create(
            customer=x,
            product=product,
            as_of=TODAY - dt.timedelta(days=1),
            rank=1,
            reason_code="NOT_HELD",
            reason_params={"category": c["category"]},
            expected_gain=Decimal("10"),
        )
        shown, blocked = suggestions_shown(x)
        assert [s.product.code for s in shown] == (["PROP1"] if suitable else [])
        assert [s.product.code for s in blocked] == ([] if suitable else ["PROP1"])
        assert all(s.blocked_text for s in blocked)
        # 3. the 360's cross-sell (a category, or the product itself)
        for item in (c["category"], "PROP1"):
            kept = cross_sell_suitable(x, [{"item": item}])
            if not suitable and item == "PROP1":
                assert kept == []
            for k in kept:
                fits = [
                    p
                    for p in Product.objects.filter(sale_status="ON_SALE")
                    if p.code == k["item"] or p.category == k["item"]
                ]
                assert any(
                    check(
                        customer_facts,
                        ProductFacts(p.code, p.category, p.risk_level, p.private),
                        on=TODAY,
                    )
                    for p in fits
                )
        # 4. the API
        raw, _token = api_token_issue(staff=owner)
        answer = client.get(
            f"/api/customers/{x.customer_no}/suggestions", HTTP_AUTHORIZATION=f"Bearer {raw}"
        )
        assert answer.status_code == 200
        codes = [i["product_code"] for i in answer.json()["items"]]
        assert codes == (["PROP1"] if suitable else [])
        # 5. a marketing plan with the product: refused with the rule, audited as BLOCKED
        blocked_before = AuditEvent.objects.filter(action=Action.BLOCKED).count()
        try:
            plan_create(
                owner=owner,
                data={
                    "title": "测试",
                    "period": "QUARTERLY",
                    "start": TODAY,
                    "end": TODAY + dt.timedelta(days=80),
                    "target_amount": Decimal("1000"),
                    "baseline_amount": Decimal("0"),
                },
                customer=x,
                products=[product],
            )
            planned = True
        except ApplicationError as exc:
            planned = False
            assert str(exc.message)
            assert AuditEvent.objects.filter(action=Action.BLOCKED).count() == blocked_before + 1
        assert planned == suitable
        transaction.set_rollback(True)
