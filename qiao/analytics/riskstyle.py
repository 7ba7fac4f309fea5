"""Risk-style rating of investment customers by K-means (seed 001, 篇5).

The securities-CRM essay (篇5) re-rates every customer periodically into five classes —
保守型 / 稳健型 / 平衡型 / 进取型 / 沉寂型 — by K-means over trading-behaviour variables after an
arctangent normalisation, trying k = 4…6 and keeping the most meaningful k.  This module does the
same with a documented, reproducible recipe:

1. **Arctangent normalisation** ``x' = (2/π)·arctan(x / s)`` per variable, where ``s`` is a
   *robust* scale: the median of ``|x|`` over the customers whose value is non-zero.  The plain
   ``arctan`` of yuan amounts is 1.0 for practically every customer (``arctan(50_000) ≈ π/2``), so
   without a scale the variable carries no information.  Dividing by the non-zero median maps a
   *typical* active customer to exactly 0.5, keeps every value inside (−1, 1) and squeezes the heavy
   tail (a customer 100× the typical value gets 0.99, not 100): outliers stay bounded and cannot
   dominate the K-means distances, which is what happens with min-max scaling (one billionaire puts
   everybody else at ≈ 0) or z-scores (the tail sets the variance).  The median is taken over
   non-zero values because most customers are dormant (``n_trades = 0``): the plain median would
   often be 0.  Signed variables (``return_ratio``) keep their sign, since arctan is odd.
2. **K-means** (scikit-learn, explicit ``n_init`` and ``random_state``) for every k in ``k_range``;
   the k with the best **silhouette** (computed on one fixed random sample of ``sample_size`` rows,
   the same sample for every k, because the exact silhouette is quadratic in the number of
   customers) wins.  Every k's score is kept.
3. **Naming** the clusters by rules on the normalised centroids (see :func:`name_clusters`).

Missing values (NaN) are treated as 0 — "no activity recorded" — and the number of such cells is
reported in the result's ``warnings``.

References
----------
Seed 001, 篇5 (L335–L351): K-means risk rating of securities customers, k = 4–6, arctangent
normalisation, five named classes.
Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the interpretation and validation of
cluster analysis. *J. Comput. Appl. Math.* 20, 53–65.
"""

from __future__ import annotations

import math
import warnings as _warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

__all__ = [
    "ACTIVITY_FEATURES",
    "FEATURES",
    "RISK_WEIGHTS",
    "STYLE_NAMES",
    "STYLE_NAMES_ZH",
    "RiskStyleRater",
    "RiskStyleResult",
    "arctan_normalise",
    "name_clusters",
    "rate_risk_style",
    "robust_scales",
]

FEATURES: tuple[str, ...] = (
    "aum",
    "turnover",
    "n_trades",
    "avg_trade_size",
    "return_ratio",
    "risky_share",
)
"""Input columns, in the order the model uses them."""

DORMANT = "DORMANT"
CONSERVATIVE = "CONSERVATIVE"
STEADY = "STEADY"
BALANCED = "BALANCED"
AGGRESSIVE = "AGGRESSIVE"

STYLE_NAMES: tuple[str, ...] = (CONSERVATIVE, STEADY, BALANCED, AGGRESSIVE)
"""The risk scale from low to high appetite; DORMANT sits outside it (activity-based)."""

STYLE_NAMES_ZH: dict[str, str] = {
    DORMANT: "沉寂型",
    CONSERVATIVE: "保守型",
    STEADY: "稳健型",
    BALANCED: "平衡型",
    AGGRESSIVE: "进取型",
}
"""The seed's Chinese names (the UI translates; kept here for reports and tests)."""

RISK_WEIGHTS: dict[str, float] = {"risky_share": 0.5, "turnover": 0.3, "n_trades": 0.2}
"""Weights of the risk-appetite score on the normalised centroid."""

ACTIVITY_FEATURES: tuple[str, ...] = ("n_trades", "turnover")
"""Variables whose normalised centroid mean is the activity score (lowest → DORMANT)."""

FloatArray = npt.NDArray[np.float64]


def arctan_normalise(x: npt.ArrayLike, scale: float) -> FloatArray:
    """Map values into (−1, 1) by ``(2/π)·arctan(x / scale)``.

    Parameters
    ----------
    x : array-like of float
        Raw values (yuan, counts, ratios); negative values stay negative.
    scale : float
        Positive robust scale; ``x = scale`` maps to exactly 0.5.

    Returns
    -------
    numpy.ndarray
        Normalised values, strictly inside (−1, 1) for finite input, monotone increasing and
        odd (sign-preserving).  ±inf map to ±1.

    Raises
    ------
    ValueError
        If ``scale`` is not a positive finite number.
    """
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    arr = np.asarray(x, dtype=np.float64)
    out: FloatArray = (2.0 / np.pi) * np.arctan(arr / scale)
    return out


