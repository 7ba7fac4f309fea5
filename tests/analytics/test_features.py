"""Features on tiny hand-built lakes: month averages, dedup, windows, RFM, trading, references."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pyarrow as pa
import pytest

from qiao.analytics.features import (
    FeatureParams,
    add_months,
    compute_features,
    feature_expressions,
    month_windows,
)
from qiao.analytics.lake import (
    LakeError,
    lake_months,
    read_balances,
    read_ref,
    read_transactions,
    write_ref_table,
)

JAN31 = dt.date(2026, 1, 31)
UTC = dt.UTC


def _one(builder, **customer):  # type: ignore[no-untyped-def]
    b = builder()
    b.customer("P1", **customer)
    return b


def test_month_average_with_carry_forward_is_exact(lake_builder, duck):
    b = _one(lake_builder)
    b.account("A1", "P1", "DEM")
    b.balance("A1", dt.date(2026, 1, 1), 10_000)
    b.balance("A1", dt.date(2026, 1, 11), 40_000)
    f = compute_features(duck, b.write(), JAN31)
    assert f.loc["P1", "aum"] == (10_000 * 10 + 40_000 * 21) / 31
    assert f.loc["P1", "aum_m0"] == f.loc["P1", "aum"]
    assert f.loc["P1", "deposits"] == f.loc["P1", "aum"]


def test_old_row_carries_into_later_months_and_is_clipped_per_month(lake_builder, duck):
    b = _one(lake_builder)
    b.account("A1", "P1", "TD1")
    b.balance("A1", dt.date(2025, 11, 20), 5_000)
    b.balance("A1", dt.date(2026, 1, 16), 8_000)
    f = compute_features(duck, b.write(), JAN31)
    assert f.loc["P1", "aum_m2"] == 5_000 * 11 / 30  # November: 20th–30th
    assert f.loc["P1", "aum_m1"] == 5_000  # December: carried the whole month
    assert f.loc["P1", "aum_m0"] == (5_000 * 15 + 8_000 * 16) / 31
    assert f.loc["P1", "aum_m3"] == 0
    # trend_3m = m0 / mean(m1..m3) − 1
    base = (5_000 + 5_000 * 11 / 30 + 0) / 3
    assert f.loc["P1", "trend_3m"] == pytest.approx(f.loc["P1", "aum_m0"] / base - 1)
    assert f.loc["P1", "aum_avg_3m"] == pytest.approx(
        (f.loc["P1", "aum_m0"] + f.loc["P1", "aum_m1"] + f.loc["P1", "aum_m2"]) / 3
    )


def test_mid_month_as_of_averages_month_to_date(lake_builder, duck):
    b = _one(lake_builder)
    b.account("A1", "P1", "DEM")
    b.balance("A1", dt.date(2026, 1, 1), 1_000)
    b.balance("A1", dt.date(2026, 1, 16), 4_000)
    b.balance("A1", dt.date(2026, 1, 25), 9_000_000)  # after as_of: ignored
    f = compute_features(duck, b.write(), dt.date(2026, 1, 20))
    assert f.loc["P1", "aum"] == (1_000 * 15 + 4_000 * 5) / 20


def test_latest_load_wins_for_balances_and_transactions(lake_builder, duck):
    b = _one(lake_builder)
    b.account("A1", "P1", "DEM")
    b.balance("A1", dt.date(2026, 1, 1), 7_000, load_id=2)
    b.balance("A1", dt.date(2026, 1, 1), 1_000, load_id=1)  # older load, same key
    b.balance("A1", dt.date(2026, 1, 1), 3_000, load_id=0)
    b.txn("A1", dt.date(2026, 1, 10), 100, direction="C", txn_id="X1", load_id=1)
    b.txn("A1", dt.date(2026, 1, 10), 60_000, direction="C", txn_id="X1", load_id=3)
    lake = b.write()
    f = compute_features(duck, lake, JAN31)
    assert f.loc["P1", "aum"] == 7_000
    assert f.loc["P1", "frequency"] == 1
    assert f.loc["P1", "monetary"] == 60_000
    assert f.loc["P1", "n_large_in_30d"] == 1
    assert read_balances(duck, lake).count().execute() == 1
    assert read_transactions(duck, lake).count().execute() == 1


def test_closed_account_holds_nothing_from_its_close_date(lake_builder, duck):
    b = _one(lake_builder)
    b.account("A1", "P1", "TD1", close_date=dt.date(2026, 1, 11), status="CLOSED")
    b.account("A2", "P1", "DEM")
    b.balance("A1", dt.date(2025, 12, 1), 31_000)
    b.balance("A2", dt.date(2025, 12, 1), 100)
    f = compute_features(duck, b.write(), JAN31)
    assert f.loc["P1", "bal_TIME"] == 31_000 * 10 / 31
    assert f.loc["P1", "n_accounts"] == 1
    assert f.loc["P1", "n_accounts_m1"] == 2  # both open at the end of December
    assert f.loc["P1", "categories_held"] == "DEMAND"


def test_categories_loans_liquidity_and_shares(lake_builder, duck):
    b = _one(lake_builder)
    for acc, prod, amount in [
        ("A1", "DEM", 30_000),
        ("A2", "TD1", 10_000),
        ("A3", "FD1", 40_000),  # R4
        ("A4", "WM1", 20_000),  # R2
        ("A5", "LN1", 500_000),
    ]:
        b.account(acc, "P1", prod)
        b.balance(acc, dt.date(2025, 6, 1), amount)
    f = compute_features(duck, b.write(), JAN31)
    row = f.loc["P1"]
    assert row["aum"] == 100_000  # the loan is not an asset
    assert row["loan_balance"] == 500_000
    assert row["deposits"] == 40_000
    assert row["liquidity"] == 0.75
    assert row["risky_share"] == 0.4
    assert row["wealth_fund_share"] == 0.6
    assert row["time_bond_share"] == 0.1
    assert row["motive_share_APPRECIATE"] == 0.6
    assert row["n_products"] == 5
    assert row["categories_held"] == "DEMAND|FUND|LOAN|TIME|WEALTH"
    assert bool(row["has_FUND"]) and not bool(row["has_BOND"])


def test_rfm_channels_and_bank_initiated_transactions(lake_builder, duck):
    b = _one(lake_builder)
    b.account("A1", "P1", "DEM")
    b.txn("A1", dt.date(2026, 1, 21), 100, channel="COUNTER")
    b.txn("A1", dt.date(2026, 1, 5), 200, channel="MOBILE")
    b.txn("A1", dt.date(2025, 3, 5), 300, channel="ATM")
    b.txn("A1", dt.date(2025, 1, 31), 400, channel="WECHAT")  # 13th month back: outside 12m
    b.txn("A1", dt.date(2026, 1, 30), 5, channel="COUNTER", txn_type="INTEREST", direction="C")
    f = compute_features(duck, b.write(), JAN31)
    row = f.loc["P1"]
    assert row["recency_days"] == 10  # the interest credit on the 30th is not the customer's
    assert row["frequency"] == 3
    assert row["monetary"] == 600
    assert row["n_txn_12m"] == 4  # channel counts include bank-initiated rows
    assert (row["n_counter"], row["n_electronic"], row["n_self_service"]) == (2, 1, 1)
    assert row["electronic_share"] == 0.25
    assert row["n_txn_m0"] == 2 and row["n_txn_m10"] == 1 and row["n_txn_m12"] == 1


def test_local_business_day_decides_the_window(lake_builder, duck):
    b = _one(lake_builder)
    b.account("A1", "P1", "DEM")
    # 16:30 UTC on the 31st is 00:30 on 1 February in China: after as_of.
    b.txn("A1", dt.datetime(2026, 1, 31, 16, 30, tzinfo=UTC), 70_000, direction="C")
    # 15:59:59.999999 UTC on the 31st is the last microsecond of the 31st in China: inside.
    b.txn("A1", dt.datetime(2026, 1, 31, 15, 59, 59, 999_999, tzinfo=UTC), 80_000, direction="D")
    f = compute_features(duck, b.write(), JAN31)
    assert f.loc["P1", "n_large_in_30d"] == 0
    assert f.loc["P1", "n_large_out_30d"] == 1
    assert f.loc["P1", "amt_large_out_30d"] == 80_000
    assert f.loc["P1", "recency_days"] == 0


def test_large_movements_threshold_and_window(lake_builder, duck):
    b = _one(lake_builder)
    b.account("A1", "P1", "DEM")
    b.txn("A1", dt.date(2026, 1, 2), 50_000, direction="C")  # day 30 of the window: counts
    b.txn("A1", dt.date(2026, 1, 1), 90_000, direction="C")  # 31 days back: outside
    b.txn("A1", dt.date(2026, 1, 20), 49_999.99, direction="D")  # below the threshold
    b.txn("A1", dt.date(2026, 1, 21), 120_000, direction="D")
    lake = b.write()
    f = compute_features(duck, lake, JAN31)
    row = f.loc["P1"]
    assert (row["n_large_in_30d"], row["amt_large_in_30d"]) == (1, 50_000)
    assert (row["n_large_out_30d"], row["amt_large_out_30d"]) == (1, 120_000)
    g = compute_features(duck, lake, JAN31, FeatureParams(large_txn_threshold=40_000))
    assert g.loc["P1", "n_large_out_30d"] == 2


def test_trading_behaviour(lake_builder, duck):
    b = _one(lake_builder)
    b.account("A1", "P1", "DEM")
    b.account("A2", "P1", "FD1")
    b.balance("A1", dt.date(2025, 1, 1), 20_000)
    b.balance("A2", dt.date(2025, 1, 1), 30_000)
    b.txn("A2", dt.date(2025, 6, 3), 10_000, txn_type="PURCHASE", product_code="FD1")
    b.txn("A2", dt.date(2025, 9, 3), 30_000, txn_type="PURCHASE", product_code="FD1")
    b.txn("A2", dt.date(2025, 12, 3), 20_000, txn_type="REDEMPTION", direction="C", gain=1_500)
    b.txn("A2", dt.date(2024, 12, 3), 99_000, txn_type="REDEMPTION", direction="C", gain=9_000)
    f = compute_features(duck, b.write(), JAN31)
    row = f.loc["P1"]
    assert (row["n_purchase"], row["amt_purchase"]) == (2, 40_000)
    assert (row["n_redemption"], row["amt_redemption"]) == (1, 20_000)
    assert row["n_trades"] == 3
    assert row["turnover"] == 60_000 / 50_000
    assert row["avg_trade_size"] == 20_000
    assert row["realised_gain"] == 1_500
    assert row["return_ratio"] == 1_500 / 20_000
    assert row["risky_share"] == 0.6


def test_references_services_tenure_and_age(lake_builder, duck):
    b = lake_builder()
    b.customer("P1", birth_date=dt.date(1990, 2, 1), open_date=dt.date(2025, 3, 31))
    b.customer(
        "P2", birth_date=dt.date(1990, 1, 31), open_date=dt.date(2025, 3, 30), blacklisted=True
    )
    b.account("A1", "P1", "DEM")
    b.account("A2", "P2", "DEM", status="DORMANT")
    b.ebank("P1", "MOBILE", dt.date(2024, 1, 1), dt.date(2024, 1, 3))
    b.ebank("P1", "ONLINE", dt.date(2024, 1, 1))  # opened, never activated
    b.ebank("P1", "WECHAT", dt.date(2026, 1, 10), dt.date(2026, 2, 10))  # activated after as_of
    b.payroll_relation("P1", "A1", dt.date(2020, 1, 1))
    b.payroll_relation("P2", "A2", dt.date(2020, 1, 1), dt.date(2025, 1, 1))
    b.contact("P1", dt.date(2026, 1, 30))
    b.contact("P1", dt.date(2025, 11, 2))  # day 91 back: outside
    b.contact("P1", dt.date(2025, 11, 3))
    f = compute_features(duck, b.write(), JAN31)
    p1, p2 = f.loc["P1"], f.loc["P2"]
    assert (p1["n_ebank_opened"], p1["n_ebank_activated"]) == (3, 1)
    assert bool(p1["payroll"]) and not bool(p2["payroll"])
    assert p1["contacts_90d"] == 2
    assert (p1["age"], p2["age"]) == (35, 36)
    assert (p1["tenure_months"], p2["tenure_months"]) == (10, 10)
    assert p1["restricted_flag"] == 0 and p2["restricted_flag"] == 1
    assert bool(p2["all_dormant"])


def test_optional_references_may_be_missing_and_lake_may_be_empty(lake_builder, duck):
    b = lake_builder()
    b.customer("P1", birth_date=None)
    b.account("A1", "P1", "DEM")
    lake = b.write()  # no ebanking, payroll, contacts, balances or transactions
    assert not (lake / "ref" / "ebanking.parquet").exists()
    f = compute_features(duck, lake, JAN31)
    assert list(f.index) == ["P1"]
    row = f.loc["P1"]
    assert (row["aum"], row["frequency"], row["n_ebank_activated"]) == (0, 0, 0)
    assert row["recency_days"] != row["recency_days"]  # NaN: no transaction on record
    assert row["age"] != row["age"]
    assert row["n_accounts"] == 1


def test_bgnbd_inputs_count_transaction_days(lake_builder, duck):
    b = _one(lake_builder)
    b.account("A1", "P1", "DEM")
    for d in (dt.date(2025, 6, 1), dt.date(2025, 6, 1), dt.date(2025, 8, 1), dt.date(2026, 1, 10)):
        b.txn("A1", d, 10)
    f = compute_features(duck, b.write(), JAN31)
    row = f.loc["P1"]
    assert row["rfm_x"] == 2  # three distinct days, two repeats
    assert row["rfm_t_x"] == (dt.date(2026, 1, 10) - dt.date(2025, 6, 1)).days
    assert row["rfm_T"] == (JAN31 - dt.date(2025, 6, 1)).days
    # holdout = the last 3 months (November–January): one day there, two before
    assert row["rfm_x_holdout"] == 1
    assert row["rfm_x_cal"] == 1
    assert row["rfm_T_cal"] == (dt.date(2025, 10, 31) - dt.date(2025, 6, 1)).days


def test_expressions_are_lazy_ibis_tables(lake_builder, duck):
    b = _one(lake_builder)
    b.account("A1", "P1", "DEM")
    b.balance("A1", dt.date(2026, 1, 1), 10)
    exprs = feature_expressions(duck, b.write(), JAN31)
    import ibis.expr.types as ir

    assert isinstance(exprs.balances, ir.Table)
    assert "bal_cd_m12" in exprs.balances.columns
    assert exprs.balances.execute()["bal_cd_m0"].tolist() == [1_000 * 31]


def test_month_windows_and_add_months():
    w = month_windows(dt.date(2024, 3, 31), 13)
    assert (w[0].days, w[1].days, w[12].days) == (31, 29, 31)
    assert w[1].month_end == dt.date(2024, 2, 29)
    assert add_months(dt.date(2024, 3, 31), -1) == dt.date(2024, 2, 29)
    with pytest.raises(ValueError, match="history_months"):
        FeatureParams(history_months=12)


def test_write_ref_table_is_atomic_and_checks_keys(tmp_path: Path):
    lake = tmp_path / "lake"
    t1 = pa.table({"customer_no": ["P1"], "customer_type": ["P"]})
    t2 = pa.table({"customer_no": ["P1", "P2"], "customer_type": ["P", "C"]})
    path = write_ref_table(lake, "customers", t1)
    write_ref_table(lake, "customers", t2)
    assert pa.parquet.read_table(path).num_rows == 2  # type: ignore[attr-defined]
    assert sorted(os.listdir(lake / "ref")) == ["customers.parquet"]  # no temp file left
    with pytest.raises(LakeError, match="required column account_no missing"):
        write_ref_table(lake, "accounts", t1)
    with pytest.raises(LakeError, match="invalid reference table name"):
        write_ref_table(lake, "../evil", t1)


def test_read_ref_errors_and_partitions(lake_builder, duck, tmp_path: Path):
    with pytest.raises(LakeError, match="customers.parquet is missing"):
        read_ref(duck, tmp_path / "nothing", "customers")
    with pytest.raises(LakeError, match="unknown reference table"):
        read_ref(duck, tmp_path, "staff")
    empty = read_ref(duck, tmp_path / "nothing", "contacts")
    assert empty.count().execute() == 0
    b = _one(lake_builder)
    b.account("A1", "P1", "DEM")
    b.balance("A1", dt.date(2025, 12, 31), 1)
    b.balance("A1", dt.date(2026, 1, 1), 1)
    lake = b.write()
    (lake / "balances" / "month=2026-02").mkdir()  # an empty partition is ignored
    assert lake_months(lake, "balances") == ["2025-12", "2026-01"]


def test_reference_snapshot_with_load_id_keeps_the_latest_row(tmp_path: Path, duck):
    lake = tmp_path / "lake"
    write_ref_table(
        lake,
        "customers",
        pa.table(
            {
                "customer_no": ["P1", "P1", "P2"],
                "customer_type": ["P", "C", "P"],
                "load_id": pa.array([1, 2, 1], pa.int64()),
            }
        ),
    )
    got = read_ref(duck, lake, "customers").execute().set_index("customer_no")
    assert got["customer_type"].to_dict() == {"P1": "C", "P2": "P"}
    assert got["open_date"].isna().all()  # contract columns missing from the file are nulls
