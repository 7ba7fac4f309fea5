"""Measuring a campaign: the random hold-out, A/B variants, uplift with its interval, attribution.

Framework-free (no Django): the campaigns app calls these with plain arrays and Arrow tables.

* :func:`split_control` — the random control group, stratified (by tier), fixed by a seed.
* :func:`assign_variants` — message variants (A/B/C…) by the same rule.
* :func:`uplift` — response rate of the treated minus that of the control, with Newcombe's hybrid
  score interval (Newcombe 1998, method 10) and the pooled two-proportion z test.
* :func:`mean_difference` — difference of means (incremental AUM or contribution per recipient)
  with Welch's t interval, and the incremental total over the treated.
* :func:`campaign_outcomes` — per recipient, what happened in the campaign's window, read from the
  lake (bought, inflow, transactions, AUM at the month ends around the window).

``docs/models.md`` ("Measuring a campaign") explains the methods and why the hold-out is random.

Determinism
-----------
A split is a function of the *set* of keys, the strata and the seed only: the keys are sorted
first and the random permutation (``numpy.random.default_rng(seed)``, PCG64) is applied to the
sorted keys, so the order in which the recipients arrive (a database query's order, a file's
order) never changes who is held out, and the seed recorded with the campaign reproduces it.
"""

from __future__ import annotations

import datetime as _dt
import math
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy import stats

from qiao.analytics.lake import LakeError
from qiao.core.lake import (
    LOAD_ID,
    REF_KEYS,
    TIME_ZONE,
    lake_files,
    month_key,
    month_of,
    months_between,
    newest_load_sql,
)
from qiao.core.vocab import CATEGORIES

__all__ = [
    "Difference",
    "Uplift",
    "ASSET_CATEGORIES",
    "OUTCOME_SCHEMA",
    "assign_variants",
    "campaign_outcomes",
    "mean_difference",
    "month_end_on_or_before",
    "split_control",
    "uplift",
    "wilson_interval",
]

#: The stream of :func:`assign_variants` is ``default_rng([seed, VARIANT_STREAM])``: independent
#: of the control split's ``default_rng(seed)`` even when a campaign records one seed for both
#: (two permutations drawn from one seed over key sets of different sizes are not independent).
VARIANT_STREAM = 1

#: Categories whose balances count towards AUM (as in :mod:`qiao.analytics.features`).
ASSET_CATEGORIES: tuple[str, ...] = CATEGORIES.having("aum")


# --------------------------------------------------------------------------------------------------
# the hold-out and the variants
# --------------------------------------------------------------------------------------------------


