"""Words, not codes (issue 13 items 4, 5, 6): every role's main pages in English and 简体中文 show
tiers, types, staff, outlets, fields and filters by their names; English pages are in English
(names of customers, staff, outlets and products are data and may be Chinese); the export and the
audit log speak the reader's language; the language switch is remembered; the admin is Qiao's."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.test import Client
from django.utils.translation import get_language_info

from qiao.core.vocab import VOCABULARIES
from qiao.customers.models import Customer
from qiao.org.models import OrgUnit, Staff
from qiao.products.models import PayrollRelation, Product

CJK = re.compile(r"[\u3400-\u9fff]+")
WORD = re.compile(r"[A-Za-z0-9_]+")
#: Codes of the project's enums long enough not to be a word or a label (GOLD, P, M are labels
#: or letters; DIAMOND, ORDINARY, RESTRICTED, CORPORATE … are not words a page should show).
ENUM_CODES = {
    c
    for v in VOCABULARIES.values()
    for c in v.codes
    if len(c) >= 4 and c.isupper() and "_" in c or c in {"DIAMOND", "PLATINUM", "RESTRICTED"}
}
PAGES = [
    "/",
    "/today/",
    "/customers/",
    "/coverage/",
    "/prospects/",
    "/plans/",
    "/referrals/",
    "/complaints/",
    "/audit/",
    "/analyst/",
    "/products/",
    "/customers/assignment/",
    "/customers/exports/",
]
ROLES = ["cm_owner", "outlet_head", "head_office", "auditor", "lobby"]


class _Text(HTMLParser):
    """The visible text of a page (and the attributes a reader sees), without scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.parts += [v for k, v in attrs if k in ("title", "placeholder", "aria-label") and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.parts


def _data_names() -> set[str]:
    """Names that are data in the bank's language: people, outlets, customers, products."""
    names = set(Customer.objects.values_list("name", flat=True))
    names |= set(Product.objects.values_list("name", flat=True))
    names |= set(OrgUnit.objects.values_list("name", flat=True))
    names |= {s.display_name for s in Staff.objects.all()}
    # Free text the bank records in its own language (occupation, address, an employer's name).
    for row in Customer.objects.values("occupation", "education", "hobbies", "address"):
        names |= {str(v) for v in row.values()}
    names |= set(PayrollRelation.objects.values_list("payer", flat=True))
    # The brand (桥 Qiao) and the language switch, each language named in its own.
    names |= {"桥", *(get_language_info(code)["name_local"] for code, _n in settings.LANGUAGES)}
    return {n for n in names if n}


def _client(staff: Staff, language: str) -> Client:
    client = Client()
    client.force_login(staff)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def problems(text_parts: list[str], *, english: bool, usernames: set[str], names: set[str]):
    found = []
    for text in text_parts:
        for word in WORD.findall(text):
            if word in ENUM_CODES:
                found.append(("code", word, text))
            if word in usernames:
                found.append(("username", word, text))
        if "{'" in text or "field:" in text:
            found.append(("repr", text, text))
        if english:
            for run in CJK.findall(text):
                if not any(run in name for name in names):
                    found.append(("chinese", run, text))
    return found


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_main_pages_speak_words_for_every_role(bank, lake, language):
    usernames = {u for u in Staff.objects.values_list("username", flat=True) if "_" in u}
    names = _data_names()
    pages = [*PAGES, f"/customers/{bank.x.customer_no}/", f"/customers/{bank.z.customer_no}/"]
    found = []
    for role in ROLES:
        client = _client(bank.staff[role], language)
        for url in pages:
            response = client.get(url)
            if response.status_code != 200:
                continue
            for p in problems(
                visible(response.content.decode()),
                english=language == "en",
                usernames=usernames,
                names=names,
            ):
                found.append((role, url, *p))
    assert not found, "\n".join(sorted({" ".join(f[:4]) + " in " + f[4] for f in found}))


def _export(client: Client) -> str:
    response = client.post("/customers/export/", {})
    return b"".join(response.streaming_content).decode("utf-8-sig")


def test_the_export_names_people_and_outlets_and_does_not_mask_a_company(bank):
    text = _export(_client(bank.staff["outlet_head"], "en"))
    mark, header, *rows = text.splitlines()
    assert "outlet_head" not in mark and "孙主任" in mark
    assert header.startswith("customer number,name,type,tier")
    assert not CJK.search(header)
    assert "cm_owner" not in text and "王经理" in text
    assert bank.o1.code not in text.replace(bank.x.customer_no, "")
    assert bank.o1.name in text
    # A company's name is not personal information; a person's is masked.
    assert bank.z.name in text
    assert bank.x.name not in text
    chinese = _export(_client(bank.staff["outlet_head"], "zh-hans")).splitlines()[1]
    assert chinese.startswith("客户号") or CJK.search(chinese)


def test_the_audit_log_in_words(bank, login):
    cm = _client(bank.staff["cm_owner"], "en")
    cm.get("/customers/?sort=-aum&tiers=DIAMOND")
    cm.post(f"/customers/{bank.x.customer_no}/reveal/", {"field": "mobile", "reason": "回访客户"})
    cm.post("/customers/export/", {"sort": "-aum"})
    page = _client(bank.staff["auditor"], "en").get("/audit/").content.decode()
    text = visible(page)
    joined = " | ".join(text)
    assert "{'" not in joined and "field: mobile" not in joined
    assert "王经理" in joined
    assert not [t for t in text if t == "cm_owner"]
    assert "AUM, largest first" in joined and "Mobile" in joined.title()
    assert "DIAMOND" not in joined


def test_tier_words_on_the_analyst_page_and_coverage(bank, lake):
    page = _client(bank.staff["head_office"], "en").get("/analyst/").content.decode()
    assert "Pyramid scheme" not in page
    assert "钻石" not in " ".join(visible(page))
    for url in ("/prospects/", "/plans/", "/referrals/"):
        h1 = re.search(
            r"<h1[^>]*>(.*?)</h1>", _client(bank.staff["cm_owner"], "en").get(url).content.decode()
        )
        assert h1 and not CJK.search(h1.group(1)), (url, h1 and h1.group(1))


def test_the_language_switch_is_in_the_menu_and_remembered(bank):
    client = Client()
    client.force_login(bank.staff["cm_owner"])
    page = client.get("/today/").content.decode()
    assert 'action="/i18n/setlang/"' in page and 'name="language"' in page
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/today/"})
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Today" in client.get("/today/").content.decode()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/today/"})
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"


