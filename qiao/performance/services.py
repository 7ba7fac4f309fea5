"""Writes of the performance app: targets set, and split down the org tree and over time
(docs/reports.md, "Targets"). Each checks ``SET_TARGETS`` and the subject's scope and writes a
``TARGET_EDIT`` audit row."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from qiao.analytics.scorecard import MEASURE_CODES, MEASURES, Period
from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core.errors import ApplicationError
from qiao.customers.models import CustomerStanding
from qiao.org.models import BANKWIDE_ROLES, SUBTREE_ROLES, OrgUnit, Staff
from qiao.org.permissions import SET_TARGETS, require_perm

from .models import PeriodKind, Target, TargetSource

_BY_CODE = {m.code: m for m in MEASURES}
#: the largest value a target may have (the column holds 16 digits before the point)
MAX_VALUE = Decimal("1e15")


def _in_scope(by: Staff, *, staff: Staff | None = None, unit: OrgUnit | None = None) -> bool:
    if by.role in BANKWIDE_ROLES:
        return True
    if by.role not in SUBTREE_ROLES or by.unit is None:
        return False
    path = (staff.unit.path if staff and staff.unit else unit.path if unit else None) or None
    return path is not None and path.startswith(by.unit.path)


def target_subject_check(by: Staff, *, staff: Staff | None = None, unit: OrgUnit | None = None):
    """Permission first (403), then scope (404 whether missing or out of scope)."""
    require_perm(by, SET_TARGETS)
    if (staff is None) == (unit is None):
        raise ApplicationError(_("A target is for one staff member or one unit."), field="subject")
    if not _in_scope(by, staff=staff, unit=unit):
        raise Http404


def clean_target_value(measure: str, value: Decimal) -> Decimal:
    """A target's value: a number ≥ 0; a share (coverage, retention) at most 1."""
    if measure not in MEASURE_CODES:
        raise ApplicationError(_("Unknown measure."), field="measure")
    if not value.is_finite() or value < 0:
        raise ApplicationError(_("A target must be a number of at least 0."), field="value")
    if value >= MAX_VALUE:
        raise ApplicationError(_("The target is too large."), field="value")
    if _BY_CODE[measure].kind == "ratio" and value > 1:
        raise ApplicationError(_("A share is a number from 0 to 1 (0.8 for 80 %)."), field="value")
    if _BY_CODE[measure].kind == "count" and value != value.to_integral_value():
        raise ApplicationError(_("A count is a whole number."), field="value")
    return value.quantize(Decimal("0.0001"))


def _write(
    *,
    staff: Staff | None,
    unit: OrgUnit | None,
    period: Period,
    measure: str,
    value: Decimal,
    source: str,
    by: Staff | None,
) -> tuple[Target, bool]:
    """Insert or update one target; returns it and whether it changed."""
    subject: dict[str, Any] = {"staff": staff} if staff is not None else {"unit": unit}
    target = Target.objects.filter(
        **subject, period_kind=period.kind, period_start=period.start, measure=measure
    ).first()
    if target is not None and target.value == value:
        return target, False
    if target is None:
        target = Target(
            **subject, period_kind=period.kind, period_start=period.start, measure=measure
        )
    target.value = value
    target.source = source
    target.set_by = by
    target.full_clean()
    target.save()
    return target, True


def _subject_name(staff: Staff | None, unit: OrgUnit | None) -> str:
    return staff.display_name if staff is not None else unit.name if unit is not None else ""


@transaction.atomic
def target_set(
    *,
    period: Period,
    measure: str,
    value: Decimal,
    by: Staff,
    staff: Staff | None = None,
    unit: OrgUnit | None = None,
) -> Target:
    """Set one target (entered on the page)."""
    target_subject_check(by, staff=staff, unit=unit)
    value = clean_target_value(measure, value)
    target, changed = _write(
        staff=staff,
        unit=unit,
        period=period,
        measure=measure,
        value=value,
        source=TargetSource.ENTERED,
        by=by,
    )
    if changed:
        audit_record(
            request_or_staff=by,
            action=Action.TARGET_EDIT,
            detail={
                "subject": _subject_name(staff, unit),
                "period": period.key,
                "measure": measure,
                "value": str(value),
            },
        )
    return target


