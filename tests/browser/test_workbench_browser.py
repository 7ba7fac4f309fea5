"""The workbench in a real browser: log in, find by pinyin initials, the 360, edit with a field
error then a fix that lands in the history; a CM of another outlet gets not-found."""

from __future__ import annotations

import re

import pytest

from qiao.customers.models import CustomerChange
from tests.workbench.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_cm_finds_edits_and_sees_history(browser, live_server, bank, lake):
    base = live_server.url
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    _log_in(page, base, "cm_owner")
    # Find 张三 by pinyin initials in the navbar's live search (htmx, POST).
    page.fill("#nav-q", "zs")
    result = page.locator("#nav-search-results a", has_text="张三")
    result.wait_for(timeout=10_000)
    result.click()
    page.wait_for_url(f"{base}/customers/P0000001/")
    assert page.locator("#customer-header h1").inner_text().startswith("张三")
    identity = page.locator("#identity").inner_text()
    assert "360426********0071" in identity and "139****5678" in identity
    # The AUM chart comes drawn with the page (inline SVG, no chart library); its labels do not
    # overlap as the browser lays them out.
    page.locator("#aum-chart svg").first.wait_for(timeout=15_000)
    boxes = [
        b
        for b in (t.bounding_box() for t in page.locator("#aum-chart svg text").all())
        if b is not None
    ]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = (
                a["x"] + a["width"] <= b["x"] + 0.5
                or b["x"] + b["width"] <= a["x"] + 0.5
                or a["y"] + a["height"] <= b["y"] + 0.5
                or b["y"] + b["height"] <= a["y"] + 0.5
            )
            assert apart, (a, b)

    # A bad mobile: the field's own error, nothing saved.
    page.click("text=Edit profile")
    page.wait_for_url(f"{base}/customers/P0000001/edit/")
    page.fill("#id_mobile", "12345")
    page.click("#profile-form button[type=submit]")
    error = page.locator("#error-mobile")
    error.wait_for()
    assert "11 digits" in error.inner_text()
    assert "is-invalid" in (page.locator("#id_mobile").get_attribute("class") or "")
    assert not CustomerChange.objects.exists()

    # Fixed: saved, back on the 360, and the change is in the history (masked, old → new).
    page.fill("#id_mobile", "13800001111")
    page.click("#profile-form button[type=submit]")
    page.wait_for_url(f"{base}/customers/P0000001/")
    history = page.locator("#change-history").inner_text()
    assert "139****5678" in history and "138****1111" in history
    assert "王经理" in history
    assert CustomerChange.objects.get().new_value == "13800001111"
    assert not [p for p in problems if re.search("Content Security Policy|Refused", p)], problems
    context.close()


def test_cm_of_another_outlet_gets_not_found(browser, live_server, bank):
    base = live_server.url
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    _log_in(page, base, "cm_other")
    response = page.goto(f"{base}/customers/P0000001/")
    assert response is not None and response.status == 404
    assert "张三" not in page.content()
    assert page.locator("#not-found").is_visible()
    # Nor through the search box.
    page.goto(f"{base}/")
    page.fill("#nav-q", "zs")
    page.locator("#nav-search-results .list-group").wait_for(timeout=10_000)
    assert "张三" not in page.locator("#nav-search-results").inner_text()
    context.close()
