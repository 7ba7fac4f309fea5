"""Writes for engagement: the records people keep — contacts, tasks, prospects, plans, referrals,
complaints (the nightly work list is built in :mod:`.worklist`).

Keyword-only, typed, ``<entity>_<action>``; ``full_clean()`` before saving, inside
``transaction.atomic``; a business rule that says no raises :class:`ApplicationError`.
Every write by a person first checks its permission (:mod:`qiao.org.permissions`, raising
``PermissionDenied``) and the object rule (whose item, whose complaint: decision 0006), and
writes one audit event naming who did what to which customer. The weekly regrading
(``prospects_regrade_weekly``, run by the work list on Mondays) acts for the bank, not for a person.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core.errors import ApplicationError
from qiao.customers.models import Customer
from qiao.customers.selectors import (
    customer_lookup_for_referral,
    customers_visible_to,
    saved_group_customers,
)
from qiao.engagement.conf import complaint_setting, prospect_setting
from qiao.engagement.models import (
    MEETING_FIELDS,
    PERSONAL_CHANNELS,
    PHONE_STEPS,
    REQUIREMENT_CHANNELS,
    Channel,
    CloseReason,
    Complaint,
    ComplaintStatus,
    Contact,
    Plan,
    PlanMilestone,
    Prospect,
    ProspectGrade,
    ProspectGradeChange,
    ProspectStatus,
    Referral,
    ReferralStatus,
    Requirement,
    Task,
    WorkItem,
    WorkKind,
    WorkStatus,
)
from qiao.engagement.selectors import day_start, plans_measure
from qiao.org.models import OWNER_ROLES, Role, Staff
from qiao.org.permissions import (
    FILE_COMPLAINT,
    HANDLE_COMPLAINT,
    LOG_CONTACT,
    MANAGE_PLANS,
    MANAGE_PROSPECTS,
    REFER,
    WORK_OWN_LIST,
    require_perm,
    staff_has_perm,
)
from qiao.suitability.suggestions import require_suitable


def _customer_no(customer: Customer | None) -> str:
    return customer.customer_no if customer is not None else ""


def _in_scope(staff: Staff, customer_id: int | None) -> bool:
    """True when the customer is in ``staff``'s data scope now (a reassignment ends access)."""
    if customer_id is None:
        return True
    return customers_visible_to(staff=staff).filter(pk=customer_id).exists()


def work_item_close(*, staff: Staff, item: WorkItem, reason: str) -> WorkItem:
    """The CM closes an item without logging a contact, saying why (``CLOSE_REASONS``: no longer
    needed, done elsewhere, the customer declined); the reason is kept on the item and audited."""
    require_perm(staff, WORK_OWN_LIST)
    if item.staff_id != staff.pk or not _in_scope(staff, item.customer_id):
        raise ApplicationError(_("This item is not on your work list."), status=403)
    if item.status != WorkStatus.OPEN:
        raise ApplicationError(_("This item is already closed."))
    if reason not in CloseReason.values:
        raise ApplicationError(_("Say why the item is closed without a contact."), field="reason")
    item.status = WorkStatus.DONE
    item.closed_at = timezone.now()
    item.close_reason = reason
    with transaction.atomic():
        item.save(update_fields=["status", "closed_at", "close_reason"])
        audit_record(
            request_or_staff=staff,
            action=Action.ITEM_CLOSE,
            customer_no=_customer_no(item.customer),
            detail={"item": item.pk, "kind": item.kind, "reason": reason},
        )
    return item


# --------------------------------------------------------------------------------------------------
# contacts and tasks
# --------------------------------------------------------------------------------------------------

CONTACT_FIELDS = (
    "channel",
    "at",
    "summary",
    "with_outlet_head",
    *PHONE_STEPS,
    "appointment_at",
    "appointment_place",
    *MEETING_FIELDS,
    "next_step",
    "next_step_due",
    "satisfaction",
)
#: Kinds a personal contact (call, meeting, visit, at the outlet) closes; greetings close by any.
CLOSED_BY_PERSONAL = {
    WorkKind.LARGE_INFLOW,
    WorkKind.LARGE_OUTFLOW,
    WorkKind.MATURITY,
    WorkKind.TIER_DOWN,
    WorkKind.ATTRITION_UP,
    WorkKind.REFERRAL,
    WorkKind.BIRTHDAY,
    WorkKind.FESTIVAL,
}
CLOSED_BY_ANY = {WorkKind.BIRTHDAY, WorkKind.FESTIVAL}


