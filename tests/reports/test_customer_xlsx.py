"""The customer list's export as a workbook: the same cells as the CSV, masked the same way,
amounts as numbers, hostile names neutralised, the same limit, audited."""

from __future__ import annotations

import csv
import io

import openpyxl

from qiao.audit.models import AuditEvent


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_workbook_holds_the_csvs_cells_masked_and_amounts_as_numbers(bank, login) -> None:
    head = login("outlet_head")
    text = _csv(head.post("/customers/export/", {"tiers": ["GOLD"]}))
    response = head.post("/customers/export/", {"tiers": ["GOLD"], "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    cells = list(sheet.iter_rows(values_only=True))
    assert list(cells[0]) == text[1]  # the header
    assert sheet.freeze_panes == "A2"
    for got, want in zip(cells[1:], text[2:], strict=True):
        assert got[0] == want[0] and got[1] == want[1]  # masked name
        assert got[8] == want[8]  # masked ID
        assert (got[9] or "") == want[9]  # masked mobile (an empty cell for none)
        assert isinstance(got[4], int | float) and f"{got[4]:.2f}" == want[4]  # AUM a number
    event = AuditEvent.objects.filter(action="EXPORT", detail__format="xlsx").get()
    assert event.detail["masked"] is True and event.detail["rows"] == 2


def test_without_the_balances_permission_amounts_stay_masked(bank, login) -> None:
    sheet = openpyxl.load_workbook(
        io.BytesIO(login("head_office").post("/customers/export/", {"format": "xlsx"}).content)
    ).worksheets[0]
    aums = [row[4] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert aums and not any(isinstance(v, int | float) for v in aums)


def test_the_limit_applies_to_the_workbook(bank, login, settings) -> None:
    settings.QIAO = {**settings.QIAO, "EXPORT_LIMIT": 0}
    refused = login("cm_owner").post("/customers/export/", {"format": "xlsx"})
    assert refused.status_code == 302
