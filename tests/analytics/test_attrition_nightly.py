"""The nightly attrition step and P(alive) as a manager reads them (issue 13 item 8).

* the validation is out of time: the training labels never look into the validation months;
* the model is judged where a manager uses it (the top decile), against a baseline on the same
  rows, with a calibration table;
* a customer whose activity and AUM slide (a 衰退期 customer) gets a risk above the stable ones;
* P(alive) is shown only where BG/NBD says something: not 1 for a customer with ¥100 and one
  transaction long ago.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from qiao.analytics.attrition import (
    ATTRITION_FEATURES,
    apply_attrition,
    attrition_features_at,
    calibration_table,
    fit_attrition,
    fit_nightly_attrition,
    top_decile,
)
from qiao.analytics.clv.bgnbd import BetaGeoFitter
from qiao.analytics.clv.nightly import ClvFit, apply_clv
from qiao.analytics.features import day_number

MONTHS = 24
AS_OF = dt.date(2026, 9, 30)
CFG = {
    "horizon_months": 3,
    "drop_ratio": 0.5,
    "aum_floor": 1000.0,
    "panel_months": 6,
    "max_panel_rows": 400_000,
    "random_state": 0,
}


def month_ends(n: int = MONTHS) -> list[dt.date]:
    """Month 0 ends at AS_OF, month k k months earlier."""
    ends = pd.date_range(end=pd.Timestamp(AS_OF), periods=n, freq="ME")[::-1]
    return [d.date() for d in ends]


def series_bank(n: int = 6000, seed: int = 0) -> pd.DataFrame:
    """Monthly series (k = 0 now … 23) of customers of whom ~1.2 % a month start to leave.

    A leaver's decline starts at month index ``d`` (its AUM falls to 10 % within a month); in the
    3 months before, it transacts 70 % less and its AUM slides by 20 %: the warning a model should
    read. Everyone else walks randomly."""
    rng = np.random.default_rng(seed)
    ends = month_ends()
    k = np.arange(MONTHS)[None, :]
    level = np.exp(rng.normal(11.0, 1.0, n))[:, None]
    walk = np.cumsum(rng.normal(0.0, 0.04, (n, MONTHS))[:, ::-1], axis=1)[:, ::-1]
    leaver = rng.random(n) < 0.25
    d = np.where(leaver, rng.integers(-3, MONTHS - 4, n), -100)[:, None]  # -3…-1: not yet
    warn = np.clip((d + 4 - k) / 4.0, 0.0, 1.0) * (k > d)  # 0 → 1 over the 3 months before d
    factor = np.where(k <= d, 0.1, 1.0 - 0.2 * warn)
    aum = level * np.exp(walk) * factor
    rate = np.exp(rng.normal(1.5, 0.6, n))[:, None] * np.where(k <= d, 0.1, 1.0 - 0.7 * warn)
    n_txn = rng.poisson(rate).astype(float)
    out: dict[str, np.ndarray] = {}
    day0 = np.array([day_number(e) for e in ends], dtype=np.float64)
    for j in range(MONTHS):
        out[f"aum_m{j}"] = aum[:, j]
        out[f"deposits_m{j}"] = 0.7 * aum[:, j]
        out[f"n_txn_m{j}"] = n_txn[:, j]
        out[f"inflow_m{j}"] = 0.05 * aum[:, j]
        out[f"outflow_m{j}"] = 0.05 * aum[:, j] + np.where(k[0, j] == d[:, 0], 0.9 * aum[:, j], 0)
        out[f"n_accounts_m{j}"] = np.full(n, 2.0)
        out[f"last_ci_day_m{j}"] = np.where(n_txn[:, j] > 0, day0[j] - 3.0, np.nan)
    out["tenure_months"] = rng.integers(30, 200, n).astype(float)
    out["age"] = rng.integers(20, 80, n).astype(float)
    frame = pd.DataFrame(out, index=pd.Index([f"P{i:07d}" for i in range(n)], name="customer_no"))
    frame["customer_type"] = "P"
    frame["leaving_soon"] = (d[:, 0] < 0) & leaver  # in their warning months today
    return frame


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def bank() -> pd.DataFrame:
    return series_bank()


@pytest.fixture(scope="module")
def nightly(bank: pd.DataFrame):
    return fit_nightly_attrition(bank, month_ends(), CFG)


# ------------------------------------------------------------------------ an honest time split


def test_the_validation_is_out_of_time(nightly) -> None:
    """No training label may look into the validation months: with a 3-month label, the two
    month ends before the first validation date are left out (they were training rows before)."""
    fit, diag = nightly
    m = fit.metrics
    train = sorted(pd.Timestamp(p) for p in m["train_periods"])
    val = sorted(pd.Timestamp(p) for p in m["val_periods"])
    gap = sorted(pd.Timestamp(p) for p in m["gap_periods"])
    assert len(gap) == CFG["horizon_months"] - 1
    # a training row's label is AUM horizon months after its as_of: known by the first val date
    assert train[-1] + pd.offsets.MonthEnd(CFG["horizon_months"]) <= val[0]
    assert train[-1] < gap[0] <= gap[-1] < val[0]
    assert m["n_train"] + m["n_val"] < diag["panel_rows"]  # the gap's rows are in neither


def test_gap_periods_leave_out_the_dates_before_validation() -> None:
    rng = np.random.default_rng(1)
    dates = pd.date_range("2025-01-31", periods=6, freq="ME")
    n = 400
    panel = pd.DataFrame(
        {
            "as_of": np.repeat(dates, n),
            "x": rng.normal(size=6 * n),
        }
    )
    panel["label"] = (rng.random(len(panel)) < 1 / (1 + np.exp(3 - 2 * panel["x"]))).astype(int)
    plain = fit_attrition(panel, feature_cols=["x"], n_val_periods=2)
    purged = fit_attrition(panel, feature_cols=["x"], n_val_periods=2, gap_periods=2)
    assert [pd.Timestamp(p) for p in plain.metrics["train_periods"]] == list(dates[:4])
    assert [pd.Timestamp(p) for p in purged.metrics["train_periods"]] == list(dates[:2])
    assert [pd.Timestamp(p) for p in purged.metrics["gap_periods"]] == list(dates[2:4])
    assert purged.metrics["n_train"] == 2 * n and purged.metrics["n_val"] == 2 * n
    assert purged.metrics["val_periods"] == plain.metrics["val_periods"]
    with pytest.raises(ValueError, match="gap_periods"):
        fit_attrition(panel, feature_cols=["x"], gap_periods=-1)


# ------------------------------------------------------------ judged where a manager uses it


def test_top_decile_and_baselines_on_the_same_validation_rows(nightly) -> None:
    fit, _ = nightly
    m = fit.metrics
    for key in ("top_decile_precision", "top_decile_recall", "top_decile_lift"):
        assert 0.0 <= m[key] <= (1.0 if key != "top_decile_lift" else 10.0)
    assert m["top_decile_rows"] == round(0.1 * m["n_val"])
    assert set(m["baselines"]) == {"aum_trend_3m", "logistic"}
    for base in m["baselines"].values():
        assert base["top_decile_rows"] == m["top_decile_rows"]
        assert 0.0 <= base["auc"] <= 1.0
    # the warning signs are in the data: the model finds most leavers in its top decile
    assert m["top_decile_recall"] > 0.5 and m["auc"] > 0.8
    # and the AUM trend alone, which reads only one of the signs, does not do better
    assert m["auc"] >= m["baselines"]["aum_trend_3m"]["auc"] - 0.01


def test_calibration_table_by_decile(nightly) -> None:
    fit, _ = nightly
    table = fit.metrics["calibration"]
    assert [r["decile"] for r in table] == list(range(1, 11))
    assert sum(r["n"] for r in table) == fit.metrics["n_val"]
    predicted = [r["predicted"] for r in table]
    assert predicted == sorted(predicted)
    # calibrated where it matters: the riskiest decile's prediction within a factor 2 of what
    # happened, and the safest decile's far below it
    top = table[-1]
    assert 0.5 * top["observed"] <= top["predicted"] <= 2.0 * top["observed"]
    assert table[0]["observed"] < top["observed"]


def test_top_decile_by_hand() -> None:
    y = np.array([0, 1, 0, 0, 1, 0, 0, 0, 0, 0] * 2)
    score = np.arange(20, dtype=float)  # rows 18 and 19 are the top 10 %
    y[19] = 1
    out = top_decile(y, score)
    assert out["top_decile_rows"] == 2
    assert out["top_decile_precision"] == 0.5
    assert out["top_decile_recall"] == pytest.approx(1 / y.sum())
    assert out["top_decile_lift"] == pytest.approx(0.5 / (y.sum() / 20))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=200),
    st.integers(1, 12),
)
def test_calibration_table_keeps_every_row(rows: list[tuple[float, bool]], bins: int) -> None:
    p = np.array([r[0] for r in rows])
    y = np.array([int(r[1]) for r in rows])
    table = calibration_table(y, p, bins=bins)
    assert sum(r["n"] for r in table) == len(rows)
    assert sum(r["observed"] * r["n"] for r in table) == pytest.approx(y.sum())
    assert all(0.0 <= r["predicted"] <= 1.0 for r in table)
    top = top_decile(y, p)
    assert 0.0 <= top["top_decile_precision"] <= 1.0


# --------------------------------------------------- the stage and the risk read the same signs


def test_a_declining_customer_gets_a_risk_above_the_stable_ones(
    bank: pd.DataFrame, nightly
) -> None:
    """Customers in their warning months today (transactions down ~60 %, AUM sliding): what the
    lifecycle stage calls 衰退期. Their risk is well above the stable customers' and is not 0."""
    fit, diag = nightly
    scores = apply_attrition(fit, bank, month_ends(), CFG, diag)
    now = attrition_features_at(bank, 0, month_ends())
    soon = bank["leaving_soon"].to_numpy()
    falling = (now["txn_trend_3m"] <= -0.5).to_numpy() & (now["trend_3m"] < 0).to_numpy()
    stable = ~bank["leaving_soon"].to_numpy() & (now["trend_3m"].abs() < 0.05).to_numpy()
    prob = scores.prob.to_numpy()
    assert (soon & falling).sum() >= 10
    assert np.nanmedian(prob[soon & falling]) > 5 * np.nanmedian(prob[stable])
    assert np.nanmedian(prob[soon & falling]) >= 0.01  # shown as a percentage, not as 0 %
    assert set(ATTRITION_FEATURES) >= {"txn_trend_1m", "trend_1m", "months_aum_down"}


