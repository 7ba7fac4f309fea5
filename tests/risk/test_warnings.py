"""Early warning end to end on the database: the rules propose with reasons, a risk manager
confirms (never the CM, never the proposer), every transition is kept, the required actions
reach the work lists, exit plans close at zero exposure."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from qiao.audit.models import AuditEvent
from qiao.core.errors import ApplicationError
from qiao.credit.models import Facility, Loan
from qiao.engagement.models import WorkItem
from qiao.engagement.worklist import worklist_generate
from qiao.risk.exitplans import exit_plan_open
from qiao.risk.models import WarningState, WarningTransition
from qiao.risk.reasons import render_reasons
from qiao.risk.warnings import warning_decide, warning_propose, warnings_evaluate
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


def _classify(bank, cls: str, days: int = 0, balance: str | None = None) -> None:
    """A later loan load: the loan's class, days overdue (and balance)."""
    loan = Loan.objects.get(loan_no="L-Z-1")
    loan.classification, loan.days_overdue = cls, days
    if balance is not None:
        loan.balance = Decimal(balance)
    loan.save()


def _proposal(bank) -> WarningTransition:
    return WarningTransition.objects.get(customer=bank.z, status="PROPOSED")


def test_the_rules_propose_watch_with_the_reasons(risk_bank):
    _classify(risk_bank, "SPECIAL_MENTION", days=12)
    summary = warnings_evaluate()
    assert summary["proposed"] == 1
    t = _proposal(risk_bank)
    assert (t.from_state, t.to_state, t.proposed_by) == ("NORMAL", "WATCH", None)
    assert [r["code"] for r in t.reasons] == ["LOAN_CLASS", "OVERDUE"]
    texts = [r["text"] for r in render_reasons(t.reasons)]
    assert texts == ["A loan is classified Special mention", "A loan is 12 days overdue"]
    # Nothing changes until someone decides; a second run files no second proposal.
    assert WarningState.objects.get(customer=risk_bank.z).state == "NORMAL"
    assert warnings_evaluate()["proposed"] == 0
    assert WarningTransition.objects.filter(customer=risk_bank.z).count() == 1


def test_reasons_read_in_the_readers_language(risk_bank):
    from django.utils import translation

    _classify(risk_bank, "SPECIAL_MENTION", days=12)
    warnings_evaluate()
    with translation.override("zh-hans"):
        texts = [r["text"] for r in render_reasons(_proposal(risk_bank).reasons)]
    assert texts[1] == "贷款逾期 12 天"


def test_a_cm_cannot_confirm_the_risk_manager_does_and_the_cm_gets_the_review(risk_bank):
    _classify(risk_bank, "SPECIAL_MENTION", days=12)
    warnings_evaluate()
    t = _proposal(risk_bank)
    with pytest.raises(PermissionDenied):
        warning_decide(by=risk_bank.staff["cm_owner"], transition=t, confirm=True)
    with pytest.raises(PermissionDenied):
        warning_decide(by=risk_bank.staff["outlet_head"], transition=t, confirm=True)
    warning_decide(by=risk_bank.staff["risk_manager"], transition=t, confirm=True, note="核实")
    state = WarningState.objects.get(customer=risk_bank.z)
    assert (state.state, state.since) == ("WATCH", timezone.localdate())
    t.refresh_from_db()
    assert (t.status, t.decided_by) == ("CONFIRMED", risk_bank.staff["risk_manager"])
    item = WorkItem.objects.get(customer=risk_bank.z, kind="WARNING_REVIEW", status="OPEN")
    assert item.staff == risk_bank.staff["cm_owner"]
    assert item.due == timezone.localdate() + dt.timedelta(days=10)
    assert "review by" in item.reason
    assert AuditEvent.objects.filter(action="WARNING_DECIDE", customer_no="C0000001").exists()
    # The nightly work list keeps the one item (same cause), does not add another.
    worklist_generate()
    assert WorkItem.objects.filter(customer=risk_bank.z, kind="WARNING_REVIEW").count() == 1
    # Decided once: a second decision is refused.
    with pytest.raises(ApplicationError):
        warning_decide(by=risk_bank.staff["risk_manager"], transition=t, confirm=False)


def test_a_rejected_proposal_is_kept_and_not_filed_again_at_once(risk_bank):
    _classify(risk_bank, "SPECIAL_MENTION", days=3)
    warnings_evaluate()
    warning_decide(
        by=risk_bank.staff["risk_manager"], transition=_proposal(risk_bank), confirm=False
    )
    assert warnings_evaluate()["proposed"] == 0
    assert WarningTransition.objects.get(customer=risk_bank.z).status == "REJECTED"
    assert WarningState.objects.get(customer=risk_bank.z).state == "NORMAL"


