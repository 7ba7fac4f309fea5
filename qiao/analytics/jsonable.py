"""One conversion of analytic results to JSON-ready values (diagnostics, metrics, explanations)."""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["jsonable"]


def jsonable(value: Any) -> Any:
    """``value`` with numpy, pandas and date values turned into JSON-serialisable ones, recursively.

    Mappings become dicts with string keys; sequences, sets and arrays lists; numpy scalars Python
    numbers; NaN and infinities ``None``; a date its ISO text (a pandas timestamp at midnight its
    date alone); anything else not JSON-native its ``str``.
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, int | str | bool) or value is None:
        return value
    return str(value)
