"""Issue 13's "Done means": every role walks its day in a real browser on a 390 px phone, in
简体中文 and in English — the pages its menu offers it, a customer's 360 where it may open one,
the first prospect card, plan and complaint its lists link to — and no page shows an untranslated
string (Chinese on an English page that is not data, English words on a Chinese page), a raw code
of the project's vocabularies or TextChoices, an amount without thousands separators, or scrolls
sideways.

One chromium serves every walk (one context per role and language) over a small bank built for
each walk in a third of a second. The pages of /reports/, /performance/ and /surveys/ are other
sessions' and are not walked here.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language_info

from qiao.core.vocab import VOCABULARIES
from qiao.org.models import Role
from tests.factories import PASSWORD, make_account, make_customer, make_staff, make_unit, own

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: Personas of the walk, one per role the issue names (the lobby manager stands for the teller:
#: one role, LOBBY, serves both).
PERSONAS: dict[str, tuple[str, str, str]] = {
    # username: (role, unit key, name)
    "walk_cm": (Role.CM, "o1", "王经理"),
    "walk_lead": (Role.TEAM_LEAD, "o1", "陈组长"),
    "walk_head": (Role.OUTLET_HEAD, "o1", "孙主任"),
    "walk_lobby": (Role.LOBBY, "o1", "郑大堂"),
    "walk_analyst": (Role.ANALYST, "ho", "周分析"),
    "walk_product": (Role.PRODUCT_MANAGER, "ho", "冯产品"),
    "walk_risk": (Role.RISK_MANAGER, "ho", "褚风险"),
    "walk_marketing": (Role.MARKETING, "ho", "卫营销"),
    "walk_auditor": (Role.AUDITOR, "ho", "吴审计"),
}
LANGUAGES = {"zh-hans": "zh-CN", "en": "en-US"}
#: Other sessions' apps, walked by their own tests; the API's docs and the admin are not pages of
#: a role's day.
NOT_WALKED = ("/reports/", "/performance/", "/surveys/", "/api/", "/admin/", "/i18n/")

#: List page → the item pages a walk opens from it (the first one linked).
ITEMS = {
    "/prospects/": [r"/prospects/P-[\w-]+/"],
    "/plans/": [r"/plans/\d+/"],
    "/complaints/": [r"/complaints/\d+/"],
}
CJK = re.compile(r"[\u3400-\u9fff]+")
TOKEN = re.compile(r"[A-Za-z0-9_]+")
#: An English word a Chinese page should not show: three letters or more, one of them lower case.
ENGLISH_WORD = re.compile(r"(?<![A-Za-z0-9@._-])[A-Za-z]*[a-z][A-Za-z]{1,}(?![A-Za-z0-9@])")
#: An amount written without grouping: a currency mark next to four digits or more in a row.
UNGROUPED = re.compile(r"¥\s?-?\d{4,}|(?<![\d,.])\d{4,}(?:\.\d+)?\s?(?:万元|万|元|yuan)")
#: Latin words a Chinese page may show: the brand, names of languages, abbreviations that are the
#: bank's own words in Chinese too, and units.
LATIN_IN_CHINESE = {"Qiao", "English", "WeChat", "Excel", "pp"}
#: Latin a Chinese page may quote as it is: the search box's pinyin example (zs → 张三), the
#: commands of qiao's CLI, IANA time-zone names (Asia/Shanghai), e-mail addresses.
VERBATIM = re.compile(
    r"（zs）|\(zs\)|qiao [a-z]+|[A-Z][a-z]+/[A-Za-z_]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
)

_TEXT_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const parent = node.parentElement;
    if (!parent || parent.closest('script, style, template, noscript')) continue;
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    if (text) out.push(text);
  }
  for (const el of document.querySelectorAll('[title], [placeholder], [aria-label]')) {
    for (const a of ['title', 'placeholder', 'aria-label']) {
      const v = el.getAttribute(a);
      if (v && v.trim()) out.push(v.trim());
    }
  }
  out.push(document.title);
  return out;
}"""
_HTMX_IDLE = "() => !document.querySelector('.htmx-request')"
_SIDEWAYS_JS = """() => {
  const d = document.documentElement;
  if (d.scrollWidth <= d.clientWidth) return null;
  const wide = [...document.querySelectorAll('body *')].filter(e => {
    const r = e.getBoundingClientRect();
    return r.right > d.clientWidth + 1 && !e.closest('.table-responsive, .overflow-auto');
  }).slice(0, 3).map(e => e.tagName + '#' + e.id + '.' + e.className);
  return [d.scrollWidth, d.clientWidth, wide];
}"""


