"""Measuring a campaign: the hold-out split, variants, uplift (Newcombe 1998), Welch, attribution."""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from qiao.analytics.campaign import (
    OUTCOME_SCHEMA,
    assign_variants,
    campaign_outcomes,
    mean_difference,
    month_end_on_or_before,
    split_control,
    uplift,
    wilson_interval,
)
from qiao.analytics.lake import LakeError, write_ref_table

TIERS = np.array(["DIAMOND", "PLATINUM", "GOLD", "ORDINARY", "RESTRICTED", ""], dtype=object)


def _bank(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    keys = rng.choice(10 * n, n, replace=False).astype(np.int64)
    strata = rng.choice(TIERS, n, p=[0.01, 0.04, 0.15, 0.6, 0.15, 0.05])
    return keys, strata


def _reference_split(keys: np.ndarray, strata: np.ndarray, pct: float, seed: int) -> np.ndarray:
    """The documented rule, one key at a time: sort the keys, give the i-th sorted key the i-th
    value of ``default_rng(seed).permutation(n)``, hold out in each stratum the ``floor(pct × n
    + 1/2)`` keys with the smallest values."""
    order = sorted(range(len(keys)), key=lambda i: int(keys[i]))
    draw = np.random.default_rng(seed).permutation(len(keys))
    members: dict[str, list[int]] = {}
    for position, i in enumerate(order):
        members.setdefault(strata[i] or "", []).append(position)
    held = set()
    for positions in members.values():
        k = math.floor(Fraction(repr(pct)) * len(positions) + Fraction(1, 2))
        held.update(sorted(positions, key=lambda p: draw[p])[:k])
    out = np.zeros(len(keys), dtype=bool)
    for position, i in enumerate(order):
        out[i] = position in held
    return out


# --------------------------------------------------------------------------------------------------
# split_control
# --------------------------------------------------------------------------------------------------


def test_split_follows_the_documented_rule() -> None:
    keys, strata = _bank(3000, seed=1)
    assert np.array_equal(
        split_control(keys, strata, 0.1, seed=5), _reference_split(keys, strata, 0.1, 5)
    )


def test_split_is_the_same_for_the_same_seed_and_keys_in_any_order() -> None:
    keys, strata = _bank(5000)
    held = split_control(keys, strata, 0.1, seed=20261205)
    again = split_control(keys, strata, 0.1, seed=20261205)
    assert np.array_equal(held, again)
    shuffle = np.random.default_rng(99).permutation(len(keys))
    shuffled = split_control(keys[shuffle], strata[shuffle], 0.1, seed=20261205)
    assert np.array_equal(shuffled, held[shuffle])
    assert set(keys[held]) == set(keys[shuffle][shuffled])


def test_different_seeds_hold_out_different_customers() -> None:
    keys, strata = _bank(5000)
    a = set(keys[split_control(keys, strata, 0.1, seed=1)])
    b = set(keys[split_control(keys, strata, 0.1, seed=2)])
    assert len(a) == len(b) == 500
    # Two independent 10 % draws share about 1 % of the keys, never nearly all of them.
    assert len(a & b) < 150


def test_each_stratum_holds_out_exactly_its_rounded_share() -> None:
    keys, strata = _bank(7777, seed=3)
    for pct in (0.1, 0.05, 0.35, 0.5):
        held = split_control(keys, strata, pct, seed=11)
        for tier in TIERS:
            members = strata == tier
            n = int(members.sum())
            expected = math.floor(Fraction(repr(pct)) * n + Fraction(1, 2))
            assert int(held[members].sum()) == expected, (pct, tier, n)


def test_rounding_is_half_up() -> None:
    # 25 keys at 10 % is 2.5 → 3; 15 keys is 1.5 → 2; 14 keys is 1.4 → 1; 10 keys at 35 % is 3.5 → 4
    for n, pct, k in ((25, 0.1, 3), (15, 0.1, 2), (14, 0.1, 1), (10, 0.35, 4), (3, 0.1, 0)):
        keys = np.arange(n, dtype=np.int64)
        assert int(split_control(keys, [""] * n, pct, seed=0).sum()) == k, (n, pct)


def test_none_and_blank_are_one_stratum() -> None:
    keys = np.arange(20, dtype=np.int64)
    mixed = np.array([None, ""] * 10, dtype=object)
    assert int(split_control(keys, mixed, 0.1, seed=3).sum()) == 2
    assert np.array_equal(
        split_control(keys, mixed, 0.1, seed=3), split_control(keys, [""] * 20, 0.1, seed=3)
    )


def test_split_edges_and_bad_input() -> None:
    assert split_control(np.array([], dtype=np.int64), [], seed=1).shape == (0,)
    keys = np.arange(10, dtype=np.int64)
    assert not split_control(keys, [""] * 10, 0.0, seed=1).any()
    assert split_control(keys, [""] * 10, 1.0, seed=1).all()
    with pytest.raises(ValueError, match="distinct: 3"):
        split_control(np.array([1, 3, 2, 3]), ["", "", "", ""], seed=1)
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_control(keys, [""] * 10, 1.5, seed=1)
    with pytest.raises(ValueError, match="strata has 9 values for 10 keys"):
        split_control(keys, [""] * 9, seed=1)
    with pytest.raises(ValueError, match="integers"):
        split_control(np.array(["a", "b"]), ["", ""], seed=1)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-(2**62), 2**62), unique=True, max_size=200),
    st.floats(0.0, 1.0),
    st.integers(0, 2**32),
    st.randoms(use_true_random=False),
)
def test_split_counts_and_order_independence_hold_for_any_keys(keys, pct, seed, rnd) -> None:
    arr = np.array(keys, dtype=np.int64)
    strata = np.array([rnd.choice(["A", "B", ""]) for _ in keys], dtype=object)
    held = split_control(arr, strata, pct, seed=seed)
    for tier in ("A", "B", ""):
        n = int((strata == tier).sum())
        assert int(held[strata == tier].sum()) == math.floor(
            Fraction(repr(pct)) * n + Fraction(1, 2)
        )
    perm = np.array(rnd.sample(range(len(keys)), len(keys)), dtype=np.int64)
    assert np.array_equal(split_control(arr[perm], strata[perm], pct, seed=seed), held[perm])


