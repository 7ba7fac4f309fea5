"""The charts in a real browser (issue 13 item 7, decision 0008): plain SVG, no chart library,
labels that do not overlap, on the 360 (drawn by the server) and on the analyst page (drawn by a
small script from the page's JSON)."""

from __future__ import annotations

import pytest

from tests.scoring.test_analyst import scored  # noqa: F401  (fixture)
from tests.workbench.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _apart(a: dict, b: dict) -> bool:
    return (
        a["x"] + a["width"] <= b["x"] + 0.5
        or b["x"] + b["width"] <= a["x"] + 0.5
        or a["y"] + a["height"] <= b["y"] + 0.5
        or b["y"] + b["height"] <= a["y"] + 0.5
    )


def assert_labels_apart(page, selector: str) -> int:
    boxes = [b for b in (t.bounding_box() for t in page.locator(selector).all()) if b]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert _apart(a, b), (selector, a, b)
    return len(boxes)


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_the_analyst_charts_draw_without_a_library(browser, live_server, bank, scored, locale):  # noqa: F811
    context = browser.new_context(locale=locale)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "head_office")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/analyst/")
    for chart in ("pyramid", "deposit", "holdout", "silhouette", "importance"):
        page.locator(f"#chart-{chart} svg").wait_for(timeout=10_000)
        assert assert_labels_apart(page, f"#chart-{chart} svg text") > 0, chart
    assert not [u for u in scripts if "plotly" in u]
    assert problems == []
    context.close()


def test_one_reveal_per_section_puts_the_value_in_its_place(browser, live_server, bank, lake):
    from tests.workbench.conftest import X_MOBILE

    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "cm_owner")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/customers/{bank.x.customer_no}/")
    assert page.locator("#identity form").count() == 1
    assert page.locator("#accounts form").count() == 1
    page.select_option("#reveal-identity select[name=field]", "mobile")
    page.fill("#reveal-identity input[name=reason]", "回访客户")
    page.click("#reveal-identity button[type=submit]")
    page.locator("#masked-mobile", has_text=X_MOBILE).wait_for(timeout=10_000)
    # the control is there for the next value, the other values still masked
    assert page.locator("#identity form").count() == 1
    assert "****" in page.locator("#masked-id_no").inner_text()
    page.select_option("#reveal-accounts select[name=field]", f"account:{bank.accounts['x_td'].pk}")
    page.fill("#reveal-accounts input[name=reason]", "转账核对")
    page.click("#reveal-accounts button[type=submit]")
    page.locator(
        f"#masked-account{bank.accounts['x_td'].pk}", has_text="6222000000000011"
    ).wait_for(timeout=10_000)
    context.close()
