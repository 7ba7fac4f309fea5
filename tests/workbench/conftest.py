"""A small bank for the workbench tests: two outlets, named personas, a few customers, a lake.

Personas (after healthchecks' Alice/Bob/Charlie and Zulip's hamlet/othello):

- ``cm_owner``     CM at outlet O1, primary manager of customer X (张三)
- ``cm_peer``      another CM at O1 (receives reassigned customers)
- ``cm_other``     CM at outlet O2, manager of customer Y (李四)
- ``outlet_head``  head of O1 (X's outlet): sees O1's customers, assigns them
- ``head_office``  analyst at head office: sees everybody, masked, cannot reveal
- ``auditor``      reads the audit trail
- ``lobby``        lobby manager at O1: sees no customer through the workbench
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.test import Client
from django.utils import timezone

from qiao.customers.models import Customer
from qiao.org.models import OrgUnit, Role, Staff
from qiao.products.models import Account, EBankingService, PayrollRelation, Product
from tests.factories import (  # noqa: F401  (tests import make_ric, make_customer, own from here)
    PASSWORD,
    make_account,
    make_customer,
    make_ric,
    make_staff,
    make_unit,
    own,
)

X_ID = "360426199101010071"
X_MOBILE = "13912345678"
Y_ID = "11010519491231002X"
Y_MOBILE = "13812345678"
Z_USCC = "91110000600037341L"

#: Personal data must never appear unmasked: a resident ID, an 11-digit mobile, a card number.
ID_RE = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
MOBILE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
CARD_RE = re.compile(r"(?<!\d)\d{16,19}(?!\d)")


def assert_no_plain_pii(text: str) -> None:
    assert not ID_RE.search(text), ID_RE.search(text)
    assert not MOBILE_RE.search(text), MOBILE_RE.search(text)
    assert not CARD_RE.search(text), CARD_RE.search(text)


@dataclass
class Bank:
    ho: OrgUnit
    o1: OrgUnit
    o2: OrgUnit
    staff: dict[str, Staff]
    x: Customer
    y: Customer
    z: Customer
    w: Customer
    small: Customer
    products: dict[str, Product]
    accounts: dict[str, Account]


def _staff(username: str, name: str, role: str, unit: OrgUnit) -> Staff:
    """:func:`tests.factories.make_staff` in the order the workbench's tests call it."""
    return make_staff(username, role, unit, name)


@pytest.fixture(autouse=True)
def _fast_hasher(settings) -> None:
    # Argon2 is the production hasher; tests create staff in every test, so hash cheaply here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def bank(db) -> Bank:
    ho = make_unit("HO", "HEAD_OFFICE", None, "总行")
    b01 = make_unit("B01", "BRANCH", ho, "城东分行")
    s01 = make_unit("S01", "SUB_BRANCH", b01, "解放路支行")
    o1 = make_unit("O1", "OUTLET", s01, "解放路网点")
    o2 = make_unit("O2", "OUTLET", s01, "人民路网点")
    staff = {
        "cm_owner": _staff("cm_owner", "王经理", Role.CM, o1),
        "cm_peer": _staff("cm_peer", "赵经理", Role.CM, o1),
        "cm_other": _staff("cm_other", "钱经理", Role.CM, o2),
        "outlet_head": _staff("outlet_head", "孙主任", Role.OUTLET_HEAD, o1),
        "head_office": _staff("head_office", "周分析", Role.ANALYST, ho),
        "auditor": _staff("auditor", "吴审计", Role.AUDITOR, ho),
        "lobby": _staff("lobby", "郑大堂", Role.LOBBY, o1),
    }
    products = {
        "DEM": Product.objects.create(code="DEM", name="活期储蓄", category="DEMAND"),
        "TD1Y": Product.objects.create(
            code="TD1Y", name="一年定期", category="TIME", term_days=365
        ),
        "FND1": Product.objects.create(
            code="FND1", name="稳健基金", category="FUND", risk_level="R3"
        ),
        "LOAN1": Product.objects.create(code="LOAN1", name="流动资金贷款", category="LOAN"),
    }
    x = make_customer(
        "P0000001",
        "张三",
        o1,
        id_no=X_ID,
        mobile=X_MOBILE,
        address="江西省九江市德安县蒲亭镇1号",
        email="zhangsan@example.com",
        occupation="教师",
        aum=Decimal("500000"),
        contribution=Decimal("3000"),
        tier="GOLD",
    )
    y = make_customer(
        "P0000002",
        "李四",
        o2,
        id_no=Y_ID,
        mobile=Y_MOBILE,
        aum=Decimal("200000"),
        contribution=Decimal("1000"),
        tier="ORDINARY",
    )
    z = make_customer(
        "C0000001",
        "九江德安建材有限公司",
        o1,
        customer_type="C",
        id_type="USCC",
        id_no=Z_USCC,
        aum=Decimal("80000"),
        tier="GOLD",
    )
    w = make_customer("P0000003", "王五", o1, aum=Decimal("150000"), tier="ORDINARY")
    small = make_customer("P0000004", "赵六", o1, aum=Decimal("5000"), tier="RESTRICTED")
    own(x, staff["cm_owner"])
    own(y, staff["cm_other"])
    accounts = {
        "x_dem": make_account(
            x,
            products["DEM"],
            "100000",
            account_no="6222000000000001",
            open_date=dt.date(2015, 6, 1),
        ),
        "x_td": make_account(
            x,
            products["TD1Y"],
            "400000",
            account_no="6222000000000011",
            open_date=dt.date(2025, 6, 1),
            maturity_date=dt.date(2026, 6, 1),
        ),
        "x_fund": make_account(
            x, products["FND1"], "0", account_no="6222000000000021", open_date=dt.date(2024, 1, 1)
        ),
        "y_dem": make_account(
            y,
            products["DEM"],
            "200000",
            account_no="6222000000000002",
            open_date=dt.date(2016, 1, 1),
        ),
        "z_loan": make_account(
            z,
            products["LOAN1"],
            "1000000",
            account_no="LN0000000001",
            open_date=dt.date(2024, 1, 1),
        ),
    }
    EBankingService.objects.create(
        customer=x,
        service="MOBILE",
        opened_date=dt.date(2020, 1, 1),
        activated_date=dt.date(2020, 1, 2),
    )
    EBankingService.objects.create(customer=w, service="ONLINE", opened_date=dt.date(2020, 1, 1))
    PayrollRelation.objects.create(
        customer=x,
        account=accounts["x_dem"],
        relation_type="PAYROLL",
        payer="德安县第一中学",
        start_date=dt.date(2018, 1, 1),
    )
    return Bank(ho, o1, o2, staff, x, y, z, w, small, products, accounts)


