"""The demo bank: every row obeys docs/data-interface.md, the statistics follow the seeds, and
the same seed gives the same bytes."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from stdnum.cn import ric, uscc

from qiao.demo import generate_bank

AS_OF = date(2026, 6, 30)
SMALL = {"customers": 3000, "months": 12, "seed": 7, "as_of": AS_OF}
BIG_AS_OF = date(2026, 11, 23)


def _spec(kind: str) -> dict:
    from qiao.ingest.kinds import KINDS

    return KINDS[kind].spec


# kind → (required columns, optional columns), as documented
COLUMNS = {
    "org_units": ({"unit_code", "name", "level"}, {"parent_code", "address"}),
    "staff": (
        {"staff_no", "name", "role", "unit_code"},
        {"grade", "mobile", "email", "hire_date", "leave_date"},
    ),
    "products": (
        {"product_code", "name", "category"},
        {
            "risk_level",
            "min_amount",
            "term_days",
            "issue_date",
            "maturity_date",
            "motives",
            "rate",
            "issuer_risk_level",
            "seller_risk_level",
            "issuer",
            "private",
            "currency",
            "sale_status",
        },
    ),
    "customers": (
        {"customer_no", "customer_type", "name", "id_type", "id_no", "branch_code", "open_date"},
        {
            "gender",
            "birth_date",
            "mobile",
            "email",
            "address",
            "postal_code",
            "occupation",
            "industry",
            "education",
            "landline",
            "school",
            "tax_record",
            "marital_status",
            "family_notes",
            "investment_pref",
            "product_pref",
            "marketing_pref",
            "hobbies",
            "annual_income",
            "legal_rep",
            "ownership_type",
            "size_class",
            "registered_capital",
            "main_business",
        },
    ),
    "groups": (
        {"group_code", "group_name", "customer_no", "member_role", "link_type"},
        {"equity_pct"},
    ),
    "relationships": ({"customer_no", "related_customer_no", "relation"}, {"note"}),
    "accounts": (
        {"account_no", "customer_no", "product_code", "open_date"},
        {"maturity_date", "close_date", "status", "currency", "balance", "branch_code"},
    ),
    "holdings": ({"account_no", "as_of_date", "units", "cost", "market_value"}, set()),
    "balances": ({"account_no", "balance_date", "balance"}, set()),
    "transactions": (
        {
            "txn_id",
            "account_no",
            "customer_no",
            "txn_time",
            "amount",
            "direction",
            "channel",
            "txn_type",
        },
        {"product_code", "gain", "cash", "pay_method"},
    ),
    "ebanking": (
        {"customer_no", "service", "opened_date"},
        {"activated_date", "source", "recommended_by", "closed_date"},
    ),
    "payroll": (
        {"customer_no", "account_no", "relation_type", "payer", "start_date"},
        {"end_date"},
    ),
    "ownership": ({"customer_no", "staff_no", "role", "start_date"}, {"end_date"}),
    "assessments": (
        {"customer_no", "assessed_on", "tolerance"},
        {
            "score",
            "valid_until",
            "questionnaire_version",
            "signed",
            "qualified_investor",
            "qualified_evidence",
        },
    ),
    # Marketing consent and contact preferences (issue 15): every column of each kind.
    **{
        kind: (
            {c for c, (required, _cleaner) in _spec(kind).items() if required},
            {c for c, (required, _cleaner) in _spec(kind).items() if not required},
        )
        for kind in ("consents", "contact_preferences")
    },
    # The credit book (issue 16): every column of each kind, required or optional.
    **{
        kind: (
            {c for c, (required, _cleaner) in _spec(kind).items() if required},
            {c for c, (required, _cleaner) in _spec(kind).items() if not required},
        )
        for kind in ("facilities", "loans", "guarantees", "risk_signals", "list_entries")
    },
    # Performance targets (issue 17; docs/reports.md, "Targets"): every column is required.
    "targets": ({"subject_type", "subject_code", "period", "measure", "value"}, set()),
}


def _enum_columns() -> dict[tuple[str, str], set[str]]:
    """The enum columns of every kind, from the ingest's own column specs (one source of truth)."""
    from qiao.core import validators
    from qiao.ingest.kinds import KINDS

    enums = {
        (kind.name, col): set(cleaner.keywords["choices"])
        for kind in KINDS.values()
        # The message platform's report is written by the demo's campaign after its send
        # (qiao/demo/campaign.py), not by the bank's generator.
        if kind.name != "message_results"
        for col, (_required, cleaner) in kind.spec.items()
        if isinstance(cleaner, functools.partial) and cleaner.func is validators.clean_enum
    }
    # The demo bank keeps every account in yuan, a stricter rule than the interface's.
    enums[("accounts", "currency")] = {"CNY"}
    return enums


