"""Writes to customers go through these services (keyword-only, ``<entity>_<action>``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from qiao.audit.models import Action
from qiao.audit.selectors import audit_reveals_in_last_hour
from qiao.audit.services import audit_record, audit_record_many
from qiao.core import validators as v
from qiao.core.errors import ApplicationError
from qiao.customers.models import (
    ChangeSource,
    Customer,
    CustomerChange,
    CustomerStanding,
    OwnerRole,
    Ownership,
    SavedGroup,
)
from qiao.customers.rules import NAME_FIELDS, customer_identity_rule
from qiao.customers.search import pinyin_keys
from qiao.customers.selectors import (
    CustomerFilters,
    customers_visible_to,
    staff_assignable_by,
)
from qiao.ingest.kinds import KINDS
from qiao.org.models import Staff
from qiao.org.permissions import (
    ASSIGN_CUSTOMERS,
    EDIT_CUSTOMERS,
    REVEAL_PII,
    staff_has_perm,
)
from qiao.products.models import Account


def standings_create(*, customer_ids: Sequence[int]) -> None:
    """A standing (zero AUM and contribution, no tier) for each customer just loaded in bulk.

    Every customer has one, so the lists join them (decision 0005); a customer saved one at a
    time gets theirs in ``Customer.save``. Written by COPY on PostgreSQL.
    """
    import pyarrow as pa

    from qiao.core.bulk import copy_arrow

    n = len(customer_ids)
    if not n:
        return
    zero = pa.array([Decimal(0)] * n, pa.decimal128(18, 2))
    copy_arrow(
        CustomerStanding,
        pa.table(
            {
                "customer_id": pa.array(customer_ids, pa.int64()),
                "aum": zero,
                "contribution": zero,
                "tier": pa.array([""] * n, pa.string()),
            }
        ),
    )


def customers_refresh_primary_manager(*, customer_ids: Iterable[int]) -> None:
    """Copy each customer's open primary ownership into ``Customer.primary_manager``."""
    ids = sorted(set(customer_ids))
    open_primary = Ownership.objects.filter(
        customer=OuterRef("pk"), role="PRIMARY", end_date__isnull=True
    ).order_by("-start_date", "-id")
    for i in range(0, len(ids), 900):
        Customer.objects.filter(pk__in=ids[i : i + 900]).update(
            primary_manager=Subquery(open_primary.values("staff")[:1])
        )


# ---------------------------------------------------------------- profile editing

#: Fields a CM may edit, in the order of the form. ``customer_no``, type, outlet and opening date
#: come from core banking only. Each is validated by the same cleaner as the extract column
#: (qiao.ingest.kinds → qiao.core.validators): one validator per field.
PROFILE_FIELDS: tuple[str, ...] = (
    "name",
    "id_type",
    "id_no",
    "gender",
    "birth_date",
    "mobile",
    "landline",
    "email",
    "address",
    "postal_code",
    "occupation",
    "industry",
    "education",
    "school",
    "tax_record",
    "marital_status",
    "family_notes",
    "investment_pref",
    "product_pref",
    "marketing_pref",
    "hobbies",
    "annual_income",
    "legal_rep",
    "ownership_type",
    "size_class",
    "registered_capital",
    "main_business",
)
_REQUIRED = {"name", "id_type", "id_no"}
_NULLABLE = {"birth_date", "annual_income", "registered_capital"}


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return str(value)


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, Decimal) and isinstance(new, Decimal):
        return old.compare(new) == 0
    return (old if old is not None else "") == (new if new is not None else "")