# --------------------------------------------------------------------------------------------------
# assign_variants
# --------------------------------------------------------------------------------------------------


def test_variant_shares_are_as_close_to_the_weights_as_integers_allow() -> None:
    keys, _ = _bank(10_001)
    for weights, counts in (
        ([1, 1], [5001, 5000]),
        ([1, 1, 1], [3334, 3334, 3333]),
        ([0.7, 0.2, 0.1], [7001, 2000, 1000]),
        ([3, 0, 1], [7501, 0, 2500]),
    ):
        variants = assign_variants(keys, 4, weights)
        assert np.bincount(variants, minlength=len(weights)).tolist() == counts, weights
        share = np.asarray(weights, float) / sum(weights) * len(keys)
        assert np.all(np.abs(np.bincount(variants, minlength=len(weights)) - share) < 1)


def test_variants_are_deterministic_and_independent_of_input_order() -> None:
    keys, _ = _bank(4000)
    v = assign_variants(keys, 77, [1, 1])
    assert np.array_equal(v, assign_variants(keys, 77, [1, 1]))
    perm = np.random.default_rng(5).permutation(len(keys))
    assert np.array_equal(assign_variants(keys[perm], 77, [1, 1]), v[perm])
    other = assign_variants(keys, 78, [1, 1])
    assert 0.4 < float(np.mean(v == other)) < 0.6  # another seed: a fresh coin per key


