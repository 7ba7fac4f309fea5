"""Rule attributes: lifecycle stage, deposit motive, need mode — each branch with its reason."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from qiao.analytics.attributes import (
    REASON_CODES,
    deposit_motive,
    lifecycle_stage,
    need_mode,
    rule_attributes,
)

BASE: dict[str, object] = {
    "tenure_months": 60.0,
    "n_products": 3.0,
    "trend_3m": 0.0,
    "trend_6m": 0.0,
    "txn_trend_3m": 0.0,
    "n_txn_m0": 2.0,
    "n_txn_m1": 2.0,
    "n_txn_m2": 2.0,
    "loan_balance": 0.0,
    "has_LOAN": False,
    "has_SETTLEMENT": False,
    "customer_type": "P",
    "wealth_fund_share": 0.0,
    "time_bond_share": 0.0,
    "motive_share_APPRECIATE": 0.0,
    "motive_share_ACCUMULATE": 0.0,
    "n_trades": 0.0,
    "electronic_share": 0.0,
    "n_purchase": 0.0,
    "n_ebank_activated": 0.0,
}


def features(**rows: dict[str, object]) -> pd.DataFrame:
    f = pd.DataFrame([{**BASE, **row} for row in rows.values()], index=list(rows))
    f.index.name = "customer_no"
    return f


def test_lifecycle_stages_and_reasons():
    f = features(
        NEW={"tenure_months": 4.0, "n_products": 3.0, "trend_3m": -0.9},
        YOUNG_SINGLE={"tenure_months": 10.0, "n_products": 1.0},
        YOUNG_MULTI={"tenure_months": 10.0, "n_products": 2.0},
        FALLING={"trend_3m": -0.38},
        QUIETER={"trend_3m": -0.05, "txn_trend_3m": -0.6},
        QUIET_BUT_GROWING={"trend_3m": 0.05, "txn_trend_3m": -0.6},
        GROWING={"trend_6m": 0.2},
        BUSIER={"txn_trend_3m": 0.5},
        BUSIER_BUT_FEW={"txn_trend_3m": 0.5, "n_txn_m0": 1.0, "n_txn_m1": 0.0, "n_txn_m2": 0.0},
        STEADY={"trend_3m": np.nan, "trend_6m": np.nan, "txn_trend_3m": np.nan},
    )
    s = lifecycle_stage(f)
    assert s["stage"].to_dict() == {
        "NEW": "EXPLORATION",
        "YOUNG_SINGLE": "EXPLORATION",
        "YOUNG_MULTI": "MATURITY",
        "FALLING": "DECLINE",
        "QUIETER": "DECLINE",
        "QUIET_BUT_GROWING": "MATURITY",
        "GROWING": "DEVELOPMENT",
        "BUSIER": "DEVELOPMENT",
        "BUSIER_BUT_FEW": "MATURITY",
        "STEADY": "MATURITY",
    }
    assert s.loc["FALLING", "stage_why"] == "AUM down 38 % over 3 months"
    assert s.loc["NEW", "stage_why"] == "new relationship: customer for 4 months, 3 product(s)"
    assert s.loc["QUIETER", "stage_why"] == "transactions down 60 % in 3 months while AUM fell 5 %"
    assert s.loc["GROWING", "stage_why"] == "AUM up 20 % over 6 months"
    assert s.loc["STEADY", "stage_why"] == "stable AUM and activity"


def test_lifecycle_thresholds_are_configurable():
    f = features(C={"trend_3m": -0.2})
    assert lifecycle_stage(f)["stage"].iloc[0] == "MATURITY"
    assert lifecycle_stage(f, {"decline_aum_trend_3m": -0.1})["stage"].iloc[0] == "DECLINE"
    with pytest.raises(ValueError, match="unknown parameter 'decline'"):
        lifecycle_stage(f, {"decline": 1})


def test_deposit_motives():
    f = features(
        BORROWER={"loan_balance": 250_000.0, "has_LOAN": True, "wealth_fund_share": 0.9},
        LOAN_ACCOUNT={"has_LOAN": True},
        CORP_SETTLE={"customer_type": "C", "has_SETTLEMENT": True},
        PERSON_SETTLE={"has_SETTLEMENT": True},
        INVESTOR={"wealth_fund_share": 0.45, "time_bond_share": 0.2},
        TAGGED={"motive_share_APPRECIATE": 0.5},
        TRADER={"n_trades": 6.0, "time_bond_share": 0.8},
        SAVER={"time_bond_share": 0.7, "wealth_fund_share": 0.3},
        DEMAND_ONLY={},
    )
    m = deposit_motive(f)
    assert m["motive"].to_dict() == {
        "BORROWER": "LOAN",
        "LOAN_ACCOUNT": "LOAN",
        "CORP_SETTLE": "LOAN",
        "PERSON_SETTLE": "ACCUMULATE",
        "INVESTOR": "APPRECIATE",
        "TAGGED": "APPRECIATE",
        "TRADER": "APPRECIATE",
        "SAVER": "ACCUMULATE",
        "DEMAND_ONLY": "ACCUMULATE",
    }
    why = m["motive_why"]
    assert why["BORROWER"] == "loan balance of ¥250,000"
    assert why["CORP_SETTLE"] == "corporate customer using settlement services"
    assert why["INVESTOR"] == "45 % of AUM in wealth products and funds"
    assert why["TRADER"] == "6 fund/wealth trades in 12 months"
    assert why["SAVER"] == "70 % of AUM in time deposits and bonds"
    assert why["DEMAND_ONLY"] == "deposits without investment or credit products: saving"


def test_need_mode_needs_two_signals():
    f = features(
        ALL={"electronic_share": 0.9, "n_purchase": 2.0, "n_ebank_activated": 3.0},
        TWO={"electronic_share": 0.5, "n_ebank_activated": 2.0},
        ONE={"electronic_share": 0.8},
        NONE={},
    )
    n = need_mode(f)
    assert n["need_mode"].to_dict() == {
        "ALL": "ACTIVE",
        "TWO": "ACTIVE",
        "ONE": "PASSIVE",
        "NONE": "PASSIVE",
    }
    assert n.loc["TWO", "need_mode_why"] == (
        "50 % of transactions self-service electronic; 2 e-banking services in use"
    )
    assert n.loc["ONE", "need_mode_why"].endswith("(not enough for active)")
    assert "counter" in n.loc["NONE", "need_mode_why"]
    assert need_mode(f, {"min_signals": 1})["need_mode"]["ONE"] == "ACTIVE"


def test_rule_attributes_combines_and_checks_columns():
    f = features(C={})
    out = rule_attributes(f)
    assert list(out.columns) == [
        "stage",
        "stage_why",
        "stage_why_code",
        "stage_why_params",
        "motive",
        "motive_why",
        "motive_why_code",
        "motive_why_params",
        "need_mode",
        "need_mode_why",
        "need_mode_why_code",
        "need_mode_why_params",
    ]
    with pytest.raises(ValueError, match="required column tenure_months missing"):
        lifecycle_stage(f.drop(columns="tenure_months"))


def coded(frame: pd.DataFrame, attr: str) -> dict[str, tuple[str, dict[str, int]]]:
    """customer → (code, params) of an attribute's language-neutral reason."""
    return {
        str(c): (code, json.loads(params))
        for c, code, params in zip(
            frame.index, frame[f"{attr}_why_code"], frame[f"{attr}_why_params"], strict=True
        )
    }