def test_doubtful_in_the_next_load_asks_for_an_exit_plan(risk_bank):
    rm = risk_bank.staff["risk_manager"]
    _classify(risk_bank, "SPECIAL_MENTION", days=20)
    warnings_evaluate()
    warning_decide(by=rm, transition=_proposal(risk_bank), confirm=True)
    _classify(risk_bank, "DOUBTFUL", days=120)  # the next load
    warnings_evaluate()
    t = _proposal(risk_bank)
    assert (t.from_state, t.to_state) == ("WATCH", "DOUBTFUL")
    warning_decide(by=rm, transition=t, confirm=True)
    item = WorkItem.objects.get(customer=risk_bank.z, kind="EXIT_PLAN", status="OPEN")
    assert item.staff == risk_bank.staff["cm_owner"]
    # The review of the watch is moot now; opening a plan settles the exit-plan item.
    plan = exit_plan_open(
        by=risk_bank.staff["cm_owner"],
        customer=risk_bank.z,
        target_date=timezone.localdate() + dt.timedelta(days=180),
    )
    assert plan.start_exposure == Decimal("6000000.00")
    assert [s.kind for s in plan.steps.order_by("due")] == [
        "STOP_DRAWDOWN",
        "REDUCE_LIMIT",
        "CALL_COLLATERAL",
        "RECOVER",
    ]
    worklist_generate()
    item.refresh_from_db()
    assert item.status == "DONE"
    assert not WorkItem.objects.filter(customer=risk_bank.z, kind="WARNING_REVIEW", status="OPEN")
    # Every transition is kept, in order.
    assert list(
        WarningTransition.objects.filter(customer=risk_bank.z)
        .order_by("proposed_at", "id")
        .values_list("from_state", "to_state", "status")
    ) == [("NORMAL", "WATCH", "CONFIRMED"), ("WATCH", "DOUBTFUL", "CONFIRMED")]


def test_an_exit_plan_closes_when_a_load_brings_the_exposure_to_zero(risk_bank):
    WarningState.objects.create(customer=risk_bank.z, state="DOUBTFUL", since=timezone.localdate())
    plan = exit_plan_open(
        by=risk_bank.staff["risk_manager"],
        customer=risk_bank.z,
        target_date=timezone.localdate() + dt.timedelta(days=90),
    )
    _classify(risk_bank, "DOUBTFUL", days=100, balance="2500000")
    Facility.objects.filter(facility_no="F-Z-1").update(used=Decimal("2500000"))
    warnings_evaluate()
    plan.refresh_from_db()
    assert (plan.status, plan.exposure, plan.progress_pct) == ("OPEN", Decimal("2500000.00"), 58)
    _classify(risk_bank, "DOUBTFUL", days=100, balance="0")
    Facility.objects.filter(facility_no="F-Z-1").update(used=Decimal("0"), status="CLOSED")
    warnings_evaluate()
    plan.refresh_from_db()
    assert (plan.status, plan.exposure, plan.closed_on) == (
        "CLOSED",
        Decimal("0.00"),
        timezone.localdate(),
    )


def test_an_exit_plan_needs_a_doubtful_customer(risk_bank):
    with pytest.raises(ApplicationError, match="doubtful or exit"):
        exit_plan_open(
            by=risk_bank.staff["cm_owner"],
            customer=risk_bank.z,
            target_date=timezone.localdate() + dt.timedelta(days=90),
        )


def test_a_cm_proposes_a_worsening_only_and_cannot_confirm_it(risk_bank):
    cm, rm = risk_bank.staff["cm_owner"], risk_bank.staff["risk_manager"]
    t = warning_propose(by=cm, customer=risk_bank.z, to_state="WATCH", note="老板失联")
    assert (t.proposed_by, t.reasons) == (cm, [{"code": "STAFF", "params": {}}])
    with pytest.raises(PermissionDenied):
        warning_decide(by=cm, transition=t, confirm=True)
    warning_decide(by=rm, transition=t, confirm=True)
    with pytest.raises(ApplicationError, match="worse state"):
        warning_propose(by=cm, customer=risk_bank.z, to_state="NORMAL", note="好转")
    # Another outlet's CM does not see Z: as if it did not exist.
    from django.http import Http404

    with pytest.raises(Http404):
        warning_propose(
            by=risk_bank.staff["cm_other"], customer=risk_bank.z, to_state="EXIT", note="x"
        )


def test_a_risk_manager_never_decides_their_own_proposal(risk_bank):
    rm = risk_bank.staff["risk_manager"]
    t = warning_propose(by=rm, customer=risk_bank.z, to_state="DOUBTFUL", note="法院公告")
    with pytest.raises(PermissionDenied):
        warning_decide(by=rm, transition=t, confirm=True)


