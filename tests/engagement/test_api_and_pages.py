from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from qiao.engagement.models import Contact, WorkItem
from qiao.engagement.selectors import coverage, coverage_by_unit
from qiao.engagement.services import contact_log, prospect_create
from qiao.engagement.worklist import worklist_generate
from tests.engagement.conftest import DAY, at, make_account, make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(people, products):
    """Alice: a gold and a diamond customer; Bob: a gold one; Dave (other branch): a gold one."""
    alice, bob, dave = people["alice"], people["bob"], people["dave"]
    customers = {
        "gold": make_customer(alice, tier="GOLD", aum=800_000, no="P1000001"),
        "diamond": make_customer(alice, tier="DIAMOND", aum=6_000_000, no="P1000002"),
        "bobs": make_customer(bob, tier="GOLD", aum=300_000, no="P1000003"),
        "daves": make_customer(dave, tier="GOLD", aum=300_000, no="P1000004"),
    }
    make_account(
        customers["gold"], products["TD"], 500_000, maturity_date=DAY + dt.timedelta(days=2)
    )
    worklist_generate(day=DAY)
    return customers


# ---------------------------------------------------------------- coverage


def test_coverage_per_cm_and_outlet(people, book):
    alice, bob = people["alice"], people["bob"]
    # Alice meets her gold customer this month: call and quarterly meeting both met.
    Contact.objects.create(customer=book["gold"], staff=alice, channel="MEETING", at=at(DAY, 9))
    # The diamond had a meeting 35 days ago: the monthly meeting has lapsed.
    Contact.objects.create(
        customer=book["diamond"],
        staff=alice,
        channel="MEETING",
        at=at(DAY - dt.timedelta(days=35)),
        with_outlet_head=True,
    )
    # Bob only called: the quarterly meeting is missing.
    Contact.objects.create(
        customer=book["bobs"], staff=bob, channel="PHONE", at=at(DAY, 9), satisfaction=4
    )
    rows = {r.staff.username: r for r in coverage(viewer=people["hannah"], day=DAY)}
    assert set(rows) == {
        "alice",
        "bob",
        "hannah",
    }  # Carol's outlet is not Hannah's; Dave's branch neither
    assert (rows["alice"].customers, rows["alice"].covered, rows["alice"].pct) == (2, 1, 50.0)
    assert [o["customer_no"] for o in rows["alice"].overdue] == ["P1000002"]
    assert rows["alice"].overdue[0]["missing"] == ["Face-to-face meeting"]
    assert (rows["bob"].customers, rows["bob"].covered) == (1, 0)
    assert rows["bob"].satisfaction == 4.0 and rows["bob"].contacts_30d == 1
    assert rows["alice"].open_items == WorkItem.objects.filter(staff=alice, status="OPEN").count()
    [unit] = coverage_by_unit(list(rows.values()))
    assert (unit["customers"], unit["covered"], unit["pct"]) == (3, 1, 33.3)
    # A CM sees only their own row.
    assert [r.staff.username for r in coverage(viewer=bob, day=DAY)] == ["bob"]


