"""The ``targets`` extract (docs/data-interface.md, "targets"): targets per staff member or unit,
period and measure, loaded by ``qiao ingest`` like every extract.

A targets file loads whole or not at all: one rejected row (a cell, an unknown staff number or
unit, a share above 1 …) and no target of the file is written, so a plan is never half in place.
Loading the same file twice changes nothing the second time.
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

from django.utils.translation import gettext_lazy as _

from qiao.analytics.scorecard import MEASURE_CODES, Period, PeriodError
from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core import validators as v
from qiao.core.errors import ApplicationError
from qiao.ingest.kinds import Kind
from qiao.ingest.master import Counts, Reject
from qiao.org.models import OrgUnit, Staff

from .models import TargetSource
from .services import MAX_VALUE, _write, clean_target_value

SUBJECT_TYPES = ("STAFF", "UNIT")


def clean_period(value: str) -> Period:
    """``YYYY``, ``YYYY-Qn`` or ``YYYY-MM``."""
    try:
        return Period.parse(value)
    except PeriodError as exc:
        raise v.FieldError(
            _("must be a year (2026), a quarter (2026-Q1) or a month (2026-01)")
        ) from exc


def clean_measure(value: str) -> str:
    """A measure's code (``aum_avg``, ``fee_income`` …; docs/reports.md)."""
    text = str(value).strip().lower()
    if text not in MEASURE_CODES:
        raise v.FieldError(_("must be one of %(choices)s") % {"choices": ", ".join(MEASURE_CODES)})
    return text


def _value(value: str) -> Decimal:
    number = v.clean_decimal(value, places=4, minimum=Decimal(0))
    if number >= MAX_VALUE:
        raise v.FieldError(_("is too large"))
    return number


TARGETS = Kind(
    "targets",
    {
        "subject_type": (True, partial(v.clean_enum, choices=SUBJECT_TYPES)),
        "subject_code": (True, v.clean_code),
        "period": (True, clean_period),
        "measure": (True, clean_measure),
        "value": (True, _value),
    },
    key=("subject_type", "subject_code", "period", "measure"),
)


def apply_targets(rows: list[tuple[int, dict[str, Any]]], counts: Counts, by: Staff | None) -> None:
    staff_nos = {r["subject_code"] for _l, r in rows if r["subject_type"] == "STAFF"}
    unit_codes = {r["subject_code"] for _l, r in rows if r["subject_type"] == "UNIT"}
    staff = {s.username: s for s in Staff.objects.filter(username__in=list(staff_nos))}
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=list(unit_codes))}
    ready: list[tuple[Staff | None, OrgUnit | None, Period, str, Decimal]] = []
    for line, r in rows:
        code = r["subject_code"]
        person = staff.get(code) if r["subject_type"] == "STAFF" else None
        unit = units.get(code) if r["subject_type"] == "UNIT" else None
        if person is None and unit is None:
            reason = (
                _("is not a staff number Qiao knows")
                if r["subject_type"] == "STAFF"
                else _("is not a unit Qiao knows")
            )
            counts.rejects.append(Reject(line, "subject_code", code, str(reason)))
            continue
        try:
            value = clean_target_value(r["measure"], r["value"])
        except ApplicationError as exc:
            counts.rejects.append(Reject(line, "value", str(r["value"]), str(exc.message)))
            continue
        ready.append((person, unit, r["period"], r["measure"], value))
    if counts.rejects:
        # Whole or nothing: the good rows are not written either (the rejects file lists why).
        counts.unchanged = 0
        return
    changed = 0
    for person, unit, period, measure, value in ready:
        _target, did = _write(
            staff=person,
            unit=unit,
            period=period,
            measure=measure,
            value=value,
            source=TargetSource.UPLOADED,
            by=by,
        )
        if did:
            changed += 1
        else:
            counts.unchanged += 1
    counts.loaded += changed
    if changed and by is not None:
        audit_record(
            request_or_staff=by,
            action=Action.TARGET_EDIT,
            detail={"uploaded": changed},
        )
