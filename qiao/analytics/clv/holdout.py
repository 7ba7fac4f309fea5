"""Calibration / holdout validation of a transaction model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .gammagamma import TransactionModel

_REQUIRED = ("frequency_cal", "recency_cal", "T_cal", "frequency_holdout", "duration_holdout")


def holdout_report(
    model: TransactionModel, cal_holdout: pd.DataFrame, max_frequency: int = 7
) -> pd.DataFrame:
    """Predicted versus actual repeat transactions in the holdout period.

    Customers are grouped by calibration frequency ``0, 1, ..., max_frequency - 1`` and
    ``max_frequency+`` (the classic Fader-Hardie validation chart); the last row, ``"total"``,
    covers everyone.

    Parameters
    ----------
    model : BetaGeoFitter or ParetoNBDFitter
        Model fitted on the calibration columns.
    cal_holdout : pandas.DataFrame
        Output of :func:`~qiao.analytics.clv.calibration_and_holdout_data`.
    max_frequency : int, default 7
        Calibration frequencies at or above this are pooled into one group.

    Returns
    -------
    pandas.DataFrame
        Indexed by group label (``"0"`` .. ``"7+"``, ``"total"``), with columns ``n_customers``,
        ``actual_mean``, ``predicted_mean`` (repeat transactions per customer in the holdout),
        ``actual_total`` and ``predicted_total``. Groups without customers are omitted.
    """
    missing = [c for c in _REQUIRED if c not in cal_holdout.columns]
    if missing:
        raise ValueError(f"required column {missing[0]} missing")
    if int(max_frequency) < 1:
        raise ValueError(f"max_frequency: must be >= 1, got {max_frequency}")
    x = cal_holdout["frequency_cal"].to_numpy(dtype=float)
    predicted = model.conditional_expected_number_of_purchases_up_to_time(
        cal_holdout["duration_holdout"].to_numpy(dtype=float),
        x,
        cal_holdout["recency_cal"].to_numpy(dtype=float),
        cal_holdout["T_cal"].to_numpy(dtype=float),
    )
    frame = pd.DataFrame(
        {
            "group": np.minimum(x, max_frequency).astype(int),
            "actual": cal_holdout["frequency_holdout"].to_numpy(dtype=float),
            "predicted": np.asarray(predicted, dtype=float),
        }
    )
    grouped = frame.groupby("group").agg(
        n_customers=("actual", "size"),
        actual_total=("actual", "sum"),
        predicted_total=("predicted", "sum"),
    )
    grouped.loc["total"] = [len(frame), frame["actual"].sum(), frame["predicted"].sum()]
    labels = [f"{g}+" if g == max_frequency else str(g) for g in grouped.index[:-1].astype(int)] + [
        "total"
    ]
    grouped.index = pd.Index(labels, name="frequency_cal")
    grouped["n_customers"] = grouped["n_customers"].astype(np.int64)
    grouped["actual_mean"] = grouped["actual_total"] / grouped["n_customers"]
    grouped["predicted_mean"] = grouped["predicted_total"] / grouped["n_customers"]
    return grouped[
        ["n_customers", "actual_mean", "predicted_mean", "actual_total", "predicted_total"]
    ]
