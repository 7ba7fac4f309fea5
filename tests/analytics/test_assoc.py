"""Association rules: Apriori against brute-force counting; cross-sell candidates."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qiao.analytics.assoc import (
    CANDIDATE_COLUMNS,
    RULE_COLUMNS,
    cross_sell_candidates,
    frequent_itemsets,
    mine_rules,
    rule_reason,
)

ITEMS = ["BOND", "CARD", "DEMAND", "FUND", "INSURANCE", "TIME", "WEALTH"]


def random_baskets(n: int, seed: int) -> pd.DataFrame:
    """Random holdings with built-in affinities (FUND→WEALTH, CARD+DEMAND→TIME) and duplicates."""
    rng = np.random.default_rng(seed)
    p = np.array([0.15, 0.35, 0.6, 0.3, 0.1, 0.4, 0.25])
    h = rng.random((n, len(ITEMS))) < p
    h[:, 6] |= h[:, 3] & (rng.random(n) < 0.6)
    h[:, 5] |= h[:, 1] & h[:, 2] & (rng.random(n) < 0.5)
    r, c = np.nonzero(h)
    b = pd.DataFrame({"customer_no": [f"C{i:04d}" for i in r], "item": np.array(ITEMS)[c]})
    return pd.concat([b, b.sample(frac=0.1, random_state=seed)], ignore_index=True)


def brute_force_rules(
    baskets: pd.DataFrame, min_support: float, min_confidence: float, min_lift: float, max_len: int
) -> pd.DataFrame:
    held = [set(s) for s in baskets.groupby("customer_no")["item"].agg(set)]
    n = len(held)
    items = sorted(set(baskets["item"]))

    def count(s: tuple[str, ...]) -> int:
        return sum(1 for h in held if set(s) <= h)

    rows = []
    for size in range(2, max_len + 1):
        for itemset in combinations(items, size):
            c_i = count(itemset)
            if c_i / n < min_support:
                continue
            for cons in itemset:
                ante = tuple(i for i in itemset if i != cons)
                conf = c_i / count(ante)
                lift = conf / (count((cons,)) / n)
                if conf >= min_confidence and lift >= min_lift:
                    rows.append((ante, cons, c_i / n, conf, lift, c_i))
    return pd.DataFrame(rows, columns=list(RULE_COLUMNS))


@pytest.mark.parametrize("max_len", [2, 3, 4])
def test_rules_equal_brute_force(max_len: int) -> None:
    baskets = random_baskets(400, seed=max_len)
    rules = mine_rules(baskets, min_support=0.03, min_confidence=0.2, min_lift=1.0, max_len=max_len)
    expected = brute_force_rules(baskets, 0.03, 0.2, 1.0, max_len)
    assert list(rules.columns) == list(RULE_COLUMNS)
    assert len(rules) == len(expected) > 0
    merged = rules.merge(expected, on=["antecedent", "consequent"], suffixes=("", "_bf"))
    assert len(merged) == len(expected)
    assert (merged["count"] == merged["count_bf"]).all()
    for col in ("support", "confidence", "lift"):
        assert np.array_equal(merged[col].to_numpy(), merged[f"{col}_bf"].to_numpy())
    assert rules["antecedent"].map(lambda a: list(a) == sorted(a)).all()
    assert rules["antecedent"].map(len).max() <= max_len - 1
    # Best rules first.
    key = list(zip(-rules["confidence"], -rules["lift"], strict=True))
    assert key == sorted(key)


def test_planted_affinity_is_found() -> None:
    rules = mine_rules(random_baskets(2000, seed=11))
    fund_wealth = rules[(rules["antecedent"] == ("FUND",)) & (rules["consequent"] == "WEALTH")]
    assert len(fund_wealth) == 1
    assert fund_wealth["lift"].iloc[0] > 1.5
    triple = rules[(rules["antecedent"] == ("CARD", "DEMAND")) & (rules["consequent"] == "TIME")]
    assert len(triple) == 1
    assert (rules["lift"] >= 1.1).all() and (rules["confidence"] >= 0.3).all()


def test_thresholds_filter_and_empty_result() -> None:
    baskets = random_baskets(300, seed=2)
    none = mine_rules(baskets, min_support=0.99)
    assert none.empty and list(none.columns) == list(RULE_COLUMNS)
    assert mine_rules(baskets, max_len=1).empty
    assert mine_rules(pd.DataFrame({"customer_no": [], "item": []})).empty
    with pytest.raises(ValueError, match="required column item missing"):
        mine_rules(pd.DataFrame({"customer_no": ["C1"]}))


def test_frequent_itemsets_counts() -> None:
    baskets = pd.DataFrame(
        {
            "customer_no": ["a", "a", "a", "b", "b", "c", "c", "c", "d"],
            "item": ["X", "Y", "Z", "X", "Y", "X", "Z", "Z", "Y"],
        }
    )
    counts, items, n = frequent_itemsets(baskets, min_support=0.5, max_len=3)
    assert n == 4 and list(items) == ["X", "Y", "Z"]
    named = {tuple(items[i] for i in k): v for k, v in counts.items()}
    assert named == {("X",): 3, ("Y",): 3, ("Z",): 2, ("X", "Y"): 2, ("X", "Z"): 2}


def test_cross_sell_candidates() -> None:
    baskets = random_baskets(1000, seed=5)
    rules = mine_rules(baskets, min_support=0.02, min_confidence=0.3, min_lift=1.05)
    cand = cross_sell_candidates(baskets, rules, top_n=2)
    assert list(cand.columns) == list(CANDIDATE_COLUMNS)
    assert len(cand) > 0
    held = baskets.groupby("customer_no")["item"].agg(set)
    # No rule recommends an item already held; every antecedent is fully held.
    for row in cand.itertuples(index=False):
        assert row.item not in held[row.customer_no]
        assert set(row.reason_antecedent) <= held[row.customer_no]
    assert cand.groupby("customer_no").size().max() <= 2
    assert not cand.duplicated(["customer_no", "item"]).any()
    # Ranked by confidence, then lift, within each customer.
    for _, g in cand.groupby("customer_no"):
        assert list(g["rank"]) == list(range(1, len(g) + 1))
        key = list(zip(-g["confidence"], -g["lift"], strict=True))
        assert key == sorted(key)
    # Each customer's first candidate is the best qualifying rule overall.
    some = cand["customer_no"].iloc[0]
    qualifying = rules[
        rules["antecedent"].map(lambda a: set(a) <= held[some])
        & ~rules["consequent"].isin(held[some])
    ]
    assert cand[cand["customer_no"] == some]["confidence"].iloc[0] == qualifying["confidence"].max()


def test_reason_text_and_structured_form() -> None:
    baskets = pd.DataFrame(
        {
            "customer_no": ["c1", "c1", "c2", "c2", "c2", "c3"],
            "item": ["FUND", "TIME", "FUND", "TIME", "WEALTH", "WEALTH"],
        }
    )
    rules = pd.DataFrame(
        {
            "antecedent": [("FUND", "TIME")],
            "consequent": ["WEALTH"],
            "support": [0.2],
            "confidence": [0.62],
            "lift": [1.4],
            "count": [10],
        }
    )
    cand = cross_sell_candidates(baskets, rules)
    assert list(cand["customer_no"]) == ["c1"]
    row = cand.iloc[0]
    assert row["reason"] == "holds FUND and TIME; 62 % of such customers also hold WEALTH"
    assert row["reason_antecedent"] == ("FUND", "TIME")
    assert row["reason_pct"] == 62
    assert rule_reason(("A", "B", "C"), "D", 0.305) == (
        "holds A, B and C; 31 % of such customers also hold D"
    )
    assert rule_reason(("A",), "D", 0.5) == "holds A; 50 % of such customers also hold D"


def test_cross_sell_edge_cases() -> None:
    baskets = random_baskets(100, seed=9)
    rules = mine_rules(baskets, min_support=0.05)
    assert cross_sell_candidates(baskets, rules, top_n=0).empty
    assert cross_sell_candidates(baskets, rules.iloc[:0]).empty
    # A rule about an item nobody in these baskets holds: recommended to every antecedent holder.
    new = pd.DataFrame(
        {"antecedent": [("DEMAND",)], "consequent": ["GOLD"], "confidence": [0.4], "lift": [2.0]}
    )
    cand = cross_sell_candidates(baskets, new)
    demand = set(baskets.loc[baskets["item"] == "DEMAND", "customer_no"])
    assert set(cand["customer_no"]) == demand and set(cand["item"]) == {"GOLD"}
    unknown = new.assign(antecedent=[("NOBODY",)])
    assert cross_sell_candidates(baskets, unknown).empty


holdings = st.lists(
    st.tuples(st.integers(0, 25), st.sampled_from(["A", "B", "C", "D", "E"])),
    min_size=1,
    max_size=120,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=holdings, min_support=st.sampled_from([0.0, 0.05, 0.1, 0.2]))
def test_rule_measures_property(rows: list[tuple[int, str]], min_support: float) -> None:
    baskets = pd.DataFrame(rows, columns=["customer_no", "item"])
    rules = mine_rules(baskets, min_support=min_support, min_confidence=0.0, min_lift=0.0)
    held = [set(s) for s in baskets.groupby("customer_no")["item"].agg(set)]
    n = len(held)

    def support(items: set[str]) -> float:
        return sum(1 for h in held if items <= h) / n

    for row in rules.itertuples(index=False):
        whole = {*row.antecedent, row.consequent}
        assert row.support == pytest.approx(support(whole))
        assert row.support >= min_support
        assert row.confidence == pytest.approx(support(whole) / support(set(row.antecedent)))
        assert row.lift == pytest.approx(row.confidence / support({row.consequent}))
        assert row.count == round(support(whole) * n)
    # Completeness for pairs: every pair meeting min_support yields both rules.
    items = sorted({i for h in held for i in h})
    n_pairs = sum(
        1 for a, b in combinations(items, 2) if support({a, b}) >= max(min_support, 1e-12)
    )
    assert int((rules["antecedent"].map(len) == 1).sum()) == 2 * n_pairs
