"""Masking by default, reveal with a reason (audited, rate-limited), and the masking property."""

from __future__ import annotations

import csv
import io
import json
import string

from hypothesis import given
from hypothesis import strategies as st

from qiao.api.services import api_token_issue
from qiao.audit.models import AuditEvent
from qiao.core.masking import mask_id_no
from tests.workbench.conftest import X_ID, X_MOBILE, assert_no_plain_pii


def test_no_plain_personal_data_on_any_page(bank, login, lake):
    client = login("cm_owner")
    x = bank.x.customer_no
    pages = [
        client.get("/"),
        client.get("/customers/"),
        client.get(f"/customers/{x}/"),
        client.get(f"/customers/{x}/edit/"),
        client.post("/customers/search/", {"q": "zs"}),
        client.post("/customers/search/", {"q": X_MOBILE}),
        client.post("/customers/search/", {"q": X_ID}, HTTP_HX_REQUEST="true"),
    ]
    for response in pages:
        assert response.status_code == 200
        assert_no_plain_pii(response.content.decode())
    detail = pages[2].content.decode()
    assert "360426********0071" in detail
    assert "139****5678" in detail
    assert "622200******0001" in detail  # accounts and transactions
    assert "江西省九江市德安县****" in detail  # address to the district
    assert "蒲亭镇" not in detail


def test_no_plain_personal_data_in_the_api_or_the_export(bank, login, client):
    raw, _token = api_token_issue(staff=bank.staff["cm_owner"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    listing = client.get("/api/customers", **headers)
    detail = client.get(f"/api/customers/{bank.x.customer_no}", **headers)
    for response in (listing, detail):
        assert response.status_code == 200
        assert_no_plain_pii(response.content.decode())
    assert detail.json()["id_no"] == "360426********0071"
    assert detail.json()["mobile"] == "139****5678"
    exported = login("cm_owner").post("/customers/export/", {})
    text = b"".join(exported.streaming_content).decode("utf-8-sig")
    assert_no_plain_pii(text)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0].startswith("Exported by 王经理 at ")  # the watermark, by name
    assert ["P0000001", "张*"] == rows[2][:2]


def test_reveal_needs_a_reason_and_is_audited(bank, login):
    client = login("cm_owner")
    url = f"/customers/{bank.x.customer_no}/reveal/"
    refused = client.post(url, {"field": "id_no", "reason": ""}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert X_ID not in refused.content.decode()
    shown = client.post(
        url,
        {"field": "id_no", "reason": "核实身份办理业务"},
        REMOTE_ADDR="10.1.2.3",
        HTTP_HX_REQUEST="true",
    )
    assert shown.status_code == 200
    assert X_ID in shown.content.decode()
    event = AuditEvent.objects.get(action="REVEAL")
    assert (event.username, event.customer_no, event.ip) == ("cm_owner", "P0000001", "10.1.2.3")
    assert event.detail == {"field": "id_no", "reason": "核实身份办理业务"}
    assert X_ID not in json.dumps(event.detail)  # the value itself is never logged


def test_reveal_of_an_account_number(bank, login):
    account = bank.accounts["x_dem"]
    shown = login("cm_owner").post(
        f"/customers/{bank.x.customer_no}/reveal/",
        {"field": f"account:{account.pk}", "reason": "转账核对"},
    )
    assert shown.status_code == 200
    assert account.account_no in shown.content.decode()
    # Another customer's account cannot be revealed through X.
    other = login("cm_owner").post(
        f"/customers/{bank.x.customer_no}/reveal/",
        {"field": f"account:{bank.accounts['y_dem'].pk}", "reason": "转账核对"},
    )
    assert other.status_code == 400
    assert bank.accounts["y_dem"].account_no not in other.content.decode()


def test_reveal_without_permission_is_refused_and_audited(bank, login):
    response = login("head_office").post(
        f"/customers/{bank.x.customer_no}/reveal/", {"field": "mobile", "reason": "分析"}
    )
    assert response.status_code == 403
    assert X_MOBILE not in response.content.decode()
    event = AuditEvent.objects.get(action="REVEAL_DENIED")
    assert event.username == "head_office"
    assert event.detail["why"] == "permission"


def test_reveal_is_rate_limited(bank, login, settings):
    settings.QIAO = {**settings.QIAO, "REVEAL_RATE_PER_HOUR": 3}
    client = login("cm_owner")
    url = f"/customers/{bank.x.customer_no}/reveal/"
    codes = [client.post(url, {"field": "mobile", "reason": "回访"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert AuditEvent.objects.filter(action="REVEAL").count() == 3
    denied = AuditEvent.objects.get(action="REVEAL_DENIED")
    assert denied.detail["why"] == "rate"
    # The API shares the same limit: one budget per person, whatever the channel.
    raw, _token = api_token_issue(staff=bank.staff["cm_owner"])
    api = login("cm_owner").post(
        f"/api/customers/{bank.x.customer_no}/reveal",
        json.dumps({"field": "mobile", "reason": "回访"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert api.status_code == 429
    assert api.json()["error"]


def test_reveal_through_the_api(bank, client):
    raw, _token = api_token_issue(staff=bank.staff["cm_owner"])
    response = client.post(
        f"/api/customers/{bank.x.customer_no}/reveal",
        json.dumps({"field": "mobile", "reason": "回访"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 200
    assert response.json() == {"field": "mobile", "value": X_MOBILE}
    event = AuditEvent.objects.get(action="REVEAL")
    assert event.channel == "API"


ID_CHARS = string.digits + "X"


@given(st.text(alphabet=ID_CHARS, min_size=18, max_size=18))
def test_id_masking_never_shows_more_than_first_6_and_last_4(id_no):
    masked = mask_id_no(id_no)
    assert len(masked) == 18
    assert masked[:6] == id_no[:6]
    assert masked[-4:] == id_no[-4:]
    assert masked[6:14] == "*" * 8  # the whole birth date is hidden
