"""``qiao ingest``: validation, reject files, idempotence, atomicity, encodings, lake loads."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.conf import settings

from qiao.cli import main
from qiao.customers.models import Customer, CustomerChange, CustomerStanding
from qiao.ingest.models import LoadRecord
from qiao.ingest.services import ingest_file, ingest_paths
from qiao.org.models import OrgUnit
from qiao.products.models import Account
from qiao.scoring.selectors import lake_count

from .conftest import CUSTOMERS, write

pytestmark = pytest.mark.django_db


def rejects_of(path: Path) -> list[dict[str, str]]:
    with (path.parent / (path.name + ".rejects.csv")).open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def test_a_bank_loads_with_counts_and_tree_paths(loaded_bank: Path) -> None:
    assert Customer.objects.count() == 3
    assert Account.objects.count() == 3
    assert OrgUnit.objects.get(code="O0101").path == "/HO/B01/S01/O0101/"
    zhang = Customer.objects.get(customer_no="P0000001")
    assert (zhang.name_pinyin, zhang.name_initials) == ("zhangsan", "zs")
    assert zhang.id_tail4 == "0071"
    li = Customer.objects.get(customer_no="P0000002")
    # Birth date derived from the resident ID when the column is empty.
    assert str(li.birth_date) == "1949-12-31"
    assert lake_count("transactions") == 3
    assert lake_count("balances") == 3
    # Each loaded customer has a standing (not scored yet: zero, no tier), so the lists show them.
    standings = CustomerStanding.objects.values_list("customer__customer_no", "aum", "tier")
    assert sorted(standings) == sorted(
        (no, 0, "") for no in Customer.objects.values_list("customer_no", flat=True)
    )


def test_loading_the_same_files_again_changes_nothing(loaded_bank: Path) -> None:
    before = LoadRecord.objects.count()
    results = ingest_paths([loaded_bank])
    assert [r.loaded + r.updated for r in results] == [0] * len(results)
    assert all(r.unchanged == r.rows for r in results)
    assert lake_count("transactions") == 3
    # One file per month from the first load, none added by the second.
    assert len(list((settings.LAKE_DIR / "transactions").rglob("*.parquet"))) == 3
    assert LoadRecord.objects.count() == before + len(results)
    assert CustomerChange.objects.count() == 0
    assert CustomerStanding.objects.count() == Customer.objects.count()


def test_bad_rows_are_rejected_with_line_column_and_reason(
    db, bank_files: Path, tmp_path: Path
) -> None:
    ingest_paths([bank_files / "org_units.csv"])
    bad = write(
        tmp_path,
        "customers_bad.csv",
        CUSTOMERS
        + "\n".join(
            [
                "P0000010,P,王五,RIC,360426199101010072,M,,13912345678,,,,,,,O0101,2015-06-01",  # check digit
                "P0000011,P,赵六,RIC,360426199101010071,F,,13912345678,,,,,,,O0101,2015-06-01",  # gender vs ID
                "P0000012,P,钱七,PASSPORT,E1234567,M,1980-02-30,13912345678,,,,,,,O0101,2015-06-01",  # date
                "P0000013,P,孙八,PASSPORT,E1234568,M,,1391234567,,,,,,,O0101,2015-06-01",  # mobile
                "P0000014,X,周九,PASSPORT,E1234569,M,,,,,,,,,O0101,2015-06-01",  # enum
                "P0000015,P,吴十,PASSPORT,E1234570,M,,,,,,,,,O9999,2015-06-01",  # unknown outlet
                "P0000016,C,某公司,USCC,91110000600037341X,,,,,,,,,,O0101,2015-06-01",  # credit code
                "P0000017,P,郑十一,PASSPORT,E1234571,M,,,,,12345,,,,O0101,2015-06-01",  # postal code
                "P0000018,P,只有三列,P",  # field count
                "P0000001,P,张三,RIC,360426199101010071,M,1991-01-01,13912345678,,,,,,,O0101,2015-06-01",  # dup
            ]
        )
        + "\n",
    )
    result = ingest_file(bad)
    assert result.ok and result.loaded == 3 and result.rejected == 10
    rejects = rejects_of(bad)
    by_line = {int(r["line"]): r for r in rejects}
    assert by_line[5]["column"] == "id_no" and "check digit" in by_line[5]["reason"]
    assert by_line[6]["column"] == "gender"
    assert by_line[7]["column"] == "birth_date" and "calendar" in by_line[7]["reason"]
    assert by_line[8]["column"] == "mobile" and "11 digits" in by_line[8]["reason"]
    assert by_line[9]["column"] == "customer_type" and by_line[9]["value"] == "X"
    assert by_line[10]["column"] == "branch_code" and "organisation unit" in by_line[10]["reason"]
    assert by_line[11]["column"] == "id_no" and "check character" in by_line[11]["reason"]
    assert by_line[12]["column"] == "postal_code"
    assert "fields" in by_line[13]["reason"]
    assert by_line[14]["column"] == "customer_no" and "line 2" in by_line[14]["reason"]
    assert not Customer.objects.filter(
        customer_no__in=[f"P00000{i}" for i in range(10, 19)]
    ).exists()


def test_wrong_header_fails_whole_file_with_exit_2_and_changes_nothing(
    db, bank_files: Path, tmp_path: Path, capsys
) -> None:
    ingest_paths([bank_files / "org_units.csv"])
    bad = write(tmp_path, "customers_x.csv", CUSTOMERS.replace("customer_no,", "cust_no,", 1))
    assert main(["ingest", str(bad)]) == 2
    out = capsys.readouterr().out
    assert "required column customer_no missing" in out
    assert Customer.objects.count() == 0
    record = LoadRecord.objects.get(file_name=str(bad))
    assert record.status == LoadRecord.Status.FAILED


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"", "empty"),
        (b"\xff\xfeu\x00", "UTF-16"),
        (b"customer_no\n\x81\x30\xff\xff\n", "neither UTF-8 nor GBK"),
    ],
)
def test_unreadable_files_are_refused(db, tmp_path: Path, payload: bytes, message: str) -> None:
    path = tmp_path / "customers_bad.csv"
    path.write_bytes(payload)
    result = ingest_file(path)
    assert not result.ok and message in result.message


def test_encodings_are_detected_and_reported(db, bank_files: Path, tmp_path: Path) -> None:
    ingest_paths([bank_files / "org_units.csv"])
    gbk = write(tmp_path, "customers_gbk.csv", CUSTOMERS, encoding="gbk")
    bom = write(tmp_path, "customers_bom.csv", CUSTOMERS, encoding="utf-8-sig")
    r1, r2 = ingest_file(gbk), ingest_file(bom)
    assert (r1.encoding, r2.encoding) == ("gbk", "utf-8-sig")
    assert "[gbk]" in r1.summary()
    assert Customer.objects.get(customer_no="P0000001").name == "张三"
    assert r2.unchanged == 3


def test_a_changed_row_is_updated_and_its_history_kept(loaded_bank: Path, tmp_path: Path) -> None:
    changed = write(tmp_path, "customers_2.csv", CUSTOMERS.replace("13912345678", "13987654321"))
    result = ingest_file(changed)
    assert (result.loaded, result.updated, result.unchanged) == (0, 1, 2)
    change = CustomerChange.objects.get()
    assert (change.field, change.old_value, change.new_value) == (
        "mobile",
        "13912345678",
        "13987654321",
    )
    assert change.source == "INGEST"


def test_a_renamed_customer_gets_new_search_keys_and_a_moved_one_shows_outlet_codes(
    loaded_bank: Path, tmp_path: Path
) -> None:
    text = CUSTOMERS.replace("P0000001,P,张三", "P0000001,P,王五").replace(
        "教师,教育,本科,O0101", "教师,教育,本科,O0102"
    )
    result = ingest_file(write(tmp_path, "customers_2.csv", text))
    assert (result.loaded, result.updated, result.unchanged) == (0, 1, 2)
    wang = Customer.objects.get(customer_no="P0000001")
    # search keys follow the name (derived on change, not given in the file)
    assert (wang.name, wang.name_pinyin, wang.name_initials) == ("王五", "wangwu", "ww")
    changes = {c.field: (c.old_value, c.new_value) for c in CustomerChange.objects.all()}
    assert changes == {"name": ("张三", "王五"), "branch": ("O0101", "O0102")}


def test_transaction_rules_and_deduplication(loaded_bank: Path, tmp_path: Path) -> None:
    txns = write(
        tmp_path,
        "transactions_2.csv",
        "\n".join(
            [
                "txn_id,account_no,customer_no,txn_time,amount,direction,channel,txn_type",
                "T1,6222000000000001,P0000001,2026-01-05T10:00:00,100.50,C,COUNTER,DEPOSIT",  # same: unchanged
                "T2,6222000000000001,P0000001,2026-02-05T10:00:00+08:00,99.00,D,MOBILE,PAYMENT",  # changed
                "T4,6222000000000001,P0000001,2026-02-30T10:00:00,1,C,ATM,DEPOSIT",  # date
                "T5,6222000000000001,P0000001,2026-01-06T10:00:00,1.001,C,ATM,DEPOSIT",  # decimals
                "T6,6222000000000009,P0000001,2026-01-06T10:00:00,1,C,ATM,DEPOSIT",  # unknown account
                "T7,6222000000000002,P0000001,2026-01-06T10:00:00,1,C,ATM,DEPOSIT",  # not the owner
                "T8,6222000000000001,P0000001,2026-01-06T10:00:00,0,C,ATM,DEPOSIT",  # not positive
                "T9,6222000000000001,P0000001,2999-01-06T10:00:00,1,C,ATM,DEPOSIT",  # future
                "T10,6222000000000001,P0000001,2026-01-07T10:00:00,5,C,MOBILE,PAYMENT",  # good
                "T10,6222000000000001,P0000001,2026-01-07T10:00:00,6,C,MOBILE,PAYMENT",  # dup, differs
            ]
        )
        + "\n",
    )
    result = ingest_file(txns)
    assert (result.loaded, result.unchanged, result.rejected) == (1, 1, 8)
    reasons = {(int(r["line"]), r["column"]): r["reason"] for r in rejects_of(txns)}
    assert "cannot change" in reasons[(3, "txn_id")]
    assert (4, "txn_time") in reasons and (5, "amount") in reasons
    assert "known account" in reasons[(6, "account_no")]
    assert "own" in reasons[(7, "customer_no")]
    assert "greater than zero" in reasons[(8, "amount")]
    assert "future" in reasons[(9, "txn_time")]
    assert "line 10" in reasons[(11, "txn_id")]
    assert lake_count("transactions") == 4
    assert not list((settings.LAKE_DIR / "_staging").glob("*"))


def test_lake_is_partitioned_by_month_and_stores_utc_with_exact_decimals(loaded_bank: Path) -> None:
    months = sorted(p.name for p in (settings.LAKE_DIR / "transactions").iterdir())
    assert months == ["month=2026-01", "month=2026-02", "month=2026-03"]
    con = duckdb.connect()
    rows = con.execute(
        "SELECT txn_id, amount, epoch(txn_time) FROM read_parquet(?, hive_partitioning=true) ORDER BY txn_id",
        [str(settings.LAKE_DIR / "transactions" / "*" / "*.parquet")],
    ).fetchall()
    assert rows[0][1] == Decimal("100.50")
    # 2026-01-05 10:00 Beijing time is 02:00 UTC.
    assert rows[0][2] == 1767578400


def test_parquet_balances_update_counts(loaded_bank: Path, tmp_path: Path) -> None:
    table = pa.table(
        {
            "account_no": ["6222000000000001", "6222000000000001", "6222000000000002"],
            "balance_date": pa.array(
                [__import__("datetime").date(2026, 1, 5)] * 2
                + [__import__("datetime").date(2026, 3, 1)]
            ),
            "balance": pa.array(
                [Decimal("100.50"), Decimal("1.00"), Decimal("50000.00")], pa.decimal128(18, 2)
            ),
        }
    )
    table = table.set_column(
        1,
        "balance_date",
        pa.array(
            [
                __import__("datetime").date(2026, 1, 5),
                __import__("datetime").date(2026, 2, 5),
                __import__("datetime").date(2026, 3, 1),
            ]
        ),
    )
    path = tmp_path / "balances_2.parquet"
    pq.write_table(table, path)
    result = ingest_file(path)
    assert result.encoding == "parquet"
    assert (result.loaded, result.updated, result.unchanged) == (1, 1, 1)
    con = duckdb.connect()
    [(latest,)] = con.execute(
        "SELECT arg_max(balance, load_id) FROM read_parquet(?) WHERE account_no='6222000000000001' AND balance_date='2026-02-05'",
        [str(settings.LAKE_DIR / "balances" / "*" / "*.parquet")],
    ).fetchall()
    assert latest == Decimal("1.00")


def test_a_failed_load_changes_nothing(loaded_bank: Path, tmp_path: Path, monkeypatch) -> None:
    from qiao.ingest import master

    def explode(rows, counts, by):  # noqa: ANN001
        master.apply_customers(rows, counts, by)
        raise RuntimeError("disk full")

    monkeypatch.setitem(master.APPLIERS, "customers", explode)
    changed = write(tmp_path, "customers_3.csv", CUSTOMERS.replace("张三", "张三丰"))
    with pytest.raises(RuntimeError):
        ingest_file(changed)
    assert Customer.objects.get(customer_no="P0000001").name == "张三"
    assert LoadRecord.objects.get(file_name=str(changed)).status == LoadRecord.Status.FAILED


def test_cli_exit_codes_and_status(loaded_bank: Path, capsys) -> None:
    assert main(["ingest", str(loaded_bank)]) == 0
    assert "unchanged 3" in capsys.readouterr().out
    assert main(["ingest", str(loaded_bank / "nope.csv")]) == 2
    assert main(["status", "--json"]) == 0
    import json

    status = json.loads(capsys.readouterr().out)
    assert status["customers"] == 3 and status["transactions"] == 3 and status["last_load_at"]


def test_the_summary_and_reasons_speak_the_operators_language(
    db, bank_files: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    ingest_paths([bank_files / "org_units.csv"])
    bad = write(tmp_path, "customers_zh.csv", CUSTOMERS.replace("13912345678", "12912345678"))
    monkeypatch.setenv("QIAO_LANGUAGE", "zh-hans")
    assert main(["ingest", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "拒绝 1" in out
    reasons = [r["reason"] for r in rejects_of(bad)]
    assert reasons and all(any("\u4e00" <= ch <= "\u9fff" for ch in r) for r in reasons)
