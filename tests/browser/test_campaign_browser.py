"""Issue 15's "Done means", in a real browser, in 简体中文: a marketing manager builds a segment of
白金 customers without e-banking (the live count follows the filters), drafts an SMS campaign for
an R2 product and submits it; a second marketing manager approves it; the background worker sends
it while the page polls its progress bar up to 100 %; customers without SMS consent or above
their risk level are left out (in words); after the next load's measurement the page shows
treated against control with the uplift and its interval. Nothing is blocked by the CSP."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from qiao.campaigns.models import Campaign, Message, Recipient
from qiao.campaigns.triggers import campaigns_nightly
from qiao.customers.models import Consent
from qiao.org.models import Role
from qiao.products.models import EBankingService, Product
from qiao.suitability.models import RiskAssessment
from tests.campaigns.conftest import all_day
from tests.factories import PASSWORD, make_account, make_customer, make_staff, make_unit, own

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: 40 白金 customers (4 with e-banking), 10 金; SMS consent for all but 6 of the 白金 without
#: e-banking; two of those assessed C1 (an R2 product does not suit them).
PLATINUM, GOLD = 40, 10


@pytest.fixture
def marketing_bank(settings, tmp_path: Path):
    settings.OUTBOX_DIR = tmp_path / "outbox"
    all_day(settings, tmp_path)  # no quiet hours: the test runs at any hour
    ho = make_unit("HO", "HEAD_OFFICE", None, "总行")
    b1 = make_unit("B01", "BRANCH", ho, "城东支行")
    o1 = make_unit("O0101", "OUTLET", b1, "城东网点")
    marketing = make_staff("marketing", Role.MARKETING, ho, "孙营销")
    make_staff("marketing2", Role.MARKETING, ho, "周审批")
    cm = make_staff("cm1", Role.CM, o1, "王经理")
    r2 = Product.objects.create(
        code="WM-R2",
        name="稳盈理财",
        category="WEALTH",
        seller_risk_level="R2",
        rate=Decimal("2.8"),
    )
    today = timezone.localdate()
    for i in range(PLATINUM + GOLD):
        c = make_customer(
            f"C{i + 1:05d}",
            f"客户{i + 1:02d}",
            o1,
            mobile=f"1380000{i + 1:04d}",
            tier="PLATINUM" if i < PLATINUM else "GOLD",
            aum=Decimal(2_000_000 - i * 10_000),
        )
        own(c, cm)
        if i < 4:
            EBankingService.objects.create(
                customer=c, service="MOBILE", opened_date=dt.date(2020, 1, 1)
            )
        if i < 4 + 30 or i >= PLATINUM:
            Consent.objects.create(
                customer=c, channel="SMS", state="GIVEN", on=dt.date(2025, 1, 1), source="CORE"
            )
        RiskAssessment.objects.create(
            customer=c,
            tolerance="C1" if i in (4, 5) else "C3",
            assessed_on=today - dt.timedelta(days=30),
            valid_until=today + dt.timedelta(days=330),
            source="BRANCH",
            customer_signed=True,
        )
    yield marketing, r2
    from qiao.campaigns.rules import campaign_rules

    campaign_rules.cache_clear()


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_a_campaign_from_segment_to_measured_uplift(browser, live_server, marketing_bank):
    marketing, r2 = marketing_bank
    base = live_server.url
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    _login(page, base, "marketing")

    # The segment: 白金, without e-banking; the live count follows each change.
    page.click("nav a[href='/campaigns/']")
    page.wait_for_url(f"{base}/campaigns/")
    page.click("#campaign-tabs a[href='/campaigns/segments/']")
    page.click("#new-segment")
    page.wait_for_url(f"{base}/campaigns/segments/new/")
    page.fill("#id_name", "白金无网银")
    page.select_option("#id_tiers", "PLATINUM")
    page.locator("#segment-count-number", has_text=str(PLATINUM)).wait_for(timeout=10_000)
    page.select_option("#id_ebanking", "NONE")
    page.locator("#segment-count-number", has_text=str(PLATINUM - 4)).wait_for(timeout=10_000)
    assert "未开通电子银行" in page.locator("#segment-words").inner_text()
    page.click("#segment-form button[type=submit]")
    page.wait_for_url(f"{base}/campaigns/segments/")
    assert "白金无网银" in page.locator("#segment-table").inner_text()

    # The campaign: an SMS for the R2 product, submitted.
    page.click("#campaign-tabs a[href='/campaigns/']")
    page.click("#new-campaign")
    page.wait_for_url(f"{base}/campaigns/new/")
    page.fill("#id_name", "稳盈理财推介")
    page.select_option("#id_aim", "CROSS_SELL")
    page.select_option("#id_segment", label="白金无网银")
    page.select_option("#id_products", "WM-R2")
    page.fill("#id_starts_on", timezone.localdate().isoformat())
    page.select_option("#id_s1_channel", "SMS")
    page.fill("#id_s1_cost_per_contact", "0.05")
    page.fill("#id_s1_A_zh_hans_body", "尊敬的{name}，{product}年化{rate}，欢迎咨询{manager}。")
    page.click("#campaign-form button[type=submit]")
    page.wait_for_url(re.compile(rf"{base}/campaigns/\d+/$"))
    campaign = Campaign.objects.get(name="稳盈理财推介")
    assert page.locator("#approve-campaign").count() == 0
    page.click("#submit-campaign")
    page.locator("#campaign-status", has_text="等待审批").wait_for()
    assert page.locator("#approve-campaign").count() == 0  # never by its author

    # A second marketing manager approves it.
    page.click("nav form[action='/logout/'] button")
    _login(page, base, "marketing2")
    page.goto(f"{base}/campaigns/{campaign.pk}/")
    page.click("#approve-campaign")
    page.locator("#campaign-status", has_text="已审批").wait_for()
    assert page.locator("#campaign-progress[hx-trigger='every 2s']").count() == 1

    # The worker sends in the background while the page polls. The page's progress requests
    # wait (routed) while the worker runs in this thread, so the two never share the test
    # database at once; then the polling brings the bar to 100 %.
    page.route("**/progress/", lambda route: route.continue_())
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)
    page.locator("#campaign-progress .step-progress[data-pct='100']").wait_for(timeout=15_000)
    page.locator("#campaign-progress[data-polling='0']").wait_for(timeout=10_000)
    sent = Message.objects.filter(step__campaign=campaign, status="SENT").count()
    treated = Recipient.objects.filter(campaign=campaign, group="T").count()
    assert sent == treated > 0

    # The plan in words: no SMS consent, an R2 above two customers' level.
    page.reload()
    plan = page.locator("#campaign-plan").inner_text()
    assert "没有该渠道的营销同意" in plan and "没有与其风险承受能力相适当的活动产品" in plan
    assert page.locator("#results-empty").count() == 1

    # The next day's load: four treated customers and one control customer bought the product.
    buyers = list(Recipient.objects.filter(campaign=campaign, group="T")[:4])
    buyers += list(Recipient.objects.filter(campaign=campaign, group="C")[:1])
    for r in buyers:
        make_account(r.customer, r2, 100_000, open_date=timezone.localdate())
    campaigns_nightly(timezone.localdate())
    page.reload()
    results = page.locator("#campaign-results")
    assert results.locator("svg.campaign-rates").count() == 1
    assert results.locator("svg.campaign-uplift line.interval").count() == 1
    words = page.locator("#uplift-words").inner_text()
    assert "95%置信区间" in words and "个百分点" in words
    assert f"{4 / treated * 100:.1f}%" in results.inner_text()
    assert "CROSS_SELL" not in results.inner_text()
    assert not [p for p in problems if re.search("Content Security Policy|Refused", p)], problems
    context.close()
