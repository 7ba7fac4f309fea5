"""The workbench bank plus a risk manager, a team lead and credit for the corporate customer Z
(张三's manager, cm_owner, owns Z here)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from qiao.credit.models import Facility, Loan
from qiao.org.models import Role
from tests.factories import make_staff, own
from tests.workbench.conftest import Bank, _fast_hasher, bank  # noqa: F401, F811  (fixtures)


@pytest.fixture
def risk_bank(bank: Bank) -> Bank:  # noqa: F811
    bank.staff["risk_manager"] = make_staff("risk_manager", Role.RISK_MANAGER, bank.ho, "褚风险")
    bank.staff["team_lead"] = make_staff("team_lead", Role.TEAM_LEAD, bank.o1, "冯组长")
    bank.staff["senior"] = make_staff("senior", Role.SENIOR_CM, bank.o1, "蒋高级")
    own(bank.z, bank.staff["cm_owner"])
    bank.z.refresh_from_db()
    facility = Facility.objects.create(
        facility_no="F-Z-1",
        customer=bank.z,
        limit=Decimal("10000000"),
        used=Decimal("6000000"),
        start_date=dt.date(2025, 1, 1),
        end_date=dt.date(2027, 12, 31),
    )
    Loan.objects.create(
        loan_no="L-Z-1",
        customer=bank.z,
        facility=facility,
        principal=Decimal("6000000"),
        balance=Decimal("6000000"),
        start_date=dt.date(2025, 1, 1),
        maturity_date=dt.date(2027, 1, 1),
        classification="PASS",
        as_of=dt.date(2026, 11, 30),
    )
    return bank