def _matches(item: WorkItem, contact: Contact) -> bool:
    if item.kind == WorkKind.CONTACT_DUE:
        req = item.cause_key.split(":")[1]
        if contact.channel not in REQUIREMENT_CHANNELS.get(req, ()):
            return False
        return req != Requirement.HEAD_MEETING or contact.with_outlet_head
    if contact.channel in PERSONAL_CHANNELS:
        return item.kind in CLOSED_BY_PERSONAL
    return item.kind in CLOSED_BY_ANY


def contact_log(
    *, staff: Staff, customer: Customer, data: dict[str, Any]
) -> tuple[Contact, list[WorkItem], list[str]]:
    """Record a contact; close the customer's matching open items; create the next-step task.

    ``customer`` must come from the scope selectors (checked again here). ``data`` holds the fields of
    :data:`CONTACT_FIELDS` and optionally ``work_item`` (an item id the contact answers).
    Returns the contact, the items it closed and warnings: another CM of the bank contacted or
    booked this customer the same day (seed 003 L37: two teams at one customer on one day).
    """
    require_perm(staff, LOG_CONTACT)
    if not _in_scope(staff, customer.pk):
        raise ApplicationError(_("This customer is not in your care."), status=404)
    values = {k: data[k] for k in CONTACT_FIELDS if k in data and data[k] is not None}
    values.setdefault("at", timezone.now())
    contact = Contact(customer=customer, staff=staff, **values)
    errors: dict[str, Any] = {}
    try:
        contact.full_clean()
    except ValidationError as exc:
        errors.update({k: "; ".join(str(m) for m in v) for k, v in exc.message_dict.items()})
    if contact.at and contact.at > timezone.now() + dt.timedelta(minutes=10):
        errors["at"] = _("A contact cannot be in the future; book an appointment instead.")
    if contact.appointment_place and not contact.appointment_at:
        errors["appointment_at"] = _("Give the appointment's date and time.")
    if contact.appointment_at and contact.at and contact.appointment_at < contact.at:
        errors["appointment_at"] = _("The appointment must be after the contact.")
    if contact.next_step_due and not contact.next_step:
        errors["next_step"] = _("Say what the next step is.")
    if contact.with_outlet_head and contact.channel not in (Channel.MEETING, Channel.VISIT):
        errors["with_outlet_head"] = _("Only a meeting or a visit can include the outlet head.")
    if errors:
        first = next(iter(errors.values()))
        raise ApplicationError(first, fields=errors)
    now = timezone.now()
    with transaction.atomic():
        contact.save()
        open_items = list(
            WorkItem.objects.select_for_update().filter(customer=customer, status=WorkStatus.OPEN)
        )
        wanted = data.get("work_item")
        closed = [
            item
            for item in open_items
            if _matches(item, contact)
            or (wanted is not None and str(item.pk) == str(wanted) and item.staff_id == staff.pk)
        ]
        for item in closed:
            item.status = WorkStatus.DONE
            item.closed_at = now
            item.closed_by_contact = contact
        WorkItem.objects.bulk_update(closed, ["status", "closed_at", "closed_by_contact"])
        if contact.channel in PERSONAL_CHANNELS:
            Referral.objects.filter(customer=customer, status=ReferralStatus.NEW).update(
                status=ReferralStatus.CONTACTED, contacted_at=now
            )
        if contact.next_step:
            Task.objects.create(
                staff=staff,
                customer=customer,
                contact=contact,
                title=contact.next_step[:200],
                due=contact.next_step_due
                or timezone.localtime(contact.at).date() + dt.timedelta(days=7),
            )
        if customer.last_contact_at is None or contact.at > customer.last_contact_at:
            Customer.objects.filter(pk=customer.pk).update(last_contact_at=contact.at)
            customer.last_contact_at = contact.at
        audit_record(
            request_or_staff=staff,
            action=Action.CONTACT,
            customer_no=customer.customer_no,
            detail={
                "contact": contact.pk,
                "channel": contact.channel,
                "closed_items": [i.pk for i in closed],
            },
        )
    return contact, closed, _same_day_warnings(contact)