# --------------------------------------------------------------------------------- P(alive)


def clv_frame(rows: list[dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, index=[f"P{i}" for i in range(len(rows))])


def bgnbd_sample(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) in days drawn from the BG/NBD process itself: a transaction every ~20 days
    while active, a 5 % chance of dropping out after each, observed for 700 days."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(3.0, 1 / 60.0, n)
    p = rng.beta(1.0, 19.0, n)
    big_t = np.full(n, 700.0)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > big_t[i]:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < p[i]:
                break
    return x, np.floor(t_x), big_t


def test_p_alive_only_where_bg_nbd_says_something() -> None:
    """A customer with ¥100 and a single transaction day 600 days ago used to get P(alive) 1
    (BG/NBD cannot lose a customer without a repeat transaction); now none, and a customer who
    holds nothing gets 0. A monthly transactor is near 1; one silent for long after a regular
    rhythm is not."""
    model = BetaGeoFitter().fit(*bgnbd_sample(2000))
    fit = ClvFit(model=model)
    frame = clv_frame(
        [
            # ¥100, one transaction day (x = 0) 600 days ago
            {"rfm_has_txn": 1, "rfm_x": 0, "rfm_t_x": 0, "rfm_T": 600, "aum": 100, "n_accounts": 1},
            # ¥100, no transaction of their own at all
            {"rfm_has_txn": 0, "rfm_x": 0, "rfm_t_x": 0, "rfm_T": 0, "aum": 100, "n_accounts": 1},
            # holds nothing any more
            {"rfm_has_txn": 1, "rfm_x": 3, "rfm_t_x": 50, "rfm_T": 600, "aum": 0, "n_accounts": 0},
            # transacts monthly, last a few days ago
            {
                "rfm_has_txn": 1,
                "rfm_x": 23,
                "rfm_t_x": 695,
                "rfm_T": 700,
                "aum": 50000,
                "n_accounts": 2,
            },
            # transacted monthly for a year, silent for the last 400 days
            {
                "rfm_has_txn": 1,
                "rfm_x": 12,
                "rfm_t_x": 300,
                "rfm_T": 700,
                "aum": 100,
                "n_accounts": 1,
            },
        ]
    )
    cfg = {"horizon_months": 12, "monthly_discount": 0.01}
    out, _ = apply_clv(fit, frame, pd.Series(np.full(len(frame), 10.0)), cfg)
    p = out.p_alive
    assert np.isnan(p[0]) and np.isnan(p[1])
    assert p[2] == 0.0
    assert p[3] > 0.95
    assert p[4] < 0.5
    # the value of a customer who holds something does not depend on their transacting
    assert out.clv[1] > 0 and out.clv[0] > 0


def test_no_reason_says_a_change_of_0_percent(bank: pd.DataFrame, nightly) -> None:
    fit, diag = nightly
    scores = apply_attrition(fit, bank, month_ends(), CFG, diag)
    texts = [t for row in scores.reasons for t in json.loads(row)]
    assert texts, "some customers have reasons"
    assert not [t for t in texts if " 0 % " in f"{t} "], "a 0 % change given as a reason"
