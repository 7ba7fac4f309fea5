"""The product shelf in a real browser, in 简体中文: a CM filters the shelf, opens a product and
sees its rate history, the customer who holds it and those it suits, in words; nothing blocked by
the CSP."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from qiao.products.models import ProductRate
from qiao.suitability.models import RiskAssessment
from tests.workbench.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_product_page_in_simplified_chinese(browser, live_server, bank):
    today = timezone.localdate()
    fund = bank.products["FND1"]
    fund.issuer_risk_level, fund.seller_risk_level, fund.rate = "R2", "R3", Decimal("2.5")
    fund.save()
    ProductRate.objects.create(
        product=fund, effective=today - dt.timedelta(days=30), rate=Decimal("2.1"), source="LOAD"
    )
    ProductRate.objects.create(product=fund, effective=today, rate=Decimal("2.5"), source="PAGE")
    RiskAssessment.objects.create(
        customer=bank.x,
        tolerance="C2",  # X holds the R3 fund above their level: listed for review
        assessed_on=today - dt.timedelta(days=10),
        valid_until=today + dt.timedelta(days=355),
        source="BRANCH",
        customer_signed=True,
    )
    base = live_server.url
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(f"{base}/login/")
    page.fill("#id_username", "cm_owner")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    page.click("nav a[href='/products/']")
    page.wait_for_url(f"{base}/products/")
    page.select_option("#id_category", "FUND")
    page.click("#shelf-filter button[type=submit]")
    page.locator("#shelf-table a", has_text="稳健基金").wait_for(timeout=10_000)
    assert "基金" in page.locator("#shelf-table").inner_text()
    assert page.locator("h1").inner_text() == "产品货架"
    page.click("#shelf-table a:has-text('稳健基金')")
    page.wait_for_url(f"{base}/products/FND1/")

    facts = page.locator("#product-facts").inner_text()
    assert "R3" in facts and "基金" in facts
    assert "发行方评级" in facts and "本行评级" in facts
    history = page.locator("#rate-history").inner_text()
    assert "2.50%" in history and "2.10%" in history and today.isoformat() in history
    holders = page.locator("#holders").inner_text()
    assert (
        "张三" in holders and "待复核" in holders and "高于客户评估的风险承受能力 稳健" in holders
    )
    assert "FUND" not in page.content().split("<main", 1)[1].split("</main>", 1)[0]
    assert not [p for p in problems if re.search("Content Security Policy|Refused", p)], problems
    context.close()