def test_variants_are_not_tied_to_the_control_split_of_the_same_seed() -> None:
    """A campaign may record one seed for both: the variant of a treated key must not depend on
    its place in the control split's permutation."""
    keys, strata = _bank(20_000)
    held = split_control(keys, strata, 0.5, seed=9)
    variants = assign_variants(keys, 9, [1, 1])
    # Independent draws: variant 0 takes half of the held-out keys, give or take noise.
    assert abs(float(np.mean(variants[held] == 0)) - 0.5) < 0.03


def test_variant_bad_weights() -> None:
    keys = np.arange(5, dtype=np.int64)
    for weights in ([], [0, 0], [1, -1], [1, float("nan")]):
        with pytest.raises(ValueError, match="weights"):
            assign_variants(keys, 1, weights)


# --------------------------------------------------------------------------------------------------
# uplift: Newcombe (1998), method 10
# --------------------------------------------------------------------------------------------------

#: Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10 (score interval
#: without continuity correction), 95 %: (x1, n1, x2, n2) -> (lower, upper) of p1 - p2, 4 decimals.
#: The paper itself could not be read here; these values are Table II as reproduced by
#: R DescTools' own test of BinomDiffCI(method = "score") (examples a and b, with the SAS
#: paper of lexjansen.com WUSS 2016/127 it cites) and by other published test suites (all eight),
#: found with the search tool. Every row is also checked below against an independent
#: computation from scipy's Wilson intervals (scipy.stats.binomtest(...).proportion_ci).
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),  # (a)
    ((9, 10, 3, 10), (0.1705, 0.8090)),  # (b)
    ((6, 7, 2, 7), (0.0582, 0.8062)),  # (c)
    ((5, 56, 0, 29), (-0.0381, 0.1926)),  # (d)
    ((0, 10, 0, 20), (-0.1611, 0.2775)),  # (e)
    ((0, 10, 0, 10), (-0.2775, 0.2775)),  # (f)
    ((10, 10, 0, 20), (0.6791, 1.0000)),  # (g)
    ((10, 10, 0, 10), (0.6075, 1.0000)),  # (h)
]


@pytest.mark.parametrize(("counts", "interval"), NEWCOMBE_TABLE_II)
def test_uplift_interval_matches_newcombe_table_ii(counts, interval) -> None:
    x1, n1, x2, n2 = counts
    u = uplift(n1, x1, n2, x2)
    assert u.uplift == pytest.approx(x1 / n1 - x2 / n2, abs=1e-12)
    assert round(u.ci_low, 4) == pytest.approx(interval[0], abs=1e-12)
    assert round(u.ci_high, 4) == pytest.approx(interval[1], abs=1e-12)


def _scipy_newcombe(x1: int, n1: int, x2: int, n2: int, confidence: float) -> tuple[float, float]:
    """Method 10 from scipy's own Wilson intervals (an implementation independent of ours)."""
    a = stats.binomtest(x1, n1).proportion_ci(confidence_level=confidence, method="wilson")
    b = stats.binomtest(x2, n2).proportion_ci(confidence_level=confidence, method="wilson")
    p1, p2 = x1 / n1, x2 / n2
    low = p1 - p2 - math.sqrt((p1 - a.low) ** 2 + (b.high - p2) ** 2)
    high = p1 - p2 + math.sqrt((a.high - p1) ** 2 + (p2 - b.low) ** 2)
    return low, high


@pytest.mark.parametrize(("counts", "interval"), NEWCOMBE_TABLE_II)
def test_uplift_interval_equals_an_independent_scipy_computation(counts, interval) -> None:
    x1, n1, x2, n2 = counts
    for confidence in (0.8, 0.95, 0.99):
        u = uplift(n1, x1, n2, x2, confidence=confidence)
        low, high = _scipy_newcombe(x1, n1, x2, n2, confidence)
        assert u.ci_low == pytest.approx(low, abs=1e-9)
        assert u.ci_high == pytest.approx(high, abs=1e-9)


