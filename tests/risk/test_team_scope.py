"""A key-account team member sees the key accounts they serve everywhere the customer scope
reaches (the 360, the customer list), even outside their own scope (issue 16, gap 7): the risk
app offers them to the customer scope through its app config (qiao.customers.scope)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from qiao.customers.selectors import customer_get_for_staff, customers_visible_to
from qiao.risk.keyaccounts import (
    key_account_decide,
    key_account_member_remove,
    key_account_member_set,
    key_account_propose,
)
from qiao.risk.models import KeyAccountMember
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


def _key_account(bank, year: int):
    ka = key_account_propose(
        by=bank.staff["cm_owner"], customer=bank.z, year=year, grade="KA2", note="结算大户"
    )
    key_account_decide(by=bank.staff["outlet_head"], key_account=ka, approve=True)
    return ka


def _sees_360(staff) -> int:
    c = Client()
    c.force_login(staff)
    return c.get(f"/customers/{'C0000001'}/").status_code


def test_a_team_member_of_another_outlet_sees_the_360_of_their_key_account(risk_bank):
    specialist = make_staff("specialist", "CM", risk_bank.o2, "产品专家")
    assert _sees_360(specialist) == 404
    ka = _key_account(risk_bank, timezone.localdate().year)
    assert _sees_360(specialist) == 404  # not on the team yet
    key_account_member_set(
        by=risk_bank.staff["outlet_head"],
        key_account=ka,
        staff=specialist,
        role="PRODUCT_SPECIALIST",
    )
    assert _sees_360(specialist) == 200
    assert customer_get_for_staff(staff=specialist, customer_no="C0000001") == risk_bank.z
    # Their own customers and the key account, nobody else of either outlet.
    assert list(customers_visible_to(staff=specialist).values_list("customer_no", flat=True)) == [
        "C0000001"
    ]
    member = KeyAccountMember.objects.get(key_account=ka, staff=specialist)
    key_account_member_remove(by=risk_bank.staff["outlet_head"], member=member)
    assert _sees_360(specialist) == 404


def test_an_outlet_head_of_another_outlet_on_the_team_sees_it_too(risk_bank):
    head2 = make_staff("head2", "OUTLET_HEAD", risk_bank.o2, "二号网点负责人")
    ka = _key_account(risk_bank, timezone.localdate().year)
    assert _sees_360(head2) == 404
    key_account_member_set(
        by=risk_bank.staff["outlet_head"], key_account=ka, staff=head2, role="RISK_MANAGER"
    )
    assert _sees_360(head2) == 200
    # Their subtree still counts: the key account is added to it, not put in its place.
    seen = set(customers_visible_to(staff=head2).values_list("customer_no", flat=True))
    assert seen == {risk_bank.y.customer_no, "C0000001"}


def test_only_an_approved_key_account_of_this_or_last_year_opens_the_scope(risk_bank):
    specialist = make_staff("specialist", "CM", risk_bank.o2, "产品专家")
    year = timezone.localdate().year
    future = _key_account(risk_bank, year + 1)
    key_account_member_set(
        by=risk_bank.staff["outlet_head"], key_account=future, staff=specialist, role="BACKUP_CM"
    )
    assert _sees_360(specialist) == 404  # next year's team: not yet
    proposed = key_account_propose(
        by=risk_bank.staff["cm_owner"], customer=risk_bank.z, year=year, grade="KA2", note="x"
    )
    key_account_member_set(
        by=risk_bank.staff["outlet_head"], key_account=proposed, staff=specialist, role="LEAD"
    )
    assert _sees_360(specialist) == 404  # proposed, not approved
    key_account_decide(by=risk_bank.staff["outlet_head"], key_account=proposed, approve=True)
    assert _sees_360(specialist) == 200
