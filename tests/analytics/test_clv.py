"""Lifetime-value models (qiao.analytics.clv) against the CDNOW data shipped in ``lifetimes``.

Golden values: Fader, Hardie & Lee (2005) and Fader & Hardie's notes on the CDNOW 1/10th sample
(2,357 customers, 39 weeks). ``lifetimes`` 0.11.3 is the reference implementation for the
summaries, the calibration/holdout split and the predictions.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lifetimes import BetaGeoFitter as LtBetaGeo
from lifetimes import GammaGammaFitter as LtGammaGamma
from lifetimes import ParetoNBDFitter as LtParetoNBD
from lifetimes.utils import calibration_and_holdout_data as lt_calibration_and_holdout
from lifetimes.utils import summary_data_from_transaction_data
from scipy.optimize import check_grad
from sklearn.base import clone

from qiao.analytics.clv import (
    BetaGeoFitter,
    ConvergenceWarning,
    GammaGammaFitter,
    MissingColumnError,
    ParetoNBDFitter,
    calibration_and_holdout_data,
    holdout_report,
    summary_from_transactions,
)
from qiao.analytics.clv._base import RFMPatterns
from qiao.analytics.clv.bgnbd import _bgnbd_objective
from qiao.analytics.clv.gammagamma import _gg_objective
from qiao.analytics.clv.paretonbd import _paretonbd_objective

DATASETS = importlib.resources.files("lifetimes") / "datasets"
CDNOW_SUMMARY = Path(str(DATASETS / "cdnow_customers_summary.csv"))
CDNOW_MONETARY = Path(str(DATASETS / "cdnow_customers_summary_with_transactions.csv"))
CDNOW_MASTER = Path(str(DATASETS / "CDNOW_master.txt"))
REPO = Path(__file__).resolve().parents[2]
REL = 0.005  # golden values: within 0.5 %


def rel_close(actual: float, expected: float, rel: float = REL) -> bool:
    return abs(actual - expected) <= rel * abs(expected)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(CDNOW_SUMMARY)


@pytest.fixture(scope="module")
def cdnow_monetary() -> pd.DataFrame:
    frame = pd.read_csv(CDNOW_MONETARY)
    frame.columns = [c.strip() for c in frame.columns]
    return frame


@pytest.fixture(scope="module")
def cdnow_master() -> pd.DataFrame:
    raw = pd.read_csv(CDNOW_MASTER, sep=r"\s+", dtype={"customer_id": str, "date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw


@pytest.fixture(scope="module")
def bg(cdnow: pd.DataFrame) -> BetaGeoFitter:
    return BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="module")
def pareto(cdnow: pd.DataFrame) -> ParetoNBDFitter:
    return ParetoNBDFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    )
    return subprocess.run(
        [sys.executable, "-m", "qiao.analytics.clv.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
        check=False,
    )


# --------------------------------------------------------------------------- golden values


def test_bgnbd_reproduces_fader_hardie_lee_cdnow(bg: BetaGeoFitter) -> None:
    expected = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in expected.items():
        assert rel_close(bg.params_[name], value), (name, bg.params_[name])
    assert rel_close(bg.loglik_, -9582.4)
    assert abs(bg.loglik_ - (-9582.4)) < 0.1
    assert bg.converged_ is True
    assert bg.n_ == 2357
    assert bg.n_iter_ > 0


def test_paretonbd_reproduces_cdnow(pareto: ParetoNBDFitter) -> None:
    # Fader, Hardie & Lee's MATLAB note (brucehardie.com/notes/008) on the same data:
    # r = 0.5534, alpha = 10.5802, s = 0.6061, beta = 11.6562, LL = -9595.0.
    # (Rounded to two digits, 0.55 and 0.61, they are 0.6 % away from the optimum.)
    expected = {"r": 0.5534, "alpha": 10.5802, "s": 0.6061, "beta": 11.6562}
    for name, value in expected.items():
        assert rel_close(pareto.params_[name], value), (name, pareto.params_[name])
    assert abs(pareto.loglik_ - (-9595.0)) < 0.1
    assert pareto.converged_ is True
    # the brief's two-digit values, at a tolerance matching their rounding
    for name, value in {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}.items():
        assert rel_close(pareto.params_[name], value, rel=0.01), name


def test_gammagamma_reproduces_cdnow(cdnow_monetary: pd.DataFrame) -> None:
    gg = GammaGammaFitter().fit(cdnow_monetary["x"], cdnow_monetary["zbar"])
    assert gg.n_ == 946  # only the repeat buyers
    for name, value in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert rel_close(gg.params_[name], value), (name, gg.params_[name])
    assert gg.converged_ is True
    # passing only the repeat buyers gives the same fit
    repeat = cdnow_monetary[cdnow_monetary["x"] > 0]
    gg2 = GammaGammaFitter().fit(repeat["x"], repeat["zbar"])
    assert gg2.params_ == pytest.approx(gg.params_, rel=1e-8)


# --------------------------------------------------------------------------- against lifetimes


def test_bgnbd_predictions_match_lifetimes(cdnow: pd.DataFrame, bg: BetaGeoFitter) -> None:
    ref = LtBetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    for name in ("r", "alpha", "a", "b"):
        assert bg.params_[name] == pytest.approx(ref.params_[name], rel=1e-4)
    x, tx, T = (cdnow[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    for t in (1.0, 10.0, 39.0, 520.0):
        ours = bg.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T)
        theirs = ref.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T)
        np.testing.assert_allclose(ours, theirs, rtol=1e-4)
    np.testing.assert_allclose(
        bg.conditional_probability_alive(x, tx, T),
        ref.conditional_probability_alive(x, tx, T),
        rtol=1e-4,
    )
    ts = np.array([0.5, 10.0, 39.0, 78.0])
    np.testing.assert_allclose(
        bg.expected_number_of_purchases_up_to_time(ts),
        ref.expected_number_of_purchases_up_to_time(ts),
        rtol=1e-4,
    )
    assert bg.conditional_expected_number_of_purchases_up_to_time(0.0, 3, 20.0, 39.0) == 0.0


def test_paretonbd_predictions_match_lifetimes(
    cdnow: pd.DataFrame, pareto: ParetoNBDFitter
) -> None:
    ref = LtParetoNBD()
    ref.params_ = pd.Series(pareto.params_)  # same parameters: compare the formulas only
    x, tx, T = (cdnow[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    np.testing.assert_allclose(
        pareto.conditional_probability_alive(x, tx, T),
        ref.conditional_probability_alive(x, tx, T),
        rtol=1e-8,
    )
    np.testing.assert_allclose(
        pareto.conditional_expected_number_of_purchases_up_to_time(39.0, x, tx, T),
        ref.conditional_expected_number_of_purchases_up_to_time(39.0, x, tx, T),
        rtol=1e-8,
    )
    ts = np.array([1.0, 39.0, 78.0])
    np.testing.assert_allclose(
        pareto.expected_number_of_purchases_up_to_time(ts),
        ref.expected_number_of_purchases_up_to_time(ts),
        rtol=1e-10,
    )


def test_customer_lifetime_value_matches_lifetimes(
    cdnow_monetary: pd.DataFrame, bg: BetaGeoFitter
) -> None:
    data = cdnow_monetary
    gg = GammaGammaFitter().fit(data["x"], data["zbar"])
    ref_bg = LtBetaGeo().fit(data["x"], data["t_x"], data["T"])
    repeat = data[data["x"] > 0]
    ref_gg = LtGammaGamma().fit(repeat["x"], repeat["zbar"])
    head = data.iloc[:200]
    ours = gg.customer_lifetime_value(
        bg, head["x"], head["t_x"], head["T"], head["zbar"], time=12, discount_rate=0.01, freq="W"
    )
    theirs = ref_gg.customer_lifetime_value(
        ref_bg, head["x"], head["t_x"], head["T"], head["zbar"], time=12, freq="W"
    )
    np.testing.assert_allclose(ours, theirs.to_numpy(), rtol=1e-4)
    assert (ours > 0).all()
    spend = gg.conditional_expected_average_profit(head["x"], head["zbar"])
    np.testing.assert_allclose(
        spend, ref_gg.conditional_expected_average_profit(head["x"], head["zbar"]), rtol=1e-4
    )
    # a customer without repeat purchases is expected to spend the population mean
    p, q, g = gg.params_["p"], gg.params_["q"], gg.params_["gamma"]
    assert gg.conditional_expected_average_profit(0, 0.0) == pytest.approx(p * g / (q - 1))


def test_penalizer_matches_lifetimes(cdnow: pd.DataFrame) -> None:
    ours = BetaGeoFitter(penalizer_coef=0.1).fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    ref = LtBetaGeo(penalizer_coef=0.1).fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    for name in ("r", "alpha", "a", "b"):
        assert ours.params_[name] == pytest.approx(ref.params_[name], rel=1e-3)
    assert ours.get_params()["penalizer_coef"] == 0.1


@pytest.mark.parametrize("cls", [BetaGeoFitter, ParetoNBDFitter, GammaGammaFitter])
def test_fitters_clone_and_the_clone_refits_to_the_same_parameters(
    cls: type[Any], cdnow: pd.DataFrame, cdnow_monetary: pd.DataFrame
) -> None:
    """scikit-learn's contract: ``clone`` copies the constructor parameters, not the fit."""
    original = cls(penalizer_coef=0.01, tol=1e-8, max_iter=500, min_customers=10)
    if cls is GammaGammaFitter:
        data = (cdnow_monetary["x"], cdnow_monetary["zbar"])
    else:
        data = (cdnow["frequency"], cdnow["recency"], cdnow["T"])
    original.fit(*data)
    copy = clone(original)
    assert type(copy) is cls and copy is not original
    assert copy.get_params() == original.get_params()
    assert not hasattr(copy, "params_")
    assert copy.fit(*data).params_ == original.params_
    assert copy.set_params(penalizer_coef=0.0) is copy and copy.penalizer_coef == 0.0
    assert original.get_params()["penalizer_coef"] == 0.01


