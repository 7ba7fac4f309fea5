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


def _earlier_months(lake) -> None:
    """Three earlier monthly partitions: X's T0 in September 2025, only Y in Nov and Dec."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for month, txn_id, customer, account in [
        ("2025-09", "T0", "P0000001", "6222000000000001"),
        ("2025-11", "T8", "P0000002", "6222000000000002"),
        ("2025-12", "T9", "P0000002", "6222000000000002"),
    ]:
        folder = lake / "transactions" / f"month={month}"
        folder.mkdir(parents=True)
        year, mon = (int(x) for x in month.split("-"))
        table = pa.table(
            {
                "txn_id": [txn_id],
                "account_no": [account],
                "customer_no": [customer],
                "txn_time": pa.array(
                    [dt.datetime(year, mon, 3, 2, tzinfo=dt.UTC)], type=pa.timestamp("us", tz="UTC")
                ),
                "amount": pa.array([1], type=pa.decimal128(18, 2)),
                "direction": ["C"],
                "channel": ["ATM"],
                "txn_type": ["DEPOSIT"],
                "load_id": pa.array([1], type=pa.int64()),
            }
        )
        pq.write_table(table, folder / "part-1.parquet")


def test_the_360_reads_three_months_and_earlier_ones_on_request(bank, lake, login):
    from qiao.audit.models import AuditEvent

    _earlier_months(lake)
    assert [r["txn_id"] for r in customer_recent_transactions(customer_no="P0000001")] == [
        "T2",
        "T1",
    ]
    assert [
        r["txn_id"] for r in customer_recent_transactions(customer_no="P0000001", months=None)
    ] == ["T2", "T1", "T0"]
    client = login("cm_owner")
    page = client.get("/customers/P0000001/").content.decode()
    # the lake's newest 3 of 4 months (T0 of September is not there), then a button for all
    assert "2026-01-20 11:00" in page and "2025-09-03" not in page and "?months=all" in page
    part = client.get("/customers/P0000001/transactions/?months=all")
    assert part.status_code == 200
    assert part.content.decode().count("622200******0001") == 3  # T0, T1 and T2
    assert "2025-09-03 10:00" in part.content.decode()
    event = AuditEvent.objects.filter(customer_no="P0000001").latest("id")
    assert (event.action, event.detail) == ("VIEW", {"section": "transactions", "months": "all"})
    # the same scope as the 360: another outlet's CM gets not-found
    assert login("cm_other").get("/customers/P0000001/transactions/?months=all").status_code == 404
