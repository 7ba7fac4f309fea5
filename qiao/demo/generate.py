"""The synthetic bank behind ``qiao demo``: core-banking extract files for a 九江 branch.

``generate_bank`` writes one file per kind of docs/data-interface.md into a folder — CSV (UTF-8)
for master data, Parquet for balances and transactions — and returns counts and the demo logins.
The same seed, arguments and as_of give byte-identical files: every random draw comes from a
named numpy stream derived from the seed, and nothing reads the clock except the as_of default.

The figures the analysis reports are meant to reproduce come from the domain seeds: age bands
and their asset shares, e-banking penetration and product mix, payroll relations (seed 002);
product motives (seed 004).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from qiao.core.vocab import CUSTOMER_TYPES
from qiao.customers.rules import CUSTOMER_FIELDS

from . import pools
from .accounts import (
    C_FUND,
    C_WEALTH,
    PROD_RISK,
    Accounts,
    account_numbers,
    accounts_table,
    build_accounts,
    calibrate,
    products_table,
)
from .activity import ActivityResult, Simulator, aum_cents
from .assessments import assessments_table
from .base import Span, stream
from .codes import NA_DAY, date_array, decimal_array, take
from .consents import consent_tables
from .credit import credit_tables
from .links import (
    build_ebanking,
    build_payroll,
    ebanking_table,
    ownership_table,
    payroll_table,
    plan_groups,
    profile_columns,
    relationships,
)
from .people import (
    build_customers,
    build_staff,
    corporate_names,
    identity_columns,
    org_units_table,
    staff_table,
)
from .targets import targets_table  # performance targets

KINDS = (
    "org_units",
    "staff",
    "products",
    "customers",
    "groups",
    "relationships",
    "accounts",
    "holdings",
    "balances",
    "transactions",
    "ebanking",
    "payroll",
    "ownership",
    "assessments",
    "consents",
    "contact_preferences",
    "facilities",
    "loans",
    "guarantees",
    "risk_signals",
    "list_entries",
    "targets",  # performance targets (docs/reports.md, "Targets")
)
PARQUET_KINDS = ("balances", "transactions")

#: customers per simulation block; bounds memory for the million-customer benchmark
BLOCK = 25_000


def default_as_of() -> date:
    """Yesterday in the bank's time zone."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)


