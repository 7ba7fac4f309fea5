"""The audit trail: append-only, no secrets, and the auditor's search page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import RequestFactory
from django.utils import timezone

from qiao.audit.models import AuditEvent
from qiao.audit.selectors import audit_events_search
from qiao.audit.services import audit_record


def test_audit_record_reads_the_request_and_drops_secrets(bank):
    request = RequestFactory().post("/customers/x/", REMOTE_ADDR="192.0.2.10")
    request.user = bank.staff["cm_owner"]
    event = audit_record(
        request_or_staff=request,
        action="VIEW",
        customer_no="P0000001",
        detail={
            "password": "hunter2",
            "api_token": "abc",
            "nested": {"Authorization": "x"},
            "field": "mobile",
        },
    )
    assert (event.username, event.ip, event.channel) == ("cm_owner", "192.0.2.10", "WEB")
    assert event.detail == {"nested": {}, "field": "mobile"}


def test_events_are_append_only(bank):
    event = audit_record(request_or_staff=bank.staff["cm_owner"], action="VIEW")
    event.action = "CHANGE"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()


def test_search_selector_filters(bank):
    audit_record(request_or_staff=bank.staff["cm_owner"], action="VIEW", customer_no="P0000001")
    audit_record(request_or_staff=bank.staff["cm_other"], action="REVEAL", customer_no="P0000002")
    old = audit_record(request_or_staff=bank.staff["cm_owner"], action="VIEW")
    AuditEvent.objects.filter(pk=old.pk).update(at=timezone.now() - dt.timedelta(days=40))
    assert audit_events_search(username="cm_owner").count() == 2
    assert audit_events_search(action="REVEAL").get().customer_no == "P0000002"
    assert audit_events_search(customer_no="P0000001").count() == 1
    today = timezone.localdate()
    assert audit_events_search(date_from=today - dt.timedelta(days=1)).count() == 2
    assert audit_events_search(date_to=today - dt.timedelta(days=30)).get().pk == old.pk


def test_the_auditor_finds_a_reveal(bank, login):
    login("cm_owner").post(
        f"/customers/{bank.x.customer_no}/reveal/", {"field": "id_no", "reason": "核实身份"}
    )
    auditor = login("auditor")
    page = auditor.get("/audit/?action=REVEAL&username=cm_owner&customer_no=P0000001")
    assert page.status_code == 200
    html = page.content.decode()
    assert "核实身份" in html and "cm_owner" in html and "P0000001" in html
    assert "360426199101010071" not in html
    partial = auditor.get("/audit/?action=LOGIN", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and "核实身份" not in partial
    bad = auditor.get("/audit/?date_from=2026-02-01&date_to=2026-01-01").content.decode()
    assert "is before the start date" in bad


def test_only_auditors_read_the_trail(bank, login):
    for persona in ("cm_owner", "outlet_head", "head_office", "lobby"):
        assert login(persona).get("/audit/").status_code == 403
    assert login("auditor").get("/audit/").status_code == 200


def test_audit_page_paginates(bank, login, settings):
    for _ in range(60):
        audit_record(request_or_staff=bank.staff["cm_owner"], action="VIEW", customer_no="P0000001")
    page = login("auditor").get("/audit/?username=cm_owner").content.decode()
    assert page.count("<tr>") - 1 == 50  # header row + 50 events on page 1
    assert "page=2" in page