def test_wilson_interval_matches_newcombe_table_i() -> None:
    """Newcombe's companion paper (Statistics in Medicine 17:857-872, 1998), Table I, method 3
    (score): 81/263 → 0.2553 to 0.3662; 0/20 → 0 to 0.1611 (as in Table II's example e)."""
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert wilson_interval(0, 20) == (0.0, pytest.approx(0.1611, abs=5e-5))
    assert wilson_interval(20, 20)[1] == 1.0


def test_uplift_p_value_is_the_pooled_two_proportion_z_test() -> None:
    u = uplift(70, 56, 80, 48)
    # Pearson's chi-square without continuity correction is the square of the pooled z.
    chi2, p, _, _ = stats.chi2_contingency([[56, 14], [48, 32]], correction=False)
    assert u.p_value == pytest.approx(p, rel=1e-9)
    assert u.rate_treated == 0.8 and u.rate_control == 0.6


def test_uplift_edges_have_no_nan() -> None:
    empty = uplift(0, 0, 100, 5)
    assert empty.rate_treated is None and empty.rate_control == 0.05
    assert empty.uplift is None and empty.ci_low is None and empty.ci_high is None
    assert empty.p_value is None
    nobody = uplift(1000, 0, 100, 0)
    assert nobody.uplift == 0.0 and nobody.p_value == 1.0
    assert nobody.ci_low < 0 < nobody.ci_high
    everybody = uplift(50, 50, 5, 5)
    assert everybody.uplift == 0.0 and everybody.p_value == 1.0
    for u in (empty, nobody, everybody):
        assert not any(isinstance(v, float) and math.isnan(v) for v in u.as_dict().values())


def test_uplift_bad_input() -> None:
    with pytest.raises(ValueError, match="treated_responders \\(11\\) exceeds treated_n \\(10\\)"):
        uplift(10, 11, 10, 1)
    with pytest.raises(ValueError, match="control_n must not be negative"):
        uplift(10, 1, -1, 0)
    with pytest.raises(ValueError, match="whole number"):
        uplift(10, 1.5, 10, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="confidence"):
        uplift(10, 1, 10, 1, confidence=1.0)


counts = st.integers(1, 5000).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n)))


@settings(max_examples=300, deadline=None)
@given(counts, counts, st.floats(0.5, 0.999), st.floats(0.5, 0.999))
def test_uplift_interval_properties(treated, control, c1, c2) -> None:
    (n1, x1), (n2, x2) = treated, control
    u = uplift(n1, x1, n2, x2, confidence=c1)
    assert -1.0 <= u.ci_low <= u.uplift <= u.ci_high <= 1.0
    assert 0.0 <= u.p_value <= 1.0
    lo, hi = sorted((c1, c2))
    narrow, wide = uplift(n1, x1, n2, x2, confidence=lo), uplift(n1, x1, n2, x2, confidence=hi)
    assert wide.ci_low <= narrow.ci_low + 1e-12 and narrow.ci_high <= wide.ci_high + 1e-12
    # Swapping the groups mirrors the interval.
    s = uplift(n2, x2, n1, x1, confidence=c1)
    assert s.ci_low == pytest.approx(-u.ci_high, abs=1e-12)
    assert s.ci_high == pytest.approx(-u.ci_low, abs=1e-12)


# --------------------------------------------------------------------------------------------------
# mean_difference: Welch
# --------------------------------------------------------------------------------------------------


