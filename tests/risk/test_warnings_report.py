"""The early-warning list as a report: on the reports page, in the API and as a workbook, in
the reader's scope, each customer listed audited."""

from __future__ import annotations

import io

import openpyxl
from django.test import Client
from django.utils import timezone

from qiao.audit.models import Action, AuditEvent
from qiao.risk.models import WarningState
from tests.factories import make_customer


def _client(staff) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(staff)
    c.post("/i18n/setlang/", {"language": "en", "next": "/"})
    return c


def test_the_warning_list_is_a_report_scoped_audited_and_in_excel(risk_bank) -> None:
    today = timezone.localdate()
    WarningState.objects.create(customer=risk_bank.z, state="DOUBTFUL", since=today)
    other = make_customer("P9100001", "远方", risk_bank.o2)
    WarningState.objects.create(customer=other, state="WATCH", since=today)

    rm = _client(risk_bank.staff["risk_manager"])
    report = rm.get("/reports/warnings/").context["report"]
    rows = report.table("customers").rows
    assert [r["customer_no"] for r in rows] == sorted([risk_bank.z.customer_no, "P9100001"])
    assert {r["state"] for r in rows} == {"Doubtful", "Watch"}  # words, not codes
    assert AuditEvent.objects.filter(action=Action.VIEW_LIST, customer_no="P9100001").exists()

    book = openpyxl.load_workbook(io.BytesIO(rm.get("/reports/warnings/xlsx").content))
    listed = book["Customers in warning"]
    assert {c.value for c in listed["A"][1:]} == {risk_bank.z.customer_no, "P9100001"}

    cm = _client(risk_bank.staff["cm_owner"])  # owns Z at the first outlet only
    mine = cm.get("/reports/warnings/").context["report"].table("customers").rows
    assert [r["customer_no"] for r in mine] == [risk_bank.z.customer_no]
