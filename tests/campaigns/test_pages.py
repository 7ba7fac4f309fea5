"""The campaign pages (issue 15): every page in 简体 / 繁體 / English speaks words, not codes; the
segment builder's live count is the service's count in the builder's scope; an uploaded list
reports its bad lines; the author cannot approve their own campaign; the progress bar is polled
while sending; the results workbook opens; the form makes a campaign with its steps."""

from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from qiao.audit.models import AuditEvent
from qiao.campaigns.models import Campaign, CampaignStatus, Recipient, Segment, SegmentMember
from qiao.campaigns.results import measure_campaign
from qiao.campaigns.segments import SegmentFilters, segment_count
from qiao.campaigns.sending import send_step
from qiao.org.models import Staff
from tests.campaigns.conftest import sms_campaign
from tests.factories import make_account, make_staff, make_unit
from tests.workbench.test_words import ENUM_CODES, problems, visible

LANGUAGES = ["en", "zh-hans", "zh-hant"]
#: Latin words a Chinese page may show: the brand, abbreviations the bank uses as they are, the
#: product risk levels and file formats.
LATIN_OK = {"Qiao", "API", "AUM", "Excel", "CSV", "TXT", "UTF", "GBK", "pp", "R1", "R2", "R3"}
LATIN_OK |= {"R4", "R5", "A", "B", "p", "N", "UTF-8"}
#: Codes that must never show where a word is due (besides the vocabularies' codes).
CODES = {"CROSS_SELL", "PLATINUM", "SUBMITTED", "RUNNING", "DYNAMIC", "STATIC", "NO_CONSENT"}
CODES |= {"BOUGHT", "BALANCE_UP", "UNSUITABLE", "zh-hans", "zh-hant", "WM-R2"}


#: The message bodies of tests.campaigns.conftest.sms_campaign (data, shown as written).
BODIES = {
    "尊敬的{name}，{product}年化{rate}，欢迎咨询{manager}。",
    "Dear {name}, {product} pays {rate}.",
}


def _client(staff: Staff, language: str = "en") -> Client:
    client = Client()
    client.force_login(staff)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _measured(bank) -> Campaign:
    """An SMS campaign for the R2 product, sent, with three buyers (two treated, one control)."""
    campaign = sms_campaign(bank)
    send_step(campaign.steps.get(number=1).pk)
    treated = list(Recipient.objects.filter(campaign=campaign, group="T")[:2])
    control = list(Recipient.objects.filter(campaign=campaign, group="C")[:1])
    for r in treated + control:
        make_account(r.customer, bank.r2, 100_000, open_date=timezone.localdate())
    measure_campaign(campaign)
    campaign.refresh_from_db()
    return campaign


def _main(html: str) -> str:
    return html.split("<main", 1)[1].split(">", 1)[1].split("</main>", 1)[0]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_campaign_page_speaks_words_in_each_language(bank, any_hour, language):
    campaign = _measured(bank)
    assert campaign.status in (CampaignStatus.SENDING, CampaignStatus.RUNNING)
    draft = sms_campaign(bank, approve=False)
    segment = Segment.objects.filter(kind="DYNAMIC").first()
    assert segment is not None
    client = _client(bank.marketing, language)
    pages = [
        "/campaigns/",
        f"/campaigns/{campaign.pk}/",
        f"/campaigns/{campaign.pk}/progress/",
        "/campaigns/new/",
        f"/campaigns/{draft.pk}/edit/",
        "/campaigns/segments/",
        "/campaigns/segments/new/",
        f"/campaigns/segments/{segment.pk}/edit/",
        "/campaigns/segments/count/?tiers=PLATINUM&ebanking=NONE",
        "/campaigns/segments/upload/",
    ]
    found = []
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        text = visible(_main(html) if "<main" in html else html)
        found += [(url, *p) for p in problems(text, english=False, usernames=set(), names=set())]
        for part in text:
            if part in BODIES:
                continue  # a message the marketing manager wrote: data, in its own language
            part = re.sub(r"\{[a-z]+\}", "", part)  # the template variables
            for word in re.findall(r"[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9]+)*", part):
                if word in CODES or word in ENUM_CODES:
                    found.append((url, "code", word, part))
                elif language != "en" and word not in LATIN_OK:
                    found.append((url, "latin", word, part))
            if language == "en" and re.search(r"[\u3400-\u9fff]", part):
                names = {"稳盈理财", "进取基金", "目标客群", "稳盈理财推介", "孙营销", "周审批"}
                names |= {"尊敬的", "年化", "欢迎咨询", "城东支行", "城东网点", "总行"}
                if not any(n in part for n in names):
                    found.append((url, "chinese", part, part))
    assert not found, "\n".join(" ".join(map(str, f)) for f in found)