def test_welch_interval_matches_scipy() -> None:
    rng = np.random.default_rng(4)
    treated = rng.lognormal(10, 1.2, 900)
    control = rng.lognormal(9.9, 0.8, 100)
    d = mean_difference(treated, control)
    ref = stats.ttest_ind(treated, control, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert d.difference == pytest.approx(treated.mean() - control.mean(), rel=1e-12)
    assert (d.ci_low, d.ci_high) == (pytest.approx(ci.low, rel=1e-9), pytest.approx(ci.high))
    assert d.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert d.df == pytest.approx(ref.df, rel=1e-9)
    assert d.incremental_total == pytest.approx(d.difference * 900)
    assert d.incremental_low == pytest.approx(ci.low * 900)
    assert d.incremental_high == pytest.approx(ci.high * 900)


def test_welch_hand_example() -> None:
    """Means 3 and 11/8; sample variances 5/2 and 59/48; se² = 5/2/5 + 59/48/4 = 1/2 + 59/192;
    Welch-Satterthwaite ν = se⁴ / ((1/2)²/4 + (59/192)²/3) = 6.93496."""
    d = mean_difference([1, 2, 3, 4, 5], [2, 2.5, 1, 0])
    assert d.difference == 1.625
    se2 = 0.5 + 59 / 192
    assert d.df == pytest.approx(se2**2 / (0.25 / 4 + (59 / 192) ** 2 / 3), rel=1e-12)
    assert d.df == pytest.approx(6.93496, abs=1e-5)
    half = stats.t.ppf(0.975, d.df) * math.sqrt(se2)
    assert (d.ci_low, d.ci_high) == (pytest.approx(1.625 - half), pytest.approx(1.625 + half))
    assert d.incremental_total == 1.625 * 5


def test_welch_edges_have_no_nan() -> None:
    none = mean_difference([], [1.0, 2.0])
    assert none.mean_treated is None and none.difference is None and none.ci_low is None
    one = mean_difference([5.0], [1.0, 2.0])
    assert one.difference == 3.5 and one.ci_low is None and one.p_value is None
    flat = mean_difference([2.0, 2.0], [1.0, 1.0, 1.0])
    assert (flat.ci_low, flat.ci_high, flat.p_value) == (1.0, 1.0, 0.0)
    same = mean_difference([1.0, 1.0], [1.0, 1.0])
    assert same.p_value == 1.0
    for d in (none, one, flat, same):
        assert not any(isinstance(v, float) and math.isnan(v) for v in d.as_dict().values())
    with pytest.raises(ValueError, match=r"control\[1\] is nan"):
        mean_difference([1.0, 2.0], [1.0, float("nan")])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=50),
    st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=50),
)
def test_welch_interval_contains_the_difference(treated, control) -> None:
    d = mean_difference(treated, control)
    assert d.ci_low <= d.difference + 1e-6 * (1 + abs(d.difference))
    assert d.difference <= d.ci_high + 1e-6 * (1 + abs(d.difference))
    wider = mean_difference(treated, control, confidence=0.99)
    assert wider.ci_low <= d.ci_low + 1e-9 * (1 + abs(d.ci_low))


# --------------------------------------------------------------------------------------------------
# campaign_outcomes on a tiny lake
# --------------------------------------------------------------------------------------------------

UTC = dt.UTC
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
START, END = dt.date(2026, 3, 1), dt.date(2026, 4, 20)
PRODUCTS = ["WM1", "BD1"]


