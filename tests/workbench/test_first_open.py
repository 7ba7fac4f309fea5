"""Issue 13 items 7 and 9: a light 360 and the small things users notice."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.conf import settings
from django.test import override_settings

from qiao.audit.models import Action, AuditEvent
from qiao.web.charts import CHAR_W, aum_line_svg, nice_ticks

SERIES = [
    {"month": f"{2024 + (i + 2) // 12}-{(i + 2) % 12 + 1:02d}", "aum": 1_234_567.0 + 91_000 * i}
    for i in range(24)
]


def _snapshot(customer) -> None:
    from qiao.scoring.models import ScoreSnapshot

    ScoreSnapshot.objects.create(
        customer=customer,
        as_of=dt.date(2026, 2, 28),
        aum=Decimal(280000),
        contribution_year=Decimal(1),
        tier_pyramid="GOLD",
        features={"aum_series": [100.0 + 50_000 * i for i in range(24)]},
    )


def test_the_360_loads_no_chart_library_and_draws_the_aum_line_inline(bank, login):
    _snapshot(bank.x)
    client = login("cm_owner")
    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/customers/{bank.x.customer_no}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    page = page.content.decode()
    assert "plotly" not in page
    chart = page[page.index('id="aum-chart"') :]
    assert chart.index("<svg") < chart.index("</div>")
    assert "<polyline" in chart
    # Chinese pages count in 万元, with thousands separators.
    assert "万元" in chart[: chart.index("</svg>")]


def test_the_english_360_counts_in_yuan(bank, login):
    _snapshot(bank.x)
    client = login("cm_owner")
    client.cookies["django_language"] = "en"
    page = client.get(f"/customers/{bank.x.customer_no}/", HTTP_ACCEPT_LANGUAGE="en").content
    chart = page.decode()[page.decode().index('id="aum-chart"') :]
    assert "AUM (yuan)" in chart and "1,000,000" in chart


def _x_labels(svg: str) -> list[tuple[float, str]]:
    return [
        (float(x), text)
        for x, text in re.findall(r'class="x-tick" x="([\d.]+)"[^>]*>([^<]+)<', svg)
    ]


def test_the_aum_axis_labels_do_not_overlap():
    for n in (1, 2, 6, 12, 24):
        for wan in (True, False):
            svg = str(aum_line_svg(SERIES[:n], wan=wan, title="AUM"))
            xs = sorted(_x_labels(svg))
            assert xs, n
            for (x1, t1), (x2, t2) in zip(xs, xs[1:], strict=False):
                assert x2 - x1 >= (len(t1) + len(t2)) / 2 * CHAR_W + 4, (n, t1, t2)
            # labels stay inside the picture
            assert all(x - len(t) * CHAR_W / 2 >= 0 for x, t in xs)
            assert all(x + len(t) * CHAR_W / 2 <= 640 for x, t in xs)
            ys = [float(y) for y in re.findall(r'class="y-tick" x="[\d.]+" y="([\d.]+)"', svg)]
            assert len(ys) <= 6
            assert all(abs(a - b) >= 14 for a, b in zip(ys, ys[1:], strict=False))
    # the latest month is always labelled
    assert _x_labels(str(aum_line_svg(SERIES, wan=True, title="AUM")))[0][1] == SERIES[-1]["month"]


def test_nice_ticks_cover_the_top():
    for top in (0.3, 1, 7.5, 99, 100, 101, 280_000, 3_000_001):
        ticks = nice_ticks(top)
        assert ticks[0] == 0 and ticks[-1] >= top and len(ticks) <= 6


def test_one_reveal_control_per_section(bank, login):
    page = login("cm_owner").get(f"/customers/{bank.x.customer_no}/").content.decode()
    identity = page[page.index('id="identity"') : page.index('id="profile"')]
    accounts = page[page.index('id="accounts"') : page.index('id="transactions"')]
    assert identity.count('name="reason"') == 1
    assert accounts.count('name="reason"') == 1
    # the section's control names each masked value it can reveal
    assert 'value="mobile"' in identity and 'value="id_no"' in identity
    assert f'value="account:{bank.accounts["x_td"].pk}"' in accounts


def test_a_section_reveal_shows_the_value_in_place_and_keeps_the_control(bank, login):
    client = login("cm_owner")
    response = client.post(
        f"/customers/{bank.x.customer_no}/reveal/",
        {"field": "mobile", "reason": "回访客户", "section": "identity"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'id="masked-mobile"[^>]*hx-swap-oob="true">' + bank.x.mobile, html)
    assert html.count('name="reason"') == 1  # the control stays for the next value
    assert AuditEvent.objects.filter(action=Action.REVEAL).count() == 1
    # a refusal keeps the section's choices
    refused = client.post(
        f"/customers/{bank.x.customer_no}/reveal/",
        {"field": "id_no", "reason": "", "section": "identity"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert 'value="id_no" selected' in refused and "reveal-error" in refused


def test_a_corporate_360_hides_personal_fields(bank, login):
    bank.z.occupation = "教师"
    bank.z.hobbies = "钓鱼"
    bank.z.save(update_fields=["occupation", "hobbies"])
    page = login("outlet_head").get(f"/customers/{bank.z.customer_no}/").content.decode()
    assert "教师" not in page and "钓鱼" not in page
    assert "职业" not in page and "兴趣爱好" not in page
    # an individual's 360 keeps them
    person = login("cm_owner").get(f"/customers/{bank.x.customer_no}/").content.decode()
    assert "教师" in person


def test_a_favicon(bank, login, client):
    page = login("cm_owner").get("/").content.decode()
    href = re.search(r'<link rel="icon"[^>]*href="([^"]+)"', page)
    assert href
    icon = client.get(href.group(1))
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content if icon.streaming else [icon.content])


def test_an_amount_filter_given_letters_says_so(bank, login):
    client = login("cm_owner")
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        html = client.get("/customers/?aum_min=abc", **headers).content.decode()
        errors = html[html.index('id="filter-errors"') :]
        assert "AUM from (yuan)" in errors[: errors.index("</div></div>")], headers


def _search(client, q: str):
    return client.post("/customers/search/", {"q": q}, HTTP_HX_REQUEST="true")


def test_the_typeahead_audits_one_search_not_each_keystroke(bank, login):
    client = login("cm_owner")
    for q in ("z", "zs", "张", "张三"):
        assert _search(client, q).status_code == 200
    # "z" → "zs" is one search, "张" → "张三" another
    searches = list(AuditEvent.objects.filter(action=Action.SEARCH).order_by("id"))
    assert len(searches) == 2, [e.detail for e in searches]
    # a customer shown in one search is recorded once for it
    shown = AuditEvent.objects.filter(action=Action.VIEW_LIST, customer_no=bank.x.customer_no)
    assert shown.count() == 2


def test_a_new_search_after_a_pause_is_audited_again(bank, login):
    client = login("cm_owner")
    _search(client, "zs")
    with override_settings(QIAO={**settings.QIAO, "SEARCH_SETTLE_SECONDS": 0}):
        _search(client, "zs")
    assert AuditEvent.objects.filter(action=Action.SEARCH).count() == 2


def test_a_submitted_search_page_is_always_audited(bank, login):
    client = login("cm_owner")
    _search(client, "zs")
    client.post("/customers/search/", {"q": "zs"})  # the full page: the user pressed Enter
    assert AuditEvent.objects.filter(action=Action.SEARCH).count() == 2


def test_static_files_are_gzipped_and_pages_are_not(bank, login, client):
    css = client.get("/static/bootstrap/css/bootstrap.min.css", HTTP_ACCEPT_ENCODING="gzip")
    assert css.status_code == 200 and css["Content-Encoding"] == "gzip"
    page = login("cm_owner").get("/customers/", HTTP_ACCEPT_ENCODING="gzip")
    assert page.status_code == 200 and not page.has_header("Content-Encoding")


def test_an_empty_today_says_what_comes_next_without_a_missing_button(bank, login):
    page = login("cm_peer").get("/today/").content.decode()
    empty = page[page.index('id="worklist-empty"') :][:400]
    assert "Run the work list" not in page
    assert 'href="/customers/"' in empty
