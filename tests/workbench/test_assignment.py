"""Assignment: dated ownership history, bulk, leavers' reassignment queue, must-have-owner report."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from qiao.api.models import ApiToken
from qiao.api.services import api_token_issue
from qiao.audit.models import AuditEvent
from qiao.core.errors import ApplicationError
from qiao.customers.models import Ownership
from qiao.customers.selectors import customers_missing_owner, reassignment_queue
from qiao.customers.services import customer_assign, staff_offboard


def test_outlet_head_reassigns_a_customer_with_a_dated_history(bank, login):
    head = login("outlet_head")
    response = head.post(
        f"/customers/{bank.x.customer_no}/assign/",
        {"manager": "cm_peer", "role": "PRIMARY", "note": "客户经理岗位调整"},
    )
    assert response.status_code == 302
    today = timezone.localdate()
    history = list(Ownership.objects.filter(customer=bank.x).order_by("start_date", "id"))
    assert [(o.staff.username, o.role, o.start_date, o.end_date) for o in history] == [
        ("cm_owner", "PRIMARY", dt.date(2020, 1, 1), today),
        ("cm_peer", "PRIMARY", today, None),
    ]
    assert history[1].assigned_by.username == "outlet_head"
    bank.x.refresh_from_db()
    assert bank.x.primary_manager.username == "cm_peer"
    event = AuditEvent.objects.get(action="ASSIGN")
    assert (event.customer_no, event.detail["manager"], event.detail["previous"]) == (
        "P0000001",
        "cm_peer",
        ["cm_owner"],
    )
    # The old owner loses the customer at once; the new one has them; the 360 shows the history.
    assert login("cm_owner").get(f"/customers/{bank.x.customer_no}/").status_code == 404
    page = login("cm_peer").get(f"/customers/{bank.x.customer_no}/").content.decode()
    owners = page[page.index('id="ownership"') : page.index('id="changes"')]
    # People by name (issue 13 item 5), not by their logins.
    assert "王经理" in owners and "赵经理" in owners and "客户经理岗位调整" in owners
    assert "cm_owner" not in owners and "cm_peer" not in owners


def test_bulk_assignment_and_secondary(bank, login):
    head = login("outlet_head")
    response = head.post(
        "/customers/assignment/assign/",
        {"customer_no": ["P0000003", "C0000001"], "manager": "cm_owner", "role": "PRIMARY"},
    )
    assert response.status_code == 302
    bank.w.refresh_from_db()
    bank.z.refresh_from_db()
    assert bank.w.primary_manager.username == bank.z.primary_manager.username == "cm_owner"
    assert AuditEvent.objects.filter(action="ASSIGN").count() == 2
    customer_assign(
        customers=[bank.x],
        manager=bank.staff["cm_peer"],
        role="SECONDARY",
        by=bank.staff["outlet_head"],
    )
    bank.x.refresh_from_db()
    assert bank.x.primary_manager.username == "cm_owner"  # a secondary leaves the primary alone
    assert login("cm_peer").get(f"/customers/{bank.x.customer_no}/").status_code == 200


def test_assignment_is_bounded_by_scope_and_role(bank):
    head = bank.staff["outlet_head"]
    with pytest.raises(ApplicationError) as err:  # a CM of another outlet
        customer_assign(customers=[bank.x], manager=bank.staff["cm_other"], by=head)
    assert err.value.field == "manager"
    with pytest.raises(ApplicationError):  # a customer of another outlet
        customer_assign(customers=[bank.y], manager=bank.staff["cm_peer"], by=head)
    with pytest.raises(ApplicationError) as err:  # a CM may not assign
        customer_assign(
            customers=[bank.x], manager=bank.staff["cm_peer"], by=bank.staff["cm_owner"]
        )
    assert err.value.status == 403
    assert not AuditEvent.objects.filter(action="ASSIGN").exists()


def test_cms_cannot_reach_the_assignment_pages(bank, login):
    client = login("cm_owner")
    assert client.get("/customers/assignment/").status_code == 403
    assert client.post("/customers/assignment/assign/", {}).status_code == 403
    assert client.post("/customers/assignment/staff/cm_peer/leave/").status_code == 403


def test_a_leavers_customers_go_to_the_queue_never_lost(bank, login):
    head = login("outlet_head")
    assert not reassignment_queue(staff=bank.staff["outlet_head"]).exists()
    response = head.post("/customers/assignment/staff/cm_owner/leave/")
    assert response.status_code == 302
    leaver = bank.staff["cm_owner"]
    leaver.refresh_from_db()
    assert not leaver.is_active and leaver.leave_date == timezone.localdate()
    queue = list(reassignment_queue(staff=bank.staff["outlet_head"]))
    assert queue == [bank.x]
    page = head.get("/customers/assignment/?tab=queue").content.decode()
    assert "P0000001" in page
    # The leaver sees nothing any more; the customer is still owned on record until reassigned.
    assert login("cm_owner").get(f"/customers/{bank.x.customer_no}/").status_code in (302, 404)
    assert AuditEvent.objects.get(action="OFFBOARD").detail["queued"] == 1
    head.post(
        "/customers/assignment/assign/",
        {"customer_no": ["P0000001"], "manager": "cm_peer", "role": "PRIMARY", "tab": "queue"},
    )
    assert not reassignment_queue(staff=bank.staff["outlet_head"]).exists()


def test_a_leavers_api_tokens_are_deleted(bank):
    leaver, peer = bank.staff["cm_owner"], bank.staff["cm_peer"]
    api_token_issue(staff=leaver)
    api_token_issue(staff=peer)
    staff_offboard(staff=leaver, by=bank.staff["outlet_head"])
    assert not ApiToken.objects.filter(staff=leaver).exists()
    assert ApiToken.objects.filter(staff=peer).exists()


def test_offboarding_is_bounded(bank):
    with pytest.raises(ApplicationError):
        staff_offboard(staff=bank.staff["cm_other"], by=bank.staff["outlet_head"])
    with pytest.raises(ApplicationError):
        staff_offboard(staff=bank.staff["outlet_head"], by=bank.staff["outlet_head"])


def test_must_have_owner_report(bank, login, settings):
    head = bank.staff["outlet_head"]
    missing = set(customers_missing_owner(staff=head).values_list("customer_no", flat=True))
    # Z: corporate with a loan; W: individual at 15万 ≥ 10万. Not the 5,000-yuan customer, not X.
    assert missing == {"C0000001", "P0000003"}
    settings.QIAO = {**settings.QIAO, "QUALITY_AUM_THRESHOLD": 200_000}
    missing = set(customers_missing_owner(staff=head).values_list("customer_no", flat=True))
    assert missing == {"C0000001"}
    page = login("outlet_head").get("/customers/assignment/?tab=missing").content.decode()
    assert "C0000001" in page and "P0000003" not in page
    # Head office sees the report bank-wide (Y of O2 is owned, so it is not in it).
    everywhere = customers_missing_owner(staff=bank.staff["head_office"])
    assert set(everywhere.values_list("customer_no", flat=True)) == {"C0000001"}