def test_weights_equal_repeated_rows(cdnow: pd.DataFrame) -> None:
    grouped = cdnow.groupby(["frequency", "recency", "T"]).size().reset_index(name="w")
    for cls in (BetaGeoFitter, ParetoNBDFitter):
        full = cls().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
        weighted = cls().fit(grouped["frequency"], grouped["recency"], grouped["T"], grouped["w"])
        assert weighted.n_ == full.n_ == 2357
        assert weighted.loglik_ == pytest.approx(full.loglik_, rel=1e-9)
        for name, value in full.params_.items():
            assert weighted.params_[name] == pytest.approx(value, rel=1e-5)


# --------------------------------------------------------------------------- gradients


def central_diff(f: Any, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        grad[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


def test_analytic_gradients_match_finite_differences(
    cdnow: pd.DataFrame, cdnow_monetary: pd.DataFrame
) -> None:
    x, tx, T = (cdnow[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    data = RFMPatterns.build(x, tx / T.max(), T / T.max(), np.ones_like(x))
    points = [
        np.zeros(4),
        np.log([0.243, 4.414 / 38.86, 0.793, 2.426]),
        np.array([1.0, -2.0, 0.5, -0.3]),
        np.array([-1.5, 1.0, -2.0, 2.0]),
    ]
    for objective in (_bgnbd_objective, _paretonbd_objective):
        for lp in points:
            for pen in (0.0, 0.3):

                def f(p: np.ndarray, obj: Any = objective, pen: float = pen) -> float:
                    return float(obj(p, data, pen)[0])

                analytic = objective(lp, data, pen)[1]
                numeric = central_diff(f, lp)
                scale = max(1.0, float(np.max(np.abs(numeric))))
                assert np.max(np.abs(analytic - numeric)) < 1e-6 * scale, (objective, lp)

    # scipy's check_grad (forward differences) on the BG/NBD likelihood
    for lp in points:
        err = check_grad(
            lambda p: _bgnbd_objective(p, data)[0], lambda p: _bgnbd_objective(p, data)[1], lp
        )
        assert err < 1e-5

    rep = cdnow_monetary[cdnow_monetary["x"] > 0]
    fx = rep["x"].to_numpy(dtype=float)
    m = rep["zbar"].to_numpy(dtype=float) / rep["zbar"].mean()
    w = np.ones_like(fx)
    for lp in (np.zeros(3), np.log([6.25, 3.74, 1.0]), np.array([-1.0, 2.0, 0.5])):
        analytic = _gg_objective(lp, fx, m, w)[1]
        numeric = central_diff(lambda p: _gg_objective(p, fx, m, w)[0], lp)
        assert np.max(np.abs(analytic - numeric)) < 1e-6 * max(1.0, np.max(np.abs(numeric)))


# --------------------------------------------------------------------------- convergence


def test_thin_data_warns_and_flags_not_converged(cdnow: pd.DataFrame) -> None:
    few = cdnow.iloc[:12]
    with pytest.warns(ConvergenceWarning, match="only 12 customers"):
        model = BetaGeoFitter().fit(few["frequency"], few["recency"], few["T"])
    assert model.converged_ is False
    assert set(model.params_) == {"r", "alpha", "a", "b"}  # best effort is still stored


def test_no_repeat_buyers_warns() -> None:
    n = 200
    x, tx, T = np.zeros(n), np.zeros(n), np.linspace(1.0, 39.0, n)
    for cls in (BetaGeoFitter, ParetoNBDFitter):
        with pytest.warns(ConvergenceWarning, match="no customer made a repeat purchase"):
            model = cls().fit(x, tx, T)
        assert model.converged_ is False


def test_iteration_limit_warns(cdnow: pd.DataFrame) -> None:
    with pytest.warns(ConvergenceWarning, match="without converging"):
        model = ParetoNBDFitter(max_iter=2).fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert model.converged_ is False
    assert model.n_iter_ <= 2


def test_good_fit_does_not_warn(cdnow: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert model.converged_ is True


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([1, -1, 0], [1.0, 0.0, 0.0], [5.0, 5.0, 5.0], r"frequency: negative value -1\.0 at row 1"),
        (
            [1, 1, 0],
            [1.0, 6.0, 0.0],
            [5.0, 5.0, 5.0],
            r"recency: value 6\.0 is larger than T=5\.0 at row 1",
        ),
        (
            [1, 0, 0],
            [1.0, 0.0, 2.0],
            [5.0, 5.0, 5.0],
            r"recency: value 2\.0 with frequency 0 at row 2",
        ),
        ([1, 2, 0], [1.0, np.nan, 0.0], [5.0, 5.0, 5.0], r"recency: NaN \(missing\) at row 1"),
        ([1, 2], [1.0, 1.0, 0.0], [5.0, 5.0, 5.0], r"recency: has 3 values but frequency has 2"),
        (
            [1, 1.5, 0],
            [1.0, 1.0, 0.0],
            [5.0, 5.0, 5.0],
            r"frequency: non-integer value 1\.5 at row 1",
        ),
        ([1, 1, 0], [1.0, 1.0, 0.0], [5.0, -5.0, 5.0], r"T: negative value -5\.0 at row 1"),
    ],
)
def test_bad_rfm_input_names_column_and_row(
    frequency: list[float], recency: list[float], T: list[float], message: str
) -> None:
    for cls in (BetaGeoFitter, ParetoNBDFitter):
        with pytest.raises(ValueError, match=message):
            cls().fit(frequency, recency, T)


def test_bad_input_reports_pandas_index_label() -> None:
    frequency = pd.Series([1, 2, 3], index=["c1", "c2", "c3"])
    recency = pd.Series([1.0, 2.0, 9.0], index=frequency.index)
    with pytest.raises(
        ValueError, match=r"recency: value 9\.0 is larger than T=5\.0 at row 2 \(index 'c3'\)"
    ):
        BetaGeoFitter().fit(frequency, recency, [5.0, 5.0, 5.0])


def test_bad_monetary_input() -> None:
    with pytest.raises(ValueError, match=r"monetary_value: non-positive value -3\.0 .* at row 1"):
        GammaGammaFitter().fit([1, 2, 0], [4.0, -3.0, 0.0])
    with pytest.raises(ValueError, match=r"frequency: no customer has frequency > 0"):
        GammaGammaFitter().fit([0, 0], [0.0, 0.0])
    with pytest.raises(ValueError, match="not fitted"):
        GammaGammaFitter().conditional_expected_average_profit([1], [2.0])


# --------------------------------------------------------------------------- summaries


def assert_same_summary(ours: pd.DataFrame, theirs: pd.DataFrame, id_col: str) -> None:
    theirs = theirs.reset_index().rename(columns={id_col: "customer_id"})
    assert list(ours["customer_id"]) == list(theirs["customer_id"])
    for col in theirs.columns.drop("customer_id"):
        np.testing.assert_allclose(
            ours[col].to_numpy(dtype=float), theirs[col].to_numpy(dtype=float), rtol=1e-9, atol=1e-9
        )


@pytest.mark.parametrize("freq", ["D", "W"])
@pytest.mark.parametrize("end", ["1997-09-30", "1997-02-13", "1998-06-30"])
def test_summary_equals_lifetimes_on_cdnow(
    cdnow_master: pd.DataFrame, freq: str, end: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    theirs = summary_data_from_transaction_data(
        cdnow_master, "customer_id", "date", "dollar_value", observation_period_end=end, freq=freq
    )
    ours = summary_from_transactions(
        cdnow_master, "customer_id", "date", "dollar_value", end=end, freq=freq
    )
    assert_same_summary(ours, theirs, "customer_id")
    if end == "1997-02-13":
        assert len(ours) < 23570  # customers who first bought later are left out
    # the same from the raw text file (ids kept as text, YYYYMMDD dates)
    from_file = summary_from_transactions(
        CDNOW_MASTER, "customer_id", "date", "dollar_value", end=end, freq=freq
    )
    assert_same_summary(from_file, theirs, "customer_id")
    # Integer ids take the offset codes (no hashing); large logs sort their keys per customer
    # range on threads, each range small enough for 32-bit keys: same numbers, same order.
    from qiao.analytics.clv import summary as summary_module

    numbered = cdnow_master.assign(customer_id=cdnow_master["customer_id"].astype(np.int64))
    expected = theirs.reset_index().assign(customer_id=lambda t: t["customer_id"].astype(np.int64))
    assert_same_summary(
        summary_from_transactions(
            numbered, "customer_id", "date", "dollar_value", end=end, freq=freq
        ),
        expected.set_index("customer_id"),
        "customer_id",
    )
    monkeypatch.setattr(summary_module, "_PARALLEL_ROWS", 1_000)
    for key_range in (3_000_000, 50_000):  # 32-bit keys in ~4 ranges; too many ranges: 64-bit
        monkeypatch.setattr(summary_module, "_KEY_RANGE", key_range)
        for frame, expect in (
            (cdnow_master, theirs),
            (numbered, expected.set_index("customer_id")),
        ):
            in_ranges = summary_from_transactions(
                frame, "customer_id", "date", "dollar_value", end=end, freq=freq
            )
            assert_same_summary(in_ranges, expect, "customer_id")


def test_summary_from_csv_and_parquet_paths(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "cust": ["00042", "00042", "00042", "7", "7"],
            "when": [
                "2024-01-01 09:00",
                "2024-01-01 17:00",
                "2024-01-10 00:00",
                "2024-01-03 08:30",
                "2024-02-01 10:00",
            ],
            "amount": [10.0, 5.0, 20.0, 1.0, 2.0],
        }
    )
    csv = tmp_path / "t.csv"
    frame.to_csv(csv, index=False)
    parquet = tmp_path / "t.parquet"
    frame.assign(when=pd.to_datetime(frame["when"])).to_parquet(parquet)
    arrow = pa.Table.from_pandas(frame.assign(when=pd.to_datetime(frame["when"])))
    dates = pa.Table.from_pandas(frame.assign(when=pd.to_datetime(frame["when"]).dt.date))
    assert str(dates.schema.field("when").type) == "date32[day]"
    for source in (csv, parquet, arrow, dates):
        out = summary_from_transactions(source, "cust", "when", "amount", end="2024-01-31")
        row = out.set_index("customer_id").loc["00042"]
        # the two purchases of 1 January are one period of 15.0; the repeat period is 20.0
        assert (row["frequency"], row["recency"], row["T"], row["monetary_value"]) == (
            1,
            9.0,
            30.0,
            20.0,
        )
        assert out.set_index("customer_id").loc["7", "frequency"] == 0  # Feb 1 is after end
    with pytest.raises(MissingColumnError, match="required column amount_eur missing"):
        summary_from_transactions(csv, "cust", "when", "amount_eur")
    with pytest.raises(FileNotFoundError):
        summary_from_transactions(tmp_path / "nope.csv", "cust", "when")
    bad = tmp_path / "bad.csv"
    bad.write_text("cust,when\n1,2024-01-01\n2,not a date\n")
    with pytest.raises(ValueError, match="when: cannot read 'not a date' as a date"):
        summary_from_transactions(bad, "cust", "when")


transactions = st.lists(
    st.tuples(
        st.integers(0, 6),  # customer
        st.integers(0, 80),  # day
        st.integers(0, 23),  # hour
        st.one_of(st.none(), st.floats(0.0, 500.0, allow_nan=False).map(lambda v: round(v, 2))),
    ),
    min_size=1,
    max_size=60,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=transactions, end_offset=st.integers(0, 90), freq=st.sampled_from(["D", "W"]))
def test_summary_properties_and_lifetimes_equality(
    rows: list[tuple[int, int, int, float | None]], end_offset: int, freq: str
) -> None:
    start = dt.datetime(2024, 1, 3)
    frame = pd.DataFrame(
        {
            "cust": [f"c{c}" for c, _, _, _ in rows],
            "ts": [start + dt.timedelta(days=d, hours=h) for _, d, h, _ in rows],
            "amount": [np.nan if a is None else a for _, _, _, a in rows],
        }
    )
    end = start + dt.timedelta(days=end_offset)
    ours = summary_from_transactions(frame, "cust", "ts", "amount", end=end, freq=freq)
    # invariants
    assert (ours["recency"] >= 0).all()
    assert (ours["recency"] <= ours["T"]).all()
    assert (ours["frequency"] <= ours["recency"]).all()  # one repeat per later period at most
    assert (ours["monetary_value"] >= 0).all()
    assert (ours.loc[ours["frequency"] == 0, "monetary_value"] == 0).all()
    assert (ours.loc[ours["frequency"] == 0, "recency"] == 0).all()
    assert ours["customer_id"].is_unique
    # and the same numbers as lifetimes
    period_end = pd.Timestamp(end).to_period(freq).to_timestamp()
    counted = frame[pd.to_datetime(frame["ts"]).dt.to_period(freq).dt.to_timestamp() <= period_end]
    if counted.empty:
        assert ours.empty
        return
    theirs = summary_data_from_transaction_data(
        frame, "cust", "ts", "amount", observation_period_end=end, freq=freq
    )
    assert_same_summary(ours, theirs, "cust")


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(-3, 40)),  # customer (None: no id)
            st.one_of(st.none(), st.integers(-400, 400)),  # day from 2024-01-03 (None: no date)
            st.integers(0, 86_399),  # second of the day
            st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)),  # amount (None: NaN)
        ),
        min_size=1,
        max_size=80,
    ),
    end_offset=st.integers(-400, 400),
    freq=st.sampled_from(["D", "W"]),
    text_ids=st.booleans(),
)
def test_summary_same_from_numpy_arrays_and_from_duckdb(
    rows: list[tuple[int | None, int | None, int, float | None]],
    end_offset: int,
    freq: str,
    text_ids: bool,
) -> None:
    """A pandas frame with a datetime column is read from its arrays, anything else by DuckDB:
    the two readers give the same summary, gaps (no id, no date, no amount) included."""
    start = dt.datetime(2024, 1, 3)
    ids = [None if c is None else (f"c{c:03d}" if text_ids else c) for c, _, _, _ in rows]
    frame = pd.DataFrame(
        {
            "cust": pd.Series(ids, dtype=object if text_ids else "Int64"),
            "ts": pd.to_datetime(
                [
                    None if d is None else start + dt.timedelta(days=d, seconds=s)
                    for _, d, s, _ in rows
                ]
            ),
            "amount": [np.nan if a is None else a for _, _, _, a in rows],
        }
    )
    if not text_ids and frame["cust"].notna().all():
        # plain numpy ids: coded by offset from the lowest (int8: widened first)
        frame["cust"] = frame["cust"].astype(np.int8 if len(rows) % 2 else np.int64)
    end = start + dt.timedelta(days=end_offset)
    from_arrays = summary_from_transactions(frame, "cust", "ts", "amount", end=end, freq=freq)
    by_duckdb = summary_from_transactions(
        pa.Table.from_pandas(frame), "cust", "ts", "amount", end=end, freq=freq
    )
    assert list(from_arrays["customer_id"]) == list(by_duckdb["customer_id"])
    assert list(from_arrays.columns) == list(by_duckdb.columns)
    for col in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(
            from_arrays[col].to_numpy(dtype=float),
            by_duckdb[col].to_numpy(dtype=float),
            rtol=1e-12,
            atol=1e-6,  # the summing order differs
        )


