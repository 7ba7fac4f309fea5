"""The report ``ebanking`` in words and in scope, the list a CM acts on (EBANK_OFFER items), the
peer benchmarks page, and the transactions' new ``pay_method`` through the one ingest path.

The lake is the hand-counted one of ebanking_lake.py under the workbench bank's customers:
P1 = X (P0000001, cm_owner's, O1), P2 = W (P0000003, O1), P3 = Y (P0000002, cm_other's, O2),
C1 = C0000009 (not in the database, O2), C2 = Z (C0000001, O1).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import translation

from qiao.audit.models import Action, AuditEvent
from qiao.core.reports import REPORTS
from qiao.engagement.models import WorkItem, WorkKind
from qiao.engagement.reasons import render_reason
from qiao.reports.benchmarks import benchmark_save
from qiao.reports.ebanking import ebank_offers_create
from qiao.reports.models import Benchmark
from tests.ingest import conftest as ingest

from .ebanking_lake import tiny_lake

NOS = ("P0000001", "P0000003", "P0000002", "C0000009", "C0000001")
PARAMS = {"as_of": "2026-06-30"}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def lake(settings, bank) -> Path:
    return tiny_lake(Path(settings.LAKE_DIR), NOS)


def build(staff, params=PARAMS):
    return REPORTS["ebanking"].build(staff, params)


def rows(report, table: str) -> list[dict]:
    return report.table(table).rows


def test_the_bank_reads_every_part_in_words(lake, bank) -> None:
    report = build(bank.staff["head_office"])
    assert report.name == "ebanking" and report.as_of == dt.date(2026, 6, 30)
    [overview] = rows(report, "r1_overview")
    assert (overview["customers"], overview["activated"], overview["multi"]) == (5, 2, 1)
    assert overview["multi_share"] == 0.5
    services = {r["service"]: r for r in rows(report, "r1_services")}
    assert services["Online banking"]["activation_rate"] == 0.5
    assert "Corporate online banking (professional)" in services
    assert {r["band"] for r in rows(report, "r2_age_tiers")} >= {"18 to 39", "60 and over"}
    classes = {r["relation"]: r for r in rows(report, "r5_payroll")}
    assert classes["Payroll"]["account_share"] == pytest.approx(2 / 4)
    assert classes["All payroll and withholding"]["balance"] == Decimal("1500.00")
    assert {r["method"] for r in rows(report, "r6_methods")} == {
        "Third-party payment",
        "Online-banking payment",
        "Card at a terminal",
    }
    outlets = {r["outlet"]: r for r in rows(report, "substitution_outlets")}
    assert set(outlets) == {"解放路网点", "人民路网点"}
    # twelve months to June: T1, T2, T3 and February's T9 electronic, T4 at the counter
    assert outlets["解放路网点"]["rate_n"] == pytest.approx(4 / 5)
    versions = {r["version"]: r for r in rows(report, "r8_versions")}
    assert versions["Corporate online banking (query)"]["signed"] == 1
    # no code reaches a person: every text cell is words
    for table in report.tables:
        for row in table.rows:
            for col in table.columns:
                if col.kind == "text":
                    assert row.get(col.key) not in {"PAYROLL", "ONLINE", "THIRD_PARTY", "O1"}


def test_the_payroll_list_is_scoped_masked_and_audited(lake, bank) -> None:
    analyst = build(bank.staff["head_office"])
    [y] = rows(analyst, "r5_list")
    assert (y["customer_no"], y["name"]) == ("P0000002", "李四")
    assert y["classes"] == "Payroll, Social security"
    assert y["manager"] == bank.staff["cm_other"].get_full_name()
    # the analyst does not see balances: no balance column at all
    assert "balance" not in [c.key for c in analyst.table("r5_list").columns]
    shown = AuditEvent.objects.filter(action=Action.VIEW_LIST, customer_no="P0000002")
    assert shown.filter(username="head_office").count() == 1
    assert shown.get(username="head_office").detail["report"] == "ebanking"

    mine = build(bank.staff["cm_other"])  # Y's own manager sees balances
    [row] = rows(mine, "r5_list")
    assert row["balance"] == Decimal("500.00")
    assert rows(mine, "r1_overview")[0]["customers"] == 1
    assert rows(build(bank.staff["cm_owner"]), "r5_list") == []  # X has e-banking


def test_each_reader_sees_their_scope(lake, bank) -> None:
    assert rows(build(bank.staff["cm_owner"]), "r1_overview")[0]["customers"] == 1  # X
    # the outlet head of O1: X, W and Z
    assert rows(build(bank.staff["outlet_head"]), "r1_overview")[0]["customers"] == 3
    # narrowed to O2 by the page's outlet parameter
    o2 = build(bank.staff["head_office"], {**PARAMS, "outlet": "O2"})
    assert rows(o2, "r1_overview")[0]["customers"] == 2
    assert [r["outlet"] for r in rows(o2, "substitution_outlets")] == ["人民路网点"]


def test_a_cm_puts_their_payroll_customers_without_ebanking_on_the_work_list(
    lake, bank, login
) -> None:
    response = login("cm_other").post("/reports/ebanking/offers/")
    assert response.status_code == 302
    [item] = WorkItem.objects.filter(kind=WorkKind.EBANK_OFFER)
    assert (item.staff, item.customer) == (bank.staff["cm_other"], bank.y)
    assert item.value_at_stake == Decimal("500.00")
    assert "Payroll, Social security" in render_reason(item.reason_code, item.reason_params)
    audited = AuditEvent.objects.get(action=Action.WORK_ITEM_NEW, customer_no="P0000002")
    assert audited.detail["work_item"] == "EBANK_OFFER"
    # again: the open item is not duplicated
    assert ebank_offers_create(staff=bank.staff["cm_other"]) == 0
    assert WorkItem.objects.filter(kind=WorkKind.EBANK_OFFER).count() == 1
    page = login("cm_other").get("/reports/ebanking/offers/")
    assert page.status_code == 200 and b'id="offer-count"' in page.content


def test_a_reader_without_a_work_list_is_refused(lake, bank, login) -> None:
    assert login("head_office").post("/reports/ebanking/offers/").status_code == 403
    with pytest.raises(PermissionDenied):
        ebank_offers_create(staff=bank.staff["auditor"])
    assert not WorkItem.objects.filter(kind=WorkKind.EBANK_OFFER).exists()
    assert not AuditEvent.objects.filter(action=Action.WORK_ITEM_NEW).exists()


FORM = {
    "measure": "ebanking.substitution_rate",
    "period": "2026-06",
    "peer": "CFCA 2012",
    "value": "40.04",
    "source": "中国电子银行调查报告",
}


def test_an_analyst_enters_a_peer_figure_shown_beside_ours(lake, bank, login) -> None:
    client = login("head_office")
    assert client.post("/reports/benchmarks/", FORM).status_code == 302
    assert client.post("/reports/benchmarks/", {**FORM, "value": "41"}).status_code == 302
    [b] = Benchmark.objects.all()  # one per measure, month and peer: corrected, not added
    assert (b.value, b.period, b.entered_by) == (
        Decimal("0.410000"),
        dt.date(2026, 6, 1),
        bank.staff["head_office"],
    )
    edits = AuditEvent.objects.filter(action=Action.BENCHMARK_EDIT).order_by("pk")
    assert [e.detail["change"] for e in edits] == ["created", "updated"]
    page = client.get("/reports/benchmarks/")
    assert "41.00 %" in page.content.decode() and "CFCA 2012" in page.content.decode()
    [row] = rows(build(bank.staff["head_office"]), "benchmarks")
    # ours in June: T7 electronic, no counter transaction (T6 is interest) → 100 %
    assert (row["ours"], row["peer_value"], row["gap"]) == (1.0, 0.41, 59.0)
    assert row["measure"] == "Substitution rate excluding ATMs (count)"
    assert client.post(f"/reports/benchmarks/{b.pk}/delete/").status_code == 302
    assert not Benchmark.objects.exists()
    assert AuditEvent.objects.filter(action=Action.BENCHMARK_EDIT).count() == 3


def test_bad_benchmark_input_is_refused_with_a_clear_error(bank, login) -> None:
    client = login("head_office")
    too_big = client.post("/reports/benchmarks/", {**FORM, "value": "150"})
    assert too_big.status_code == 400
    assert "less than or equal to 100" in too_big.content.decode()
    bad_month = client.post("/reports/benchmarks/", {**FORM, "period": "2026-13"})
    assert bad_month.status_code == 400
    assert "A month is written YYYY-MM" in bad_month.content.decode()
    unknown = client.post("/reports/benchmarks/", {**FORM, "measure": "ebanking.nonsense"})
    assert unknown.status_code == 400
    assert login("cm_owner").post("/reports/benchmarks/", FORM).status_code == 403
    assert not Benchmark.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.BENCHMARK_EDIT).exists()
    with pytest.raises(PermissionDenied):
        benchmark_save(
            measure=FORM["measure"],
            period=dt.date(2026, 6, 1),
            peer="x",
            percent=Decimal(1),
            by=bank.staff["outlet_head"],
        )


# ------------------------------------------------------------------ the pay_method of a transaction


@pytest.fixture
def loaded_bank(db, tmp_path) -> Path:
    """The ingest tests' small bank, loaded through the one ingest path."""
    from qiao.ingest.services import ingest_paths

    folder = ingest.bank_files.__wrapped__(tmp_path)
    results = ingest_paths([folder])
    assert all(r.ok and r.rejected == 0 for r in results), [r.summary() for r in results]
    return folder