def _same_day_warnings(contact: Contact) -> list[str]:
    days = {timezone.localtime(contact.at).date()}
    if contact.appointment_at:
        days.add(timezone.localtime(contact.appointment_at).date())
    q = Q()
    for d in days:
        lo, hi = day_start(d), day_start(d + dt.timedelta(days=1))
        q |= Q(at__gte=lo, at__lt=hi) | Q(appointment_at__gte=lo, appointment_at__lt=hi)
    others = (
        Contact.objects.filter(q, customer_id=contact.customer_id)
        .exclude(staff_id=contact.staff_id)
        .select_related("staff")
        .order_by("at")
    )
    warnings = []
    for other in others:
        who = other.staff.display_name
        if other.appointment_at and timezone.localtime(other.appointment_at).date() in days:
            warnings.append(
                _("%(who)s has an appointment with this customer on %(when)s.")
                % {
                    "who": who,
                    "when": timezone.localtime(other.appointment_at).strftime("%Y-%m-%d %H:%M"),
                }
            )
        else:
            warnings.append(
                _("%(who)s already contacted this customer on %(when)s (%(channel)s).")
                % {
                    "who": who,
                    "when": timezone.localtime(other.at).strftime("%Y-%m-%d %H:%M"),
                    "channel": other.get_channel_display(),
                }
            )
    return warnings


def task_complete(*, staff: Staff, task: Task) -> Task:
    require_perm(staff, WORK_OWN_LIST)
    if task.staff_id != staff.pk or not _in_scope(staff, task.customer_id):
        raise ApplicationError(_("This task is not yours."), status=403)
    task.done = True
    task.done_at = timezone.now()
    with transaction.atomic():
        task.save(update_fields=["done", "done_at"])
        audit_record(
            request_or_staff=staff,
            action=Action.TASK_DONE,
            customer_no=_customer_no(task.customer),
            detail={"task": task.pk},
        )
    return task


# --------------------------------------------------------------------------------------------------
# prospect cards
# --------------------------------------------------------------------------------------------------


def prospect_grade_for(*, expected_value: Decimal, likelihood: int) -> str:
    """A/B/C by value × likelihood (seed 004 L44); thresholds in config/cadence.toml."""
    score = Decimal(expected_value or 0) * Decimal(likelihood or 0) / 100
    if score >= Decimal(str(prospect_setting("grade_a"))):
        return ProspectGrade.A
    if score >= Decimal(str(prospect_setting("grade_b"))):
        return ProspectGrade.B
    return ProspectGrade.C


def prospect_review_days(grade: str) -> int:
    return int(prospect_setting(f"review_days_{grade.lower()}"))


def _grade_change(
    prospect: Prospect, old: str, reason: str, by: Staff | None, day: dt.date
) -> None:
    ProspectGradeChange.objects.create(
        prospect=prospect,
        day=day,
        old_grade=old,
        new_grade=prospect.grade,
        expected_value=prospect.expected_value,
        likelihood=prospect.likelihood,
        reason=reason,
        by=by,
    )


PROSPECT_FIELDS = (
    "kind",
    "name",
    "mobile",
    "classification",
    "source",
    "source_note",
    "expected_value",
    "likelihood",
    "notes",
)


def prospect_create(
    *, owner: Staff, data: dict[str, Any], day: dt.date | None = None, by: Staff | None = None
) -> Prospect:
    """A CM opens a prospect card for themselves (``by`` another: a referral, see below)."""
    require_perm(by or owner, MANAGE_PROSPECTS)
    return _prospect_create(owner=owner, data=data, day=day, by=by)


def _prospect_audit(prospect: Prospect, by: Staff | None, change: str) -> None:
    audit_record(
        request_or_staff=by,
        action=Action.PROSPECT_EDIT,
        customer_no=_customer_no(prospect.customer),
        detail={"prospect": prospect.number, "change": change, "owner": prospect.owner.username},
    )


def _prospect_own(prospect: Prospect, by: Staff) -> None:
    require_perm(by, MANAGE_PROSPECTS)
    if prospect.owner_id != by.pk:
        raise PermissionDenied("only the card's owner changes a prospect card")