@pytest.mark.parametrize("freq", ["D", "W"])
def test_calibration_holdout_equals_lifetimes_and_report(
    cdnow_master: pd.DataFrame, freq: str
) -> None:
    theirs = lt_calibration_and_holdout(
        cdnow_master,
        "customer_id",
        "date",
        calibration_period_end="1997-09-30",
        observation_period_end="1998-06-30",
        freq=freq,
        monetary_value_col="dollar_value",
    )
    ours = calibration_and_holdout_data(
        cdnow_master, "customer_id", "date", "1997-09-30", "1998-06-30", freq, "dollar_value"
    )
    assert list(ours.columns) == ["customer_id", *theirs.columns]
    assert_same_summary(ours, theirs, "customer_id")

    model = BetaGeoFitter().fit(ours["frequency_cal"], ours["recency_cal"], ours["T_cal"])
    report = holdout_report(model, ours)
    assert list(report.index) == ["0", "1", "2", "3", "4", "5", "6", "7+", "total"]
    assert report.loc["total", "n_customers"] == len(ours) == 23570
    assert report.loc["total", "actual_total"] == ours["frequency_holdout"].sum()
    assert report.iloc[:-1]["n_customers"].sum() == len(ours)
    assert report.iloc[:-1]["predicted_total"].sum() == pytest.approx(
        report.loc["total", "predicted_total"]
    )
    # the model tracks the holdout to within 15 % overall, and ranks the groups correctly
    assert report.loc["total", "predicted_total"] == pytest.approx(
        report.loc["total", "actual_total"], rel=0.15
    )
    assert report.iloc[:-1]["predicted_mean"].is_monotonic_increasing
    with pytest.raises(ValueError, match="no transaction falls in the holdout window"):
        calibration_and_holdout_data(
            cdnow_master, "customer_id", "date", "1998-06-30", "1998-07-30"
        )