def test_detail_page_shows_plan_progress_and_results(bank, any_hour):
    campaign = _measured(bank)
    html = _client(bank.marketing2, "zh-hans").get(f"/campaigns/{campaign.pk}/").content.decode()
    main = _main(html)
    # The plan's exclusions in words: 10 customers never consented to SMS, 5 are C1 for an R2.
    assert "没有该渠道的营销同意" in main or "No consent" not in main
    assert 'class="campaign-rates"' in main and 'class="campaign-uplift"' in main
    # The uplift and its interval are drawn: an interval line and the estimate.
    assert 'class="interval"' in main and 'class="estimate"' in main
    assert 'id="results-empty"' not in main
    n_t = Recipient.objects.filter(campaign=campaign, group="T").count()
    assert f"{2 / n_t * 100:.1f}%" in main
    assert "交叉销售" in main and "短信" in main
    # Contacts cost cents: the cost in yuan with fen, not 0.00万元.
    assert f"{0.05 * n_t:,.2f}元" in main


def test_results_are_an_empty_state_before_measurement(bank):
    campaign = sms_campaign(bank)
    html = _client(bank.marketing).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="results-empty"' in html
    assert "results appear after the first load following the send" in html


def test_progress_is_polled_while_sending_and_not_after(bank, any_hour):
    campaign = sms_campaign(bank)  # approved: queued to start
    client = _client(bank.marketing)
    before = client.get(f"/campaigns/{campaign.pk}/progress/").content.decode()
    assert 'hx-trigger="every 2s"' in before
    send_step(campaign.steps.get(number=1).pk)
    campaign.refresh_from_db()
    after = client.get(f"/campaigns/{campaign.pk}/progress/").content.decode()
    assert 'hx-trigger="every 2s"' not in after
    assert 'data-pct="100"' in after


def test_the_live_count_is_the_services_count_in_the_builders_scope(bank):
    client = _client(bank.marketing)
    response = client.get("/campaigns/segments/count/?tiers=PLATINUM&ebanking=NONE")
    assert response.status_code == 200
    shown = int(
        re.search(r'id="segment-count-number">([\d,]+)<', response.content.decode())
        .group(1)  # type: ignore[union-attr]
        .replace(",", "")
    )
    filters = SegmentFilters.from_json({"tiers": ["PLATINUM"], "ebanking": "NONE"})
    assert shown == segment_count(staff=bank.marketing, filters=filters) == 20
    # An outlet head of another outlet counts none of these customers (their scope).
    other = make_unit("O0199", "OUTLET", bank.marketing.unit, "远郊网点")
    head = make_staff("head9", "OUTLET_HEAD", other, "远主任")
    response = _client(head).get("/campaigns/segments/count/?tiers=PLATINUM&ebanking=NONE")
    assert 'id="segment-count-number">0<' in response.content.decode()
    # A customer manager does not build segments.
    assert _client(bank.cm).get("/campaigns/segments/count/?tiers=GOLD").status_code == 403