def _prospect_create(
    *, owner: Staff, data: dict[str, Any], day: dt.date | None, by: Staff | None
) -> Prospect:
    day = day or timezone.localdate()
    if owner.role not in OWNER_ROLES:
        raise ApplicationError(_("Prospect cards belong to a customer manager."), field="owner")
    prospect = Prospect(
        owner=owner, unit=owner.unit, **{k: data[k] for k in PROSPECT_FIELDS if k in data}
    )
    prospect.grade = prospect_grade_for(
        expected_value=prospect.expected_value, likelihood=prospect.likelihood
    )
    prospect.next_review = day
    prospect.number = f"TMP-{uuid.uuid4().hex[:16]}"
    _clean(prospect, exclude=["number"])
    with transaction.atomic():
        prospect.save()
        # The card number is the year and the row id: unique without a counter to lock.
        prospect.number = f"P-{day.year}-{prospect.pk:06d}"
        prospect.save(update_fields=["number"])
        _grade_change(prospect, "", "CREATED", by or owner, day)
        _prospect_audit(prospect, by or owner, "created")
    return prospect


def _clean(obj: Any, exclude: list[str] | None = None) -> None:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        errors = {k: "; ".join(str(m) for m in v) for k, v in exc.message_dict.items()}
        raise ApplicationError(next(iter(errors.values())), fields=errors) from exc


def prospect_review(
    *,
    prospect: Prospect,
    by: Staff,
    day: dt.date | None = None,
    expected_value: Decimal | None = None,
    likelihood: int | None = None,
    note: str = "",
) -> Prospect:
    """The CM looked at the card (A daily, B weekly, C monthly): update, regrade, schedule."""
    _prospect_own(prospect, by)
    day = day or timezone.localdate()
    if prospect.status != ProspectStatus.ACTIVE:
        raise ApplicationError(_("Only active prospect cards are reviewed."))
    if expected_value is not None:
        prospect.expected_value = expected_value
    if likelihood is not None:
        prospect.likelihood = likelihood
    if note:
        prospect.notes = (prospect.notes + f"\n{day.isoformat()}: {note}").strip()
    old = prospect.grade
    prospect.grade = prospect_grade_for(
        expected_value=prospect.expected_value, likelihood=prospect.likelihood
    )
    prospect.last_reviewed = day
    prospect.next_review = day + dt.timedelta(days=prospect_review_days(prospect.grade))
    _clean(prospect)
    with transaction.atomic():
        prospect.save()
        if prospect.grade != old:
            _grade_change(prospect, old, "REVIEW", by, day)
        WorkItem.objects.filter(
            prospect=prospect, kind=WorkKind.PROSPECT_REVIEW, status=WorkStatus.OPEN
        ).update(status=WorkStatus.DONE, closed_at=timezone.now())
        _prospect_audit(prospect, by, "reviewed")
    return prospect


def prospects_regrade_weekly(*, day: dt.date | None = None) -> dict[str, int]:
    """Regrade every active card (seed 004 L44: tidy the cards weekly), keeping the history.

    A card whose grade changes is rescheduled to the new grade's interval from its last review
    (never later than it was already due).
    """
    day = day or timezone.localdate()
    changed, seen = 0, 0
    with transaction.atomic():
        for prospect in Prospect.objects.select_for_update().filter(status=ProspectStatus.ACTIVE):
            seen += 1
            new = prospect_grade_for(
                expected_value=prospect.expected_value, likelihood=prospect.likelihood
            )
            if new == prospect.grade:
                continue
            old, prospect.grade = prospect.grade, new
            base = prospect.last_reviewed or day
            prospect.next_review = min(
                prospect.next_review, max(day, base + dt.timedelta(days=prospect_review_days(new)))
            )
            prospect.save(update_fields=["grade", "next_review"])
            _grade_change(prospect, old, "WEEKLY", None, day)
            changed += 1
    return {"prospects": seen, "regraded": changed}


