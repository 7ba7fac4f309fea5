"""A tiny lake for the e-banking analysis, every figure counted by hand (as of 2026-06-30, a
three-month window April–June 2026).

Customers (``NOS`` renames them to put the lake under a test bank's customers):

======  ====  ==========  ======  ======  ====================================================
name    type  born        gender  outlet  e-banking (opened → activated, source)
======  ====  ==========  ======  ======  ====================================================
P1      P     1990-07-01  M       O1      ONLINE 01-10 → 01-12 SELF; MOBILE 05-03 → 05-04 REC.
P2      P     2000-01-01  F       O1      ONLINE 04-20, never activated, SELF
P3      P     1960-03-01  F       O2      PHONE 2025-01-01 → 2025-01-02, closed 2026-05-15
C1      C     —           —       O2      CORP_ONLINE_PRO 06-10 → 06-11 (source unknown); SMALL, 制造业
C2      C     —           —       O1      CORP_ONLINE_QUERY 2025-03-01, never activated; LARGE, 金融
======  ====  ==========  ======  ======  ====================================================

Ages on 2026-06-30: P1 35 (birthday tomorrow), P2 26, P3 66.

Accounts (balance; D demand, T time, L loan): A1 P1 D 1,000; A1T P1 T 9,000; A2 P2 D 2,000;
A3 P3 D 500; AC1 C1 D 10,000; AC2 C2 L 50,000; A9 P2 D 777 closed 2026-01-01 (not counted).
Payroll: A1 P1 PAYROLL (in force); A2 P2 PAYROLL ended 2026-03-01; A3 P3 PAYROLL and
SOCIAL_SECURITY (both in force: one account in two classes).

Transactions: T1 04 P1 ONLINE PAYMENT 100 THIRD_PARTY; T2 05 P1 MOBILE PAYMENT 300 EBANK; T3 05 P1
MOBILE TRANSFER 1,000, corrected by a second load to 1,200; T4 05 P2 COUNTER DEPOSIT 500; T5 06 P2
ATM WITHDRAWAL 200; T6 06 P3 COUNTER INTEREST 5 (bank-initiated: not counted); T7 06 C1
CORP_ONLINE TRANSFER 5,000; T8 06 P1 POS PAYMENT 50 CARD; T9 February, outside the window.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from qiao.analytics.lake import write_ref_table

AS_OF = dt.date(2026, 6, 30)
MONEY = pa.decimal128(18, 2)
NAMES = ("P1", "P2", "P3", "C1", "C2")
D = dt.date


def tiny_lake(lake: Path, nos: tuple[str, str, str, str, str] = NAMES) -> Path:
    p1, p2, p3, c1, c2 = nos
    write_ref_table(
        lake,
        "customers",
        pa.table(
            {
                "customer_no": [p1, p2, p3, c1, c2],
                "customer_type": ["P", "P", "P", "C", "C"],
                "birth_date": pa.array(
                    [D(1990, 7, 1), D(2000, 1, 1), D(1960, 3, 1), None, None], pa.date32()
                ),
                "gender": ["M", "F", "F", None, None],
                "occupation": [None] * 5,
                "industry": [None, None, None, "制造业", "金融"],
                "branch_code": ["O1", "O1", "O2", "O2", "O1"],
                "open_date": [D(2015, 1, 1)] * 5,
                "size_class": [None, None, None, "SMALL", "LARGE"],
            }
        ),
    )
    write_ref_table(
        lake,
        "products",
        pa.table(
            {
                "product_code": ["DEM", "TD", "LN"],
                "name": ["活期", "定期", "贷款"],
                "category": ["DEMAND", "TIME", "LOAN"],
                "risk_level": [None, None, None],
                "motives": [None, None, None],
                "term_days": pa.array([None, None, None], pa.int64()),
                "rate": pa.array([None, None, None], pa.float64()),
            }
        ),
    )
    accounts = [
        ("A1", p1, "DEM", "1000", None),
        ("A1T", p1, "TD", "9000", None),
        ("A2", p2, "DEM", "2000", None),
        ("A3", p3, "DEM", "500", None),
        ("AC1", c1, "DEM", "10000", None),
        ("AC2", c2, "LN", "50000", None),
        ("A9", p2, "DEM", "777", D(2026, 1, 1)),
    ]
    write_ref_table(
        lake,
        "accounts",
        pa.table(
            {
                "account_no": [a[0] for a in accounts],
                "customer_no": [a[1] for a in accounts],
                "product_code": [a[2] for a in accounts],
                "open_date": [D(2015, 1, 1)] * len(accounts),
                "maturity_date": pa.array([None] * len(accounts), pa.date32()),
                "close_date": pa.array([a[4] for a in accounts], pa.date32()),
                "status": ["ACTIVE"] * len(accounts),
                "balance": pa.array([Decimal(a[3]) for a in accounts], MONEY),
            }
        ),
    )
    eb = [
        (p1, "ONLINE", D(2026, 1, 10), D(2026, 1, 12), None, "SELF"),
        (p1, "MOBILE", D(2026, 5, 3), D(2026, 5, 4), None, "RECOMMENDED"),
        (p2, "ONLINE", D(2026, 4, 20), None, None, "SELF"),
        (p3, "PHONE", D(2025, 1, 1), D(2025, 1, 2), D(2026, 5, 15), None),
        (c1, "CORP_ONLINE_PRO", D(2026, 6, 10), D(2026, 6, 11), None, None),
        (c2, "CORP_ONLINE_QUERY", D(2025, 3, 1), None, None, None),
    ]
    write_ref_table(
        lake,
        "ebanking",
        pa.table(
            {
                "customer_no": [e[0] for e in eb],
                "service": [e[1] for e in eb],
                "opened_date": pa.array([e[2] for e in eb], pa.date32()),
                "activated_date": pa.array([e[3] for e in eb], pa.date32()),
                "closed_date": pa.array([e[4] for e in eb], pa.date32()),
                "source": pa.array([e[5] for e in eb], pa.string()),
            }
        ),
    )
    pay = [
        (p1, "A1", "PAYROLL", D(2020, 1, 1), None),
        (p2, "A2", "PAYROLL", D(2025, 1, 1), D(2026, 3, 1)),
        (p3, "A3", "PAYROLL", D(2024, 1, 1), None),
        (p3, "A3", "SOCIAL_SECURITY", D(2024, 1, 1), None),
    ]
    write_ref_table(
        lake,
        "payroll",
        pa.table(
            {
                "customer_no": [p[0] for p in pay],
                "account_no": [p[1] for p in pay],
                "relation_type": [p[2] for p in pay],
                "start_date": pa.array([p[3] for p in pay], pa.date32()),
                "end_date": pa.array([p[4] for p in pay], pa.date32()),
            }
        ),
    )
    txns = [
        ("T1", "A1", p1, D(2026, 4, 3), "100", "ONLINE", "PAYMENT", "THIRD_PARTY", 1),
        ("T2", "A1", p1, D(2026, 5, 3), "300", "MOBILE", "PAYMENT", "EBANK", 1),
        ("T3", "A1", p1, D(2026, 5, 4), "1000", "MOBILE", "TRANSFER", None, 1),
        ("T4", "A2", p2, D(2026, 5, 5), "500", "COUNTER", "DEPOSIT", None, 1),
        ("T5", "A2", p2, D(2026, 6, 5), "200", "ATM", "WITHDRAWAL", None, 1),
        ("T6", "A3", p3, D(2026, 6, 21), "5", "COUNTER", "INTEREST", None, 1),
        ("T7", "AC1", c1, D(2026, 6, 8), "5000", "CORP_ONLINE", "TRANSFER", None, 1),
        ("T8", "A1", p1, D(2026, 6, 9), "50", "POS", "PAYMENT", "CARD", 1),
        ("T9", "A1", p1, D(2026, 2, 9), "999", "ONLINE", "PAYMENT", "THIRD_PARTY", 1),
        # a later load corrects T3 (newest load wins)
        ("T3", "A1", p1, D(2026, 5, 4), "1200", "MOBILE", "TRANSFER", None, 2),
    ]
    for (month, load), rows in _group(txns).items():
        folder = lake / "transactions" / f"month={month}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            pa.table(
                {
                    "txn_id": [t[0] for t in rows],
                    "account_no": [t[1] for t in rows],
                    "customer_no": [t[2] for t in rows],
                    "txn_time": pa.array(
                        [
                            dt.datetime(t[3].year, t[3].month, t[3].day, 2, tzinfo=dt.UTC)
                            for t in rows
                        ],
                        pa.timestamp("us", tz="UTC"),
                    ),
                    "amount": pa.array([Decimal(t[4]) for t in rows], MONEY),
                    "direction": ["D"] * len(rows),
                    "channel": [t[5] for t in rows],
                    "txn_type": [t[6] for t in rows],
                    "product_code": pa.array([None] * len(rows), pa.string()),
                    "gain": pa.array([None] * len(rows), MONEY),
                    "cash": pa.array([None] * len(rows), pa.string()),
                    "pay_method": pa.array([t[7] for t in rows], pa.string()),
                    "load_id": pa.array([load] * len(rows), pa.int64()),
                }
            ),
            folder / f"part-{load:08d}-0.parquet",
        )
    return lake


def _group(txns: list[tuple]) -> dict[tuple[str, int], list[tuple]]:
    out: dict[tuple[str, int], list[tuple]] = {}
    for t in txns:
        out.setdefault((f"{t[3]:%Y-%m}", t[8]), []).append(t)
    return out