ENUMS = _enum_columns()
DATE_COLUMNS = {
    "staff": ["hire_date", "leave_date"],
    "products": ["issue_date", "maturity_date"],
    "customers": ["birth_date", "open_date"],
    "accounts": ["open_date", "close_date"],
    "holdings": ["as_of_date"],
    "ebanking": ["opened_date", "activated_date", "closed_date"],
    "payroll": ["start_date", "end_date"],
    "ownership": ["start_date", "end_date"],
    "consents": ["on"],
}
AMOUNT_COLUMNS = {  # column → must be > 0
    ("products", "min_amount"): False,
    ("customers", "annual_income"): False,
    ("customers", "registered_capital"): False,
    ("accounts", "balance"): False,
    ("holdings", "cost"): False,
    ("holdings", "market_value"): False,
}
CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")
AMOUNT = re.compile(r"^\d{1,16}(\.\d{1,2})?$")
MOBILE = re.compile(r"^1[3-9]\d{9}$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
ASSET = {"DEMAND", "TIME", "WEALTH", "FUND", "BOND", "INSURANCE", "PRECIOUS_METAL"}
E_CHANNEL_SERVICE = {
    "ONLINE": ["ONLINE"],
    "MOBILE": ["MOBILE"],
    "PHONE": ["PHONE"],
    "WECHAT": ["WECHAT"],
    "CORP_ONLINE": ["CORP_ONLINE_PRO"],
    "BANK_LINK": ["BANK_LINK"],
}


class Bank:
    """The generated files, read the way a strict loader would: everything as text."""

    def __init__(self, folder: Path, summary: dict, as_of: date) -> None:
        self.folder, self.summary, self.as_of = folder, summary, as_of
        self.csv: dict[str, pd.DataFrame] = {}
        for kind, name in summary["files"].items():
            if name.endswith(".csv"):
                self.csv[kind] = pd.read_csv(
                    folder / name, dtype=str, keep_default_na=False, encoding="utf-8"
                )
        self.bal = pq.read_table(folder / summary["files"]["balances"])
        self.txn = pq.read_table(folder / summary["files"]["transactions"])

    def __getitem__(self, kind: str) -> pd.DataFrame:
        return self.csv[kind]

    @cache  # noqa: B019 - one Bank per module fixture
    def txn_df(self) -> pd.DataFrame:
        df = self.txn.to_pandas()
        df["amount_f"] = df.amount.astype(float)
        df["day"] = df.txn_time.dt.tz_convert("Asia/Shanghai").dt.date
        return df

    @cache  # noqa: B019
    def bal_df(self) -> pd.DataFrame:
        df = self.bal.to_pandas()
        df["balance_f"] = df.balance.astype(float)
        return df

    @cache  # noqa: B019
    def accounts(self) -> pd.DataFrame:
        acc = self["accounts"].copy()
        cat = dict(zip(self["products"].product_code, self["products"].category))
        acc["cat"] = acc.product_code.map(cat)
        acc["bal"] = pd.to_numeric(acc.balance.replace("", "0"))
        return acc

    @cache  # noqa: B019
    def aum(self) -> pd.Series:
        acc = self.accounts()
        asset = acc[acc.cat.isin(ASSET)]
        return (
            asset.groupby("customer_no")
            .bal.sum()
            .reindex(self["customers"].customer_no)
            .fillna(0.0)
        )


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Bank:
    folder = tmp_path_factory.mktemp("small-bank")
    summary = generate_bank(folder, **SMALL)
    return Bank(folder, summary, AS_OF)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Bank:
    folder = tmp_path_factory.mktemp("big-bank")
    summary = generate_bank(folder, customers=20000, months=24, seed=0, as_of=BIG_AS_OF)
    return Bank(folder, summary, BIG_AS_OF)


# ---------------------------------------------------------------------------------------------
# Files and rules


def test_one_file_per_kind_with_documented_columns(small: Bank) -> None:
    files = sorted(p.name for p in small.folder.iterdir())
    assert files == sorted(small.summary["files"].values())
    assert set(small.summary["files"]) == set(COLUMNS)
    for kind, (required, optional) in COLUMNS.items():
        name = small.summary["files"][kind]
        assert name.startswith(kind)
        header = (
            small.csv[kind].columns.tolist()
            if name.endswith(".csv")
            else pq.read_schema(small.folder / name).names
        )
        assert len(header) == len(set(header)), kind
        assert required <= set(header), (kind, required - set(header))
        assert set(header) <= required | optional, (kind, set(header) - required - optional)


def test_summary_counts_rows(small: Bank) -> None:
    for kind in COLUMNS:
        n = (
            small.bal.num_rows
            if kind == "balances"
            else small.txn.num_rows
            if kind == "transactions"
            else len(small.csv[kind])
        )
        assert small.summary[kind] == n, kind
        assert n > 0, kind
    assert small.summary["customers"] == SMALL["customers"]
    assert small.summary["as_of"] == AS_OF.isoformat()


def test_csv_is_plain_utf8_without_bom(small: Bank) -> None:
    raw = (small.folder / "customers.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8")
    assert text.splitlines()[0].startswith("customer_no,customer_type,name,")
    assert "\r" not in text


def test_codes_and_enums(small: Bank) -> None:
    code_cols = {
        "org_units": ["unit_code"],
        "staff": ["staff_no", "unit_code"],
        "products": ["product_code"],
        "customers": ["customer_no", "branch_code"],
        "groups": ["group_code", "customer_no"],
        "relationships": ["customer_no", "related_customer_no"],
        "accounts": ["account_no", "customer_no", "product_code", "branch_code"],
        "holdings": ["account_no"],
        "ebanking": ["customer_no", "recommended_by"],
        "payroll": ["customer_no", "account_no"],
        "ownership": ["customer_no", "staff_no"],
    }
    for kind, cols in code_cols.items():
        for col in cols:
            values = small[kind][col]
            values = values[values != ""]
            assert values.str.fullmatch(CODE).all(), (kind, col)
    for (kind, col), allowed in ENUMS.items():
        if kind == "transactions":
            values = set(small.txn.column(col).drop_null().to_pylist())
        else:
            values = set(small[kind][col]) - {""}
        assert values, (kind, col)
        assert values <= allowed, (kind, col, values - allowed)
    motives = {m for v in small["products"].motives for m in v.split("|") if m}
    assert motives == {"ACCUMULATE", "APPRECIATE", "LOAN"}


def test_natural_keys_unique(small: Bank) -> None:
    keys = {
        "org_units": ["unit_code"],
        "staff": ["staff_no"],
        "products": ["product_code"],
        "customers": ["customer_no"],
        "groups": ["group_code", "customer_no"],
        "relationships": ["customer_no", "related_customer_no", "relation"],
        "accounts": ["account_no"],
        "holdings": ["account_no", "as_of_date"],
        "ebanking": ["customer_no", "service"],
        "payroll": ["account_no", "relation_type", "payer"],
    }
    for kind, cols in keys.items():
        assert not small[kind].duplicated(cols).any(), kind
    assert len(set(small.txn.column("txn_id").to_pylist())) == small.txn.num_rows
    bal = small.bal_df()
    assert not bal.duplicated(["account_no", "balance_date"]).any()
    assert small["customers"].id_no.is_unique


@cache
def _mobile_ok(prefix7: str) -> bool:
    parsed = phonenumbers.parse(prefix7 + "1234", "CN")
    return phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def test_identity_numbers_and_contacts(small: Bank) -> None:
    cu = small["customers"]
    p, c = cu[cu.customer_type == "P"], cu[cu.customer_type == "C"]
    assert set(p.id_type) <= {"RIC", "PASSPORT"} and set(c.id_type) == {"USCC"}
    rics = p[p.id_type == "RIC"]
    assert len(rics) > 0.95 * len(p)
    assert all(ric.is_valid(x) for x in rics.id_no)
    assert all(uscc.is_valid(x) for x in c.id_no)
    others = p[p.id_type != "RIC"].id_no
    assert others.str.fullmatch(r"[A-Za-z0-9]{3,40}").all()
    # the gender digit and birth date of a resident ID agree with the columns
    assert (
        rics.birth_date
        == rics.id_no.str[6:10] + "-" + rics.id_no.str[10:12] + "-" + rics.id_no.str[12:14]
    ).all()
    odd = rics.id_no.str[16].astype(int) % 2 == 1
    assert (rics.gender == np.where(odd, "M", "F")).all()
    assert (c.gender == "").all() and (c.birth_date == "").all()
    for frame, col in ((cu, "mobile"), (small["staff"], "mobile")):
        mobiles = frame[col][frame[col] != ""]
        assert mobiles.str.fullmatch(MOBILE).all()
        assert all(_mobile_ok(m[:7]) for m in mobiles)
    assert 0.05 < (cu.mobile == "").mean() < 0.4  # some blank, most given
    emails = cu.email[cu.email != ""]
    assert emails.str.fullmatch(EMAIL).all()
    assert 0.2 < len(emails) / len(cu) < 0.45
    assert cu.postal_code[cu.postal_code != ""].str.fullmatch(r"\d{6}").all()
    assert cu.landline[cu.landline != ""].str.fullmatch(r"[0-9][0-9\- ]{5,19}").all()
    assert cu.name.str.len().max() <= 200 and (cu.name != "").all()
    assert cu.address.str.len().max() <= 300
    assert c.name.str.endswith("公司").all() and c.name.is_unique


def test_dates_are_real_and_not_after_as_of(small: Bank) -> None:
    for kind, cols in DATE_COLUMNS.items():
        for col in cols:
            values = small[kind][col]
            values = values[values != ""]
            assert values.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all(), (kind, col)
            days = values.map(date.fromisoformat)
            if (kind, col) not in {("products", "maturity_date"), ("accounts", "maturity_date")}:
                assert (days <= AS_OF).all(), (kind, col)
            assert (days >= date(1900, 1, 1)).all()
    mat = small["accounts"].maturity_date
    assert mat[mat != ""].map(date.fromisoformat).min() > date(2000, 1, 1)
    bal_days = small.bal.column("balance_date").to_pylist()
    assert max(bal_days) <= AS_OF
    times = small.txn.column("txn_time")
    assert times.type == pa.timestamp("us", tz="Asia/Shanghai")
    end_of_day = datetime(
        AS_OF.year, AS_OF.month, AS_OF.day, 23, 59, 59, tzinfo=ZoneInfo("Asia/Shanghai")
    )
    assert max(times.to_pylist()) <= end_of_day


def test_date_orders(small: Bank) -> None:
    acc = small["accounts"]
    for col in ("maturity_date", "close_date"):
        has = acc[acc[col] != ""]
        assert (has[col] >= has.open_date).all(), col
    assert ((acc.status == "CLOSED") == (acc.close_date != "")).all()
    cu = small["customers"].set_index("customer_no")
    assert (acc.open_date >= cu.open_date.reindex(acc.customer_no).values).all()
    eb = small["ebanking"]
    act = eb[eb.activated_date != ""]
    assert (act.activated_date >= act.opened_date).all()
    pr = small["products"]
    both = pr[(pr.issue_date != "") & (pr.maturity_date != "")]
    assert (both.maturity_date >= both.issue_date).all() and len(both) >= 2
    for kind in ("payroll", "ownership"):
        ended = small[kind][small[kind].end_date != ""]
        assert (ended.end_date >= ended.start_date).all(), kind
    p = cu[cu.customer_type == "P"]
    assert (p.open_date > p.birth_date).all()


def test_references_resolve(small: Bank) -> None:
    units = small["org_units"].set_index("unit_code")
    level_rank = {"HEAD_OFFICE": 0, "BRANCH": 1, "SUB_BRANCH": 2, "OUTLET": 3}
    for code, row in units.iterrows():
        if row.level == "HEAD_OFFICE":
            assert row.parent_code == ""
        else:
            parent = units.loc[row.parent_code]
            assert level_rank[parent.level] == level_rank[row.level] - 1, code
    staff = set(small["staff"].staff_no)
    customers = set(small["customers"].customer_no)
    products = set(small["products"].product_code)
    outlets = set(units.index[units.level == "OUTLET"])
    assert set(small["staff"].unit_code) <= set(units.index)
    assert set(small["customers"].branch_code) <= outlets
    acc = small["accounts"]
    assert set(acc.customer_no) <= customers and set(acc.product_code) <= products
    assert set(acc.branch_code) <= outlets
    accounts = set(acc.account_no)
    assert set(small["holdings"].account_no) <= accounts
    assert set(small.bal.column("account_no").to_pylist()) <= accounts
    for kind in ("groups", "relationships", "ebanking", "payroll", "ownership"):
        assert set(small[kind].customer_no) <= customers, kind
    rel = small["relationships"]
    assert set(rel.related_customer_no) <= customers
    assert (rel.customer_no != rel.related_customer_no).all()
    owner_of = dict(zip(acc.account_no, acc.customer_no))
    pay = small["payroll"]
    assert (pay.account_no.map(owner_of) == pay.customer_no).all()
    roles = dict(zip(small["staff"].staff_no, small["staff"].role))
    own = small["ownership"]
    assert set(own.staff_no) <= staff
    assert {roles[s] for s in own.staff_no} <= {"CM", "SENIOR_CM", "TEAM_LEAD", "OUTLET_HEAD"}
    eb = small["ebanking"]
    rec = eb[eb.source == "RECOMMENDED"]
    assert (rec.recommended_by != "").all() and set(rec.recommended_by) <= staff
    assert (eb[eb.source == "SELF"].recommended_by == "").all()


def test_amounts_exact_and_signed_right(small: Bank) -> None:
    for (kind, col), positive in AMOUNT_COLUMNS.items():
        values = small[kind][col]
        values = values[values != ""]
        assert len(values), (kind, col)
        assert values.str.fullmatch(AMOUNT).all(), (kind, col)
        if positive:
            assert (values.astype(float) > 0).all()
    units = small["holdings"].units
    assert units.str.fullmatch(r"\d+(\.\d{1,4})?").all()
    rates = small["products"].rate
    assert rates[rates != ""].str.fullmatch(r"\d+(\.\d{1,4})?").all()
    pct = small["groups"].equity_pct
    assert pct[pct != ""].astype(float).between(0, 100).all()
    for table, cols in ((small.txn, ("amount", "gain")), (small.bal, ("balance",))):
        for col in cols:
            assert table.schema.field(col).type == pa.decimal128(18, 2)
    tx = small.txn_df()
    assert (tx.amount_f > 0).all()
    assert (small.bal_df().balance_f >= 0).all()


def test_transactions_follow_accounts_and_channels(small: Bank) -> None:
    tx = small.txn_df()
    acc = small["accounts"].set_index("account_no")
    # the customer owns the account, and the account was open on the day
    assert (acc.customer_no.reindex(tx.account_no).values == tx.customer_no.values).all()
    open_d = acc.open_date.reindex(tx.account_no).map(date.fromisoformat).values
    close = acc.close_date.reindex(tx.account_no).values
    assert (tx.day.values >= open_d).all()
    closed = close != ""
    close_d = np.array([date.fromisoformat(c) if c else AS_OF for c in close])
    assert (tx.day.values[closed] <= close_d[closed]).all()
    assert tx.day.min() >= date(2025, 7, 1)  # 12 months ending June 2026
    # purchases and redemptions name the product; gains only on redemptions
    trade = tx.txn_type.isin(["PURCHASE", "REDEMPTION"])
    assert tx.product_code[trade].notna().all() and tx.product_code[~trade].isna().all()
    assert tx.gain[tx.txn_type != "REDEMPTION"].isna().all()
    assert tx.cash.notna().sum() > 0
    assert tx[tx.cash.notna()].txn_type.isin(["DEPOSIT", "WITHDRAWAL"]).all()
    direction = {
        "DEPOSIT": "C",
        "WITHDRAWAL": "D",
        "SALARY": "C",
        "INTEREST": "C",
        "FEE": "D",
        "PAYMENT": "D",
        "BILL_PAY": "D",
        "TOPUP": "D",
        "PURCHASE": "C",
        "REDEMPTION": "D",
    }
    known = tx.txn_type.isin(list(direction))
    assert (tx.direction[known] == tx.txn_type[known].map(direction)).all()
    # electronic channels only for customers with that e-banking service active on the day
    eb = small["ebanking"]
    eb = eb[eb.activated_date != ""]
    corp = set(small["customers"].customer_no[small["customers"].customer_type == "C"])
    for channel, services in E_CHANNEL_SERVICE.items():
        sub = tx[tx.channel == channel]
        rows = eb[eb.service.isin(services)]
        start = dict(zip(rows.customer_no, rows.activated_date.map(date.fromisoformat)))
        end = dict(zip(rows.customer_no, rows.closed_date))
        assert sub.customer_no.isin(list(start)).all(), channel
        assert (sub.day.values >= sub.customer_no.map(start).values).all(), channel
        ends = sub.customer_no.map(end)
        ended = ends != ""
        assert (sub.day[ended].values < ends[ended].map(date.fromisoformat).values).all()
        if channel in ("CORP_ONLINE", "BANK_LINK"):
            assert sub.customer_no.isin(corp).all()
        else:
            assert not sub.customer_no.isin(corp).any()


def test_balances_follow_account_lifecycle(small: Bank) -> None:
    bal = small.bal_df()
    acc = small["accounts"].set_index("account_no")
    days = bal.balance_date
    assert (
        days.values >= acc.open_date.reindex(bal.account_no).map(date.fromisoformat).values
    ).all()
    last = bal.sort_values(["account_no", "balance_date"]).groupby("account_no").last()
    stated = acc.balance.reindex(last.index).astype(float)
    assert np.allclose(stated.values, last.balance_f.values)
    closed = acc[(acc.status == "CLOSED") & (acc.balance != "")]
    assert (closed.balance.astype(float) == 0).all()
    assert len(closed) > 0
    # every open asset account has a balance row; cards and services have none
    cat = dict(zip(small["products"].product_code, small["products"].category))
    acc_cat = acc.product_code.map(cat)
    live_assets = acc.index[acc_cat.isin(ASSET) & (acc.status != "CLOSED")]
    assert set(live_assets) <= set(last.index)
    assert not set(acc.index[acc_cat.isin(["CARD", "SETTLEMENT"])]) & set(last.index)
    assert (acc.balance[acc_cat.isin(["CARD", "SETTLEMENT"])] == "").all()
    # holdings: market value is the as_of balance
    hold = small["holdings"].set_index("account_no")
    assert (hold.as_of_date == AS_OF.isoformat()).all()
    assert np.allclose(
        hold.market_value.astype(float), acc.balance.reindex(hold.index).astype(float)
    )


def test_organisation_staff_and_logins(small: Bank) -> None:
    units = small["org_units"]
    assert list(units.level.value_counts().sort_index().items()) == [
        ("BRANCH", 1),
        ("HEAD_OFFICE", 1),
        ("OUTLET", 6),
        ("SUB_BRANCH", 2),
    ]
    assert units.name.str.contains("支行").sum() == 2 and units.name.str.endswith("网点").sum() == 6
    st = small["staff"]
    for unit, rows in st[st.unit_code.str.startswith("O")].groupby("unit_code"):
        roles = rows.role.value_counts()
        assert roles["OUTLET_HEAD"] == roles["TEAM_LEAD"] == roles["LOBBY"] == 1, unit
        assert roles["SENIOR_CM"] == 1 and 4 <= roles["SENIOR_CM"] + roles["CM"] <= 6, unit
    ho = st[st.unit_code == "HO"].role.tolist()
    assert sorted(ho) == sorted(
        ["ADMIN", "ANALYST", "AUDITOR", "MARKETING", "MARKETING", "PRODUCT_MANAGER", "RISK_MANAGER"]
    )
    left = st[st.leave_date != ""]
    assert len(left) == 1 and left.role.iloc[0] == "CM"
    # the departed CM still owns customers: the reassignment queue is not empty
    own = small["ownership"]
    assert ((own.staff_no == left.staff_no.iloc[0]) & (own.end_date == "")).sum() > 0
    logins = small.summary["logins"]
    assert [x["username"] for x in logins] == st.staff_no.tolist()
    assert all(x["username"].isascii() and x["username"].isalnum() for x in logins)
    assert {"admin", "analyst", "auditor", "head01", "lobby01", "cm0101"} <= {
        x["username"] for x in logins
    }
    for x in logins:
        assert len(x["password"]) >= 12 and x["password"].isalnum()
        assert any(ch.isdigit() for ch in x["password"])
    assert len({x["password"] for x in logins}) == len(logins)
    branch = dict(zip(st.staff_no, st.unit_code))
    role = dict(zip(st.staff_no, st.role))
    assert all(
        x["branch"] == branch[x["username"]] and x["role"] == role[x["username"]] for x in logins
    )


def test_ebanking_rules(small: Bank) -> None:
    eb = small["ebanking"]
    kinds = dict(zip(small["customers"].customer_no, small["customers"].customer_type))
    corp_service = eb.service.str.startswith("CORP_") | (eb.service == "BANK_LINK")
    assert (eb.customer_no[corp_service].map(kinds) == "C").all()
    assert (eb.customer_no[~corp_service].map(kinds) == "P").all()
    assert (eb.activated_date == "").sum() > 0  # signed up, never used


def test_same_seed_same_bytes_other_seed_other_bank(tmp_path: Path) -> None:
    args = {"customers": 1200, "months": 6, "as_of": date(2026, 2, 28)}
    a = generate_bank(tmp_path / "a", seed=3, **args)
    # the second run is another process with another string-hash seed: no set-order randomness
    code = (
        "import json, sys; from datetime import date; from pathlib import Path;"
        "from qiao.demo import generate_bank;"
        "s = generate_bank(Path(sys.argv[1]), seed=3, customers=1200, months=6,"
        " as_of=date(2026, 2, 28)); print(json.dumps(s))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "b")],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    b = json.loads(out.stdout)
    c = generate_bank(tmp_path / "c", seed=4, **args)
    assert a == b
    for name in a["files"].values():
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "customers.csv").read_bytes() != (
        tmp_path / "c" / "customers.csv"
    ).read_bytes()
    assert a["logins"] != c["logins"]


def test_as_of_defaults_to_yesterday_in_shanghai(tmp_path: Path) -> None:
    summary = generate_bank(tmp_path, customers=60, months=2)
    yesterday = datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)
    # tolerate a run that straddles midnight
    assert summary["as_of"] in {yesterday.isoformat(), (yesterday - timedelta(days=1)).isoformat()}
    days = pq.read_table(tmp_path / "balances.parquet").column("balance_date").to_pylist()
    assert max(days) <= yesterday