def _codes() -> dict[str, set[str]]:
    """Every code of the project's vocabularies and TextChoices that a page must never show as
    such, with the labels it has (a code whose label is itself, like SMS, may be shown)."""
    from django.apps import apps
    from django.utils import translation

    apps.get_models()  # every app's models imported: every TextChoices defined

    def subclasses(cls: type) -> Iterator[type]:
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    pairs: list[tuple[str, Any]] = []
    for vocab in VOCABULARIES.values():
        from qiao.core.choices import choices

        pairs += choices(vocab)
    for cls in subclasses(models.TextChoices):
        if cls.__module__.startswith("qiao."):
            pairs += list(cls.choices)
    found: dict[str, set[str]] = {}
    for code, label in pairs:
        # Letters, one-letter and two-character codes (grades A-D, P/C, R2) are not words.
        if len(code) < 3 or not re.fullmatch(r"[A-Z][A-Z0-9_]*", code):
            continue
        labels = found.setdefault(code, set())
        for language in ("en", "zh-hans"):
            with translation.override(language):
                labels.add(str(label))
    return {code: labels for code, labels in found.items() if code not in labels}


@dataclass
class Walk:
    url: str
    names: set[str]
    codes: set[str]
    customer_no: str


def _build_bank() -> set[str]:
    """A small bank with something on each of the CM's pages; the names that are data."""
    from qiao.engagement.models import WorkItem
    from qiao.engagement.services import (
        complaint_create,
        plan_create,
        prospect_create,
        referral_create,
    )
    from qiao.products.models import Product

    ho = make_unit("HO", "HEAD_OFFICE", None, "总行")
    b01 = make_unit("B01", "BRANCH", ho, "城东分行")
    s01 = make_unit("S01", "SUB_BRANCH", b01, "解放路支行")
    o1 = make_unit("O1", "OUTLET", s01, "解放路网点")
    o2 = make_unit("O2", "OUTLET", s01, "人民路网点")
    units = {"ho": ho, "o1": o1}
    staff = {
        u: make_staff(u, role, units[unit], name) for u, (role, unit, name) in PERSONAS.items()
    }
    cm = staff["walk_cm"]
    make_staff("walk_other", Role.CM, o2, "钱经理")
    dem = Product.objects.create(code="DEM", name="活期储蓄", category="DEMAND")
    td = Product.objects.create(code="TD1Y", name="一年定期", category="TIME", term_days=365)
    x = make_customer(
        "P0000001",
        "张三",
        o1,
        occupation="教师",
        email="zhangsan@example.com",
        aum=Decimal("1234567.89"),
        contribution=Decimal("12345"),
        tier="GOLD",
    )
    z = make_customer(
        "C0000001",
        "九江德安建材有限公司",
        o1,
        customer_type="C",
        id_type="USCC",
        id_no="91110000600037341L",
        aum=Decimal("80000"),
        tier="PLATINUM",
    )
    w = make_customer("P0000003", "王五", o1, aum=Decimal("150000"), tier="ORDINARY")
    make_customer("P0000004", "赵六", o2, aum=Decimal("5000"), tier="RESTRICTED")
    for c in (x, z, w):
        own(c, cm)
    make_account(x, dem, "834567.89", account_no="6222000000000001", open_date=dt.date(2015, 6, 1))
    make_account(
        x,
        td,
        "400000",
        account_no="6222000000000011",
        open_date=dt.date(2025, 6, 1),
        maturity_date=dt.date(2026, 6, 1),
    )
    today = timezone.localdate()
    WorkItem.objects.create(
        staff=cm,
        customer=x,
        kind="MATURITY",
        reason_code="MATURITY",
        reason_params={"product": td.name, "amount": "400000.00", "date": today.isoformat()},
        value_at_stake=Decimal("1234567.00"),
        due=today,
        list_day=today,
        cause_key="WALK:MATURITY",
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
        customer=x,
        data={
            "title": "提升存款",
            "period": "QUARTERLY",
            "start": today,
            "end": today + dt.timedelta(days=90),
            "target_amount": Decimal("200000"),
            "baseline_amount": Decimal("1234567"),
        },
    )
    referral_create(
        referrer_staff=staff["walk_lobby"],
        to_staff=cm,
        customer=w,
        reason="LARGE_TRANSACTION",
        note="大额存款",
        amount=Decimal("800000"),
    )
    complaint_create(customer=x, by=cm, subject="转账到账慢", description="柜台转账两天未到账")
    names = {c.name for c in (x, z, w)} | {"孙七", "赵六", "活期储蓄", "一年定期", "提升存款"}
    names |= {"大额存款", "转账到账慢", "柜台转账两天未到账", "教师", "zhangsan@example.com"}
    names |= {u.name for u in (ho, b01, s01, o1, o2)} | {n for _r, _u, n in PERSONAS.values()}
    names |= {"钱经理", "桥"} | {get_language_info(c)["name_local"] for c, _n in settings.LANGUAGES}
    return names