def robust_scales(features: pd.DataFrame, columns: Sequence[str] = FEATURES) -> dict[str, float]:
    """Robust per-variable scale: the median of ``|x|`` over non-zero finite values.

    Parameters
    ----------
    features : pandas.DataFrame
        One row per customer.
    columns : sequence of str
        Columns to scale.

    Returns
    -------
    dict of str to float
        The scale of each column; 1.0 for a column that is zero (or missing) everywhere.
    """
    scales: dict[str, float] = {}
    for col in columns:
        v = np.abs(features[col].to_numpy(dtype=np.float64, na_value=np.nan))
        v = v[np.isfinite(v) & (v > 0)]
        scales[col] = float(np.median(v)) if v.size else 1.0
    return scales


def _risk_score(norm_centroids: pd.DataFrame) -> pd.Series:
    return sum(
        (w * norm_centroids[c] for c, w in RISK_WEIGHTS.items()),
        start=pd.Series(0.0, index=norm_centroids.index),
    )


def _activity_score(norm_centroids: pd.DataFrame) -> pd.Series:
    return norm_centroids[list(ACTIVITY_FEATURES)].mean(axis=1)


def name_clusters(norm_centroids: pd.DataFrame, *, dormant_activity: float = 0.25) -> pd.Series:
    """Name K-means clusters from their normalised centroids.

    Rules (deterministic; ties broken by cluster id):

    1. The **activity score** of a cluster is the mean of its normalised ``n_trades`` and
       ``turnover``.  The cluster with the lowest activity is **DORMANT** (沉寂) when that score is
       below ``dormant_activity`` (0.25 ≈ 40 % of a typical active customer's trading, since
       ``tan(π/8) ≈ 0.41``).  At most one cluster is DORMANT; when even the least active cluster
       trades that much, none is.
    2. The other clusters are ordered by the **risk-appetite score**
       ``0.5·risky_share' + 0.3·turnover' + 0.2·n_trades'`` (:data:`RISK_WEIGHTS`).  The cluster of
       rank ``i`` among ``m`` gets the name ``STYLE_NAMES[floor(3·i/(m−1) + 0.5)]`` on the scale
       CONSERVATIVE < STEADY < BALANCED < AGGRESSIVE, so the lowest is always CONSERVATIVE, the
       highest always AGGRESSIVE, and the mapping is monotone in the score.  With ``m = 4`` every
       name is used once; with ``m = 3`` STEADY is unused; with ``m > 4`` some names repeat.

    The names are therefore *relative* to the portfolio being rated, as in the seed's K-means
    study.

    Parameters
    ----------
    norm_centroids : pandas.DataFrame
        One row per cluster (index = cluster id) with at least the columns of
        :data:`RISK_WEIGHTS` and :data:`ACTIVITY_FEATURES`, in normalised units.
    dormant_activity : float
        Activity score below which the least active cluster is called DORMANT.

    Returns
    -------
    pandas.Series
        The name of each cluster, same index as ``norm_centroids``.
    """
    names = pd.Series("", index=norm_centroids.index, dtype=object)
    if norm_centroids.empty:
        return names
    activity = _activity_score(norm_centroids)
    # Stable sorts on (score, id) keep the mapping deterministic when scores tie.
    by_activity = sorted(norm_centroids.index, key=lambda c: (float(activity[c]), c))
    rest = list(norm_centroids.index)
    if float(activity[by_activity[0]]) < dormant_activity:
        names[by_activity[0]] = DORMANT
        rest.remove(by_activity[0])
    risk = _risk_score(norm_centroids)
    ordered = sorted(rest, key=lambda c: (float(risk[c]), c))
    m = len(ordered)
    for i, c in enumerate(ordered):
        pos = 0 if m == 1 else math.floor(3.0 * i / (m - 1) + 0.5)
        names[c] = STYLE_NAMES[pos]
    return names


