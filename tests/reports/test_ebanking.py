"""The e-banking analysis (qiao.analytics.ebanking) on the tiny lake of ebanking_lake.py, each
part against the hand count written there."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from qiao.analytics.ebanking import (
    EbankingConfig,
    EbankingConfigError,
    Scope,
    ebanking_analysis,
    load_config,
    rates,
)
from qiao.analytics.lake import connect, read_transactions, read_transactions_month

from .ebanking_lake import AS_OF, tiny_lake

CONFIG = EbankingConfig(months=3)


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    return tiny_lake(tmp_path_factory.mktemp("eb") / "lake")


@pytest.fixture(scope="module")
def result(lake):
    con = connect("duckdb", threads=1)
    try:
        return ebanking_analysis(con, lake, as_of=AS_OF, config=CONFIG)
    finally:
        con.disconnect()


def by(frame: pd.DataFrame, key: str) -> dict:
    return {row[key]: row for row in frame.to_dict("records")}


def test_r1_opened_activated_and_multi_product(result) -> None:
    assert result.months == ["2026-04", "2026-05", "2026-06"]
    pen = result.penetration.iloc[0].to_dict()
    # P3's only service is closed; P2 and C2 signed up but never used theirs
    assert pen == {"customers": 5, "opened": 4, "activated": 2, "multi": 1}
    s = by(result.services, "service")
    assert list(result.services["service"]) == [
        "ONLINE",
        "MOBILE",
        "CORP_ONLINE_QUERY",
        "CORP_ONLINE_PRO",
    ]
    assert (s["ONLINE"]["opened"], s["ONLINE"]["activated"]) == (2, 1)
    assert (s["MOBILE"]["opened"], s["MOBILE"]["activated"]) == (1, 1)
    assert (s["CORP_ONLINE_QUERY"]["opened"], s["CORP_ONLINE_QUERY"]["activated"]) == (1, 0)


def test_r2_age_tiers_by_count_and_assets(result) -> None:
    t = by(result.age_tiers, "band")
    # bands: <18, 18–39, 40–59, 60+, unknown; assets of open deposit accounts (A9 closed)
    assert (t[1]["customers"], t[1]["assets"]) == (2, 12_000.0)  # P1 1,000 + 9,000; P2 2,000
    assert (t[3]["customers"], t[3]["assets"]) == (1, 500.0)  # P3
    assert t[0]["customers"] == t[2]["customers"] == t[-1]["customers"] == 0
    assert (t[1]["lo"], t[1]["hi"]) == (18, 40)


def test_r3_users_by_age_band_and_gender(result) -> None:
    b = by(result.age_bands, "band")
    # bands <18, 18–24, 25–29, 30–39, 40–49, 50+: P2 26 → 2, P1 35 (birthday tomorrow) → 3
    assert [b[i]["base"] for i in range(6)] == [0, 0, 1, 1, 0, 1]
    assert [b[i]["users"] for i in range(6)] == [0, 0, 0, 1, 0, 0]
    assert b[3]["users_ONLINE"] == b[3]["users_MOBILE"] == 1
    assert b[3]["users_PHONE"] == 0  # P3's phone banking is closed
    g = by(result.gender, "gender")
    assert (g["M"]["base"], g["M"]["users"], g["F"]["base"], g["F"]["users"]) == (1, 1, 2, 0)


def test_r4_growth_and_opening_source(result) -> None:
    g = by(result.growth, "month")
    assert [g[m]["opened"] for m in result.months] == [1, 1, 1]
    assert (g["2026-04"]["opened_self"], g["2026-05"]["opened_recommended"]) == (1, 1)
    assert g["2026-06"]["opened_unknown"] == 1
    # activated stock: P1 always; P3 until its close on 05-15; C1 from 06-11
    assert [g[m]["stock"] for m in result.months] == [2, 1, 2]
    assert [g[m]["activated"] for m in result.months] == [0, 0, 1]
    assert g["2026-04"]["stock_before"] == 2
    s = by(result.sources, "service")
    assert (s["ONLINE"]["opened_self"], s["MOBILE"]["opened_recommended"]) == (1, 1)
    assert s["CORP_ONLINE_PRO"]["opened_unknown"] == 1


def test_r5_payroll_classes_share_of_demand_and_the_list(result) -> None:
    assert (result.demand_accounts, result.demand_balance) == (4, 13_500.0)
    p = by(result.payroll, "relation_type")
    # PAYROLL: A1 (P1) and A3 (P3); P2's relation ended
    assert (p["PAYROLL"]["accounts"], p["PAYROLL"]["balance"]) == (2, 1_500.0)
    assert (p["PAYROLL"]["customers"], p["PAYROLL"]["with_ebanking"]) == (2, 1)
    assert p["PAYROLL"]["with_online"] == 1
    assert (p["SOCIAL_SECURITY"]["accounts"], p["SOCIAL_SECURITY"]["with_ebanking"]) == (1, 0)
    assert p["FISCAL"]["accounts"] == 0
    # all classes together: A3 counted once
    assert (p[""]["accounts"], p[""]["balance"], p[""]["customers"]) == (2, 1_500.0, 2)
    assert result.payroll_list_total == 1
    row = result.payroll_list.iloc[0].to_dict()
    assert row == {"customer_no": "P3", "balance": 500.0, "classes": "PAYROLL|SOCIAL_SECURITY"}


def test_r6_methods_types_and_breadth(result) -> None:
    m = by(result.pay_methods, "pay_method")
    assert list(result.pay_methods["pay_method"]) == ["THIRD_PARTY", "EBANK", "CARD"]
    assert (m["THIRD_PARTY"]["count"], m["THIRD_PARTY"]["amount"]) == (1, 100.0)  # T9 outside
    assert (m["EBANK"]["count"], m["EBANK"]["amount"]) == (1, 300.0)
    assert (m["CARD"]["count"], m["CARD"]["amount"]) == (1, 50.0)  # a POS payment
    ct = {
        (r["channel"], r["txn_type"]): (r["count"], r["amount"])
        for r in result.channel_types.to_dict("records")
    }
    # the corrected T3 (1,200) counts once
    assert ct == {
        ("ONLINE", "PAYMENT"): (1, 100.0),
        ("MOBILE", "PAYMENT"): (1, 300.0),
        ("MOBILE", "TRANSFER"): (1, 1200.0),
        ("CORP_ONLINE", "TRANSFER"): (1, 5000.0),
    }
    b = by(result.breadth, "k")
    # types on e-channels: P1 PAYMENT+TRANSFER (2), C1 TRANSFER (1); methods: P1 three
    assert [b[k]["by_types"] for k in (1, 2, 3, 4)] == [1, 1, 0, 0]
    assert [b[k]["by_methods"] for k in (1, 2, 3, 4)] == [0, 0, 1, 0]


def test_r8_corporate_by_version_size_and_sector(result) -> None:
    assert result.corporate.iloc[0].to_dict() == {
        "customers": 2,
        "with_ebanking": 2,
        "accounts": 2,
    }
    v = by(result.corp_versions, "service")
    assert (v["CORP_ONLINE_QUERY"]["signed"], v["CORP_ONLINE_QUERY"]["activated"]) == (1, 0)
    assert (v["CORP_ONLINE_PRO"]["signed"], v["CORP_ONLINE_PRO"]["activated"]) == (1, 1)
    # a month before (05-30): C1 had not signed up yet
    assert (v["CORP_ONLINE_PRO"]["signed_before"], v["CORP_ONLINE_QUERY"]["signed_before"]) == (
        0,
        1,
    )
    assert v["BANK_LINK"]["signed"] == 0
    assert {r["size_class"]: r["customers"] for r in result.corp_size.to_dict("records")} == {
        "LARGE": 1,
        "SMALL": 1,
    }
    assert set(result.corp_sector["industry"]) == {"制造业", "金融"}


def test_substitution_rate_by_month_and_outlet_with_and_without_atms(result) -> None:
    m = by(rates(result.substitution_months), "month")
    # May: e T2, T3 (1,500), counter T4 (500); June: e T7, ATM T5, the interest T6 not counted
    assert (m["2026-05"]["e_n"], m["2026-05"]["counter_n"]) == (2, 1)
    assert m["2026-05"]["rate_n"] == pytest.approx(2 / 3)
    assert m["2026-05"]["rate_amt"] == pytest.approx(1500 / 2000)
    assert (m["2026-06"]["atm_n"], m["2026-06"]["counter_n"]) == (1, 0)
    assert m["2026-06"]["rate_atm_n"] == 1.0 and m["2026-06"]["rate_n"] == 1.0
    o = by(rates(result.substitution_outlets), "outlet")
    # O1: e T1 T2 T3, ATM T5, counter T4
    assert o["O1"]["rate_atm_n"] == pytest.approx(4 / 5)
    assert o["O1"]["rate_n"] == pytest.approx(3 / 4)
    assert (o["O2"]["e_n"], o["O2"]["counter_n"]) == (1, 0)


def test_scope_by_customers_and_by_outlets(lake) -> None:
    con = connect("duckdb", threads=1)
    try:
        mine = ebanking_analysis(
            con, lake, as_of=AS_OF, config=CONFIG, scope=Scope(customers=frozenset({"P1"}))
        )
        o2 = ebanking_analysis(
            con, lake, as_of=AS_OF, config=CONFIG, scope=Scope(outlets=frozenset({"O2"}))
        )
        nobody = ebanking_analysis(
            con, lake, as_of=AS_OF, config=CONFIG, scope=Scope(customers=frozenset())
        )
    finally:
        con.disconnect()
    assert mine.penetration.iloc[0].to_dict() == {
        "customers": 1,
        "opened": 1,
        "activated": 1,
        "multi": 1,
    }
    assert int(mine.substitution_months["counter_n"].sum()) == 0  # T4 is P2's
    assert mine.payroll_list_total == 0
    assert int(o2.penetration.iloc[0]["customers"]) == 2  # P3, C1
    assert list(o2.payroll_list["customer_no"]) == ["P3"]
    assert list(o2.substitution_outlets["outlet"]) == ["O2"]
    assert int(nobody.penetration.iloc[0]["customers"]) == 0
    assert len(nobody.payroll_list) == 0


def test_the_planned_month_reader_matches_the_window_rule(lake) -> None:
    con = connect("duckdb", threads=1)
    try:
        for month in ("2026-04", "2026-05", "2026-06"):
            planned = read_transactions_month(con, lake, month).to_pandas()
            window = read_transactions(con, lake, months=[month]).to_pandas()
            key = ["txn_id", "load_id"]
            assert (
                planned.sort_values(key)
                .reset_index(drop=True)
                .equals(window.sort_values(key).reset_index(drop=True))
            )
        assert read_transactions_month(con, lake, "2025-01") is None
    finally:
        con.disconnect()


def test_configuration_defaults_and_clear_errors() -> None:
    cfg = load_config()
    assert cfg.age_bands == (18, 25, 30, 40, 50) and cfg.atm_channels == ("ATM",)
    with pytest.raises(EbankingConfigError, match="age_bands: bounds must increase"):
        load_config("[age]\nbands = [30, 25]\n")
    with pytest.raises(EbankingConfigError, match="'KIOSK' is not a channel"):
        load_config('[substitution]\natm_channels = ["KIOSK"]\n')
    with pytest.raises(EbankingConfigError, match=r"\[window\]: unknown key 'month'"):
        load_config("[window]\nmonth = 3\n")
    with pytest.raises(EbankingConfigError, match="electronic or counter"):
        EbankingConfig(atm_channels=("MOBILE",))


@pytest.mark.spark
def test_the_same_figures_on_spark(lake, result) -> None:
    """The analysis is one Ibis code path: Spark (local mode) gives DuckDB's figures."""
    con = connect("spark", spark_driver_memory="1g")
    try:
        on_spark = ebanking_analysis(con, lake, as_of=AS_OF, config=CONFIG)
    finally:
        con.disconnect()
    for name, frame in vars(result).items():
        other = getattr(on_spark, name)
        if isinstance(frame, pd.DataFrame):
            pd.testing.assert_frame_equal(
                frame.reset_index(drop=True),
                other.reset_index(drop=True),
                check_dtype=False,
                check_like=True,
                obj=name,
            )
        elif name != "diagnostics":
            assert frame == other, name
