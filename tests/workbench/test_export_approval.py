"""Issue 11 item 6: a plain export is a request with a reason, approved by a second person whose
scope covers it, downloaded once by the one who asked within a time window, rate-limited, every
step audited; balances are masked for roles that do not serve the customer; superuser status
grants nothing over customers."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from qiao.audit.models import AuditEvent
from qiao.customers.models import ExportRequest
from qiao.org.models import Role
from tests.workbench.conftest import X_ID, X_MOBILE, _staff


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def heads(bank):
    """``branch_head``: the sub-branch's head (covers O1 and O2); ``o2_head``: O2's head."""
    s01 = bank.o1.parent
    o2_head = _staff("o2_head", "李主任", Role.OUTLET_HEAD, bank.o2)
    branch_head = _staff("branch_head", "陈行长", Role.OUTLET_HEAD, s01)
    return {"branch_head": branch_head, "o2_head": o2_head}


def _ask(client, reason="监管报送核对", **filters):
    return client.post("/customers/export/", {"plain": "1", "reason": reason, **filters})


def test_plain_export_is_no_longer_given_without_approval(bank, login):
    response = _ask(login("outlet_head"))
    assert response.status_code == 302 and response["Location"] == "/customers/exports/"
    assert not hasattr(response, "streaming_content")
    request = ExportRequest.objects.get()
    assert request.status == "PENDING" and request.rows == 4
    assert sorted(request.customer_nos) == ["C0000001", "P0000001", "P0000003", "P0000004"]
    event = AuditEvent.objects.get(action="EXPORT_REQUEST")
    assert event.username == "outlet_head" and event.detail["reason"] == "监管报送核对"
    assert event.detail["request"] == request.pk and event.detail["rows"] == 4


def test_a_request_needs_a_reason_and_the_permission(bank, login):
    assert _ask(login("outlet_head"), reason=" ").status_code == 302
    assert not ExportRequest.objects.exists()
    assert AuditEvent.objects.get(action="EXPORT_REQUEST").detail["refused"] == "reason"
    for persona in ("cm_owner", "head_office", "auditor"):
        _ask(login(persona))
    assert not ExportRequest.objects.exists()
    refused = AuditEvent.objects.filter(action="EXPORT_REQUEST", detail__refused="permission")
    assert refused.count() == 3


def test_maker_checker_download_once_within_the_window(bank, login, heads):
    maker = login("outlet_head")
    _ask(maker, tiers=["GOLD"])
    request = ExportRequest.objects.get()
    url = f"/customers/exports/{request.pk}"
    # Not downloadable before approval; the maker cannot approve their own request.
    assert maker.post(f"{url}/download/").status_code == 302
    assert maker.post(f"{url}/approve/").status_code == 403
    # An approver whose scope does not cover the customers does not see the request.
    o2 = login_as(heads["o2_head"])
    assert f"{url}/approve/" not in o2.get("/customers/exports/").content.decode()
    assert o2.post(f"{url}/approve/").status_code == 404
    # Roles without org.approve_export are refused.
    assert login("head_office").post(f"{url}/approve/").status_code == 403
    request.refresh_from_db()
    assert request.status == "PENDING"
    checker = login_as(heads["branch_head"])
    page = checker.get("/customers/exports/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "监管报送核对" in page and f"{url}/approve/" in page and "Tier: Gold" in page
    assert checker.post(f"{url}/approve/", {"note": "同意"}).status_code == 302
    request.refresh_from_db()
    assert request.status == "APPROVED" and request.decided_by == heads["branch_head"]
    assert request.expires_at > timezone.now() + dt.timedelta(hours=23)
    # Only the maker downloads, once.
    assert checker.post(f"{url}/download/").status_code == 404
    rows = _csv(maker.post(f"{url}/download/"))
    assert [r[0] for r in rows[2:]] == ["C0000001", "P0000001"]
    x = next(r for r in rows if r[0] == "P0000001")
    assert (x[1], x[8], x[9]) == ("张三", X_ID, X_MOBILE)
    assert "陈行长" in rows[0][0]  # the watermark names the approver
    again = maker.post(f"{url}/download/")
    assert again.status_code == 302 and not hasattr(again, "streaming_content")
    actions = list(
        AuditEvent.objects.order_by("id")
        .filter(action__startswith="EXPORT")
        .values_list("action", "username")
    )
    assert actions == [
        ("EXPORT_REQUEST", "outlet_head"),
        ("EXPORT_APPROVE", "branch_head"),
        ("EXPORT", "outlet_head"),
    ]
    download = AuditEvent.objects.get(action="EXPORT")
    assert download.detail["masked"] is False and download.detail["request"] == request.pk


def test_a_refused_or_expired_request_is_not_downloadable(bank, login, heads):
    maker = login("outlet_head")
    _ask(maker)
    _ask(maker, reason="年度核查")
    first, second = ExportRequest.objects.order_by("id")
    checker = login_as(heads["branch_head"])
    checker.post(f"/customers/exports/{first.pk}/refuse/", {"note": "理由不足"})
    checker.post(f"/customers/exports/{second.pk}/approve/")
    assert AuditEvent.objects.filter(action="EXPORT_REFUSE", detail__note="理由不足").exists()
    assert maker.post(f"/customers/exports/{first.pk}/download/").status_code == 302
    ExportRequest.objects.filter(pk=second.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert maker.post(f"/customers/exports/{second.pk}/download/").status_code == 302
    assert not AuditEvent.objects.filter(action="EXPORT").exists()
    # A decided request cannot be decided again.
    checker.post(f"/customers/exports/{first.pk}/approve/")
    first.refresh_from_db()
    assert first.status == "REFUSED"


def test_plain_export_requests_are_rate_limited_from_the_audit_trail(bank, login, settings):
    settings.QIAO = {**settings.QIAO, "PLAIN_EXPORT_RATE_PER_HOUR": 2}
    maker = login("outlet_head")
    for _ in range(3):
        _ask(maker)
    assert ExportRequest.objects.count() == 2
    assert AuditEvent.objects.filter(action="EXPORT_REQUEST", detail__refused="rate").count() == 1


def test_a_plain_export_has_a_row_limit(bank, login, settings):
    settings.QIAO = {**settings.QIAO, "PLAIN_EXPORT_MAX_ROWS": 3}
    _ask(login("outlet_head"))
    assert not ExportRequest.objects.exists()
    assert AuditEvent.objects.filter(action="EXPORT_REQUEST", detail__refused="limit").exists()


def test_the_exports_page_is_for_makers_and_checkers(bank, login):
    for persona in ("cm_owner", "head_office", "auditor", "lobby"):
        assert login(persona).get("/customers/exports/").status_code == 403
    page = login("outlet_head").get("/customers/exports/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and "Waiting for your approval" in page.content.decode()
    assert "/customers/exports/" in page.content.decode()  # the menu link


def login_as(staff):
    from django.test import Client

    c = Client()
    c.force_login(staff)
    return c


# ---------------------------------------------------------------- balances


@pytest.mark.parametrize("persona", ["head_office", "auditor"])
def test_balances_are_masked_for_roles_that_do_not_serve_the_customer(bank, login, persona):
    client = login(persona)
    listing = client.get("/customers/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "¥500,000.00" not in listing and "***" in listing
    detail = client.get(f"/customers/{bank.x.customer_no}/", HTTP_ACCEPT_LANGUAGE="en")
    html = detail.content.decode()
    assert "¥500,000.00" not in html and "¥400,000.00" not in html  # AUM, a balance
    assert 'id="aum-data"' not in html
    found = client.post("/customers/search/", {"q": "zs"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "¥500,000.00" not in found.content.decode()
    if persona == "head_office":
        rows = _csv(client.post("/customers/export/", {}))
        x = next(r for r in rows if r[0] == "P0000001")
        assert (x[4], x[5]) == ("***", "***")


def test_those_who_serve_the_customer_see_balances(bank, login):
    client = login("cm_owner")
    html = client.get(f"/customers/{bank.x.customer_no}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "¥500,000.00" in html.content.decode()
    rows = _csv(client.post("/customers/export/", {}))
    assert next(r for r in rows if r[0] == "P0000001")[4] == "500000.00"


# ---------------------------------------------------------------- the superuser


def test_superuser_status_grants_no_customer_scope_or_data(bank, login):
    root = _staff("root", "系统管理员", Role.LOBBY, bank.ho)
    root.is_superuser = root.is_staff = True
    root.save()
    client = login_as(root)
    assert client.get(f"/customers/{bank.x.customer_no}/").status_code == 404
    listing = client.get("/customers/").content.decode()
    assert "P0000001" not in listing
    _ask(client)
    assert not ExportRequest.objects.exists()
    reveal = client.post(
        f"/customers/{bank.x.customer_no}/reveal/", {"field": "id_no", "reason": "测试"}
    )
    assert reveal.status_code == 404
    # The administrator's role sees customers masked, as the role table says, and no balances.
    admin = _staff("admin", "管理员", Role.ADMIN, bank.ho)
    admin.is_superuser = True
    admin.save()
    page = login_as(admin).get(f"/customers/{bank.x.customer_no}/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and "¥500,000.00" not in page.content.decode()
    assert login_as(admin).get("/customers/exports/").status_code == 403