def _as_matrix(features: pd.DataFrame) -> tuple[FloatArray, int]:
    missing = [c for c in FEATURES if c not in features.columns]
    if missing:
        raise ValueError(f"required column {missing[0]} missing (need {', '.join(FEATURES)})")
    x = features[list(FEATURES)].to_numpy(dtype=np.float64, na_value=np.nan)
    nan_mask = np.isnan(x)
    n_nan = int(nan_mask.sum())
    if n_nan:
        x = np.where(nan_mask, 0.0, x)
    return x, n_nan


def _rule_labels(x: FloatArray) -> npt.NDArray[np.object_]:
    """Fallback labels: DORMANT without trades and turnover, CONSERVATIVE otherwise."""
    i_trades = FEATURES.index("n_trades")
    i_turnover = FEATURES.index("turnover")
    dormant = (x[:, i_trades] <= 0) & (x[:, i_turnover] <= 0)
    return np.where(dormant, DORMANT, CONSERVATIVE).astype(object)


class RiskStyleRater(BaseEstimator):
    """K-means risk-style rater (scikit-learn estimator contract).

    Parameters
    ----------
    k_range : tuple of int
        Smallest and largest number of clusters tried, inclusive (seed: 4–6).
    n_init : int
        K-means restarts per k (k-means++ seeding); the best inertia is kept.
    max_iter : int
        Maximum Lloyd iterations per restart.
    sample_size : int
        Rows of the fixed random sample on which the silhouette of every k is computed.
    dormant_activity : float
        Threshold of :func:`name_clusters`.
    random_state : int
        Seed of K-means and of the silhouette sample.

    Attributes
    ----------
    scales_ : dict of str to float
        Robust scale per feature (:func:`robust_scales`).
    k_ : int
        Chosen number of clusters; 0 when the rule fallback was used.
    silhouette_ : dict of int to float
        Silhouette of every k tried (NaN when it could not be computed).
    kmeans_ : sklearn.cluster.KMeans or None
        The model of the chosen k; None in the fallback.
    cluster_names_ : numpy.ndarray of str
        Name of each cluster id.
    centroids_ : pandas.DataFrame
        Per cluster: name, Chinese name, size, share, risk and activity scores, the normalised
        centroid (``<var>_norm``) and the raw-scale mean (``<var>_mean``).
    fallback_ : bool
        True when there were too few customers for K-means and simple rules are used.
    warnings_ : list of str
        What went wrong or was assumed (NaN cells, fallback, degenerate k).
    n_features_in_ : int
        Number of features (6).
    feature_names_in_ : numpy.ndarray of str
        :data:`FEATURES`.
    """

    def __init__(
        self,
        *,
        k_range: tuple[int, int] = (4, 6),
        n_init: int = 4,
        max_iter: int = 300,
        sample_size: int = 20000,
        dormant_activity: float = 0.25,
        random_state: int = 0,
    ) -> None:
        self.k_range = k_range
        self.n_init = n_init
        self.max_iter = max_iter
        self.sample_size = sample_size
        self.dormant_activity = dormant_activity
        self.random_state = random_state

    # -- helpers -------------------------------------------------------------------------------

    def _normalise(self, x: FloatArray) -> FloatArray:
        z = np.empty_like(x)
        for j, col in enumerate(FEATURES):
            z[:, j] = arctan_normalise(x[:, j], self.scales_[col])
        return z

    def transform(self, X: pd.DataFrame) -> FloatArray:
        """Arctangent-normalise ``X`` with the fitted scales (NaN → 0).

        Parameters
        ----------
        X : pandas.DataFrame
            Columns :data:`FEATURES`.

        Returns
        -------
        numpy.ndarray of shape (n, 6)
        """
        x, _ = _as_matrix(X)
        return self._normalise(x)

    # -- fit / predict -------------------------------------------------------------------------

    def fit(self, X: pd.DataFrame, y: Any = None) -> Self:
        """Choose k, cluster, and name the clusters.

        Parameters
        ----------
        X : pandas.DataFrame
            One row per customer with columns :data:`FEATURES`.
        y : ignored

        Returns
        -------
        RiskStyleRater
            ``self``.
        """
        k_lo, k_hi = int(self.k_range[0]), int(self.k_range[1])
        if not 2 <= k_lo <= k_hi:
            raise ValueError(f"k_range must satisfy 2 <= low <= high, got {self.k_range!r}")
        x, n_nan = _as_matrix(X)
        n = x.shape[0]
        self.n_features_in_ = len(FEATURES)
        self.feature_names_in_ = np.asarray(FEATURES, dtype=object)
        self.warnings_: list[str] = []
        self.warning_codes_: list[dict[str, Any]] = []
        if n_nan:
            self._warn(f"{n_nan} missing values treated as 0", "MISSING_AS_ZERO", n=int(n_nan))
        self.scales_ = robust_scales(pd.DataFrame(x, columns=list(FEATURES)))
        self.silhouette_: dict[int, float] = {}
        self.kmeans_: KMeans | None = None
        self.k_ = 0
        if n < 2 * k_hi:
            self._fit_fallback(
                x,
                f"only {n} customers (< {2 * k_hi} = 2 × max k): "
                "rated DORMANT/CONSERVATIVE by simple rules",
                "TOO_FEW_CUSTOMERS",
                n=int(n),
                min=2 * k_hi,
            )
            return self

        z = self._normalise(x)
        rng = np.random.default_rng(self.random_state)
        m = min(self.sample_size, n)
        sample = np.sort(rng.choice(n, size=m, replace=False)) if m < n else np.arange(n)
        models: dict[int, KMeans] = {}
        for k in range(k_lo, k_hi + 1):
            km = KMeans(
                n_clusters=k,
                n_init=self.n_init,
                max_iter=self.max_iter,
                random_state=self.random_state,
            )
            with _warnings.catch_warnings(record=True) as caught:
                _warnings.simplefilter("always")
                km.fit(z)
            for w in caught:
                self._warn(f"k={k}: {w.message}", "KMEANS", k=k, message=str(w.message))
            labels_s = km.labels_[sample]
            n_lab = np.unique(labels_s).size
            if 2 <= n_lab <= m - 1:
                self.silhouette_[k] = float(silhouette_score(z[sample], labels_s))
            else:
                self.silhouette_[k] = float("nan")
                self._warn(
                    f"k={k}: silhouette undefined ({n_lab} clusters in sample)",
                    "SILHOUETTE_UNDEFINED",
                    k=k,
                    n=int(n_lab),
                )
            models[k] = km
        valid = {k: s for k, s in self.silhouette_.items() if not math.isnan(s)}
        if not valid:
            self._fit_fallback(
                x,
                "no k gave at least two distinct clusters: "
                "rated DORMANT/CONSERVATIVE by simple rules",
                "NO_DISTINCT_CLUSTERS",
            )
            return self
        # Highest silhouette; ties go to the smaller k (simpler segmentation).
        self.k_ = min(valid, key=lambda k: (-valid[k], k))
        self.kmeans_ = models[self.k_]
        self.fallback_ = False
        self._describe(x, z, self.kmeans_.labels_)
        return self

    def _warn(self, text: str, code: str, **params: Any) -> None:
        """A warning in English and as a code with parameters (for the pages)."""
        self.warnings_.append(text)
        self.warning_codes_.append({"code": code, "params": params})

    def _fit_fallback(self, x: FloatArray, message: str, code: str, **params: Any) -> None:
        self.fallback_ = True
        self.k_ = 0
        self.kmeans_ = None
        self._warn(message, code, **params)
        self.cluster_names_ = np.asarray([], dtype=object)
        self.centroids_ = self._empty_centroids()

    @staticmethod
    def _empty_centroids() -> pd.DataFrame:
        cols = ["name", "name_zh", "size", "share", "risk_score", "activity_score"]
        cols += [f"{c}_norm" for c in FEATURES] + [f"{c}_mean" for c in FEATURES]
        return pd.DataFrame(columns=cols).rename_axis("cluster")

    def _describe(self, x: FloatArray, z: FloatArray, labels: npt.NDArray[np.int32]) -> None:
        assert self.kmeans_ is not None
        k = self.kmeans_.n_clusters
        norm = pd.DataFrame(self.kmeans_.cluster_centers_, columns=list(FEATURES)).rename_axis(
            "cluster"
        )
        names = name_clusters(norm, dormant_activity=self.dormant_activity)
        self.cluster_names_ = names.to_numpy(dtype=object)
        size = np.bincount(labels, minlength=k)
        sums = np.zeros((k, x.shape[1]))
        np.add.at(sums, labels, x)
        raw_mean = sums / np.maximum(size, 1)[:, None]
        cen = pd.DataFrame(
            {
                "name": names,
                "name_zh": names.map(STYLE_NAMES_ZH),
                "size": size,
                "share": size / max(int(size.sum()), 1),
                "risk_score": _risk_score(norm),
                "activity_score": _activity_score(norm),
            },
            index=norm.index,
        )
        for c in FEATURES:
            cen[f"{c}_norm"] = norm[c]
        for j, c in enumerate(FEATURES):
            cen[f"{c}_mean"] = raw_mean[:, j]
        self.centroids_ = cen

    def predict_cluster(self, X: pd.DataFrame) -> npt.NDArray[np.int32]:
        """Cluster id of each row (−1 in the rule fallback).

        Parameters
        ----------
        X : pandas.DataFrame
            Columns :data:`FEATURES`.

        Returns
        -------
        numpy.ndarray of int
        """
        x, _ = _as_matrix(X)
        if self.kmeans_ is None:
            return np.full(x.shape[0], -1, dtype=np.int32)
        out: npt.NDArray[np.int32] = self.kmeans_.predict(self._normalise(x)).astype(np.int32)
        return out

    def predict(self, X: pd.DataFrame) -> npt.NDArray[np.object_]:
        """Risk-style name of each row.

        Parameters
        ----------
        X : pandas.DataFrame
            Columns :data:`FEATURES` (NaN → 0).

        Returns
        -------
        numpy.ndarray of str
            DORMANT, CONSERVATIVE, STEADY, BALANCED or AGGRESSIVE.
        """
        x, _ = _as_matrix(X)
        if self.kmeans_ is None:
            return _rule_labels(x)
        ids = self.kmeans_.predict(self._normalise(x))
        out: npt.NDArray[np.object_] = self.cluster_names_[ids]
        return out


