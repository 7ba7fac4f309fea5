"""The campaigns API (issue 15 item 7): the shapes of ``GET /api/campaigns``,
``GET /api/campaigns/{id}/results`` and ``GET /api/segments``, scoped as the pages are."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from qiao.api.services import api_token_issue
from qiao.campaigns.models import Recipient
from qiao.campaigns.results import measure_campaign
from qiao.campaigns.sending import send_step
from tests.campaigns.conftest import sms_campaign
from tests.factories import make_account


def _get(staff, url: str):
    raw, _token = api_token_issue(staff=staff)
    return Client().get(url, HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_the_campaign_list_and_segments(bank):
    campaign = sms_campaign(bank)
    response = _get(bank.marketing, "/api/campaigns")
    assert response.status_code == 200
    items = response.json()["items"]
    assert [set(i) for i in items] == [
        {"id", "name", "aim", "status", "channels", "segment", "recipients", "created_at"}
    ]
    item = items[0]
    assert item["id"] == campaign.pk and item["aim"] == "CROSS_SELL"
    assert item["status"] == "APPROVED" and item["channels"] == ["SMS"]
    assert item["segment"] == "目标客群" and item["recipients"] is None
    segments = _get(bank.marketing, "/api/segments").json()["items"]
    assert segments == [
        {"id": campaign.segment_id, "name": "目标客群", "kind": "DYNAMIC", "count": 60}
    ]
    # A customer manager reads none of them.
    assert _get(bank.cm, "/api/campaigns").json() == {"items": []}
    assert _get(bank.cm, f"/api/campaigns/{campaign.pk}/results").status_code == 404
    assert Client().get("/api/campaigns").status_code == 401


def test_results_before_and_after_measurement(bank, any_hour):
    campaign = sms_campaign(bank)
    before = _get(bank.marketing, f"/api/campaigns/{campaign.pk}/results").json()
    assert before["treated"] == {"n": 0, "responders": 0} and before["uplift"] is None
    send_step(campaign.steps.get(number=1).pk)
    treated = list(Recipient.objects.filter(campaign=campaign, group="T")[:3])
    for r in treated:
        make_account(r.customer, bank.r2, 50_000, open_date=timezone.localdate())
    measure_campaign(campaign)
    response = _get(bank.marketing2, f"/api/campaigns/{campaign.pk}/results")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "treated",
        "control",
        "uplift",
        "ci_low",
        "ci_high",
        "incremental_aum",
        "cost",
        "roi",
    }
    n_t = Recipient.objects.filter(campaign=campaign, group="T").count()
    n_c = Recipient.objects.filter(campaign=campaign, group="C").count()
    assert body["treated"] == {"n": n_t, "responders": 3}
    assert body["control"] == {"n": n_c, "responders": 0}
    assert body["uplift"] == pytest.approx(3 / n_t)
    assert body["ci_low"] < body["uplift"] < body["ci_high"]
    assert float(body["cost"]) == pytest.approx(0.05 * n_t)