HEADER = "txn_id,account_no,customer_no,txn_time,amount,direction,channel,txn_type,pay_method"


def test_pay_method_is_checked_and_written_to_the_lake(loaded_bank, tmp_path) -> None:
    from qiao.ingest.services import ingest_file

    path = tmp_path / "transactions_pay.csv"
    path.write_text(
        "\n".join(
            [
                HEADER,
                "P1,6222000000000001,P0000001,2026-03-05T10:00:00,20.00,D,MOBILE,PAYMENT,third_party",
                "P2,6222000000000001,P0000001,2026-03-05T11:00:00,20.00,D,MOBILE,PAYMENT,BITCOIN",
                "P3,6222000000000001,P0000001,2026-03-05T12:00:00,20.00,D,COUNTER,DEPOSIT,",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    result = ingest_file(path)
    assert (result.loaded, result.rejected) == (2, 1)
    rejects = (tmp_path / "transactions_pay.csv.rejects.csv").read_text(encoding="utf-8-sig")
    assert '3,pay_method,BITCOIN,"must be one of THIRD_PARTY, EBANK, QUICK_PAY, CARD"' in rejects
    files = [str(p) for p in (Path(settings.LAKE_DIR) / "transactions").rglob("*.parquet")]
    read = duckdb.connect().execute(
        "SELECT txn_id, pay_method FROM read_parquet(?, union_by_name = true) "
        "WHERE txn_id IN ('P1', 'P3')",
        [files],
    )
    got = dict(read.fetchall())
    assert got == {"P1": "THIRD_PARTY", "P3": None}


def test_files_from_before_pay_method_still_compare(loaded_bank, tmp_path) -> None:
    """A file written before the column existed: the same transaction sent again is unchanged."""
    from qiao.ingest.services import ingest_file

    folder = Path(settings.LAKE_DIR) / "transactions" / "month=2026-04"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table(
            {
                "txn_id": ["OLD1"],
                "account_no": ["6222000000000001"],
                "customer_no": ["P0000001"],
                "txn_time": pa.array(
                    [dt.datetime(2026, 4, 1, 2, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC")
                ),
                "amount": pa.array([Decimal("5.00")], pa.decimal128(18, 2)),
                "direction": ["C"],
                "channel": ["ATM"],
                "txn_type": ["DEPOSIT"],
                "product_code": pa.array([None], pa.string()),
                "gain": pa.array([None], pa.decimal128(18, 2)),
                "cash": ["Y"],
                "load_id": pa.array([1], pa.int64()),
            }
        ),
        folder / "part-00000001-0.parquet",
    )
    path = tmp_path / "transactions_again.csv"
    path.write_text(
        "txn_id,account_no,customer_no,txn_time,amount,direction,channel,txn_type,cash\n"
        "OLD1,6222000000000001,P0000001,2026-04-01T10:00:00+08:00,5.00,C,ATM,DEPOSIT,Y\n",
        encoding="utf-8",
    )
    result = ingest_file(path)
    assert (result.loaded, result.unchanged, result.rejected) == (0, 1, 0)


def test_the_page_and_the_workbook_show_the_same_figures(lake, bank, login) -> None:
    import io

    import openpyxl

    client = login("head_office")
    page = client.get("/reports/ebanking/", {"as_of": "2026-06-30"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Substitution rate by outlet" in text and "解放路网点" in text
    book = client.get("/reports/ebanking/xlsx", {"as_of": "2026-06-30"})
    assert book.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(book.content))
    sheet = next(ws for ws in wb.worksheets if ws.title.startswith("R1 E-banking customers"))
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]], strict=False))
    assert row["Customers"] == 5 and row["Multi-product share"] == 0.5
    assert AuditEvent.objects.filter(action=Action.REPORT_EXPORT, username="head_office").exists()


def test_r7_shows_the_questionnaires_tallies(lake, bank) -> None:
    from qiao.surveys.models import Survey
    from qiao.surveys.services import response_record, surveys_load_builtin

    surveys_load_builtin()
    survey = Survey.objects.get(code="ebanking")
    for usage in ("MOBILE", "MOBILE", "NONE"):
        response_record(
            survey=survey,
            answers={"usage": usage, "willingness": "WILLING", "main_need": "BILL_PAYMENT"},
            by=bank.staff["cm_owner"],
            customer=bank.x,
        )
    tallies = {
        (r["question"], r["answer"]): (r["count"], r["share"])
        for r in rows(build(bank.staff["head_office"]), "r7_survey")
    }
    usage = survey.questions.get(code="usage").text
    assert tallies[(usage, "Mobile banking")] == (2, pytest.approx(2 / 3))
    assert tallies[(usage, "None")] == (1, pytest.approx(1 / 3))


def test_the_ebanking_page_leads_to_the_offers_and_the_benchmarks(lake, login) -> None:
    """The acts the analysis leads to are reachable from it: the offers for those who may put
    customers on their work list, the peer benchmarks for every reader."""
    cm = login("cm_owner").get("/reports/ebanking/").content.decode()
    assert "/reports/ebanking/offers/" in cm and "/reports/benchmarks/" in cm
    analyst = login("head_office").get("/reports/ebanking/").content.decode()
    assert "/reports/ebanking/offers/" not in analyst and "/reports/benchmarks/" in analyst