@dataclass
class RiskStyleResult:
    """What :func:`rate_risk_style` returns.

    Attributes
    ----------
    labels : pandas.Series
        Index customer_no; values DORMANT / CONSERVATIVE / STEADY / BALANCED / AGGRESSIVE.
    k : int
        Number of clusters chosen (0 when the rule fallback was used).
    silhouette : dict of int to float
        Silhouette of each k tried (empty in the fallback).
    centroids : pandas.DataFrame
        Per cluster: names, size, share, scores, ``<var>_norm`` and ``<var>_mean``.
    scales : dict of str to float
        Robust arctan scale per variable.
    model : RiskStyleRater
        The fitted rater, to re-rate later customers with the same model.
    warnings : list of str
        Assumptions and degradations (NaN → 0, fallback, K-means warnings).
    warning_codes : list of dict
        The same as ``{"code", "params"}`` (language-neutral, for the pages).
    """

    labels: pd.Series
    k: int
    silhouette: dict[int, float]
    centroids: pd.DataFrame
    scales: dict[str, float]
    model: RiskStyleRater
    warnings: list[str] = field(default_factory=list)
    warning_codes: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> Mapping[str, int]:
        """Number of customers per style name."""
        return {str(k): int(v) for k, v in self.labels.value_counts().items()}


