"""Key accounts (大客户, issue 16 item 2): designation by rules or by hand, approval by the outlet
head, the yearly freeze, teams and the account plan. docs/keyaccounts.md, "Key accounts".

Every write by a person checks a permission (``org.designate_key_accounts`` to propose,
``org.approve_key_accounts`` to decide) and writes the audit trail; the rules run for the bank
(the nightly command) and only ever *propose*.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core.errors import ApplicationError
from qiao.credit.models import Facility
from qiao.customers.models import Customer, CustomerStanding
from qiao.customers.scope import customer_scope_forget
from qiao.customers.selectors import staff_scope_q
from qiao.engagement.models import Plan
from qiao.org.models import Staff
from qiao.org.permissions import (
    APPROVE_KEY_ACCOUNTS,
    DESIGNATE_KEY_ACCOUNTS,
    require_perm,
    staff_has_perm,
)
from qiao.risk.conf import KeyAccountRules, key_account_rules
from qiao.risk.models import (
    KeyAccount,
    KeyAccountGrade,
    KeyAccountMember,
    KeyAccountSource,
    KeyAccountStatus,
    KeyAccountYear,
    TeamRole,
)

OPEN = [KeyAccountStatus.PROPOSED, KeyAccountStatus.APPROVED]
CENT = Decimal("0.01")


def _frozen_paths(year: int) -> list[str | None]:
    """The subtrees whose list of ``year`` is frozen (``None``: the whole bank)."""
    return list(KeyAccountYear.objects.filter(year=year).values_list("unit__path", flat=True))


def year_is_frozen(year: int, *, path: str | None = None) -> bool:
    """Is ``year``'s list frozen for the customers under the unit at ``path`` (its own freeze or
    an ancestor's)? Without ``path``: for the whole bank."""
    return any(p is None or (path is not None and path.startswith(p)) for p in _frozen_paths(year))


def _frozen_customer_ids(year: int, ids: list[int]) -> set[int]:
    """Those of ``ids`` whose outlet's list of ``year`` is frozen."""
    paths = _frozen_paths(year)
    if not paths or not ids:
        return set()
    if None in paths:
        return set(ids)
    under = Q()
    for p in paths:
        under |= Q(branch__path__startswith=p)
    return set(Customer.objects.filter(under, pk__among=ids).values_list("pk", flat=True))


def _credit_limits() -> dict[int, Decimal]:
    rows = (
        Facility.objects.filter(status="ACTIVE")
        .values("customer_id")
        .annotate(total=Sum("limit"))
        .values_list("customer_id", "total")
    )
    return {
        cid: Decimal(total or 0).quantize(CENT) for cid, total in rows.iterator(chunk_size=20000)
    }


def key_accounts_designate(*, year: int, rules: KeyAccountRules | None = None) -> dict[str, Any]:
    """Propose (never approve) every customer the designation rules find for ``year`` who has no
    open entry for it. A frozen list gets no rule proposals — the whole bank's, or an outlet's
    for its customers: it changes only by hand, with approval (seed 001 L153: fixed for the
    year)."""
    if year_is_frozen(year):
        return {"year": year, "frozen": True, "proposed": 0}
    rules = rules or key_account_rules()
    limits = _credit_limits()
    contributions: dict[int, Decimal] = {}
    standing = CustomerStanding.objects.filter(
        contribution__gte=rules.min_contribution,
        customer__customer_type__in=list(rules.customer_types),
    ).values_list("customer_id", "contribution")
    for cid, contribution in standing.iterator(chunk_size=20000):
        contributions[cid] = Decimal(contribution or 0)
    credit_ids = [cid for cid, total in limits.items() if total >= rules.min_credit_limit]
    for cid, contribution in CustomerStanding.objects.filter(
        customer_id__among=credit_ids,
        customer__customer_type__in=list(rules.customer_types),
    ).values_list("customer_id", "contribution"):
        contributions.setdefault(cid, Decimal(contribution or 0).quantize(CENT))
    taken = set(
        KeyAccount.objects.filter(year=year, status__in=OPEN).values_list("customer_id", flat=True)
    )
    taken |= _frozen_customer_ids(year, sorted(contributions))
    now = timezone.now()
    new = []
    for cid, contribution in sorted(contributions.items()):
        if cid in taken:
            continue
        limit = limits.get(cid, Decimal(0))
        new.append(
            KeyAccount(
                customer_id=cid,
                year=year,
                grade=rules.grade_for(contribution=contribution, credit_limit=limit),
                source=KeyAccountSource.RULE,
                status=KeyAccountStatus.PROPOSED,
                basis={"contribution": str(contribution), "credit_limit": str(limit)},
                proposed_at=now,
            )
        )
    KeyAccount.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
    return {"year": year, "frozen": False, "proposed": len(new)}