def test_stage_reasons_as_codes_and_params():
    f = features(
        NEW={"tenure_months": 4.0, "n_products": 3.0, "trend_3m": -0.9},
        FALLING={"trend_3m": -0.38},
        QUIETER={"trend_3m": -0.05, "txn_trend_3m": -0.6},
        GROWING={"trend_6m": 0.2},
        BUSIER={"txn_trend_3m": 0.5},
        STEADY={"trend_3m": np.nan, "trend_6m": np.nan, "txn_trend_3m": np.nan},
    )
    assert coded(lifecycle_stage(f), "stage") == {
        "NEW": ("NEW_RELATIONSHIP", {"months": 4, "products": 3}),
        "FALLING": ("AUM_DOWN_3M", {"pct": 38}),
        "QUIETER": ("TXN_DOWN_AUM_DOWN", {"txn_pct": 60, "aum_pct": 5}),
        "GROWING": ("AUM_UP_6M", {"pct": 20}),
        "BUSIER": ("TXN_UP_3M", {"pct": 50}),
        "STEADY": ("STABLE", {}),
    }


def test_motive_reasons_as_codes_and_params():
    f = features(
        BORROWER={"loan_balance": 250_000.4, "has_LOAN": True},
        LOAN_ACCOUNT={"has_LOAN": True},
        CORP_SETTLE={"customer_type": "C", "has_SETTLEMENT": True},
        INVESTOR={"wealth_fund_share": 0.45, "time_bond_share": 0.2},
        TRADER={"n_trades": 6.0, "time_bond_share": 0.8},
        SAVER={"time_bond_share": 0.7, "wealth_fund_share": 0.3},
        DEMAND_ONLY={},
    )
    assert coded(deposit_motive(f), "motive") == {
        "BORROWER": ("LOAN_BALANCE", {"amount": 250_000}),
        "LOAN_ACCOUNT": ("LOAN_ACCOUNT", {}),
        "CORP_SETTLE": ("CORPORATE_SETTLEMENT", {}),
        "INVESTOR": ("WEALTH_SHARE", {"pct": 45}),
        "TRADER": ("TRADES_12M", {"n": 6}),
        "SAVER": ("TIME_BOND_SHARE", {"pct": 70}),
        "DEMAND_ONLY": ("DEPOSITS_ONLY", {}),
    }