def rate_risk_style(
    features: pd.DataFrame,
    *,
    random_state: int = 0,
    k_range: tuple[int, int] = (4, 6),
    sample_size: int = 20000,
) -> RiskStyleResult:
    """Rate every customer's risk style (seed 001, 篇5).

    Parameters
    ----------
    features : pandas.DataFrame
        Indexed by customer_no, columns ``aum, turnover, n_trades, avg_trade_size, return_ratio,
        risky_share`` (floats).  NaN is treated as 0 (no activity recorded).
    random_state : int
        Seed of K-means and of the silhouette sample.
    k_range : tuple of int
        Numbers of clusters tried, inclusive (seed: 4–6).
    sample_size : int
        Rows used for the silhouette of each k.

    Returns
    -------
    RiskStyleResult

    Raises
    ------
    ValueError
        If a required column is missing or customer_no is duplicated.

    Notes
    -----
    With fewer than ``2 × max(k_range)`` customers no clustering is attempted: customers without
    trades and turnover are DORMANT, the others CONSERVATIVE, and ``warnings`` says so.
    """
    if features.index.has_duplicates:
        dup = features.index[features.index.duplicated()][0]
        raise ValueError(f"customer_no must be unique in the index; {dup!r} is duplicated")
    rater = RiskStyleRater(k_range=k_range, sample_size=sample_size, random_state=random_state)
    rater.fit(features)
    labels = pd.Series(rater.predict(features), index=features.index, name="risk_style")
    return RiskStyleResult(
        labels=labels,
        k=rater.k_,
        silhouette=dict(rater.silhouette_),
        centroids=rater.centroids_,
        scales=dict(rater.scales_),
        model=rater,
        warnings=list(rater.warnings_),
        warning_codes=list(rater.warning_codes_),
    )
