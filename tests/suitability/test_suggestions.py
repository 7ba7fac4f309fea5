"""The next-best products (issue 14 item 4): the analytics' ranking and hold-back, storing them
(idempotent, outcomes kept), the 360's section and the CM's outcome (permission, scope, reason,
audit), the work-list item where money comes free, and the analyst's evaluation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from qiao.analytics.scoring import load_scoring_config
from qiao.analytics.suggest import HOLDBACK, SuggestParams, holdback_mask, next_best_products
from qiao.audit.models import Action, AuditEvent
from qiao.core.errors import ApplicationError
from qiao.engagement.models import WorkItem, WorkKind
from qiao.engagement.worklist import worklist_generate
from qiao.products.models import Account, Product
from qiao.suitability.models import RiskAssessment, Suggestion
from qiao.suitability.suggestions import (
    suggestion_decide,
    suggestion_evaluation,
    suggestions_store,
)
from tests.workbench.conftest import _fast_hasher, bank, login  # noqa: F401

TODAY = timezone.localdate()
CFG = load_scoring_config()


def _customers(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "bal_DEMAND": np.full(n, 200_000.0),
            "liquidity": np.full(n, 0.9),
            "maturing_amount": np.where(np.arange(n) % 2 == 0, 100_000.0, 0.0),
            "motive": "APPRECIATE",
            "need_mode": "ACTIVE",
            "stage": "MATURITY",
            "tolerance": "C3",
            "valid_until": TODAY + dt.timedelta(days=100),
            "qualified_investor": False,
        },
        index=pd.Index([f"P{i:07d}" for i in range(n)], name="customer_no"),
    )


SHELF = pd.DataFrame(
    {
        "product_code": ["TD", "WM2", "WM3", "FD4", "PRV", "OLD", "BND1"],
        "category": ["TIME", "WEALTH", "WEALTH", "FUND", "WEALTH", "WEALTH", "BOND"],
        "risk_level": ["", "R2", "R3", "R4", "R1", "R1", "R1"],
        "private": [False, False, False, False, True, False, False],
        "sale_status": [
            "ON_SALE",
            "ON_SALE",
            "NEW_ISSUE",
            "ON_SALE",
            "ON_SALE",
            "CLOSED",
            "CLOSING",
        ],
        "motives": ["ACCUMULATE", "APPRECIATE", "APPRECIATE", "APPRECIATE", "", "", ""],
        "min_amount": [None, 10_000, 10_000, 1_000, 1_000, None, 5_000_000],
    }
)


def _run(customers: pd.DataFrame, **kw) -> pd.DataFrame:
    out, _diag = next_best_products(
        customers=customers,
        shelf=SHELF,
        holdings=pd.DataFrame({"customer_no": ["P0000000"], "product_code": ["TD"]}),
        rules=None,
        as_of=TODAY,
        margins=CFG["contribution"]["margin"],
        params=SuggestParams(**kw),
    )
    return out


def test_top_three_suitable_selling_not_held_ranked_by_gain():
    out = _run(_customers(40), holdback_share=0.0)
    assert set(out["rank"]) == {1, 2, 3}
    # never above C3, never private to a non-qualified investor, never closed, never held, never
    # below the minimum amount
    assert not out["product_code"].isin(["FD4", "PRV", "OLD", "BND1"]).any()
    assert not ((out["customer_no"] == "P0000000") & (out["product_code"] == "TD")).any()
    for _no, rows in out.groupby("customer_no"):
        gains = rows.sort_values("rank")["expected_gain"].to_numpy()
        assert (np.diff(gains) <= 0).all()
    first = out[(out["customer_no"] == "P0000000") & (out["rank"] == 1)].iloc[0]
    assert first["reason_code"] == "MATURITY"
    assert first["reason_params"] == '{"amount":100000,"days":30}'
    assert first["money_free"] == 100_000.0
    odd = out[out["customer_no"] == "P0000001"]
    assert set(odd["reason_code"]) <= {"MOTIVE", "IDLE"}
    assert odd["money_free"].isna().all()


def test_the_hold_back_is_five_percent_the_same_customers_and_gets_a_random_suitable_product():
    nos = [f"P{i:07d}" for i in range(20_000)]
    held = holdback_mask(nos, share=0.05, key="qiao-suggest-v01")
    assert abs(held.mean() - 0.05) < 0.006
    assert (
        held == holdback_mask(list(reversed(nos)), share=0.05, key="qiao-suggest-v01")[::-1]
    ).all()
    out = _run(_customers(400))
    back = set(
        np.asarray(_customers(400).index)[
            holdback_mask(_customers(400).index, share=0.05, key="qiao-suggest-v01")
        ]
    )
    shown = out[out["rank"] > 0]
    assert back and not shown["customer_no"].isin(back).any()
    control = out[out["rank"] == 0]
    assert set(control["customer_no"]) == back
    assert (control["reason_code"] == HOLDBACK).all()
    assert control["product_code"].isin(["TD", "WM2", "WM3"]).all()


@pytest.fixture
def stored(bank):  # noqa: F811
    x = bank.x
    RiskAssessment.objects.create(
        customer=x,
        tolerance="C3",
        assessed_on=TODAY - dt.timedelta(days=10),
        valid_until=TODAY + dt.timedelta(days=300),
        source="BRANCH",
        customer_signed=True,
    )
    wm = Product.objects.create(
        code="WM2", name="稳享理财", category="WEALTH", seller_risk_level="R2"
    )
    td = Product.objects.create(code="TD3", name="三年定期", category="TIME")
    frame = pd.DataFrame(
        {
            "customer_no": [x.customer_no, x.customer_no],
            "product_code": ["WM2", "TD3"],
            "rank": [1, 2],
            "reason_code": ["MATURITY", "IDLE"],
            "reason_params": ['{"amount":100000,"days":30}', '{"pct":90,"amount":200000}'],
            "expected_gain": [900.0, 120.0],
            "money_free": [100_000.0, np.nan],
        }
    )
    id_of = pd.Series({x.customer_no: x.pk}, dtype="Int64")
    assert suggestions_store(frame, as_of=TODAY, id_of=id_of) == 2
    return x, wm, td, frame, id_of


def test_storing_is_idempotent_and_keeps_decided_rows(stored, bank):  # noqa: F811
    x, wm, _td, frame, id_of = stored
    s = Suggestion.objects.get(customer=x, product=wm)
    suggestion_decide(
        by=bank.staff["cm_owner"], suggestion_id=s.pk, status="DECLINED", decline_reason="RATE"
    )
    assert suggestions_store(frame, as_of=TODAY, id_of=id_of) == 1
    assert Suggestion.objects.filter(customer=x, as_of=TODAY).count() == 2
    assert Suggestion.objects.get(pk=s.pk).status == "DECLINED"


def test_deciding_needs_the_permission_the_scope_and_a_reason(stored, bank):  # noqa: F811
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    x, wm, _td, _f, _i = stored
    s = Suggestion.objects.get(customer=x, product=wm)
    with pytest.raises(PermissionDenied):
        suggestion_decide(by=bank.staff["head_office"], suggestion_id=s.pk, status="TAKEN")
    with pytest.raises(Http404):
        suggestion_decide(by=bank.staff["cm_other"], suggestion_id=s.pk, status="TAKEN")
    with pytest.raises(ApplicationError):
        suggestion_decide(by=bank.staff["cm_owner"], suggestion_id=s.pk, status="DECLINED")
    suggestion_decide(by=bank.staff["cm_owner"], suggestion_id=s.pk, status="TAKEN")
    event = AuditEvent.objects.filter(action=Action.SUGGESTION).latest("id")
    assert event.customer_no == x.customer_no and event.detail["to"] == "TAKEN"


def test_taking_up_a_product_no_longer_suitable_is_blocked(stored, bank):  # noqa: F811
    x, wm, _td, _f, _i = stored
    RiskAssessment.objects.filter(customer=x).update(valid_until=TODAY - dt.timedelta(days=1))
    s = Suggestion.objects.get(customer=x, product=wm)
    with pytest.raises(ApplicationError):
        suggestion_decide(by=bank.staff["cm_owner"], suggestion_id=s.pk, status="TAKEN")
    assert AuditEvent.objects.filter(action=Action.BLOCKED, customer_no=x.customer_no).exists()
    assert Suggestion.objects.get(pk=s.pk).status == "OPEN"


def test_the_360_shows_them_and_records_an_outcome_by_htmx(stored, bank, login):  # noqa: F811
    x, wm, td, _f, _i = stored
    client = login("cm_owner")
    page = client.get(f"/customers/{x.customer_no}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    assert "稳享理财" in html and "10.00万元 30 天内到期" in html
    s = Suggestion.objects.get(customer=x, product=td)
    answer = client.post(
        f"/suggestions/{s.pk}/decide/",
        {"status": "NOT_NOW"},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200 and 'id="suggestions"' in answer.content.decode()
    assert Suggestion.objects.get(pk=s.pk).status == "NOT_NOW"


def test_money_coming_free_puts_the_suggestion_on_the_work_list(stored, bank):  # noqa: F811
    x, wm, _td, _f, _i = stored
    worklist_generate(day=TODAY)
    item = WorkItem.objects.get(kind=WorkKind.MONEY_FREE, customer=x)
    assert item.staff == bank.staff["cm_owner"] and item.reason_params["product_code"] == "WM2"
    # the assessment expires: the item goes, none is made again
    RiskAssessment.objects.filter(customer=x).update(valid_until=TODAY - dt.timedelta(days=1))
    worklist_generate(day=TODAY)
    assert not WorkItem.objects.filter(kind=WorkKind.MONEY_FREE, customer=x, status="OPEN").exists()


def test_the_evaluation_says_when_the_data_is_too_thin(stored, bank):  # noqa: F811
    x, wm, _td, _f, _i = stored
    Account.objects.create(
        account_no="A-WM2",
        customer=x,
        product=wm,
        open_date=TODAY + dt.timedelta(days=1),
        balance=Decimal("100000"),
    )
    ev = suggestion_evaluation()
    assert ev["suggested"] == {"customers": 1, "bought": 1, "share": 1.0}
    assert ev["holdback"]["customers"] == 0
    assert ev["verdict"] == "thin"
    assert {r["key"] for r in ev["by_reason"]} == {"MATURITY", "IDLE"}


def test_a_group_plan_is_refused_when_one_member_is_not_suited(stored, bank):  # noqa: F811
    from qiao.customers.models import SavedGroup
    from qiao.engagement.services import plan_create

    x, wm, _td, _f, _i = stored
    owner = bank.staff["outlet_head"]  # sees the outlet's customers
    other = bank.w  # of the same outlet, never assessed
    group = SavedGroup.objects.create(owner=owner, name="理财客户", kind="STATIC")
    group.customers.set([x, other])
    data = {
        "title": "理财推广",
        "period": "QUARTERLY",
        "start": TODAY,
        "end": TODAY + dt.timedelta(days=60),
        "target_amount": Decimal("1000"),
        "baseline_amount": Decimal("0"),
    }
    with pytest.raises(ApplicationError) as refused:
        plan_create(owner=owner, data=data, group=group, products=[wm])
    assert other.customer_no in str(refused.value.message)
    event = AuditEvent.objects.filter(action=Action.BLOCKED).latest("id")
    assert event.customer_no == other.customer_no and event.detail["where"] == "plan"