def test_outlet_head_coverage_page(login, people, book):
    client = login(people["hannah"])
    page = client.get("/coverage/", {"date": DAY.isoformat()})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Alice" in text and "Bob" in text and "Dave" not in text
    assert page.templates[0].name == "engagement/coverage.html"
    partial = client.get("/coverage/", {"date": DAY.isoformat()}, HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and "Alice" in partial.content.decode()


# ---------------------------------------------------------------- Today and logging from it


def test_today_lists_my_items_by_value_with_links(
    login, people, book, django_assert_max_num_queries
):
    client = login(people["alice"])
    # 16: the menu's count of new notifications is one query (issue 13 item 2).
    with django_assert_max_num_queries(16):
        page = client.get("/today/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "/customers/P1000001/" in text and "/customers/P1000002/" in text
    assert "P1000003" not in text and "P1000004" not in text  # Bob's and Dave's customers
    # One row per customer (issue 13 item 1): rows by summed value, each row's items by value.
    values = dict(WorkItem.objects.values_list("pk", "value_at_stake"))
    rows = [
        [int(pk) for pk in re.findall(r'id="item-(\d+)"', chunk)]
        for chunk in text.split('id="row-')[1:]
    ]
    shown = [pk for row in rows for pk in row]
    assert len(rows) == 2 and len(shown) == 5
    totals = [sum(values[pk] for pk in row) for row in rows]
    assert totals == sorted(totals, reverse=True)
    for row in rows:
        assert [values[pk] for pk in row] == sorted((values[pk] for pk in row), reverse=True)
    assert values[shown[0]] == 600_000 and values[shown[2]] == 500_000
    assert "/contacts/new/P1000001/?item=" in text
    partial = client.get("/today/", {"kind": "MATURITY"}, HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert "<html" not in body and "matures" in body and "CADENCE" not in body


def test_log_call_from_today_closes_item_and_adds_task(login, people, book):
    alice = people["alice"]
    client = login(alice)
    item = WorkItem.objects.get(customer=book["gold"], cause_key__startswith="CADENCE:CALL")
    form = client.get(f"/contacts/new/P1000001/?item={item.pk}")
    assert form.status_code == 200 and "预约建议" in form.content.decode()
    response = client.post(
        f"/contacts/new/P1000001/?item={item.pk}",
        {
            "channel": "PHONE",
            "at": at(DAY, 10).strftime("%Y-%m-%dT%H:%M"),
            "summary": "约见",
            "step_greeting": "on",
            "step_introduction": "on",
            "step_reason": "on",
            "step_proposal": "on",
            "step_thanks": "on",
            "appointment_at": at(DAY + dt.timedelta(days=1), 10).strftime("%Y-%m-%dT%H:%M"),
            "appointment_place": "网点",
            "next_step": "带上定投方案",
            "work_item": item.pk,
        },
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == "DONE"
    today = client.get("/today/").content.decode()
    assert "带上定投方案" in today


def test_log_contact_htmx_shows_warning_for_second_cm(login, people, book):
    alice, hannah = people["alice"], people["hannah"]
    contact_log(staff=hannah, customer=book["gold"], data={"channel": "VISIT", "at": at(DAY, 9)})
    client = login(alice)
    response = client.post(
        "/contacts/new/P1000001/",
        {
            "channel": "PHONE",
            "at": at(DAY, 11).strftime("%Y-%m-%dT%H:%M"),
        },
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200 and "Hannah" in body and "alert-warning" in body


def test_contact_form_errors_are_shown(login, people, book):
    client = login(people["alice"])
    response = client.post(
        "/contacts/new/P1000001/",
        {
            "channel": "PHONE",
            "at": at(DAY, 11).strftime("%Y-%m-%dT%H:%M"),
            "appointment_place": "网点",
        },
    )
    assert response.status_code == 200
    assert "Give the appointment" in response.content.decode()
    assert not Contact.objects.exists()


# ---------------------------------------------------------------- scope


@pytest.mark.parametrize(
    "url",
    [
        "/contacts/new/P1000004/",
        "/contacts/new/P1000003/",
        "/complaints/new/P1000003/",
        "/contacts/new/NOPE/",
    ],
)
def test_other_cms_customers_are_404(login, people, book, url):
    assert login(people["alice"]).get(url).status_code == 404


def test_other_cms_items_and_prospects_are_404(login, people, book):
    bobs_item = WorkItem.objects.filter(staff=people["bob"]).first()
    client = login(people["alice"])
    assert client.post(f"/today/items/{bobs_item.pk}/done/").status_code == 404
    assert client.get(f"/contacts/new/P1000001/?item={bobs_item.pk}").status_code == 404
    card = prospect_create(
        owner=people["bob"], day=DAY, data={"kind": "PERSON", "name": "x", "source": "OTHER"}
    )
    assert client.get(f"/prospects/{card.number}/").status_code == 404
    assert login(people["hannah"]).get(f"/prospects/{card.number}/").status_code == 200


def test_pages_render(login, people, book):
    client = login(people["alice"])
    for url in [
        "/prospects/",
        "/prospects/new/",
        "/plans/",
        "/plans/new/",
        "/referrals/",
        "/complaints/",
        "/complaints/new/P1000001/",
        "/coverage/",
    ]:
        assert client.get(url).status_code == 200, url


def test_prospect_board_and_plan_pages(login, people, book, products):
    client = login(people["alice"])
    r = client.post(
        "/prospects/new/",
        {
            "kind": "COMPANY",
            "name": "九江建材",
            "classification": "SME",
            "source": "DIRECTORY",
            "expected_value": "5000000",
            "likelihood": "30",
            "notes": "",
        },
    )
    assert r.status_code == 302
    board = client.get("/prospects/").content.decode()
    assert "九江建材" in board
    r = client.post(
        "/plans/new/",
        {
            "title": "一季度理财",
            "customer_no": "P1000001",
            "period": "QUARTERLY",
            "start": DAY.isoformat(),
            "end": (DAY + dt.timedelta(days=90)).isoformat(),
            "products": [products["TD"].pk],
            "target_amount": "100000",
            "milestones_text": f"{(DAY + dt.timedelta(days=30)).isoformat()} 30000 first month",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    detail = client.get(r["Location"]).content.decode()
    assert "progress-bar" in detail and "first month" in detail
    assert "一季度理财" in client.get("/plans/").content.decode()
    # Planning for another CM's customer is a 404.
    r = client.post(
        "/plans/new/",
        {
            "title": "x",
            "customer_no": "P1000003",
            "period": "MONTHLY",
            "start": DAY.isoformat(),
            "end": DAY.isoformat(),
            "target_amount": "1",
        },
    )
    assert r.status_code == 404


def test_lobby_referral_form_sees_only_what_a_referral_needs(login, people, book):
    client = login(people["leo"])
    preview = client.get("/referrals/lookup/", {"customer_no": "P1000001"}).content.decode()
    name = book["gold"].name
    assert name not in preview and name[0] in preview  # masked
    # The tier by its label, not its code (issue 13 item 5).
    assert "Alice" in preview and "Gold" in preview and "GOLD" not in preview
    assert "800" not in preview  # no balances
    assert (
        "No such customer"
        in client.get("/referrals/lookup/", {"customer_no": "P1000004"}).content.decode()
    )
    r = client.post(
        "/referrals/new/",
        {
            "customer_no": "P1000001",
            "reason": "LARGE_TRANSACTION",
            "note": "取款50万",
            "amount": "500000",
        },
    )
    assert r.status_code == 302
    referral = book["gold"].referrals.get()
    assert referral.to_staff == people["alice"] and referral.referrer_staff == people["leo"]
    # Another branch's customer cannot be referred from here.
    r = client.post("/referrals/new/", {"customer_no": "P1000004", "reason": "OTHER"})
    assert r.status_code == 200 and not book["daves"].referrals.exists()
    # Alice moves it along; Leo gets the credit on conversion.
    alice = login(people["alice"])
    alice.post(f"/referrals/{referral.pk}/status/", {"status": "CONVERTED"})
    referral.refresh_from_db()
    assert referral.credited
    assert "Leo" in alice.get("/referrals/").content.decode()


def test_customer_panel_include(people, book, rf):
    from django.template.loader import render_to_string

    from qiao.engagement.selectors import engagement_panel

    alice = people["alice"]
    contact_log(
        staff=alice,
        customer=book["gold"],
        data={
            "channel": "MEETING",
            "at": at(DAY),
            "summary": "年度回顾",
            "next_step": "寄送对账单",
            "satisfaction": 5,
        },
    )
    request = rf.get("/customers/P1000001/")
    request.user = alice
    html = render_to_string(
        "engagement/_customer_panel.html", engagement_panel(book["gold"], alice), request=request
    )
    assert "年度回顾" in html and "寄送对账单" in html and "5/5" in html


# ---------------------------------------------------------------- API


@pytest.mark.urls("tests.engagement.api_urls")
def test_api_worklist_and_contacts(login, people, book):
    client = login(people["alice"])
    data = client.get("/api/worklist", {"date": DAY.isoformat()}).json()
    values = [float(i["value_at_stake"]) for i in data["items"]]
    assert values == sorted(values, reverse=True) and len(values) == 5
    assert set(data["items"][0]) == {"id", "customer_no", "kind", "reason", "value_at_stake", "due"}
    assert {i["customer_no"] for i in data["items"]} == {"P1000001", "P1000002"}
    assert client.get(
        "/api/worklist", {"date": (DAY - dt.timedelta(days=1)).isoformat()}
    ).json() == {"items": []}

    response = client.post(
        "/api/contacts",
        json.dumps(
            {
                "customer_no": "P1000001",
                "channel": "PHONE",
                "summary": "到期提醒",
                "at": at(DAY, 10).isoformat(),
                "step_greeting": True,
                "step_introduction": True,
                "step_reason": True,
                "step_proposal": True,
                "step_thanks": True,
                "appointment_at": at(DAY + dt.timedelta(days=1), 10).isoformat(),
                "appointment_place": "网点",
                "next_step": "准备方案",
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert sorted(i["kind"] for i in body["closed"]) == ["CONTACT_DUE", "MATURITY"]
    assert body["contact"]["task_id"] and body["warnings"] == []
    remaining = client.get("/api/worklist").json()["items"]
    assert {i["kind"] for i in remaining if i["customer_no"] == "P1000001"} == {"CONTACT_DUE"}


@pytest.mark.urls("tests.engagement.api_urls")
def test_api_scope_and_errors(login, people, book, client):
    assert client.get("/api/worklist").status_code == 401
    alice = login(people["alice"])
    r = alice.post(
        "/api/contacts",
        json.dumps({"customer_no": "P1000004", "channel": "PHONE"}),
        content_type="application/json",
    )
    assert r.status_code == 404 and r.json()["error"] == "Not found."
    r = alice.post(
        "/api/contacts",
        json.dumps({"customer_no": "P1000003", "channel": "PHONE"}),
        content_type="application/json",
    )
    assert r.status_code == 404
    r = alice.post(
        "/api/contacts",
        json.dumps({"customer_no": "P1000001", "channel": "PHONE", "appointment_place": "网点"}),
        content_type="application/json",
    )
    assert r.status_code == 400 and "appointment_at" in r.json()["fields"]
    r = alice.post(
        "/api/contacts",
        json.dumps({"customer_no": "P1000001", "channel": "FAX"}),
        content_type="application/json",
    )
    assert r.status_code == 422
    bob = login(people["bob"])
    items = bob.get("/api/worklist").json()["items"]
    assert {i["customer_no"] for i in items} == {"P1000003"}
    assert not Contact.objects.exists()


@pytest.mark.urls("tests.engagement.api_urls")
def test_api_with_a_bearer_token(people, book, client):
    from qiao.api.services import api_token_issue

    raw, _ = api_token_issue(staff=people["bob"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    items = client.get("/api/worklist", **auth).json()["items"]
    assert {i["customer_no"] for i in items} == {"P1000003"}
    r = client.post(
        "/api/contacts",
        json.dumps({"customer_no": "P1000003", "channel": "MEETING", "outcome": "签约"}),
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 201
    assert Contact.objects.get().staff == people["bob"]
    assert client.get("/api/worklist", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
