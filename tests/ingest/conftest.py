from __future__ import annotations

from pathlib import Path

import pytest

ORG = """unit_code,name,level,parent_code
HO,总行,HEAD_OFFICE,
B01,城东分行,BRANCH,HO
S01,解放路支行,SUB_BRANCH,B01
O0101,解放路网点,OUTLET,S01
O0102,人民路网点,OUTLET,S01
"""
PRODUCTS = """product_code,name,category,risk_level,motives,term_days
DEM,活期储蓄,DEMAND,,ACCUMULATE,
TD1Y,一年定期,TIME,,ACCUMULATE,365
FND1,稳健基金,FUND,R3,APPRECIATE,
"""
CUSTOMERS = """customer_no,customer_type,name,id_type,id_no,gender,birth_date,mobile,email,address,postal_code,occupation,industry,education,branch_code,open_date
P0000001,P,张三,RIC,360426199101010071,M,1991-01-01,13912345678,,江西省九江市德安县蒲亭镇1号,330400,教师,教育,本科,O0101,2015-06-01
P0000002,P,李四,RIC,11010519491231002X,F,,13812345678,li@example.com,,,,,,O0102,2016-01-01
C0000001,C,九江德安建材有限公司,USCC,91110000600037341L,,,,,江西省九江市德安县工业园,330400,,制造业,,O0101,2012-03-15
"""
ACCOUNTS = """account_no,customer_no,product_code,open_date,maturity_date
6222000000000001,P0000001,DEM,2015-06-01,
6222000000000002,C0000001,DEM,2015-06-01,
6222000000000003,P0000002,TD1Y,2025-06-01,2026-06-01
"""
TRANSACTIONS = """txn_id,account_no,customer_no,txn_time,amount,direction,channel,txn_type
T1,6222000000000001,P0000001,2026-01-05T10:00:00,100.50,C,COUNTER,DEPOSIT
T2,6222000000000001,P0000001,2026-02-05T10:00:00+08:00,20.00,D,MOBILE,PAYMENT
T3,6222000000000002,C0000001,2026-03-01T09:00:00Z,50000,C,CORP_ONLINE,TRANSFER
"""
BALANCES = """account_no,balance_date,balance
6222000000000001,2026-01-05,100.50
6222000000000001,2026-02-05,80.50
6222000000000003,2025-06-01,200000
"""


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """The reasons are asserted in English (the CLI follows QIAO_LANGUAGE / the locale)."""
    from django.utils import translation

    monkeypatch.setenv("QIAO_LANGUAGE", "en")
    with translation.override("en"):
        yield


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def bank_files(tmp_path: Path) -> Path:
    folder = tmp_path / "extracts"
    folder.mkdir()
    for name, text in [
        ("org_units.csv", ORG),
        ("products.csv", PRODUCTS),
        ("customers.csv", CUSTOMERS),
        ("accounts.csv", ACCOUNTS),
        ("transactions.csv", TRANSACTIONS),
        ("balances.csv", BALANCES),
    ]:
        write(folder, name, text)
    return folder


@pytest.fixture
def loaded_bank(db, bank_files: Path) -> Path:
    from qiao.ingest.services import ingest_paths

    results = ingest_paths([bank_files])
    assert all(r.ok and r.rejected == 0 for r in results), [r.summary() for r in results]
    return bank_files


@pytest.fixture
def base(db, tmp_path: Path) -> Path:
    """The master data only (units, products, customers, accounts), loaded with no reject: the
    ground the hostile, edge-case, interrupted-load and assessment tests load onto."""
    from qiao.ingest.services import ingest_paths

    folder = tmp_path / "base"
    folder.mkdir()
    for name, text in [
        ("org_units.csv", ORG),
        ("products.csv", PRODUCTS),
        ("customers.csv", CUSTOMERS),
        ("accounts.csv", ACCOUNTS),
    ]:
        write(folder, name, text)
    results = ingest_paths([folder])
    assert all(r.ok and not r.rejected for r in results), [r.summary() for r in results]
    return folder
