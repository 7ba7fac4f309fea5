"""The REST API: token auth (through django-axes), errors, scoped list and detail, OpenAPI docs."""

from __future__ import annotations

import datetime as dt
import json

from django.utils import timezone

from qiao.api.models import ApiToken
from qiao.api.services import api_token_issue
from qiao.audit.models import AuditEvent
from tests.workbench.conftest import PASSWORD


def _ask_token(client, username: str, password: str = PASSWORD, **extra):
    return client.post(
        "/api/auth/token",
        json.dumps({"username": username, "password": password}),
        content_type="application/json",
        **extra,
    )


def test_token_login_and_use(bank, client):
    response = _ask_token(client, "cm_owner")
    assert response.status_code == 200
    token = response.json()["token"]
    assert len(token) >= 40
    stored = ApiToken.objects.get(staff=bank.staff["cm_owner"])
    assert token not in (stored.key_hash, stored.prefix) and stored.key_hash != token
    assert stored.expires_at > timezone.now() + dt.timedelta(hours=7)
    listing = client.get("/api/customers", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert listing.status_code == 200
    body = listing.json()
    assert body["count"] == 1
    item = body["items"][0]
    assert {k: item[k] for k in ("customer_no", "name", "tier", "owner", "id_no", "mobile")} == {
        "customer_no": "P0000001",
        "name": "张三",
        "tier": "GOLD",
        "owner": "cm_owner",
        "id_no": "360426********0071",
        "mobile": "139****5678",
    }
    assert float(item["aum"]) == 500000
    assert AuditEvent.objects.filter(action="API_TOKEN", username="cm_owner").count() == 1


def test_bad_credentials_and_bad_tokens(bank, client):
    wrong = _ask_token(client, "cm_owner", "wrong password here")
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "The username or password is wrong.", "fields": {}}
    failed = AuditEvent.objects.get(action="LOGIN_FAILED")
    assert failed.username == "cm_owner"
    assert "wrong password" not in json.dumps(failed.detail)
    assert client.get("/api/customers").status_code == 401
    assert client.get("/api/customers", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    raw, token = api_token_issue(staff=bank.staff["cm_owner"])
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get("/api/customers", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    raw, _token = api_token_issue(staff=bank.staff["cm_peer"])
    bank.staff["cm_peer"].is_active = False
    bank.staff["cm_peer"].save()
    assert client.get("/api/customers", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    malformed = client.post("/api/auth/token", "not json", content_type="application/json")
    assert malformed.status_code in (400, 422)
    assert "error" in malformed.json()


def test_token_endpoint_locks_out_after_five_failures(bank, client):
    codes = [_ask_token(client, "cm_owner", "wrong password here").status_code for _ in range(5)]
    assert codes == [401] * 4 + [429]  # the fifth failure locks
    locked = _ask_token(client, "cm_owner")  # the right password, too late
    assert locked.status_code == 429
    assert "token" not in locked.json()
    # Lock-out is per user and address: another address may still log in.
    assert _ask_token(client, "cm_owner", REMOTE_ADDR="10.9.9.9").status_code == 200


def test_list_filters_and_pages(bank, client):
    raw, _token = api_token_issue(staff=bank.staff["head_office"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    gold = client.get("/api/customers?tiers=GOLD", **headers).json()
    assert [i["customer_no"] for i in gold["items"]] == ["P0000001", "C0000001"]
    page = client.get("/api/customers?page=2&page_size=2&sort=-aum", **headers).json()
    assert page["count"] == 5
    assert [i["customer_no"] for i in page["items"]] == ["P0000003", "C0000001"]
    bad = client.get("/api/customers?aum_min=lots", **headers)
    assert bad.status_code == 400
    assert "aum_min" in bad.json()["fields"]
    no_owner = client.get("/api/customers?owner=-", **headers).json()
    assert all(i["owner"] is None for i in no_owner["items"]) and no_owner["count"] == 3


def test_detail_is_masked_and_audited(bank, client):
    raw, _token = api_token_issue(staff=bank.staff["cm_owner"])
    detail = client.get("/api/customers/P0000001", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert detail["address"] == "江西省九江市德安县****"
    assert detail["email"] == "zha***@example.com"
    assert detail["birth_year"] == 1991
    assert "school" in detail["completeness"]["missing"]
    assert detail["owners"][0]["username"] == "cm_owner"
    event = AuditEvent.objects.get(action="VIEW")
    assert (event.customer_no, event.channel) == ("P0000001", "API")


def test_openapi_and_docs_are_served_without_a_cdn(bank, client):
    schema = client.get("/api/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {
        "/api/auth/token",
        "/api/customers",
        "/api/customers/{customer_no}",
        "/api/customers/{customer_no}/reveal",
    } <= set(paths)
    assert "patch" in paths["/api/customers/{customer_no}"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert "script-src 'self'" in docs["Content-Security-Policy"]
    assert client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200
