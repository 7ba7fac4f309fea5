"""Issue 11 item 4 (customers): every page that shows customer data leaves an audit record.

A list page writes one VIEW_LIST row per customer shown (the auditor's search by customer finds
it), in one insert, so the page stays fast (docs/privacy.md, "What is audited")."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from qiao.audit.models import AuditEvent
from qiao.customers.services import saved_group_create
from tests.workbench.conftest import own


def _listed(**kw) -> list[str]:
    return sorted(
        AuditEvent.objects.filter(action="VIEW_LIST", **kw).values_list("customer_no", flat=True)
    )


def test_the_list_page_records_each_customer_shown(bank, login, settings):
    settings.QIAO = {**settings.QIAO, "PAGE_SIZE": 2}
    client = login("outlet_head")
    assert client.get("/customers/?sort=-aum").status_code == 200
    assert _listed() == ["P0000001", "P0000003"]  # the first page only: what was on screen
    event = AuditEvent.objects.filter(action="VIEW_LIST").first()
    assert event.username == "outlet_head" and event.detail["page"] == "list"
    assert event.detail["filter"] == {"sort": "-aum"}
    client.get("/customers/?sort=-aum&page=2", HTTP_HX_REQUEST="true")
    assert _listed() == ["C0000001", "P0000001", "P0000003", "P0000004"]


def test_a_list_page_writes_its_records_in_one_insert(bank, login):
    client = login("head_office")
    with CaptureQueriesContext(connection) as queries:
        client.get("/customers/")
    inserts = [q["sql"] for q in queries if "audit_auditevent" in q["sql"].lower()]
    assert len(inserts) == 1 and inserts[0].upper().startswith("INSERT")
    assert len(_listed()) == 5


def test_an_empty_list_records_nothing(bank, login):
    login("cm_peer").get("/customers/")
    assert not AuditEvent.objects.filter(action="VIEW_LIST").exists()


def test_a_saved_group_page_records_its_customers(bank, login):
    cm = bank.staff["cm_owner"]
    group = saved_group_create(owner=cm, name="g", kind="STATIC", customer_nos=["P0000001"])
    login("cm_owner").get(f"/customers/?group={group.pk}")
    event = AuditEvent.objects.get(action="VIEW_LIST")
    assert event.customer_no == "P0000001"
    assert event.detail == {"page": "group", "group": "g"}


def test_search_results_are_recorded_with_the_search(bank, login):
    client = login("outlet_head")
    with CaptureQueriesContext(connection) as queries:
        client.post("/customers/search/", {"q": "zs"}, HTTP_HX_REQUEST="true")
    inserts = [q for q in queries if "audit_auditevent" in q["sql"].lower()]
    assert len(inserts) == 1  # the search and its results, one insert
    assert AuditEvent.objects.filter(action="SEARCH").count() == 1
    assert _listed(detail__page="search") == ["P0000001"]


def test_the_assignment_pages_record_the_customers_shown(bank, login):
    own(bank.w, bank.staff["cm_peer"])
    bank.staff["cm_peer"].is_active = False
    bank.staff["cm_peer"].save()
    head = login("outlet_head")
    head.get("/customers/assignment/")
    assert _listed(detail__page="assignment") == ["P0000003"]
    head.get("/customers/assignment/?tab=missing")
    assert "P0000003" in _listed(detail__tab="missing")
    head.get(f"/customers/{bank.x.customer_no}/assign/")
    assert AuditEvent.objects.filter(
        action="VIEW", customer_no="P0000001", detail__page="assign"
    ).exists()


def test_the_edit_page_records_a_view(bank, login):
    client = login("cm_owner")
    assert client.get(f"/customers/{bank.x.customer_no}/edit/").status_code == 200
    event = AuditEvent.objects.get(action="VIEW")
    assert (event.customer_no, event.detail) == ("P0000001", {"page": "edit"})
    # A refused edit shows the profile again: another view; a saved one is a CHANGE.
    client.post(f"/customers/{bank.x.customer_no}/edit/", {"mobile": "12345"})
    assert AuditEvent.objects.filter(action="VIEW", detail__page="edit").count() == 2