@given(
    params=st.dictionaries(
        st.sampled_from(
            ["tiers", "aum_min", "aum_max", "age_min", "age_max", "attrition_min", "clv_min"]
            + ["stages", "motives", "risk_styles", "not_product", "owner", "outlet", "gender"]
        ),
        st.text(max_size=30),
        max_size=6,
    )
)
@hsettings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_the_live_count_answers_any_input_with_a_count(bank, params):
    params = {k: v.replace("\x00", "") for k, v in params.items()}
    response = _client(bank.marketing).get("/campaigns/segments/count/", params)
    assert response.status_code == 200
    assert re.search(r'id="segment-count-number">[\d,]+<', response.content.decode())


def test_saving_a_segment_from_the_builder(bank):
    client = _client(bank.marketing)
    response = client.post(
        "/campaigns/segments/new/",
        {"name": "白金无网银", "tiers": ["PLATINUM"], "ebanking": "NONE"},
    )
    assert response.status_code == 302
    segment = Segment.objects.get(name="白金无网银")
    assert segment.last_count == 20
    listing = client.get("/campaigns/segments/").content.decode()
    assert "白金无网银" in listing and "Without e-banking" in listing
    # No name: the form says so and nothing is saved.
    response = client.post("/campaigns/segments/new/", {"tiers": ["GOLD"]})
    assert response.status_code == 400
    assert Segment.objects.count() == 1


def test_an_uploaded_list_reports_its_bad_lines(bank):
    data = b"customer_no\nC00001\nbad number!\nC00001\nP9999999\nC00002\n"
    response = _client(bank.marketing).post(
        "/campaigns/segments/upload/",
        {"name": "活动名单", "file": SimpleUploadedFile("list.csv", data, "text/csv")},
    )
    assert response.status_code == 200
    html = response.content.decode()
    rows = re.findall(r"<tr><td>(\d+)</td><td><code>([^<]*)</code></td><td>([^<]*)</td></tr>", html)
    assert [(int(line), value) for line, value, _why in rows] == [
        (3, "bad number!"),
        (4, "C00001"),
        (5, "P9999999"),
    ]
    assert "repeats line 2" in rows[1][2]
    segment = Segment.objects.get(name="活动名单")
    assert SegmentMember.objects.filter(segment=segment).count() == 2


def test_an_upload_without_one_good_number_saves_nothing(bank):
    response = _client(bank.marketing).post(
        "/campaigns/segments/upload/",
        {"name": "空", "file": SimpleUploadedFile("x.txt", b"nope\nP0000000\n", "text/plain")},
    )
    assert response.status_code == 400
    assert "nothing was saved" in response.content.decode()
    assert not Segment.objects.filter(name="空").exists()


def test_the_author_cannot_approve_their_own_campaign(bank):
    campaign = sms_campaign(bank, approve=False)
    author = _client(bank.marketing)
    assert author.post(f"/campaigns/{campaign.pk}/submit/").status_code == 302
    page = author.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="approve-campaign"' not in page
    response = author.post(f"/campaigns/{campaign.pk}/approve/")
    assert response.status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SUBMITTED and campaign.approver is None
    assert not AuditEvent.objects.filter(action="CAMPAIGN_OK").exists()
    # Someone else approves.
    checker = _client(bank.marketing2)
    assert 'id="approve-campaign"' in checker.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert checker.post(f"/campaigns/{campaign.pk}/approve/").status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.APPROVED and campaign.approver == bank.marketing2


def test_refusing_needs_a_note(bank):
    campaign = sms_campaign(bank, approve=False)
    _client(bank.marketing).post(f"/campaigns/{campaign.pk}/submit/")
    checker = _client(bank.marketing2)
    checker.post(f"/campaigns/{campaign.pk}/refuse/", {"note": ""})
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SUBMITTED
    checker.post(f"/campaigns/{campaign.pk}/refuse/", {"note": "预算不足"})
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.REFUSED and campaign.decision_note == "预算不足"