def test_the_admin_is_branded_qiao(bank):
    client = Client()
    client.force_login(bank.staff["cm_owner"])
    admin = Staff.objects.create_superuser("root_admin", password="x-Pass-123456!")  # noqa: S106
    client.force_login(admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/admin/").content.decode()
    assert "Django administration" not in page and "Django site admin" not in page
    assert "Qiao" in page


def test_a_legal_representative_is_named_the_same_way_on_every_part_of_the_360(bank):
    from qiao.core.masking import mask_name
    from qiao.customers.models import Relationship

    bank.z.legal_rep = bank.y.name
    bank.z.save(update_fields=["legal_rep"])
    Relationship.objects.create(customer=bank.y, related=bank.z, relation="LEGAL_REP")
    # Y is of the other outlet: X's outlet head sees the company, not its representative.
    page = _client(bank.staff["outlet_head"], "en").get(f"/customers/{bank.z.customer_no}/")
    text = page.content.decode()
    assert bank.y.name not in text
    assert text.count(mask_name(bank.y.name)) >= 2
    # Head office sees both customers: the name in clear, in both places.
    page = _client(bank.staff["head_office"], "en").get(f"/customers/{bank.z.customer_no}/")
    assert page.content.decode().count(bank.y.name) >= 2


@pytest.mark.parametrize("language", ["en", "zh-hans", "zh-hant"])
def test_thousands_separators_in_every_language(language):
    from decimal import Decimal

    from django.template import Context, Template
    from django.utils import translation

    template = Template("{% load humanize %}¥{{ v|floatformat:0|intcomma }}")
    with translation.override(language):
        assert template.render(Context({"v": Decimal("1307985.40")})) == "¥1,307,985"


def test_the_audit_count_has_thousands_separators(bank):
    from qiao.audit.models import AuditEvent

    AuditEvent.objects.bulk_create([AuditEvent(username="cm_owner", action="VIEW")] * 1234)
    for language in ("en", "zh-hans"):
        page = _client(bank.staff["auditor"], language).get("/audit/").content.decode()
        assert "1,23" in page and "1234" not in page
