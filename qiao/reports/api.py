"""The reports endpoint of the REST API (docs/api.md, "Reports"):

``GET /api/reports/{name}?format=json|xlsx[&period=YYYY-MM][&as_of=YYYY-MM-DD][&outlet=CODE]`` —
any registered report, built in the caller's data scope as on the pages: ``json`` is
``{name, title, as_of, tables: [{name, title, columns, rows}]}`` (amounts in yuan as numbers,
shares as fractions), ``xlsx`` the workbook (``EXPORT_REPORTS``, audited as ``REPORT_EXPORT``).
Mounted on ``qiao.api.api.api`` with ``api.add_router("/", reports_router)``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema

from qiao.core.errors import ApplicationError
from qiao.core.reports import Report
from qiao.org.http import ErrorOut, api_caller
from qiao.reports.selectors import report_build, report_params_clean
from qiao.reports.services import file_name, report_export_xlsx

reports_router = Router(tags=["reports"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ColumnOut(Schema):
    key: str
    label: str
    kind: str


class TableOut(Schema):
    name: str
    title: str
    columns: list[ColumnOut]
    rows: list[dict[str, Any]]


class ReportOut(Schema):
    name: str
    title: str
    as_of: str | None
    tables: list[TableOut]


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def report_json(report: Report) -> dict[str, Any]:
    as_of = report.as_of
    return {
        "name": report.name,
        "title": str(report.title),
        "as_of": as_of.isoformat() if isinstance(as_of, dt.date) else as_of,
        "tables": [
            {
                "name": t.name,
                "title": str(t.title),
                "columns": [
                    {"key": c.key, "label": str(c.label), "kind": c.kind} for c in t.columns
                ],
                "rows": [{k: _json_value(v) for k, v in row.items()} for row in t.rows],
            }
            for t in report.tables
        ],
    }


@reports_router.get(
    "/reports/{name}",
    response={200: ReportOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="A report in your data scope, as JSON or as an Excel workbook",
)
def report_api(
    request: HttpRequest,
    name: str,
    format: str = "json",  # noqa: A002 (the documented parameter's name)
    period: str | None = None,
    as_of: str | None = None,
    outlet: str | None = None,
) -> Any:
    staff = api_caller(request)
    if format not in ("json", "xlsx"):
        raise ApplicationError(_("The format is json or xlsx."), field="format")
    query = {"period": period, "as_of": as_of, "outlet": outlet}
    try:
        params = report_params_clean(staff=staff, query=query)
        report = report_build(staff=staff, name=name, query=params)
        if format == "json":
            return report_json(report)
        data = report_export_xlsx(
            request_or_staff=request, staff=staff, report=report, params=params
        )
    except PermissionDenied as exc:
        raise ApplicationError(
            _("Your role may not read or download this report."), status=403
        ) from exc
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{file_name(name, params)}"'
    return response
