"""The next-best products in a real browser, in 简体中文: a CM opens a C2 customer's 360 — no
R3–R5 product appears anywhere on it (the night's suggestions are suitable, the cross-sell is
re-checked); once the assessment has expired a stored suggestion is not offered and the rule that
blocks it is shown instead; the CM records an outcome by htmx."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from qiao.products.models import Product
from qiao.suitability.models import RiskAssessment, Suggestion
from tests.workbench.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TODAY = timezone.localdate()


def _log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_a_c2_customer_sees_no_risky_product_and_a_blocked_suggestion_its_rule(
    browser, live_server, bank
):
    x = bank.x
    assessment = RiskAssessment.objects.create(
        customer=x,
        tolerance="C2",
        assessed_on=TODAY - dt.timedelta(days=30),
        valid_until=TODAY + dt.timedelta(days=300),
        source="BRANCH",
        customer_signed=True,
    )
    r2 = Product.objects.create(
        code="WM-R2", name="稳健理财二号", category="WEALTH", seller_risk_level="R2"
    )
    for level in ("R3", "R4", "R5"):
        Product.objects.create(
            code=f"FD-{level}", name=f"进取基金{level}", category="FUND", seller_risk_level=level
        )
    Suggestion.objects.create(
        customer=x,
        product=r2,
        as_of=TODAY - dt.timedelta(days=1),
        rank=1,
        reason_code="MATURITY",
        reason_params={"amount": 100000, "days": 30},
        expected_gain=Decimal("450"),
        money_free=Decimal("100000"),
    )
    base = live_server.url
    context = browser.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-hans"})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    _log_in(page, base, "cm_owner")

    page.goto(f"{base}/customers/{x.customer_no}/")
    section = page.locator("#suggestions")
    section.wait_for()
    text = section.inner_text()
    assert "下一个最佳产品" in text
    assert "稳健理财二号" in text and "10.00万元 30 天内到期" in text
    whole = page.locator("body").inner_text()
    for level in ("R3", "R4", "R5"):
        assert f"进取基金{level}" not in whole

    # The CM records "not now" (htmx: the section is redrawn in place).
    section.locator("select[name=status]").select_option("NOT_NOW")
    section.locator("button[type=submit]").click()
    page.locator("#suggestions .badge", has_text="暂不考虑").wait_for()

    # The assessment expires: the suggestion is not offered; the rule says why, in Chinese.
    assessment.valid_until = TODAY - dt.timedelta(days=1)
    assessment.save(update_fields=["valid_until"])
    page.goto(f"{base}/customers/{x.customer_no}/")
    blocked = page.locator("#suggestions-blocked")
    blocked.wait_for()
    assert "稳健理财二号" in blocked.inner_text()
    assert "重新评估" in blocked.inner_text() or "评估" in blocked.inner_text()
    assert page.locator("#suggestions tr[data-product]").count() == 0
    assert problems == []
    context.close()
