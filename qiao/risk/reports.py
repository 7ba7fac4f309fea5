"""The early-warning list as a report of the one report shape (``qiao.core.reports``): on the
reports page, in ``GET /api/reports/warnings`` and as a workbook, in the reader's scope (the
customers the risk pages show them), each customer listed audited as on every list."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from django.utils.translation import gettext as _t

from qiao.audit.services import audit_list_shown
from qiao.core.reports import Chart, Column, Report, ReportDef, Table
from qiao.core.vocab import WARNING_STATES
from qiao.org.models import Staff

from .reasons import state_label
from .selectors import warnings_list

#: The rows a report lists at most (the workbook of a larger list is built in the background).
LIMIT = 100_000


def build_warnings(staff: Staff, params: Mapping[str, str]) -> Report:
    items, count = warnings_list(staff=staff, page=1, page_size=LIMIT)
    audit_list_shown(
        request_or_staff=staff,
        customer_nos=[i["customer_no"] for i in items],
        detail={"page": "report warnings"},
    )
    by_state = Counter(i["state"] for i in items)
    states = Table(
        "states",
        _t("Customers by warning state"),
        [Column("state", _t("Warning state")), Column("customers", _t("Customers"), "int")],
        [
            {"state": state_label(code), "customers": by_state[code]}
            for code in WARNING_STATES.codes
            if by_state[code]
        ],
    )
    listed = Table(
        "customers",
        _t("Customers in warning"),
        [
            Column("customer_no", _t("Customer number")),
            Column("state", _t("Warning state")),
            Column("since", _t("Since"), "date"),
            Column("reasons", _t("Why")),
        ],
        [
            {
                "customer_no": i["customer_no"],
                "state": i["state_label"],
                "since": i["since"],
                "reasons": "; ".join(i["reasons"]),
            }
            for i in items
        ],
        note=_t("%(n)s customers in all, by customer number.") % {"n": f"{count:,}"},
    )
    return Report(
        name="warnings",
        title=_t("Early warning"),
        tables=[states, listed],
        charts=[Chart("states", "bar", _t("Customers by warning state"), "state", ("customers",))],
    )


REPORTS = [ReportDef("warnings", lambda: _t("Early warning"), build_warnings)]
