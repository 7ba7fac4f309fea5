"""The report pages and the API over HTTP: the index, the pyramid in each reader's scope, bad
parameters, the workbook (permission, audit), the API's JSON and workbook."""

from __future__ import annotations

import io

import openpyxl
from django.test import Client

from qiao.api.services import api_token_issue
from qiao.audit.models import Action, AuditEvent


def test_the_index_lists_the_reports_and_the_menu_links_it(login) -> None:
    page = login("cm_owner").get("/reports/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-report="pyramid"' in html and 'href="/reports/"' in html


def test_the_pyramid_is_scoped_cm_sees_own_outlet_head_subtree_analyst_bank(login) -> None:
    def customers(persona: str) -> int:
        table = login(persona).get("/reports/pyramid/").context["report"].table("tiers")
        return sum(r["customers"] for r in table.rows)

    assert customers("cm_owner") == 1  # X only
    assert customers("outlet_head") == 4  # X, Z, W and the small one at O1
    assert customers("head_office") == 5


def test_amounts_on_the_page_have_thousands_separators(login) -> None:
    html = login("head_office").get("/reports/pyramid/").content.decode()
    assert "¥580,000.00" in html and "<svg" in html


def test_a_bad_parameter_is_a_400_that_names_it(login) -> None:
    page = login("head_office").get("/reports/pyramid/?period=2026-13")
    assert page.status_code == 400
    assert "YYYY-MM" in page.content.decode()
    assert login("cm_owner").get("/reports/pyramid/?outlet=O2").status_code == 400


def test_the_workbook_is_audited_and_holds_numbers(login) -> None:
    response = login("outlet_head").get("/reports/pyramid/xlsx?outlet=O1")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    values = [row for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sum(r[1] for r in values) == 4
    event = AuditEvent.objects.get(action=Action.REPORT_EXPORT)
    assert event.detail["report"] == "pyramid" and event.detail["params"] == {"outlet": "O1"}
    assert login("lobby").get("/reports/pyramid/xlsx").status_code == 403


def test_the_api_answers_json_and_xlsx_in_the_callers_scope(bank) -> None:
    raw, _ = api_token_issue(staff=bank.staff["cm_owner"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    answer = Client().get("/api/reports/pyramid", **auth)
    assert answer.status_code == 200
    body = answer.json()
    assert body["name"] == "pyramid"
    tiers = next(t for t in body["tables"] if t["name"] == "tiers")
    assert sum(r["customers"] for r in tiers["rows"]) == 1
    assert {"key": "aum", "label": "AUM", "kind": "money"} in tiers["columns"]
    xlsx = Client().get("/api/reports/pyramid?format=xlsx", **auth)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    bad = Client().get("/api/reports/pyramid?format=csv", **auth)
    assert bad.status_code == 400 and "format" in bad.json()["fields"]
    assert Client().get("/api/reports/nothing", **auth).status_code == 404


def test_the_campaigns_report_lists_measured_campaigns_in_words(bank, login) -> None:
    import datetime as dt

    from qiao.campaigns.models import Campaign, CampaignStatus, Segment

    analyst = bank.staff["head_office"]
    segment = Segment.objects.create(name="白金无网银", kind="DYNAMIC", owner=analyst)
    common = {"aim": "CROSS_SELL", "segment": segment, "author": analyst}
    Campaign.objects.create(
        name="稳盈理财推介",
        status=CampaignStatus.FINISHED,
        starts_on=dt.date(2026, 9, 1),
        results={
            "treated": {"n": 1000, "responders": 50},
            "control": {"n": 100, "responders": 2},
            "uplift": 0.03,
            "incremental_aum": 5320000.0,
            "cost": 91.0,
            "roi": 12.4,
        },
        **common,
    )
    Campaign.objects.create(
        name="草稿", status=CampaignStatus.DRAFT, starts_on=dt.date(2026, 12, 1), **common
    )
    report = login("head_office").get("/reports/campaigns/").context["report"]
    rows = report.table("campaigns").rows
    assert [r["campaign"] for r in rows] == ["稳盈理财推介"]
    assert rows[0]["treated_rate"] == 0.05 and rows[0]["control_rate"] == 0.02
    assert rows[0]["aim"] != "CROSS_SELL"  # words, not the code
    # A CM authored none of them: an empty list, not someone else's campaign.
    assert login("cm_owner").get("/reports/campaigns/").context["report"].tables[0].rows == []
