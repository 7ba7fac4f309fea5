"""The risk page, the key-account list, the 360's credit section and the API, as each persona
meets them: words not codes, amounts grouped, scope everywhere."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from qiao.api.services import api_token_issue
from qiao.credit.models import Loan
from qiao.customers.models import CustomerGroup, GroupMembership
from qiao.engagement.models import WorkItem
from qiao.risk.exitplans import exit_plan_open
from qiao.risk.keyaccounts import key_account_decide, key_account_member_set, key_account_propose
from qiao.risk.models import WarningState, WarningTransition
from qiao.risk.warnings import warnings_evaluate
from tests.factories import make_customer, make_staff

pytestmark = pytest.mark.django_db


def _client(staff) -> Client:
    c = Client()
    c.force_login(staff)
    return c


def _api(staff, path: str):
    raw, _token = api_token_issue(staff=staff)
    return Client().get(path, HTTP_AUTHORIZATION=f"Bearer {raw}")


def _watch(bank) -> WarningTransition:
    Loan.objects.filter(loan_no="L-Z-1").update(classification="SPECIAL_MENTION", days_overdue=9)
    warnings_evaluate()
    return WarningTransition.objects.get(customer=bank.z, status="PROPOSED")


def test_the_risk_manager_sees_last_nights_moves_and_confirms_one(risk_bank):
    t = _watch(risk_bank)
    rm = _client(risk_bank.staff["risk_manager"])
    page = rm.get("/risk/").content.decode()
    assert "九江德安建材有限公司" in page
    assert "A loan is classified Special mention" in page and "A loan is 9 days overdue" in page
    assert "SPECIAL_MENTION" not in page and ">WATCH<" not in page
    response = rm.post(f"/risk/changes/{t.pk}/decide/", {"decision": "confirm", "note": "ok"})
    assert response.status_code == 302
    assert WarningState.objects.get(customer=risk_bank.z).state == "WATCH"
    item = WorkItem.objects.get(kind="WARNING_REVIEW", customer=risk_bank.z)
    today = _client(risk_bank.staff["cm_owner"]).get("/today/").content.decode()
    assert item.staff == risk_bank.staff["cm_owner"]
    assert "Early warning: under watch since" in today


def test_the_risk_page_speaks_chinese(risk_bank):
    _watch(risk_bank)
    page = (
        _client(risk_bank.staff["risk_manager"])
        .get("/risk/", HTTP_ACCEPT_LANGUAGE="zh-hans")
        .content.decode()
    )
    assert "昨晚转入关注" in page and "贷款逾期 9 天" in page
    assert "Special mention" not in page


def test_a_cm_may_not_open_the_risk_page_nor_decide(risk_bank):
    t = _watch(risk_bank)
    cm = _client(risk_bank.staff["cm_owner"])
    assert cm.get("/risk/").status_code == 403
    assert cm.post(f"/risk/changes/{t.pk}/decide/", {"decision": "confirm"}).status_code == 403
    assert WarningTransition.objects.get(pk=t.pk).status == "PROPOSED"


def test_exit_plans_on_the_risk_page_with_grouped_amounts(risk_bank):
    WarningState.objects.create(customer=risk_bank.z, state="DOUBTFUL", since=timezone.localdate())
    exit_plan_open(
        by=risk_bank.staff["cm_owner"],
        customer=risk_bank.z,
        target_date=timezone.localdate() + dt.timedelta(days=120),
    )
    rm = _client(risk_bank.staff["risk_manager"])
    page = rm.get("/risk/").content.decode()
    assert "6,000,000.00" in page and "Stop new drawdowns" in page
    plan = risk_bank.z.exit_plans.get()
    step = plan.steps.get(kind="STOP_DRAWDOWN")
    assert f"/risk/exit-plans/{plan.pk}/steps/{step.pk}/done/" in page
    assert rm.post(f"/risk/exit-plans/{plan.pk}/steps/{step.pk}/done/").status_code == 302
    step.refresh_from_db()
    assert (step.done_on, step.done_by) == (timezone.localdate(), risk_bank.staff["risk_manager"])


def test_the_360_shows_credit_state_history_and_team(risk_bank):
    t = _watch(risk_bank)
    from qiao.risk.warnings import warning_decide

    warning_decide(by=risk_bank.staff["risk_manager"], transition=t, confirm=True)
    ka = key_account_propose(
        by=risk_bank.staff["cm_owner"],
        customer=risk_bank.z,
        year=timezone.localdate().year,
        grade="KA1",
        note="龙头",
    )
    key_account_decide(by=risk_bank.staff["outlet_head"], key_account=ka, approve=True)
    key_account_member_set(
        by=risk_bank.staff["outlet_head"],
        key_account=ka,
        staff=risk_bank.staff["senior"],
        role="LEAD",
    )
    page = _client(risk_bank.staff["cm_owner"]).get("/customers/C0000001/").content.decode()
    assert "Credit and early warning" in page
    assert "L-Z-1" in page and "6,000,000.00" in page and "Special mention" in page
    assert 'id="warning-state">Watch' in page
    assert "Lead customer manager: 蒋高级" in page
    assert "Normal → Watch" in page  # the history, in words


def test_the_key_account_list_and_approval_by_page(risk_bank):
    ka = key_account_propose(
        by=risk_bank.staff["cm_owner"],
        customer=risk_bank.z,
        year=timezone.localdate().year,
        grade="KA2",
        note="结算大户",
    )
    page = _client(risk_bank.staff["outlet_head"]).get("/risk/key-accounts/").content.decode()
    assert "九江德安建材有限公司" in page and "Key account, grade 2" in page and "Proposed" in page
    assert (
        _client(risk_bank.staff["cm_owner"])
        .post(f"/risk/key-accounts/{ka.pk}/decide/", {"decision": "approve"})
        .status_code
        == 403
    )
    _client(risk_bank.staff["outlet_head"]).post(
        f"/risk/key-accounts/{ka.pk}/decide/", {"decision": "approve"}
    )
    ka.refresh_from_db()
    assert ka.status == "APPROVED"
    # Another outlet's CM does not see it.
    other = _client(risk_bank.staff["cm_other"]).get("/risk/key-accounts/").content.decode()
    assert "九江德安建材有限公司" not in other


def test_api_warnings_shape_filter_and_scope(risk_bank):
    from qiao.risk.warnings import warning_decide

    warning_decide(by=risk_bank.staff["risk_manager"], transition=_watch(risk_bank), confirm=True)
    body = _api(risk_bank.staff["risk_manager"], "/api/warnings").json()
    assert body == {
        "items": [
            {
                "customer_no": "C0000001",
                "state": "WATCH",
                "state_label": "Watch",
                "reasons": ["A loan is classified Special mention", "A loan is 9 days overdue"],
                "since": timezone.localdate().isoformat(),
            }
        ],
        "count": 1,
        "next": None,
    }
    assert _api(risk_bank.staff["risk_manager"], "/api/warnings?state=DOUBTFUL").json() == {
        "items": [],
        "count": 0,
        "next": None,
    }
    assert _api(risk_bank.staff["risk_manager"], "/api/warnings?state=RED").status_code == 422
    assert [
        i["customer_no"] for i in _api(risk_bank.staff["cm_owner"], "/api/warnings").json()["items"]
    ] == ["C0000001"]
    assert _api(risk_bank.staff["cm_other"], "/api/warnings").json()["items"] == []
    # A key-account team member from another outlet sees the account they serve.
    specialist = make_staff("specialist", "CM", risk_bank.o2, "产品专家")
    ka = key_account_propose(
        by=risk_bank.staff["cm_owner"],
        customer=risk_bank.z,
        year=timezone.localdate().year,
        grade="KA2",
        note="结算大户",
    )
    key_account_decide(by=risk_bank.staff["outlet_head"], key_account=ka, approve=True)
    key_account_member_set(
        by=risk_bank.staff["outlet_head"],
        key_account=ka,
        staff=specialist,
        role="PRODUCT_SPECIALIST",
    )
    items = _api(specialist, "/api/warnings").json()["items"]
    assert [i["customer_no"] for i in items] == ["C0000001"]


def test_api_group_exposure_shape_and_scope(risk_bank):
    group = CustomerGroup.objects.create(code="G-DA", name="德安集团")
    GroupMembership.objects.create(
        group=group, customer=risk_bank.z, member_role="PARENT", link_type="EQUITY"
    )
    GroupMembership.objects.create(
        group=group, customer=risk_bank.w, member_role="SUBSIDIARY", link_type="EQUITY"
    )
    body = _api(risk_bank.staff["risk_manager"], f"/api/groups/{group.pk}/exposure")
    assert body.status_code == 200
    data = body.json()
    assert (data["code"], data["status"]) == ("G-DA", "OK")
    assert Decimal(data["exposure"]) == Decimal("6000000")
    assert {m["customer_no"] for m in data["members"]} == {"C0000001", "P0000003"}
    assert data["members"][0]["customer_no"] == "C0000001"
    assert _api(risk_bank.staff["cm_other"], f"/api/groups/{group.pk}/exposure").status_code == 404
    assert _api(risk_bank.staff["cm_owner"], f"/api/groups/{group.pk}/exposure").status_code == 200
    assert _api(risk_bank.staff["risk_manager"], "/api/groups/999999/exposure").status_code == 404


def test_a_group_near_its_limit_shows_with_its_members(risk_bank, settings):
    settings.QIAO = {**settings.QIAO, "TIER_ONE_CAPITAL": 50_000_000}
    group = CustomerGroup.objects.create(code="G-DA", name="德安集团")
    for c, role in ((risk_bank.z, "PARENT"), (risk_bank.w, "SUBSIDIARY")):
        GroupMembership.objects.create(
            group=group, customer=c, member_role=role, link_type="EQUITY"
        )
    Loan.objects.create(
        loan_no="L-W-1",
        customer=risk_bank.w,
        principal=Decimal("2500000"),
        balance=Decimal("2500000"),
        start_date=dt.date(2025, 1, 1),
        maturity_date=dt.date(2027, 1, 1),
        as_of=dt.date(2026, 11, 30),
    )
    page = _client(risk_bank.staff["risk_manager"]).get("/risk/").content.decode()
    table = page[page.index('id="limits"') :]
    # The group: 8.5 M of 50 M = 17 %, at least 80 % of the 20 % limit; Z alone 12 % of 15 %.
    assert "Connected group of 九江德安建材有限公司" in table
    assert "17.0%" in table and "Near the limit (80 % or more)" in table
    assert "王五" in table and "2,500,000.00" in table and "6,000,000.00" in table
    assert "Limit breached" not in table
    zh = (
        _client(risk_bank.staff["risk_manager"])
        .get("/risk/", HTTP_ACCEPT_LANGUAGE="zh-hans")
        .content.decode()
    )
    assert "临近限额(80% 及以上)" in zh and "九江德安建材有限公司 所在关联集团" in zh


def test_api_warnings_pages_through_every_customer_once(risk_bank):
    """Gap 4: the list is paged (``page``, ``page_size``) with ``count`` and ``next``, no cap."""
    today = timezone.localdate()
    for i in range(7):
        c = make_customer(f"P9000{i:03d}", f"预警{i}", risk_bank.o1)
        WarningState.objects.create(customer=c, state="WATCH", since=today)
    rm = risk_bank.staff["risk_manager"]
    seen, path, pages = [], "/api/warnings?state=WATCH&page_size=3", 0
    while path:
        body = _api(rm, path).json()
        assert body["count"] == 7 and len(body["items"]) <= 3
        seen += [i["customer_no"] for i in body["items"]]
        path, pages = body["next"], pages + 1
    assert pages == 3 and seen == sorted(seen) and len(set(seen)) == 7
    assert body["next"] is None
    second = _api(rm, "/api/warnings?state=WATCH&page=2&page_size=3").json()
    assert [i["customer_no"] for i in second["items"]] == seen[3:6]
    assert "page=3" in _api(rm, "/api/warnings?state=WATCH&page=2&page_size=3").json()["next"]
    bad = _api(rm, "/api/warnings?page_size=1001")
    assert bad.status_code == 400 and "page_size" in bad.json()["fields"]
    assert _api(rm, "/api/warnings?page=0").status_code == 400
    assert _api(rm, "/api/warnings?page=two").status_code == 422