def test_tiny_bank_still_valid(tmp_path: Path) -> None:
    summary = generate_bank(tmp_path, customers=5, months=1, seed=1, as_of=AS_OF)
    cu = pd.read_csv(tmp_path / "customers.csv", dtype=str, keep_default_na=False)
    assert len(cu) == 5 and summary["transactions"] >= 0
    acc = pd.read_csv(tmp_path / "accounts.csv", dtype=str, keep_default_na=False)
    assert set(acc.customer_no) == set(cu.customer_no)  # everyone has a demand account


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="customers"):
        generate_bank(tmp_path, customers=0, as_of=AS_OF)
    with pytest.raises(ValueError, match="months"):
        generate_bank(tmp_path, months=0, as_of=AS_OF)


# ---------------------------------------------------------------------------------------------
# Statistics at 20,000 customers (seeds 002 and 004)


def _ages(bank: Bank) -> pd.DataFrame:
    cu = bank["customers"]
    p = cu[cu.customer_type == "P"].copy()
    b = pd.to_datetime(p.birth_date)
    a = bank.as_of
    before = (b.dt.month > a.month) | ((b.dt.month == a.month) & (b.dt.day > a.day))
    p["age"] = a.year - b.dt.year - before.astype(int)
    p["band"] = np.select([p.age < 18, p.age < 40, p.age <= 60], ["<18", "18-40", "40-60"], "other")
    p.loc[p.band == "<18", "band"] = "other"
    p["aum"] = bank.aum().reindex(p.customer_no).values
    return p


