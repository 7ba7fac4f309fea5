"""Issue 13 items 2 and 3: hand-offs that arrive, and the lobby / teller role doing its job.

A referral lands on the receiving CM's Today at once (not the next night) and in the
notification area, with a count in the menu; a lobby referral keeps its amount on the prospect
card; people are shown by name. The lobby manager (O1) and the teller (O2, same sub-branch S01)
find a walk-in customer by name, mobile or ID tail — masked, audited — and file a complaint.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from qiao.audit.models import AuditEvent
from qiao.core.tiers import tier_label
from qiao.customers.services import customer_assign
from qiao.engagement.models import Complaint, Prospect, Referral, WorkItem, WorkKind
from qiao.engagement.services import referral_create
from qiao.org.models import Role, Staff
from tests.factories import make_unit
from tests.workbench.conftest import X_ID, X_MOBILE, _staff

pytestmark = pytest.mark.django_db


def _login(username: str) -> Client:
    client = Client()
    client.force_login(Staff.objects.get(username=username))
    return client


@pytest.fixture
def teller(bank):
    return _staff("teller", "卫柜员", Role.LOBBY, bank.o2)


@pytest.fixture
def far_lobby(bank):
    s02 = make_unit("S02", "SUB_BRANCH", bank.o1.parent.parent, "八里湖支行")
    o3 = make_unit("O3", "OUTLET", s02, "八里湖网点")
    return _staff("far_lobby", "冯大堂", Role.LOBBY, o3)


# ------------------------------------------------------------------------------ item 2


def test_lobby_referral_keeps_its_amount_on_the_prospect_card(bank):
    client = _login("lobby")
    response = client.post(
        "/referrals/new/",
        {
            "prospect_name": "陈七",
            "prospect_mobile": "13700000000",
            "prospect_kind": "PERSON",
            "to_staff": bank.staff["cm_owner"].pk,
            "reason": "LARGE_TRANSACTION",
            "amount": "800000",
        },
    )
    assert response.status_code == 302
    prospect = Prospect.objects.get(name="陈七")
    assert prospect.expected_value == Decimal("800000")
    card = _login("cm_owner").get(f"/prospects/{prospect.number}/").content.decode()
    assert "800,000" in card


def test_a_referral_lands_on_today_at_once_by_name(bank):
    referral_create(
        referrer_staff=bank.staff["lobby"],
        to_staff=bank.staff["cm_owner"],
        customer=bank.x,
        reason="PRODUCT_INTEREST",
    )
    item = WorkItem.objects.get(kind=WorkKind.REFERRAL)
    assert item.staff == bank.staff["cm_owner"] and item.customer == bank.x
    page = _login("cm_owner").get("/today/").content.decode()
    assert "郑大堂" in page  # the referrer by name
    assert "lobby" not in item.reason_text.split()


def test_notifications_and_the_count_in_the_menu(bank):
    cm = _login("cm_owner")
    cm.get("/notifications/")  # looked: nothing new from here on
    referral_create(
        referrer_staff=bank.staff["lobby"],
        to_staff=bank.staff["cm_owner"],
        customer=bank.x,
        reason="PRODUCT_INTEREST",
    )
    customer_assign(
        customers=[bank.w], manager=bank.staff["cm_owner"], by=bank.staff["outlet_head"]
    )
    page = cm.get("/today/").content.decode()
    assert 'id="notification-count"' in page
    assert '<span class="badge rounded-pill text-bg-danger" id="notification-count">2<' in page
    listing = cm.get("/notifications/").content.decode()
    assert "郑大堂" in listing and "张三" in listing and "王五" in listing
    # Looked at: the count is gone, the referral still waits on the page.
    page = cm.get("/today/").content.decode()
    assert 'id="notification-count"' not in page
    assert "郑大堂" in cm.get("/notifications/").content.decode()


def test_the_menu_count_stops_at_99_plus(bank, monkeypatch):
    from qiao.engagement import notifications

    cm = _login("cm_owner")
    cm.get("/notifications/")
    for customer in (bank.w, bank.x):
        referral_create(
            referrer_staff=bank.staff["lobby"],
            to_staff=bank.staff["cm_owner"],
            customer=customer,
            reason="PRODUCT_INTEREST",
        )
    staff = bank.staff["cm_owner"]
    assert notifications.notification_count(staff=staff, cap=1) == 1
    assert notifications.notification_count(staff=staff, cap=None) >= 2
    # Two new since the CM last looked: with a cap of 2 the badge says "1+", not a number; with a
    # cap of 3 it counts them.
    monkeypatch.setattr(notifications, "BADGE_CAP", 2)
    page = cm.get("/today/").content.decode()
    assert 'id="notification-count">1+<' in page
    monkeypatch.setattr(notifications, "BADGE_CAP", 3)
    page = cm.get("/today/").content.decode()
    assert 'id="notification-count">2<' in page


# ------------------------------------------------------------------------------ item 3


@pytest.mark.parametrize("query", ["张三", X_MOBILE, X_ID[-4:], "zhangsan"])
@pytest.mark.parametrize("who", ["lobby", "teller"])
def test_lobby_and_teller_find_a_walk_in_customer(bank, teller, who, query):
    response = _login(who).post("/walk-in/", {"q": query})
    assert response.status_code == 200
    page = response.content.decode()
    assert bank.x.customer_no in page
    assert "张*" in page and "张三" not in page.replace(f'value="{query}"', "")
    assert X_MOBILE not in page and X_ID not in page
    assert "王经理" in page  # the manager by name
    assert tier_label("GOLD") in page and "GOLD" not in page  # the tier by its label
    assert f"/complaints/new/{bank.x.customer_no}/" in page
    event = AuditEvent.objects.filter(username=who, action="SEARCH").get()
    assert query not in str(event.detail) or query == X_ID[-4:]


def test_walk_in_search_stays_in_the_sub_branch(bank, far_lobby):
    page = _login("far_lobby").post("/walk-in/", {"q": "张三"}).content.decode()
    assert bank.x.customer_no not in page


@pytest.mark.parametrize("who", ["lobby", "teller"])
def test_lobby_and_teller_file_a_complaint(bank, teller, who):
    client = _login(who)
    form = client.get(f"/complaints/new/{bank.x.customer_no}/")
    assert form.status_code == 200
    assert "张*" in form.content.decode() and "张三" not in form.content.decode()
    response = client.post(f"/complaints/new/{bank.x.customer_no}/", {"subject": "排队太久"})
    assert response.status_code == 302
    complaint = Complaint.objects.get()
    assert complaint.owner == bank.staff["cm_owner"] and complaint.created_by.username == who
    assert AuditEvent.objects.filter(username=who, action="COMPLAINT_NEW").exists()
    # The lobby reads no customer's complaint afterwards: the redirect is not a 404.
    assert client.get(response["Location"]).status_code == 200


def test_far_lobby_cannot_file_for_another_sub_branch(bank, far_lobby):
    client = _login("far_lobby")
    assert client.get(f"/complaints/new/{bank.x.customer_no}/").status_code == 404
    assert (
        client.post(f"/complaints/new/{bank.x.customer_no}/", {"subject": "x"}).status_code == 404
    )
    assert not Referral.objects.exists() and not Complaint.objects.exists()


def test_the_referrer_sees_whom_they_referred_by_masked_name(bank):
    referral_create(
        referrer_staff=bank.staff["lobby"],
        to_staff=bank.staff["cm_owner"],
        customer=bank.x,
        reason="PRODUCT_INTEREST",
    )
    mine = _login("lobby").get("/referrals/").content.decode()
    assert "张*" in mine and "张三" not in mine and "王经理" in mine
    assert bank.x.customer_no not in mine
    theirs = _login("cm_owner").get("/referrals/").content.decode()
    assert "张三" in theirs and "郑大堂" in theirs


def test_refer_from_the_walk_in_page_fills_the_customer(bank):
    page = _login("lobby").get("/referrals/new/", {"customer_no": bank.x.customer_no})
    assert f'value="{bank.x.customer_no}"' in page.content.decode()
