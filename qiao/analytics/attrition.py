"""Attrition (churn) early warning with gradient-boosted trees and plain-language reasons.

:func:`fit_attrition` trains on a panel with one row per ``(customer_no, as_of)``: the features as
of that date and a 0/1 label (built by the pipeline: AUM down ≥ 50 % or all accounts closed within
the next 3 months).  The method:

* **time-based validation, out of time** — the last ``n_val_periods`` as_of dates are the
  validation set, the ``gap_periods`` dates before them are left out (the nightly step leaves out
  ``horizon − 1``, so no training label looks into the validation months) and the earlier dates
  are the training set (never a random split: customers' rows are correlated over time and the
  model is used on the future);
* **gradient boosting** (Friedman 2001) with scikit-learn's histogram implementation
  ``HistGradientBoostingClassifier`` (binned features as in LightGBM, Ke et al. 2017), fast at
  millions of rows and native on missing values;
* **class imbalance** — the trees are grown with balanced class weights (the minority class gets
  the weight ``N/(2·N₁)``), which helps them split on the rare positives; the probabilities are
  then mapped back to the true base rate by the prior-shift correction
  ``odds = odds_w · N₁/N₀`` (Elkan 2001; Saerens et al. 2002), so ``attrition_prob`` is a
  probability a manager can read, and the ranking (AUC) is unchanged;
* the **threshold** maximises F1 on the validation periods; AUC, precision and recall there are
  reported, with the **top decile** (precision and recall among the 10 % ranked riskiest, the
  list a manager calls), a **calibration table** by decile of the prediction, two **baselines**
  on the same rows (ranking by the 3-month AUM trend; a logistic regression) and the
  permutation importance (Breiman 2001) of the features on a validation sample;
* the nightly model (:data:`NIGHTLY_MODEL_PARAMS`) grows small, unweighted trees, **monotone**
  in the signs of leaving (:data:`ATTRITION_MONOTONE`);
* the model is then **refitted on all periods** for scoring.

The **reasons** of a customer's score are the features that push the probability up most: for
each of the important features, the feature is replaced by its population median and the
probability recomputed (vectorised: one prediction per feature for all customers); a feature whose
replacement lowers the probability by more than ``min_push`` is a reason.  Each is rendered by a
template per known column (:data:`FEATURE_TEMPLATES`) and also returned as a ``(feature, value)``
code; :func:`reason_code` turns that code into a language-neutral ``(code, params)`` pair (the
same choices as the English text: "low" or "high", "none" …) that the web application renders in
the reader's language.

Feature conventions assumed by the templates (those of :mod:`qiao.analytics.features`):
``trend_3m``/``trend_6m``/``trend_12m`` and ``txn_trend_3m`` are relative changes (−0.38 = down
38 %); ``recency_days`` days since the last customer-initiated transaction (NaN: none);
``aum``, ``amt_large_out_30d`` (alias ``large_out_sum_30d``), ``td_maturing_30d`` in yuan;
``liquidity`` (alias ``deposit_liquidity``) the demand share (0–1) of deposits; ``frequency``
customer-initiated transactions in the last 12 months; ``contacts_90d`` manager contacts in the
last 90 days; ``n_ebank_activated`` (alias ``ebank_services``) active e-banking services;
``n_products`` products held; ``tenure_months`` months since the customer opened.

References
----------
Friedman, J. H. (2001). Greedy function approximation: a gradient boosting machine. *Ann. Statist.*
29(5), 1189–1232.
Ke, G. et al. (2017). LightGBM: a highly efficient gradient boosting decision tree. *NeurIPS 30*.
Elkan, C. (2001). The foundations of cost-sensitive learning. *IJCAI*, 973–978.
Saerens, M., Latinne, P. and Decaestecker, C. (2002). Adjusting the outputs of a classifier to new
a priori probabilities. *Neural Computation* 14(1), 21–41.
Breiman, L. (2001). Random forests. *Machine Learning* 45, 5–32 (permutation importance).
Seed 001, 篇5 (分类分析: predict churn) and 篇9 (retention economics).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_curve, roc_auc_score

from qiao.analytics.features import day_number
from qiao.analytics.jsonable import jsonable

__all__ = [
    "ATTRITION_FEATURES",
    "ATTRITION_LOOKBACK",
    "ATTRITION_MONOTONE",
    "FEATURE_TEMPLATES",
    "NIGHTLY_MODEL_PARAMS",
    "NOT_ENOUGH_HISTORY",
    "AttritionModel",
    "AttritionResult",
    "AttritionScores",
    "attrition_features_at",
    "apply_attrition",
    "attrition_panel",
    "calibration_table",
    "fit_attrition",
    "fit_nightly_attrition",
    "reason_code",
    "render_reason",
    "score_attrition",
    "top_decile",
]

FloatArray = npt.NDArray[np.float64]

NOT_ENOUGH_HISTORY = "not enough history"
MIN_ROWS = 200
IMPORTANCE_SAMPLE = 20000
TOP_IMPORTANCE = 10


# -- reason templates --------------------------------------------------------------------------


def _money(v: float) -> str:
    return f"¥{v:,.0f}"


def _int(v: float) -> int:
    return int(math.floor(v + 0.5))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _trend_months(months: int, what: str = "AUM") -> Callable[[float, float], str]:
    def render(v: float, med: float) -> str:
        pct = _int(abs(v) * 100.0)
        return f"{what} {'down' if v < 0 else 'up'} {pct} % over the last {months} months"

    return render


def _txn_trend(v: float, med: float) -> str:
    pct = _int(abs(v) * 100.0)
    direction = "down" if v < 0 else "up"
    return f"transactions {direction} {pct} % in the last 3 months (vs the 3 months before)"


def _recency(v: float, med: float) -> str:
    d = _int(v)
    if v >= med:
        return f"no transactions for {d} days"
    return f"last transaction only {d} days ago"


def _aum(v: float, med: float) -> str:
    level = "low" if v < med else "high"
    return f"{level} AUM of {_money(v)} (typical {_money(med)})"


def _n_products(v: float, med: float) -> str:
    n = _int(v)
    if v < med:
        return f"holds only {_plural(n, 'product')}"
    return f"holds {_plural(n, 'product')}"


def _frequency(v: float, med: float) -> str:
    n = _int(v)
    if v < med:
        return f"only {_plural(n, 'transaction')} in the last 12 months (typical {_int(med)})"
    return f"{_plural(n, 'transaction')} in the last 12 months (typical {_int(med)})"


def _contacts(v: float, med: float) -> str:
    n = _int(v)
    if n == 0:
        return "no contact from the customer manager in the last 90 days"
    if v < med:
        return f"only {_plural(n, 'contact')} in the last 90 days"
    return f"{_plural(n, 'contact')} in the last 90 days (typical {_int(med)})"


def _liquidity(v: float, med: float) -> str:
    pct = _int(v * 100.0)
    if v >= med:
        return f"{pct} % of deposits are demand deposits that can leave at once"
    return f"only {pct} % of deposits are demand deposits"


def _large_out(v: float, med: float) -> str:
    return f"large outflows of {_money(v)} in the last 30 days"


def _n_large_out(v: float, med: float) -> str:
    return f"{_plural(_int(v), 'large outflow')} in the last 30 days"


def _td_maturing(v: float, med: float) -> str:
    return f"time deposit of {_money(v)} matures within 30 days"


def _ebank(v: float, med: float) -> str:
    n = _int(v)
    if n == 0:
        return "uses no e-banking services"
    if v < med:
        return f"uses only {_plural(n, 'e-banking service')}"
    return f"uses {_plural(n, 'e-banking service')}"


def _tenure(v: float, med: float) -> str:
    n = _int(v)
    if v < med:
        return f"customer for only {_plural(n, 'month')}"
    return f"customer for {_plural(n, 'month')}"


def _trend_1m(v: float, med: float) -> str:
    return f"AUM {'down' if v < 0 else 'up'} {_int(abs(v) * 100.0)} % in the last month"


def _months_down(v: float, med: float) -> str:
    return f"AUM fell in {_int(v)} of the last 3 months"


def _txn_trend_1m(v: float, med: float) -> str:
    direction = "down" if v < 0 else "up"
    return f"transactions {direction} {_int(abs(v) * 100.0)} % last month (vs the 3 months before)"


def _net_outflow(months: int) -> Callable[[float, float], str]:
    span = "the last month" if months == 1 else f"the last {months} months"

    def render(v: float, med: float) -> str:
        kind = "outflow" if v >= 0 else "inflow"
        return f"net {kind} of {_int(abs(v) * 100.0)} % of AUM in {span}"

    return render


FEATURE_TEMPLATES: dict[str, Callable[[float, float], str]] = {
    "trend_1m": _trend_1m,
    "months_aum_down": _months_down,
    "txn_trend_1m": _txn_trend_1m,
    "net_outflow_1m": _net_outflow(1),
    "net_outflow_3m": _net_outflow(3),
    "trend_3m": _trend_months(3),
    "trend_6m": _trend_months(6),
    "trend_12m": _trend_months(12),
    "txn_trend_3m": _txn_trend,
    "recency_days": _recency,
    "aum": _aum,
    "n_products": _n_products,
    "frequency": _frequency,
    "contacts_90d": _contacts,
    "deposit_liquidity": _liquidity,
    "liquidity": _liquidity,
    "large_out_sum_30d": _large_out,
    "amt_large_out_30d": _large_out,
    "n_large_out_30d": _n_large_out,
    "td_maturing_30d": _td_maturing,
    "ebank_services": _ebank,
    "n_ebank_activated": _ebank,
    "n_ebank_opened": _ebank,
    "tenure_months": _tenure,
}
"""English template per known feature: ``f(value, population_median) -> str``."""


#: Features that are relative changes or shares of AUM, rendered as whole percentages.
RELATIVE_FEATURES = frozenset(
    {
        "trend_1m",
        "trend_3m",
        "trend_6m",
        "trend_12m",
        "txn_trend_1m",
        "txn_trend_3m",
        "net_outflow_1m",
        "net_outflow_3m",
    }
)


def render_reason(feature: str, value: float, median: float) -> str:
    """Render one reason in English.

    Parameters
    ----------
    feature : str
        Feature (column) name.
    value : float
        The customer's value (NaN = not recorded).
    median : float
        The population median of the feature.

    Returns
    -------
    str
        The known template's text, or ``"<feature> unusually high/low (v; typical m)"``.
    """
    if value is None or not math.isfinite(value):
        if feature == "recency_days":
            return "no transactions on record"
        return f"{feature} not recorded"
    template = FEATURE_TEMPLATES.get(feature)
    if template is not None:
        return template(value, median)
    direction = "high" if value >= median else "low"
    return f"{feature} unusually {direction} ({value:.3g}; typical {median:.3g})"


def _trend_code(months: int) -> Callable[[float, float], tuple[str, dict[str, Any]]]:
    def code(v: float, med: float) -> tuple[str, dict[str, Any]]:
        return ("AUM_DOWN" if v < 0 else "AUM_UP"), {"pct": _int(abs(v) * 100.0), "months": months}

    return code


def _low_high(
    low: str, high: str, key: str = "n", typical: bool = False
) -> Callable[[float, float], tuple[str, dict[str, Any]]]:
    """Code ``low`` below the median, else ``high``; ``typical`` adds the median."""

    def code(v: float, med: float) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {key: _int(v)}
        if typical:
            params["typical"] = _int(med)
        return (low if v < med else high), params

    return code


def _none_low_high(
    none: str, low: str, high: str, typical_when_high: bool = False
) -> Callable[[float, float], tuple[str, dict[str, Any]]]:
    def code(v: float, med: float) -> tuple[str, dict[str, Any]]:
        n = _int(v)
        if n == 0:
            return none, {}
        if v < med:
            return low, {"n": n}
        return high, ({"n": n, "typical": _int(med)} if typical_when_high else {"n": n})

    return code


def _fixed(
    code: str, key: str, scale: float = 1.0
) -> Callable[[float, float], tuple[str, dict[str, Any]]]:
    return lambda v, med: (code, {key: _int(v * scale)})


def _signed(
    down: str, up: str, scale: float = 100.0
) -> Callable[[float, float], tuple[str, dict[str, Any]]]:
    """``down`` for a negative value, else ``up``, with ``pct`` = |v| × scale."""

    def code(v: float, med: float) -> tuple[str, dict[str, Any]]:
        return (down if v < 0 else up), {"pct": _int(abs(v) * scale)}

    return code


FEATURE_CODES: dict[str, Callable[[float, float], tuple[str, dict[str, Any]]]] = {
    "trend_1m": _signed("AUM_DOWN_1M", "AUM_UP_1M"),
    "months_aum_down": lambda v, med: ("AUM_FELL_MONTHS", {"n": _int(v)}),
    "txn_trend_1m": _signed("TXN_DOWN_1M", "TXN_UP_1M"),
    "net_outflow_1m": _signed("NET_INFLOW_1M", "NET_OUTFLOW_1M"),
    "net_outflow_3m": _signed("NET_INFLOW_3M", "NET_OUTFLOW_3M"),
    "trend_3m": _trend_code(3),
    "trend_6m": _trend_code(6),
    "trend_12m": _trend_code(12),
    "txn_trend_3m": lambda v, med: (
        "TXN_DOWN_3M" if v < 0 else "TXN_UP_3M",
        {"pct": _int(abs(v) * 100.0)},
    ),
    "recency_days": lambda v, med: (
        "NO_TXN_DAYS" if v >= med else "LAST_TXN_DAYS",
        {"days": _int(v)},
    ),
    "aum": _low_high("AUM_LOW", "AUM_HIGH", key="amount", typical=True),
    "n_products": _low_high("PRODUCTS_FEW", "PRODUCTS"),
    "frequency": _low_high("TXN_12M_FEW", "TXN_12M", typical=True),
    "contacts_90d": _none_low_high(
        "NO_CONTACT_90D", "CONTACTS_90D_FEW", "CONTACTS_90D", typical_when_high=True
    ),
    "deposit_liquidity": lambda v, med: (
        "DEMAND_SHARE_HIGH" if v >= med else "DEMAND_SHARE_LOW",
        {"pct": _int(v * 100.0)},
    ),
    "liquidity": lambda v, med: (
        "DEMAND_SHARE_HIGH" if v >= med else "DEMAND_SHARE_LOW",
        {"pct": _int(v * 100.0)},
    ),
    "large_out_sum_30d": _fixed("LARGE_OUTFLOWS_30D", "amount"),
    "amt_large_out_30d": _fixed("LARGE_OUTFLOWS_30D", "amount"),
    "n_large_out_30d": _fixed("N_LARGE_OUTFLOWS_30D", "n"),
    "td_maturing_30d": _fixed("TD_MATURING_30D", "amount"),
    "ebank_services": _none_low_high("NO_EBANK", "EBANK_FEW", "EBANK"),
    "n_ebank_activated": _none_low_high("NO_EBANK", "EBANK_FEW", "EBANK"),
    "n_ebank_opened": _none_low_high("NO_EBANK", "EBANK_FEW", "EBANK"),
    "tenure_months": _low_high("TENURE_SHORT", "TENURE"),
}
"""Language-neutral counterpart of :data:`FEATURE_TEMPLATES`: ``f(value, median) -> (code,
params)``, params whole numbers (percentages 0–100, amounts in yuan, ``months`` of a trend)."""


def reason_code(feature: str, value: float | None, median: float) -> tuple[str, dict[str, Any]]:
    """The reason of :func:`render_reason` as a code and language-neutral parameters.

    Parameters
    ----------
    feature : str
        Feature (column) name; ``"not_enough_history"`` for the thin-data path.
    value : float or None
        The customer's value (None or NaN = not recorded).
    median : float
        The population median of the feature.

    Returns
    -------
    (str, dict)
        E.g. ``("AUM_DOWN", {"pct": 38, "months": 3})``; an unknown feature gives
        ``UNUSUAL_HIGH`` / ``UNUSUAL_LOW`` with ``feature, value, typical`` (3 significant
        digits), a missing value ``NOT_RECORDED`` (``NO_TXN_ON_RECORD`` for ``recency_days``).
    """
    if feature == "not_enough_history":
        return "NOT_ENOUGH_HISTORY", {}
    if value is None or not math.isfinite(value):
        if feature == "recency_days":
            return "NO_TXN_ON_RECORD", {}
        return "NOT_RECORDED", {"feature": feature}
    code = FEATURE_CODES.get(feature)
    if code is not None:
        return code(value, median)
    return ("UNUSUAL_HIGH" if value >= median else "UNUSUAL_LOW"), {
        "feature": feature,
        "value": float(f"{value:.3g}"),
        "typical": float(f"{median:.3g}"),
    }


# -- the estimator -----------------------------------------------------------------------------


def _as_matrix(X: pd.DataFrame, columns: Sequence[str]) -> FloatArray:
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise ValueError(f"required column {missing[0]} missing")
    bad = [
        c
        for c in columns
        if not (pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c]))
    ]
    if bad:
        raise ValueError(f"feature column {bad[0]} is not numeric")
    out: FloatArray = X[list(columns)].to_numpy(dtype=np.float64, na_value=np.nan)
    return out


class AttritionModel(ClassifierMixin, BaseEstimator):
    """Histogram gradient boosting with prior-corrected probabilities and per-customer reasons.

    Parameters
    ----------
    max_iter : int
        Maximum boosting iterations.
    learning_rate : float
        Shrinkage.
    max_leaf_nodes : int
        Leaves per tree.
    min_samples_leaf : int
        Minimum rows per leaf.
    l2_regularization : float
        L2 penalty on leaf values.
    early_stopping : bool or "auto"
        scikit-learn's early stopping on a random 10 % of the *training* rows (10 rounds without
        improvement of the loss); it only decides the number of trees.  On by default: it keeps
        small panels from over-fitting and large ones fast.
    class_weight : "balanced" or None
        Balanced weights for imbalance; probabilities are corrected back to the base rate.
    threshold : float
        Decision threshold of :meth:`predict` (:func:`fit_attrition` sets the F1-optimal one).
    reason_features : list of str or None
        Features considered as reasons (None: all, at most 10).
    max_reasons : int
        Reasons per customer.
    min_push : float
        Minimum drop of the probability (absolute) when the feature is set to its median for the
        feature to count as a reason.
    min_samples : int
        Below this many rows, or with one class only, no model is grown and the base rate is
        predicted.
    monotonic : dict of str to int or None
        Feature → +1 (the risk may only rise with it) or −1 (only fall); features not named, or
        not in ``X``, are free (scikit-learn's ``monotonic_cst``).
    random_state : int
        Seed.

    Attributes
    ----------
    estimator_ : HistGradientBoostingClassifier or None
        None when the base rate is predicted.
    classes_ : numpy.ndarray
        ``[0, 1]``.
    base_rate_ : float
        Share of positive labels in the fitted data.
    odds_factor_ : float
        ``N₁/N₀`` with balanced weights (prior-shift correction), else 1.
    medians_ : dict of str to float
        Population median of each feature (NaN ignored; 0 when all missing).
    reason_features_ : list of str
        Features evaluated as reasons.
    warning_ : str or None
        Why the base rate is predicted, when it is.
    feature_names_in_ : numpy.ndarray of str
    n_features_in_ : int
    """

    def __init__(
        self,
        *,
        max_iter: int = 200,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 50,
        l2_regularization: float = 1.0,
        early_stopping: bool | str = True,
        class_weight: str | None = "balanced",
        threshold: float = 0.5,
        reason_features: list[str] | None = None,
        max_reasons: int = 3,
        min_push: float = 0.005,
        min_samples: int = MIN_ROWS,
        monotonic: Mapping[str, int] | None = None,
        random_state: int = 0,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.early_stopping = early_stopping
        self.class_weight = class_weight
        self.threshold = threshold
        self.reason_features = reason_features
        self.max_reasons = max_reasons
        self.min_push = min_push
        self.min_samples = min_samples
        self.monotonic = monotonic
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: npt.ArrayLike) -> Self:
        """Grow the trees (or fall back to the base rate on thin data).

        Parameters
        ----------
        X : pandas.DataFrame
            Numeric feature columns (NaN allowed).
        y : array-like of {0, 1}
            Labels.

        Returns
        -------
        AttritionModel
            ``self``.
        """
        cols = [str(c) for c in X.columns]
        x = _as_matrix(X, cols)
        yy = np.asarray(y, dtype=np.float64)
        if yy.shape[0] != x.shape[0]:
            raise ValueError("X and y have different numbers of rows")
        if not np.isin(yy, (0.0, 1.0)).all():
            raise ValueError("labels must be 0 or 1")
        yi = yy.astype(np.int64)
        self.feature_names_in_ = np.asarray(cols, dtype=object)
        self.n_features_in_ = len(cols)
        self.classes_ = np.array([0, 1])
        n1 = int(yi.sum())
        n0 = int(yi.size - n1)
        self.base_rate_ = float(n1 / yi.size) if yi.size else 0.0
        with np.errstate(all="ignore"):
            med = np.nanmedian(x, axis=0) if x.shape[0] else np.zeros(len(cols))
        self.medians_ = {c: (float(m) if math.isfinite(m) else 0.0) for c, m in zip(cols, med)}
        wanted = self.reason_features if self.reason_features is not None else cols
        self.reason_features_ = [c for c in wanted if c in cols][:TOP_IMPORTANCE]
        self.estimator_: HistGradientBoostingClassifier | None = None
        self.odds_factor_ = 1.0
        self.warning_: str | None = None
        if yi.size < self.min_samples:
            self.warning_ = (
                f"only {yi.size} labelled rows (< {self.min_samples}): "
                "predicting the base rate, not enough history"
            )
            return self
        if n1 == 0 or n0 == 0:
            self.warning_ = (
                f"only one class in the labels (all {int(yi[0])}): "
                "predicting the base rate, not enough history"
            )
            return self
        est = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            early_stopping=self.early_stopping,
            class_weight=self.class_weight,
            monotonic_cst=(
                [int(self.monotonic.get(c, 0)) for c in cols] if self.monotonic else None
            ),
            random_state=self.random_state,
        )
        est.fit(x, yi)
        self.estimator_ = est
        if self.class_weight == "balanced":
            self.odds_factor_ = n1 / n0
        return self

    def _proba1(self, x: FloatArray) -> FloatArray:
        if self.estimator_ is None:
            return np.full(x.shape[0], self.base_rate_)
        pw: FloatArray = self.estimator_.predict_proba(x)[:, 1]
        f = self.odds_factor_
        if f == 1.0:
            return pw
        out: FloatArray = pw * f / (pw * f + (1.0 - pw))
        return out

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """Attrition probability (prior-corrected).

        Parameters
        ----------
        X : pandas.DataFrame
            The fitted feature columns.

        Returns
        -------
        numpy.ndarray of shape (n, 2)
            ``P(no attrition), P(attrition)``.
        """
        p = self._proba1(_as_matrix(X, list(self.feature_names_in_)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> npt.NDArray[np.int64]:
        """1 where the probability reaches :attr:`threshold`.

        Parameters
        ----------
        X : pandas.DataFrame

        Returns
        -------
        numpy.ndarray of {0, 1}
        """
        return (self.predict_proba(X)[:, 1] >= self.threshold).astype(np.int64)

    def explain(
        self, X: pd.DataFrame
    ) -> tuple[FloatArray, list[list[str]], list[list[tuple[str, float | None]]]]:
        """Probabilities and the reasons that push each customer's probability up.

        For every reason feature ``j`` the probability is recomputed with ``x_j`` set to its
        population median; ``push_j = p − p(x_j := median_j)``.  The up to :attr:`max_reasons`
        largest pushes above :attr:`min_push` are the reasons, largest first.

        Parameters
        ----------
        X : pandas.DataFrame
            The fitted feature columns.

        Returns
        -------
        prob : numpy.ndarray
            Attrition probability per row.
        reasons : list of list of str
            English reasons per row.
        reason_codes : list of list of (str, float or None)
            ``(feature, value)`` per reason (None for a missing value), for translation.
        """
        cols = list(self.feature_names_in_)
        x = _as_matrix(X, cols)
        n = x.shape[0]
        p0 = self._proba1(x)
        if self.estimator_ is None:
            return (
                p0,
                [[NOT_ENOUGH_HISTORY] for _ in range(n)],
                [[("not_enough_history", None)] for _ in range(n)],
            )
        feats = self.reason_features_
        if not feats or n == 0 or self.max_reasons <= 0:
            return p0, [[] for _ in range(n)], [[] for _ in range(n)]
        idx = [cols.index(f) for f in feats]
        # push <= p0 because probabilities are >= 0: rows with p0 <= min_push can have no reason,
        # so the extra predictions run only on the other rows.
        live = np.flatnonzero(p0 > self.min_push)
        xl = x[live]
        push = np.full((n, len(idx)), -np.inf)
        for k, j in enumerate(idx if live.size else []):  # sklearn refuses zero rows
            saved = xl[:, j].copy()
            xl[:, j] = self.medians_[cols[j]]
            push[live, k] = p0[live] - self._proba1(xl)
            xl[:, j] = saved
        n_slots = min(self.max_reasons, len(idx))
        order = np.argsort(-push, axis=1, kind="stable")[:, :n_slots]
        top_push = np.take_along_axis(push, order, axis=1)
        valid = top_push > self.min_push
        text_slots: list[npt.NDArray[np.object_]] = []
        code_slots: list[npt.NDArray[np.object_]] = []
        for s in range(n_slots):
            texts = np.full(n, None, dtype=object)
            codes = np.full(n, None, dtype=object)
            for k, j in enumerate(idx):
                rows = np.flatnonzero(valid[:, s] & (order[:, s] == k))
                if cols[j] in RELATIVE_FEATURES:
                    # "AUM down 0 %" says nothing to a manager: a change that rounds to 0 %
                    # is no reason, whatever the trees make of it
                    rows = rows[np.abs(x[rows, j]) >= 0.005]
                if rows.size == 0:
                    continue
                name, med = cols[j], self.medians_[cols[j]]
                vals = x[rows, j]
                texts[rows] = [render_reason(name, float(v), med) for v in vals]
                codes[rows] = [(name, float(v) if math.isfinite(v) else None) for v in vals]
            text_slots.append(texts)
            code_slots.append(codes)
        reasons = [[t for t in row if t is not None] for row in zip(*text_slots, strict=True)]
        reason_codes = [[c for c in row if c is not None] for row in zip(*code_slots, strict=True)]
        return p0, reasons, reason_codes


# -- the result and the fitting recipe ---------------------------------------------------------


def _customer_ids(features: pd.DataFrame) -> pd.Index:
    if "customer_no" in features.columns:
        return pd.Index(features["customer_no"])
    return features.index


@dataclass
class AttritionResult:
    """What :func:`fit_attrition` returns.

    Attributes
    ----------
    model : AttritionModel
        Refitted on all periods (with the validation threshold and important features).
    metrics : dict
        ``auc, precision, recall, threshold, base_rate, val_base_rate, n_train, n_val,
        train_periods, val_periods, n_iter, feature_importance`` (top 10 permutation importances
        on a validation sample, AUC drop, descending); ``notes`` (list of caveats) when any, with
        ``note_codes`` (the same as ``{"code", "params"}``);
        ``warning`` only on the thin-data path, where ``predict`` returns the base rate.
    feature_cols : list of str
        The features, in model order.
    validation_model : AttritionModel or None
        The model fitted on the training periods only (the one the metrics describe).
    """

    model: AttritionModel
    metrics: dict[str, Any]
    feature_cols: list[str] = field(default_factory=list)
    validation_model: AttritionModel | None = None

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """Score customers.

        Parameters
        ----------
        features : pandas.DataFrame
            One row per customer with the feature columns; customer_no as a column or the index.

        Returns
        -------
        pandas.DataFrame
            Columns ``customer_no, attrition_prob, reasons`` (list of up to 3 English strings,
            ``["not enough history"]`` on the thin-data path) and ``reason_codes`` (list of
            ``(feature, value)``).
        """
        prob, reasons, codes = self.model.explain(features)
        return pd.DataFrame(
            {
                "customer_no": _customer_ids(features).to_numpy(),
                "attrition_prob": prob,
                "reasons": pd.Series(reasons, dtype=object).to_numpy(),
                "reason_codes": pd.Series(codes, dtype=object).to_numpy(),
            }
        )


def _best_f1_threshold(y: npt.NDArray[np.int64], p: FloatArray) -> float:
    precision, recall, thresholds = precision_recall_curve(y, p)
    denom = precision[:-1] + recall[:-1]
    f1 = np.where(denom > 0, 2 * precision[:-1] * recall[:-1] / np.where(denom > 0, denom, 1), 0)
    return float(thresholds[int(np.argmax(f1))])


#: Share of the validation rows ranked highest that make the "top decile".
TOP_SHARE = 0.1


def top_decile(y: npt.ArrayLike, score: npt.ArrayLike) -> dict[str, float]:
    """Precision, recall and lift among the 10 % of rows with the highest ``score``.

    Ties at the cut are broken by row order (a stable sort), so equal scores are not all taken.

    Parameters
    ----------
    y : array-like of {0, 1}
        Outcomes.
    score : array-like
        Any ranking score (higher = riskier); NaN ranks last.

    Returns
    -------
    dict
        ``top_decile_precision`` (share of leavers among the rows taken), ``top_decile_recall``
        (share of all leavers taken), ``top_decile_lift`` (precision / base rate) and
        ``top_decile_rows``.
    """
    yy = np.asarray(y, dtype=np.float64)
    ss = np.nan_to_num(np.asarray(score, dtype=np.float64), nan=-np.inf)
    n = yy.size
    k = max(1, int(math.floor(TOP_SHARE * n + 0.5))) if n else 0
    if k == 0:
        nan = float("nan")
        return {
            "top_decile_precision": nan,
            "top_decile_recall": nan,
            "top_decile_lift": nan,
            "top_decile_rows": 0,
        }
    taken = yy[np.argsort(-ss, kind="stable")[:k]]
    precision = float(taken.mean())
    positives = float(yy.sum())
    base_rate = positives / n
    return {
        "top_decile_precision": precision,
        "top_decile_recall": float(taken.sum() / positives) if positives else float("nan"),
        "top_decile_lift": precision / base_rate if base_rate else float("nan"),
        "top_decile_rows": k,
    }


def calibration_table(y: npt.ArrayLike, p: npt.ArrayLike, bins: int = 10) -> list[dict[str, Any]]:
    """Predicted against observed attrition by decile of the predicted probability.

    Rows are sorted by ``p`` (stable) and cut into ``bins`` groups of (almost) equal size; each
    group gives ``decile`` (1 = lowest predictions), ``n``, ``predicted`` (mean of ``p``) and
    ``observed`` (share of positives). A calibrated model has ``predicted ≈ observed`` in every
    group (DeGroot & Fienberg 1983's reliability diagram).
    """
    yy = np.asarray(y, dtype=np.float64)
    pp = np.asarray(p, dtype=np.float64)
    order = np.argsort(pp, kind="stable")
    out = []
    for i, part in enumerate(np.array_split(order, bins)):
        if part.size == 0:
            continue
        out.append(
            {
                "decile": i + 1,
                "n": int(part.size),
                "predicted": float(pp[part].mean()),
                "observed": float(yy[part].mean()),
            }
        )
    return out


def _baselines(
    x_tr: pd.DataFrame,
    y_tr: npt.NDArray[np.int64],
    x_val: pd.DataFrame,
    y_val: npt.NDArray[np.int64],
    feature_cols: list[str],
) -> dict[str, dict[str, float]]:
    """What the model must beat, on the same validation rows: ranking by the AUM trend (the
    rule a manager would use: "whose AUM fell most over 3 months") and a logistic regression
    on the same features (balanced weights; NaN as the training median, standardised)."""
    out: dict[str, dict[str, float]] = {}
    two_classes = y_val.min() != y_val.max()

    def scored(score: FloatArray) -> dict[str, float]:
        res = top_decile(y_val, score)
        res["auc"] = (
            float(roc_auc_score(y_val, np.nan_to_num(score, nan=-np.inf)))
            if two_classes
            else float("nan")
        )
        return res

    if "trend_3m" in feature_cols:
        trend = x_val["trend_3m"].to_numpy(dtype=np.float64)
        out["aum_trend_3m"] = scored(-np.nan_to_num(trend, nan=0.0))
    xt = _as_matrix(x_tr, feature_cols)
    xv = _as_matrix(x_val, feature_cols)
    with np.errstate(all="ignore"):
        med = np.nanmedian(xt, axis=0)
    med = np.where(np.isfinite(med), med, 0.0)
    xt = np.where(np.isnan(xt), med, xt)
    xv = np.where(np.isnan(xv), med, xv)
    mu, sd = xt.mean(axis=0), xt.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    # clipped at ±5 standard deviations: heavy tails (AUM, ratios) would dominate the fit
    zt = np.clip((xt - mu) / sd, -5, 5)
    zv = np.clip((xv - mu) / sd, -5, 5)
    if y_tr.min() != y_tr.max():
        logit = LogisticRegression(max_iter=1000, class_weight="balanced").fit(zt, y_tr)
        out["logistic"] = scored(logit.predict_proba(zv)[:, 1])
    return out


def _thin(
    model: AttritionModel,
    x: pd.DataFrame,
    y: npt.NDArray[np.int64],
    reason: str,
    base: dict[str, Any],
) -> AttritionResult:
    model.set_params(min_samples=max(model.min_samples, y.size + 1))
    model.fit(x, y)
    model.warning_ = f"{reason}: predicting the base rate, {NOT_ENOUGH_HISTORY}"
    metrics = {
        **base,
        "auc": float("nan"),
        "precision": float("nan"),
        "recall": float("nan"),
        "threshold": float("nan"),
        "feature_importance": {},
        "warning": model.warning_,
    }
    return AttritionResult(model=model, metrics=metrics, feature_cols=list(x.columns))


def fit_attrition(
    panel: pd.DataFrame,
    *,
    feature_cols: list[str],
    label_col: str = "label",
    time_col: str = "as_of",
    random_state: int = 0,
    n_val_periods: int = 2,
    gap_periods: int = 0,
    model_params: Mapping[str, Any] | None = None,
) -> AttritionResult:
    """Fit the attrition model with a time-based validation, then refit on all periods.

    Parameters
    ----------
    panel : pandas.DataFrame
        One row per ``(customer_no, as_of)``: feature columns, a 0/1 label and the as_of date.
        Rows with a missing label are dropped (counted in ``metrics["notes"]``).
    feature_cols : list of str
        Numeric feature columns (NaN allowed).
    label_col : str
        The 0/1 label column.
    time_col : str
        The snapshot-date column (any sortable type).
    random_state : int
        Seed of the trees and of the importance sample.
    n_val_periods : int
        Number of latest as_of dates used for validation.
    gap_periods : int
        As_of dates left out between the training and the validation dates (the purge): with a
        label that looks ``h`` periods ahead, ``h − 1`` makes every training label observable
        at the first validation date, so the validation is truly out of time.
    model_params : mapping or None
        Parameters of :class:`AttritionModel` (its defaults where not given).

    Returns
    -------
    AttritionResult

    Notes
    -----
    Thin data — fewer than 200 labelled rows, one class only, a single as_of date, or training
    periods with one class — gives a result whose ``metrics["warning"]`` says why and whose
    ``predict`` returns the base rate with the reason "not enough history".
    """
    for col in (*feature_cols, label_col, time_col):
        if col not in panel.columns:
            raise ValueError(f"required column {col} missing from panel")
    if n_val_periods < 1:
        raise ValueError("n_val_periods must be at least 1")
    if gap_periods < 0:
        raise ValueError("gap_periods must be at least 0")
    notes: list[str] = []
    note_codes: list[dict[str, Any]] = []  # the notes as {"code", "params"}, for the pages

    def note(text: str, code: str, **params: Any) -> None:
        notes.append(text)
        note_codes.append({"code": code, "params": params})

    labelled = panel[panel[label_col].notna()]
    if len(labelled) < len(panel):
        dropped = len(panel) - len(labelled)
        note(f"{dropped} rows without a label dropped", "ROWS_WITHOUT_LABEL", n=dropped)
    x_all = labelled[list(feature_cols)]
    y_all = labelled[label_col].to_numpy(dtype=np.float64)
    if not np.isin(y_all, (0.0, 1.0)).all():
        raise ValueError(f"{label_col} must be 0 or 1")
    y_all_i = y_all.astype(np.int64)
    times = labelled[time_col]
    periods = pd.Index(times.unique()).sort_values()
    base: dict[str, Any] = {
        "base_rate": float(y_all_i.mean()) if y_all_i.size else 0.0,
        "n_train": 0,
        "n_val": 0,
        "train_periods": [],
        "val_periods": [],
    }
    if notes:
        base["notes"] = notes
        base["note_codes"] = note_codes

    def make(**kw: Any) -> AttritionModel:
        return AttritionModel(random_state=random_state, **{**(model_params or {}), **kw})

    if y_all_i.size < MIN_ROWS:
        return _thin(
            make(), x_all, y_all_i, f"only {y_all_i.size} labelled rows (< {MIN_ROWS})", base
        )
    if y_all_i.min() == y_all_i.max():
        return _thin(make(), x_all, y_all_i, f"only one class in {label_col}", base)
    if len(periods) < 2:
        return _thin(
            make(), x_all, y_all_i, "a single as_of date: no time-based validation possible", base
        )
    n_val = n_val_periods
    if len(periods) <= n_val:
        n_val = len(periods) - 1
        note(
            f"only {len(periods)} as_of dates: validating on the last {n_val}",
            "FEW_PERIODS",
            n=len(periods),
            n_val=n_val,
        )
    gap = min(gap_periods, len(periods) - n_val - 1)
    if gap < gap_periods:
        note(
            f"only {len(periods)} as_of dates: a gap of {gap} instead of {gap_periods} "
            "between training and validation",
            "SHORT_GAP",
            n=len(periods),
            gap=gap,
            wanted=gap_periods,
        )
    val_start = periods[-n_val]
    train_periods = periods[: len(periods) - n_val - gap]
    val_mask = (times >= val_start).to_numpy()
    train_mask = times.isin(train_periods).to_numpy()
    y_tr, y_val = y_all_i[train_mask], y_all_i[val_mask]
    base["n_train"], base["n_val"] = int(y_tr.size), int(y_val.size)
    base["train_periods"] = [jsonable(p) for p in train_periods]
    base["gap_periods"] = [jsonable(p) for p in periods[len(train_periods) : len(periods) - n_val]]
    base["val_periods"] = [jsonable(p) for p in periods[-n_val:]]
    base["notes"] = notes
    base["note_codes"] = note_codes
    if y_tr.size < MIN_ROWS or y_tr.min() == y_tr.max():
        # Too little history before the gap to validate honestly; all periods together may
        # still be enough to grow the trees (else the base rate, as on thin data).
        why = (
            f"only {y_tr.size} training rows before the gap"
            if y_tr.size < MIN_ROWS
            else "the training periods have only one class"
        )
        note(f"{why}: not validated", "NOT_VALIDATED", n=int(y_tr.size))
        final = make()
        final.fit(x_all, y_all_i)
        if final.estimator_ is None:
            return _thin(make(), x_all, y_all_i, why, base)
        nan = float("nan")
        unvalidated = {
            **base,
            "auc": nan,
            "precision": nan,
            "recall": nan,
            "threshold": final.threshold,
            "feature_importance": {},
        }
        return AttritionResult(model=final, metrics=unvalidated, feature_cols=list(feature_cols))

    x_tr, x_val = x_all[train_mask], x_all[val_mask]
    val_model = make().fit(x_tr, y_tr)
    p_val = val_model.predict_proba(x_val)[:, 1]
    metrics: dict[str, Any] = dict(base)
    metrics["val_base_rate"] = float(y_val.mean())
    assert val_model.estimator_ is not None
    metrics["n_iter"] = int(val_model.estimator_.n_iter_)
    importance: dict[str, float] = {}
    if y_val.min() == y_val.max():
        note(
            "the validation periods have only one class: AUC undefined, threshold 0.5",
            "VALIDATION_ONE_CLASS",
        )
        metrics.update(auc=float("nan"), threshold=0.5)
    else:
        metrics["auc"] = float(roc_auc_score(y_val, p_val))
        metrics["threshold"] = _best_f1_threshold(y_val, p_val)
        rng = np.random.default_rng(random_state)
        take = (
            np.sort(rng.choice(y_val.size, IMPORTANCE_SAMPLE, replace=False))
            if y_val.size > IMPORTANCE_SAMPLE
            else np.arange(y_val.size)
        )
        x_imp = _as_matrix(x_val, feature_cols)[take]
        y_imp = y_val[take]
        if y_imp.min() != y_imp.max():
            # The prior correction is monotone, so the AUC of the raw trees is the model's AUC.
            pi = permutation_importance(
                val_model.estimator_,
                x_imp,
                y_imp,
                scoring="roc_auc",
                n_repeats=5,
                random_state=random_state,
            )
            ranked = sorted(
                zip(feature_cols, pi.importances_mean, strict=True), key=lambda t: -float(t[1])
            )[:TOP_IMPORTANCE]
            importance = {f: float(v) for f, v in ranked}
    threshold = float(metrics["threshold"])
    pred = p_val >= threshold
    tp = int((pred & (y_val == 1)).sum())
    metrics["precision"] = tp / int(pred.sum()) if pred.any() else 0.0
    metrics["recall"] = tp / int(y_val.sum()) if y_val.any() else float("nan")
    metrics["feature_importance"] = importance
    metrics.update(top_decile(y_val, p_val))
    metrics["calibration"] = calibration_table(y_val, p_val)
    metrics["baselines"] = _baselines(x_tr, y_tr, x_val, y_val, list(feature_cols))
    reason_feats = [f for f, v in importance.items() if v > 0] or list(feature_cols)
    final = make(threshold=threshold, reason_features=reason_feats[:TOP_IMPORTANCE])
    final.fit(x_all, y_all_i)
    return AttritionResult(
        model=final,
        metrics=metrics,
        feature_cols=list(feature_cols),
        validation_model=val_model,
    )


# --------------------------------------------------------------------------------------------------
# the nightly scoring's attrition step: a training panel from the monthly series, then today
# --------------------------------------------------------------------------------------------------

#: Features of the attrition model: computable at any past month end from the monthly series,
#: so the training panel and today's scoring use the same definitions.
ATTRITION_FEATURES: tuple[str, ...] = (
    "aum",
    "trend_3m",
    "trend_6m",
    "trend_12m",
    "trend_1m",
    "months_aum_down",
    "deposit_share",
    "txn_trend_3m",
    "txn_trend_1m",
    "frequency",
    "recency_days",
    "net_outflow_3m",
    "net_outflow_1m",
    "n_accounts",
    "tenure_months",
    "age",
    "is_corporate",
)

#: The direction each feature can move the risk in (+1 up, −1 down; others free): a falling AUM
#: or activity, money leaving, a long silence never lower it. Monotone trees (scikit-learn's
#: ``monotonic_cst``) keep the few hundred leavers of a panel from teaching noise, and a
#: manager's reason ("AUM down 40 %") always points the way the score does.
ATTRITION_MONOTONE: dict[str, int] = {
    "trend_3m": -1,
    "trend_6m": -1,
    "trend_1m": -1,
    "months_aum_down": 1,
    "txn_trend_3m": -1,
    "txn_trend_1m": -1,
    "recency_days": 1,
    "net_outflow_3m": 1,
    "net_outflow_1m": 1,
}

#: The nightly model's trees: small (8 leaves of ≥ 100 rows, shrinkage 0.1), monotone and
#: unweighted.
#: Measured on the 20,000-customer demo's own history, out of time: docs/models.md, "Attrition".
NIGHTLY_MODEL_PARAMS: dict[str, Any] = {
    "max_leaf_nodes": 8,
    "min_samples_leaf": 100,
    "learning_rate": 0.1,
    "monotonic": ATTRITION_MONOTONE,
    # Unweighted: the log-loss trees are calibrated as grown (top decile 3.2 % predicted vs
    # 2.9 % observed on the demo), where balanced weights with the prior correction predicted
    # 1.5 % against 3.1 %; the ranking (AUC, top decile) is the same within noise.
    "class_weight": None,
}

#: Months of the series the attrition features at month ``t`` read: t … t + 12.
ATTRITION_LOOKBACK = 13


def _series(f: pd.DataFrame, name: str, k: int) -> FloatArray:
    return np.asarray(f[f"{name}_m{k}"].to_numpy(dtype=np.float64), dtype=np.float64)


def _window_sum(f: pd.DataFrame, name: str, start: int, length: int) -> FloatArray:
    total = np.zeros(len(f), dtype=np.float64)
    for k in range(start, start + length):
        total += _series(f, name, k)
    return total


def _rel(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out - 1.0


def attrition_features_at(
    features: pd.DataFrame, t: int, month_ends: list[_dt.date]
) -> pd.DataFrame:
    """The attrition model's features as of month end ``t`` (0 = today) from the monthly series.

    Same definitions as the main features where the names agree (``trend_3m`` = AUM of month t
    over the mean of the 3 months before, minus 1; ``frequency`` = customer-initiated
    transactions in the 12 months ending at t; ``recency_days`` = days from the last one to the
    month end), plus ``deposit_share`` (deposits / AUM), ``net_outflow_3m`` ((outflows − inflows)
    of 3 months / max(AUM, 1)), ``is_corporate``; and the early signs of leaving: ``trend_1m``
    (AUM of month t over month t + 1, minus 1), ``months_aum_down`` (of the 3 months ending at
    t, those whose AUM fell by more than 2 % from the month before), ``txn_trend_1m``
    (transactions of month t over the mean of the 3 months before, minus 1) and
    ``net_outflow_1m`` (the month's outflows − inflows / max(AUM, 1)).
    """
    aum = _series(features, "aum", t)
    months_down = np.zeros(len(features), dtype=np.float64)
    for k in range(t, t + 3):
        months_down += _series(features, "aum", k) < 0.98 * _series(features, "aum", k + 1)

    def mean_aum(a: int, b: int) -> FloatArray:
        return _window_sum(features, "aum", a, b - a) / (b - a)

    end_day = day_number(month_ends[t])
    last = np.full(len(features), np.nan)
    for k in range(t, len(month_ends)):
        col = features.get(f"last_ci_day_m{k}")
        if col is None:
            break
        last = np.fmax(last, col.to_numpy(dtype=np.float64))
    out = pd.DataFrame(
        {
            "aum": aum,
            "trend_3m": _rel(aum, mean_aum(t + 1, t + 4)),
            "trend_6m": _rel(aum, mean_aum(t + 1, t + 7)),
            "trend_12m": _rel(aum, mean_aum(t + 1, t + 13)),
            "trend_1m": _rel(aum, _series(features, "aum", t + 1)),
            "months_aum_down": months_down,
            "deposit_share": np.where(
                aum > 0, _series(features, "deposits", t) / np.where(aum > 0, aum, 1), 0.0
            ),
            "txn_trend_3m": _rel(
                _window_sum(features, "n_txn", t, 3), _window_sum(features, "n_txn", t + 3, 3)
            ),
            "txn_trend_1m": _rel(
                _series(features, "n_txn", t), _window_sum(features, "n_txn", t + 1, 3) / 3.0
            ),
            "frequency": _window_sum(features, "n_txn", t, 12),
            "recency_days": end_day - last,
            "net_outflow_3m": (
                _window_sum(features, "outflow", t, 3) - _window_sum(features, "inflow", t, 3)
            )
            / np.maximum(aum, 1.0),
            "net_outflow_1m": (_series(features, "outflow", t) - _series(features, "inflow", t))
            / np.maximum(aum, 1.0),
            "n_accounts": _series(features, "n_accounts", t),
            "tenure_months": features["tenure_months"].to_numpy(dtype=np.float64) - t,
            "age": features["age"].to_numpy(dtype=np.float64),
            "is_corporate": (features["customer_type"].astype(object).to_numpy() == "C").astype(
                np.float64
            ),
        },
        index=features.index,
    )
    out.loc[out["tenure_months"] < 0, "tenure_months"] = np.nan
    return out


def attrition_panel(
    features: pd.DataFrame,
    month_ends: list[_dt.date],
    *,
    horizon_months: int = 3,
    drop_ratio: float = 0.5,
    aum_floor: float = 1000.0,
    panel_months: int = 6,
    max_rows: int | None = None,
    random_state: int = 0,
) -> pd.DataFrame:
    """Training panel of the attrition model: one row per customer × past month end.

    Month ends ``t = horizon … horizon + panel_months − 1`` (each has ``horizon`` months of
    future). A row is kept when AUM at t > ``aum_floor``. ``label`` = 1 when AUM at
    ``t − horizon`` ≤ ``drop_ratio`` × AUM at t, or no account is open any more at ``t − horizon``.
    AUM here is the month-average daily balance of the month ending at the month end.

    Returns
    -------
    pandas.DataFrame
        ``customer_no, as_of`` (the month end), :data:`ATTRITION_FEATURES` and ``label``;
        sampled (fixed seed, equally per month end) down to ``max_rows`` when given.
    """
    need = horizon_months + panel_months - 1 + ATTRITION_LOOKBACK
    if len(month_ends) < need:
        raise ValueError(
            f"the attrition panel needs {need} months of series, got {len(month_ends)}"
        )
    rng = np.random.default_rng(random_state)
    parts = []
    per_period = None if max_rows is None else max(1, max_rows // panel_months)
    for t in range(horizon_months, horizon_months + panel_months):
        x = attrition_features_at(features, t, month_ends)
        aum_t = x["aum"].to_numpy()
        later = _series(features, "aum", t - horizon_months)
        closed = _series(features, "n_accounts", t - horizon_months) <= 0
        keep = np.flatnonzero(aum_t > aum_floor)
        if per_period is not None and len(keep) > per_period:
            keep = np.sort(rng.choice(keep, per_period, replace=False))
        part = x.iloc[keep].copy()
        part["label"] = ((later[keep] <= drop_ratio * aum_t[keep]) | closed[keep]).astype(np.int64)
        part.insert(0, "as_of", month_ends[t])
        parts.append(part)
    panel = pd.concat(parts)
    panel.index.name = "customer_no"
    return panel.reset_index()


@dataclass(frozen=True)
class AttritionScores:
    """Today's attrition scores of every customer, indexed like the features.

    Attributes
    ----------
    prob : pandas.Series
        P(attrition); NaN for customers at or below the AUM floor (not scored).
    reasons, reason_codes : pandas.Series
        JSON text: the English reasons, and ``[{"code", "params"}, …]`` (see :func:`reason_code`).
    diagnostics : dict
        ``panel_rows``, ``panel_positive_rate`` and the model's ``metrics`` (JSON-ready).
    """

    prob: pd.Series
    reasons: pd.Series
    reason_codes: pd.Series
    diagnostics: dict[str, Any]


def fit_nightly_attrition(
    features: pd.DataFrame, month_ends: list[_dt.date], cfg: Mapping[str, Any]
) -> tuple[AttritionResult, dict[str, Any]]:
    """Train the attrition model on a panel of past month ends of ``features`` (all customers,
    or the partitioned scoring's sample): the fitted result and the panel's diagnostics.

    ``cfg`` is the ``[attrition]`` table of ``scoring.toml``: the panel's label (``horizon_months``,
    ``drop_ratio``), its rows (``aum_floor``, ``panel_months``, ``max_panel_rows``) and the seed
    of the sampling and of the model (``random_state``).
    """
    seed = int(cfg["random_state"])
    panel = attrition_panel(
        features,
        month_ends,
        horizon_months=int(cfg["horizon_months"]),
        drop_ratio=float(cfg["drop_ratio"]),
        aum_floor=float(cfg["aum_floor"]),
        panel_months=int(cfg["panel_months"]),
        max_rows=int(cfg["max_panel_rows"]),
        random_state=seed,
    )
    fit = fit_attrition(
        panel,
        feature_cols=list(ATTRITION_FEATURES),
        label_col="label",
        time_col="as_of",
        random_state=seed,
        # The label looks horizon months ahead: the purge keeps every training label observable
        # at the first validation date (an honest out-of-time validation).
        gap_periods=int(cfg["horizon_months"]) - 1,
        model_params=NIGHTLY_MODEL_PARAMS,
    )
    diagnostics = {
        "panel_rows": len(panel),
        "panel_positive_rate": float(panel["label"].mean()) if len(panel) else None,
        "metrics": jsonable(fit.metrics),
    }
    return fit, diagnostics


def apply_attrition(
    fit: AttritionResult,
    features: pd.DataFrame,
    month_ends: list[_dt.date],
    cfg: Mapping[str, Any],
    diagnostics: dict[str, Any],
) -> AttritionScores:
    """Score today's customers of ``features`` above the AUM floor with a fitted model (any
    subset of the bank: each customer's score depends on their own row only)."""
    floor = float(cfg["aum_floor"])
    now = attrition_features_at(features, 0, month_ends)
    eligible = now["aum"].to_numpy() > floor
    prob = pd.Series(np.nan, index=features.index)
    reasons = pd.Series("[]", index=features.index, dtype=object)
    codes = pd.Series("[]", index=features.index, dtype=object)
    if eligible.any():  # a partition may have no customer above the floor
        scored = fit.predict(now[eligible].reset_index())
        medians = getattr(fit.model, "medians_", {})
        prob[eligible] = scored["attrition_prob"].to_numpy(dtype=np.float64)
        reasons[eligible] = [json.dumps(list(r), ensure_ascii=False) for r in scored["reasons"]]
        codes[eligible] = _reason_codes_json(scored["reason_codes"], medians)
    reasons[~eligible] = json.dumps([f"AUM at most ¥{floor:,.0f}: not scored for attrition"])
    codes[~eligible] = json.dumps([{"code": "AUM_FLOOR", "params": {"amount": round(floor)}}])
    return AttritionScores(prob, reasons, codes, diagnostics)


def score_attrition(
    features: pd.DataFrame, month_ends: list[_dt.date], cfg: Mapping[str, Any]
) -> AttritionScores:
    """Train on a panel of past month ends and score today's customers above the AUM floor
    (:func:`fit_nightly_attrition`, then :func:`apply_attrition` on the same customers)."""
    fit, diagnostics = fit_nightly_attrition(features, month_ends, cfg)
    return apply_attrition(fit, features, month_ends, cfg, diagnostics)


def _reason_codes_json(codes: Any, medians: Mapping[str, float]) -> list[str]:
    """``[(feature, value), …]`` per customer → JSON text ``[{"code", "params"}, …]``."""
    out = []
    for row in codes:
        items = []
        for feature, value in row:
            code, params = reason_code(feature, value, medians.get(feature, math.nan))
            items.append({"code": code, "params": params})
        out.append(json.dumps(items, ensure_ascii=False, separators=(",", ":")))
    return out