def prospect_convert(*, prospect: Prospect, customer: Customer, by: Staff) -> Prospect:
    """The prospect became a customer: link the card (history kept) and credit any referral."""
    _prospect_own(prospect, by)
    if prospect.status == ProspectStatus.CONVERTED:
        raise ApplicationError(_("This prospect card is already converted."))
    now = timezone.now()
    with transaction.atomic():
        prospect.status = ProspectStatus.CONVERTED
        prospect.customer = customer
        prospect.converted_at = now
        prospect.save(update_fields=["status", "customer", "converted_at"])
        _grade_change(prospect, prospect.grade, "CONVERTED", by, timezone.localdate())
        for referral in Referral.objects.filter(prospect=prospect).exclude(
            status__in=[ReferralStatus.CONVERTED, ReferralStatus.CLOSED]
        ):
            referral.customer = customer
            _referral_set_status(referral=referral, status=ReferralStatus.CONVERTED, by=by)
        WorkItem.objects.filter(prospect=prospect, status=WorkStatus.OPEN).update(
            status=WorkStatus.DONE, closed_at=now
        )
        _prospect_audit(prospect, by, "converted")
    return prospect


def prospect_drop(*, prospect: Prospect, by: Staff) -> Prospect:
    _prospect_own(prospect, by)
    if prospect.status != ProspectStatus.ACTIVE:
        raise ApplicationError(_("Only active prospect cards are dropped."))
    prospect.status = ProspectStatus.DROPPED
    with transaction.atomic():
        prospect.save(update_fields=["status"])
        WorkItem.objects.filter(prospect=prospect, status=WorkStatus.OPEN).update(
            status=WorkStatus.EXPIRED, closed_at=timezone.now()
        )
        _prospect_audit(prospect, by, "dropped")
    return prospect


# --------------------------------------------------------------------------------------------------
# marketing plans
# --------------------------------------------------------------------------------------------------

PLAN_FIELDS = (
    "title",
    "period",
    "start",
    "end",
    "target_amount",
    "resources_people",
    "resources_money",
    "resources_materials",
    "methods",
    "competition",
)


def _group_members(owner: Staff, group: Any) -> list[Customer]:
    """The customers of a saved group the owner may see (a group plan is put to each of them)."""
    return list(saved_group_customers(staff=owner, group=group))


def plan_create(
    *,
    owner: Staff,
    data: dict[str, Any],
    customer: Customer | None = None,
    group: Any = None,
    products: Iterable[Any] = (),
    milestones: Iterable[tuple[dt.date, Decimal, str]] = (),
) -> Plan:
    """Create a plan; its baseline is what it measures at its start (overridable in ``data``).

    ``customer`` must be in the owner's scope and ``group`` one of the owner's saved groups.
    """
    require_perm(owner, MANAGE_PLANS)
    if customer is not None and not _in_scope(owner, customer.pk):
        raise ApplicationError(_("This customer is not in your care."), field="customer_no")
    if group is not None and group.owner_id != owner.pk:
        raise ApplicationError(_("Plans use your own customer groups."), field="group")
    if (customer is None) == (group is None):
        raise ApplicationError(_("A plan is for one customer or one group."), field="customer")
    products = list(products)
    if products:
        # Suitability, a hard block (docs/suitability.md, "Everywhere"): a plan puts its products
        # to its customer, or to every member of its group.
        members = [customer] if customer is not None else _group_members(owner, group)
        require_suitable(by=owner, customers=members, products=products, where="plan")
    plan = Plan(
        owner=owner,
        customer=customer,
        group=group,
        **{k: data[k] for k in PLAN_FIELDS if k in data},
    )
    if plan.start and plan.end and plan.end < plan.start:
        raise ApplicationError(_("The plan ends before it starts."), field="end")
    _clean(plan)
    milestones = list(milestones)
    for date, _target, _note in milestones:
        if not (plan.start <= date <= plan.end):
            raise ApplicationError(
                _("Milestones fall within the plan's period."), field="milestones"
            )
    with transaction.atomic():
        plan.save()
        plan.products.set(list(products))
        PlanMilestone.objects.bulk_create(
            [PlanMilestone(plan=plan, date=d, target=t, note=n) for d, t, n in milestones]
        )
        if data.get("baseline_amount") is not None:
            plan.baseline_amount = data["baseline_amount"]
        else:
            plan.baseline_amount = plans_measure([plan], as_of=plan.start)[plan.pk]
        plan.save(update_fields=["baseline_amount"])
        audit_record(
            request_or_staff=owner,
            action=Action.PLAN_NEW,
            customer_no=_customer_no(customer),
            detail={"plan": plan.pk, "group": group.name if group is not None else None},
        )
    return plan


