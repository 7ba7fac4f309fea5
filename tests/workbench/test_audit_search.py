"""Issue 11 item 5: the audit trail does not leak what it protects. A search is stored masked by
the rule of the field it looks like; a search by customer number is kept in clear."""

from __future__ import annotations

import pytest

from qiao.audit.models import AuditEvent
from qiao.core.masking import mask_id_no, mask_mobile
from tests.workbench.conftest import X_ID, X_MOBILE, Y_ID, Z_USCC


def _searched(login, persona: str, query: str) -> AuditEvent:
    login(persona).post("/customers/search/", {"q": query}, HTTP_HX_REQUEST="true")
    return AuditEvent.objects.filter(action="SEARCH").latest("id")


@pytest.mark.parametrize(
    "query, stored, kind",
    [
        (X_MOBILE, "139****5678", "mobile"),
        ("+86 139 1234 5678", "139****5678", "mobile"),
        (X_ID, "360426********0071", "id_no"),
        (Y_ID.lower(), "110105********002X", "id_no"),
        (Z_USCC, mask_id_no(Z_USCC), "id_no"),
        ("张三", "张*", "name"),
        ("九江德安建材", "九****材", "name"),
        ("zhangsan", "z******n", "name"),
        ("0071", "0071", "id_tail"),  # the last 4: what the masked ID shows anyway
        ("010071", "**0071", "id_tail"),
    ],
)
def test_a_search_is_stored_masked_by_its_fields_rule(bank, login, query, stored, kind):
    event = _searched(login, "outlet_head", query)
    assert event.detail["query"] == stored
    assert event.detail["kind"] == kind
    assert event.customer_no == ""


def test_a_mobile_search_hides_what_the_mobile_mask_hides(bank, login):
    event = _searched(login, "cm_owner", X_MOBILE)
    assert event.detail["query"] == mask_mobile(X_MOBILE)
    assert sum(ch.isdigit() for ch in event.detail["query"]) == 7  # 3 + 4, never 10 of 11
    assert event.detail["results"] == 1


@pytest.mark.parametrize("query", ["P0000001", "p0000001", "C0000001"])
def test_a_search_by_customer_number_is_kept_in_clear(bank, login, query):
    event = _searched(login, "outlet_head", query)
    assert event.detail["query"] == query.upper()
    assert event.detail["kind"] == "customer_no"
    assert event.customer_no == query.upper()  # the auditor's search by customer finds it


def test_no_search_record_holds_a_plain_id_or_mobile(bank, login):
    for query in (X_MOBILE, X_ID, Y_ID, "8613912345678", "E1234567"):
        _searched(login, "head_office", query)
    for event in AuditEvent.objects.filter(action="SEARCH"):
        text = str(event.detail)
        assert X_MOBILE not in text and X_ID not in text and Y_ID not in text
        assert "E1234567" not in text