def _tiny_bank(lake_builder):
    """Four recipients and a bystander (hand-checkable; see the expected values below)."""
    b = lake_builder()
    for c in ("P1", "P2", "P3", "P4", "X9"):
        b.customer(c)
    # P1: demand + a wealth product opened in the window + a loan (not an asset).
    b.account("A1", "P1", "DEM")
    b.account("W1", "P1", "WM1", open_date=dt.date(2026, 3, 20))
    b.account("L1", "P1", "LN1")
    b.balance("A1", dt.date(2026, 1, 5), 10_000)
    b.balance("A1", dt.date(2026, 2, 20), 12_000)
    b.balance("A1", dt.date(2026, 3, 15), 15_000)
    b.balance("A1", dt.date(2026, 3, 15), 15_500, load_id=2)  # a correction: the newest load wins
    b.balance("A1", dt.date(2026, 4, 10), 90_000)  # after the last month end of the window
    b.balance("W1", dt.date(2026, 3, 20), 50_000)
    b.balance("L1", dt.date(2026, 1, 1), 300_000)
    # local 2026-03-01 00:30 (UTC the day before, in the February partition): in the window
    b.txn("A1", dt.datetime(2026, 2, 28, 16, 30, tzinfo=UTC), 1_000, direction="C")
    # local 2026-02-28 23:30: before the window
    b.txn("A1", dt.datetime(2026, 2, 28, 15, 30, tzinfo=UTC), 7_000, direction="C")
    b.txn("A1", dt.date(2026, 3, 12), 500, direction="D")
    b.txn("W1", dt.date(2026, 3, 20), 50_000, txn_type="PURCHASE", product_code="WM1")
    fixed = b.txn("A1", dt.date(2026, 3, 25), 200, direction="C")
    b.txn("A1", dt.date(2026, 3, 25), 300, direction="C", txn_id=fixed, load_id=2)
    # local 2026-04-20 23:00: in; local 2026-04-21 00:30: out
    b.txn("A1", dt.datetime(2026, 4, 20, 15, 0, tzinfo=UTC), 40, direction="C")
    b.txn("A1", dt.datetime(2026, 4, 20, 16, 30, tzinfo=UTC), 60, direction="C")
    # P2: balance down; a time deposit closed inside the window.
    b.account("A2", "P2", "DEM")
    b.account("T2", "P2", "TD1", close_date=dt.date(2026, 3, 15))
    b.balance("A2", dt.date(2026, 1, 10), 5_000)
    b.balance("A2", dt.date(2026, 3, 31), 4_000)
    b.balance("T2", dt.date(2026, 1, 1), 20_000)
    # P3: nothing at all.  P4: a campaign product opened before the window, another in it.
    b.account("A4", "P4", "DEM")
    b.account("W4", "P4", "WM1", open_date=dt.date(2026, 2, 15))
    b.account("F4", "P4", "FD1", open_date=dt.date(2026, 3, 5))
    b.txn("F4", dt.date(2026, 3, 5), 9_000, txn_type="PURCHASE", product_code="FD1")
    # X9: not a recipient.
    b.account("A9", "X9", "WM1", open_date=dt.date(2026, 3, 2))
    b.balance("A9", dt.date(2026, 3, 2), 1_000_000)
    b.txn("A9", dt.date(2026, 3, 3), 1_000_000, direction="C")
    return b


def _expected(b, recipients, codes, opened=None):
    """The documented rules applied row by row to the builder's raw rows (no SQL)."""
    start_me, end_me = dt.date(2026, 2, 28), dt.date(2026, 3, 31)
    lo = dt.datetime.combine(START, dt.time.min, tzinfo=SHANGHAI)
    hi = dt.datetime.combine(END + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI)
    newest_txn = {}
    for row in b.txns:
        if row["txn_id"] not in newest_txn or row["load_id"] > newest_txn[row["txn_id"]]["load_id"]:
            newest_txn[row["txn_id"]] = row
    category = {p["product_code"]: p["category"] for p in b.products}
    account = {a["account_no"]: a for a in b.accounts}
    out = {}
    for c in recipients:
        txns = [
            r for r in newest_txn.values() if r["customer_no"] == c and lo <= r["txn_time"] < hi
        ]

        def aum(day, c=c):
            total = Decimal(0)
            for acc in account.values():
                if acc["customer_no"] != c or category[acc["product_code"]] not in (
                    "DEMAND",
                    "TIME",
                    "WEALTH",
                    "FUND",
                    "BOND",
                    "INSURANCE",
                    "PRECIOUS_METAL",
                ):
                    continue
                if acc["close_date"] is not None and acc["close_date"] <= day:
                    continue
                rows = [r for r in b.balances if r["account_no"] == acc["account_no"]]
                rows = [r for r in rows if r["balance_date"] <= day]
                if rows:
                    total += max(rows, key=lambda r: (r["balance_date"], r["load_id"]))["balance"]
            return float(total)

        opens = opened if opened is not None else b.accounts
        out[c] = {
            "customer_no": c,
            "bought": any(
                a["customer_no"] == c
                and a["product_code"] in codes
                and START <= a["open_date"] <= END
                for a in opens
            ),
            "purchased": any(
                r["txn_type"] == "PURCHASE" and r["product_code"] in codes for r in txns
            ),
            "inflow": float(sum(r["amount"] for r in txns if r["direction"] == "C")),
            "txn_count": len(txns),
            "aum_start": aum(start_me),
            "aum_end": aum(end_me),
        }
        out[c]["aum_change"] = out[c]["aum_end"] - out[c]["aum_start"]
        out[c]["balance_up"] = out[c]["aum_end"] > out[c]["aum_start"]
    return [out[c] for c in recipients]


