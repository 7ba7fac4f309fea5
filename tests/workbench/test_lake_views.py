"""The 360's lake reader: month-average AUM with carry-forward, latest load wins; transactions."""

from __future__ import annotations

import datetime as dt

from qiao.customers.lake_views import customer_aum_trend, customer_recent_transactions
from qiao.customers.selectors import customer_accounts


def test_month_average_aum(bank, lake):
    accounts = customer_accounts(bank.x)
    trend = customer_aum_trend(
        customer_no="P0000001", accounts=accounts, as_of=dt.date(2026, 2, 10), months=24
    )
    # January: demand 100,000 for 15 days then 300,000 (the second load's correction) for 16,
    # plus the time deposit at 400,000 all month. February carries the last balances forward.
    assert trend == [
        {"month": "2026-01", "aum": round((100000 * 15 + 300000 * 16) / 31 + 400000, 2)},
        {"month": "2026-02", "aum": 700000.0},
    ]


def test_closed_accounts_stop_counting_and_loans_never_count(bank, lake):
    account = bank.accounts["x_td"]
    account.close_date = dt.date(2026, 1, 11)
    account.status = "CLOSED"
    account.save()
    trend = customer_aum_trend(
        customer_no="P0000001", accounts=customer_accounts(bank.x), as_of=dt.date(2026, 1, 31)
    )
    assert trend == [
        {"month": "2026-01", "aum": round((100000 * 15 + 300000 * 16 + 400000 * 10) / 31, 2)}
    ]
    assert (
        customer_aum_trend(
            customer_no="C0000001", accounts=customer_accounts(bank.z), as_of=dt.date(2026, 1, 31)
        )
        == []
    )


def test_no_lake_no_trend(bank, settings):
    assert customer_aum_trend(customer_no="P0000001", accounts=customer_accounts(bank.x)) == []
    assert customer_recent_transactions(customer_no="P0000001") == []


def test_recent_transactions_are_the_customers_own_newest_first_masked(bank, lake):
    rows = customer_recent_transactions(customer_no="P0000001", limit=10)
    assert [r["txn_id"] for r in rows] == ["T2", "T1"]
    assert rows[0]["account"] == "622200******0001"
    assert rows[0]["at"].utcoffset() == dt.timedelta(hours=8)  # shown in Beijing time
    assert rows[0]["at"].hour == 11
    assert customer_recent_transactions(customer_no="P0000001", limit=1)[0]["txn_id"] == "T2"