def test_the_form_makes_a_campaign_with_steps_variants_and_languages(bank):
    segment = sms_campaign(bank, approve=False).segment
    client = _client(bank.marketing)
    response = client.post(
        "/campaigns/new/",
        {
            "name": "理财两步",
            "aim": "CROSS_SELL",
            "segment": segment.pk,
            "products": ["WM-R2"],
            "starts_on": timezone.localdate().isoformat(),
            "window_days": "30",
            "budget": "5000",
            "control_pct": "10",
            "exclude_contacted_days": "7",
            "s1_channel": "SMS",
            "s1_cost_per_contact": "0.05",
            "s1_A_zh_hans_body": "{name}您好，{product}年化{rate}。",
            "s1_B_zh_hans_body": "{name}，{manager}为您推荐{product}。",
            "s1_A_en_body": "Dear {name}, {product} pays {rate}.",
            "s2_channel": "PHONE",
            "s2_delay_days": "3",
            "s2_min_aum": "500000",
            "s2_cost_per_contact": "2",
            "s2_A_zh_hans_body": "致电{name}，介绍{product}。",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    campaign = Campaign.objects.get(name="理财两步")
    steps = list(campaign.steps.order_by("number"))
    assert [(s.channel, s.delay_days, s.min_aum) for s in steps] == [
        ("SMS", 0, None),
        ("PHONE", 3, Decimal("500000.00")),
    ]
    assert sorted((t.variant, t.language) for t in steps[0].templates.all()) == [
        ("A", "en"),
        ("A", "zh-hans"),
        ("B", "zh-hans"),
    ]
    # An unknown variable comes back on the form; nothing is saved.
    response = client.post(
        "/campaigns/new/",
        {
            "name": "坏模板",
            "aim": "CROSS_SELL",
            "segment": segment.pk,
            "starts_on": timezone.localdate().isoformat(),
            "window_days": "30",
            "budget": "0",
            "control_pct": "10",
            "exclude_contacted_days": "7",
            "s1_channel": "SMS",
            "s1_A_zh_hans_body": "{nmae}您好",
        },
    )
    assert response.status_code == 400
    assert "{nmae}" in response.content.decode()
    assert not Campaign.objects.filter(name="坏模板").exists()


def test_a_customer_manager_sees_no_campaign_and_cannot_draft(bank):
    campaign = sms_campaign(bank)
    client = _client(bank.cm)
    listing = client.get("/campaigns/").content.decode()
    assert campaign.name not in listing and 'id="campaigns-empty"' in listing
    assert client.get(f"/campaigns/{campaign.pk}/").status_code == 404
    assert client.get("/campaigns/new/").status_code == 403
    # The menu shows Campaigns to marketing, not to the CM.
    assert 'href="/campaigns/"' in _client(bank.marketing).get("/").content.decode()
    assert 'href="/campaigns/"' not in client.get("/").content.decode()


def _sheets(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        assert "xl/workbook.xml" in names
        return {n: z.read(n).decode("utf-8") for n in names if n.endswith(".xml")}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_results_workbook_opens_and_is_audited(bank, any_hour, language):
    campaign = _measured(bank)
    response = _client(bank.marketing2, language).get(f"/campaigns/{campaign.pk}/results.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    parts = _sheets(response.content)
    sheets = re.findall(r'<sheet name="([^"]+)"', parts["xl/workbook.xml"])
    strings = parts["xl/sharedStrings.xml"]
    if language == "en":
        assert sheets == ["Summary", "By step", "By variant", "By response kind"]
        assert "Treated response rate" in strings and "Cross-sell" in strings
    else:
        assert len(sheets) == 4 and all(re.search(r"[\u4e00-\u9fff]", s) for s in sheets)
        assert "交叉销售" in strings and "Treated" not in strings
    # Thousands separators and percentages are number formats, the numbers stay numbers.
    assert 'formatCode="#,##0"' in parts["xl/styles.xml"]
    assert 'formatCode="0.0%"' in parts["xl/styles.xml"]
    n_t = Recipient.objects.filter(campaign=campaign, group="T").count()
    assert f"<v>{n_t}</v>" in parts["xl/worksheets/sheet1.xml"]
    event = AuditEvent.objects.get(action="CAMPAIGN_EXPORT", username=bank.marketing2.username)
    assert event.detail["campaign"] == campaign.pk
