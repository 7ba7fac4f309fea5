"""Security issue 11, items 1, 2, 4 and the task redirect of 9, for the engagement app.

Every write is permitted (read-only roles are refused) and audited; access to an engagement
object ends with the customer's reassignment; every page showing a customer's data is audited.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from qiao.api.services import api_token_issue
from qiao.audit.models import AuditEvent
from qiao.customers.services import customer_assign
from qiao.engagement.models import Complaint, Contact, Plan, Referral, Task, WorkItem
from qiao.engagement.services import (
    complaint_create,
    contact_log,
    plan_create,
    prospect_create,
    referral_create,
)
from qiao.engagement.worklist import worklist_generate
from qiao.org.models import Role
from tests.engagement.conftest import DAY, at, make_customer, make_staff

pytestmark = pytest.mark.django_db

READ_ONLY = [Role.AUDITOR, Role.ANALYST, Role.PRODUCT_MANAGER, Role.RISK_MANAGER]


@pytest.fixture
def world(people, org):
    """Alice's customer with an open complaint, a plan, a task and a referral to her."""
    alice = people["alice"]
    c = make_customer(alice, tier="GOLD", no="P2000001")
    complaint = complaint_create(customer=c, by=alice, subject="转账延迟", received_at=at(DAY))
    contact, _closed, _w = contact_log(
        staff=alice,
        customer=c,
        data={"channel": "PHONE", "at": at(DAY, 9), "next_step": "寄送资料"},
    )
    plan = plan_create(
        owner=alice,
        data={
            "title": "定期转理财",
            "period": "QUARTERLY",
            "start": DAY,
            "end": DAY + dt.timedelta(days=80),
            "target_amount": 100_000,
            "baseline_amount": 0,
        },
        customer=c,
    )
    referral = referral_create(
        referrer_staff=people["leo"],
        to_staff=alice,
        customer=c,
        reason="PRODUCT_INTEREST",
        note="理财",
    )
    return {
        "customer": c,
        "complaint": complaint,
        "task": Task.objects.get(contact=contact),
        "plan": plan,
        "referral": referral,
    }


def _bearer(staff) -> dict[str, str]:
    raw, _token = api_token_issue(staff=staff)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _events(action: str, username: str) -> int:
    return AuditEvent.objects.filter(action=action, username=username).count()


@pytest.mark.parametrize("role", READ_ONLY)
def test_read_only_roles_cannot_write(client, org, people, world, role):
    reader = make_staff(f"ro_{role.lower()}", role, org["HO"])
    client.force_login(reader)
    c, complaint = world["customer"], world["complaint"]
    # They read the complaint (head office sees every customer) …
    assert client.get(f"/complaints/{complaint.pk}/").status_code == 200
    # … but resolving it, filing one, planning and logging a contact are refused.
    r = client.post(
        f"/complaints/{complaint.pk}/",
        {"status": "RESOLVED", "resolution": "已处理", "service_recovery": ""},
    )
    assert r.status_code == 403
    assert client.post(f"/complaints/new/{c.customer_no}/", {"subject": "x"}).status_code == 403
    assert client.get(f"/complaints/new/{c.customer_no}/").status_code == 403
    assert client.post("/plans/new/", {"title": "x"}).status_code == 403
    assert client.get(f"/contacts/new/{c.customer_no}/").status_code == 403
    r = client.post(
        "/api/contacts",
        json.dumps({"customer_no": c.customer_no, "channel": "PHONE"}),
        content_type="application/json",
        **_bearer(reader),
    )
    assert r.status_code == 403
    complaint.refresh_from_db()
    assert complaint.status == "OPEN"
    assert Complaint.objects.count() == 1 and Plan.objects.count() == 1
    assert Contact.objects.count() == 1
    assert not AuditEvent.objects.filter(
        username=reader.username, action__in=["CONTACT", "COMPLAINT_NEW", "COMPLAINT_EDIT"]
    ).exists()


def test_a_contact_by_a_reader_does_not_close_anyones_items(client, org, people):
    alice = people["alice"]
    c = make_customer(alice, tier="GOLD", no="P2000002")
    worklist_generate(day=DAY)
    open_before = WorkItem.objects.filter(customer=c, status="OPEN").count()
    assert open_before > 0
    auditor = make_staff("auditor1", Role.AUDITOR, org["HO"])
    r = client.post(
        "/api/contacts",
        json.dumps({"customer_no": c.customer_no, "channel": "MEETING"}),
        content_type="application/json",
        **_bearer(auditor),
    )
    assert r.status_code == 403
    assert WorkItem.objects.filter(customer=c, status="OPEN").count() == open_before


def test_who_resolves_a_complaint(client, org, people, world):
    """Decision 0006: its handler and the outlet head; not a team lead, not a peer."""
    complaint = world["complaint"]
    lead = make_staff("lead", Role.TEAM_LEAD, org["O0101"])
    data = {"status": "IN_PROGRESS", "resolution": "", "service_recovery": ""}
    for who, expected in ((lead, 403), (people["hannah"], 302), (people["alice"], 302)):
        client.force_login(who)
        assert client.get(f"/complaints/{complaint.pk}/").status_code == 200
        assert client.post(f"/complaints/{complaint.pk}/", data).status_code == expected, who
    # Bob (a peer CM at the outlet) cannot even see it.
    client.force_login(people["bob"])
    assert client.post(f"/complaints/{complaint.pk}/", data).status_code == 404
    assert _events("COMPLAINT_EDIT", "hannah") == 1
    assert _events("COMPLAINT_EDIT", "alice") == 1
    assert _events("COMPLAINT_EDIT", "lead") == 0


