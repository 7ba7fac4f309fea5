"""The survey pages and API: who may do what, what is audited, comments escaped and customers
masked, the reader's scope."""

from __future__ import annotations

import datetime as dt

import pytest

from qiao.api.services import api_token_issue
from qiao.audit.models import Action, AuditEvent
from qiao.surveys.models import Response, Survey
from tests.surveys.conftest import answer, customer_of

DAY = dt.date(2026, 3, 10)


def login(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def answered(people, org, surveys):
    s = surveys["after-contact"]
    alice, dave = people["alice"], people["dave"]
    mine = customer_of(alice, name="张三丰")
    theirs = customer_of(dave)
    answer(
        s,
        staff=alice,
        outlet=org["O0101"],
        day=DAY,
        customer=mine,
        csat=5,
        nps=10,
        comment="<script>alert(1)</script>很好",
    )
    answer(
        s,
        staff=dave,
        outlet=org["O0201"],
        day=DAY,
        customer=theirs,
        csat=1,
        nps=0,
        comment="南岸的意见",
    )
    return mine


def test_results_are_scoped_escaped_masked_and_audited(client, people, answered):
    page = login(client, people["alice"]).get("/surveys/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;很好" in html and "<script>alert(1)" not in html
    assert "张*丰" in html and "张三丰" not in html
    assert "南岸的意见" not in html  # Dave's customer is not Alice's
    assert AuditEvent.objects.filter(
        action=Action.VIEW_LIST, customer_no=answered.customer_no, username="alice"
    ).exists()
    head_office = login(client, people["nina"]).get("/surveys/?month=2026-03")
    assert "南岸的意见" in head_office.content.decode()
    bad = client.get("/surveys/?month=2026-13")
    assert bad.status_code == 200 and "YYYY-MM" in bad.content.decode()


def test_the_lobby_records_an_anonymous_answer(client, people, surveys):
    response = login(client, people["leo"]).post(
        "/surveys/answer/",
        {
            "survey": "after-contact",
            "q_csat": "4",
            "q_nps": "8",
            "q_comment": "a\nb",
            "valid": "on",
        },
    )
    assert response.status_code == 302
    r = Response.objects.get()
    assert r.outlet == people["leo"].unit and r.recorded_by == people["leo"] and r.customer is None
    assert r.answers.get(question__code="comment").text == "a b"
    event = AuditEvent.objects.get(action=Action.SURVEY_ANSWER)
    assert event.username == "leo" and event.detail["answers"] == 3


def test_a_wrong_answer_is_refused_with_its_reason(client, people, surveys):
    c = login(client, people["alice"])
    response = c.post("/surveys/answer/", {"survey": "after-contact", "q_csat": "7"})
    assert response.status_code == 400
    assert "must be a whole number from 1 to 5" in response.content.decode()
    # A customer out of reach is refused as missing.
    other = customer_of(people["dave"])
    response = c.post(
        "/surveys/answer/",
        {"survey": "after-contact", "q_csat": "5", "customer_no": other.customer_no},
    )
    assert (
        response.status_code == 400 and "No customer within your reach" in response.content.decode()
    )
    assert (
        Response.objects.count() == 0
        and not AuditEvent.objects.filter(action=Action.SURVEY_ANSWER).exists()
    )


def test_only_survey_managers_edit_and_each_edit_is_audited(client, people, surveys):
    assert login(client, people["alice"]).get("/surveys/after-contact/edit/").status_code == 403
    c = login(client, people["mark"])
    response = c.post("/surveys/after-contact/edit/", {"name": "", "active": "on"})
    assert response.status_code == 400 and "A survey needs a name." in response.content.decode()
    response = c.post(
        "/surveys/after-contact/edit/", {"name_zh_hans": "接触后调查", "invitation": "Hi"}
    )
    assert response.status_code == 400  # the invitation lost its {token}
    response = c.post("/surveys/after-contact/edit/", {"name_zh_hans": "接触后调查"})
    assert response.status_code == 302
    s = Survey.objects.get(code="after-contact")
    assert s.name_zh_hans == "接触后调查" and not s.active  # the box was not ticked
    event = AuditEvent.objects.get(action=Action.SURVEY_EDIT)
    assert event.username == "mark" and set(event.detail["fields"]) == {"name_zh_hans", "active"}


def test_api_results_are_scoped(client, people, answered):
    raw, _token = api_token_issue(staff=people["alice"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    body = client.get("/api/surveys/results?month=2026-03", **auth).json()
    assert [r["name"] for r in body["by_staff"]] == ["Alice"]
    assert body["by_staff"][0]["csat"] == 1.0 and body["by_staff"][0]["nps"] == 100.0
    # The API lists no customer, so it audits none.
    assert not AuditEvent.objects.filter(action=Action.VIEW_LIST).exists()
    raw, _token = api_token_issue(staff=people["nina"])
    body = client.get("/api/surveys/results", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert {r["name"] for r in body["by_staff"]} == {"Alice", "Dave"}
    bad = client.get("/api/surveys/results?month=March", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert bad.status_code == 400 and "month" in bad.json()["fields"]


def test_the_satisfaction_report_renders_on_the_reports_page_and_in_excel(client, people, answered):
    import io

    from openpyxl import load_workbook

    c = login(client, people["nina"])
    page = c.get("/reports/satisfaction/?period=2026-03")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Customer satisfaction" in html and "Dave" in html
    # The reports page's period is the month: April has no answers.
    assert "Dave" not in c.get("/reports/satisfaction/?period=2026-04").content.decode()
    raw, _token = api_token_issue(staff=people["nina"])
    book = client.get("/api/reports/satisfaction?format=xlsx", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert book.status_code == 200
    wb = load_workbook(io.BytesIO(book.content))
    sheet = wb[wb.sheetnames[1]]  # by customer manager
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert any(row[0] == "Alice" and row[3] == 1 for row in values), values