@functools.cache
def _vocabulary_codes() -> frozenset[str]:
    return frozenset(_codes())


@pytest.fixture
def walk(live_server) -> Walk:
    # A bank per walk (0.3 s) in a transactional test: the server commits as it would in use, so
    # one failed request cannot spoil the next (on SQLite the server shares the test's in-memory
    # connection, and a test transaction around the walk would be shared by every request).
    names = _build_bank()
    return Walk(live_server.url, names, set(_vocabulary_codes()), "P0000001")


def _problems(texts: list[str], *, english: bool, walk: Walk) -> list[str]:
    found = []
    for text in texts:
        for token in TOKEN.findall(text):
            if token in walk.codes:
                found.append(f"code {token!r} in {text!r}")
        for amount in UNGROUPED.findall(text):
            found.append(f"ungrouped amount {amount!r} in {text!r}")
        if english:
            for run in CJK.findall(text):
                if not any(run in name for name in walk.names):
                    found.append(f"Chinese {run!r} in {text!r}")
        else:
            for word in ENGLISH_WORD.findall(VERBATIM.sub(" ", text)):
                if word not in LATIN_IN_CHINESE and not any(word in n for n in walk.names):
                    found.append(f"English {word!r} in {text!r}")
    return found


def _menu(page) -> list[str]:
    hrefs = page.eval_on_selector_all("#nav a[href]", "els => els.map(e => e.getAttribute('href'))")
    seen: list[str] = []
    for href in hrefs:
        if href.startswith("/") and not href.startswith(NOT_WALKED) and href not in seen:
            seen.append(href)
    return seen


@pytest.mark.parametrize("language", list(LANGUAGES))
@pytest.mark.parametrize("username", list(PERSONAS))
def test_every_role_walks_its_day_on_a_phone(browser, walk, username, language):
    context = browser.new_context(
        locale=LANGUAGES[language],
        extra_http_headers={"Accept-Language": language},
        viewport={"width": 390, "height": 844},
    )
    # The test server shares one SQLite connection between its threads: no request in the
    # background of a navigation (a browser's own /favicon.ico ask; the icon is linked as SVG).
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    found: list[str] = []
    page.goto(f"{walk.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{walk.url}/")
    page.wait_for_function(_HTMX_IDLE)
    pages = _menu(page)
    assert "/" in pages and len(pages) >= 3, pages
    customer = f"/customers/{walk.customer_no}/"
    for url in pages:
        response = page.goto(f"{walk.url}{url}")
        # What htmx loads with the page (a card on the home page) is part of the page.
        page.wait_for_function(_HTMX_IDLE)
        assert response is not None and response.status == 200, (url, response and response.status)
        texts, sideways = page.evaluate(f"() => [({_TEXT_JS})(), ({_SIDEWAYS_JS})()]")
        found += [f"{url}: {p}" for p in _problems(texts, english=language == "en", walk=walk)]
        if sideways:
            found.append(f"{url}: scrolls sideways {sideways}")
        if url == "/customers/" and page.locator(f"a[href='{customer}']").count():
            pages.append(customer)
        # The day's items: the first prospect card, plan and complaint the lists link to.
        for pattern in ITEMS.get(url, ()):
            links = page.eval_on_selector_all(
                "main a[href]", "els => els.map(e => e.getAttribute('href'))"
            )
            pages += [h for h in links if re.fullmatch(pattern, h) and h not in pages][:1]
    context.close()
    assert not errors, errors
    assert not found, "\n".join(found)


def test_the_walk_fails_on_what_it_looks_for():
    """The checks themselves: each kind of defect the walk exists to catch is caught, and data
    (names, a pinyin example, a time zone) is not."""
    walk = Walk("", {"张三", "解放路网点"}, set(_codes()), "P0000001")
    assert {"DIAMOND", "MATURITY", "LARGE_TRANSACTION", "CM"} - walk.codes == {"CM"}
    english = ["Tier DIAMOND", "¥1234567.00", "Cost 12345.00 yuan", "Prospect (潜在客户资料卡)"]
    found = _problems(english, english=True, walk=walk)
    assert [f.split(" ")[0] for f in found] == ["code", "ungrouped", "ungrouped", "Chinese"]
    chinese = [
        "张三 of 40.00万元 matures on",
        "时区 Asia/Shanghai",
        "拼音首字母（zs）",
        "¥1,234.00",
    ]
    found = _problems(chinese, english=False, walk=walk)
    assert found == [
        "English 'of' in '张三 of 40.00万元 matures on'",
        "English 'matures' in '张三 of 40.00万元 matures on'",
        "English 'on' in '张三 of 40.00万元 matures on'",
    ]
    assert not _problems(["张三 · 解放路网点 · ¥1,234,567.00"], english=True, walk=walk)
