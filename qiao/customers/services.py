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
from qiao.audit.selectors import audit_actions_in_last_hour, audit_reveals_in_last_hour
from qiao.audit.services import audit_record, audit_record_many
from qiao.core import validators as v
from qiao.core.errors import ApplicationError
from qiao.customers.models import (
    ChangeSource,
    Customer,
    CustomerChange,
    CustomerStanding,
    ExportRequest,
    OwnerRole,
    Ownership,
    SavedGroup,
)
from qiao.customers.rules import (
    CORE_BANKING_FIELDS,
    CUSTOMER_FIELDS,
    NAME_FIELDS,
    customer_identity_rule,
)
from qiao.customers.search import pinyin_keys
from qiao.customers.selectors import (
    CustomerFilters,
    customers_visible_to,
    staff_assignable_by,
    with_standing,
)
from qiao.org.leavers import staff_left_notify
from qiao.org.models import Staff
from qiao.org.permissions import (
    APPROVE_EXPORT,
    ASSIGN_CUSTOMERS,
    EDIT_CUSTOMERS,
    EXPORT_PLAIN,
    REVEAL_PII,
    SAVE_GROUPS,
    require_perm,
    staff_has_perm,
)
from qiao.products.models import Account


def customer_create(**fields: Any) -> Customer:
    """Create one customer and its standing (zero AUM and contribution, no tier), together.

    Every customer needs a standing: the lists inner-join it (decision 0005), so a customer
    without one would be missing from them. ``fields`` are the customer's model fields, validated
    by the caller. The ingest, which creates customers in bulk, calls :func:`standings_create`.
    """
    with transaction.atomic():
        customer = Customer.objects.create(**fields)
        CustomerStanding.objects.create(customer=customer, branch_id=customer.branch_id)
    return customer