@pytest.fixture
def login(client: Client, bank: Bank) -> Callable[[str], Client]:
    """``login("cm_owner")`` → a client logged in as that persona (a fresh client each time)."""

    def _login(persona: str) -> Client:
        c = Client()
        c.force_login(bank.staff[persona])
        return c

    return _login


def write_lake(lake: Path, bank: Bank) -> None:
    """Balances and transactions of X (and Y) in the lake layout, with a superseding second load."""
    money = pa.decimal128(18, 2)
    bal = pa.table(
        {
            "account_no": [
                "6222000000000001",
                "6222000000000001",
                "6222000000000011",
                "6222000000000002",
            ],
            "customer_no": ["P0000001", "P0000001", "P0000001", "P0000002"],
            "balance_date": [
                dt.date(2026, 1, 1),
                dt.date(2026, 1, 16),
                dt.date(2026, 1, 1),
                dt.date(2026, 1, 1),
            ],
            "balance": pa.array(
                [Decimal("100000.00"), Decimal("200000.00"), Decimal("400000.00"), Decimal("5.00")],
                type=money,
            ),
            "load_id": pa.array([1, 1, 1, 1], type=pa.int64()),
        }
    )
    folder = lake / "balances" / "month=2026-01"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(bal, folder / "part-1.parquet")
    # A later load corrects the 16 January balance: the newer load wins.
    fix = pa.table(
        {
            "account_no": ["6222000000000001"],
            "customer_no": ["P0000001"],
            "balance_date": [dt.date(2026, 1, 16)],
            "balance": pa.array([Decimal("300000.00")], type=money),
            "load_id": pa.array([2], type=pa.int64()),
        }
    )
    pq.write_table(fix, folder / "part-2.parquet")
    utc = dt.UTC
    txn = pa.table(
        {
            "txn_id": ["T1", "T2", "T3"],
            "account_no": ["6222000000000001", "6222000000000001", "6222000000000002"],
            "customer_no": ["P0000001", "P0000001", "P0000002"],
            "txn_time": pa.array(
                [
                    dt.datetime(2026, 1, 5, 2, tzinfo=utc),
                    dt.datetime(2026, 1, 20, 3, tzinfo=utc),
                    dt.datetime(2026, 1, 21, 3, tzinfo=utc),
                ],
                type=pa.timestamp("us", tz="UTC"),
            ),
            "amount": pa.array([Decimal("100.50"), Decimal("20.00"), Decimal("7.00")], type=money),
            "direction": ["C", "D", "C"],
            "channel": ["COUNTER", "MOBILE", "ATM"],
            "txn_type": ["DEPOSIT", "PAYMENT", "DEPOSIT"],
            "product_code": [None, None, None],
            "gain": pa.array([None, None, None], type=money),
            "cash": ["Y", "N", "Y"],
            "load_id": pa.array([1, 1, 1], type=pa.int64()),
        }
    )
    folder = lake / "transactions" / "month=2026-01"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(txn, folder / "part-1.parquet")


@pytest.fixture
def lake(settings, bank: Bank) -> Path:
    write_lake(Path(settings.LAKE_DIR), bank)
    return Path(settings.LAKE_DIR)


@pytest.fixture
def now() -> dt.datetime:
    return timezone.now()


@pytest.fixture(autouse=True, scope="session")
def _static_root() -> None:
    # WhiteNoise warns when STATIC_ROOT is missing; the tests serve static files from the finders.
    from django.conf import settings as django_settings

    Path(django_settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