def test_a_guarantor_in_warning_puts_the_borrower_on_watch(risk_bank):
    from qiao.credit.models import Guarantee

    Guarantee.objects.create(
        guarantee_no="G-1",
        guarantor=risk_bank.z,
        borrower=risk_bank.x,
        amount=Decimal("100000"),
        start_date=dt.date(2025, 1, 1),
    )
    _classify(risk_bank, "SUBSTANDARD", days=95)
    warnings_evaluate()
    proposals = dict(
        WarningTransition.objects.filter(status="PROPOSED").values_list("customer_id", "to_state")
    )
    assert proposals == {risk_bank.z.pk: "DOUBTFUL", risk_bank.x.pk: "WATCH"}
    x = WarningTransition.objects.get(customer=risk_bank.x)
    assert [r["code"] for r in x.reasons] == ["LINKED"]


def test_a_proposal_whose_cause_is_gone_lapses(risk_bank):
    _classify(risk_bank, "SPECIAL_MENTION", days=5)
    warnings_evaluate()
    _classify(risk_bank, "PASS", days=0)
    summary = warnings_evaluate()
    assert summary["proposals_withdrawn"] == 1
    t = WarningTransition.objects.get(customer=risk_bank.z)
    assert (t.status, t.decided_by) == ("REJECTED", None)


def test_an_improvement_is_proposed_after_the_state_has_held(risk_bank):
    WarningState.objects.create(
        customer=risk_bank.z, state="WATCH", since=timezone.localdate() - dt.timedelta(days=5)
    )
    assert warnings_evaluate()["proposed"] == 0  # held 5 days < 30
    WarningState.objects.filter(customer=risk_bank.z).update(
        since=timezone.localdate() - dt.timedelta(days=40)
    )
    warnings_evaluate()
    t = _proposal(risk_bank)
    assert (t.from_state, t.to_state, [r["code"] for r in t.reasons]) == (
        "WATCH",
        "NORMAL",
        ["CLEARED"],
    )


def test_a_deposit_outflow_against_the_baseline_proposes_watch(risk_bank):
    from qiao.products.models import Account

    account = Account.objects.create(
        customer=risk_bank.z,
        product=risk_bank.products["DEM"],
        account_no="6222000000009999",
        balance=Decimal("3000000"),
        open_date=dt.date(2020, 1, 1),
    )
    day = timezone.localdate()
    warnings_evaluate(day=day)  # the baseline: 3,000,000
    state = WarningState.objects.get(customer=risk_bank.z)
    assert (state.deposit_base, state.base_on) == (Decimal("3000000.00"), day)
    account.balance = Decimal("1000000")
    account.save(update_fields=["balance"])
    later = day + dt.timedelta(days=31)
    warnings_evaluate(day=later)
    t = _proposal(risk_bank)
    assert [r["code"] for r in t.reasons] == ["DEPOSIT_OUTFLOW"]
    assert render_reasons(t.reasons)[0]["text"] == (
        "Deposits fell 66.7% (¥2,000,000.00) against the baseline"
    )
    # The baseline was 31 days old: taken again after the comparison.
    state.refresh_from_db()
    assert (state.deposit_base, state.base_on) == (Decimal("1000000.00"), later)


def test_proposing_a_worse_state_is_not_designating_key_accounts(risk_bank):
    """Gap 6: the proposal checks its own permission (org.propose_warnings), not
    org.designate_key_accounts nor org.log_contact."""
    from django.contrib.auth.models import Permission

    def grant(codename: str):
        staff = make_staff(f"pm_{codename}", "PRODUCT_MANAGER", risk_bank.ho, "产品经理")
        staff.user_permissions.add(Permission.objects.get(codename=codename))
        return type(staff).objects.get(pk=staff.pk)

    designator = grant("designate_key_accounts")
    with pytest.raises(PermissionDenied):
        warning_propose(by=designator, customer=risk_bank.z, to_state="WATCH", note="传闻")
    with pytest.raises(PermissionDenied):
        warning_propose(by=grant("log_contact"), customer=risk_bank.z, to_state="WATCH", note="x")
    reporter = grant("propose_warnings")
    t = warning_propose(by=reporter, customer=risk_bank.z, to_state="WATCH", note="走访发现停产")
    assert (t.to_state, t.proposed_by) == ("WATCH", reporter)


def test_warning_reasons_follow_the_one_amount_rule():
    """万元 in Chinese, ¥ with separators in English (qiao.core.amounts), never ¥ in Chinese."""
    from django.utils import translation

    from qiao.risk.reasons import render_reason

    params = {"pct": "66.7", "amount": "2000000"}
    with translation.override("zh-hans"):
        text = render_reason("DEPOSIT_OUTFLOW", params)
    assert "200.00万元" in text and "¥" not in text
    with translation.override("en"):
        assert "(¥2,000,000.00)" in render_reason("DEPOSIT_OUTFLOW", params)