def standings_create(*, customer_ids: Sequence[int]) -> None:
    """A standing (zero AUM and contribution, no tier) for each customer just loaded in bulk.

    Every customer has one, so the lists join them (decision 0005); a customer created one at a
    time gets theirs from :func:`customer_create`. Written by COPY on PostgreSQL.
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

#: Fields a CM may edit, in the order of the form: every customer field but those core banking
#: alone sets (number, type, outlet, opening date). Each is validated by the same rule as the
#: extract column (qiao.customers.rules → qiao.core.validators): one validator per field.
PROFILE_FIELDS: tuple[str, ...] = tuple(f for f in CUSTOMER_FIELDS if f not in CORE_BANKING_FIELDS)
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
            cleaned[field] = CUSTOMER_FIELDS[field][1](text)
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
        staff_left_notify(staff=staff)  # the API tokens, and what other apps hold of theirs
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
    require_perm(owner, SAVE_GROUPS)
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
        _group_audit(owner, group, "created")
        if kind == SavedGroup.Kind.STATIC and customer_nos:
            saved_group_add_customers(group=group, by=owner, customer_nos=customer_nos)
    return group


def _group_audit(by: Staff, group: SavedGroup, change: str, **detail: Any) -> None:
    audit_record(
        request_or_staff=by,
        action=Action.GROUP_EDIT,
        detail={"group": group.name, "change": change, **detail},
    )


def saved_group_add_customers(*, group: SavedGroup, by: Staff, customer_nos: Sequence[str]) -> int:
    """Add customers (only those ``by`` may see) to a static group; returns how many were added."""
    require_perm(by, SAVE_GROUPS)
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
    with transaction.atomic():
        group.customers.add(*wanted)
        _group_audit(by, group, "added", customers=len(wanted))
    return len(wanted)


def saved_group_delete(*, group: SavedGroup, by: Staff) -> None:
    require_perm(by, SAVE_GROUPS)
    if group.owner_id != by.pk:
        raise ApplicationError(_("This is not your group."), status=404)
    with transaction.atomic():
        _group_audit(by, group, "deleted")
        group.delete()


# ---------------------------------------------------------------- plain exports (maker–checker)


def _qiao(key: str, default: int) -> int:
    return int(settings.QIAO.get(key, default))


def plain_export_limits() -> dict[str, int]:
    """The plain export's limits: rows per request, requests per person per hour, hours to download.

    ``QIAO["PLAIN_EXPORT_MAX_ROWS"]`` (default 5,000), ``QIAO["PLAIN_EXPORT_RATE_PER_HOUR"]``
    (default 3, counted from the audit trail as the reveal limit is) and
    ``QIAO["PLAIN_EXPORT_HOURS"]`` (default 24).
    """
    return {
        "max_rows": _qiao("PLAIN_EXPORT_MAX_ROWS", 5000),
        "rate": _qiao("PLAIN_EXPORT_RATE_PER_HOUR", 3),
        "hours": _qiao("PLAIN_EXPORT_HOURS", 24),
    }


def export_request_create(
    *,
    by: Staff,
    customer_nos: Sequence[str],
    source: Mapping[str, Any],
    reason: str,
    ip: str | None = None,
    channel: str = "WEB",
) -> ExportRequest:
    """Ask for a plain export of ``customer_nos`` (the filtered list ``by`` sees) for a reason.

    Needs ``org.export_plain``; a reason of 2–200 characters; at most ``max_rows`` customers and
    ``rate`` requests an hour (:func:`plain_export_limits`). Every outcome is audited as
    ``EXPORT_REQUEST`` (a refusal with ``refused``). Raises :class:`ApplicationError` (403, 400, 429).
    """
    reason = (reason or "").strip()
    limits = plain_export_limits()
    detail: dict[str, Any] = {"rows": len(customer_nos), "filter": dict(source), "reason": reason}
    audit_kw: dict[str, Any] = {"ip": ip, "channel": channel}

    def refuse(why: str, message: str, status: int, field: str | None = None) -> ApplicationError:
        audit_record(
            request_or_staff=by,
            action=Action.EXPORT_REQUEST,
            detail={**detail, "refused": why},
            **audit_kw,
        )
        return ApplicationError(message, status=status, field=field)

    if not staff_has_perm(by, EXPORT_PLAIN):
        raise refuse("permission", _("You do not have permission to ask for a plain export."), 403)
    if not 2 <= len(reason) <= 200:
        raise refuse(
            "reason",
            _("Give the reason for a plain export (2 to 200 characters)."),
            400,
            "reason",
        )
    if not customer_nos:
        raise refuse("empty", _("There are no customers to export."), 400)
    if len(customer_nos) > limits["max_rows"]:
        raise refuse(
            "limit",
            _(
                "A plain export holds at most %(max)s customers; this list has %(rows)s. Narrow the filter."
            )
            % {"max": f"{limits['max_rows']:,}", "rows": f"{len(customer_nos):,}"},
            400,
        )
    asked = audit_actions_in_last_hour(username=by.get_username(), action=Action.EXPORT_REQUEST)
    if asked >= limits["rate"]:
        raise refuse(
            "rate",
            _("You have asked for %(n)d plain exports in the last hour; try again later.")
            % {"n": limits["rate"]},
            429,
        )
    with transaction.atomic():
        request = ExportRequest.objects.create(
            requested_by=by,
            reason=reason,
            source=dict(source),
            customer_nos=list(customer_nos),
            rows=len(customer_nos),
        )
        audit_record(
            request_or_staff=by,
            action=Action.EXPORT_REQUEST,
            detail={"request": request.pk, **detail},
            **audit_kw,
        )
    return request


def _covers(staff: Staff, request: ExportRequest) -> bool:
    """Whether every customer of ``request`` is in ``staff``'s scope (one count)."""
    nos = list(request.customer_nos)
    return customers_visible_to(staff=staff).filter(customer_no__in=nos).count() == len(set(nos))


def export_requests_for(*, staff: Staff) -> dict[str, list[ExportRequest]]:
    """The export page: ``mine`` (asked by ``staff``, newest first) and ``to_decide`` (pending
    requests of others that ``staff`` may approve: ``org.approve_export`` and a scope covering
    every customer of the request)."""
    mine = list(
        ExportRequest.objects.filter(requested_by=staff)
        .select_related("decided_by")
        .defer("customer_nos")[:50]
    )
    to_decide: list[ExportRequest] = []
    if staff_has_perm(staff, APPROVE_EXPORT):
        pending = (
            ExportRequest.objects.filter(status=ExportRequest.Status.PENDING)
            .exclude(requested_by=staff)
            .select_related("requested_by")
            .order_by("requested_at", "id")[:100]
        )
        to_decide = [r for r in pending if _covers(staff, r)]
    return {"mine": mine, "to_decide": to_decide}


