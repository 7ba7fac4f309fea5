"""The Chinese catalogues are complete, keep every placeholder, are compiled, and are served."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import polib
import pytest

import qiao

LOCALE = Path(qiao.__file__).resolve().parent / "locale"
LANGS = ["zh_Hans", "zh_Hant"]
CHECKOUT_SLACK_S = 2.0

# %(name)s / %(n)d, bare %s / %d, {name}, and the escaped %%.
PLACEHOLDER = re.compile(
    r"%\([A-Za-z0-9_]+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%[sdifr]|%%|\{[A-Za-z0-9_]*\}"
)
TAG = re.compile(r"</?[A-Za-z][^>]*>")


def _po(lang: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / lang / "LC_MESSAGES" / "django.po"))


def _entries(lang: str) -> list[polib.POEntry]:
    return [e for e in _po(lang) if not e.obsolete]


def _translations(entry: polib.POEntry) -> list[str]:
    if entry.msgid_plural:
        return [entry.msgstr_plural[k] for k in sorted(entry.msgstr_plural)]
    return [entry.msgstr]


def _names(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("lang", LANGS)
def test_header(lang: str) -> None:
    meta = _po(lang).metadata
    assert meta["Language"] == lang
    assert "charset=UTF-8" in meta["Content-Type"]
    assert meta["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_is_translated_and_none_is_fuzzy(lang: str) -> None:
    entries = _entries(lang)
    assert len(entries) > 500
    untranslated = [e.msgid for e in entries if not all(s.strip() for s in _translations(e))]
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    assert untranslated == []
    assert fuzzy == []
    assert not _po(lang).metadata_is_fuzzy


@pytest.mark.parametrize("lang", LANGS)
def test_placeholders_and_tags_are_kept(lang: str) -> None:
    wrong = []
    for e in _entries(lang):
        # Chinese has one plural form: it carries the plural msgid's placeholders.
        source = e.msgid_plural or e.msgid
        for text in _translations(e):
            if _names(text) != _names(source) or sorted(TAG.findall(text)) != sorted(
                TAG.findall(source)
            ):
                wrong.append((e.msgid, text))
    assert wrong == []


@pytest.mark.parametrize("lang", LANGS)
def test_catalogues_are_in_step(lang: str) -> None:
    """Both catalogues hold the same msgids (zh_Hant is derived from zh_Hans)."""
    other = "zh_Hant" if lang == "zh_Hans" else "zh_Hans"
    assert {e.msgid for e in _entries(lang)} == {e.msgid for e in _entries(other)}


@pytest.mark.parametrize("lang", LANGS)
def test_mo_is_compiled_from_the_current_po(lang: str) -> None:
    folder = LOCALE / lang / "LC_MESSAGES"
    po_path, mo_path = folder / "django.po", folder / "django.mo"
    assert mo_path.exists(), f"run django-admin compilemessages in qiao/ ({mo_path} missing)"
    # A fresh git checkout writes django.mo a moment before django.po (index order), so allow
    # that instant; an edit of the .po without compilemessages is caught here and, whatever
    # the clock, by the message-by-message comparison below.
    lag = po_path.stat().st_mtime - mo_path.stat().st_mtime
    assert lag < CHECKOUT_SLACK_S, f"{mo_path} is {lag:.0f} s older than its .po: compilemessages"
    with mo_path.open("rb") as fh:
        mo = gettext.GNUTranslations(fh)
    # _catalog holds one key per message plus the header (msgid ""); a plural message
    # is stored under (msgid, 0) for its one Chinese form.
    catalog = mo._catalog  # type: ignore[attr-defined]
    assert len([k for k in catalog if k != ""]) == len(_entries(lang))
    for e in _entries(lang):
        if e.msgid_plural:
            assert mo.ngettext(e.msgid, e.msgid_plural, 2) == e.msgstr_plural[0]
        elif e.msgctxt:
            assert mo.pgettext(e.msgctxt, e.msgid) == e.msgstr
        else:
            assert mo.gettext(e.msgid) == e.msgstr


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept", "expected", "lang"),
    [
        ("zh-CN", ["登录"], "zh-hans"),
        ("zh-TW", ["登入", "登錄"], "zh-hant"),
        ("zh-HK", ["登入", "登錄"], "zh-hant"),
        ("en", ["Log in"], "en"),
    ],
)
def test_login_page_speaks_the_browser_language(client, accept, expected, lang) -> None:
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE=accept)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{lang}">' in html
    assert any(word in html for word in expected), (accept, expected)
    if lang != "en":
        assert "Log in" not in html
