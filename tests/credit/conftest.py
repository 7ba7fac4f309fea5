"""A small bank for the credit tests: the ingest tests' master data (two individuals and a
company), two more companies, and a group with a family link; plus the workbench's personas."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ingest.conftest import ACCOUNTS, CUSTOMERS, ORG, PRODUCTS, write

MORE_CUSTOMERS = """customer_no,customer_type,name,id_type,id_no,branch_code,open_date,industry
C0000002,C,九江德安水泥有限公司,USCC,91360426MA35F0QX1T,O0101,2014-03-15,制造业
C0000003,C,德安县物流有限公司,USCC,91360426MA35F0QX2X,O0102,2016-08-01,交通运输业
"""
LOAN_PRODUCTS = """product_code,name,category
LN01,流动资金贷款,LOAN
"""
GROUPS = """group_code,group_name,customer_no,member_role,link_type
G01,德安建材集团,C0000001,PARENT,EQUITY
G01,德安建材集团,C0000002,SUBSIDIARY,EQUITY
"""
RELATIONSHIPS = """customer_no,related_customer_no,relation
P0000001,P0000002,SPOUSE
P0000002,C0000003,LEGAL_REP
"""


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    from django.utils import translation

    monkeypatch.setenv("QIAO_LANGUAGE", "en")
    with translation.override("en"):
        yield


@pytest.fixture
def credit_base(db, tmp_path: Path) -> Path:
    from qiao.ingest.services import ingest_paths

    folder = tmp_path / "base"
    folder.mkdir()
    for name, text in [
        ("org_units.csv", ORG),
        ("products.csv", PRODUCTS),
        ("products_loans.csv", LOAN_PRODUCTS),
        ("customers.csv", CUSTOMERS),
        ("customers_more.csv", MORE_CUSTOMERS),
        ("accounts.csv", ACCOUNTS),
        ("groups.csv", GROUPS),
        ("relationships.csv", RELATIONSHIPS),
    ]:
        write(folder, name, text)
    results = ingest_paths([folder])
    assert all(r.ok and not r.rejected for r in results), [r.summary() for r in results]
    return folder