def test_need_mode_reasons_as_codes_and_params():
    f = features(
        ALL={"electronic_share": 0.9, "n_purchase": 2.0, "n_ebank_activated": 3.0},
        TWO={"electronic_share": 0.5, "n_ebank_activated": 2.0},
        ONE={"electronic_share": 0.8},
        NONE={},
    )
    assert coded(need_mode(f), "need_mode") == {
        "ALL": ("SIGNALS", {"electronic_pct": 90, "purchases": 2, "services": 3}),
        "TWO": ("SIGNALS", {"electronic_pct": 50, "services": 2}),
        "ONE": ("SIGNALS_WEAK", {"electronic_pct": 80}),
        "NONE": ("COUNTER_ONLY", {}),
    }


def random_features(n: int = 500, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            **{k: [v] * n for k, v in BASE.items()},
            "tenure_months": rng.integers(0, 30, n).astype(float),
            "n_products": rng.integers(0, 4, n).astype(float),
            "trend_3m": rng.normal(0, 0.4, n),
            "trend_6m": rng.normal(0, 0.4, n),
            "txn_trend_3m": rng.normal(0, 0.6, n),
            "n_txn_m0": rng.integers(0, 4, n).astype(float),
            "loan_balance": rng.choice([0.0, 123_456.7, 2e6], n),
            "has_LOAN": rng.random(n) < 0.1,
            "has_SETTLEMENT": rng.random(n) < 0.3,
            "customer_type": rng.choice(["P", "C"], n),
            "wealth_fund_share": rng.random(n),
            "time_bond_share": rng.random(n),
            "n_trades": rng.integers(0, 8, n).astype(float),
            "electronic_share": rng.random(n),
            "n_purchase": rng.integers(0, 3, n).astype(float),
            "n_ebank_activated": rng.integers(0, 4, n).astype(float),
        },
        index=[f"C{i}" for i in range(n)],
    )


def test_every_reason_has_a_code_from_the_list():
    f = random_features(n=400, seed=7)
    out = rule_attributes(f)
    for attr, codes in REASON_CODES.items():
        for code, params in coded(out, attr).values():
            assert code in codes
            assert set(params) <= set(codes[code])