def _sorted_keys(keys: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """The keys as int64 and the order that sorts them; duplicate keys are an error."""
    arr = np.asarray(keys)
    if arr.ndim != 1:
        raise ValueError(f"keys must be one-dimensional, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"keys must be integers (customer ids), got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    order = np.argsort(arr)  # distinct keys (checked below): any sort gives one order
    ordered = arr[order]
    if ordered.size > 1:
        dup = np.flatnonzero(ordered[1:] == ordered[:-1])
        if dup.size:
            raise ValueError(
                f"keys must be distinct: {int(ordered[dup[0]])} appears more than once"
            )
    return arr, order


def _round_half_up(share: Fraction, n: int) -> int:
    """``floor(share × n + 1/2)`` in exact arithmetic (2.5 → 3, 1.5 → 2)."""
    return math.floor(share * n + Fraction(1, 2))


def split_control(
    keys: npt.ArrayLike,
    strata: npt.ArrayLike,
    pct: float = 0.10,
    *,
    seed: int,
) -> npt.NDArray[np.bool_]:
    """Choose the control group: ``True`` for a key held out (it receives nothing).

    Parameters
    ----------
    keys
        Distinct customer ids (int64), in any order.
    strata
        The stratum of each key (the tier code; ``""`` or ``None`` is a stratum of its own).
    pct
        The share held out, ``0 ≤ pct ≤ 1`` (default 10 %).
    seed
        The campaign's recorded seed.

    Returns
    -------
    numpy.ndarray of bool
        Aligned with ``keys`` as given.

    Notes
    -----
    In each stratum of ``n`` keys exactly ``k = floor(pct × n + 1/2)`` are held out — ``pct × n``
    rounded half up, computed exactly with ``pct`` read as the decimal it prints as (``0.1`` is
    1/10, so 25 keys give 3 and 15 keys give 2). The keys are sorted, a permutation of
    ``0 … N−1`` is drawn from ``numpy.random.default_rng(seed)`` and given to the sorted keys, and
    in each stratum the ``k`` keys with the smallest draws are held out. Stratifying makes the
    treated and control groups have the same tier mix by construction, so a comparison of their
    response rates is not disturbed by chance differences in tier.
    """
    arr, order = _sorted_keys(keys)
    tiers = np.asarray(strata, dtype=object)
    if tiers.shape != arr.shape:
        raise ValueError(f"strata has {tiers.size} values for {arr.size} keys")
    if not 0.0 <= pct <= 1.0 or math.isnan(pct):
        raise ValueError(f"pct must be between 0 and 1, got {pct}")
    n = arr.size
    if n == 0:
        return np.zeros(0, dtype=bool)
    share = Fraction(repr(float(pct)))
    codes = _stratum_codes(tiers)[order]  # the stratum of each sorted key
    sizes = np.bincount(codes)
    take = np.array([_round_half_up(share, int(s)) for s in sizes], dtype=np.int64)
    rank = np.random.default_rng(seed).permutation(n)  # rank[i]: the draw of the i-th sorted key
    by_draw = np.empty(n, dtype=np.int64)
    by_draw[rank] = np.arange(n)  # by_draw[r]: the sorted key drawn r-th
    code_by_draw = codes[by_draw]
    # Group the draws by stratum, keeping draw order inside each (a stable radix sort of small
    # integer codes); a draw is held out when it is among its stratum's first ``take``.
    grouped = np.argsort(code_by_draw, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    grouped_codes = code_by_draw[grouped]
    held_by_draw = np.empty(n, dtype=bool)
    held_by_draw[grouped] = (np.arange(n) - starts[grouped_codes]) < take[grouped_codes]
    out = np.empty(n, dtype=bool)
    out[order] = held_by_draw[rank]
    return out


def _stratum_codes(tiers: npt.NDArray[np.object_]) -> npt.NDArray[np.integer[Any]]:
    """Small integer codes of the strata (``None`` is the stratum ``""``)."""
    codes, uniques = pd.factorize(tiers)  # None → −1
    if (codes < 0).any():
        blank = np.flatnonzero(np.asarray(uniques, dtype=object) == "")
        codes = np.where(codes < 0, blank[0] if blank.size else len(uniques), codes)
    width = np.int16 if codes.max(initial=0) < np.iinfo(np.int16).max else np.int64
    return codes.astype(width)


def _largest_remainder(weights: Sequence[float], n: int) -> npt.NDArray[np.int64]:
    """Counts summing to ``n`` as close to ``weights`` as integers allow (Hamilton's method).

    Each variant gets ``floor(n × w / Σw)``; the keys left over go one each to the largest
    remainders (ties to the earlier variant).
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or w.size == 0:
        raise ValueError("weights must be a non-empty list of numbers")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"weights must be finite, non-negative and not all zero, got {list(w)}")
    exact = [Fraction(repr(float(x))) for x in w]
    total = sum(exact, Fraction(0))
    quotas = [x * n / total for x in exact]
    counts = [math.floor(q) for q in quotas]
    left = n - sum(counts)
    by_remainder = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for i in by_remainder[:left]:
        counts[i] += 1
    return np.array(counts, dtype=np.int64)


def assign_variants(
    keys: npt.ArrayLike, seed: int, weights: Sequence[float]
) -> npt.NDArray[np.int64]:
    """The message variant (0, 1, 2 … in the order of ``weights``) of each key.

    Variant ``j`` gets ``round(N × w_j / Σw)`` keys by the largest-remainder rule (the counts
    sum to ``N`` and each differs from its exact share by less than one). The keys are sorted
    and shuffled with ``default_rng([seed, VARIANT_STREAM])``; the first ``c_0`` shuffled keys
    get variant 0, the next ``c_1`` variant 1, and so on. Same keys and seed, same variants,
    whatever the input order.
    """
    arr, order = _sorted_keys(keys)
    n = arr.size
    counts = _largest_remainder(weights, n)
    out = np.empty(n, dtype=np.int64)
    if n == 0:
        return out
    rank = np.random.default_rng([seed, VARIANT_STREAM]).permutation(n)
    bounds = np.cumsum(counts)
    out[order] = np.searchsorted(bounds, rank, side="right")
    return out


# --------------------------------------------------------------------------------------------------
# uplift of a response rate
# --------------------------------------------------------------------------------------------------


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence}")
    return float(stats.norm.isf((1.0 - confidence) / 2.0))


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval for a proportion (Wilson 1927; Newcombe 1998, method 3).

    ``(2x + z² ∓ z·sqrt(z² + 4x(1 − x/n))) / (2(n + z²))``; for ``x = 0`` the lower limit is
    exactly 0 and for ``x = n`` the upper limit exactly 1. ``n`` must be positive.
    """
    if n <= 0:
        raise ValueError("the Wilson interval needs at least one observation")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n={n}, got {successes}")
    z = _z(confidence)
    z2 = z * z
    centre = 2.0 * successes + z2
    half = z * math.sqrt(z2 + 4.0 * successes * (1.0 - successes / n))
    denom = 2.0 * (n + z2)
    low = 0.0 if successes == 0 else (centre - half) / denom
    high = 1.0 if successes == n else (centre + half) / denom
    return low, high


@dataclass(frozen=True)
class Uplift:
    """The treated and control response rates and their difference.

    ``uplift = rate_treated − rate_control`` (a difference of proportions, in −1 … 1; 0.012 is
    1.2 percentage points). ``ci_low`` / ``ci_high``: Newcombe's hybrid score interval at
    ``confidence``. ``p_value``: two-sided, pooled two-proportion z test of "no difference".

    When a group is empty (``n = 0``) its rate is ``None``, and so are ``uplift``, the interval
    and ``p_value``: there is nothing to compare. No field is ever NaN.
    """

    treated_n: int
    treated_responders: int
    control_n: int
    control_responders: int
    confidence: float
    rate_treated: float | None
    rate_control: float | None
    uplift: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON-ready)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _count(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return int(value)


def uplift(
    treated_n: int,
    treated_responders: int,
    control_n: int,
    control_responders: int,
    confidence: float = 0.95,
) -> Uplift:
    """Uplift of the response rate, with Newcombe's hybrid score interval.

    Parameters
    ----------
    treated_n, treated_responders
        Recipients who were sent the campaign, and those of them who responded.
    control_n, control_responders
        The held-out control group, and those of them who "responded" anyway.
    confidence
        Level of the interval (default 95 %).

    Returns
    -------
    Uplift

    Notes
    -----
    With ``p₁ = x₁/n₁`` (treated), ``p₂ = x₂/n₂`` (control) and Wilson score limits
    ``(l₁, u₁)``, ``(l₂, u₂)`` (:func:`wilson_interval`), the interval of ``d = p₁ − p₂`` is
    (Newcombe 1998, method 10, "hybrid score")::

        L = d − sqrt((p₁ − l₁)² + (u₂ − p₂)²)
        U = d + sqrt((u₁ − p₁)² + (p₂ − l₂)²)

    It stays inside [−1, 1], keeps its coverage near 0 and 1 and for small groups (where the
    Wald interval ``d ± z·se`` collapses or overshoots), and is defined when a group has no
    responders. The p-value is ``2·(1 − Φ(|d| / se₀))`` with the pooled
    ``se₀ = sqrt(p̄(1 − p̄)(1/n₁ + 1/n₂))``; when ``se₀ = 0`` (nobody, or everybody, responded
    in both groups) ``d = 0`` and the p-value is 1.

    References
    ----------
    Newcombe, R. G. (1998). Interval estimation for the difference between independent
    proportions: comparison of eleven methods. *Statistics in Medicine* 17, 873–890.
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
    *Journal of the American Statistical Association* 22, 209–212.
    """
    n1 = _count(treated_n, "treated_n")
    x1 = _count(treated_responders, "treated_responders")
    n2 = _count(control_n, "control_n")
    x2 = _count(control_responders, "control_responders")
    if x1 > n1:
        raise ValueError(f"treated_responders ({x1}) exceeds treated_n ({n1})")
    if x2 > n2:
        raise ValueError(f"control_responders ({x2}) exceeds control_n ({n2})")
    _z(confidence)
    p1 = x1 / n1 if n1 else None
    p2 = x2 / n2 if n2 else None
    if p1 is None or p2 is None:
        return Uplift(n1, x1, n2, x2, confidence, p1, p2, None, None, None, None)
    l1, u1 = wilson_interval(x1, n1, confidence)
    l2, u2 = wilson_interval(x2, n2, confidence)
    d = p1 - p2
    low = max(-1.0, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2))
    high = min(1.0, d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))
    pooled = (x1 + x2) / (n1 + n2)
    se0 = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    p_value = 1.0 if se0 == 0.0 else float(2.0 * stats.norm.sf(abs(d) / se0))
    return Uplift(n1, x1, n2, x2, confidence, p1, p2, d, low, high, min(1.0, p_value))


# --------------------------------------------------------------------------------------------------
# difference of means (incremental AUM, contribution)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """Difference of the treated and control means, per recipient and over the treated.

    ``difference = mean_treated − mean_control`` with Welch's t interval (``ci_low``,
    ``ci_high``), ``df`` its Welch–Satterthwaite degrees of freedom and ``p_value`` the two-sided
    Welch t test. ``incremental_total = difference × n_treated`` (the campaign's incremental AUM
    or contribution) with the interval scaled the same way.

    ``None`` where a value does not exist: a mean of an empty group; the interval, ``df`` and
    ``p_value`` when a group has fewer than two values (no variance). When both groups are
    constant the interval is the point itself and ``p_value`` is 1 if the means are equal, else
    0. No field is ever NaN.
    """

    n_treated: int
    n_control: int
    confidence: float
    mean_treated: float | None
    mean_control: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    df: float | None
    p_value: float | None
    incremental_total: float | None
    incremental_low: float | None
    incremental_high: float | None

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON-ready)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _values(values: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{name}[{int(bad[0])}] is {arr[bad[0]]}: values must be finite")
    return arr


def mean_difference(
    treated: npt.ArrayLike, control: npt.ArrayLike, confidence: float = 0.95
) -> Difference:
    """Difference of means with Welch's t interval (unequal variances).

    Parameters
    ----------
    treated, control
        One value per recipient (e.g. AUM change over the window, contribution), finite.
    confidence
        Level of the interval (default 95 %).

    Notes
    -----
    ``se = sqrt(s₁²/n₁ + s₂²/n₂)`` (sample variances, ``ddof = 1``),
    ``ν = se⁴ / ((s₁²/n₁)²/(n₁ − 1) + (s₂²/n₂)²/(n₂ − 1))`` and the interval is
    ``d ± t_{ν, (1+c)/2} · se``. Welch's interval does not assume the two groups have the same
    variance, which they rarely do when one of them was sent an offer. The control group is
    small (10 %) and money is heavy-tailed, so the interval is wide for small campaigns: it says
    so rather than hiding it.

    References
    ----------
    Welch, B. L. (1947). The generalization of "Student's" problem when several different
    population variances are involved. *Biometrika* 34, 28–35.
    """
    t = _values(treated, "treated")
    c = _values(control, "control")
    _z(confidence)
    n1, n2 = int(t.size), int(c.size)
    m1 = float(t.mean()) if n1 else None
    m2 = float(c.mean()) if n2 else None
    d = None if m1 is None or m2 is None else m1 - m2
    low = high = df = p_value = None
    if d is not None and n1 >= 2 and n2 >= 2:
        a = float(t.var(ddof=1)) / n1
        b = float(c.var(ddof=1)) / n2
        se = math.sqrt(a + b)
        if se == 0.0:
            low = high = d
            p_value = 1.0 if d == 0.0 else 0.0
        else:
            # (a + b)² / (a²/(n₁−1) + b²/(n₂−1)) with shares of se² (no underflow of a², b²)
            sa, sb = a / (a + b), b / (a + b)
            df = 1.0 / (sa * sa / (n1 - 1) + sb * sb / (n2 - 1))
            q = float(stats.t.ppf((1.0 + confidence) / 2.0, df))
            low, high = d - q * se, d + q * se
            p_value = float(2.0 * stats.t.sf(abs(d) / se, df))
    total = None if d is None else d * n1
    return Difference(
        n_treated=n1,
        n_control=n2,
        confidence=confidence,
        mean_treated=m1,
        mean_control=m2,
        difference=d,
        ci_low=low,
        ci_high=high,
        df=df,
        p_value=p_value,
        incremental_total=total,
        incremental_low=None if low is None else low * n1,
        incremental_high=None if high is None else high * n1,
    )


# --------------------------------------------------------------------------------------------------
# attribution over the lake
# --------------------------------------------------------------------------------------------------

#: The columns of :func:`campaign_outcomes`'s result, in order.
OUTCOME_SCHEMA = pa.schema(
    [
        ("customer_no", pa.string()),
        ("bought", pa.bool_()),
        ("purchased", pa.bool_()),
        ("inflow", pa.float64()),
        ("txn_count", pa.int64()),
        ("aum_start", pa.float64()),
        ("aum_end", pa.float64()),
        ("aum_change", pa.float64()),
        ("balance_up", pa.bool_()),
    ]
)


def month_end_on_or_before(day: _dt.date) -> _dt.date:
    """The last month end on or before ``day`` (``day`` itself when it is one)."""
    following = day + _dt.timedelta(days=1)
    if following.day == 1:
        return day
    return day.replace(day=1) - _dt.timedelta(days=1)


def _recipients(recipients: pa.Table) -> pa.Table:
    """``customer_no`` (text, no nulls, distinct) with its position ``_i``."""
    if "customer_no" not in recipients.column_names:
        raise ValueError("recipients: required column customer_no missing")
    col = recipients.column("customer_no")
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        raise ValueError(f"recipients: customer_no must be text, got {col.type}")
    if col.null_count:
        first = pc.index(pc.is_null(col), True).as_py()
        raise ValueError(f"recipients: customer_no is empty on row {first + 1}")
    nos = col.cast(pa.string())
    if pc.count_distinct(nos).as_py() != len(nos):
        counts = pc.value_counts(nos)
        dup = counts.filter(pc.greater(counts.field("counts"), 1))[0]["values"].as_py()
        raise ValueError(f"recipients: customer_no {dup} appears more than once")
    return pa.table({"customer_no": nos, "_i": pa.array(np.arange(len(nos), dtype=np.int64))})


def _opened(opened: pa.Table) -> pa.Table:
    missing = [
        c for c in ("customer_no", "product_code", "open_date") if c not in opened.column_names
    ]
    if missing:
        raise ValueError(f"opened: required column {missing[0]} missing")
    day = opened.column("open_date")
    if not pa.types.is_date(day.type):
        raise ValueError(f"opened: open_date must be a date, got {day.type}")
    return opened.select(["customer_no", "product_code", "open_date"])


def _local_midnight_us(day: _dt.date, time_zone: str) -> int:
    """Microseconds since 1970 UTC of 00:00 of ``day`` in ``time_zone``."""
    start = _dt.datetime.combine(day, _dt.time.min, tzinfo=zoneinfo.ZoneInfo(time_zone))
    return int(start.timestamp()) * 1_000_000


def campaign_outcomes(
    lake: Path,
    recipients: pa.Table,
    *,
    window_start: _dt.date,
    window_end: _dt.date,
    product_codes: Sequence[str],
    engine: str = "duckdb",
    opened: pa.Table | None = None,
    time_zone: str = TIME_ZONE,
    threads: int | None = None,
) -> pa.Table:
    """What each recipient did in the campaign's window, read from the lake.

    Parameters
    ----------
    lake
        The lake folder (``QIAO_HOME/lake``; the contract of :mod:`qiao.core.lake`).
    recipients
        A table with a text column ``customer_no`` (distinct): everyone measured, treated and
        control alike.
    window_start, window_end
        The window, local dates in ``time_zone``, both included.
    product_codes
        The campaign's products.
    engine
        ``"duckdb"`` (the only engine: the attribution is a few SQL statements over Parquet).
    opened
        Accounts opened, ``(customer_no, product_code, open_date)``, from the operational
        database. When ``None`` the lake's ``ref/accounts`` snapshot (exported nightly) is read.
    time_zone
        The bank's time zone (a transaction's day is its local date there).
    threads
        DuckDB threads (default: DuckDB's, all cores).

    Returns
    -------
    pyarrow.Table
        One row per recipient, in the order given, with the columns of :data:`OUTCOME_SCHEMA`:

        ``bought``
            An account of one of ``product_codes`` was opened in the window.
        ``purchased``
            A ``PURCHASE`` transaction of one of ``product_codes`` in the window (a subscription
            to a fund or wealth product the customer may already hold).
        ``inflow``, ``txn_count``
            The sum of the credit (``direction = 'C'``) amounts, yuan, and the number of
            transactions (any direction) in the window.
        ``aum_start``, ``aum_end``, ``aum_change``, ``balance_up``
            The customer's balances in asset categories (those whose balances count towards
            AUM, :data:`qiao.core.vocab.CATEGORIES`) at the last month end on or before
            ``window_start`` and on or before ``window_end``; their difference; and whether it
            is positive.

    Notes
    -----
    Reading: only the transaction partitions of the window's months (and a day either side:
    a loader may partition by the UTC or the local month) and only the columns needed; rows are
    cut to the window's instants and to the recipients (a semi-join) in the scan, before the
    newest-load rule (:func:`qiao.core.lake.newest_load_sql`), as the other lake readers do.
    A balance holds until the account's next row (carry-forward), so balances are read from the
    first partition up to ``aum_end``'s month; an account's balance on a day is that of its row
    of the latest date on or before it, the newest load of that date winning (``arg_max`` over
    ``(balance_date, load_id)``, as one number ``days × 2⁶⁴ + load_id``), and 0 from its
    ``close_date``. Accounts the ``ref/accounts``
    snapshot does not know (opened after the last export) have no category and are left out of
    AUM. Amounts are summed exactly as decimals in DuckDB and returned as float yuan.
    """
    if engine != "duckdb":
        raise ValueError(f"campaign_outcomes runs on DuckDB only, got engine {engine!r}")
    if window_end < window_start:
        raise ValueError(f"the window ends ({window_end}) before it starts ({window_start})")
    codes = sorted({str(c) for c in product_codes})
    people = _recipients(recipients)
    lake = Path(lake).absolute()
    start_me = month_end_on_or_before(window_start)
    end_me = month_end_on_or_before(window_end)
    one_day = _dt.timedelta(days=1)
    txn_files = [
        str(f)
        for f in lake_files(
            lake, "transactions", months_between(window_start - one_day, window_end + one_day)
        )
    ]
    bal_files = [str(f) for f in lake_files(lake, "balances") if month_of(f) <= month_key(end_me)]
    accounts_path, products_path = (
        lake / "ref" / "accounts.parquet",
        lake / "ref" / "products.parquet",
    )
    for needed in (products_path,) + (() if opened is not None else (accounts_path,)):
        if not needed.is_file():
            raise LakeError(f"{needed} is missing: campaign outcomes need it")

    # Rows come back in the recipients' order (ORDER BY _i), so the scans need not keep theirs.
    config: dict[str, Any] = {"preserve_insertion_order": False}
    if threads is not None:
        config["threads"] = threads
    con = duckdb.connect(config=config)
    try:
        con.register("people", people)
        con.register("codes", pa.table({"product_code": pa.array(codes, pa.string())}))
        con.register("assets", pa.table({"category": pa.array(ASSET_CATEGORIES, pa.string())}))
        if opened is not None:
            con.register("opened_rows", _opened(opened))
        else:
            _ref_view(con, "accounts", accounts_path, "opened_rows")
        con.execute(
            """
            CREATE TEMP TABLE bought AS
            SELECT DISTINCT CAST(customer_no AS VARCHAR) AS customer_no FROM opened_rows
            WHERE product_code IN (SELECT product_code FROM codes)
              AND open_date BETWEEN ? AND ?
              AND customer_no IN (SELECT customer_no FROM people)
            """,
            [window_start, window_end],
        )
        cut = _recipient_cut(lake, people.num_rows)
        _txn_table(con, txn_files, window_start, window_end, time_zone, cut)
        _aum_table(con, bal_files, accounts_path, products_path, start_me, end_me, cut)
        result = con.execute(
            """
            SELECT p.customer_no,
                   b.customer_no IS NOT NULL AS bought,
                   coalesce(t.purchased, false) AS purchased,
                   CAST(coalesce(t.inflow, 0) AS DOUBLE) AS inflow,
                   coalesce(t.txn_count, 0)::BIGINT AS txn_count,
                   CAST(coalesce(a.aum_start, 0) AS DOUBLE) AS aum_start,
                   CAST(coalesce(a.aum_end, 0) AS DOUBLE) AS aum_end,
                   CAST(coalesce(a.aum_end, 0) - coalesce(a.aum_start, 0) AS DOUBLE) AS aum_change,
                   coalesce(a.aum_end, 0) > coalesce(a.aum_start, 0) AS balance_up
            FROM people p
            LEFT JOIN bought b USING (customer_no)
            LEFT JOIN txn t USING (customer_no)
            LEFT JOIN aum a USING (customer_no)
            ORDER BY p._i
            """
        ).to_arrow_table()
    finally:
        con.close()
    return result.cast(OUTCOME_SCHEMA)


def _ref_view(con: duckdb.DuckDBPyConnection, name: str, path: Path, view: str) -> None:
    """The snapshot ``lake/ref/<name>.parquet`` as the view ``view``, newest load per key."""
    relation = con.from_parquet(str(path))
    if LOAD_ID not in relation.columns:
        relation.create_view(view)
        return
    relation.create_view(f"{view}_all")
    keys = ", ".join(REF_KEYS[name])  # names from code, as newest_load_sql builds them
    newest = f"SELECT * FROM {view}_all QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY {LOAD_ID} DESC) = 1"  # noqa: S608
    con.execute(f"CREATE TEMP VIEW {view} AS {newest}")


#: The semi-join to the recipients, in a scan's WHERE.
_RECIPIENTS = " AND customer_no IN (SELECT customer_no FROM people)"


def _recipient_cut(lake: Path, recipients: int) -> str:
    """Cut the scans to the recipients (:data:`_RECIPIENTS`) unless they are most customers.

    A semi-join in the scan makes a small campaign read a fraction of the rows through the
    newest-load rule, but with a hash table of most customers it costs more than it saves
    (DuckDB 1.5, 1 M of 1 M customers over 20 M transactions: 21-28 s against 14 s without;
    300 k: 9 s against 14 s). Above half the customers of ``ref/customers`` the scans keep
    everyone and the final join to the recipients cuts (the same rows, unless a correction
    moved a transaction or a balance to another customer).
    """
    path = lake / "ref" / "customers.parquet"
    if not path.is_file():
        return _RECIPIENTS
    customers = pq.ParquetFile(path).metadata.num_rows
    return "" if 2 * recipients >= customers else _RECIPIENTS


def _txn_table(
    con: duckdb.DuckDBPyConnection,
    files: list[str],
    window_start: _dt.date,
    window_end: _dt.date,
    time_zone: str,
    cut: str,
) -> None:
    """``txn``: per customer with transactions in the window, inflow, count, purchased."""
    if not files:
        con.execute(
            "CREATE TEMP TABLE txn (customer_no VARCHAR, inflow DECIMAL(38, 2), "
            "txn_count BIGINT, purchased BOOLEAN)"
        )
        return
    newest = newest_load_sql(
        "transactions",
        "$files",
        columns="txn_id, customer_no, amount, direction, txn_type, product_code, load_id",
        where="epoch_us(txn_time) >= $lo AND epoch_us(txn_time) < $hi" + cut,
    )
    # The text of newest_load_sql is built from constants; every value is a bound parameter.
    con.execute(
        f"""
        CREATE TEMP TABLE txn AS
        SELECT customer_no,
               sum(CASE WHEN direction = 'C' THEN amount ELSE 0 END) AS inflow,
               count(*) AS txn_count,
               bool_or(txn_type = 'PURCHASE'
                       AND product_code IN (SELECT product_code FROM codes)) AS purchased
        FROM ({newest})
        GROUP BY customer_no
        """,  # noqa: S608
        {
            "files": files,
            "lo": _local_midnight_us(window_start, time_zone),
            "hi": _local_midnight_us(window_end + _dt.timedelta(days=1), time_zone),
        },
    )


def _aum_table(
    con: duckdb.DuckDBPyConnection,
    files: list[str],
    accounts_path: Path,
    products_path: Path,
    start_me: _dt.date,
    end_me: _dt.date,
    cut: str,
) -> None:
    """``aum``: per recipient with asset balances, the totals at the two month ends."""
    if not files or not accounts_path.is_file():
        con.execute(
            "CREATE TEMP TABLE aum (customer_no VARCHAR, aum_start DECIMAL(38, 2), "
            "aum_end DECIMAL(38, 2))"
        )
        return
    _ref_view(con, "accounts", accounts_path, "ref_accounts")
    _ref_view(con, "products", products_path, "ref_products")
    # The text is constants (`cut` is _RECIPIENTS or ""); every value is a bound parameter.
    con.execute(
        f"""
        CREATE TEMP TABLE aum AS
        WITH rows AS (
            -- (balance_date, load_id) as one number: half the CPU of a struct key
            SELECT account_no, balance, balance_date,
                   date_diff('day', DATE '1970-01-01', balance_date)::HUGEINT
                       * 18446744073709551616 + load_id AS newest
            FROM read_parquet($files, union_by_name = true)
            WHERE balance_date <= $end_me{cut}
        ), last AS (
            SELECT account_no,
                   arg_max(balance, newest) FILTER (WHERE balance_date <= $start_me) AS bal_start,
                   arg_max(balance, newest) AS bal_end
            FROM rows
            GROUP BY account_no
        ), acc AS (
            SELECT account_no, customer_no, close_date FROM (
                SELECT a.account_no, a.customer_no, a.close_date, p.category
                FROM ref_accounts a JOIN ref_products p USING (product_code)
            ) WHERE category IN (SELECT category FROM assets)
        )
        SELECT acc.customer_no,
               sum(CASE WHEN acc.close_date <= $start_me THEN 0
                        ELSE coalesce(last.bal_start, 0) END) AS aum_start,
               sum(CASE WHEN acc.close_date <= $end_me THEN 0
                        ELSE coalesce(last.bal_end, 0) END) AS aum_end
        FROM last JOIN acc USING (account_no)
        GROUP BY acc.customer_no
        """,  # noqa: S608
        {"files": files, "start_me": start_me, "end_me": end_me},
    )