def generate_bank(
    out_dir: Path,
    *,
    customers: int = 20000,
    months: int = 24,
    seed: int = 0,
    as_of: date | None = None,
) -> dict:
    """Write the demo bank's extract files into ``out_dir`` and return a summary.

    The summary holds the row count per kind (``"customers": 20000`` …), ``"as_of"`` (ISO date),
    ``"files"`` (kind → file name) and ``"logins"``: one ``{"username", "password", "role",
    "branch"}`` per staff member (branch = their unit code).
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if months < 1:
        raise ValueError("months must be at least 1")
    as_of = as_of or default_as_of()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    span = Span.build(as_of, months)

    staff = build_staff(seed, span)
    cust = build_customers(seed, span, customers)
    groups = plan_groups(seed, cust)
    parents = set(groups.member[groups.role == 0].tolist())
    corp_names = corporate_names(seed, cust, groups.brand, parents)
    all_names = pa.concat_arrays([cust.names, corp_names])
    accts = build_accounts(seed, span, cust)
    calibrate(accts, cust, seed)
    accts.account_no = account_numbers(accts, cust)
    payroll = build_payroll(seed, span, cust, accts, corp_names)
    ebank = build_ebanking(seed, span, cust, accts, payroll, staff)

    files = {k: f"{k}.parquet" if k in PARQUET_KINDS else f"{k}.csv" for k in KINDS}
    result = Simulator(seed, span, cust, accts, ebank, payroll).run(
        str(out / files["balances"]), str(out / files["transactions"]), block=BLOCK
    )
    aum = aum_cents(accts, result, cust.n)

    rel_table, grp_table, facts = relationships(seed, cust, groups)
    ident = identity_columns(seed, span, cust)
    profile = profile_columns(seed, cust, payroll, facts, all_names)
    outlets = [o[0] for o in pools.OUTLETS]
    made: dict[str, pa.Array] = {
        "customer_no": cust.customer_no,
        "customer_type": take(CUSTOMER_TYPES.codes, cust.corp.astype(np.int64)),  # P, C
        "name": all_names,
        "branch_code": take(outlets, cust.outlet),
        "open_date": date_array(cust.open_d),
        **ident,
        **profile,
    }
    # Every customer field, in the order of their one list (a field not generated fails here).
    cols = {f: made[f] for f in CUSTOMER_FIELDS}

    tables: dict[str, pa.Table] = {
        "org_units": org_units_table(),
        "staff": staff_table(staff),
        "products": products_table(span),
        "customers": pa.table(cols),
        "groups": grp_table,
        "relationships": rel_table,
        "accounts": accounts_table(accts, cust, result.last_cents, result.has_balance),
        "holdings": holdings_table(seed, span, accts, result),
        "ebanking": ebanking_table(ebank, cust, staff),
        "payroll": payroll_table(payroll, cust, accts),
        "ownership": ownership_table(seed, span, cust, accts, staff, aum),
        "assessments": assessments_table(seed, span, cust.customer_no, cust.age, accts, aum),
        # Marketing consent and contact preferences (docs/privacy.md, "Consent").
        **consent_tables(
            seed,
            span,
            cust.customer_no,
            cust.corp,
            cust.open_d,
            ident["email"].is_valid().to_numpy(zero_copy_only=False),
        ),
        # The credit book (docs/keyaccounts.md).
        **credit_tables(seed, span, cust, groups, accts, result.last_cents),
    }
    # Performance targets from the books as they are (docs/reports.md, "Targets").
    tables["targets"] = targets_table(
        seed, span, staff, tables["ownership"], cust.customer_no, cust.outlet, aum
    )
    for kind, table in tables.items():
        write_csv(table, out / files[kind])

    summary: dict = {kind: tables[kind].num_rows for kind in tables}
    summary["balances"] = result.n_balances
    summary["transactions"] = result.n_transactions
    summary = {k: summary[k] for k in KINDS}
    summary["as_of"] = as_of.isoformat()
    summary["files"] = files
    summary["logins"] = [
        {"username": no, "password": pw, "role": role, "branch": unit}
        for no, pw, role, unit in zip(staff.staff_no, staff.passwords, staff.role, staff.unit)
    ]
    return summary


def holdings_table(seed: int, span: Span, a: Accounts, res: ActivityResult) -> pa.Table:
    """Position snapshot at as_of for open fund and wealth accounts (market value = balance)."""
    rng = stream(seed, "holdings")
    nav = np.where(
        np.array([p.category == "FUND" for p in pools.PRODUCTS]),
        rng.uniform(0.8, 3.5, len(pools.PRODUCTS)),
        1.0 + rng.uniform(0.0, 0.08, len(pools.PRODUCTS)),
    )
    nav = np.round(nav, 4)
    r = np.flatnonzero(
        np.isin(a.cat, [C_FUND, C_WEALTH]) & (a.close_d == NA_DAY) & (res.last_cents > 0)
    )
    mv = res.last_cents[r]
    units = np.round(mv / 100 / nav[a.prod[r]] * 10_000).astype(np.int64)  # 4 decimals
    risk = PROD_RISK[a.prod[r]]
    ret = np.array([0.0, 0.01, 0.02, 0.03, 0.02, 0.0])[risk] + np.array(
        [0.0, 0.003, 0.01, 0.06, 0.12, 0.18]
    )[risk] * rng.standard_normal(len(r))
    cost = np.round(mv / (1 + np.clip(ret, -0.5, 1.0))).astype(np.int64)
    return pa.table(
        {
            "account_no": a.account_no.take(pa.array(r)),
            "as_of_date": date_array(np.full(len(r), span.asof_d)),
            "units": decimal_array(units, scale=4),
            "cost": decimal_array(cost),
            "market_value": decimal_array(mv),
        }
    )


def write_csv(table: pa.Table, path: Path) -> None:
    """UTF-8 CSV, header unquoted, values quoted only where a value needs it.

    pyarrow quotes every string when asked to quote "where needed", so values are written
    unquoted and, in the unexpected case that one contains a comma, quote or newline, the file
    is written again with pyarrow's quoting. Written straight to disk: the million-customer
    files are hundreds of megabytes.
    """
    header = (",".join(table.column_names) + "\n").encode()
    for style in ("none", "needed"):
        try:
            with path.open("wb") as fh:
                fh.write(header)
                pacsv.write_csv(
                    table, fh, pacsv.WriteOptions(include_header=False, quoting_style=style)
                )
            return
        except pa.ArrowInvalid:
            if style == "needed":
                raise