# --------------------------------------------------------------------------------------------------
# referrals
# --------------------------------------------------------------------------------------------------


def referral_create(
    *,
    to_staff: Staff,
    reason: str,
    note: str = "",
    amount: Decimal | None = None,
    referrer_staff: Staff | None = None,
    referrer_customer: Customer | None = None,
    customer: Customer | None = None,
    prospect_data: dict[str, Any] | None = None,
) -> Referral:
    """A teller or lobby manager (or a customer) refers an existing customer or a prospect.

    For a prospect a card is created for the CM, sourced as a teller referral or an acquaintance.
    A referral by a member of staff needs their ``org.refer``; a customer's referral is recorded
    by the bank (the demo, a future import).
    """
    if referrer_staff is not None:
        require_perm(referrer_staff, REFER)
    if referrer_staff is None and referrer_customer is None:
        raise ApplicationError(_("Say who made the referral."), field="referrer")
    if (customer is None) == (prospect_data is None):
        raise ApplicationError(_("Refer either a customer or a prospect."), field="customer")
    if to_staff.role not in OWNER_ROLES or not to_staff.is_active:
        raise ApplicationError(_("Referrals go to a customer manager."), field="to_staff")
    with transaction.atomic():
        prospect = None
        if prospect_data is not None:
            source = "TELLER_REFERRAL" if referrer_staff is not None else "ACQUAINTANCE"
            by = referrer_staff.display_name if referrer_staff else str(referrer_customer)
            if amount is not None and "expected_value" not in prospect_data:
                # The amount the referrer was told is the card's expected value (issue 13 item 2).
                prospect_data = {**prospect_data, "expected_value": amount}
            prospect = _prospect_create(
                owner=to_staff,
                day=None,
                by=referrer_staff,
                data={"source": source, "source_note": by[:200], **prospect_data},
            )
        referral = Referral(
            referrer_staff=referrer_staff,
            referrer_customer=referrer_customer,
            to_staff=to_staff,
            customer=customer,
            prospect=prospect,
            reason=reason,
            note=note,
            amount=amount,
        )
        _clean(referral)
        referral.save()
        audit_record(
            request_or_staff=referrer_staff,
            action=Action.REFERRAL_NEW,
            customer_no=_customer_no(customer),
            detail={
                "referral": referral.pk,
                "to": to_staff.username,
                "prospect": prospect.number if prospect is not None else None,
            },
        )
        # On the receiving CM's Today at once, not after the next nightly run.
        from qiao.engagement.worklist import referral_item_raise

        referral_item_raise(referral=referral)
    return referral


def referral_set_status(*, referral: Referral, status: str, by: Staff) -> Referral:
    """The receiving CM moves their referral on: NEW → CONTACTED → CONVERTED or CLOSED."""
    require_perm(by, REFER)
    if referral.to_staff_id != by.pk or not _in_scope(by, referral.customer_id):
        raise PermissionDenied("only the receiving manager changes a referral")
    return _referral_set_status(referral=referral, status=status, by=by)


def _referral_set_status(*, referral: Referral, status: str, by: Staff) -> Referral:
    """NEW → CONTACTED → CONVERTED or CLOSED; a conversion credits the referrer."""
    order: list[str] = [ReferralStatus.NEW, ReferralStatus.CONTACTED, ReferralStatus.CONVERTED]
    if referral.status in (ReferralStatus.CONVERTED, ReferralStatus.CLOSED):
        raise ApplicationError(_("This referral is already closed."))
    if status not in ReferralStatus.values:
        raise ApplicationError(_("Unknown status."), field="status")
    if status in order and order.index(status) < order.index(referral.status):
        raise ApplicationError(_("A referral does not go back."), field="status")
    now = timezone.now()
    referral.status = status
    if status == ReferralStatus.CONTACTED and referral.contacted_at is None:
        referral.contacted_at = now
    if status in (ReferralStatus.CONVERTED, ReferralStatus.CLOSED):
        referral.closed_at = now
        referral.contacted_at = referral.contacted_at or now
    if status == ReferralStatus.CONVERTED:
        referral.credited = True
    with transaction.atomic():
        referral.save()
        WorkItem.objects.filter(cause_key=f"REFERRAL:{referral.pk}", status=WorkStatus.OPEN).update(
            status=WorkStatus.EXPIRED if status == ReferralStatus.CLOSED else WorkStatus.DONE,
            closed_at=now,
        )
        audit_record(
            request_or_staff=by,
            action=Action.REFERRAL_EDIT,
            customer_no=_customer_no(referral.customer),
            detail={"referral": referral.pk, "status": status},
        )
    return referral


