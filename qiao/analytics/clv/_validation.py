"""Input checks shared by the lifetime-value estimators.

Every check raises :class:`ValueError` with a message that names the offending column and the
first offending row, e.g. ``"recency: value 41.0 is larger than T=39.0 at row 17"``. Rows are
0-based positions; when the input is a pandas object the index label is added too (and an index
named ``"line"`` is reported as a file line number).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def _row_label(source: Any, pos: int) -> str:
    index = getattr(source, "index", None)  # pandas objects; list.index is a method
    if index is not None and not callable(index) and len(index) > pos:
        label = index[pos]
        if getattr(index, "name", None) == "line":
            # the command line numbers rows by their line in the input file
            return f"line {label}"
        if label != pos:
            return f"row {pos} (index {label!r})"
    return f"row {pos}"


def as_float_array(name: str, values: Any) -> FloatArray:
    """Convert ``values`` to a finite 1-d float array, naming ``name`` on failure."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: values must be numeric ({exc})") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        what = "NaN (missing)" if np.isnan(arr[pos]) else f"non-finite value {arr[pos]}"
        raise ValueError(f"{name}: {what} at {_row_label(values, pos)}")
    return arr


def _first(mask: NDArray[np.bool_]) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def check_same_length(**columns: FloatArray) -> int:
    """Return the common length of ``columns`` or raise naming the mismatching column."""
    names = list(columns)
    n = columns[names[0]].shape[0]
    for name in names[1:]:
        if columns[name].shape[0] != n:
            raise ValueError(
                f"{name}: has {columns[name].shape[0]} values but {names[0]} has {n} "
                "(all columns must have the same length)"
            )
    if n == 0:
        raise ValueError(f"{names[0]}: no rows to fit")
    return n


def check_rfm(
    frequency: Any, recency: Any, T: Any, weights: Any = None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Validate an RFM summary (frequency, recency, T) and optional weights.

    Returns float arrays ``(x, t_x, T, w)``; ``w`` is all ones when ``weights`` is None.
    """
    x = as_float_array("frequency", frequency)
    tx = as_float_array("recency", recency)
    age = as_float_array("T", T)
    w = np.ones_like(x) if weights is None else as_float_array("weights", weights)
    check_same_length(frequency=x, recency=tx, T=age, weights=w)
    for name, arr, src in (("frequency", x, frequency), ("recency", tx, recency), ("T", age, T)):
        pos = _first(arr < 0)
        if pos is not None:
            raise ValueError(f"{name}: negative value {arr[pos]} at {_row_label(src, pos)}")
    pos = _first(x != np.round(x))
    if pos is not None:
        raise ValueError(
            f"frequency: non-integer value {x[pos]} at {_row_label(frequency, pos)} "
            "(frequency counts repeat purchase periods)"
        )
    pos = _first(tx > age)
    if pos is not None:
        raise ValueError(
            f"recency: value {tx[pos]} is larger than T={age[pos]} at {_row_label(recency, pos)} "
            "(the last purchase cannot be after the end of observation)"
        )
    pos = _first((x == 0) & (tx > 0))
    if pos is not None:
        raise ValueError(
            f"recency: value {tx[pos]} with frequency 0 at {_row_label(recency, pos)} "
            "(a customer without repeat purchases has recency 0)"
        )
    pos = _first(w < 0)
    if pos is not None:
        raise ValueError(f"weights: negative value {w[pos]} at {_row_label(weights, pos)}")
    if not w.sum() > 0:
        raise ValueError("weights: all weights are 0; there is nothing to fit")
    if not (age > 0).any():
        raise ValueError("T: all customers have T = 0; there is no observation time to fit")
    return x, tx, age, w


def check_monetary(
    frequency: Any, monetary_value: Any, weights: Any = None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validate the inputs of the Gamma-Gamma spend model."""
    x = as_float_array("frequency", frequency)
    m = as_float_array("monetary_value", monetary_value)
    w = np.ones_like(x) if weights is None else as_float_array("weights", weights)
    check_same_length(frequency=x, monetary_value=m, weights=w)
    pos = _first(x < 0)
    if pos is not None:
        raise ValueError(f"frequency: negative value {x[pos]} at {_row_label(frequency, pos)}")
    pos = _first(x != np.round(x))
    if pos is not None:
        raise ValueError(f"frequency: non-integer value {x[pos]} at {_row_label(frequency, pos)}")
    pos = _first((x > 0) & (m <= 0))
    if pos is not None:
        raise ValueError(
            f"monetary_value: non-positive value {m[pos]} for a repeat customer at "
            f"{_row_label(monetary_value, pos)} (the Gamma-Gamma model needs positive spend)"
        )
    pos = _first(w < 0)
    if pos is not None:
        raise ValueError(f"weights: negative value {w[pos]} at {_row_label(weights, pos)}")
    return x, m, w
