"""Editing the profile: the ingest validators, field errors in form and API, change history."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from qiao.api.services import api_token_issue
from qiao.audit.models import AuditEvent
from qiao.core.errors import ApplicationError
from qiao.customers.models import CustomerChange
from qiao.customers.rules import customer_identity_rule
from qiao.customers.services import customer_update_profile
from qiao.ingest import master
from tests.workbench.conftest import make_ric


def test_ingest_and_editing_share_one_identity_rule():
    assert master.ROW_RULES["customers"] is customer_identity_rule


def test_bad_mobile_is_a_field_error_and_nothing_changes(bank, login):
    client = login("cm_owner")
    response = client.post(
        f"/customers/{bank.x.customer_no}/edit/", {"mobile": "12345", "hobbies": "钓鱼"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="error-mobile"' in html
    assert "a mobile number has 11 digits" in html
    bank.x.refresh_from_db()
    assert bank.x.mobile == "13912345678"
    assert bank.x.hobbies == ""  # all or nothing
    assert not CustomerChange.objects.exists()


def test_good_edit_is_saved_with_history_and_audit(bank, login):
    client = login("cm_owner")
    response = client.post(
        f"/customers/{bank.x.customer_no}/edit/",
        {"mobile": "13800001111", "hobbies": "钓鱼", "name": "张三"},
        REMOTE_ADDR="10.0.0.7",
    )
    assert response.status_code == 302
    bank.x.refresh_from_db()
    assert (bank.x.mobile, bank.x.hobbies) == ("13800001111", "钓鱼")
    changes = {
        c.field: (c.old_value, c.new_value, c.changed_by.username, c.source)
        for c in CustomerChange.objects.all()
    }
    assert changes == {
        "mobile": ("13912345678", "13800001111", "cm_owner", "WEB"),
        "hobbies": ("", "钓鱼", "cm_owner", "WEB"),
    }
    event = AuditEvent.objects.get(action="CHANGE")
    assert event.detail == {"fields": ["hobbies", "mobile"], "source": "WEB"}
    assert event.ip == "10.0.0.7"
    # The history on the 360 shows who, and old → new, masked.
    page = client.get(f"/customers/{bank.x.customer_no}/").content.decode()
    history = page[page.index('id="change-history"') :]
    assert "139****5678" in history and "138****1111" in history
    assert "钓鱼" in history and "王经理" in history


def test_masked_fields_left_empty_are_kept(bank, login):
    response = login("cm_owner").post(
        f"/customers/{bank.x.customer_no}/edit/", {"mobile": "", "id_no": "", "school": "九江一中"}
    )
    assert response.status_code == 302
    bank.x.refresh_from_db()
    assert bank.x.mobile == "13912345678" and bank.x.id_no == "360426199101010071"
    assert bank.x.school == "九江一中"


def test_resident_id_rules_are_those_of_ingest(bank):
    cm = bank.staff["cm_owner"]
    with pytest.raises(ApplicationError) as err:
        customer_update_profile(customer=bank.x, by=cm, data={"id_no": "360426199101010072"})
    assert err.value.fields == {"id_no": "the resident ID's check digit is wrong"}
    # A corrected ID brings its own birth date and gender (derived, never typed: R17).
    new_id = make_ric("110105", dt.date(1970, 2, 3), 12)
    customer_update_profile(customer=bank.x, by=cm, data={"id_no": new_id})
    bank.x.refresh_from_db()
    assert (bank.x.birth_date, bank.x.gender, bank.x.id_tail4) == (
        dt.date(1970, 2, 3),
        "F",
        new_id[-4:],
    )
    with pytest.raises(ApplicationError) as err:
        customer_update_profile(customer=bank.x, by=cm, data={"birth_date": "1971-01-01"})
    assert set(err.value.fields) == {"birth_date"}
    with pytest.raises(ApplicationError) as err:
        customer_update_profile(customer=bank.x, by=cm, data={"id_type": "USCC"})
    assert "id_no" in err.value.fields or "id_type" in err.value.fields


def test_name_change_refreshes_the_search_keys(bank):
    customer_update_profile(customer=bank.w, by=bank.staff["outlet_head"], data={"name": "王小五"})
    bank.w.refresh_from_db()
    assert (bank.w.name_pinyin, bank.w.name_initials) == ("wangxiaowu", "wxw")


def test_api_patch_validates_the_same_way(bank, client):
    raw, _token = api_token_issue(staff=bank.staff["cm_owner"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    url = f"/api/customers/{bank.x.customer_no}"
    bad = client.patch(
        url,
        json.dumps({"mobile": "12345", "email": "nope"}),
        content_type="application/json",
        **headers,
    )
    assert bad.status_code == 400
    assert bad.json()["fields"] == {
        "mobile": "a mobile number has 11 digits",
        "email": "is not an e-mail address",
    }
    assert bad.json()["error"]
    unknown = client.patch(
        url, json.dumps({"aum": "1"}), content_type="application/json", **headers
    )
    assert unknown.status_code == 400
    assert "aum" in unknown.json()["fields"]
    good = client.patch(
        url, json.dumps({"mobile": "13800001111"}), content_type="application/json", **headers
    )
    assert good.status_code == 200
    assert good.json()["mobile"] == "138****1111"
    change = CustomerChange.objects.get()
    assert (change.field, change.source, change.changed_by.username) == (
        "mobile",
        "API",
        "cm_owner",
    )
    assert AuditEvent.objects.get(action="CHANGE").channel == "API"


def test_read_only_roles_cannot_edit(bank):
    with pytest.raises(ApplicationError) as err:
        customer_update_profile(customer=bank.x, by=bank.staff["auditor"], data={"hobbies": "x"})
    assert err.value.status == 403