# --------------------------------------------------------------------------- command line


def test_cli_fit_bgnbd_json_and_predictions(tmp_path: Path, bg: BetaGeoFitter) -> None:
    out = tmp_path / "pred.csv"
    proc = run_cli(
        "fit", "--model", "bgnbd", "--input", str(CDNOW_SUMMARY), "--json",
        "--predict-t", "39", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["model"] == "bgnbd"
    assert set(result) == {"model", "params", "loglik", "n", "converged"}
    assert result["n"] == 2357 and result["converged"] is True
    for name, value in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
        assert rel_close(result["params"][name], value)
    assert abs(result["loglik"] - (-9582.4)) < 0.1
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["customer_id", "expected_transactions", "p_alive"]
    summary = pd.read_csv(CDNOW_SUMMARY)
    assert list(pred["customer_id"]) == list(summary["ID"])
    expected = bg.conditional_expected_number_of_purchases_up_to_time(
        39.0, summary["frequency"], summary["recency"], summary["T"]
    )
    np.testing.assert_allclose(pred["expected_transactions"], expected, rtol=1e-6)
    assert ((pred["p_alive"] > 0) & (pred["p_alive"] <= 1)).all()


def test_cli_fit_paretonbd_and_gammagamma(tmp_path: Path) -> None:
    proc = run_cli("fit", "--model", "paretonbd", "--input", str(CDNOW_SUMMARY), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result["params"]) == {"r", "alpha", "s", "beta"}
    assert rel_close(result["params"]["beta"], 11.6562)

    spend = tmp_path / "spend.csv"
    proc = run_cli(
        "clv", "fit", "--model", "gammagamma", "--input", str(CDNOW_MONETARY), "--json",
        "--predict-t", "39", "--out", str(spend),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["n"] == 946
    assert list(result["params"]) == ["p", "q", "gamma"]
    assert rel_close(result["params"]["gamma"], 15.44)
    table = pd.read_csv(spend)
    assert list(table.columns) == ["customer_id", "expected_spend"]
    assert len(table) == 2357 and (table["expected_spend"] > 0).all()


def test_cli_summary_equals_lifetimes(tmp_path: Path, cdnow_master: pd.DataFrame) -> None:
    out = tmp_path / "summary.csv"
    proc = run_cli(
        "summary", "--input", str(CDNOW_MASTER), "--customer-col", "customer_id",
        "--date-col", "date", "--amount-col", "dollar_value", "--end", "1997-09-30",
        "--freq", "W", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().splitlines()[0] == "customer_id,frequency,recency,T,monetary_value"
    ours = pd.read_csv(out, dtype={"customer_id": str})
    theirs = summary_data_from_transaction_data(
        cdnow_master,
        "customer_id",
        "date",
        "dollar_value",
        observation_period_end="1997-09-30",
        freq="W",
    )
    assert_same_summary(ours, theirs, "customer_id")
    # and the summary feeds the fit directly
    proc = run_cli("fit", "--model", "bgnbd", "--input", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["n"] == 23570


def test_cli_user_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    no_freq = tmp_path / "nofreq.csv"
    no_freq.write_text("customer_id,recency,T\n1,0,10\n")
    cases = [
        (
            ("fit", "--model", "bgnbd", "--input", str(no_freq)),
            f"error: {no_freq}: required column frequency missing",
        ),
        (
            ("fit", "--model", "bgnbd", "--input", str(tmp_path / "missing.csv")),
            f"error: {tmp_path / 'missing.csv'}: file not found",
        ),
        (
            ("fit", "--model", "gammagamma", "--input", str(CDNOW_SUMMARY)),
            f"error: {CDNOW_SUMMARY}: required column monetary_value missing",
        ),
        (
            (
                "summary", "--input", str(CDNOW_MASTER), "--customer-col", "cust",
                "--date-col", "date", "--end", "1997-09-30", "--out", str(tmp_path / "s.csv"),
            ),
            f"error: {CDNOW_MASTER}: required column cust missing",
        ),
    ]  # fmt: skip
    for args, message in cases:
        proc = run_cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.strip() == message
        assert "Traceback" not in proc.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("ID,frequency,recency,T\n1,2,3,10\n2,-1,0,10\n")
    proc = run_cli("fit", "--model", "bgnbd", "--input", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {bad}: frequency: negative value -1.0 at line 3"


def test_cli_thin_data_prints_warning(tmp_path: Path) -> None:
    thin = tmp_path / "thin.csv"
    pd.read_csv(CDNOW_SUMMARY).head(15).to_csv(thin, index=False)
    proc = run_cli("fit", "--model", "bgnbd", "--input", str(thin), "--json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["converged"] is False
    assert "warning: BetaGeoFitter: the fit is not reliable: only 15 customers" in proc.stderr


def test_register_adds_clv_command() -> None:
    import argparse

    from qiao.analytics.clv.cli import register

    parser = argparse.ArgumentParser(prog="qiao")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["clv", "fit", "--model", "bgnbd", "--input", "x.csv", "--json"])
    assert args.command == "clv" and args.model == "bgnbd" and args.json is True
    assert callable(args.func)


def test_clv_imports_without_django() -> None:
    code = "import sys; sys.modules['django'] = None; import qiao.analytics.clv, qiao.analytics.clv.cli"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------- bank CLV


def test_probability_alive_at_future_times(bg: BetaGeoFitter, pareto: ParetoNBDFitter) -> None:
    from scipy.integrate import quad
    from scipy.stats import beta as beta_dist

    r, alpha, a, b = (bg.params_[k] for k in ("r", "alpha", "a", "b"))
    for x, tx, T, t in [(0, 0.0, 30.0, 10.0), (3, 20.0, 39.0, 52.0), (10, 38.0, 39.0, 200.0)]:
        # E[exp(-lambda p t)] over the posterior of an active customer, by quadrature over p
        survive = quad(
            lambda p, x=x, T=T, t=t: (
                beta_dist.pdf(p, a, b + x) * ((alpha + T) / (alpha + T + p * t)) ** (r + x)
            ),
            0.0,
            1.0,
        )[0]
        expected = bg.conditional_probability_alive(x, tx, T) * survive
        assert bg.conditional_probability_alive_at(t, x, tx, T) == pytest.approx(expected, rel=1e-8)
    for model in (bg, pareto):
        ts = np.array([0.0, 4.0, 26.0, 104.0])
        path = model.conditional_probability_alive_at(ts, 3, 20.0, 39.0)
        assert path[0] == pytest.approx(model.conditional_probability_alive(3, 20.0, 39.0))
        assert np.all(np.diff(path) < 0)


def test_balance_based_clv_is_discounted_alive_contribution(
    cdnow: pd.DataFrame, bg: BetaGeoFitter
) -> None:
    from qiao.analytics.clv import balance_based_clv

    head = cdnow.iloc[:50]
    x, tx, T = (head[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    contribution = np.linspace(10.0, 500.0, len(head))
    clv = balance_based_clv(bg, x, tx, T, contribution, horizon_months=24, freq="W")
    manual = sum(
        bg.conditional_probability_alive_at(m * 4.345, x, tx, T) * contribution / 1.01**m
        for m in range(1, 25)
    )
    np.testing.assert_allclose(clv, manual, rtol=1e-12)
    assert np.all(clv < contribution * 24)
    flat = balance_based_clv(bg, x, tx, T, 100.0, horizon_months=12, freq="W")
    assert flat.shape == (50,) and np.all(flat > 0)
    with pytest.raises(ValueError, match="monthly_contribution: has 2 values but frequency has 50"):
        balance_based_clv(bg, x, tx, T, [1.0, 2.0], freq="W")


@pytest.mark.parametrize("refund", [False, True])
def test_summary_exact_when_first_period_dwarfs_the_rest(refund: bool) -> None:
    # total - first period would lose ~12 digits here; the summary recomputes such customers
    frame = pd.DataFrame(
        {
            "cust": ["big", "big", "big", "big", "small", "small"],
            "ts": pd.to_datetime(
                ["2024-01-01", "2024-01-01", "2024-01-05", "2024-01-09", "2024-01-02", "2024-01-03"]
            ),
            "amount": [1e12, 3.0, 0.01, 0.02 if not refund else -0.03, 5.0, 7.5],
        }
    )
    ours = summary_from_transactions(frame, "cust", "ts", "amount", end="2024-01-31")
    theirs = summary_data_from_transaction_data(
        frame, "cust", "ts", "amount", observation_period_end="2024-01-31"
    )
    big = ours.set_index("customer_id").loc["big"]
    assert big["monetary_value"] == pytest.approx(0.015 if not refund else -0.01, rel=1e-12)
    assert_same_summary(ours, theirs, "cust")
