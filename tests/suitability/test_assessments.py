"""Recording a risk assessment (page, API, service), what the 360 shows of it, and the work-list
items it raises: the rules of docs/suitability.md, "Risk assessment"."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client
from django.utils import timezone

from qiao.api.services import api_token_issue
from qiao.audit.models import Action, AuditEvent
from qiao.core.errors import ApplicationError
from qiao.engagement.models import WorkItem, WorkKind
from qiao.engagement.worklist import worklist_generate
from qiao.scoring.models import ScoreSnapshot
from qiao.suitability.assessments import (
    REVIEW_ABOVE,
    REVIEW_NO_VALID,
    REVIEW_SOLD_WITHOUT,
    active_questionnaire,
    add_months,
    review_lines,
    tolerance_on,
    valid_until_for,
)
from qiao.suitability.models import AssessmentSource, RiskAssessment
from qiao.suitability.questionnaire import parse_questionnaire
from qiao.suitability.services import assessment_record
from tests.workbench import conftest as _workbench

# The workbench's bank and personas (tests/workbench/conftest.py).
bank = _workbench.bank
_fast_hasher = _workbench._fast_hasher
_static_root = _workbench._static_root

pytestmark = pytest.mark.django_db


def answers(level: str = "low") -> dict[str, str]:
    """The lowest-scoring answers (C1) or middling ones (``mid``: C3) or the highest (C5)."""
    out = {}
    for q in parse_questionnaire(None).questions:  # the file: the default, no database needed
        ranked = sorted(q.answers, key=lambda a: a.points)
        pick = {"low": ranked[0], "mid": ranked[(len(ranked) - 1) // 2], "high": ranked[-1]}[level]
        out[q.id] = pick.id
    return out


def past(customer, tolerance: str, assessed_on: dt.date, source=AssessmentSource.CORE):
    return RiskAssessment.objects.create(
        customer=customer,
        tolerance=tolerance,
        assessed_on=assessed_on,
        valid_until=valid_until_for(assessed_on, 12),
        source=source,
        customer_signed=True,
    )


# ------------------------------------------------------------------------------ the service


def test_a_cm_records_an_assessment_with_the_customer(bank):
    today = timezone.localdate()
    a = assessment_record(
        customer=bank.x, by=bank.staff["cm_owner"], answers=answers("mid"), customer_signed=True
    )
    assert a.tolerance == "C3" and a.source == "BRANCH" and a.assessed_on == today
    assert a.valid_until == add_months(today, 12) - dt.timedelta(days=1)
    assert a.recorded_by == bank.staff["cm_owner"] and a.customer_signed
    assert a.questionnaire_version == active_questionnaire().version
    assert not a.elderly  # 张三 was born in 1991
    event = AuditEvent.objects.get(action=Action.ASSESSMENT)
    assert event.customer_no == "P0000001" and event.detail["tolerance"] == "C3"
    assert tolerance_on(bank.x) == ("C3", a.valid_until)


def test_65_or_over_on_the_day_is_flagged(bank):
    # 李四 (born 1949) is cm_other's customer at the other outlet.
    a = assessment_record(
        customer=bank.y, by=bank.staff["cm_other"], answers=answers(), customer_signed=True
    )
    assert a.elderly and a.tolerance == "C1"


def test_history_is_kept(bank):
    old = past(bank.x, "C2", timezone.localdate() - dt.timedelta(days=400))
    new = assessment_record(
        customer=bank.x, by=bank.staff["cm_owner"], answers=answers("high"), customer_signed=True
    )
    old.refresh_from_db()
    assert old.tolerance == "C2"
    assert list(RiskAssessment.objects.filter(customer=bank.x).order_by("assessed_on")) == [
        old,
        new,
    ]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"customer_signed": False}, "customer_signed"),
        ({"assessed_on": "tomorrow"}, "assessed_on"),
        ({"assessed_on": "yesterday"}, "assessed_on"),
        ({"qualified_investor": True, "qualified_evidence": "  "}, "qualified_evidence"),
        ({"answers": {"age": "a"}}, "q_finances"),
        ({"answers": {**answers(), "loss": "z"}}, "q_loss"),
    ],
)
def test_refusals_name_the_field(bank, kwargs, field):
    today = timezone.localdate()
    days = {"tomorrow": today + dt.timedelta(days=1), "yesterday": today - dt.timedelta(days=1)}
    if "assessed_on" in kwargs:
        kwargs["assessed_on"] = days[kwargs["assessed_on"]]
    call = {"answers": answers(), "customer_signed": True, **kwargs}
    with pytest.raises(ApplicationError) as exc:
        assessment_record(customer=bank.x, by=bank.staff["cm_owner"], **call)
    assert field in exc.value.fields
    assert not RiskAssessment.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.ASSESSMENT).exists()


def test_once_a_day_no_permission_out_of_scope(bank):
    args = {"answers": answers(), "customer_signed": True}
    assessment_record(customer=bank.x, by=bank.staff["cm_owner"], **args)
    with pytest.raises(ApplicationError):
        assessment_record(customer=bank.x, by=bank.staff["outlet_head"], **args)
    with pytest.raises(PermissionDenied):
        assessment_record(customer=bank.x, by=bank.staff["head_office"], **args)
    with pytest.raises(Http404):
        assessment_record(customer=bank.x, by=bank.staff["cm_other"], **args)
    assert RiskAssessment.objects.count() == 1


# ------------------------------------------------------------------------------ review lines


def test_review_lines(bank):
    fund = bank.accounts["x_fund"]  # R3, opened 2024-01-01, still open
    today = timezone.localdate()
    # No assessment at all: held with none, and sold without one.
    (line,) = review_lines(accounts=[fund], history=[], day=today)
    assert set(line.reasons) == {REVIEW_NO_VALID, REVIEW_SOLD_WITHOUT}
    # Assessed C3 before the purchase and again now: nothing to review.
    before = past(bank.x, "C3", dt.date(2023, 6, 1))
    now = past(bank.x, "C3", today - dt.timedelta(days=10))
    assert review_lines(accounts=[fund], history=[now, before], day=today) == []
    # Assessed only after the purchase ("sold first, assessed later"), now C2: both listed.
    later = past(bank.x, "C2", today - dt.timedelta(days=5))
    (line,) = review_lines(accounts=[fund], history=[later], day=today)
    assert set(line.reasons) == {REVIEW_ABOVE, REVIEW_SOLD_WITHOUT}
    # Deposits are not rated: never listed.
    assert review_lines(accounts=[bank.accounts["x_td"]], history=[], day=today) == []


# ------------------------------------------------------------------------------ pages


def _snapshot(customer, style: str) -> ScoreSnapshot:
    return ScoreSnapshot.objects.create(
        customer=customer,
        as_of=timezone.localdate() - dt.timedelta(days=1),
        aum=Decimal("100000"),
        contribution_year=Decimal("0"),
        tier_pyramid="GOLD",
        tier_deposit="",
        risk_style=style,
    )


def _client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def _form(level: str = "mid", **extra) -> dict:
    return {**{f"q_{k}": v for k, v in answers(level).items()}, **extra}


def test_the_page_records_and_the_360_shows_it(bank):
    _snapshot(bank.x, "AGGRESSIVE")
    client = _client(bank.staff["cm_owner"])
    page = client.get("/customers/P0000001/assess/")
    assert page.status_code == 200
    assert active_questionnaire().questions[0].text.en in page.content.decode()
    # Unsigned: the field's error, nothing kept.
    response = client.post("/customers/P0000001/assess/", _form())
    assert response.status_code == 200
    assert "sign to confirm" in response.content.decode()
    assert not RiskAssessment.objects.exists()
    response = client.post("/customers/P0000001/assess/", _form(customer_signed="on"))
    assert response.status_code == 302 and response["Location"] == "/customers/P0000001/"
    page = client.get("/customers/P0000001/").content.decode()
    assert 'id="assessment-tolerance">C3 Balanced' in page
    assert "Behavioural risk style (not the assessed tolerance)" in page
    assert "王经理" in page  # recorded by, by name


def test_the_360_says_missing_expired_and_lists_holdings_for_review(bank):
    client = _client(bank.staff["cm_owner"])
    page = client.get("/customers/P0000001/").content.decode()
    assert 'id="assessment-missing"' in page
    assert "held with no valid risk assessment" in page  # the R3 fund, not hidden
    past(bank.x, "C2", timezone.localdate() - dt.timedelta(days=800))
    page = client.get("/customers/P0000001/").content.decode()
    assert "Expired: re-assess" in page
    # Seen by a reader without the permission: no "Assess" button.
    page = _client(bank.staff["head_office"]).get("/customers/P0000001/").content.decode()
    assert 'id="assessment"' in page and 'id="assess-link"' not in page


def test_the_page_is_for_those_who_assess(bank):
    assert _client(bank.staff["head_office"]).get("/customers/P0000001/assess/").status_code == 403
    assert _client(bank.staff["cm_other"]).get("/customers/P0000001/assess/").status_code == 404


# ------------------------------------------------------------------------------ API


def _api(client: Client, staff, method: str, path: str, body=None):
    raw, _token = api_token_issue(staff=staff)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    if method == "get":
        return client.get(path, **headers)
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def test_the_api_records_and_the_detail_shows_it(bank):
    client, owner = Client(), bank.staff["cm_owner"]
    detail = _api(client, owner, "get", "/api/customers/P0000001").json()
    assert detail["risk_tolerance"] is None and detail["assessment_expires"] is None
    body = {"answers": answers("high"), "customer_signed": False}
    response = _api(client, owner, "post", "/api/customers/P0000001/assessments", body)
    assert response.status_code == 400 and "customer_signed" in response.json()["fields"]
    body["customer_signed"] = True
    response = _api(client, owner, "post", "/api/customers/P0000001/assessments", body)
    assert response.status_code == 201, response.content
    out = response.json()
    assert out["tolerance"] == "C5" and out["source"] == "BRANCH"
    detail = _api(client, owner, "get", "/api/customers/P0000001").json()
    assert detail["risk_tolerance"] == "C5"
    assert detail["assessment_expires"] == out["valid_until"]
    analyst = bank.staff["head_office"]
    response = _api(client, analyst, "post", "/api/customers/P0000001/assessments", body)
    assert response.status_code == 403
    other = bank.staff["cm_other"]
    response = _api(client, other, "post", "/api/customers/P0000001/assessments", body)
    assert response.status_code == 404


def test_an_expired_assessment_gives_no_tolerance_but_its_date(bank):
    old = past(bank.x, "C4", timezone.localdate() - dt.timedelta(days=500))
    detail = _api(Client(), bank.staff["cm_owner"], "get", "/api/customers/P0000001").json()
    assert detail["risk_tolerance"] is None
    assert detail["assessment_expires"] == old.valid_until.isoformat()


# ------------------------------------------------------------------------------ work list


def test_expiry_warning_for_a_customer_holding_a_rated_product(bank):
    today = timezone.localdate()
    # Expires in 20 days: X holds the R3 fund; W holds nothing rated and gets no item.
    x_old = past(bank.x, "C3", add_months(today + dt.timedelta(days=21), -12))
    past(bank.w, "C3", add_months(today + dt.timedelta(days=21), -12))
    assert x_old.valid_until == today + dt.timedelta(days=20)
    worklist_generate(day=today)
    item = WorkItem.objects.get(kind=WorkKind.ASSESS_EXPIRING)
    assert item.customer == bank.x and item.staff == bank.staff["cm_owner"]
    assert "C3 Balanced" in item.reason_text and x_old.valid_until.isoformat() in item.reason_text
    # Re-assessed: the item is done at the next run, and no new one is raised.
    assessment_record(
        customer=bank.x, by=bank.staff["cm_owner"], answers=answers("mid"), customer_signed=True
    )
    worklist_generate(day=today)
    item.refresh_from_db()
    assert item.status == "DONE"
    assert not WorkItem.objects.filter(kind=WorkKind.ASSESS_EXPIRING, status="OPEN").exists()


def test_behaviour_well_above_the_assessed_level_asks_for_a_reassessment(bank):
    today = timezone.localdate()
    a = past(bank.x, "C2", today - dt.timedelta(days=30))
    past(bank.w, "C3", today - dt.timedelta(days=30))
    for customer, style in ((bank.x, "AGGRESSIVE"), (bank.w, "BALANCED")):
        _snapshot(customer, style)
    worklist_generate(day=today)
    item = WorkItem.objects.get(kind=WorkKind.REASSESS)
    assert item.customer == bank.x and item.cause_key == f"REASSESS:{bank.x.pk}:{a.pk}"
    assert "Aggressive" in item.reason_text and "C2 Prudent" in item.reason_text
    worklist_generate(day=today)  # idempotent
    assert WorkItem.objects.filter(kind=WorkKind.REASSESS).count() == 1