def apportion(total: Decimal, weights: Sequence[float], quantum: Decimal) -> list[Decimal]:
    """``total`` cut into parts in proportion to ``weights`` (equal parts when they are all 0),
    each a multiple of ``quantum``, summing exactly to ``total`` (largest remainder first).

    The remainder left by rounding down is given one quantum at a time to the parts that lost
    most (ties to the earlier part), so a split target always sums back to the whole.
    """
    n = len(weights)
    if n == 0:
        return []
    w = [max(float(x), 0.0) for x in weights]
    if sum(w) <= 0:
        w = [1.0] * n
    whole = sum(w)
    units = int((total / quantum).to_integral_value(rounding=ROUND_DOWN))
    exact = [Decimal(units) * Decimal(x) / Decimal(whole) for x in w]
    floors = [int(e.to_integral_value(rounding=ROUND_DOWN)) for e in exact]
    left = units - sum(floors)
    order = sorted(range(n), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    parts = [Decimal(f) * quantum for f in floors]
    # whatever is below one quantum of the total (never, for totals cleaned to the quantum)
    parts[0] += total - sum(parts, Decimal(0))
    return parts


def _quantum(measure: str) -> Decimal:
    kind = _BY_CODE[measure].kind
    return (
        Decimal(1) if kind == "count" else Decimal("0.01") if kind == "money" else Decimal("0.0001")
    )


def split_members(unit: OrgUnit) -> list[Staff]:
    """The CMs a unit's target is split to: the active staff of the counted roles in its subtree."""
    from qiao.analytics.staffing import load_config

    roles = load_config().counted_roles
    return list(
        Staff.objects.filter(
            is_active=True,
            leave_date__isnull=True,
            role__in=roles,
            unit__path__startswith=unit.path,
        ).order_by("username")
    )


def _book_aum(members: Sequence[Staff]) -> list[float]:
    rows = dict(
        CustomerStanding.objects.filter(customer__primary_manager__in=members)
        .values("customer__primary_manager")
        .annotate(aum=Sum("aum"))
        .values_list("customer__primary_manager", "aum")
    )
    return [float(rows.get(m.pk) or 0) for m in members]


@transaction.atomic
def target_split_to_staff(
    *, unit: OrgUnit, period: Period, measure: str, by: Staff
) -> list[Target]:
    """Split a unit's target over its CMs (docs/reports.md, "Split down the org tree").

    Money measures split in proportion to each CM's current book (the AUM of the customers they
    own; equal parts when nobody owns anything); counts split in equal whole parts; shares and
    averages (coverage, retention, products per customer, satisfaction) are the same for each CM.
    """
    target_subject_check(by, unit=unit)
    source = Target.objects.filter(
        unit=unit, period_kind=period.kind, period_start=period.start, measure=measure
    ).first()
    if source is None:
        raise ApplicationError(_("The unit has no such target to split."), field="measure")
    members = split_members(unit)
    if not members:
        raise ApplicationError(_("The unit has no customer managers to split to."))
    m = _BY_CODE[measure]
    if m.kind in ("ratio", "number"):
        values = [source.value] * len(members)
    else:
        weights = _book_aum(members) if m.splits_by_book else [1.0] * len(members)
        values = apportion(source.value, weights, _quantum(measure))
    out = []
    for member, value in zip(members, values, strict=True):
        target, _changed = _write(
            staff=member,
            unit=None,
            period=period,
            measure=measure,
            value=value,
            source=TargetSource.SPLIT,
            by=by,
        )
        out.append(target)
    audit_record(
        request_or_staff=by,
        action=Action.TARGET_EDIT,
        detail={
            "split": "staff",
            "subject": unit.name,
            "period": period.key,
            "measure": measure,
            "parts": len(out),
        },
    )
    return out


@transaction.atomic
def target_split_periods(*, target: Target, kind: str, by: Staff) -> list[Target]:
    """Split a year's target into quarters or months (or a quarter's into months).

    Flows (fee income, new customers, contacts) split in equal parts that sum back to the whole;
    levels, averages and shares (AUM, deposits, loans, coverage …) keep the same value in each part.
    """
    target_subject_check(by, staff=target.staff, unit=target.unit)
    if kind not in PeriodKind.values:
        raise ApplicationError(_("Unknown period."), field="kind")
    period = Period(target.period_start, target.period_kind)  # type: ignore[arg-type]
    try:
        parts = period.parts(kind)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ApplicationError(
            _("A period splits only into shorter periods."), field="kind"
        ) from exc
    if len(parts) < 2:
        raise ApplicationError(_("A period splits only into shorter periods."), field="kind")
    m = _BY_CODE[target.measure]
    if m.additive:
        values = apportion(target.value, [1.0] * len(parts), _quantum(target.measure))
    else:
        values = [target.value] * len(parts)
    out = []
    for part, value in zip(parts, values, strict=True):
        t, _changed = _write(
            staff=target.staff,
            unit=target.unit,
            period=part,
            measure=target.measure,
            value=value,
            source=TargetSource.SPLIT,
            by=by,
        )
        out.append(t)
    audit_record(
        request_or_staff=by,
        action=Action.TARGET_EDIT,
        detail={
            "split": kind,
            "subject": _subject_name(target.staff, target.unit),
            "period": period.key,
            "measure": target.measure,
            "parts": len(out),
        },
    )
    return out