def test_campaign_outcomes_on_a_tiny_lake(lake_builder) -> None:
    b = _tiny_bank(lake_builder)
    lake = b.write()
    recipients = ["P3", "P1", "P4", "P2"]  # any order: the result keeps it
    got = campaign_outcomes(
        lake,
        pa.table({"customer_no": recipients}),
        window_start=START,
        window_end=END,
        product_codes=PRODUCTS,
    )
    assert got.schema == OUTCOME_SCHEMA
    rows = got.to_pylist()
    assert rows == _expected(b, recipients, PRODUCTS)
    # The same numbers by hand.
    p3, p1, p4, p2 = rows
    assert p1 == {
        "customer_no": "P1",
        "bought": True,
        "purchased": True,
        "inflow": 1_000 + 300 + 40,
        "txn_count": 5,
        "aum_start": 12_000.0,
        "aum_end": 15_500.0 + 50_000.0,
        "aum_change": 53_500.0,
        "balance_up": True,
    }
    assert (p2["aum_start"], p2["aum_end"], p2["balance_up"]) == (25_000.0, 4_000.0, False)
    assert (p2["inflow"], p2["txn_count"], p2["bought"]) == (0.0, 0, False)
    assert (p4["bought"], p4["purchased"], p4["txn_count"]) == (False, False, 1)
    # Four of the five customers: the scans keep everyone and the last join cuts; one or two
    # of five: the scans are cut to the recipients (_recipient_cut). The same rows either way.
    for few in (["P1"], ["P2", "P4"]):
        alone = campaign_outcomes(
            lake,
            pa.table({"customer_no": few}),
            window_start=START,
            window_end=END,
            product_codes=PRODUCTS,
        )
        by_no = {r["customer_no"]: r for r in rows}
        assert alone.to_pylist() == [by_no[c] for c in few]
    assert p3 == {
        "customer_no": "P3",
        "bought": False,
        "purchased": False,
        "inflow": 0.0,
        "txn_count": 0,
        "aum_start": 0.0,
        "aum_end": 0.0,
        "aum_change": 0.0,
        "balance_up": False,
    }


def test_campaign_outcomes_with_accounts_from_the_operational_database(lake_builder) -> None:
    b = _tiny_bank(lake_builder)
    lake = b.write()
    opened_rows = [
        {"customer_no": "P3", "product_code": "BD1", "open_date": dt.date(2026, 4, 20)},
        {"customer_no": "P2", "product_code": "BD1", "open_date": dt.date(2026, 4, 21)},
        {"customer_no": "X9", "product_code": "WM1", "open_date": dt.date(2026, 3, 2)},
    ]
    opened = pa.Table.from_pylist(
        opened_rows,
        schema=pa.schema(
            [
                ("customer_no", pa.string()),
                ("product_code", pa.string()),
                ("open_date", pa.date32()),
            ]
        ),
    )
    recipients = ["P1", "P2", "P3"]
    got = campaign_outcomes(
        lake,
        pa.table({"customer_no": recipients}),
        window_start=START,
        window_end=END,
        product_codes=PRODUCTS,
        opened=opened,
    )
    assert got.to_pylist() == _expected(b, recipients, PRODUCTS, opened=opened_rows)
    assert got.column("bought").to_pylist() == [False, False, True]


