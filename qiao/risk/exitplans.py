"""Exit plans (退出方案, issue 16 item 4): opened for a customer in 可疑 or 退出, with steps
(reduce the limit, stop new drawdowns, call collateral, recover), a target exposure and a date.
Progress is measured after every credit load by the nightly evaluation
(:func:`qiao.risk.warnings.exit_plans_measure`); the plan closes when the exposure is zero."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core.errors import ApplicationError
from qiao.customers.models import Customer
from qiao.org.models import Staff
from qiao.org.permissions import CONFIRM_WARNINGS, DESIGNATE_KEY_ACCOUNTS, staff_has_perm
from qiao.risk.exposure import customer_exposures
from qiao.risk.models import ExitPlan, ExitPlanStatus, ExitStep, ExitStepKind, WarningState

#: The steps a new plan gets unless others are given, with their due days from the start.
DEFAULT_STEPS = [
    (ExitStepKind.STOP_DRAWDOWN, 7),
    (ExitStepKind.REDUCE_LIMIT, 30),
    (ExitStepKind.CALL_COLLATERAL, 60),
    (ExitStepKind.RECOVER, 180),
]


def _may_plan(staff: Staff) -> None:
    # Those who serve the customer draw up the plan; the risk manager may too.
    if not (
        staff_has_perm(staff, DESIGNATE_KEY_ACCOUNTS) or staff_has_perm(staff, CONFIRM_WARNINGS)
    ):
        raise PermissionDenied(DESIGNATE_KEY_ACCOUNTS)


def exit_plan_open(
    *,
    by: Staff,
    customer: Customer,
    target_date: dt.date,
    target_exposure: Decimal = Decimal(0),
    steps: list[tuple[str, dt.date]] | None = None,
    note: str = "",
) -> ExitPlan:
    """Open the customer's exit plan (one open plan per customer); ``customer`` comes from a
    scoped selector. Only for a customer in 可疑 DOUBTFUL or 退出 EXIT."""
    _may_plan(by)
    state = WarningState.objects.filter(customer=customer).values_list("state", flat=True).first()
    if state not in ("DOUBTFUL", "EXIT"):
        raise ApplicationError(_("An exit plan is for a customer in the doubtful or exit state."))
    today = timezone.localdate()
    if target_date <= today:
        raise ApplicationError(_("The exit date must be in the future."))
    if target_exposure < 0:
        raise ApplicationError(_("The target exposure cannot be negative."))
    exposure = customer_exposures([customer.pk]).get(customer.pk, Decimal(0))
    chosen = steps or [(k, today + dt.timedelta(days=d)) for k, d in DEFAULT_STEPS]
    for kind, _due in chosen:
        if kind not in ExitStepKind.values:
            raise ApplicationError(_("Unknown exit step."))
    try:
        with transaction.atomic():
            plan = ExitPlan.objects.create(
                customer=customer,
                start=today,
                target_date=target_date,
                target_exposure=target_exposure,
                start_exposure=exposure,
                exposure=exposure,
                measured_on=today,
                note=note.strip()[:300],
                created_by=by,
            )
            ExitStep.objects.bulk_create(
                [ExitStep(plan=plan, kind=kind, due=due) for kind, due in chosen]
            )
            audit_record(
                request_or_staff=by,
                action=Action.EXIT_PLAN,
                customer_no=customer.customer_no,
                detail={
                    "what": "open",
                    "steps": [k for k, _d in chosen],
                    "target": str(target_exposure),
                },
            )
    except IntegrityError as exc:
        raise ApplicationError(_("This customer already has an open exit plan.")) from exc
    # The "exit plan required" items are done: the next work list closes them.
    return plan


def exit_step_done(*, by: Staff, step: ExitStep, note: str = "") -> ExitStep:
    _may_plan(by)
    if step.plan.status != ExitPlanStatus.OPEN:
        raise ApplicationError(_("This exit plan is closed."))
    if step.done_on is not None:
        raise ApplicationError(_("This step is already done."))
    step.done_on = timezone.localdate()
    step.done_by = by
    step.note = note.strip()[:200]
    step.save(update_fields=["done_on", "done_by", "note"])
    audit_record(
        request_or_staff=by,
        action=Action.EXIT_PLAN,
        customer_no=step.plan.customer.customer_no,
        detail={"what": "step done", "step": step.kind},
    )
    return step