def export_request_decide(
    *,
    request_id: int,
    by: Staff,
    approve: bool,
    note: str = "",
    ip: str | None = None,
    channel: str = "WEB",
) -> ExportRequest:
    """The checker approves or refuses a pending request: ``org.approve_export``, not the one who
    asked, and a scope covering every customer of it (otherwise 404, as for anything out of
    scope). Audited as ``EXPORT_APPROVE`` or ``EXPORT_REFUSE``."""
    note = (note or "").strip()[:200]
    if not staff_has_perm(by, APPROVE_EXPORT):
        raise ApplicationError(_("You do not have permission to approve exports."), status=403)
    with transaction.atomic():
        request = (
            ExportRequest.objects.select_for_update()
            .select_related("requested_by")
            .filter(pk=request_id)
            .first()
        )
        if request is None or not _covers(by, request):
            raise ApplicationError(_("There is no such export request."), status=404)
        if request.requested_by_id == by.pk:
            raise ApplicationError(
                _("Another person must approve your own request (maker–checker)."), status=403
            )
        if request.status != ExportRequest.Status.PENDING:
            raise ApplicationError(_("This request has already been decided."), status=409)
        now = timezone.now()
        request.decided_by, request.decided_at, request.decision_note = by, now, note
        if approve:
            request.status = ExportRequest.Status.APPROVED
            request.expires_at = now + dt.timedelta(hours=plain_export_limits()["hours"])
        else:
            request.status = ExportRequest.Status.REFUSED
        request.save(
            update_fields=["status", "decided_by", "decided_at", "decision_note", "expires_at"]
        )
        audit_record(
            request_or_staff=by,
            action=Action.EXPORT_APPROVE if approve else Action.EXPORT_REFUSE,
            detail={
                "request": request.pk,
                "requested_by": request.requested_by.username,
                "rows": request.rows,
                "note": note,
            },
            ip=ip,
            channel=channel,
        )
    return request


def export_request_download(
    *, request_id: int, by: Staff, ip: str | None = None, channel: str = "WEB"
) -> tuple[ExportRequest, Any]:
    """Start the one download of an approved request: only by the one who asked, while they
    still hold ``org.export_plain``, before ``expires_at``, once. Returns the request and the
    customers to write (those of the request still in ``by``'s scope). Audited as ``EXPORT``."""
    with transaction.atomic():
        request = (
            ExportRequest.objects.select_for_update().filter(pk=request_id, requested_by=by).first()
        )
        if request is None:
            raise ApplicationError(_("There is no such export request."), status=404)
        if not staff_has_perm(by, EXPORT_PLAIN):
            raise ApplicationError(
                _("You do not have permission to ask for a plain export."), status=403
            )
        if request.status == ExportRequest.Status.DOWNLOADED:
            raise ApplicationError(_("This export has already been downloaded."), status=410)
        if request.status != ExportRequest.Status.APPROVED:
            raise ApplicationError(_("This export has not been approved."), status=403)
        now = timezone.now()
        if request.expires_at is None or request.expires_at <= now:
            raise ApplicationError(
                _("The time to download this export has run out; ask again."), status=410
            )
        request.status, request.downloaded_at = ExportRequest.Status.DOWNLOADED, now
        request.save(update_fields=["status", "downloaded_at"])
        customers = (
            with_standing(customers_visible_to(staff=by))
            .filter(customer_no__in=list(request.customer_nos))
            .select_related("primary_manager", "branch")
            .order_by("customer_no")
        )
        rows = customers.count()
        audit_record(
            request_or_staff=by,
            action=Action.EXPORT,
            detail={
                "request": request.pk,
                "rows": rows,
                "filter": request.source,
                "masked": False,
            },
            ip=ip,
            channel=channel,
        )
    return request, customers
