"""Risk-style rating (seed 001 篇5): arctan normalisation, k choice by silhouette, cluster names."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from qiao.analytics.riskstyle import (
    AGGRESSIVE,
    BALANCED,
    CONSERVATIVE,
    DORMANT,
    FEATURES,
    STEADY,
    RiskStyleRater,
    RiskStyleResult,
    arctan_normalise,
    name_clusters,
    rate_risk_style,
    robust_scales,
)

# Normalised centres of five designed groups, columns in FEATURES order:
# aum, turnover, n_trades, avg_trade_size, return_ratio, risky_share.
CENTRES: dict[str, list[float]] = {
    DORMANT: [0.30, 0.00, 0.00, 0.00, 0.00, 0.00],
    CONSERVATIVE: [0.50, 0.20, 0.25, 0.45, 0.40, 0.10],
    STEADY: [0.50, 0.40, 0.45, 0.50, 0.45, 0.35],
    BALANCED: [0.55, 0.60, 0.62, 0.55, 0.50, 0.60],
    AGGRESSIVE: [0.60, 0.85, 0.85, 0.60, 0.55, 0.85],
}
TRUE_SCALE = np.array([50_000.0, 100_000.0, 12.0, 8_000.0, 0.08, 0.3])
Designed = tuple[pd.DataFrame, np.ndarray, RiskStyleResult]
SHARES = {DORMANT: 0.4, CONSERVATIVE: 0.15, STEADY: 0.15, BALANCED: 0.15, AGGRESSIVE: 0.15}


def designed_portfolio(n: int = 3000, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """Customers drawn around the designed centres in normalised space, mapped back to raw units."""
    rng = np.random.default_rng(seed)
    names = np.array(list(SHARES))
    group = rng.choice(names, size=n, p=list(SHARES.values()))
    centre = np.array([CENTRES[g] for g in group])
    z = np.clip(centre + rng.normal(0.0, 0.03, size=centre.shape), -0.97, 0.97)
    # Dormant customers really have no trading at all (exact zeros, as in the bank's data).
    dormant = group == DORMANT
    z[dormant, 1:] = 0.0
    raw = np.tan(z * np.pi / 2.0) * TRUE_SCALE
    index = pd.Index([f"C{i:06d}" for i in range(n)], name="customer_no")
    return pd.DataFrame(raw, columns=list(FEATURES), index=index), group


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    # Small data: OpenMP threads in K-means only add spin-waiting when the machine is busy.
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def designed() -> Designed:
    features, group = designed_portfolio()
    result = rate_risk_style(features, random_state=0, sample_size=1500)
    return features, group, result


def test_k_recovered_and_silhouette_for_every_k(designed: Designed) -> None:
    _, _, result = designed
    assert set(result.silhouette) == {4, 5, 6}
    assert result.k == 5
    assert result.silhouette[5] == max(result.silhouette.values())
    assert all(-1.0 <= s <= 1.0 for s in result.silhouette.values())


def test_names_assigned_as_designed(designed: Designed) -> None:
    features, group, result = designed
    assert list(result.labels.index) == list(features.index)
    agreement = float((result.labels.to_numpy() == group).mean())
    assert agreement > 0.99
    assert sorted(result.centroids["name"]) == sorted(SHARES)
    # The naming is monotone in the risk-appetite score.
    active = result.centroids[result.centroids["name"] != DORMANT].sort_values("risk_score")
    assert list(active["name"]) == [CONSERVATIVE, STEADY, BALANCED, AGGRESSIVE]
    assert result.warnings == []


def test_centroids_table_has_raw_and_normalised_means(designed: Designed) -> None:
    features, group, result = designed
    cen = result.centroids.set_index("name")
    assert int(cen["size"].sum()) == len(features)
    for col in FEATURES:
        assert f"{col}_norm" in cen.columns and f"{col}_mean" in cen.columns
    # Raw-scale mean of the aggressive cluster equals the mean over its designed members.
    expected = features.loc[group == AGGRESSIVE, "n_trades"].mean()
    assert cen.loc[AGGRESSIVE, "n_trades_mean"] == pytest.approx(expected, rel=0.02)
    assert cen.loc[DORMANT, "n_trades_norm"] == pytest.approx(0.0, abs=1e-9)


def test_model_re_rates_with_fixed_model(designed: Designed) -> None:
    features, _, result = designed
    again = result.model.predict(features.iloc[::7])
    assert (again == result.labels.iloc[::7].to_numpy()).all()
    # A new extremely active customer is rated AGGRESSIVE by the same model.
    whale = pd.DataFrame([[1e6, 1e8, 900.0, 1e5, 0.0, 1.0]], columns=list(FEATURES), index=["NEW"])
    assert result.model.predict(whale)[0] == AGGRESSIVE


def test_scales_map_the_typical_value_to_one_half(designed: Designed) -> None:
    features, _, result = designed
    z = result.model.transform(features)
    assert np.all(np.abs(z) < 1.0)
    for j, col in enumerate(FEATURES):
        scale = result.scales[col]
        nz = np.abs(features[col].to_numpy())
        assert scale == pytest.approx(float(np.median(nz[nz > 0])))
        assert arctan_normalise(np.array([scale]), scale)[0] == pytest.approx(0.5)
        # Half of the non-zero values map above 0.5 in absolute value, half below.
        share_above = float((np.abs(z[nz > 0, j]) > 0.5).mean())
        assert share_above == pytest.approx(0.5, abs=0.01)


def test_nan_is_zero_and_reported() -> None:
    features, _ = designed_portfolio(n=400, seed=3)
    with_nan = features.copy()
    with_nan.iloc[:10, 1] = np.nan
    zeroed = features.copy()
    zeroed.iloc[:10, 1] = 0.0
    a = rate_risk_style(with_nan, sample_size=400)
    b = rate_risk_style(zeroed, sample_size=400)
    assert (a.labels == b.labels).all()
    assert any("10 missing values treated as 0" in w for w in a.warnings)
    assert {"code": "MISSING_AS_ZERO", "params": {"n": 10}} in a.warning_codes
    assert len(a.warning_codes) == len(a.warnings)
    assert not any("missing" in w for w in b.warnings)


def test_thin_data_degrades_to_rules() -> None:
    features = pd.DataFrame(
        [[1000.0, 0.0, 0.0, 0.0, 0.0, 0.0], [5e5, 2e5, 14.0, 1.4e4, 0.05, 0.4]] * 5,
        columns=list(FEATURES),
        index=[f"C{i}" for i in range(10)],
    )
    result = rate_risk_style(features)
    assert result.k == 0
    assert result.silhouette == {}
    assert result.centroids.empty
    assert any("2 × max k" in w for w in result.warnings)
    assert result.warning_codes == [
        {"code": "TOO_FEW_CUSTOMERS", "params": {"n": 10, "min": 12}}  # k up to 6
    ]
    assert list(result.labels) == [DORMANT, CONSERVATIVE] * 5


def test_identical_customers_fall_back_instead_of_crashing() -> None:
    features = pd.DataFrame(
        np.tile([1e4, 0.0, 0.0, 0.0, 0.0, 0.0], (50, 1)), columns=list(FEATURES)
    )
    result = rate_risk_style(features)
    assert result.k == 0
    assert set(result.labels) == {DORMANT}
    assert any("simple rules" in w for w in result.warnings)
    codes = [c["code"] for c in result.warning_codes]
    assert len(codes) == len(result.warnings) and "NO_DISTINCT_CLUSTERS" in codes


def test_bad_input_is_refused_clearly() -> None:
    features, _ = designed_portfolio(n=50)
    with pytest.raises(ValueError, match="required column risky_share missing"):
        rate_risk_style(features.drop(columns=["risky_share"]))
    with pytest.raises(ValueError, match="duplicated"):
        rate_risk_style(pd.concat([features, features.iloc[:1]]))
    with pytest.raises(ValueError, match="k_range"):
        RiskStyleRater(k_range=(5, 4)).fit(features)


def test_name_clusters_rules() -> None:
    cols = list(FEATURES)
    # Four clusters, the least active dormant: one of the four risk names goes unused.
    four = pd.DataFrame(
        [
            [0.3, 0.01, 0.02, 0.0, 0.0, 0.0],
            [0.5, 0.3, 0.3, 0.5, 0.0, 0.2],
            [0.5, 0.5, 0.5, 0.5, 0.0, 0.5],
            [0.6, 0.8, 0.8, 0.6, 0.0, 0.9],
        ],
        columns=cols,
    )
    assert list(name_clusters(four)) == [DORMANT, CONSERVATIVE, BALANCED, AGGRESSIVE]
    # Six active clusters (none below the dormant threshold): names repeat, monotone in risk.
    risk = np.array([0.9, 0.1, 0.5, 0.3, 0.7, 0.2])
    act = 0.3 + 0.5 * risk
    six = pd.DataFrame(
        np.column_stack([np.full(6, 0.5), act, act, np.full(6, 0.5), np.zeros(6), risk]),
        columns=cols,
    )
    names = name_clusters(six)
    assert DORMANT not in set(names)
    order = ["CONSERVATIVE", "STEADY", "BALANCED", "AGGRESSIVE"]
    ranks = [order.index(names[i]) for i in np.argsort(risk)]
    assert ranks == sorted(ranks) and ranks[0] == 0 and ranks[-1] == 3


def test_robust_scale_ignores_zeros_and_defaults_to_one() -> None:
    df = pd.DataFrame({"a": [0.0, 0.0, 0.0, 2.0, -4.0, 6.0], "b": [0.0] * 6})
    scales = robust_scales(df, columns=["a", "b"])
    assert scales == {"a": 4.0, "b": 1.0}


finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
scales_st = st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False)


@given(x=finite, y=finite, s=scales_st)
def test_arctan_normalisation_is_monotone_bounded_sign_preserving(
    x: float, y: float, s: float
) -> None:
    zx, zy = arctan_normalise(np.array([x, y]), s)
    assert -1.0 <= zx <= 1.0 and -1.0 <= zy <= 1.0
    if x < y:
        assert zx <= zy
    assert math.copysign(1.0, zx) == math.copysign(1.0, x) or zx == 0.0
    assert arctan_normalise(np.array([-x]), s)[0] == pytest.approx(-zx)
    assert arctan_normalise(np.array([s]), s)[0] == pytest.approx(0.5)


def test_arctan_normalisation_strictly_inside_for_moderate_values() -> None:
    z = arctan_normalise(np.array([-1e6, -1.0, 0.0, 1.0, 1e6]), 1.0)
    assert np.all(np.abs(z) < 1.0)
    assert np.all(np.diff(z) > 0)
    with pytest.raises(ValueError):
        arctan_normalise(np.array([1.0]), 0.0)