def test_every_engagement_write_leaves_an_audit_row(client, people, world):
    alice, c = people["alice"], world["customer"]
    assert _events("COMPLAINT_NEW", "alice") == 1
    assert _events("CONTACT", "alice") == 1
    assert _events("PLAN_NEW", "alice") == 1
    assert _events("REFERRAL_NEW", "leo") == 1
    client.force_login(alice)
    client.post(
        f"/complaints/{world['complaint'].pk}/",
        {"status": "RESOLVED", "resolution": "已退费", "service_recovery": "致歉"},
    )
    event = AuditEvent.objects.get(action="COMPLAINT_EDIT", username="alice")
    assert event.customer_no == c.customer_no
    assert event.detail["to"] == "RESOLVED" and event.detail["from"] == "OPEN"
    client.post(f"/referrals/{world['referral'].pk}/status/", {"status": "CONTACTED"})
    assert Referral.objects.get().status == "CONTACTED"
    assert _events("REFERRAL_EDIT", "alice") == 1
    client.post(f"/tasks/{world['task'].pk}/done/")
    assert _events("TASK_DONE", "alice") == 1
    prospect = prospect_create(
        owner=alice,
        data={"name": "王五", "kind": "PERSON", "source": "OTHER", "expected_value": 10_000},
    )
    client.post(f"/prospects/{prospect.number}/", {"action": "drop"})
    assert _events("PROSPECT_EDIT", "alice") == 2  # created, dropped
    worklist_generate(day=DAY)
    item = WorkItem.objects.filter(staff=alice, status="OPEN").first()
    assert item is not None
    client.post(f"/today/items/{item.pk}/done/", {"reason": "MOOT"})
    assert _events("ITEM_CLOSE", "alice") == 1


def test_access_ends_with_the_reassignment(client, people, world):
    alice, bob, hannah = people["alice"], people["bob"], people["hannah"]
    c = world["customer"]
    customer_assign(customers=[c], manager=bob, by=hannah)
    client.force_login(alice)
    complaint, plan, task = world["complaint"], world["plan"], world["task"]
    assert client.get(f"/customers/{c.customer_no}/").status_code == 404
    assert client.get(f"/plans/{plan.pk}/").status_code == 404
    assert client.get(f"/complaints/{complaint.pk}/").status_code == 404
    r = client.post(
        f"/complaints/{complaint.pk}/",
        {"status": "RESOLVED", "resolution": "已处理", "service_recovery": ""},
    )
    assert r.status_code == 404
    assert client.post(f"/tasks/{task.pk}/done/").status_code == 404
    assert client.post(f"/referrals/{world['referral'].pk}/status/").status_code == 404
    # Nothing of the customer is listed for her any more.
    for page in ("/today/", "/complaints/", "/plans/", "/referrals/"):
        assert c.customer_no not in client.get(page).content.decode(), page
    task.refresh_from_db()
    complaint.refresh_from_db()
    assert not task.done and complaint.status == "OPEN"
    # The new manager handles the complaint at once; the nightly run hands it over.
    client.force_login(bob)
    assert client.get(f"/complaints/{complaint.pk}/").status_code == 200
    r = client.post(
        f"/complaints/{complaint.pk}/",
        {"status": "IN_PROGRESS", "resolution": "", "service_recovery": ""},
    )
    assert r.status_code == 302
    worklist_generate(day=DAY + dt.timedelta(days=14))
    complaint.refresh_from_db()
    assert complaint.owner == bob
    assert WorkItem.objects.get(cause_key=f"COMPLAINT:{complaint.pk}", status="OPEN").staff == bob


def test_pages_showing_customer_data_are_audited(client, people, world):
    alice, c = people["alice"], world["customer"]
    client.force_login(alice)
    pages = {
        f"/contacts/new/{c.customer_no}/": "VIEW",
        f"/complaints/new/{c.customer_no}/": "VIEW",
        f"/complaints/{world['complaint'].pk}/": "VIEW",
        f"/plans/{world['plan'].pk}/": "VIEW",
        "/complaints/": "VIEW_LIST",
        "/plans/": "VIEW_LIST",
        "/referrals/": "VIEW_LIST",
        "/today/": "VIEW_LIST",
    }
    for url, action in pages.items():
        before = AuditEvent.objects.filter(username="alice", action=action).count()
        assert client.get(url).status_code == 200, url
        events = AuditEvent.objects.filter(username="alice", action=action)
        assert events.count() == before + 1, url
        event = events.order_by("-id").first()
        assert event is not None
        # A list writes one row per customer shown, a page about one customer one row.
        assert event.customer_no == c.customer_no, url


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "http://evil.example"],
)
def test_task_done_never_redirects_off_site(client, people, world, target):
    client.force_login(people["alice"])
    r = client.post(f"/tasks/{world['task'].pk}/done/", {"next": target})
    assert r.status_code == 302
    assert r["Location"] == "/today/"


def test_task_done_follows_a_local_next(client, people, world):
    client.force_login(people["alice"])
    c = world["customer"]
    r = client.post(f"/tasks/{world['task'].pk}/done/", {"next": f"/customers/{c.customer_no}/"})
    assert r["Location"] == f"/customers/{c.customer_no}/"
