"""Reads of the reports: which reports a reader may open, their parameters checked, the report
built in the reader's data scope (docs/reports.md, "Reports").

Every report is built for a member of staff: the builder receives them and reads only what their
data scope holds (``qiao.customers.selectors``): a customer manager their own customers, a team
lead or outlet head their subtree, head office the bank. Parameters come from the query string
and are checked here once for the page, the workbook and the API: a bad one is a 400 naming it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from qiao.core.errors import ApplicationError
from qiao.core.reports import REPORTS, Report, ReportDef
from qiao.customers.models import CustomerStanding
from qiao.customers.selectors import standings_visible_to
from qiao.org.models import BANKWIDE_ROLES, OWNER_ROLES, SUBTREE_ROLES, OrgUnit, Staff

#: The parameters every report understands (a report may ignore some).
PARAMS = ("period", "outlet", "as_of")
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def _allowed(staff: Staff, report: ReportDef) -> bool:
    return report.allowed is None or bool(report.allowed(staff))


def reports_readable_by(staff: Staff) -> list[ReportDef]:
    """The registered reports ``staff`` may open, by title."""
    return sorted((r for r in REPORTS.values() if _allowed(staff, r)), key=lambda r: str(r.title()))


def report_def_get(*, staff: Staff, name: str) -> ReportDef:
    """The report called ``name``: ``Http404`` if there is none, ``PermissionDenied`` if
    ``staff`` may not read it."""
    report = REPORTS.get(name)
    if report is None:
        raise Http404("No report matches the given query.")
    if not _allowed(staff, report):
        raise PermissionDenied(name)
    return report


def outlets_visible_to(staff: Staff) -> QuerySet[OrgUnit]:
    """The units a reader may narrow a report to: the bank's for head office, their subtree for
    a team lead or outlet head, their own unit's subtree for anyone else (a CM's report then
    shows their own customers of that unit)."""
    units = OrgUnit.objects.all()
    if staff.role in BANKWIDE_ROLES:
        return units
    if staff.unit is None:
        return units.none()
    return units.filter(path__startswith=staff.unit.path)


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def report_params_clean(*, staff: Staff, query: Mapping[str, Any]) -> dict[str, str]:
    """The report parameters of ``query``, checked: ``period`` a month ``YYYY-MM``, ``as_of`` a
    date ``YYYY-MM-DD``, ``outlet`` the code of a unit the reader may see. Unknown keys are
    ignored; a bad value raises :class:`ApplicationError` (400) naming the parameter."""
    out: dict[str, str] = {}
    errors: dict[str, str] = {}
    period = str(query.get("period") or "").strip()
    if period:
        m = _PERIOD.match(period)
        if not m or not 1 <= int(m.group(2)) <= 12 or not 1900 <= int(m.group(1)) <= 2999:
            errors["period"] = _("A period is a month written YYYY-MM, such as 2026-10.")
        else:
            out["period"] = period
    as_of = str(query.get("as_of") or "").strip()
    if as_of:
        try:
            day = dt.date.fromisoformat(as_of)
        except ValueError:
            day = None
        if day is None or len(as_of) != 10 or not 1900 <= day.year <= 2999:
            errors["as_of"] = _("A date is written YYYY-MM-DD, such as 2026-10-31.")
        else:
            out["as_of"] = day.isoformat()
    outlet = str(query.get("outlet") or "").strip()
    if outlet:
        if len(outlet) > 40 or not outlets_visible_to(staff).filter(code=outlet).exists():
            errors["outlet"] = _("No outlet with this code that you can see.")
        else:
            out["outlet"] = outlet
    if errors:
        first = next(iter(errors.values()))
        raise ApplicationError(first, fields=errors, status=400)
    return out


def params_as_of(params: Mapping[str, str]) -> dt.date | None:
    """The date a report stands on from its checked parameters: ``as_of``, else the last day of
    ``period``, else ``None`` (the report's own default: the latest data)."""
    if params.get("as_of"):
        return dt.date.fromisoformat(params["as_of"])
    if params.get("period"):
        year, month = params["period"].split("-")
        return month_end(int(year), int(month))
    return None


def params_unit(params: Mapping[str, str]) -> OrgUnit | None:
    code = params.get("outlet")
    return OrgUnit.objects.filter(code=code).first() if code else None


def report_build(*, staff: Staff, name: str, query: Mapping[str, Any]) -> Report:
    """The report ``name`` for ``staff`` with the parameters of ``query`` (checked)."""
    definition = report_def_get(staff=staff, name=name)
    params = report_params_clean(staff=staff, query=query)
    return definition.build(staff, params)


def report_rows(report: Report) -> int:
    return sum(len(t.rows) for t in report.tables)


def bank_wide(staff: Staff) -> bool:
    return staff.role in BANKWIDE_ROLES


def subtree_reader(staff: Staff) -> bool:
    return staff.role in SUBTREE_ROLES


def reads_customers(staff: Staff) -> bool:
    """Whether ``staff``'s role has a customer scope (own, subtree or bank): the customer
    reports are for them; the lobby and the tellers have none."""
    return staff.role in BANKWIDE_ROLES or staff.role in SUBTREE_ROLES or staff.role in OWNER_ROLES


def standings_in_scope(*, staff: Staff, params: Mapping[str, str]) -> QuerySet[CustomerStanding]:
    """The nightly standings (AUM, tier, contribution) of the customers ``staff`` sees, narrowed
    to the ``outlet`` parameter's subtree when given."""
    qs = standings_visible_to(staff=staff)
    unit = params_unit(params)
    if unit is not None:
        qs = qs.filter(customer__branch__path__startswith=unit.path)
    return qs


def customers_in_scope(*, staff: Staff, params: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """The customers ``staff`` sees (in the ``outlet``'s subtree when given) and their tier codes
    from the nightly standing, as two lists (``customer_no``, ``tier``): the scope and the
    grouping the lake reports are given."""
    qs = standings_in_scope(staff=staff, params=params).order_by()
    nos: list[str] = []
    tiers: list[str] = []
    for no, tier in qs.values_list("customer__customer_no", "tier").iterator(chunk_size=50_000):
        nos.append(no)
        tiers.append(tier or "")
    return nos, tiers