def test_campaign_outcomes_bad_input(lake_builder) -> None:
    lake = _tiny_bank(lake_builder).write()
    kw = {"window_start": START, "window_end": END, "product_codes": PRODUCTS}
    with pytest.raises(ValueError, match="customer_no P1 appears more than once"):
        campaign_outcomes(lake, pa.table({"customer_no": ["P1", "P2", "P1"]}), **kw)
    with pytest.raises(ValueError, match="required column customer_no missing"):
        campaign_outcomes(lake, pa.table({"customer": ["P1"]}), **kw)
    with pytest.raises(ValueError, match="empty on row 2"):
        campaign_outcomes(lake, pa.table({"customer_no": ["P1", None]}), **kw)
    with pytest.raises(ValueError, match="ends \\(2026-02-01\\) before it starts"):
        campaign_outcomes(
            lake,
            pa.table({"customer_no": ["P1"]}),
            window_start=START,
            window_end=dt.date(2026, 2, 1),
            product_codes=PRODUCTS,
        )
    with pytest.raises(ValueError, match="DuckDB only"):
        campaign_outcomes(lake, pa.table({"customer_no": ["P1"]}), engine="spark", **kw)
    (lake / "ref" / "products.parquet").unlink()
    with pytest.raises(LakeError, match="products.parquet is missing"):
        campaign_outcomes(lake, pa.table({"customer_no": ["P1"]}), **kw)


def test_campaign_outcomes_of_an_empty_window(lake_builder) -> None:
    """A window with no partitions yet (a campaign just sent): zeros, AUM carried forward."""
    lake = _tiny_bank(lake_builder).write()
    got = campaign_outcomes(
        lake,
        pa.table({"customer_no": ["P1", "P2"]}),
        window_start=dt.date(2026, 9, 1),
        window_end=dt.date(2026, 9, 30),
        product_codes=PRODUCTS,
    )
    assert got.column("txn_count").to_pylist() == [0, 0]
    # P1 at 2026-08-31: A1 90,000 (its 10 April row) + W1 50,000; P2: A2 4,000 (T2 closed).
    assert got.column("aum_start").to_pylist() == [140_000.0, 4_000.0]
    assert month_end_on_or_before(dt.date(2026, 9, 30)) == dt.date(2026, 9, 30)
    assert month_end_on_or_before(dt.date(2024, 3, 1)) == dt.date(2024, 2, 29)


def test_campaign_outcomes_read_the_newest_load_of_a_snapshot(lake_builder) -> None:
    """A ``ref/accounts`` snapshot with ``load_id`` keeps each account's newest row (as
    ``read_ref`` does): W1 restated as opened before the window and as a loan counts once, not
    twice, and no longer towards AUM."""
    b = _tiny_bank(lake_builder)
    lake = b.write()
    accounts = pq.read_table(lake / "ref" / "accounts.parquet")
    accounts = accounts.append_column("load_id", pa.array([1] * accounts.num_rows, pa.int64()))
    restated = [r for r in accounts.to_pylist() if r["account_no"] == "W1"][0]
    restated.update(open_date=dt.date(2026, 2, 1), product_code="LN1", load_id=2)
    accounts = pa.concat_tables(
        [accounts, pa.Table.from_pylist([restated], schema=accounts.schema)]
    )
    write_ref_table(lake, "accounts", accounts)
    got = campaign_outcomes(
        lake,
        pa.table({"customer_no": ["P1"]}),
        window_start=START,
        window_end=END,
        product_codes=PRODUCTS,
    ).to_pylist()[0]
    assert (got["bought"], got["aum_start"], got["aum_end"]) == (False, 12_000.0, 15_500.0)
