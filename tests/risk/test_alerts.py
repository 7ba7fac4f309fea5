"""The alerts and triggers found missing after the first build of issue 16 (gaps 1–3): a listed
customer at the counter reaches the CM and the outlet head; a group over its limit reaches every
risk manager until the breach ends; settlement flows falling month on month call for 关注; a loan
written off calls for 退出 and closes an exit plan as written off."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from qiao.credit.models import ListEntry, Loan
from qiao.customers.models import CustomerGroup, GroupMembership
from qiao.engagement.models import WorkItem
from qiao.engagement.worklist import worklist_generate
from qiao.risk.exitplans import exit_plan_open
from qiao.risk.models import ExitPlan, WarningState, WarningTransition
from qiao.risk.reasons import render_reasons
from qiao.risk.warnings import warnings_evaluate
from tests.engagement.conftest import write_lake
from tests.factories import make_account, make_staff

pytestmark = pytest.mark.django_db


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    local = dt.datetime.combine(
        day, dt.time(hour), tzinfo=zoneinfo.ZoneInfo(django_settings.TIME_ZONE)
    )
    return local.astimezone(dt.UTC)


def _txn(i: int, account, when: dt.datetime, amount: str, channel: str = "COUNTER") -> dict:
    return {
        "txn_id": f"T{i:06d}",
        "account_no": account.account_no,
        "customer_no": account.customer.customer_no,
        "txn_time": when,
        "amount": amount,
        "direction": "D",
        "channel": channel,
        "txn_type": "WITHDRAWAL",
    }


def _list(customer, kind: str, reason: str) -> None:
    ListEntry.objects.create(
        customer=customer,
        list_kind=kind,
        reason=reason,
        status="APPROVED",
        source="CORE",
        listed_on=dt.date(2025, 1, 1),
    )


def test_a_listed_customer_at_the_counter_alerts_the_cm_and_the_outlet_head(risk_bank):
    """Gap 1: one item per customer and transaction day, for the owning CM and the head of the
    outlet that keeps the account (transactions carry no outlet), with the why in words."""
    bank = risk_bank
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    head2 = make_staff("head2", "OUTLET_HEAD", bank.o2, "钱主任")
    z_settle = make_account(
        bank.z, bank.products["DEM"], "0", account_no="Z-SETTLE", branch_code="O2"
    )
    _list(bank.z, "RED", "重点监控客户")
    _list(bank.x, "BLACK", "恶意逃废债")
    x_dem = bank.accounts["x_dem"]
    w_dem = make_account(bank.w, bank.products["DEM"], "0", account_no="W-DEM")
    write_lake(
        "transactions",
        [
            _txn(1, z_settle, _at(yesterday, 9), "100000"),
            _txn(2, z_settle, _at(yesterday, 15), "20000"),
            _txn(3, z_settle, _at(yesterday, 16), "999999", channel="ONLINE"),  # not in person
            _txn(4, x_dem, _at(yesterday, 11), "5000"),
            _txn(5, w_dem, _at(yesterday, 11), "5000"),  # not listed
            _txn(6, z_settle, _at(today - dt.timedelta(days=30)), "1"),  # long ago
        ],
    )
    worklist_generate(day=today)
    items = WorkItem.objects.filter(kind="REDLIST_SEEN")
    got = {(i.customer.customer_no, i.staff.username) for i in items}
    assert got == {
        ("C0000001", "cm_owner"),  # Z's manager
        ("C0000001", "head2"),  # the outlet that keeps Z's account
        ("P0000001", "cm_owner"),  # X's manager
        ("P0000001", "outlet_head"),  # X's own outlet (the account names none)
    }
    z_item = items.get(customer=bank.z, staff=head2)
    assert z_item.reason_text == (
        f"On the Red list (重点监控客户): transacted at the counter of 人民路网点 on "
        f"{yesterday.isoformat()} — 2 transactions, ¥120,000.00"
    )
    assert (
        "Blacklist (恶意逃废债)"
        in items.get(customer=bank.x, staff=bank.staff["outlet_head"]).reason_text
    )
    assert "REDLIST" not in z_item.reason_text and "COUNTER" not in z_item.reason_text
    # Idempotent per transaction day: again tonight, and after the CM has dealt with it.
    worklist_generate(day=today)
    assert WorkItem.objects.filter(kind="REDLIST_SEEN").count() == 4
    items.filter(staff=bank.staff["cm_owner"]).update(status="DONE", closed_at=timezone.now())
    worklist_generate(day=today + dt.timedelta(days=1))
    assert WorkItem.objects.filter(kind="REDLIST_SEEN").count() == 4
    # Another day at the counter is another item.
    write_lake("transactions", [_txn(7, z_settle, _at(today, 9), "300")], load_id=2)
    worklist_generate(day=today)
    assert WorkItem.objects.filter(kind="REDLIST_SEEN", customer=bank.z).count() == 4


def test_a_group_over_its_limit_is_on_the_risk_managers_list_until_the_breach_ends(
    risk_bank, settings
):
    """Gap 2: 8.5 M against a 20 % limit of 40 M (8 M): every risk manager gets the group, its
    exposure and limit in words and grouped amounts; the item is done when the breach ends."""
    bank = risk_bank
    settings.QIAO = {**settings.QIAO, "TIER_ONE_CAPITAL": 40_000_000}
    group = CustomerGroup.objects.create(code="G-DA", name="德安集团")
    for c, role in ((bank.z, "PARENT"), (bank.w, "SUBSIDIARY")):
        GroupMembership.objects.create(
            group=group, customer=c, member_role=role, link_type="EQUITY"
        )
    loan = Loan.objects.create(
        loan_no="L-W-1",
        customer=bank.w,
        principal=Decimal("2500000"),
        balance=Decimal("2500000"),
        start_date=dt.date(2025, 1, 1),
        maturity_date=dt.date(2027, 1, 1),
        as_of=dt.date(2026, 11, 30),
    )
    second = make_staff("risk2", "RISK_MANAGER", bank.ho, "卫风险")
    today = timezone.localdate()
    worklist_generate(day=today)
    items = WorkItem.objects.filter(kind="EXPOSURE_BREACH", status="OPEN")
    assert {i.staff for i in items} == {bank.staff["risk_manager"], second}
    item = items.get(staff=second)
    assert item.customer == bank.z  # the member with the largest exposure
    assert item.reason_text == (
        "Connected group of 九江德安建材有限公司 (2 customers): exposure ¥8,500,000.00 is over its "
        "limit of ¥8,000,000.00 — 21.2% of tier-one capital against 20%"
    )
    assert item.value_at_stake == Decimal("500000")
    page = _today(second)
    assert "exposure ¥8,500,000.00 is over its limit of ¥8,000,000.00" in page
    assert ">EXPOSURE_BREACH<" not in page
    worklist_generate(day=today)
    assert WorkItem.objects.filter(kind="EXPOSURE_BREACH").count() == 2
    # A repayment brings the group back within its limit: the items are done.
    loan.balance = Decimal("1000000")
    loan.save()
    worklist_generate(day=today + dt.timedelta(days=1))
    assert set(
        WorkItem.objects.filter(kind="EXPOSURE_BREACH").values_list("status", flat=True)
    ) == {"DONE"}


def _today(staff) -> str:
    from django.test import Client

    c = Client()
    c.force_login(staff)
    return c.get("/today/").content.decode()


def _month(day: dt.date, back: int) -> dt.date:
    i = day.year * 12 + day.month - 1 - back
    return dt.date(i // 12, i % 12 + 1, 10)


def test_settlement_flows_falling_over_months_call_for_watch(risk_bank):
    """Gap 3: the turnover of Z's settlement account, 3 M a month, falls to 0.6 M a month over the
    last three whole months: 80 % down from a base over the 1 M floor → WATCH, with the reason."""
    bank = risk_bank
    today = timezone.localdate()
    account = make_account(bank.z, bank.products["DEM"], "0", account_no="Z-SETTLE")
    rows, i = [], 0
    for back, amount in [(6, "3000000"), (5, "3000000"), (4, "3000000")] + [
        (3, "600000"),
        (2, "600000"),
        (1, "600000"),
    ]:
        i += 1
        rows.append(_txn(i, account, _at(_month(today, back)), amount, channel="CORP_ONLINE"))
    write_lake("transactions", rows)
    warnings_evaluate(day=today)
    t = WarningTransition.objects.get(customer=bank.z, status="PROPOSED")
    assert t.to_state == "WATCH"
    texts = [r["text"] for r in render_reasons(t.reasons)]
    assert texts == [
        "Settlement flows fell 80.0% over the last 3 months (from ¥3,000,000.00 a month)"
    ]


def test_a_written_off_loan_calls_for_exit_and_closes_the_plan_as_written_off(risk_bank):
    """Gap 3: the write-off of the loan load → EXIT proposed ("A loan was written off"); the
    open exit plan's exposure falls to zero and it closes with the outcome "Written off"."""
    bank = risk_bank
    today = timezone.localdate()
    WarningState.objects.create(customer=bank.z, state="DOUBTFUL", since=today)
    plan = exit_plan_open(
        by=bank.staff["cm_owner"], customer=bank.z, target_date=today + dt.timedelta(days=90)
    )
    assert plan.start_exposure == Decimal("6000000")
    Loan.objects.filter(loan_no="L-Z-1").update(
        classification="LOSS", days_overdue=400, written_off_on=today
    )
    summary = warnings_evaluate(day=today)
    t = WarningTransition.objects.get(customer=bank.z, status="PROPOSED")
    assert (t.from_state, t.to_state) == ("DOUBTFUL", "EXIT")
    assert "A loan was written off" in [r["text"] for r in render_reasons(t.reasons)]
    plan.refresh_from_db()
    assert (plan.status, plan.exposure, plan.outcome, plan.written_off) == (
        "CLOSED",
        Decimal("0"),
        "WRITTEN_OFF",
        Decimal("6000000"),
    )
    assert summary["exit_plans"]["written_off"] == 1
    assert ExitPlan.objects.get(pk=plan.pk).get_outcome_display() == "Written off"
