"""Key accounts: the rules propose (never approve), the outlet head decides (never the
proposer, never a CM), the yearly freeze, teams, and the lead's visit items."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from qiao.audit.models import AuditEvent
from qiao.core.errors import ApplicationError
from qiao.customers.models import CustomerStanding
from qiao.engagement.models import Plan, WorkItem
from qiao.engagement.worklist import worklist_generate
from qiao.risk.keyaccounts import (
    freeze_year,
    key_account_decide,
    key_account_member_set,
    key_account_plan_link,
    key_account_propose,
    key_account_remove,
    key_accounts_designate,
)
from qiao.risk.models import KeyAccount
from tests.factories import make_staff

pytestmark = pytest.mark.django_db
YEAR = 2026


def _propose(bank, by="cm_owner", customer=None):
    return key_account_propose(
        by=bank.staff[by],
        customer=customer or bank.z,
        year=YEAR,
        grade="KA2",
        strategic=True,
        note="本地龙头企业",
    )


def test_the_rules_propose_by_contribution_or_credit_with_a_grade(risk_bank):
    CustomerStanding.objects.filter(customer=risk_bank.z).update(contribution=Decimal("1200000"))
    summary = key_accounts_designate(year=YEAR)
    assert summary == {"year": YEAR, "frozen": False, "proposed": 1}
    ka = KeyAccount.objects.get(customer=risk_bank.z)
    assert (ka.status, ka.source, ka.grade, ka.proposed_by) == ("PROPOSED", "RULE", "KA2", None)
    assert ka.basis == {"contribution": "1200000.00", "credit_limit": "10000000.00"}
    # Personal customers are not designated by the rules; a second run proposes nothing new.
    assert key_accounts_designate(year=YEAR)["proposed"] == 0


def test_the_outlet_head_approves_a_cms_proposal_and_nobody_else_does(risk_bank):
    ka = _propose(risk_bank)
    assert AuditEvent.objects.filter(action="KEY_ACCOUNT", customer_no="C0000001").exists()
    for who in ("cm_owner", "cm_peer", "team_lead", "risk_manager"):
        with pytest.raises(PermissionDenied):
            key_account_decide(by=risk_bank.staff[who], key_account=ka, approve=True)
    key_account_decide(by=risk_bank.staff["outlet_head"], key_account=ka, approve=True)
    ka.refresh_from_db()
    assert (ka.status, ka.decided_by) == ("APPROVED", risk_bank.staff["outlet_head"])
    assert AuditEvent.objects.filter(action="KEY_ACCOUNT_OK", customer_no="C0000001").exists()


def test_the_outlet_head_never_approves_their_own_proposal(risk_bank):
    ka = _propose(risk_bank, by="outlet_head")
    with pytest.raises(PermissionDenied):
        key_account_decide(by=risk_bank.staff["outlet_head"], key_account=ka, approve=True)


def test_another_outlets_head_cannot_decide(risk_bank):
    other_head = make_staff("head_o2", "OUTLET_HEAD", risk_bank.o2, "钱主任")
    ka = _propose(risk_bank)
    with pytest.raises(Http404):
        key_account_decide(by=other_head, key_account=ka, approve=True)


def test_a_proposal_needs_a_reason_and_one_open_entry_a_year(risk_bank):
    with pytest.raises(ApplicationError, match="Say why"):
        key_account_propose(
            by=risk_bank.staff["cm_owner"], customer=risk_bank.z, year=YEAR, grade="KA1", note=" "
        )
    _propose(risk_bank)
    with pytest.raises(ApplicationError, match="already on"):
        _propose(risk_bank)


def test_the_freeze_fixes_the_list_and_a_removal_then_needs_approval(risk_bank):
    head, cm = risk_bank.staff["outlet_head"], risk_bank.staff["cm_owner"]
    ka = _propose(risk_bank)
    key_account_decide(by=head, key_account=ka, approve=True)
    CustomerStanding.objects.filter(customer=risk_bank.x).update(contribution=Decimal("9000000"))
    risk_bank.x.customer_type = "C"
    risk_bank.x.save(update_fields=["customer_type"])
    key_accounts_designate(year=YEAR)  # proposes X …
    frozen = freeze_year(by=head, year=YEAR)
    assert frozen.accounts == 1
    # … and the freeze lets the rules' open proposal lapse; the rules propose nothing more for
    # the outlet (the bank as a whole is not frozen: another outlet's list is its head's).
    assert KeyAccount.objects.get(customer=risk_bank.x).status == "REJECTED"
    assert key_accounts_designate(year=YEAR) == {"year": YEAR, "frozen": False, "proposed": 0}
    with pytest.raises(ApplicationError, match="already frozen"):
        freeze_year(by=head, year=YEAR)
    with pytest.raises(PermissionDenied):
        freeze_year(by=cm, year=YEAR + 1)
    # After the freeze even the outlet head's removal is a proposal, decided by another.
    key_account_remove(by=head, key_account=ka, note="业务迁出")
    ka.refresh_from_db()
    assert (ka.status, ka.removal_proposed_by) == ("APPROVED", head)
    with pytest.raises(PermissionDenied):
        key_account_decide(by=head, key_account=ka, approve=True)
    deputy = make_staff("deputy", "OUTLET_HEAD", risk_bank.o1, "韩副主任")
    key_account_decide(by=deputy, key_account=ka, approve=True)
    ka.refresh_from_db()
    assert (ka.status, ka.decided_by) == ("REMOVED", deputy)


def test_before_the_freeze_the_outlet_head_removes_at_once(risk_bank):
    head = risk_bank.staff["outlet_head"]
    ka = _propose(risk_bank)
    key_account_decide(by=head, key_account=ka, approve=True)
    key_account_remove(by=head, key_account=ka, note="不再符合")
    ka.refresh_from_db()
    assert ka.status == "REMOVED"


def test_the_team_has_one_lead_and_the_lead_gets_the_visit_items(risk_bank):
    head, senior, peer = (
        risk_bank.staff["outlet_head"],
        risk_bank.staff["senior"],
        risk_bank.staff["cm_peer"],
    )
    ka = _propose(risk_bank)
    ka.year = timezone.localdate().year
    ka.save(update_fields=["year"])
    key_account_decide(by=head, key_account=ka, approve=True)
    key_account_member_set(by=head, key_account=ka, staff=peer, role="LEAD")
    key_account_member_set(by=head, key_account=ka, staff=senior, role="LEAD")
    roles = dict(ka.members.values_list("staff__username", "role"))
    assert roles == {"senior": "LEAD", "cm_peer": "BACKUP_CM"}
    worklist_generate()
    item = WorkItem.objects.get(kind="KA_VISIT", customer=risk_bank.z, status="OPEN")
    assert item.staff == senior
    assert item.reason == "Key account, grade 2: a visit is due — every 61 days; none yet"
    # A face-to-face meeting meets the standard: the item is done at the next run.
    from qiao.engagement.services import contact_log

    contact_log(
        staff=risk_bank.staff["cm_owner"],
        customer=risk_bank.z,
        data={"channel": "VISIT", "at": timezone.now()},
    )
    worklist_generate()
    item.refresh_from_db()
    assert item.status == "DONE"


def test_the_account_plan_is_a_marketing_plan_of_the_customer(risk_bank):
    cm = risk_bank.staff["cm_owner"]
    ka = _propose(risk_bank)
    today = timezone.localdate()
    plan = Plan.objects.create(
        title="年度经营计划",
        owner=cm,
        customer=risk_bank.z,
        period="ANNUAL",
        start=today,
        end=today + dt.timedelta(days=300),
        target_amount=Decimal("1000000"),
    )
    key_account_plan_link(by=cm, key_account=ka, plan=plan)
    assert KeyAccount.objects.get(pk=ka.pk).plan == plan
    other = Plan.objects.create(
        title="别人的",
        owner=cm,
        customer=risk_bank.x,
        period="ANNUAL",
        start=today,
        end=today + dt.timedelta(days=300),
        target_amount=Decimal("1000"),
    )
    with pytest.raises(ApplicationError, match="plan for this customer"):
        key_account_plan_link(by=cm, key_account=ka, plan=other)


def test_an_outlet_head_freezes_only_their_outlets_list(risk_bank):
    """Gap 5: the freeze of 解放路网点 (O1) leaves 人民路网点 (O2) open: its rule proposals stand,
    its head removes at once and freezes their own list later; a bank-wide approver freezes
    whatever is left."""
    from django.contrib.auth.models import Permission

    head1 = risk_bank.staff["outlet_head"]
    head2 = make_staff("head2", "OUTLET_HEAD", risk_bank.o2, "钱主任")
    y = risk_bank.y
    y.customer_type = "C"
    y.save(update_fields=["customer_type"])
    CustomerStanding.objects.filter(customer=y).update(contribution=Decimal("9000000"))
    first = freeze_year(by=head1, year=YEAR)
    assert first.unit == risk_bank.o1
    # O2's customer is still proposed by the rules, and O2's list is not frozen.
    assert key_accounts_designate(year=YEAR)["proposed"] == 1
    proposal = KeyAccount.objects.get(customer=y, year=YEAR)
    assert proposal.status == "PROPOSED"
    key_account_decide(by=head2, key_account=proposal, approve=True)
    key_account_remove(by=head2, key_account=proposal, note="不再符合")
    proposal.refresh_from_db()
    assert proposal.status == "REMOVED"  # at once: O2's list is not frozen
    # O2's head freezes O2's list (before the fix: "already frozen" by O1's freeze).
    assert freeze_year(by=head2, year=YEAR).unit == risk_bank.o2
    page = _client_get(head1, f"/risk/key-accounts/?year={YEAR}")
    assert "frozen" in page and "Freeze the" not in page
    # A bank-wide member of staff granted the permission freezes the whole bank; not twice.
    chief = make_staff("chief", "ANALYST", risk_bank.ho, "总行审批")
    chief.user_permissions.add(Permission.objects.get(codename="approve_key_accounts"))
    chief = type(chief).objects.get(pk=chief.pk)
    assert freeze_year(by=chief, year=YEAR + 1).unit is None
    with pytest.raises(ApplicationError, match="already frozen"):
        freeze_year(by=head1, year=YEAR + 1)


def _client_get(staff, path: str) -> str:
    from django.test import Client

    c = Client()
    c.force_login(staff)
    return c.get(path).content.decode()
