"""Credit services: the classification check of loaded loans, and the black and red lists.

**Lists** (黑名单 / 红名单, docs/keyaccounts.md): an entry loaded from core banking is in force as
core banking says (the ingest, source CORE). An entry made in Qiao is *proposed* with a reason by a
risk manager and comes into force when *another* risk manager approves it (maker–checker,
``org.manage_blacklist``); it is rejected, or later removed, with a note. Every step is audited
(``Action.BLACKLIST``). A loaded entry is changed in core banking, not here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core import validators as v
from qiao.core.errors import ApplicationError
from qiao.credit.models import (
    ClassFinding,
    FindingKind,
    ListEntry,
    ListKind,
    ListSource,
    ListStatus,
    Loan,
)
from qiao.customers.models import Customer
from qiao.customers.selectors import customers_visible_to
from qiao.org.models import Staff
from qiao.org.permissions import MANAGE_BLACKLIST, require_perm

__all__ = [
    "list_entry_decide",
    "list_entry_propose",
    "list_entry_remove",
    "loan_findings_refresh",
]

#: ids a query at a time on SQLite (older builds allow 999 parameters)
_CHUNK = 900


# ------------------------------------------------------------------ the classification check


def loan_findings_refresh(*, customer_ids: Sequence[int]) -> int:
    """Recompute the classification findings of these debtors from their loans with a balance:
    each loan classified better than its days overdue allow (``Loan.below_floor``, set by the
    load), and a debtor whose loans are in more than one class. Returns the findings written."""
    ids = sorted(set(customer_ids))
    written = 0
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        loans = (
            Loan.objects.filter(customer_id__in=chunk, balance__gt=0)
            .order_by("customer_id", "loan_no")
            .values_list(
                "id",
                "customer_id",
                "loan_no",
                "classification",
                "floor_class",
                "below_floor",
                "days_overdue",
                "as_of",
            )
        )
        findings: list[ClassFinding] = []
        classes: dict[int, dict[str, list[str]]] = {}
        latest: dict[int, Any] = {}
        for pk, cid, loan_no, cls, floor, below, days, as_of in loans:
            classes.setdefault(cid, {}).setdefault(cls, []).append(loan_no)
            latest[cid] = max(latest.get(cid, as_of), as_of)
            if below:
                findings.append(
                    ClassFinding(
                        customer_id=cid,
                        loan_id=pk,
                        kind=FindingKind.BELOW_FLOOR,
                        detail={"class": cls, "floor": floor, "days_overdue": days},
                        as_of=as_of,
                    )
                )
        for cid, by_class in classes.items():
            if len(by_class) > 1:
                findings.append(
                    ClassFinding(
                        customer_id=cid,
                        kind=FindingKind.MIXED_CLASSES,
                        detail={"classes": {c: sorted(nos) for c, nos in by_class.items()}},
                        as_of=latest[cid],
                    )
                )
        with transaction.atomic():
            ClassFinding.objects.filter(customer_id__in=chunk).delete()
            ClassFinding.objects.bulk_create(findings, batch_size=1000)
        written += len(findings)
    return written


# ------------------------------------------------------------------ black and red lists


def _customer_for(staff: Staff, customer: Customer) -> Customer:
    """``customer`` if ``staff`` may see them; else ``Http404`` (as if missing)."""
    if not customers_visible_to(staff=staff).filter(pk=customer.pk).exists():
        raise Http404("No customer matches the given query.")
    return customer


def list_entry_propose(
    *, staff: Staff, customer: Customer, list_kind: str, reason: str
) -> ListEntry:
    """Propose ``customer`` for the black or red list, with a reason (maker)."""
    require_perm(staff, MANAGE_BLACKLIST)
    customer = _customer_for(staff, customer)
    if list_kind not in ListKind.values:
        raise ApplicationError(_("Choose a list."), field="list_kind")
    try:
        reason = v.clean_text(reason, max_length=200)
    except v.FieldError as exc:
        raise ApplicationError(exc.reason, field="reason") from None
    if not reason:
        raise ApplicationError(_("Give the reason."), field="reason")
    if ListEntry.objects.filter(
        customer=customer,
        list_kind=list_kind,
        source=ListSource.MANUAL,
        status__in=[ListStatus.PROPOSED, ListStatus.APPROVED],
    ).exists():
        raise ApplicationError(
            _("This customer is already proposed for or on this list."), field="list_kind"
        )
    entry = ListEntry(
        customer=customer,
        list_kind=list_kind,
        reason=reason,
        status=ListStatus.PROPOSED,
        source=ListSource.MANUAL,
        proposed_by=staff,
        proposed_at=timezone.now(),
    )
    entry.full_clean()
    try:
        with transaction.atomic():
            entry.save()
            audit_record(
                request_or_staff=staff,
                action=Action.BLACKLIST,
                customer_no=customer.customer_no,
                detail={"step": "propose", "list": list_kind, "entry": entry.pk},
            )
    except IntegrityError:  # proposed at the same moment by someone else
        raise ApplicationError(
            _("This customer is already proposed for or on this list."), field="list_kind"
        ) from None
    return entry


def list_entry_decide(
    *, staff: Staff, entry: ListEntry, approve: bool, note: str = ""
) -> ListEntry:
    """Approve (in force from today) or reject a proposal — by someone other than its proposer
    (checker)."""
    require_perm(staff, MANAGE_BLACKLIST)
    _customer_for(staff, entry.customer)
    note = _note(note)
    with transaction.atomic():
        entry = ListEntry.objects.select_for_update().select_related("customer").get(pk=entry.pk)
        if entry.status != ListStatus.PROPOSED:
            raise ApplicationError(_("This proposal has already been decided."))
        if entry.proposed_by_id == staff.pk:
            raise ApplicationError(
                _("Someone other than the proposer must decide (maker–checker).")
            )
        if not approve and not note:
            raise ApplicationError(_("Say why the proposal is rejected."), field="note")
        entry.status = ListStatus.APPROVED if approve else ListStatus.REJECTED
        entry.decided_by = staff
        entry.decided_at = timezone.now()
        entry.decision_note = note
        if approve:
            entry.listed_on = timezone.localdate()
        entry.save(
            update_fields=["status", "decided_by", "decided_at", "decision_note", "listed_on"]
        )
        audit_record(
            request_or_staff=staff,
            action=Action.BLACKLIST,
            customer_no=entry.customer.customer_no,
            detail={
                "step": "approve" if approve else "reject",
                "list": entry.list_kind,
                "entry": entry.pk,
            },
        )
    return entry


def list_entry_remove(*, staff: Staff, entry: ListEntry, note: str) -> ListEntry:
    """Take a customer off a list (an entry made in Qiao and in force), with a note."""
    require_perm(staff, MANAGE_BLACKLIST)
    _customer_for(staff, entry.customer)
    note = _note(note)
    if not note:
        raise ApplicationError(_("Say why the customer comes off the list."), field="note")
    with transaction.atomic():
        entry = ListEntry.objects.select_for_update().select_related("customer").get(pk=entry.pk)
        if entry.source == ListSource.CORE:
            raise ApplicationError(
                _(
                    "This entry comes from core banking: it is removed there, and the next load brings the change."
                )
            )
        if entry.status != ListStatus.APPROVED:
            raise ApplicationError(_("Only an entry in force can be removed."))
        entry.status = ListStatus.REMOVED
        entry.removed_on = timezone.localdate()
        entry.decision_note = note
        entry.save(update_fields=["status", "removed_on", "decision_note"])
        audit_record(
            request_or_staff=staff,
            action=Action.BLACKLIST,
            customer_no=entry.customer.customer_no,
            detail={"step": "remove", "list": entry.list_kind, "entry": entry.pk},
        )
    return entry


def _note(note: str) -> str:
    try:
        return v.clean_text(note, max_length=200)
    except v.FieldError as exc:
        raise ApplicationError(exc.reason, field="note") from None