def customer_clean_profile(*, customer: Customer, data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``data`` (field → raw value) against the profile rules; return the changed values.

    Raises :class:`ApplicationError` with ``fields`` naming every wrong input.
    """
    spec = KINDS["customers"].spec
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for field, raw in data.items():
        if field not in PROFILE_FIELDS:
            errors[field] = _("is not a profile field that can be edited")
            continue
        text = "" if raw is None else str(raw).strip()
        if text == "":
            if field in _REQUIRED:
                errors[field] = _("is required")
            else:
                cleaned[field] = None if field in _NULLABLE else ""
            continue
        try:
            cleaned[field] = spec[field][1](text)
        except v.FieldError as exc:
            errors[field] = str(exc.reason)
    if not errors:
        record = {
            "customer_type": customer.customer_type,
            "open_date": customer.open_date,
            "id_type": cleaned.get("id_type", customer.id_type),
            "id_no": cleaned.get("id_no", customer.id_no),
            "birth_date": cleaned.get("birth_date", customer.birth_date),
            "gender": cleaned.get("gender", customer.gender),
            # Names are checked when typed in (a name on file is not re-judged by another edit).
            **{f: cleaned[f] for f in NAME_FIELDS if f in cleaned},
        }
        identity_changed = ("id_no" in cleaned and cleaned["id_no"] != customer.id_no) or (
            "id_type" in cleaned and cleaned["id_type"] != customer.id_type
        )
        if identity_changed and record["id_type"] == "RIC":
            # A corrected resident ID brings its own birth date and gender, unless typed in too.
            record["birth_date"] = cleaned.get("birth_date")
            record["gender"] = cleaned.get("gender")
        for field, reason in customer_identity_rule(record):
            errors.setdefault(field, reason)
        if not errors:
            cleaned["id_no"] = record["id_no"]
            if record["id_type"] == "RIC":
                cleaned["birth_date"], cleaned["gender"] = record["birth_date"], record["gender"]
    if errors:
        raise ApplicationError(
            _("Please correct the fields marked below."), fields=errors, status=400
        )
    return {f: val for f, val in cleaned.items() if not _same(getattr(customer, f), val)}


def customer_update_profile(
    *,
    customer: Customer,
    by: Staff,
    data: Mapping[str, Any],
    source: str = ChangeSource.WEB,
    ip: str | None = None,
) -> list[CustomerChange]:
    """Validate and save profile fields; record each change (who, when, old → new) and audit it.

    The caller has already checked that ``by`` may see ``customer`` (:func:`customer_get_for_staff`).
    Returns the change rows written (empty when nothing changed).
    """
    if not staff_has_perm(by, EDIT_CUSTOMERS):
        raise ApplicationError(_("You do not have permission to edit customer data."), status=403)
    changes = customer_clean_profile(customer=customer, data=data)
    if not changes:
        return []
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        rows: list[CustomerChange] = []
        for field, new in changes.items():
            rows.append(
                CustomerChange(
                    customer=locked,
                    field=field,
                    old_value=_as_text(getattr(locked, field)),
                    new_value=_as_text(new),
                    changed_by=by,
                    source=source,
                )
            )
            setattr(locked, field, new)
        update = set(changes)
        if "name" in changes:
            locked.name_pinyin, locked.name_initials = pinyin_keys(locked.name)
            update |= {"name_pinyin", "name_initials"}
        if "id_no" in changes:
            locked.id_tail4, locked.id_tail6 = locked.id_no[-4:], locked.id_no[-6:]
            update |= {"id_tail4", "id_tail6"}
        try:
            locked.full_clean(
                exclude=[f.name for f in Customer._meta.fields if f.name not in update],
                validate_unique=False,
            )
        except ValidationError as exc:
            raise ApplicationError(
                _("Please correct the fields marked below."),
                fields={f: " ".join(str(m) for m in msgs) for f, msgs in exc.message_dict.items()},
            ) from None
        locked.save(update_fields=sorted(update | {"updated_at"}))
        CustomerChange.objects.bulk_create(rows)
        audit_record(
            request_or_staff=by,
            action=Action.CHANGE,
            customer_no=locked.customer_no,
            detail={"fields": sorted(changes), "source": source},
            ip=ip,
            channel="API" if source == ChangeSource.API else "WEB",
        )
    for field in update:
        setattr(customer, field, getattr(locked, field))
    return rows


# ---------------------------------------------------------------- revealing masked values

#: Fields that are masked by default and can be revealed; an account is ``account:<id>``.
REVEALABLE_FIELDS = ("id_no", "mobile", "landline", "email", "address")


def customer_reveal(
    *,
    customer: Customer,
    by: Staff,
    field: str,
    reason: str,
    ip: str | None = None,
    channel: str = "WEB",
) -> str:
    """The plaintext of one masked value, for a reason; audited, permission-checked, rate-limited.

    Raises :class:`ApplicationError` with status 400 (bad field or reason), 403 (no permission)
    or 429 (more than ``QIAO["REVEAL_RATE_PER_HOUR"]`` reveals in the last hour).
    """
    reason = (reason or "").strip()
    account: Account | None = None
    if field.startswith("account:"):
        ident = field.split(":", 1)[1]
        account = (
            Account.objects.filter(customer=customer, pk=int(ident)).first()
            if ident.isdigit()
            else None
        )
        if account is None:
            raise ApplicationError(_("There is no such account."), field="field")
    elif field not in REVEALABLE_FIELDS:
        raise ApplicationError(_("This field cannot be revealed."), field="field")
    if len(reason) < 2:
        raise ApplicationError(_("Give the reason for revealing this value."), field="reason")
    if len(reason) > 200:
        raise ApplicationError(_("The reason is at most 200 characters long."), field="reason")
    detail: dict[str, Any] = {"field": field.split(":")[0], "reason": reason}
    if account is not None:
        detail["account"] = account.pk
    audit_kw: dict[str, Any] = {"customer_no": customer.customer_no, "ip": ip, "channel": channel}
    if not staff_has_perm(by, REVEAL_PII):
        audit_record(
            request_or_staff=by,
            action=Action.REVEAL_DENIED,
            detail={**detail, "why": "permission"},
            **audit_kw,
        )
        raise ApplicationError(_("You do not have permission to reveal this value."), status=403)
    limit = settings.QIAO["REVEAL_RATE_PER_HOUR"]
    if audit_reveals_in_last_hour(username=by.get_username()) >= limit:
        audit_record(
            request_or_staff=by,
            action=Action.REVEAL_DENIED,
            detail={**detail, "why": "rate"},
            **audit_kw,
        )
        raise ApplicationError(
            _("You have revealed %(n)d values in the last hour; try again later.") % {"n": limit},
            status=429,
        )
    audit_record(request_or_staff=by, action=Action.REVEAL, detail=detail, **audit_kw)
    if account is not None:
        return account.account_no
    return str(getattr(customer, field) or "")


# ---------------------------------------------------------------- assignment


def customer_assign(
    *,
    customers: Sequence[Customer],
    manager: Staff,
    role: str = OwnerRole.PRIMARY,
    by: Staff,
    note: str = "",
    ip: str | None = None,
) -> int:
    """Make ``manager`` the primary (or a secondary) manager of ``customers``; returns how many changed.

    A new primary ends the old primary the same day (one primary at a time) and a secondary
    ownership of the new primary; the ownership history keeps both, dated. Atomic: all or none.
    """
    if not staff_has_perm(by, ASSIGN_CUSTOMERS):
        raise ApplicationError(_("You do not have permission to assign customers."), status=403)
    if role not in OwnerRole.values:
        raise ApplicationError(_("Choose primary or secondary."), field="role")
    if not staff_assignable_by(by=by).filter(pk=manager.pk).exists():
        raise ApplicationError(
            _(
                "%(name)s cannot take customers from you: not an active customer manager in your unit."
            )
            % {"name": manager.display_name},
            field="manager",
        )
    ids = sorted({c.pk for c in customers})
    if not ids:
        raise ApplicationError(_("Choose at least one customer."), field="customers")
    note = (note or "").strip()[:200]
    today = timezone.localdate()
    changed: list[tuple[str, dict[str, Any]]] = []
    with transaction.atomic():
        locked = list(
            customers_visible_to(staff=by).select_for_update().filter(pk__in=ids).order_by("pk")
        )
        if len(locked) != len(ids):
            raise ApplicationError(_("Some of these customers are not yours to assign."))
        open_rows = Ownership.objects.filter(customer_id__in=ids, end_date__isnull=True)
        current: dict[int, list[Ownership]] = {}
        for row in open_rows.select_related("staff"):
            current.setdefault(row.customer_id, []).append(row)
        new_rows: list[Ownership] = []
        ended: list[int] = []
        for customer in locked:
            rows = current.get(customer.pk, [])
            if any(r.staff_id == manager.pk and r.role == role for r in rows):
                continue
            previous = [r.staff.username for r in rows if r.role == OwnerRole.PRIMARY]
            if role == OwnerRole.PRIMARY:
                ended += [
                    r.pk for r in rows if r.role == OwnerRole.PRIMARY or r.staff_id == manager.pk
                ]
            new_rows.append(
                Ownership(
                    customer=customer,
                    staff=manager,
                    role=role,
                    start_date=today,
                    assigned_by=by,
                    note=note,
                )
            )
            changed.append(
                (
                    customer.customer_no,
                    {
                        "manager": manager.username,
                        "role": role,
                        "previous": previous,
                        "note": note,
                    },
                )
            )
        if ended:
            Ownership.objects.filter(pk__in=ended).update(end_date=today)
        Ownership.objects.bulk_create(new_rows)
        customers_refresh_primary_manager(customer_ids=ids)
        audit_record_many(
            request_or_staff=by, action=Action.ASSIGN, items=changed, ip=ip, channel="WEB"
        )
    return len(changed)


def staff_offboard(
    *, staff: Staff, by: Staff, leave_date: dt.date | None = None, ip: str | None = None
) -> int:
    """A staff member leaves: mark the leave date, deactivate, revoke API tokens.

    Their secondary ownerships end; their primary customers stay open and so appear in the
    reassignment queue (:func:`qiao.customers.selectors.reassignment_queue`) until the outlet
    head reassigns them. Returns the number of customers queued.
    """
    if not staff_has_perm(by, ASSIGN_CUSTOMERS):
        raise ApplicationError(_("You do not have permission to manage leavers."), status=403)
    if staff.pk == by.pk:
        raise ApplicationError(_("You cannot mark yourself as having left."))
    if not staff_assignable_by(by=by, include_inactive=True).filter(pk=staff.pk).exists():
        raise ApplicationError(_("This staff member is not in your unit."), status=404)
    day = leave_date or timezone.localdate()
    with transaction.atomic():
        staff.leave_date = day
        staff.is_active = False
        staff.full_clean(exclude=["password", "username"], validate_unique=False)
        staff.save(update_fields=["leave_date", "is_active"])
        Ownership.objects.filter(
            staff=staff, role=OwnerRole.SECONDARY, end_date__isnull=True
        ).update(end_date=day)
        from qiao.api.services import api_tokens_revoke

        api_tokens_revoke(staff=staff)
        queued = Customer.objects.filter(primary_manager=staff).count()
        audit_record(
            request_or_staff=by,
            action=Action.OFFBOARD,
            detail={"staff": staff.username, "leave_date": day.isoformat(), "queued": queued},
            ip=ip,
            channel="WEB",
        )
    return queued


# ---------------------------------------------------------------- saved groups


def saved_group_create(
    *,
    owner: Staff,
    name: str,
    kind: str,
    filters: CustomerFilters | None = None,
    customer_nos: Sequence[str] = (),
) -> SavedGroup:
    """A static group (hand-picked customers, within the owner's scope) or a dynamic one (a filter)."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError(_("Give the group a name."), field="name")
    if kind not in SavedGroup.Kind.values:
        raise ApplicationError(_("Choose static or dynamic."), field="kind")
    if SavedGroup.objects.filter(owner=owner, name=name).exists():
        raise ApplicationError(_("You already have a group with this name."), field="name")
    group = SavedGroup(
        owner=owner,
        name=name,
        kind=kind,
        filters=(filters or CustomerFilters()).to_json() if kind == SavedGroup.Kind.DYNAMIC else {},
    )
    group.full_clean()
    with transaction.atomic():
        group.save()
        if kind == SavedGroup.Kind.STATIC and customer_nos:
            saved_group_add_customers(group=group, by=owner, customer_nos=customer_nos)
    return group


def saved_group_add_customers(*, group: SavedGroup, by: Staff, customer_nos: Sequence[str]) -> int:
    """Add customers (only those ``by`` may see) to a static group; returns how many were added."""
    if group.owner_id != by.pk:
        raise ApplicationError(_("This is not your group."), status=404)
    if group.kind != SavedGroup.Kind.STATIC:
        raise ApplicationError(_("Customers are added to static groups only."))
    wanted = list(
        customers_visible_to(staff=by)
        .filter(customer_no__in=list(customer_nos)[:5000])
        .exclude(saved_groups=group)
        .values_list("pk", flat=True)
    )
    group.customers.add(*wanted)
    return len(wanted)


def saved_group_delete(*, group: SavedGroup, by: Staff) -> None:
    if group.owner_id != by.pk:
        raise ApplicationError(_("This is not your group."), status=404)
    group.delete()
