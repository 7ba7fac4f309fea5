"""The next-best product (下一个最佳产品): up to three suitable products per customer, nightly.

Candidates are the products on the shelf that are **selling** (``SALE_STATUSES.having("selling")``),
that the customer does not hold yet and whose category is one a balance can be placed in (the AUM
categories, and loans); each is then filtered by the one suitability rule,
:func:`qiao.core.suitability.suitable_mask`, with the customer's latest risk assessment (passed in by
the caller: the analytics read no database). What is left is ranked by the **expected contribution
gained** (yuan a year, docs/models.md "Next-best product"):

    expected_gain = amount × margin[category] × propensity

* ``amount`` — what the customer could put into the product: money coming free (time deposits and
  other products maturing within ``maturity_days``, large inflows of the last 30 days) plus a share
  of the demand balance (``idle_share``, or ``idle_share_liquid`` when the demand share of deposits
  is at least ``liquid``); for a loan, ``loan_share`` × the loan balance (a top-up or a renewal).
  A product whose minimum amount is above it is not a candidate.
* ``margin`` — the product category's annual margin of the contribution (``[contribution.margin]``
  of ``scoring.toml``, the same numbers as the customer's contribution).
* ``propensity`` — max(``base``, the confidence of the best association rule the customer qualifies
  for whose consequent is the product or its category) × the motive factor (the product is tagged
  with the customer's motive, or tagged with others) × the lifecycle stage's factor × the need
  mode's factor (rated products) × ``money_free_factor`` when money is coming free; at most 1.

Each suggestion carries a reason as a code and language-neutral parameters (:data:`REASONS`, the
first that applies in that order), rendered in the reader's language by the web application.

A fixed share of customers (``holdback_share``, 5 %) gets no suggestions, for the evaluation: a
customer is held back when the SipHash of their number with the key ``holdback_key`` (pandas'
``hash_pandas_object``), modulo 10,000, is below ``holdback_share`` × 10,000 — the same customers
every night. For each held-back customer one *random* suitable candidate is drawn (another hash of
the customer and the product) and returned with rank 0 and the code ``HOLDBACK``: it is never shown,
it is what "a random suitable product" is measured against.

Everything is vectorised over a customers × products matrix (numpy, float32); the only loops are
over the association rules and the few products. Text stays in Arrow (pandas' ``str`` columns are
Arrow strings): customer numbers are matched and taken, and the reasons' JSON put together, by
``pyarrow.compute``, never as millions of Python strings.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from qiao.core.suitability import RATED_CATEGORIES, RULE_CODES, level_rank, suitable_mask
from qiao.core.vocab import CATEGORIES, MOTIVES, RISK_TOLERANCES, SALE_STATUSES

__all__ = [
    "HOLDBACK",
    "REASONS",
    "SUGGESTION_COLUMNS",
    "SuggestParams",
    "holdback_mask",
    "next_best_products",
    "reason_text",
]

#: Categories a suggestion may name: those a balance is placed in, and loans.
ASSET_CATEGORIES = frozenset(CATEGORIES.having("aum"))
LOAN_CATEGORY = "LOAN"
SUGGESTABLE = ASSET_CATEGORIES | {LOAN_CATEGORY}
SELLING = frozenset(SALE_STATUSES.having("selling"))

#: The code of a held-back customer's random product (rank 0: never shown).
HOLDBACK = "HOLDBACK"

#: Reason code → English text for the CLI (:func:`reason_text`); the parameters are numbers and
#: codes, rendered per language by ``qiao.suitability.suggestions``. Tried in this order; the
#: first that applies is the reason.
REASONS: dict[str, str] = {
    "MATURITY": "¥%(amount)s matures within %(days)s days",
    "INFLOW": "a large inflow of ¥%(amount)s in the last 30 days",
    "ASSOCIATION": "holds %(items)s; %(pct)s %% of such customers also hold %(item)s",
    "MOTIVE": "fits the customer's motive: %(motive)s",
    "IDLE": "%(pct)s %% of the deposits are on demand (¥%(amount)s)",
    "NOT_HELD": "holds no %(category)s yet",
}

SUGGESTION_COLUMNS = [
    "customer_no",
    "product_code",
    "rank",
    "reason_code",
    "reason_params",
    "expected_gain",
    "money_free",
]
"""Columns of the result: ``rank`` 1–3 (0 for a held-back customer's random product),
``reason_params`` JSON text (:func:`reason_text` gives the English), ``expected_gain`` yuan a year (to the fen),
``money_free`` yuan (NaN when no money is coming free)."""

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class SuggestParams:
    """``[suggest]`` of ``scoring.toml`` (every number ours; see docs/models.md)."""

    top_n: int = 3
    holdback_share: float = 0.05
    holdback_key: str = "qiao-suggest-v01"
    maturity_days: int = 30
    idle_share: float = 0.1
    idle_share_liquid: float = 0.3
    liquid: float = 0.7
    loan_share: float = 0.2
    base: float = 0.05
    motive_match: float = 2.0
    motive_other: float = 0.5
    need_active: float = 1.2
    need_passive: float = 0.8
    money_free_factor: float = 1.5
    stage: Mapping[str, float] | None = None

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> SuggestParams:
        cfg = dict(cfg or {})
        stage = cfg.pop("stage", None)
        known = {f for f in cls.__dataclass_fields__ if f != "stage"}
        unknown = set(cfg) - known
        if unknown:
            raise ValueError(f"suggest config: unknown keys {sorted(unknown)}")
        key = str(cfg.get("holdback_key", cls.holdback_key))
        if len(key.encode("utf-8")) != 16:
            raise ValueError("suggest config: holdback_key must be 16 bytes (a SipHash key)")
        share = float(cfg.get("holdback_share", cls.holdback_share))
        if not 0 <= share < 1:
            raise ValueError("suggest config: holdback_share must be in [0, 1)")
        return cls(**cfg, stage=dict(stage) if stage else None)


def holdback_mask(customer_nos: Any, *, share: float, key: str) -> npt.NDArray[np.bool_]:
    """Which customers are held back: SipHash-2-4 of the customer number with ``key`` (16 bytes),
    modulo 10,000, below ``share`` × 10,000. The same customers every night, on every machine."""
    values = (
        customer_nos
        if isinstance(customer_nos, pd.Index)
        else np.asarray(customer_nos, dtype=object)
    )
    nos = pd.Series(values).astype(str)  # str already: no copy, no Python strings
    if not len(nos):
        return np.zeros(0, dtype=bool)
    hashed = pd.util.hash_pandas_object(nos, index=False, hash_key=key).to_numpy()
    return np.asarray(hashed % np.uint64(10_000) < np.uint64(round(share * 10_000)), dtype=bool)


def _mix(a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """A well-mixed 64-bit number of two (splitmix64's finaliser); wraps modulo 2⁶⁴."""
    with np.errstate(over="ignore"):
        z = a ^ (b * np.uint64(0x9E3779B97F4A7C15))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return np.asarray(z ^ (z >> np.uint64(31)), dtype=np.uint64)


def _col(frame: pd.DataFrame, name: str, fill: float = 0.0) -> npt.NDArray[np.float64]:
    if name not in frame:
        return np.full(len(frame), fill, dtype=np.float64)
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
    return np.where(np.isfinite(values), values, fill)


def _codes(frame: pd.DataFrame, name: str, values: tuple[str, ...]) -> npt.NDArray[np.int64]:
    """Position of each row's code in ``values`` (−1 for none or unknown)."""
    if name not in frame:
        return np.full(len(frame), -1, dtype=np.int64)
    column = frame[name]
    if isinstance(column.dtype, pd.StringDtype):
        return _positions(column, list(values))
    cat = pd.Categorical(column.astype(object), categories=list(values))
    return np.asarray(cat.codes, dtype=np.int64)


def _arrow_text(values: Any) -> pa.Array:
    """``values`` (an Index, a Series, a sequence) as one Arrow ``large_string`` array; pandas'
    ``str`` columns are Arrow already (no copy of the text)."""
    if isinstance(values, pd.Index | pd.Series):
        if not isinstance(values.dtype, pd.StringDtype):
            values = values.astype(str)
        values = values.array
    out = pa.array(values, from_pandas=True)
    if isinstance(out, pa.ChunkedArray):
        out = out.combine_chunks()
    return out if out.type == pa.large_string() else out.cast(pa.large_string())


def _positions(values: Any, index: Any) -> npt.NDArray[np.int64]:
    """Position of each of ``values`` in ``index`` (unique), −1 where absent: ``get_indexer``,
    hashed by Arrow."""
    found = pc.index_in(_arrow_text(values), value_set=_arrow_text(index))
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _text_column(values: pa.Array) -> Any:
    """An Arrow string array as a pandas ``str`` column (an empty one stays ``object``, as an
    empty array of Python strings would)."""
    if len(values) == 0:
        return np.empty(0, dtype=object)
    return pd.array(values.cast(pa.large_string()), dtype="str")


def _shelf_arrays(shelf: pd.DataFrame) -> pd.DataFrame:
    """The products that may be suggested at all: selling, of a suggestable category."""
    need = ("product_code", "category", "risk_level", "private", "sale_status")
    missing = [c for c in need if c not in shelf]
    if missing:
        raise ValueError(f"required column {missing[0]} missing in the shelf")
    s = shelf.loc[
        shelf["sale_status"].isin(SELLING) & shelf["category"].isin(SUGGESTABLE)
    ].reset_index(drop=True)
    return s.sort_values("product_code", kind="stable").reset_index(drop=True)


def next_best_products(
    *,
    customers: pd.DataFrame,
    shelf: pd.DataFrame,
    holdings: pd.DataFrame,
    rules: pd.DataFrame | None,
    as_of: _dt.date,
    margins: Mapping[str, float],
    params: SuggestParams | None = None,
    rule_item: str = "category",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Up to ``top_n`` suitable products per customer, ranked by expected contribution gained.

    Parameters
    ----------
    customers
        One row per customer, indexed by ``customer_no``: ``stage, motive, need_mode`` (rule
        attributes), ``bal_DEMAND, liquidity, loan_balance, amt_large_in_30d`` (features),
        ``maturing_amount`` (yuan maturing within ``maturity_days``), ``restricted_flag``,
        ``has_<CATEGORY>`` (for rules on categories) and the latest risk assessment:
        ``tolerance`` (C1–C5 or empty), ``valid_until`` (date or NaT), ``qualified_investor``.
    shelf
        One row per product: ``product_code, category, risk_level`` (the effective level),
        ``private, sale_status``, optional ``motives`` (``|``-joined) and ``min_amount``.
    holdings
        ``customer_no, product_code`` of the products held now (not suggested again).
    rules
        Association rules (:func:`qiao.analytics.assoc.mine_rules`) on ``rule_item`` (``category``
        or ``product``), or ``None``.
    as_of
        The scoring day: the day suitability is judged on.
    margins
        Annual margin per category (``[contribution.margin]``).
    params
        :class:`SuggestParams`.

    Returns
    -------
    (suggestions, diagnostics)
        ``suggestions`` has :data:`SUGGESTION_COLUMNS`, sorted by customer and rank.
    """
    p = params or SuggestParams()
    idx = customers.index
    n = len(idx)
    s = _shelf_arrays(shelf)
    m = len(s)
    diag: dict[str, Any] = {"customers": n, "products": m}
    if n == 0 or m == 0:
        diag.update(suggested_customers=0, suggestions=0, held_back=0)
        return pd.DataFrame(columns=SUGGESTION_COLUMNS), diag

    # ---- products
    cat = s["category"].astype(str).to_numpy(dtype=object)
    rated = np.isin(cat, list(RATED_CATEGORIES))
    is_loan = cat == LOAN_CATEGORY
    level = np.array([level_rank(str(v or "")) for v in s["risk_level"]], dtype=np.int8)
    private = s["private"].fillna(False).to_numpy(dtype=bool)
    margin = np.array([float(margins.get(c, 0.0)) for c in cat], dtype=np.float32)
    min_amount = _col(s, "min_amount").astype(np.float32)
    motives_of = [set(str(v or "").split("|")) - {""} for v in s.get("motives", [""] * m)]
    codes = s["product_code"].astype(str).to_numpy(dtype=object)

    # ---- customers: suitability inputs
    # C1 → 1 … C5 → 5, 0 for none (the codes' order in the vocabulary)
    tolerance = (_codes(customers, "tolerance", RISK_TOLERANCES.codes) + 1).astype(np.int8)
    if "valid_until" in customers:
        until = pd.to_datetime(customers["valid_until"], errors="coerce").to_numpy()
        valid_until = until.astype("datetime64[D]")
    else:
        valid_until = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    qualified = (
        customers["qualified_investor"].fillna(False).to_numpy(dtype=bool)
        if "qualified_investor" in customers
        else np.zeros(n, dtype=bool)
    )
    blocked = suitable_mask(
        tolerance=tolerance[:, None],
        valid_until=valid_until[:, None],
        qualified=qualified[:, None],
        category_rated=rated[None, :],
        level=level[None, :],
        private=private[None, :],
        on=as_of,
    )
    ok = blocked < 0
    blocked_count = np.bincount(blocked.ravel() + 1, minlength=len(RULE_CODES) + 1)
    diag["blocked_pairs"] = {code: int(blocked_count[i + 1]) for i, code in enumerate(RULE_CODES)}

    # ---- not held
    if len(holdings):
        rows = _positions(holdings["customer_no"], idx)
        cols = _positions(holdings["product_code"], codes)
        keep = (rows >= 0) & (cols >= 0)
        ok[rows[keep], cols[keep]] = False
    restricted = _col(customers, "restricted_flag") > 0
    ok[restricted] = False

    # ---- the amount
    maturing = _col(customers, "maturing_amount")
    inflow = _col(customers, "amt_large_in_30d")
    demand = np.maximum(_col(customers, "bal_DEMAND"), 0.0)
    liquidity = _col(customers, "liquidity", fill=np.nan)
    liquid = np.nan_to_num(liquidity, nan=0.0) >= p.liquid
    idle = demand * np.where(liquid, p.idle_share_liquid, p.idle_share)
    free = np.maximum(maturing, 0.0) + np.maximum(inflow, 0.0)
    invest = (free + idle).astype(np.float32)
    loan = (np.maximum(_col(customers, "loan_balance"), 0.0) * p.loan_share).astype(np.float32)
    amount = np.where(is_loan[None, :], loan[:, None], invest[:, None])
    ok &= (amount >= np.maximum(min_amount, 1.0)[None, :]) & (margin > 0)[None, :]

    # ---- propensity
    conf, rule_of = _rule_confidence(customers, s, holdings, rules, rule_item, codes)
    prop = np.maximum(conf, np.float32(p.base))
    motive_code = _codes(customers, "motive", MOTIVES.codes)
    for j, tagged in enumerate(motives_of):
        if tagged:
            wanted = [MOTIVES.codes.index(x) for x in tagged if x in MOTIVES.codes]
            match = np.isin(motive_code, wanted)
            prop[:, j] *= np.where(match, p.motive_match, p.motive_other).astype(np.float32)
    stage_factor = np.ones(n, dtype=np.float32)
    if p.stage and "stage" in customers:
        st = customers["stage"].astype(str).to_numpy(dtype=object)
        for code, factor in p.stage.items():
            stage_factor[st == code] = factor
    prop *= stage_factor[:, None]
    if "need_mode" in customers:
        mode = customers["need_mode"].astype(str).to_numpy(dtype=object)
        need = np.where(mode == "ACTIVE", p.need_active, p.need_passive).astype(np.float32)
        prop[:, rated] *= need[:, None]
    has_free = free > 0
    asset = ~is_loan
    prop[np.ix_(has_free, asset)] *= np.float32(p.money_free_factor)
    np.minimum(prop, 1.0, out=prop)

    gain = amount  # a fresh array: computed in place, in the same order as amount × margin × prop
    gain *= margin[None, :]
    gain *= prop
    del prop
    gain[~ok] = -np.inf
    ok &= gain > 0

    # ---- hold-back
    held_back = holdback_mask(idx, share=p.holdback_share, key=p.holdback_key)
    diag["held_back"] = int(held_back.sum())

    # ---- top n per customer (not held back)
    k = min(p.top_n, m)
    # −gain where it may be suggested, +∞ elsewhere: the smallest k are the largest gains.
    neg = np.where(ok & ~held_back[:, None], gain, -np.inf)
    np.negative(neg, out=neg)
    if m > k:
        top = np.argpartition(neg, k - 1, axis=1)[:, :k]
    else:
        top = np.tile(np.arange(m), (n, 1))
    top_gain = -np.take_along_axis(neg, top, axis=1)
    del neg
    order = np.argsort(-top_gain, axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    top_gain = np.take_along_axis(top_gain, order, axis=1)
    ci, slot = np.nonzero(np.isfinite(top_gain))
    pj = top[ci, slot]
    rank = (slot + 1).astype(np.int64)

    # ---- the random suitable product of the held-back customers
    hb_rows = np.flatnonzero(held_back & ok.any(axis=1))
    if len(hb_rows):
        seeds = pd.util.hash_pandas_object(
            pd.Series(idx[hb_rows]).astype(str),
            index=False,
            hash_key=p.holdback_key,
        ).to_numpy()
        draw = _mix(seeds[:, None], np.arange(1, m + 1, dtype=np.uint64)[None, :])
        draw = np.where(ok[hb_rows], draw, np.uint64(0))
        hb_pj = np.argmax(draw, axis=1)
        ci = np.concatenate([ci, hb_rows])
        pj = np.concatenate([pj, hb_pj])
        rank = np.concatenate([rank, np.zeros(len(hb_rows), dtype=np.int64)])

    out = _reasons(
        customers,
        s,
        ci,
        pj,
        rank,
        rule_of,
        rules,
        maturing,
        inflow,
        liquid,
        liquidity,
        demand,
        free,
        gain,
        p,
    )
    diag["suggestions"] = int((out["rank"] > 0).sum())
    diag["suggested_customers"] = int(out.loc[out["rank"] > 0, "customer_no"].nunique())
    diag["reasons"] = {str(k2): int(v) for k2, v in out["reason_code"].value_counts().items()}
    return out, diag


def _rule_confidence(
    customers: pd.DataFrame,
    s: pd.DataFrame,
    holdings: pd.DataFrame,
    rules: pd.DataFrame | None,
    rule_item: str,
    codes: npt.NDArray[np.object_],
) -> tuple[FloatArray, npt.NDArray[np.int32]]:
    """Per customer and product: the confidence of the best rule the customer qualifies for whose
    consequent is the product (rules on products) or its category (rules on categories), and the
    rule's position in the rules sorted best first (−1 for none). A loop over the rules,
    vectorised over customers; the work is done per item (item × customer, each item's row
    contiguous) and spread to the products at the end."""
    n, m = len(customers), len(s)
    if rules is None or rules.empty:
        return np.zeros((n, m), dtype=np.float32), np.full((n, m), -1, dtype=np.int32)
    if rule_item == "category":
        items = list(CATEGORIES.codes)
        held = np.stack([_col(customers, f"has_{c}") > 0 for c in items])
        item_of_product = np.array(
            [items.index(c) if c in items else -1 for c in s["category"].astype(str)]
        )
    else:
        items = list(codes)
        held = np.zeros((m, n), dtype=bool)
        if len(holdings):
            rows = _positions(holdings["customer_no"], customers.index)
            cols = _positions(holdings["product_code"], codes)
            keep = (rows >= 0) & (cols >= 0)
            held[cols[keep], rows[keep]] = True
        item_of_product = np.arange(m)
    pos = {item: i for i, item in enumerate(items)}
    conf = np.zeros((len(items), n), dtype=np.float32)
    which = np.full((len(items), n), -1, dtype=np.int32)
    # Best first: a later rule only fills where no better one did.
    order = rules.sort_values(["confidence", "lift"], ascending=False, kind="stable")
    for r, (ante, cons, c) in enumerate(
        zip(order["antecedent"], order["consequent"], order["confidence"], strict=True)
    ):
        if cons not in pos or any(a not in pos for a in ante):
            continue
        k = pos[cons]
        fill = ~held[k] & (which[k] < 0)
        for a in ante:
            fill &= held[pos[a]]
        conf[k, fill] = np.float32(c)
        which[k, fill] = r
    valid = item_of_product >= 0
    out_conf = np.zeros((n, m), dtype=np.float32)
    out_which = np.full((n, m), -1, dtype=np.int32)
    out_conf[:, valid] = conf[item_of_product[valid]].T
    out_which[:, valid] = which[item_of_product[valid]].T
    return out_conf, out_which


def _reasons(
    customers: pd.DataFrame,
    s: pd.DataFrame,
    ci: npt.NDArray[np.int64],
    pj: npt.NDArray[np.int64],
    rank: npt.NDArray[np.int64],
    rule_of: npt.NDArray[np.int32],
    rules: pd.DataFrame | None,
    maturing: npt.NDArray[np.float64],
    inflow: npt.NDArray[np.float64],
    liquid: npt.NDArray[np.bool_],
    liquidity: npt.NDArray[np.float64],
    demand: npt.NDArray[np.float64],
    free: npt.NDArray[np.float64],
    gain: FloatArray,
    p: SuggestParams,
) -> pd.DataFrame:
    """The chosen pairs with their reason code and parameters (JSON text). The JSON is put
    together column-wise: numbers as text arrays joined with a handful of fixed pieces, and the
    few distinct rules, motives and categories each serialised once and taken by index."""
    codes = s["product_code"].astype(str).to_numpy(dtype=object)
    cats = s["category"].astype(str).to_numpy(dtype=object)
    n_pairs = len(ci)
    motive_values = list(MOTIVES.codes)
    motive_pos = _codes(customers, "motive", MOTIVES.codes)[ci]  # −1: none
    motives_of = [set(str(v or "").split("|")) - {""} for v in s.get("motives", [""] * len(s))]
    # fits[v, j]: products j tagged with motive value v
    fits = np.array(
        [[str(v) in tagged for tagged in motives_of] for v in motive_values], dtype=bool
    ).reshape(len(motive_values), len(s))
    motive_fit = (motive_pos >= 0) & fits[np.maximum(motive_pos, 0), pj]
    rule_row = rule_of[ci, pj]
    mat = np.round(maturing[ci]).astype(np.int64)
    inf = np.round(inflow[ci]).astype(np.int64)
    names = [*REASONS, HOLDBACK]
    num = {name: np.int8(i) for i, name in enumerate(names)}
    code_i = np.full(n_pairs, num["NOT_HELD"], dtype=np.int8)
    # Fill from the last reason to the first: the first that applies wins.
    code_i[liquid[ci]] = num["IDLE"]
    code_i[motive_fit] = num["MOTIVE"]
    code_i[rule_row >= 0] = num["ASSOCIATION"]
    code_i[inf > 0] = num["INFLOW"]
    code_i[mat > 0] = num["MATURITY"]
    code_i[rank == 0] = num[HOLDBACK]
    code = {name: code_i == num[name] for name in names}

    # The parameters, group by group as Arrow text (numbers formatted by Arrow, the few distinct
    # rules, motives and categories serialised once and taken by index), then put in order.
    pieces: list[pa.Array] = []
    rows_of: list[npt.NDArray[np.int64]] = []

    def put(w: npt.NDArray[np.bool_], text: Any) -> None:
        pieces.append(text.cast(pa.large_string()))
        rows_of.append(np.flatnonzero(w))

    def taken(texts: list[str], positions: npt.NDArray[np.int64]) -> pa.Array:
        return pa.array(texts, pa.large_string()).take(pa.array(positions, pa.int64()))

    def number(values: npt.NDArray[np.int64]) -> pa.Array:
        return pc.cast(pa.array(values, pa.int64()), pa.string())

    w = code["MATURITY"]
    days = f',"days":{int(p.maturity_days)}}}'
    put(w, pc.binary_join_element_wise('{"amount":', number(mat[w]), days, ""))
    w = code["INFLOW"]
    put(w, pc.binary_join_element_wise('{"amount":', number(inf[w]), "}", ""))
    w = code["ASSOCIATION"]
    if w.any() and rules is not None and not rules.empty:
        order = rules.sort_values(["confidence", "lift"], ascending=False, kind="stable")
        texts = [
            json.dumps(
                {
                    "antecedent": [str(a) for a in ante],
                    "pct": round(float(conf) * 100),
                    "item": str(cons),
                },
                ensure_ascii=False,
            )
            for ante, cons, conf in zip(
                order["antecedent"], order["consequent"], order["confidence"], strict=True
            )
        ]
        put(w, taken(texts, rule_row[w].astype(np.int64)))
    w = code["MOTIVE"]
    put(w, taken([json.dumps({"motive": v}) for v in motive_values], motive_pos[w]))
    w = code["IDLE"]
    pct = np.round(np.nan_to_num(liquidity[ci][w]) * 100).astype(np.int64)
    dem = np.round(demand[ci][w]).astype(np.int64)
    put(w, pc.binary_join_element_wise('{"pct":', number(pct), ',"amount":', number(dem), "}", ""))
    w = code["NOT_HELD"]
    put(w, taken([json.dumps({"category": str(c)}) for c in cats], pj[w]))
    rest = np.ones(n_pairs, dtype=bool)
    for rows in rows_of:
        rest[rows] = False
    put(rest, taken(["{}"], np.zeros(int(rest.sum()), dtype=np.int64)))  # HOLDBACK
    # where each pair's text is in the concatenated pieces
    at = np.empty(n_pairs, dtype=np.int64)
    at[np.concatenate(rows_of)] = np.arange(n_pairs, dtype=np.int64)
    params = pa.concat_arrays(pieces)

    money_free = np.where(free[ci] > 0, np.round(free[ci], 2), np.nan)
    # By customer (their order in ``customers``), then rank: integer keys, no string sort.
    order = np.lexsort((rank, ci))
    if isinstance(customers.index.dtype, pd.StringDtype):
        customer_no = _text_column(_arrow_text(customers.index).take(pa.array(ci[order])))
    else:
        customer_no = customers.index.take(ci[order]).to_numpy()
    code_pos = code_i.astype(np.int64)
    out = pd.DataFrame(
        {
            "customer_no": customer_no,
            "product_code": _text_column(taken([str(c) for c in codes], pj[order])),
            "rank": rank[order],
            "reason_code": _text_column(taken(names, code_pos[order])),
            "reason_params": _text_column(params.take(pa.array(at[order]))),
            "expected_gain": np.round(gain[ci, pj].astype(np.float64), 2)[order],
            "money_free": money_free[order],
        }
    )
    return out


def reason_text(code: str, params: Mapping[str, Any] | str) -> str:
    """A suggestion's reason in English (for the CLI; the pages render the code themselves)."""
    p = json.loads(params) if isinstance(params, str) else dict(params)
    if code == HOLDBACK:
        return "held back: a random suitable product, for the evaluation"
    if code not in REASONS:
        return code
    if code == "ASSOCIATION":
        p = {**p, "items": ", ".join(p.get("antecedent", []))}
    for key in ("amount",):
        if key in p:
            p[key] = f"{int(p[key]):,}"
    try:
        return REASONS[code] % p
    except (KeyError, TypeError, ValueError):
        return code


# --------------------------------------------------------------------------------------------------
# the scoring's step
# --------------------------------------------------------------------------------------------------


def maturing_amounts(
    con: Any, lake: Any, as_of: _dt.date, days: int, shelf: pd.DataFrame
) -> pd.Series:
    """Yuan per customer in asset products (not demand deposits) maturing within ``days`` of
    ``as_of``, from the accounts of ``lake/ref`` (the balance the core banking last sent)."""
    from qiao.analytics.lake import read_ref

    acc = read_ref(con, lake, "accounts")
    end = as_of + _dt.timedelta(days=int(days))
    live = acc.filter(
        acc.maturity_date >= as_of,
        acc.maturity_date <= end,
        acc.close_date.isnull() | (acc.close_date > as_of),
    )
    return maturing_from_rows(
        live.select("customer_no", "product_code", "balance").to_pandas(), shelf
    )


def maturing_from_rows(rows: pd.DataFrame, shelf: pd.DataFrame) -> pd.Series:
    """:func:`maturing_amounts` from the accounts maturing in the window (``customer_no,
    product_code, balance``): yuan per customer in asset products other than demand deposits.
    The partitioned scoring stages those rows by partition and calls this per partition."""
    if rows.empty:
        return pd.Series(dtype=np.float64)
    cats = shelf.set_index("product_code")["category"] if len(shelf) else pd.Series(dtype=object)
    category = rows["product_code"].map(cats)
    asset = category.isin(ASSET_CATEGORIES - {"DEMAND"})  # a demand deposit never matures
    amount = pd.to_numeric(rows["balance"], errors="coerce").astype(np.float64).fillna(0.0)
    return amount[asset.to_numpy()].groupby(rows["customer_no"][asset.to_numpy()]).sum()


def suggest_step(
    *,
    con: Any,
    lake: Any,
    as_of: _dt.date,
    features: pd.DataFrame,
    attrs: pd.DataFrame,
    accounts: Any,
    rules: pd.DataFrame,
    shelf: pd.DataFrame,
    assessments: pd.DataFrame | None,
    cfg: Mapping[str, Any],
    maturing: pd.Series | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The pipeline's step: gather the inputs of :func:`next_best_products` from the features,
    the rule attributes, the accounts (``FeatureData.accounts``) and the lake, and run it.

    ``maturing``: the amounts maturing per customer when the caller has them already (the
    partitioned scoring, :func:`maturing_from_rows`); else read from the lake through ``con``."""
    from qiao.analytics.features import day_number

    params = SuggestParams.from_config(cfg["suggest"])
    cols = [
        c
        for c in ("bal_DEMAND", "liquidity", "loan_balance", "amt_large_in_30d", "restricted_flag")
        if c in features
    ] + [f"has_{c}" for c in CATEGORIES.codes if f"has_{c}" in features]
    customers = features[cols].copy()
    for col in ("stage", "motive", "need_mode"):
        customers[col] = attrs[col].reindex(features.index).to_numpy()
    if maturing is None:
        maturing = maturing_amounts(con, lake, as_of, params.maturity_days, shelf)
    customers["maturing_amount"] = maturing.reindex(features.index).fillna(0.0).to_numpy()
    if assessments is not None and len(assessments):
        a = assessments.drop_duplicates("customer_no", keep="last").set_index("customer_no")
        for col in ("tolerance", "valid_until", "qualified_investor"):
            customers[col] = a[col].reindex(features.index).to_numpy()
    acc = accounts.select(["customer_no", "product_code", "open_day", "close_day"]).to_pandas()
    day = day_number(as_of)
    open_now = (acc["open_day"].fillna(-(10**9)) <= day) & (acc["close_day"].fillna(10**9) > day)
    holdings = acc.loc[open_now, ["customer_no", "product_code"]]
    return next_best_products(
        customers=customers,
        shelf=shelf,
        holdings=holdings,
        rules=rules,
        as_of=as_of,
        margins=cfg["contribution"]["margin"],
        params=params,
        rule_item=str(cfg["assoc"]["item"]),
    )
