"""A campaign's results as an Excel workbook (XlsxWriter), in the reader's language.

Sheets: a summary (the campaign, its plan and the measured return), then treated against control
by step, by message variant and by kind of response. Counts and amounts carry thousands
separators, rates are percentages, the uplift is in percentage points. The workbook holds no
customer, only counts and sums; the download is still audited as an export (``EXPORT``, with the
campaign's id in the detail).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import xlsxwriter
from django.utils import timezone
from django.utils.translation import gettext as _

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.campaigns.models import Campaign
from qiao.campaigns.services import campaign_results, exclusion_words
from qiao.campaigns.views_words import row_label


def _num(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _group_columns() -> list[str]:
    return [
        _("Treated"),
        _("Treated responders"),
        _("Treated response rate"),
        _("Control"),
        _("Control responders"),
        _("Control response rate"),
        _("Uplift (percentage points)"),
        _("95% interval, low"),
        _("95% interval, high"),
    ]


def results_workbook(campaign: Campaign, results: Mapping[str, Any] | None) -> bytes:
    """The workbook's bytes (``results`` as :func:`campaign_results` gives them, or ``None``
    before the first measurement: the summary then says so)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True})
    head = book.add_format({"bold": True, "bg_color": "#E9ECEF", "border": 1, "text_wrap": True})
    count = book.add_format({"num_format": "#,##0"})
    money = book.add_format({"num_format": "#,##0.00"})
    rate = book.add_format({"num_format": "0.0%"})
    pp = book.add_format({"num_format": "+0.0;-0.0;0.0"})
    ratio = book.add_format({"num_format": "0.00"})

    sheet = book.add_worksheet(_("Summary")[:31])
    sheet.set_column(0, 0, 36)
    sheet.set_column(1, 1, 22)
    row = 0

    def put(label: str, value: Any, fmt: Any = None) -> None:
        nonlocal row
        sheet.write(row, 0, label, bold)
        number = _num(value) if fmt is not None else None
        if fmt is not None and number is not None:
            sheet.write_number(row, 1, number, fmt)
        else:
            sheet.write(row, 1, "—" if value in (None, "") else str(value))
        row += 1

    stats = campaign.plan_stats or {}
    put(_("Campaign"), campaign.name)
    put(_("Aim"), campaign.get_aim_display())
    put(_("Status"), campaign.get_status_display())
    put(_("Segment"), campaign.segment.name)
    put(_("Starts on"), campaign.starts_on.isoformat())
    put(_("Response window (days)"), campaign.window_days, count)
    put(_("Customers in the segment"), stats.get("segment"), count)
    put(_("Eligible"), stats.get("eligible"), count)
    put(_("Treated"), stats.get("treated"), count)
    put(_("Control group"), stats.get("control"), count)
    for code, n in (stats.get("excluded") or {}).items():
        put(_("Left out: %(reason)s") % {"reason": exclusion_words(code)}, n, count)
    row += 1
    if not results:
        sheet.write(
            row, 0, _("No results yet: results appear after the first load following the send.")
        )
    else:
        treated, control = results.get("treated") or {}, results.get("control") or {}
        put(_("Treated responders"), treated.get("responders"), count)
        put(_("Treated response rate"), treated.get("rate"), rate)
        put(_("Control responders"), control.get("responders"), count)
        put(_("Control response rate"), control.get("rate"), rate)
        put(_("Uplift (percentage points)"), _pp(results.get("uplift")), pp)
        put(_("95% interval, low"), _pp(results.get("ci_low")), pp)
        put(_("95% interval, high"), _pp(results.get("ci_high")), pp)
        put(_("p-value"), results.get("p_value"), ratio)
        put(_("Incremental AUM (yuan)"), results.get("incremental_aum"), money)
        put(_("Incremental AUM, low (yuan)"), results.get("incremental_aum_low"), money)
        put(_("Incremental AUM, high (yuan)"), results.get("incremental_aum_high"), money)
        put(_("Incremental contribution (yuan)"), results.get("incremental_contribution"), money)
        put(_("Cost (yuan)"), results.get("cost"), money)
        put(_("Return on spend"), results.get("roi"), ratio)
        put(_("Measured on"), results.get("measured_on"))
    row += 1
    sheet.write(row, 0, _("Written"), bold)
    sheet.write(row, 1, timezone.localtime().strftime("%Y-%m-%d %H:%M"))

    for title, key, first in (
        (_("By step"), "by_step", _("Step")),
        (_("By variant"), "by_variant", _("Variant")),
    ):
        rows = (results or {}).get(key) or []
        _group_sheet(book, title, first, key, rows, head, count, rate, pp)
    kinds = book.add_worksheet(_("By response kind")[:31])
    kinds.set_column(0, 0, 32)
    kinds.set_column(1, 2, 14)
    for c, name in enumerate([_("Response"), _("Treated"), _("Control")]):
        kinds.write(0, c, name, head)
    for r, item in enumerate((results or {}).get("by_kind") or [], start=1):
        kinds.write(r, 0, row_label("by_kind", item))
        for c, key in enumerate(("treated", "control"), start=1):
            number = _num(item.get(key))
            if number is None:
                kinds.write(r, c, "—")
            else:
                kinds.write_number(r, c, number, count)
    if not (results or {}).get("by_kind"):
        kinds.write(1, 0, _("No results yet."))
    book.close()
    return out.getvalue()


def _pp(value: Any) -> float | None:
    number = _num(value)
    return None if number is None else number * 100


def _group_sheet(
    book: Any,
    title: str,
    first: str,
    key: str,
    rows: Sequence[Mapping[str, Any]],
    head: Any,
    count: Any,
    rate: Any,
    pp: Any,
) -> None:
    sheet = book.add_worksheet(title[:31])
    columns = [first, *_group_columns()]
    sheet.set_row(0, 32)
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, len(columns), 14)
    for c, name in enumerate(columns):
        sheet.write(0, c, name, head)
    for r, item in enumerate(rows, start=1):
        sheet.write(r, 0, row_label(key, item))
        treated, control = item.get("treated") or {}, item.get("control") or {}
        cells = [
            (treated.get("n"), count),
            (treated.get("responders"), count),
            (treated.get("rate"), rate),
            (control.get("n"), count),
            (control.get("responders"), count),
            (control.get("rate"), rate),
            (_pp(item.get("uplift")), pp),
            (_pp(item.get("ci_low")), pp),
            (_pp(item.get("ci_high")), pp),
        ]
        for c, (value, fmt) in enumerate(cells, start=1):
            number = _num(value)
            if number is None:
                sheet.write(r, c, "—")
            else:
                sheet.write_number(r, c, number, fmt)
    if not rows:
        sheet.write(1, 0, _("No results yet."))


def results_workbook_export(*, request: Any, campaign: Campaign) -> bytes:
    """The workbook for the reader of the campaign's page (its scope already checked by
    ``campaign_get_for_staff``), audited as an export."""
    results = campaign_results(campaign)
    data = results_workbook(campaign, results if results.get("measured") else None)
    audit_record(
        request_or_staff=request,
        action=Action.CAMPAIGN_EXPORT,
        detail={"campaign": campaign.pk, "file": "campaign results (xlsx)", "bytes": len(data)},
    )
    return data
