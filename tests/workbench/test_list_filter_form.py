"""The list's filter form is rendered once per language, data and tier labels and then reused
(``qiao.customers.views._filter_fields_html``): what a reader sees must not depend on what was
rendered for somebody else before."""

from __future__ import annotations

import re

from qiao.customers import views


def _selected_sort(page: str) -> list[str]:
    block = page[page.index('name="sort"') :]
    block = block[: block.index("</select>")]
    return re.findall(r'<option value="([^"]*)" selected>', block)


def test_the_reused_filter_form_follows_language_data_and_errors(bank, login):
    views._FILTER_HTML.clear()
    client = login("head_office")
    for _ in range(2):  # the second round is served from what the first rendered
        english = client.get("/customers/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        chinese = client.get("/customers/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "Holds category" in english and "Holds category" not in chinese
        by_aum = client.get("/customers/?sort=-aum", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        by_contribution = client.get(
            "/customers/?sort=-contribution&page=2", HTTP_ACCEPT_LANGUAGE="en"
        ).content.decode()
        assert _selected_sort(by_aum) == ["-aum"]
        assert _selected_sort(by_contribution) == ["-contribution"]
        wrong = client.get("/customers/?aum_min=abc", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert 'value="abc"' in wrong and "is-invalid" in wrong
        assert "is-invalid" not in by_aum
    # The page number is not part of the form: one entry for each language and data.
    assert len(views._FILTER_HTML) == 5


def test_the_reused_filter_forms_are_bounded(bank, login):
    views._FILTER_HTML.clear()
    client = login("head_office")
    kept, views._FILTER_HTML_SIZE = views._FILTER_HTML_SIZE, 3
    try:
        for n in range(6):
            page = client.get(f"/customers/?occupation=x{n}", HTTP_ACCEPT_LANGUAGE="en")
            assert f'value="x{n}"' in page.content.decode()
        assert len(views._FILTER_HTML) == 3
    finally:
        views._FILTER_HTML_SIZE = kept
