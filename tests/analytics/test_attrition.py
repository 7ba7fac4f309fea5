"""Attrition model: time-based validation, calibrated probabilities, reasons, thin data."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from qiao.analytics.attrition import (
    NOT_ENOUGH_HISTORY,
    AttritionModel,
    AttritionResult,
    fit_attrition,
    reason_code,
    render_reason,
)

FEATURES = ["trend_3m", "recency_days", "aum", "n_products", "tenure_months", "noise"]
DATES = pd.date_range("2025-01-31", periods=6, freq="ME")


def synthetic_panel(n_customers: int = 2500, seed: int = 0) -> pd.DataFrame:
    """Label driven by a falling AUM trend (and weakly by recency); other columns are noise."""
    rng = np.random.default_rng(seed)
    frames = []
    for as_of in DATES:
        n = n_customers
        trend = rng.normal(0.0, 0.25, n)
        recency = rng.exponential(30.0, n)
        logit = -3.2 - 7.0 * trend + 0.01 * (recency - 30.0)
        label = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
        frames.append(
            pd.DataFrame(
                {
                    "customer_no": [f"C{i:05d}" for i in range(n)],
                    "as_of": as_of,
                    "trend_3m": trend,
                    "recency_days": recency,
                    "aum": np.exp(rng.normal(11.0, 1.0, n)),
                    "n_products": rng.integers(1, 6, n).astype(float),
                    "tenure_months": rng.integers(1, 240, n).astype(float),
                    "noise": rng.normal(size=n),
                    "label": label,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    # The data are small: OpenMP threads only add spin-waiting when the machine is busy.
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return synthetic_panel()


@pytest.fixture(scope="module")
def fitted(panel: pd.DataFrame) -> AttritionResult:
    return fit_attrition(panel, feature_cols=FEATURES, random_state=0)


def test_time_based_validation(panel: pd.DataFrame, fitted: AttritionResult) -> None:
    m = fitted.metrics
    assert "warning" not in m
    assert m["auc"] > 0.8
    assert max(pd.Timestamp(p) for p in m["train_periods"]) < min(
        pd.Timestamp(p) for p in m["val_periods"]
    )
    assert [pd.Timestamp(p) for p in m["val_periods"]] == list(DATES[-2:])
    assert m["n_val"] == int((panel["as_of"] >= DATES[-2]).sum())
    assert m["n_train"] + m["n_val"] == len(panel)
    assert m["base_rate"] == pytest.approx(panel["label"].mean())
    assert 0.0 < m["threshold"] < 1.0
    assert 0.0 < m["precision"] <= 1.0 and 0.0 < m["recall"] <= 1.0
    # The metrics describe a model that never saw the validation rows.
    assert fitted.validation_model is not None
    train = panel[panel["as_of"] < DATES[-2]]
    assert fitted.validation_model.medians_["aum"] == pytest.approx(train["aum"].median())
    assert fitted.model.medians_["aum"] == pytest.approx(panel["aum"].median())


def test_threshold_maximises_f1_and_metrics_agree(
    panel: pd.DataFrame, fitted: AttritionResult
) -> None:
    assert fitted.validation_model is not None
    val = panel[panel["as_of"] >= DATES[-2]]
    p = fitted.validation_model.predict_proba(val[FEATURES])[:, 1]
    y = val["label"].to_numpy()

    def f1(t: float) -> float:
        pred = p >= t
        tp = (pred & (y == 1)).sum()
        return 0.0 if tp == 0 else 2 * tp / (pred.sum() + y.sum())

    best = f1(fitted.metrics["threshold"])
    assert all(best >= f1(t) - 1e-12 for t in np.linspace(0.02, 0.9, 45))
    pred = p >= fitted.metrics["threshold"]
    assert fitted.metrics["precision"] == pytest.approx(y[pred].mean())
    assert fitted.metrics["recall"] == pytest.approx(pred[y == 1].mean())


def test_feature_importance_ranks_the_driver(fitted: AttritionResult) -> None:
    imp = fitted.metrics["feature_importance"]
    assert list(imp)[0] == "trend_3m"
    assert len(imp) <= 10
    assert imp["trend_3m"] > 10 * max(abs(imp["noise"]), 1e-6)
    assert fitted.model.reason_features_[0] == "trend_3m"


def test_probabilities_are_calibrated_to_the_base_rate(
    panel: pd.DataFrame, fitted: AttritionResult
) -> None:
    # Balanced class weights inflate raw probabilities; the prior correction undoes it.
    p = fitted.model.predict_proba(panel[FEATURES])[:, 1]
    assert p.mean() == pytest.approx(panel["label"].mean(), rel=0.25)
    assert fitted.model.estimator_ is not None
    raw = fitted.model.estimator_.predict_proba(panel[FEATURES].to_numpy())[:, 1]
    assert raw.mean() > 2 * p.mean()


def test_reasons_mention_the_driving_feature(panel: pd.DataFrame, fitted: AttritionResult) -> None:
    latest = panel[panel["as_of"] == DATES[-1]]
    out = fitted.predict(latest)
    assert list(out.columns) == ["customer_no", "attrition_prob", "reasons", "reason_codes"]
    assert list(out["customer_no"]) == list(latest["customer_no"])
    assert out["attrition_prob"].between(0, 1).all()
    top = out.nlargest(20, "attrition_prob")
    for reasons, codes in zip(top["reasons"], top["reason_codes"], strict=True):
        assert 1 <= len(reasons) <= 3 and len(codes) == len(reasons)
        assert reasons[0].startswith("AUM down ") and reasons[0].endswith(
            " % over the last 3 months"
        )
        assert codes[0][0] == "trend_3m" and codes[0][1] < 0
    # The text carries the customer's own number.
    first = top.iloc[0]
    pct = round(-first["reason_codes"][0][1] * 100)
    assert first["reasons"][0] == f"AUM down {pct} % over the last 3 months"
    # Customers whose AUM grows strongly never get a falling-AUM reason.
    growing = out[latest["trend_3m"].to_numpy() > 0.3]
    assert len(growing) > 0
    assert not any(r.startswith("AUM down") for rs in growing["reasons"] for r in rs)


def test_predict_accepts_customer_no_as_index(fitted: AttritionResult, panel: pd.DataFrame) -> None:
    latest = panel[panel["as_of"] == DATES[-1]].head(50)
    by_index = fitted.predict(latest.set_index("customer_no")[FEATURES])
    by_col = fitted.predict(latest)
    assert list(by_index["customer_no"]) == list(by_col["customer_no"])
    assert np.allclose(by_index["attrition_prob"], by_col["attrition_prob"])


def test_thin_data_returns_base_rate(panel: pd.DataFrame) -> None:
    small = panel.head(150)
    res = fit_attrition(small, feature_cols=FEATURES)
    assert "warning" in res.metrics and "150" in res.metrics["warning"]
    out = res.predict(panel.head(5))
    assert np.allclose(out["attrition_prob"], small["label"].mean())
    assert all(r == [NOT_ENOUGH_HISTORY] for r in out["reasons"])

    one_class = panel.assign(label=0)
    res1 = fit_attrition(one_class, feature_cols=FEATURES)
    assert "only one class" in res1.metrics["warning"]
    assert np.allclose(res1.predict(panel.head(5))["attrition_prob"], 0.0)

    one_date = panel[panel["as_of"] == DATES[0]]
    res2 = fit_attrition(one_date, feature_cols=FEATURES)
    assert "single as_of" in res2.metrics["warning"]


def test_few_periods_shrink_the_validation(panel: pd.DataFrame) -> None:
    two = panel[panel["as_of"] <= DATES[1]]
    res = fit_attrition(two, feature_cols=FEATURES, n_val_periods=2)
    assert "warning" not in res.metrics
    assert len(res.metrics["val_periods"]) == 1
    assert any("validating on the last 1" in n for n in res.metrics["notes"])
    assert {"code": "FEW_PERIODS", "params": {"n": 2, "n_val": 1}} in res.metrics["note_codes"]
    assert len(res.metrics["note_codes"]) == len(res.metrics["notes"])


def test_bad_input_is_refused(panel: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="required column missing_col missing"):
        fit_attrition(panel, feature_cols=["missing_col"])
    with pytest.raises(ValueError, match="0 or 1"):
        fit_attrition(panel.assign(label=2), feature_cols=FEATURES)
    with pytest.raises(ValueError, match="not numeric"):
        AttritionModel().fit(panel[["customer_no"]], panel["label"])


def test_reason_templates() -> None:
    assert render_reason("trend_3m", -0.38, 0.0) == "AUM down 38 % over the last 3 months"
    assert render_reason("recency_days", 95.0, 20.0) == "no transactions for 95 days"
    assert (
        render_reason("td_maturing_30d", 200000.0, 0.0)
        == "time deposit of ¥200,000 matures within 30 days"
    )
    assert render_reason("n_products", 1.0, 3.0) == "holds only 1 product"
    assert render_reason("contacts_90d", 0.0, 2.0) == (
        "no contact from the customer manager in the last 90 days"
    )
    assert render_reason("ebank_services", 0.0, 2.0) == "uses no e-banking services"
    assert render_reason("tenure_months", 8.0, 60.0) == "customer for only 8 months"
    assert render_reason("mystery", 9.5, 1.0) == "mystery unusually high (9.5; typical 1)"
    assert render_reason("mystery", 0.1, 1.0).startswith("mystery unusually low")
    assert render_reason("aum", float("nan"), 1.0) == "aum not recorded"
    assert render_reason("recency_days", float("nan"), 1.0) == "no transactions on record"
    assert render_reason("trend_6m", 0.125, 0.0) == "AUM up 13 % over the last 6 months"
    assert render_reason("txn_trend_3m", -0.5, 0.0) == (
        "transactions down 50 % in the last 3 months (vs the 3 months before)"
    )
    assert render_reason("liquidity", 0.86, 0.4) == (
        "86 % of deposits are demand deposits that can leave at once"
    )
    assert render_reason("frequency", 2.0, 9.0) == (
        "only 2 transactions in the last 12 months (typical 9)"
    )
    assert render_reason("amt_large_out_30d", 512345.0, 0.0) == (
        "large outflows of ¥512,345 in the last 30 days"
    )


def test_reason_codes_follow_the_english_choices() -> None:
    assert reason_code("trend_3m", -0.38, 0.0) == ("AUM_DOWN", {"pct": 38, "months": 3})
    assert reason_code("trend_6m", 0.125, 0.0) == ("AUM_UP", {"pct": 13, "months": 6})
    assert reason_code("txn_trend_3m", -0.5, 0.0) == ("TXN_DOWN_3M", {"pct": 50})
    assert reason_code("recency_days", 95.0, 20.0) == ("NO_TXN_DAYS", {"days": 95})
    assert reason_code("recency_days", 5.0, 20.0) == ("LAST_TXN_DAYS", {"days": 5})
    assert reason_code("recency_days", float("nan"), 1.0) == ("NO_TXN_ON_RECORD", {})
    assert reason_code("aum", 8000.4, 50000.0) == ("AUM_LOW", {"amount": 8000, "typical": 50000})
    assert reason_code("n_products", 1.0, 3.0) == ("PRODUCTS_FEW", {"n": 1})
    assert reason_code("frequency", 2.0, 9.0) == ("TXN_12M_FEW", {"n": 2, "typical": 9})
    assert reason_code("contacts_90d", 0.0, 2.0) == ("NO_CONTACT_90D", {})
    assert reason_code("contacts_90d", 4.0, 2.0) == ("CONTACTS_90D", {"n": 4, "typical": 2})
    assert reason_code("liquidity", 0.86, 0.4) == ("DEMAND_SHARE_HIGH", {"pct": 86})
    assert reason_code("amt_large_out_30d", 512345.0, 0.0) == (
        "LARGE_OUTFLOWS_30D",
        {"amount": 512345},
    )
    assert reason_code("td_maturing_30d", 2e5, 0.0) == ("TD_MATURING_30D", {"amount": 200000})
    assert reason_code("ebank_services", 0.0, 2.0) == ("NO_EBANK", {})
    assert reason_code("n_ebank_activated", 1.0, 2.0) == ("EBANK_FEW", {"n": 1})
    assert reason_code("tenure_months", 8.0, 60.0) == ("TENURE_SHORT", {"n": 8})
    assert reason_code("mystery", 9.5, 1.0) == (
        "UNUSUAL_HIGH",
        {"feature": "mystery", "value": 9.5, "typical": 1.0},
    )
    assert reason_code("aum", float("nan"), 1.0) == ("NOT_RECORDED", {"feature": "aum"})
    assert reason_code("not_enough_history", None, float("nan")) == ("NOT_ENOUGH_HISTORY", {})


def test_every_reason_code_comes_with_the_prediction(panel: pd.DataFrame, fitted: AttritionResult):
    latest = panel[panel["as_of"] == DATES[-1]]
    out = fitted.predict(latest)
    medians = fitted.model.medians_
    for texts, codes in zip(out["reasons"], out["reason_codes"], strict=True):
        for text, (feature, value) in zip(texts, codes, strict=True):
            assert render_reason(feature, value, medians[feature]) == text
            code, params = reason_code(feature, value, medians[feature])
            assert code and all(isinstance(v, int | float | str) for v in params.values())
