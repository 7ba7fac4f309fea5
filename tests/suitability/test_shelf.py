"""The product shelf (issue 14 item 1): the catalogue and its filters, the product page's holders
and suited customers in the viewer's scope (through the one suitability rule), and the product
manager's edits (audited, rates kept in the history)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from qiao.audit.models import Action, AuditEvent
from qiao.org.models import Role
from qiao.products.models import Account, Product, ProductRate
from qiao.suitability.models import RiskAssessment
from qiao.suitability.shelf import ShelfFilters, products_filter
from tests.workbench.conftest import PASSWORD, _fast_hasher, _staff, bank, make_customer, own  # noqa: F401

TODAY = timezone.localdate()


def assess(customer, tolerance: str, *, days_left: int = 200, qualified: bool = False, on=None):
    return RiskAssessment.objects.create(
        customer=customer,
        tolerance=tolerance,
        assessed_on=on or TODAY - dt.timedelta(days=365 - days_left),
        valid_until=TODAY + dt.timedelta(days=days_left),
        source="BRANCH",
        customer_signed=True,
        qualified_investor=qualified,
    )


@pytest.fixture
def shelf(bank):  # noqa: F811
    p = bank.products
    p["WM2"] = Product.objects.create(
        code="WM2",
        name="稳盈理财",
        category="WEALTH",
        seller_risk_level="R2",
        motives="APPRECIATE",
        term_days=90,
        min_amount=Decimal("10000"),
        rate=Decimal("2.4"),
        sale_status="NEW_ISSUE",
    )
    p["WM4"] = Product.objects.create(
        code="WM4",
        name="权益理财",
        category="WEALTH",
        issuer_risk_level="R3",
        seller_risk_level="R4",
        motives="ACCUMULATE|APPRECIATE",
        term_days=730,
        min_amount=Decimal("50000"),
        currency="USD",
        sale_status="CLOSING",
    )
    p["PRIV"] = Product.objects.create(
        code="PRIV",
        name="私募专享",
        category="WEALTH",
        seller_risk_level="R3",
        private=True,
        min_amount=Decimal("1000000"),
    )
    p["OLD"] = Product.objects.create(
        code="OLD",
        name="已停售理财",
        category="WEALTH",
        seller_risk_level="R1",
        sale_status="CLOSED",
    )
    bank.staff["product_manager"] = _staff("pm", "陈产品", Role.PRODUCT_MANAGER, bank.ho)
    return bank


def codes(**filters) -> set[str]:
    return {p.code for p in products_filter(filters=ShelfFilters(**filters))}


def test_the_higher_rating_applies(shelf):
    assert shelf.products["WM4"].risk_level == "R4"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"category": "WEALTH"}, {"WM2", "WM4", "PRIV", "OLD"}),
        ({"risk_level": "R4"}, {"WM4"}),
        ({"motive": "ACCUMULATE"}, {"WM4"}),
        ({"motive": "APPRECIATE"}, {"WM2", "WM4"}),
        ({"currency": "USD"}, {"WM4"}),
        ({"term": "U3M"}, {"WM2"}),
        ({"term": "O1Y"}, {"WM4"}),
        ({"sale_status": "CLOSED"}, {"OLD"}),
        ({"sale_status": "NEW_ISSUE"}, {"WM2"}),
        ({"category": "WEALTH", "amount": Decimal("20000")}, {"WM2", "OLD"}),
        ({"q": "私募"}, {"PRIV"}),
    ],
)
def test_catalogue_filters(shelf, filters, expected):
    assert codes(**filters) == expected


def test_the_catalogue_is_in_words_for_every_role(shelf):
    for persona in ("lobby", "cm_owner", "head_office"):
        client = Client()
        client.force_login(shelf.staff[persona])
        response = client.get("/products/?category=WEALTH", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        text = _section(response.content.decode(), "shelf-table")
        assert "Wealth-management product" in text and "R4 medium-high" in text
        assert "Closing soon" in text and "Appreciation" in text
        assert ">WEALTH<" not in text and ">CLOSING<" not in text and "APPRECIATE" not in text


def test_a_bad_filter_shows_the_whole_shelf_with_the_error(shelf):
    client = Client()
    client.force_login(shelf.staff["cm_owner"])
    response = client.get("/products/?risk_level=R9")
    assert response.status_code == 200
    assert "WM2" in response.content.decode()


def _page(world, persona: str, code: str) -> str:
    client = Client()
    client.force_login(world.staff[persona])
    response = client.get(f"/products/{code}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def _section(text: str, table_id: str) -> str:
    start = text.index(f'id="{table_id}"')
    return text[start : text.index("</table>", start)]


def test_holders_in_scope_with_balances_masked_for_readers(shelf):
    shelf.accounts["x_fund"].balance = Decimal("123456.78")
    shelf.accounts["x_fund"].save()
    owner = _section(_page(shelf, "cm_owner", "FND1"), "holders")
    assert "张三" in owner and "¥123,456.78" in owner
    # An analyst sees X (bank-wide) but not balances.
    analyst = _section(_page(shelf, "head_office", "FND1"), "holders")
    assert "张三" in analyst and "123,456" not in analyst and "***" in analyst
    # A CM of another outlet does not see X at all.
    other = _section(_page(shelf, "cm_other", "FND1"), "holders")
    assert "张三" not in other
    events = AuditEvent.objects.filter(action=Action.VIEW_LIST, customer_no="P0000001")
    assert events.filter(detail__product="FND1").count() == 2


def test_a_holding_above_the_customers_level_is_listed_for_review(shelf):
    assess(shelf.x, "C2")
    holders = _section(_page(shelf, "cm_owner", "FND1"), "holders")
    assert "张三" in holders and "For review" in holders
    assert "above the customer&#x27;s assessed tolerance Prudent" in holders


def test_suited_customers_go_through_the_one_rule(shelf):
    x, w = shelf.x, shelf.w
    own(w, shelf.staff["cm_owner"])
    assess(x, "C3")
    assess(w, "C4", days_left=-1)  # expired yesterday
    suited = _section(_page(shelf, "cm_owner", "WM2"), "suited")
    assert "张三" in suited and "王五" not in suited  # W's assessment expired
    assert "张三" not in _section(_page(shelf, "cm_owner", "WM4"), "suited")  # R4 > C3
    # The latest assessment decides: an earlier, higher one no longer counts.
    assess(x, "C1", on=TODAY)
    RiskAssessment.objects.filter(customer=x, tolerance="C3").update(
        assessed_on=TODAY - dt.timedelta(days=30)
    )
    assert "张三" not in _section(_page(shelf, "cm_owner", "WM2"), "suited")


def test_a_private_product_suits_only_qualified_investors(shelf):
    assess(shelf.x, "C5")
    assert "张三" not in _section(_page(shelf, "cm_owner", "PRIV"), "suited")
    RiskAssessment.objects.filter(customer=shelf.x).update(qualified_investor=True)
    assert "张三" in _section(_page(shelf, "cm_owner", "PRIV"), "suited")


def test_a_closed_product_suits_no_one_and_holders_are_not_suggested(shelf):
    assess(shelf.x, "C5")
    assert "张三" not in _section(_page(shelf, "cm_owner", "OLD"), "suited")
    # X holds FND1 (R3): listed as a holder, not among the suited.
    page = _page(shelf, "cm_owner", "FND1")
    assert "张三" in _section(page, "holders") and "张三" not in _section(page, "suited")


def test_the_product_page_is_a_few_queries(shelf, django_assert_max_num_queries):
    for i in range(30):
        c = make_customer(f"P10{i:05d}", "客户", shelf.o1, aum=Decimal(10000 + i), tier="GOLD")
        own(c, shelf.staff["cm_owner"])
        assess(c, "C3")
        Account.objects.create(
            account_no=f"A{i:08d}",
            customer=c,
            product=shelf.products["FND1"],
            open_date=dt.date(2024, 1, 1),
            balance=Decimal(1000),
        )
    client = Client()
    client.force_login(shelf.staff["cm_owner"])
    with django_assert_max_num_queries(20):
        assert client.get("/products/FND1/").status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get("/products/WM2/").status_code == 200


# ------------------------------------------------------------------ the product manager's pages


def _form(product: Product, **changes) -> dict[str, str]:
    data = {
        "name": product.name,
        "category": product.category,
        "issuer_risk_level": product.issuer_risk_level,
        "seller_risk_level": product.seller_risk_level,
        "issuer": product.issuer,
        "currency": product.currency,
        "sale_status": product.sale_status,
        "min_amount": "" if product.min_amount is None else str(product.min_amount),
        "term_days": "" if product.term_days is None else str(product.term_days),
        "rate": "" if product.rate is None else str(product.rate),
        "motives": [m for m in product.motives.split("|") if m],
    }
    if product.private:
        data["private"] = "on"
    data.update(changes)
    return data


def test_the_product_manager_changes_a_rate(shelf):
    pm = shelf.staff["product_manager"]
    client = Client()
    client.force_login(pm)
    product = shelf.products["WM2"]
    response = client.post("/products/WM2/edit/", _form(product, rate="2.6500"))
    assert response.status_code == 302, response.content.decode()[:2000]
    product.refresh_from_db()
    assert product.rate == Decimal("2.65")
    rate = ProductRate.objects.get(product=product)
    assert (rate.rate, rate.source, rate.effective, rate.recorded_by) == (
        Decimal("2.65"),
        "PAGE",
        TODAY,
        "pm",
    )
    event = AuditEvent.objects.get(action=Action.PRODUCT_EDIT)
    assert event.detail["product"] == "WM2"
    assert event.detail["changes"]["rate"] == ["2.4000", "2.6500"]
    # Saving again unchanged writes nothing.
    assert client.post("/products/WM2/edit/", _form(product)).status_code == 302
    assert ProductRate.objects.count() == 1
    assert AuditEvent.objects.filter(action=Action.PRODUCT_EDIT).count() == 1
    assert "2.65%" in _page(shelf, "cm_owner", "WM2")


def test_ratings_edit_the_level_that_applies(shelf):
    client = Client()
    client.force_login(shelf.staff["product_manager"])
    product = shelf.products["WM2"]
    client.post("/products/WM2/edit/", _form(product, issuer_risk_level="R5"))
    product.refresh_from_db()
    assert product.risk_level == "R5"
    event = AuditEvent.objects.get(action=Action.PRODUCT_EDIT)
    assert event.detail["changes"]["risk_level"] == ["R2", "R5"]


def test_an_investment_product_needs_a_rating(shelf):
    client = Client()
    client.force_login(shelf.staff["product_manager"])
    response = client.post(
        "/products/WM2/edit/", _form(shelf.products["WM2"], seller_risk_level="")
    )
    assert response.status_code == 400
    assert ProductRate.objects.count() == 0


def test_a_new_product_starts_its_rate_history(shelf):
    client = Client()
    client.force_login(shelf.staff["product_manager"])
    data = {
        "code": "WM-NEW",
        "name": "新发理财",
        "category": "WEALTH",
        "seller_risk_level": "R2",
        "currency": "CNY",
        "sale_status": "NEW_ISSUE",
        "rate": "3.1",
        "motives": ["APPRECIATE"],
    }
    assert client.post("/products/new/", data).status_code == 302
    product = Product.objects.get(code="WM-NEW")
    assert (product.risk_level, product.motives) == ("R2", "APPRECIATE")
    assert ProductRate.objects.get(product=product).source == "PAGE"
    assert AuditEvent.objects.get(action=Action.PRODUCT_EDIT).detail["created"] is True
    # The code is the natural key: taken once.
    assert client.post("/products/new/", data).status_code == 400


@pytest.mark.parametrize("persona", ["cm_owner", "outlet_head", "head_office", "auditor"])
def test_only_the_product_manager_edits(shelf, persona):
    client = Client()
    client.force_login(shelf.staff[persona])
    assert client.get("/products/WM2/edit/").status_code == 403
    assert (
        client.post("/products/WM2/edit/", _form(shelf.products["WM2"], rate="9")).status_code
        == 403
    )
    assert client.post("/products/new/", {"code": "X1"}).status_code == 403
    assert ProductRate.objects.count() == 0


def test_an_unknown_product_is_404(shelf):
    client = Client()
    client.force_login(shelf.staff["cm_owner"])
    assert client.get("/products/NOPE/").status_code == 404
    assert PASSWORD


# ------------------------------------------------------------------ the API


def _api(world, persona: str, query: str = "") -> tuple[int, dict]:
    from qiao.api.services import api_token_issue

    raw, _token = api_token_issue(staff=world.staff[persona])
    response = Client().get(f"/api/products{query}", HTTP_AUTHORIZATION=f"Bearer {raw}")
    return response.status_code, response.json()


def test_the_api_lists_the_shelf_filtered_as_the_page(shelf):
    status, body = _api(shelf, "lobby", "?category=WEALTH&motive=APPRECIATE")
    assert status == 200
    items = {i["code"]: i for i in body["items"]}
    assert set(items) == {"WM2", "WM4"}
    assert items["WM4"] == {
        "code": "WM4",
        "name": "权益理财",
        "category": "WEALTH",
        "risk_level": "R4",
        "currency": "USD",
        "sale_status": "CLOSING",
        "min_amount": "50000.00",
        "term_days": 730,
        "rate": None,
        "private": False,
        "motives": ["ACCUMULATE", "APPRECIATE"],
    }
    _status, unrated = _api(shelf, "cm_owner", "?category=DEMAND")
    assert [i["risk_level"] for i in unrated["items"]] == [None]


def test_a_bad_api_filter_is_a_400_naming_it(shelf):
    status, body = _api(shelf, "cm_owner", "?risk_level=R9&amount=-1")
    assert status == 400
    assert set(body["fields"]) == {"risk_level", "amount"}
    status, body = _api(shelf, "cm_owner", "?amount=lots")
    assert status == 422 and "amount" in body["fields"]
    assert Client().get("/api/products").status_code == 401