def key_account_propose(
    *,
    by: Staff,
    customer: Customer,
    year: int,
    grade: str,
    strategic: bool = False,
    note: str = "",
) -> KeyAccount:
    """A CM proposes a customer of their scope for the year's list (with a reason)."""
    require_perm(by, DESIGNATE_KEY_ACCOUNTS)
    if grade not in KeyAccountGrade.values:
        raise ApplicationError(_("Choose a key-account grade."))
    if not note.strip():
        raise ApplicationError(_("Say why this customer should be a key account."))
    with transaction.atomic():
        if KeyAccount.objects.filter(customer=customer, year=year, status__in=OPEN).exists():
            raise ApplicationError(_("This customer is already on, or proposed for, that list."))
        ka = KeyAccount(
            customer=customer,
            year=year,
            grade=grade,
            source=KeyAccountSource.MANUAL,
            strategic=strategic,
            note=note.strip()[:200],
            proposed_by=by,
            proposed_at=timezone.now(),
        )
        ka.full_clean()
        try:
            ka.save()
        except IntegrityError as exc:  # a concurrent proposal for the same year
            raise ApplicationError(
                _("This customer is already on, or proposed for, that list.")
            ) from exc
        audit_record(
            request_or_staff=by,
            action=Action.KEY_ACCOUNT,
            customer_no=customer.customer_no,
            detail={"what": "propose", "year": year, "grade": grade, "strategic": strategic},
        )
    return ka


def _check_decider(by: Staff, ka: KeyAccount) -> None:
    """The outlet head of the customer's outlet (subtree scope), never the proposer."""
    require_perm(by, APPROVE_KEY_ACCOUNTS)
    scope = staff_scope_q(by)
    if scope is not None and not Customer.objects.filter(scope, pk=ka.customer_id).exists():
        raise Http404("No key account matches the given query.")


def key_account_decide(
    *, by: Staff, key_account: KeyAccount, approve: bool, note: str = ""
) -> KeyAccount:
    """Approve or reject a proposal — a designation, or a removal asked for after the freeze.
    The decider is never the one who proposed it (maker–checker)."""
    _check_decider(by, key_account)
    with transaction.atomic():
        ka = KeyAccount.objects.select_for_update().get(pk=key_account.pk)
        now = timezone.now()
        if ka.status == KeyAccountStatus.PROPOSED:
            if ka.proposed_by_id == by.pk:
                raise PermissionDenied("maker-checker")
            ka.status = KeyAccountStatus.APPROVED if approve else KeyAccountStatus.REJECTED
            what = "approve" if approve else "reject"
        elif ka.status == KeyAccountStatus.APPROVED and ka.removal_proposed_at is not None:
            if ka.removal_proposed_by_id == by.pk:
                raise PermissionDenied("maker-checker")
            what = "approve removal" if approve else "reject removal"
            if approve:
                ka.status = KeyAccountStatus.REMOVED
            else:
                ka.removal_proposed_by = None
                ka.removal_proposed_at = None
                ka.removal_note = ""
        else:
            raise ApplicationError(_("There is nothing to decide on this key account."))
        ka.decided_by = by
        ka.decided_at = now
        ka.decision_note = note.strip()[:200]
        ka.save()
        audit_record(
            request_or_staff=by,
            action=Action.KEY_ACCOUNT_OK,
            customer_no=ka.customer.customer_no,
            detail={"what": what, "year": ka.year, "grade": ka.grade},
        )
    return ka


def key_account_remove(*, by: Staff, key_account: KeyAccount, note: str) -> KeyAccount:
    """Take an approved key account off its year's list. Before the freeze the outlet head does
    it at once; after the freeze (or when a CM asks) it is a removal proposal to be approved."""
    require_perm(by, DESIGNATE_KEY_ACCOUNTS)
    if not note.strip():
        raise ApplicationError(_("Say why this customer should leave the list."))
    with transaction.atomic():
        ka = KeyAccount.objects.select_for_update().get(pk=key_account.pk)
        if ka.status != KeyAccountStatus.APPROVED or ka.removal_proposed_at is not None:
            raise ApplicationError(_("Only an approved key account can be removed."))
        frozen = year_is_frozen(ka.year, path=ka.customer.branch.path)
        direct = not frozen and staff_has_perm(by, APPROVE_KEY_ACCOUNTS)
        if direct:
            _check_decider(by, ka)
            ka.status = KeyAccountStatus.REMOVED
            ka.decided_by = by
            ka.decided_at = timezone.now()
            ka.decision_note = note.strip()[:200]
        else:
            ka.removal_proposed_by = by
            ka.removal_proposed_at = timezone.now()
            ka.removal_note = note.strip()[:200]
        ka.save()
        audit_record(
            request_or_staff=by,
            action=Action.KEY_ACCOUNT,
            customer_no=ka.customer.customer_no,
            detail={"what": "remove" if direct else "propose removal", "year": ka.year},
        )
    return ka


