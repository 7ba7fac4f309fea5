"""Issue 13 items 6 and 9: amounts written by one rule on Today, prospects, plans, notifications
and the 360 (万元 in Chinese, ¥ with separators in English; to the fen in 元 where every fen
counts), never without thousands separators; and every list page's empty state says what to do
next, with the button for those who may press it."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation

from qiao.core.amounts import amount, exact_amount, grouped
from qiao.engagement.models import Plan, Prospect, WorkItem
from qiao.engagement.services import plan_create, prospect_create, referral_create
from qiao.org.models import Role
from tests.factories import make_staff, own
from tests.workbench.test_words import visible

UNGROUPED = re.compile(r"¥\s?-?\d{4,}|(?<![\d,.])\d{4,}(?:\.\d+)?\s?(?:万元|元)")


def _client(staff, language: str) -> Client:
    client = Client()
    client.force_login(staff)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def test_the_amount_helpers():
    with translation.override("zh-hans"):
        assert amount(Decimal("1234567.89")) == "123.46万元"
        assert exact_amount(Decimal("13.7")) == "13.70元"
        assert exact_amount(Decimal("1234567.891")) == "1,234,567.89元"
    with translation.override("en"):
        assert amount(Decimal("1234567.89")) == "¥1,234,567.89"
        assert exact_amount(Decimal("-1234.5")) == "-¥1,234.50"
    assert grouped(Decimal("1234567.5")) == "1,234,567.50"
    assert grouped(12345, 0) == "12,345"
    assert exact_amount("abc") == "—" and grouped(None) == "—"


@pytest.fixture
def cm_day(bank):
    """On cm_owner's pages: a work item worth 1,234,567, a prospect card of 800,000, a plan of
    200,000 and a lobby referral of 800,000 — each one amount, on its own page."""
    cm, today = bank.staff["cm_owner"], timezone.localdate()
    WorkItem.objects.create(
        staff=cm,
        customer=bank.x,
        kind="MATURITY",
        reason_code="MATURITY",
        reason_params={"product": "一年定期", "amount": "400000.00", "date": today.isoformat()},
        value_at_stake=Decimal("1234567.00"),
        due=today,
        list_day=today,
        cause_key="TEST:MATURITY",
    )
    prospect_create(
        owner=cm,
        data={
            "kind": "PERSON",
            "name": "孙七",
            "source": "ACQUAINTANCE",
            "classification": "PROFESSIONAL",
            "expected_value": Decimal("800000"),
            "likelihood": 20,
        },
    )
    plan_create(
        owner=cm,
        customer=bank.x,
        data={
            "title": "提升存款",
            "period": "QUARTERLY",
            "start": today,
            "end": today + dt.timedelta(days=90),
            "target_amount": Decimal("200000"),
            "baseline_amount": Decimal("500000"),
        },
    )
    own(bank.w, cm)  # a referral reaches its CM for a customer in their care
    referral_create(
        referrer_staff=bank.staff["lobby"],
        to_staff=cm,
        customer=bank.w,
        reason="LARGE_TRANSACTION",
        amount=Decimal("800000"),
    )
    return cm


#: page → the amount it must show, in Chinese and in English.
AMOUNTS = {
    "/today/": ("123.46万元", "¥1,234,567.00"),
    "/prospects/": ("80.00万元", "¥800,000.00"),
    "/plans/": ("20.00万元", "¥200,000.00"),
    "/notifications/": ("80.00万元", "¥800,000.00"),
    "/customers/P0000001/": ("50.00万元", "¥500,000.00"),
}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_one_amount_rule_on_today_prospects_plans_notifications_and_the_360(bank, cm_day, language):
    client = _client(cm_day, language)
    for url, (chinese, english) in AMOUNTS.items():
        text = " | ".join(visible(client.get(url).content.decode()))
        assert (chinese if language == "zh-hans" else english) in text, url
        # A Chinese reader counts in 万元 throughout: no ¥ beside it.
        assert language == "en" or "¥" not in text, (url, re.findall(r".{20}¥.{20}", text))
        assert not UNGROUPED.findall(text), (url, UNGROUPED.findall(text))
    # The work item's reason speaks the same way as its row (40.00万元, ¥400,000.00).
    today = " ".join(visible(client.get("/today/").content.decode()))
    assert ("40.00万元" if language == "zh-hans" else "¥400,000.00") in today
    # The card's and the plan's own pages, as their lists.
    card, plan = Prospect.objects.get(), Plan.objects.get()
    for url, figure in ((f"/prospects/{card.number}/", "800"), (f"/plans/{plan.pk}/", "200")):
        text = " | ".join(visible(client.get(url).content.decode()))
        assert (f"{figure[0]}0.00万元" if language == "zh-hans" else f"¥{figure},000.00") in text
        assert language == "en" or "¥" not in text, url
        assert not UNGROUPED.findall(text), (url, UNGROUPED.findall(text))


def test_counts_on_the_risk_page_are_counts_not_amounts(bank):
    risk = make_staff("risk_mgr", Role.RISK_MANAGER, bank.ho, "褚风险")
    page = _client(risk, "zh-hans").get("/risk/").content.decode()
    states = re.search(r'<p class="text-body-secondary small">(.*?)</p>', page, re.S)
    assert states and "：" in states.group(1) or ":" in states.group(1)
    assert "万元" not in states.group(1) and "¥" not in states.group(1)


def _empty(page: str, element_id: str) -> str:
    """The empty-state element's HTML (up to its closing tag's neighbourhood)."""
    start = page.index(f'id="{element_id}"')
    return page[start : start + 900]


@pytest.mark.parametrize(
    ("persona", "url", "element", "action"),
    [
        ("cm_owner", "/complaints/", "complaints-empty", 'href="/customers/"'),
        ("lobby", "/complaints/", "complaints-empty", 'href="/walk-in/"'),
        ("head_office", "/complaints/", "complaints-empty", None),
        ("cm_owner", "/referrals/", "referrals-empty", 'href="/referrals/new/"'),
        ("head_office", "/referrals/", "referrals-empty", None),
        ("cm_owner", "/prospects/", "prospects-empty", 'href="/prospects/new/"'),
        ("head_office", "/prospects/", "prospects-empty", None),
        ("cm_owner", "/plans/", "plans-empty", 'href="/plans/new/"'),
        ("head_office", "/plans/", "plans-empty", None),
        ("cm_owner", "/customers/?aum_min=999999999", "list-empty", 'href="/customers/"'),
        ("lobby", "/customers/", "list-empty", 'href="/walk-in/"'),
        ("cm_owner", "/customers/", "groups-empty", None),
        ("cm_owner", "/products/?q=nothing-like-this", "shelf-empty", 'href="/products/"'),
        ("cm_owner", "/today/?q=nothing-like-this", "worklist-empty", 'href="/today/"'),
        ("cm_owner", "/risk/key-accounts/", "key-accounts-empty", 'href="#ka-no"'),
        ("outlet_head", "/customers/exports/", "exports-mine-empty", 'href="/customers/"'),
        ("outlet_head", "/campaigns/", "campaigns-empty", 'href="/campaigns/new/"'),
        ("head_office", "/campaigns/", "campaigns-empty", None),
        ("head_office", "/campaigns/segments/", "segments-empty", None),
    ],
)
def test_empty_states_say_what_to_do_next(bank, persona, url, element, action):
    page = _client(bank.staff[persona], "en").get(url).content.decode()
    empty = _empty(page, element)
    text = " ".join(visible(empty.split("</td>")[0].split("</li>")[0]))
    # A sentence of what comes next, not a bare "No complaints."
    assert len(text.split()) >= 8, text
    if action:
        assert action in empty, (url, empty)
    else:
        # No button for what this reader may not do.
        assert "btn-primary" not in empty.split("</td>")[0].split("</div></div>")[0], empty


def test_marketing_gets_the_buttons_for_segments_and_campaigns(bank):
    marketing = make_staff("mkt", Role.MARKETING, bank.ho, "卫营销")
    client = _client(marketing, "en")
    segments = _empty(client.get("/campaigns/segments/").content.decode(), "segments-empty")
    assert 'href="/campaigns/segments/new/"' in segments
    assert 'href="/campaigns/segments/upload/"' in segments
    campaigns = _empty(client.get("/campaigns/?status=DRAFT").content.decode(), "campaigns-empty")
    assert 'href="/campaigns/"' in campaigns  # clear the filters


def test_warnings_and_exit_plans_say_where_they_come_from(bank):
    risk = make_staff("risk_mgr", Role.RISK_MANAGER, bank.ho, "褚风险")
    page = _client(risk, "en").get("/risk/").content.decode()
    assert "early-warning evaluation" in _empty(page, "warnings-empty")
    assert "page of a customer" in _empty(page, "exit-plans-empty")