def test_age_bands_count_and_asset_shares(big: Bank) -> None:
    p = _ages(big)
    count = p.band.value_counts(normalize=True)
    assets = p.groupby("band").aum.sum() / p.aum.sum()
    assert count["40-60"] == pytest.approx(0.4146, abs=0.015)
    assert count["18-40"] == pytest.approx(0.1992, abs=0.015)
    assert count["other"] == pytest.approx(0.3862, abs=0.015)
    assert assets["40-60"] == pytest.approx(0.4323, abs=0.02)
    assert assets["18-40"] == pytest.approx(0.065, abs=0.015)
    assert assets["other"] == pytest.approx(0.5027, abs=0.02)


def test_wealth_is_heavy_tailed(big: Bank) -> None:
    aum = big.aum().to_numpy()
    assert 0.02 <= (aum >= 300_000).mean() <= 0.06
    top = np.sort(aum)[::-1][: len(aum) // 5].sum() / aum.sum()
    assert top > 0.6
    kinds = big["customers"].customer_type
    assert (kinds == "C").mean() == pytest.approx(0.05, abs=0.005)
    assert 0.015 <= (aum[kinds.to_numpy() == "P"] >= 300_000).mean() <= 0.06


def test_ebanking_penetration_and_mix(big: Bank) -> None:
    eb = big["ebanking"]
    n = len(big["customers"])
    act = eb[eb.activated_date != ""]
    assert 0.08 <= act.customer_no.nunique() / n <= 0.10
    ind = act[act.customer_no.str.startswith("P")]
    per = ind.groupby("customer_no").service.agg(set)
    assert per.map(lambda s: "ONLINE" in s).mean() == pytest.approx(0.69, abs=0.05)
    assert per.map(lambda s: "MOBILE" in s).mean() == pytest.approx(0.34, abs=0.05)
    assert per.map(len).gt(1).mean() == pytest.approx(0.30, abs=0.05)
    assert (eb.source == "SELF").mean() == pytest.approx(0.75, abs=0.05)
    assert eb[eb.activated_date == ""].customer_no.nunique() > 0.01 * n
    corp = big["customers"][big["customers"].customer_type == "C"]
    corp_online = act[act.service.isin(["CORP_ONLINE_QUERY", "CORP_ONLINE_PRO"])]
    assert corp_online.customer_no.nunique() / len(corp) == pytest.approx(0.08, abs=0.02)
    versions = corp_online.service.value_counts()
    assert versions["CORP_ONLINE_PRO"] > versions["CORP_ONLINE_QUERY"] > 0
    assert 1 <= (act.service == "BANK_LINK").sum() <= 10


def test_payroll_relations(big: Bank) -> None:
    pay = big["payroll"]
    cu = big["customers"]
    n_ind = (cu.customer_type == "P").sum()
    current = pay[pay.end_date == ""]
    assert current.account_no.nunique() / n_ind == pytest.approx(0.43, abs=0.03)
    kinds = pay.relation_type.value_counts()
    assert kinds.idxmax() == "PAYROLL" and kinds["SOCIAL_SECURITY"] > 0 and kinds["FISCAL"] > 0
    eb = big["ebanking"]
    online = set(eb[(eb.service == "ONLINE") & (eb.activated_date != "")].customer_no)
    payroll_customers = set(current.customer_no)
    share = len(payroll_customers & online) / len(payroll_customers)
    assert share == pytest.approx(0.06, abs=0.02)
    tx = big.txn_df()
    salaried = set(tx[tx.txn_type == "SALARY"].customer_no)
    assert salaried <= set(pay.customer_no) and len(salaried) > 0.5 * len(payroll_customers)


def test_ownership_coverage(big: Bank) -> None:
    own = big["ownership"]
    primary = own[(own.role == "PRIMARY") & (own.end_date == "")]
    assert not primary.customer_no.duplicated().any()
    aum = big.aum()
    high = aum.index[aum >= 100_000]
    owned_high = pd.Index(high).isin(primary.customer_no)
    assert 0.97 <= owned_high.mean() < 1.0  # a few left for the "must have an owner" report
    low = aum.index[aum < 100_000]
    assert pd.Index(low).isin(primary.customer_no).mean() < 0.1
    acc = big.accounts()
    corp_loans = acc[
        (acc.cat == "LOAN") & (acc.status != "CLOSED") & acc.customer_no.str.startswith("C")
    ].customer_no.unique()
    assert pd.Index(corp_loans).isin(primary.customer_no).all()
    n_corp = big["customers"].customer_type.eq("C").sum()
    assert 0.22 <= len(corp_loans) / n_corp <= 0.38
    assert (own.role == "SECONDARY").sum() > 0 and (own.end_date != "").sum() > 0


def test_products_and_accounts_mix(big: Bank) -> None:
    pr = big["products"]
    assert 25 <= len(pr) <= 40
    risky = pr.category.isin(["WEALTH", "FUND", "BOND", "INSURANCE", "PRECIOUS_METAL"])
    assert (pr.risk_level[risky] != "").all()
    motives = dict(zip(pr.category, pr.motives))
    assert "ACCUMULATE" in motives["TIME"] and "APPRECIATE" in motives["FUND"]
    assert "LOAN" in motives["LOAN"] and "LOAN" in motives["SETTLEMENT"]
    acc = big.accounts()
    status = acc.status.value_counts()
    assert status["DORMANT"] > 0 and status["CLOSED"] > 0
    mat = pd.to_datetime(acc.maturity_date.replace("", None))
    live = acc.status != "CLOSED"
    asof = pd.Timestamp(big.as_of)
    week = live & (mat > asof) & (mat <= asof + pd.Timedelta(days=7))
    quarter = live & (mat > asof) & (mat <= asof + pd.Timedelta(days=90))
    assert week.sum() >= 20 and quarter.sum() > 5 * week.sum()
    assert acc[week].cat.isin(["TIME", "WEALTH"]).any()
    demand = acc[acc.cat == "DEMAND"].customer_no
    assert demand.is_unique and len(demand) == len(big["customers"])


def test_transactions_volume_and_behaviour(big: Bank) -> None:
    tx = big.txn_df()
    n = len(big["customers"])
    per = tx.customer_no.value_counts().reindex(big["customers"].customer_no).fillna(0)
    assert 40 <= len(tx) / n <= 80
    assert per.quantile(0.99) > 3 * per.median()  # heavy-tailed
    red = tx[tx.txn_type == "REDEMPTION"].gain.astype(float)
    assert (red > 0).sum() > 0 and (red < 0).sum() > 0
    trades = tx[tx.txn_type.isin(["PURCHASE", "REDEMPTION"])].customer_no.value_counts()
    assert trades.max() >= 30 and trades.median() <= 4  # a few trade a lot, most rarely
    big_moves = tx[
        (tx.amount_f >= 50_000)
        & tx.customer_no.str.startswith("P")
        & tx.txn_type.isin(["DEPOSIT", "WITHDRAWAL", "TRANSFER"])
    ]
    assert big_moves.direction.nunique() == 2 and len(big_moves) >= 100
    assert ((tx.amount_f >= 50_000) & (tx.cash == "Y")).sum() > 0
    channels = tx.channel.value_counts(normalize=True)
    assert {
        "COUNTER",
        "ATM",
        "POS",
        "ONLINE",
        "MOBILE",
        "PHONE",
        "WECHAT",
        "CORP_ONLINE",
        "BANK_LINK",
    } <= set(channels.index)
    assert channels["COUNTER"] + channels["ATM"] + channels["POS"] > 0.8


def _month_end_aum(bank: Bank) -> pd.DataFrame:
    acc = bank.accounts()
    bal = bank.bal_df()
    assets = acc[acc.cat.isin(ASSET)]
    bal = bal[bal.account_no.isin(assets.account_no)].copy()
    bal["month"] = pd.PeriodIndex(pd.to_datetime(bal.balance_date), freq="M")
    last = bal.sort_values("balance_date").groupby(["account_no", "month"]).balance_f.last()
    wide = last.unstack("month").sort_index(axis=1).ffill(axis=1).fillna(0.0)
    owner = dict(zip(acc.account_no, acc.customer_no))
    return wide.groupby(wide.index.map(owner)).sum()


def test_sharp_declines_spread_over_history(big: Bank) -> None:
    aum = _month_end_aum(big).to_numpy()
    dropped_in = np.zeros(aum.shape, dtype=bool)
    for lag in (1, 2, 3):
        before, after = aum[:, :-lag], aum[:, lag:]
        dropped_in[:, lag:] |= (before >= 1_000) & (after <= 0.5 * before)
    decliners = dropped_in.any(axis=1)
    n = len(big["customers"])
    assert 0.025 <= decliners.sum() / n <= 0.06
    months_with_positives = dropped_in.any(axis=0).sum()
    assert months_with_positives >= aum.shape[1] - 3
    # some customers closed everything
    acc = big.accounts()
    open_any = acc[acc.status != "CLOSED"].customer_no.unique()
    assert len(big["customers"]) - len(open_any) > 0.003 * n


def test_csv_quotes_only_when_a_value_needs_it(tmp_path: Path) -> None:
    from qiao.demo.generate import write_csv

    plain = tmp_path / "plain.csv"
    write_csv(pa.table({"a": ["x", "中文"], "b": [1, None]}), plain)
    assert plain.read_text(encoding="utf-8") == "a,b\nx,1\n中文,\n"
    quoted = tmp_path / "quoted.csv"
    write_csv(pa.table({"a": ["x,y", 'say "hi"'], "b": [1, 2]}), quoted)
    back = pd.read_csv(quoted, dtype=str)
    assert back.a.tolist() == ["x,y", 'say "hi"']


def test_consents_and_contact_preferences_follow_the_shares(big: Bank) -> None:
    """docs/privacy.md, "Consent": SMS ~75 % of individuals, phone ~60 %, WeChat ~45 %, e-mail
    ~30 % of those with an address, post ~20 %; ~5 % withdrawn; ~3 % traditional Chinese, ~2 %
    English; do-not-disturb hours with both ends."""
    cust, consents, prefs = big["customers"], big["consents"], big["contact_preferences"]
    personal = set(cust.customer_no[cust.customer_type == "P"])
    mine = consents[consents.customer_no.isin(personal)]
    share = mine.channel.value_counts() / len(personal)
    for channel, expected in {"SMS": 0.75, "PHONE": 0.60, "WECHAT": 0.45, "POST": 0.20}.items():
        assert abs(share[channel] - expected) < 0.03, (channel, share[channel])
    with_email = set(cust.customer_no[(cust.customer_type == "P") & (cust.email != "")])
    email = mine[mine.channel == "EMAIL"]
    assert set(email.customer_no) <= with_email
    assert abs(len(email) / len(with_email) - 0.30) < 0.04
    assert abs((consents.state == "WITHDRAWN").mean() - 0.05) < 0.01
    assert set(consents.source[consents.state == "WITHDRAWN"]) == {"REPLY", "BRANCH", "ONLINE"}
    assert (consents.on <= big.as_of.isoformat()).all()
    assert not consents.duplicated(["customer_no", "channel"]).any()
    languages = prefs.language.value_counts() / len(personal)
    assert abs(languages["zh-hant"] - 0.03) < 0.01 and abs(languages["en"] - 0.02) < 0.01
    assert ((prefs.dnd_start == "") == (prefs.dnd_end == "")).all()
    assert 0.03 < (prefs.dnd_start != "").sum() / len(personal) < 0.07
    assert prefs.customer_no.is_unique