def freeze_year(*, by: Staff, year: int) -> KeyAccountYear:
    """Freeze ``year``'s list for the customers ``by`` approves for — an outlet head their
    outlet's (subtree), a bank-wide member of staff granted the permission the whole bank's:
    the approved entries stand for the year; the rules' open proposals of the year there lapse
    (rejected); from now on a change there is a proposal the outlet head approves. Another
    outlet's list is not touched (docs/keyaccounts.md, "The yearly freeze")."""
    require_perm(by, APPROVE_KEY_ACCOUNTS)
    bank_wide = staff_scope_q(by) is None
    unit = None if bank_wide else by.unit
    if not bank_wide and unit is None:
        raise PermissionDenied(APPROVE_KEY_ACCOUNTS)
    with transaction.atomic():
        if year_is_frozen(year, path=unit.path if unit else None) or (
            bank_wide and KeyAccountYear.objects.filter(year=year).exists()
        ):
            raise ApplicationError(_("That year's list is already frozen."))
        now = timezone.now()
        under = Q() if unit is None else Q(customer__branch__path__startswith=unit.path)
        KeyAccount.objects.filter(
            under, year=year, status=KeyAccountStatus.PROPOSED, source=KeyAccountSource.RULE
        ).update(
            status=KeyAccountStatus.REJECTED,
            decided_by=by,
            decided_at=now,
            decision_note="frozen",
        )
        count = KeyAccount.objects.filter(
            under, year=year, status=KeyAccountStatus.APPROVED
        ).count()
        try:
            with transaction.atomic():
                frozen = KeyAccountYear.objects.create(
                    year=year, unit=unit, frozen_at=now, frozen_by=by, accounts=count
                )
        except IntegrityError as exc:  # a concurrent freeze of the same list
            raise ApplicationError(_("That year's list is already frozen.")) from exc
        audit_record(
            request_or_staff=by,
            action=Action.KEY_ACCOUNT_OK,
            detail={
                "what": "freeze",
                "year": year,
                "accounts": count,
                "unit": unit.name if unit else "",
            },
        )
    return frozen


def key_account_member_set(
    *, by: Staff, key_account: KeyAccount, staff: Staff, role: str
) -> KeyAccountMember:
    """Put ``staff`` on the team in ``role`` (a new lead replaces the old one)."""
    require_perm(by, DESIGNATE_KEY_ACCOUNTS)
    if role not in TeamRole.values:
        raise ApplicationError(_("Choose a role in the team."))
    if not staff.is_active:
        raise ApplicationError(_("This member of staff has left."))
    with transaction.atomic():
        if role == TeamRole.LEAD:
            KeyAccountMember.objects.filter(key_account=key_account, role=TeamRole.LEAD).exclude(
                staff=staff
            ).update(role=TeamRole.BACKUP_CM)
        member, _created = KeyAccountMember.objects.update_or_create(
            key_account=key_account, staff=staff, defaults={"role": role, "added_by": by}
        )
        customer_scope_forget(staff)
        audit_record(
            request_or_staff=by,
            action=Action.KEY_ACCOUNT,
            customer_no=key_account.customer.customer_no,
            detail={"what": "team", "role": role, "staff": staff.username},
        )
    return member


def key_account_member_remove(*, by: Staff, member: KeyAccountMember) -> None:
    require_perm(by, DESIGNATE_KEY_ACCOUNTS)
    with transaction.atomic():
        no = member.key_account.customer.customer_no
        detail = {"what": "team leave", "role": member.role, "staff": member.staff.username}
        member.delete()
        customer_scope_forget(member.staff)
        audit_record(request_or_staff=by, action=Action.KEY_ACCOUNT, customer_no=no, detail=detail)


def key_account_plan_link(*, by: Staff, key_account: KeyAccount, plan: Plan | None) -> KeyAccount:
    """The account plan is a marketing plan of the same customer (qiao.engagement)."""
    require_perm(by, DESIGNATE_KEY_ACCOUNTS)
    if plan is not None and plan.customer_id != key_account.customer_id:
        raise ApplicationError(_("The account plan must be a plan for this customer."))
    key_account.plan = plan
    key_account.save(update_fields=["plan"])
    audit_record(
        request_or_staff=by,
        action=Action.KEY_ACCOUNT,
        customer_no=key_account.customer.customer_no,
        detail={"what": "plan", "plan": plan.pk if plan else None},
    )
    return key_account


def current_year(day: dt.date | None = None) -> int:
    return (day or timezone.localdate()).year
