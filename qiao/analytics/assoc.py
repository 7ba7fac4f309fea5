"""Association rules on product holdings, for cross-selling (seed 001, 篇5 关联分析).

:func:`mine_rules` is Apriori (Agrawal & Srikant 1994) on a sparse customer × item boolean matrix:

* level 1: item counts are the column sums;
* level 2: all pair counts at once by one sparse product ``Xᵀ·X``;
* level ≥ 3: the frequent (L−1)-itemsets are the *prefixes*; their indicator matrix ``P``
  (customer × prefix, the AND of the prefix's columns) times ``X`` gives the count of every
  ``prefix ∪ {j}`` in one sparse product; a candidate is kept only when ``j`` sorts after the
  prefix and all its (L−1)-subsets are frequent (the Apriori pruning), then by support.

Rules have a single consequent: for every frequent itemset ``I`` (2 ≤ |I| ≤ ``max_len``) and every
``c ∈ I``, ``A = I − {c}`` ⇒ ``c`` with ``support = n(I)/N``, ``confidence = n(I)/n(A)`` and
``lift = confidence / (n(c)/N)``, where ``N`` is the number of distinct customers in ``baskets``
(customers holding nothing are not in ``baskets`` and therefore not in ``N``).

:func:`cross_sell_candidates` walks the rules best-first (confidence, then lift) and gives each
customer who holds the whole antecedent but not the consequent that consequent, at most ``top_n``
distinct items per customer — vectorised over customers, looping over rules only.

References
----------
Agrawal, R. and Srikant, R. (1994). Fast algorithms for mining association rules. *Proc. 20th
VLDB*, 487–499.
Seed 001, 篇5 (L317–L329): 关联分析 with 置信度 for cross-selling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

__all__ = ["RULE_COLUMNS", "CANDIDATE_COLUMNS", "cross_sell_candidates", "mine_rules"]

RULE_COLUMNS: tuple[str, ...] = (
    "antecedent",
    "consequent",
    "support",
    "confidence",
    "lift",
    "count",
)
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "customer_no",
    "item",
    "rank",
    "confidence",
    "lift",
    "reason",
    "reason_antecedent",
    "reason_pct",
)

IntArray = npt.NDArray[np.int64]


def _check_columns(df: pd.DataFrame, required: Sequence[str], what: str) -> None:
    for col in required:
        if col not in df.columns:
            raise ValueError(f"required column {col} missing from {what}")


def _encode(
    baskets: pd.DataFrame,
) -> tuple[IntArray, pd.Index, IntArray, pd.Index]:
    """Factorise customers and items (items sorted) and drop duplicate holdings."""
    _check_columns(baskets, ("customer_no", "item"), "baskets")
    b = baskets[["customer_no", "item"]].dropna()
    cust, cust_uniques = pd.factorize(b["customer_no"], sort=True)
    item, item_uniques = pd.factorize(b["item"], sort=True)
    n_items = max(len(item_uniques), 1)
    key = cust.astype(np.int64) * n_items + item.astype(np.int64)
    # Sort-based de-duplication: np.unique's hash path is several times slower on ~10⁷ keys.
    key.sort()
    if key.size:
        key = key[np.r_[True, key[1:] != key[:-1]]]
    return key // n_items, pd.Index(cust_uniques), key % n_items, pd.Index(item_uniques)


def _csr(rows: IntArray, cols: IntArray, shape: tuple[int, int]) -> sp.csr_matrix:
    data = np.ones(rows.size, dtype=np.int64)
    return sp.csr_matrix((data, (rows, cols)), shape=shape)


def _empty_rules() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "antecedent": pd.Series([], dtype=object),
            "consequent": pd.Series([], dtype=object),
            "support": pd.Series([], dtype=np.float64),
            "confidence": pd.Series([], dtype=np.float64),
            "lift": pd.Series([], dtype=np.float64),
            "count": pd.Series([], dtype=np.int64),
        }
    )


def frequent_itemsets(
    baskets: pd.DataFrame, *, min_support: float = 0.02, max_len: int = 3
) -> tuple[dict[tuple[int, ...], int], pd.Index, int]:
    """All itemsets held by someone with ``count / N >= min_support``, up to ``max_len`` items.

    Apriori (Agrawal & Srikant 1994) with sparse counting, see the module docstring.

    Parameters
    ----------
    baskets : pandas.DataFrame
        Columns ``customer_no, item``; duplicates ignored.
    min_support : float
        Minimum support (share of customers).
    max_len : int
        Largest itemset size.

    Returns
    -------
    counts : dict of tuple of int to int
        Count of customers holding each frequent itemset; itemsets are sorted tuples of item
        codes (positions in ``items``).
    items : pandas.Index
        Item labels, sorted; code ``i`` is ``items[i]``.
    n_customers : int
        ``N``, the number of distinct customers in ``baskets``.
    """
    rows, customers, cols, items = _encode(baskets)
    n, m = len(customers), len(items)
    counts: dict[tuple[int, ...], int] = {}
    if n == 0 or max_len < 1:
        return counts, items, n
    x = _csr(rows, cols, (n, m))
    item_count = np.asarray(x.sum(axis=0)).ravel()
    for j in np.flatnonzero((item_count > 0) & (item_count / n >= min_support)):
        counts[(int(j),)] = int(item_count[j])
    x_csc = x.tocsc()
    # Rows (customers) holding each frequent itemset of the previous level: the prefixes.
    prefix_rows: dict[tuple[int, ...], IntArray] = {
        s: x_csc.indices[x_csc.indptr[s[0]] : x_csc.indptr[s[0] + 1]].astype(np.int64)
        for s in counts
    }
    holds = np.zeros((n, m), dtype=bool)
    holds[rows, cols] = True
    level = 1
    while prefix_rows and level < max_len:
        level += 1
        prefixes = sorted(prefix_rows)
        # P: customer × prefix indicator (AND of the prefix's columns); P.T @ X counts every
        # prefix ∪ {j} in one sparse product.
        lengths = np.fromiter((prefix_rows[p].size for p in prefixes), dtype=np.int64)
        p_idx = np.concatenate([prefix_rows[p] for p in prefixes])
        p_ptr = np.concatenate([[0], np.cumsum(lengths)])
        pmat = sp.csc_matrix(
            (np.ones(p_idx.size, dtype=np.int64), p_idx, p_ptr), shape=(n, len(prefixes))
        )
        joint = np.asarray((pmat.T @ x).todense())
        frequent_prev = {p for p in counts if len(p) == level - 1}
        new_rows: dict[tuple[int, ...], IntArray] = {}
        for pi, p in enumerate(prefixes):
            for j in np.flatnonzero((joint[pi] > 0) & (joint[pi] / n >= min_support)):
                if j <= p[-1]:
                    continue
                cand = (*p, int(j))
                # Apriori pruning: every (L-1)-subset must be frequent.
                if any(sub not in frequent_prev for sub in combinations(cand, level - 1)):
                    continue
                counts[cand] = int(joint[pi, j])
                if level < max_len:
                    r = prefix_rows[p]
                    new_rows[cand] = r[holds[r, j]]
        prefix_rows = new_rows
    return counts, items, n


def mine_rules(
    baskets: pd.DataFrame,
    *,
    min_support: float = 0.02,
    min_confidence: float = 0.3,
    min_lift: float = 1.1,
    max_len: int = 3,
) -> pd.DataFrame:
    """Mine single-consequent association rules from product holdings.

    Parameters
    ----------
    baskets : pandas.DataFrame
        Columns ``customer_no, item``, one row per holding (duplicates and NaN ignored).
    min_support : float
        Minimum support of the whole rule ``A ∪ {c}`` (share of the customers in ``baskets``).
    min_confidence : float
        Minimum ``P(c | A)``.
    min_lift : float
        Minimum ``confidence / P(c)``; > 1 means the antecedent makes the consequent likelier.
    max_len : int
        Largest ``|A| + 1``; 3 allows two-item antecedents.

    Returns
    -------
    pandas.DataFrame
        Columns ``antecedent`` (sorted tuple of items), ``consequent`` (item), ``support``,
        ``confidence``, ``lift``, ``count`` (customers holding ``A ∪ {c}``), sorted by confidence,
        lift and support (descending), then antecedent and consequent.
    """
    counts, items, n = frequent_itemsets(baskets, min_support=min_support, max_len=max_len)
    labels = items.tolist()
    records: list[tuple[Any, ...]] = []
    for itemset, cnt in counts.items():
        if len(itemset) < 2:
            continue
        for c in itemset:
            ante = tuple(i for i in itemset if i != c)
            confidence = cnt / counts[ante]
            lift = confidence / (counts[(c,)] / n)
            if confidence >= min_confidence and lift >= min_lift:
                records.append(
                    (tuple(labels[i] for i in ante), labels[c], cnt / n, confidence, lift, cnt)
                )
    if not records:
        return _empty_rules()
    rules = pd.DataFrame.from_records(records, columns=list(RULE_COLUMNS))
    rules["_a"] = rules["antecedent"].map(lambda t: tuple(str(v) for v in t))
    rules["_c"] = rules["consequent"].astype(str)
    rules = rules.sort_values(
        ["confidence", "lift", "support", "_a", "_c"],
        ascending=[False, False, False, True, True],
        kind="mergesort",
    )
    rules = rules.drop(columns=["_a", "_c"]).reset_index(drop=True)
    rules["count"] = rules["count"].astype(np.int64)
    return rules


def _join_items(items: Sequence[Any]) -> str:
    names = [str(i) for i in items]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def rule_reason(antecedent: Sequence[Any], consequent: Any, confidence: float) -> str:
    """English reason of one rule, e.g. ``holds FUND and TIME; 62 % of such customers also hold
    WEALTH``.

    Parameters
    ----------
    antecedent : sequence
        Items the customer holds.
    consequent : object
        Item recommended.
    confidence : float
        Rule confidence.

    Returns
    -------
    str
    """
    pct = _pct(confidence)
    return f"holds {_join_items(antecedent)}; {pct} % of such customers also hold {consequent}"


def _pct(confidence: float) -> int:
    return math.floor(confidence * 100.0 + 0.5)


def cross_sell_candidates(
    baskets: pd.DataFrame, rules: pd.DataFrame, *, top_n: int = 3
) -> pd.DataFrame:
    """Recommend, per customer, the consequents of the best rules they qualify for.

    A customer qualifies for a rule when they hold every antecedent item and not the consequent.
    Rules are taken best-first (confidence, then lift, then support); each customer gets at most
    ``top_n`` *distinct* items, each with its best rule.

    Parameters
    ----------
    baskets : pandas.DataFrame
        Columns ``customer_no, item`` (current holdings; duplicates ignored).
    rules : pandas.DataFrame
        Output of :func:`mine_rules` (columns ``antecedent, consequent, confidence, lift``;
        ``support`` optional).
    top_n : int
        Maximum recommendations per customer.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_no, item, rank`` (1 = best), ``confidence, lift, reason`` (English
        text), ``reason_antecedent`` (tuple of held items) and ``reason_pct`` (confidence in whole
        percent) — the last two let the UI render the reason in any language.  Sorted by
        customer_no then rank.
    """
    _check_columns(rules, ("antecedent", "consequent", "confidence", "lift"), "rules")
    rows, customers, cols, items = _encode(baskets)
    if top_n <= 0 or rules.empty or len(customers) == 0:
        return _empty_candidates()
    order = rules.sort_values(
        ["confidence", "lift", *(["support"] if "support" in rules.columns else [])],
        ascending=False,
        kind="mergesort",
    )
    # Item codes of rules: items unknown to baskets get codes past the end (held by nobody).
    rule_items = pd.Index(items).append(
        pd.Index(
            sorted(
                {v for t in order["antecedent"] for v in t} | set(order["consequent"]),
                key=str,
            )
        ).difference(items, sort=False)
    )
    n, m = len(customers), len(rule_items)
    code_of = {v: i for i, v in enumerate(rule_items.tolist())}
    holds = np.zeros((n, m), dtype=bool, order="F")
    holds[rows, cols] = True
    col_rows = [np.flatnonzero(holds[:, j]) for j in range(m)]
    col_count = np.array([r.size for r in col_rows], dtype=np.int64)
    picked = np.zeros((n, m), dtype=bool, order="F")
    n_assigned = np.zeros(n, dtype=np.int64)
    out_rows: list[IntArray] = []
    out_rule: list[IntArray] = []
    rule_pos: list[tuple[Any, Any, float, float]] = []
    for ante, cons, conf, lift in zip(
        order["antecedent"], order["consequent"], order["confidence"], order["lift"], strict=True
    ):
        a_codes = np.fromiter((code_of[v] for v in ante), dtype=np.int64)
        c_code = code_of[cons]
        a_codes = a_codes[np.argsort(col_count[a_codes], kind="stable")]
        # Start from the rarest antecedent item's holders and filter: O(holders), not O(n).
        r = col_rows[a_codes[0]]
        for a in a_codes[1:]:
            r = r[holds[r, a]]
        r = r[~holds[r, c_code] & ~picked[r, c_code] & (n_assigned[r] < top_n)]
        if r.size == 0:
            continue
        picked[r, c_code] = True
        n_assigned[r] += 1
        out_rows.append(r)
        out_rule.append(np.full(r.size, len(rule_pos), dtype=np.int64))
        rule_pos.append((tuple(ante), cons, float(conf), float(lift)))
        if n_assigned.min() >= top_n:
            break
    if not out_rows:
        return _empty_candidates()
    cust_idx = np.concatenate(out_rows)
    rule_idx = np.concatenate(out_rule)
    # Rules were visited best-first, so the visiting order per customer is the rank.
    sort = np.lexsort((rule_idx, cust_idx))
    cust_idx, rule_idx = cust_idx[sort], rule_idx[sort]
    first = np.r_[0, np.flatnonzero(np.diff(cust_idx)) + 1]
    rank = np.arange(cust_idx.size) - np.repeat(first, np.diff(np.r_[first, cust_idx.size])) + 1
    ante_arr = np.empty(len(rule_pos), dtype=object)
    ante_arr[:] = [p[0] for p in rule_pos]
    cons_arr = np.array([p[1] for p in rule_pos], dtype=object)
    conf_arr = np.array([p[2] for p in rule_pos], dtype=np.float64)
    lift_arr = np.array([p[3] for p in rule_pos], dtype=np.float64)
    reason_arr = np.array([rule_reason(p[0], p[1], p[2]) for p in rule_pos], dtype=object)
    pct_arr = np.array([_pct(p[2]) for p in rule_pos], dtype=np.int64)
    return pd.DataFrame(
        {
            "customer_no": customers.take(cust_idx),
            "item": cons_arr[rule_idx],
            "rank": rank.astype(np.int64),
            "confidence": conf_arr[rule_idx],
            "lift": lift_arr[rule_idx],
            "reason": reason_arr[rule_idx],
            "reason_antecedent": ante_arr[rule_idx],
            "reason_pct": pct_arr[rule_idx],
        }
    )


def _empty_candidates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_no": pd.Series([], dtype=object),
            "item": pd.Series([], dtype=object),
            "rank": pd.Series([], dtype=np.int64),
            "confidence": pd.Series([], dtype=np.float64),
            "lift": pd.Series([], dtype=np.float64),
            "reason": pd.Series([], dtype=object),
            "reason_antecedent": pd.Series([], dtype=object),
            "reason_pct": pd.Series([], dtype=np.int64),
        }
    )
