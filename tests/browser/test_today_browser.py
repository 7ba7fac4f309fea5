"""Today on a 390 px phone, in 简体中文 and English (issue 13 item 1): one row for a customer with
several reasons, no sideways scroll, and an item closed without a contact with its reason."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from qiao.engagement.models import WorkItem
from tests.workbench.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

_NO_SIDEWAYS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def _items(bank) -> list[WorkItem]:
    today = timezone.localdate()
    staff, x = bank.staff["cm_owner"], bank.x
    specs = [
        (
            "MATURITY",
            "MATURITY",
            {
                "product": "一年定期储蓄存款（整存整取，到期自动转存）",
                "amount": "400000.00",
                "date": today.isoformat(),
            },
        ),
        (
            "CONTACT_DUE",
            "CADENCE_NEVER",
            {"requirement": "CALL", "tier": "GOLD", "interval": 30, "window": 92},
        ),
        ("BIRTHDAY", "BIRTHDAY", {"date": today.isoformat()}),
    ]
    return [
        WorkItem.objects.create(
            staff=staff,
            customer=x,
            kind=kind,
            reason_code=code,
            reason_params=params,
            reason_text="A reason long enough to wrap on a narrow phone screen " * 3,
            value_at_stake=Decimal(value),
            due=today - dt.timedelta(days=i),
            list_day=today,
            cause_key=f"TEST:{kind}:{i}",
        )
        for i, ((kind, code, params), value) in enumerate(
            zip(specs, ("1234567.00", "50000.00", "800.00"), strict=True)
        )
    ]


@pytest.mark.parametrize(
    ("locale", "accept", "words"),
    [
        (
            "zh-CN",
            "zh-hans",
            {"close": "不经联系关闭", "reason": "已通过其他渠道办理", "sum": "128.54万元"},
        ),
        (
            "en-US",
            "en",
            {
                "close": "Close without a contact",
                "reason": "Done elsewhere",
                "sum": "¥1,285,367.00",
            },
        ),
    ],
)
def test_today_on_a_phone(browser, live_server, bank, locale, accept, words):
    items = _items(bank)
    base = live_server.url
    context = browser.new_context(
        locale=locale,
        extra_http_headers={"Accept-Language": accept},
        viewport={"width": 390, "height": 844},
    )
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", "cm_owner")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/today/")
    row = page.locator(f"#row-c{bank.x.pk}")
    assert row.count() == 1
    # The three items' value at stake, summed, as every page writes amounts (issue 13 item 6).
    assert words["sum"] in row.inner_text()
    assert page.evaluate(_NO_SIDEWAYS), page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    # Close the birthday greeting without a contact, saying why.
    birthday = page.locator(f"#item-{items[2].pk}")
    birthday.locator("summary", has_text=words["close"]).click()
    assert page.evaluate(_NO_SIDEWAYS)
    birthday.locator("select[name=reason]").select_option(label=words["reason"])
    birthday.locator("button[type=submit]").click()
    page.locator(f"#item-{items[2].pk}").wait_for(state="detached", timeout=10_000)
    items[2].refresh_from_db()
    assert (items[2].status, items[2].close_reason) == ("DONE", "DONE_ELSEWHERE")
    # Grouped by kind, still no sideways scroll.
    page.goto(f"{base}/today/?group=kind")
    assert page.locator(f"#row-c{bank.x.pk}").count() == 2
    assert page.evaluate(_NO_SIDEWAYS)
    context.close()
