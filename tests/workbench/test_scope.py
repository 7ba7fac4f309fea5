"""Data scope: every customer-bearing URL and API endpoint, walked with every persona.

Out of scope answers exactly as missing does (404); lists, search and export never include an
out-of-scope customer.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from qiao.api.services import api_token_issue

PERSONAS = ["cm_owner", "cm_peer", "cm_other", "outlet_head", "head_office", "auditor", "lobby"]
#: Who may see X (张三, O1, owned by cm_owner) and Y (李四, O2, owned by cm_other).
SEES_X = {"cm_owner", "outlet_head", "head_office", "auditor"}
SEES_Y = {"cm_other", "head_office", "auditor"}
CAN_ASSIGN = {"outlet_head"}
CAN_REVEAL = {"cm_owner", "cm_peer", "cm_other", "outlet_head"}
CAN_EDIT = {"cm_owner", "cm_peer", "cm_other", "outlet_head"}


def _bearer(bank, persona: str) -> dict[str, str]:
    raw, _token = api_token_issue(staff=bank.staff[persona])
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _page_statuses(client, customer_no: str) -> dict[str, int]:
    return {
        "detail": client.get(f"/customers/{customer_no}/").status_code,
        "transactions": client.get(
            f"/customers/{customer_no}/transactions/?months=all"
        ).status_code,
        "edit": client.get(f"/customers/{customer_no}/edit/").status_code,
        "edit_post": client.post(f"/customers/{customer_no}/edit/", {}).status_code,
        "assign": client.get(f"/customers/{customer_no}/assign/").status_code,
        "reveal": client.post(
            f"/customers/{customer_no}/reveal/", {"field": "mobile", "reason": "回访客户"}
        ).status_code,
    }


def _api_statuses(client, headers, customer_no: str) -> dict[str, int]:
    return {
        "get": client.get(f"/api/customers/{customer_no}", **headers).status_code,
        "patch": client.patch(
            f"/api/customers/{customer_no}",
            json.dumps({"hobbies": "钓鱼"}),
            content_type="application/json",
            **headers,
        ).status_code,
        "reveal": client.post(
            f"/api/customers/{customer_no}/reveal",
            json.dumps({"field": "mobile", "reason": "回访客户"}),
            content_type="application/json",
            **headers,
        ).status_code,
    }


@pytest.mark.parametrize("persona", PERSONAS)
def test_pages_answer_by_scope(bank, login, persona):
    client = login(persona)
    for customer, sees in ((bank.x, SEES_X), (bank.y, SEES_Y)):
        got = _page_statuses(client, customer.customer_no)
        if persona in sees:
            assert got["detail"] == got["transactions"] == 200
            assert got["edit"] == (200 if persona in CAN_EDIT else 403)
            # Nothing changed → back to the 360; read-only roles are refused.
            assert got["edit_post"] == (302 if persona in CAN_EDIT else 403)
            assert got["assign"] == (200 if persona in CAN_ASSIGN else 403)
            assert got["reveal"] == (200 if persona in CAN_REVEAL else 403)
        else:
            assert got == dict.fromkeys(got, 404), (persona, customer.customer_no, got)
    # A customer that does not exist answers the same as one out of scope.
    assert _page_statuses(client, "P9999999") == dict.fromkeys(
        ["detail", "transactions", "edit", "edit_post", "assign", "reveal"], 404
    )


@pytest.mark.parametrize("persona", PERSONAS)
def test_api_answers_by_scope(bank, client, persona):
    headers = _bearer(bank, persona)
    for customer, sees in ((bank.x, SEES_X), (bank.y, SEES_Y)):
        got = _api_statuses(client, headers, customer.customer_no)
        if persona in sees:
            assert got["get"] == 200
            assert got["patch"] == (200 if persona in CAN_EDIT else 403)
            assert got["reveal"] == (200 if persona in CAN_REVEAL else 403)
        else:
            assert got == dict.fromkeys(got, 404), (persona, customer.customer_no, got)
    missing = _api_statuses(client, headers, "P9999999")
    assert missing == dict.fromkeys(missing, 404)
    body = client.get("/api/customers/P9999999", **headers).json()
    out_of_scope = client.get(
        f"/api/customers/{(bank.y if persona not in SEES_Y else bank.x).customer_no}", **headers
    )
    if out_of_scope.status_code == 404:
        assert out_of_scope.json() == body  # indistinguishable


@pytest.mark.parametrize("persona", PERSONAS)
def test_lists_search_and_export_hold_only_the_scope(bank, login, client, persona):
    web = login(persona)
    listed = web.get("/customers/").content.decode()
    for customer, sees in ((bank.x, SEES_X), (bank.y, SEES_Y)):
        assert (f"/customers/{customer.customer_no}/" in listed) == (persona in sees)
    for query in (
        "zs",
        "张三",
        "zhangsan",
        bank.x.mobile,
        bank.x.id_no,
        "0071",
        bank.x.customer_no,
    ):
        found = web.post("/customers/search/", {"q": query}).content.decode()
        assert ("/customers/P0000001/" in found) == (persona in SEES_X), (persona, query)
    for query in ("ls", "李四", bank.y.mobile):
        found = web.post("/customers/search/", {"q": query}).content.decode()
        assert ("/customers/P0000002/" in found) == (persona in SEES_Y), (persona, query)
    exported = web.post("/customers/export/", {})
    if exported.status_code == 200:
        text = b"".join(exported.streaming_content).decode("utf-8-sig")
        numbers = {row[0] for row in csv.reader(io.StringIO(text)) if row}
        assert ("P0000001" in numbers) == (persona in SEES_X)
        assert ("P0000002" in numbers) == (persona in SEES_Y)
    api = client.get("/api/customers?page_size=100", **_bearer(bank, persona)).json()
    numbers = {item["customer_no"] for item in api["items"]}
    assert ("P0000001" in numbers) == (persona in SEES_X)
    assert ("P0000002" in numbers) == (persona in SEES_Y)
    assert api["count"] == len(numbers)


def test_lobby_sees_no_customer_at_all(bank, login):
    client = login("lobby")
    page = client.get("/customers/").content.decode()
    assert 'id="list-empty"' in page and "P000" not in page
    assert "P000" not in client.post("/customers/search/", {"q": "z"}).content.decode()


def test_anonymous_is_sent_to_log_in(bank, client):
    for url in ("/customers/", f"/customers/{bank.x.customer_no}/", "/audit/", "/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
    assert client.get("/api/customers").status_code == 401


def test_related_customers_outside_the_scope_are_masked_and_unlinked(bank, login):
    from qiao.customers.models import CustomerGroup, GroupMembership, Relationship

    Relationship.objects.create(customer=bank.x, related=bank.y, relation="SPOUSE")
    group = CustomerGroup.objects.create(code="G1", name="德安集团")
    GroupMembership.objects.create(
        group=group, customer=bank.x, member_role="PARENT", link_type="FAMILY"
    )
    GroupMembership.objects.create(
        group=group, customer=bank.y, member_role="OTHER", link_type="FAMILY"
    )
    mine = login("cm_owner").get(f"/customers/{bank.x.customer_no}/").content.decode()
    box = mine[
        mine.index('id="connections"') : mine.index('id="aum-chart"')
        if 'id="aum-chart"' in mine
        else None
    ]
    assert "李*" in box and "李四" not in box and "/customers/P0000002/" not in box
    assert "德安集团" in box
    bankwide = login("head_office").get(f"/customers/{bank.x.customer_no}/").content.decode()
    assert "/customers/P0000002/" in bankwide and "李四" in bankwide


def test_the_360_shows_the_latest_scores(bank, login):
    import datetime as dt
    from decimal import Decimal

    from qiao.scoring.models import ScoreSnapshot

    common = {
        "customer": bank.x,
        "aum": Decimal(1),
        "contribution_year": Decimal(1),
        "tier_deposit": "",
        "p_alive": 0.5,
    }
    ScoreSnapshot.objects.create(as_of=dt.date(2026, 1, 31), tier_pyramid="ORDINARY", **common)
    ScoreSnapshot.objects.create(
        as_of=dt.date(2026, 2, 28),
        tier_pyramid="GOLD",
        attrition_prob=0.42,
        attrition_reasons=["AUM fell 30 % in 3 months"],
        tier_why={"pyramid": {"rule": "AUM ≥ 50万", "since": "2026-02-28"}},
        cross_sell=[{"item": "FUND", "reason": "peers hold funds"}],
        **common,
    )
    client = login("cm_owner")
    page = client.get(f"/customers/{bank.x.customer_no}/").content.decode()
    scores = page[page.index('id="scores"') : page.index('id="engagement-panel"')]
    assert "2026-02-28" in scores and "2026-01-31" not in scores
    assert "AUM ≥ 50万" in scores and "42%" in scores and "AUM fell 30 % in 3 months" in scores
    # Funds are rated products: without a valid risk assessment the cross-sell is not shown.
    assert "peers hold funds" not in scores and "50%" in scores
    from django.utils import timezone

    from qiao.suitability.models import RiskAssessment

    today = timezone.localdate()
    RiskAssessment.objects.create(
        customer=bank.x,
        tolerance="C3",
        assessed_on=today,
        valid_until=today + dt.timedelta(days=364),
        source="BRANCH",
        customer_signed=True,
    )
    page = client.get(f"/customers/{bank.x.customer_no}/").content.decode()
    scores = page[page.index('id="scores"') : page.index('id="engagement-panel"')]
    assert "peers hold funds" in scores  # a C3 customer may be offered the R3 fund
    # The engagement panel (tasks, contacts, complaints) fills the 360's slot.
    assert 'id="engagement-panel"' in page
    # No AUM series in these snapshots (and no lake): no chart.
    assert 'id="aum-data"' not in page


def test_the_360_draws_the_aum_chart_from_the_latest_snapshot(bank, login):
    import datetime as dt
    import json
    from decimal import Decimal

    from qiao.scoring.models import ScoreSnapshot

    series = [0.0] * 20 + [100.0, 250000.0, 300000.5, 280000.0]  # 24 months up to Feb 2026
    ScoreSnapshot.objects.create(
        customer=bank.x,
        as_of=dt.date(2026, 2, 28),
        aum=Decimal(280000),
        contribution_year=Decimal(1),
        tier_pyramid="GOLD",
        features={"aum_series": series},
    )
    page = login("cm_owner").get(f"/customers/{bank.x.customer_no}/").content.decode()
    start = page.index('id="aum-data"')
    data = json.loads(page[page.index(">", start) + 1 : page.index("</script>", start)])
    # months before the first balance left out; labelled back from the snapshot's date
    assert data == [
        {"month": "2025-11", "aum": 100.0},
        {"month": "2025-12", "aum": 250000.0},
        {"month": "2026-01", "aum": 300000.5},
        {"month": "2026-02", "aum": 280000.0},
    ]
    chart_header = page[page.index("AUM, month average") : start]
    assert "as of 2026-02-28" in chart_header