# --------------------------------------------------------------------------------------------------
# complaints
# --------------------------------------------------------------------------------------------------


def complaint_create(
    *,
    customer: Customer,
    by: Staff,
    subject: str,
    description: str = "",
    received_at: dt.datetime | None = None,
    owner: Staff | None = None,
    deadline: dt.date | None = None,
) -> Complaint:
    """File a complaint about a customer in ``by``'s scope (checked again here)."""
    require_perm(by, FILE_COMPLAINT)
    # The lobby and teller role reach a walk-in customer of their sub-branch (decision 0006).
    reachable = (
        customer_lookup_for_referral(staff=by, customer_no=customer.customer_no) is not None
        if by.role == Role.LOBBY
        else _in_scope(by, customer.pk)
    )
    if not reachable:
        raise ApplicationError(_("This customer is not in your care."), status=404)
    received_at = received_at or timezone.now()
    complaint = Complaint(
        customer=customer,
        subject=subject,
        description=description,
        received_at=received_at,
        owner=owner or customer.primary_manager or by,
        created_by=by,
        deadline=deadline
        or timezone.localtime(received_at).date()
        + dt.timedelta(days=int(complaint_setting("deadline_days"))),
    )
    _clean(complaint)
    with transaction.atomic():
        complaint.save()
        audit_record(
            request_or_staff=by,
            action=Action.COMPLAINT_NEW,
            customer_no=customer.customer_no,
            detail={"complaint": complaint.pk, "owner": complaint.owner.username},
        )
    return complaint


def complaint_may_handle(*, staff: Staff, complaint: Complaint) -> bool:
    """Who updates and resolves a complaint (decision 0006): with ``org.handle_complaint`` and
    the customer in their scope now, its handler, the customer's current primary manager, or the
    outlet head over the customer. Team leads, head office and the filer read it."""
    if not staff_has_perm(staff, HANDLE_COMPLAINT) or not _in_scope(staff, complaint.customer_id):
        return False
    return (
        complaint.owner_id == staff.pk
        or complaint.customer.primary_manager_id == staff.pk
        or staff.role == Role.OUTLET_HEAD
    )


def complaint_update(
    *,
    complaint: Complaint,
    by: Staff,
    status: str,
    resolution: str = "",
    service_recovery: str = "",
) -> Complaint:
    require_perm(by, HANDLE_COMPLAINT)
    if not complaint_may_handle(staff=by, complaint=complaint):
        raise PermissionDenied("only the complaint's handler or the outlet head updates it")
    before = complaint.status
    if status == ComplaintStatus.RESOLVED and not resolution.strip():
        raise ApplicationError(_("Describe the resolution."), field="resolution")
    complaint.status = status
    complaint.resolution = resolution
    complaint.service_recovery = service_recovery
    if status == ComplaintStatus.RESOLVED:
        complaint.resolved_at = complaint.resolved_at or timezone.now()
    _clean(complaint)
    with transaction.atomic():
        complaint.save()
        if status == ComplaintStatus.RESOLVED:
            WorkItem.objects.filter(
                cause_key=f"COMPLAINT:{complaint.pk}", status=WorkStatus.OPEN
            ).update(status=WorkStatus.DONE, closed_at=timezone.now())
        audit_record(
            request_or_staff=by,
            action=Action.COMPLAINT_EDIT,
            customer_no=complaint.customer.customer_no,
            detail={"complaint": complaint.pk, "from": before, "to": status},
        )
    return complaint
