"""Which products each customer holds, account lifecycles, and the wealth calibration."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from qiao.core.vocab import ACCOUNT_STATUSES, CATEGORIES

from . import pools
from .base import Span, stream
from .codes import NA_DAY, date_array, decimal_array, int_text, join, luhn_numbers, take
from .people import BAND_ASSET_SHARE, MIDDLE, MINOR, OLD, YOUNG, Customers

CATS = CATEGORIES.codes
C_DEMAND = CATS.index("DEMAND")
C_TIME = CATS.index("TIME")
C_WEALTH = CATS.index("WEALTH")
C_FUND = CATS.index("FUND")
C_BOND = CATS.index("BOND")
C_INS = CATS.index("INSURANCE")
C_GOLD = CATS.index("PRECIOUS_METAL")
C_LOAN = CATS.index("LOAN")
C_CARD = CATS.index("CARD")
C_SET = CATS.index("SETTLEMENT")
#: how a balance evolves: 0 no balance rows, 1 random walk, 2 constant principal, 3 amortising loan
K_NONE, K_WALK, K_CONST, K_LOAN = 0, 1, 2, 3
_KIND = {
    "DEMAND": K_WALK,
    "TIME": K_CONST,
    "WEALTH": K_WALK,
    "FUND": K_WALK,
    "BOND": K_CONST,
    "INSURANCE": K_CONST,
    "PRECIOUS_METAL": K_WALK,
    "LOAN": K_LOAN,
    "CARD": K_NONE,
    "SETTLEMENT": K_NONE,
}
KIND_OF_CAT = np.array([_KIND[c] for c in CATS])
ASSET_CATS = np.array([c in CATEGORIES.having("aum") for c in CATS])
ACTIVE, DORMANT, CLOSED = 0, 1, 2
STATUS_NAMES = ACCOUNT_STATUSES.codes  # indexed by ACTIVE, DORMANT, CLOSED above

P = pools.PRODUCT_INDEX
PROD_CAT = np.array([CATS.index(p.category) for p in pools.PRODUCTS])
PROD_TERM = np.array([p.term_days for p in pools.PRODUCTS])
PROD_RATE = np.array([float(p.rate or 0) for p in pools.PRODUCTS])
PROD_MIN = np.array([float(p.min_amount or 0) for p in pools.PRODUCTS])
PROD_RISK = np.array([int(p.risk[1]) if p.risk else 0 for p in pools.PRODUCTS])
#: closed-end issues cannot be traded before maturity
PROD_CLOSED_END = np.array([p.issue_window is not None for p in pools.PRODUCTS])


@dataclass
class Accounts:
    cust: np.ndarray
    prod: np.ndarray
    open_d: np.ndarray
    mat_d: np.ndarray
    close_d: np.ndarray
    status: np.ndarray
    roll: np.ndarray  # auto-rollover in cycles of the product term (time deposits, periodic WM)
    hist: np.ndarray  # closed during the history on its own (not part of the as_of assets)
    term: np.ndarray
    share: np.ndarray  # share of the customer's assets at as_of (asset accounts only)
    amount: np.ndarray  # level in yuan: principal (const), pre-decline level (walk), loan principal
    outlet: np.ndarray
    demand_of: np.ndarray  # per customer: index of their demand account
    #: filled in by account_numbers() once the accounts are final
    account_no: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))

    @property
    def cat(self) -> np.ndarray:
        return PROD_CAT[self.prod]

    @property
    def kind(self) -> np.ndarray:
        return KIND_OF_CAT[self.cat]

    def __len__(self) -> int:
        return len(self.cust)


class _Builder:
    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(
        self,
        cust: np.ndarray,
        prod: np.ndarray | int,
        open_d: np.ndarray,
        *,
        mat: np.ndarray | None = None,
        close: np.ndarray | None = None,
        roll: bool = False,
        hist: bool = False,
        term: np.ndarray | None = None,
        amount: np.ndarray | None = None,
    ) -> None:
        n = len(cust)
        if n == 0:
            return
        prod_a = np.broadcast_to(np.asarray(prod, dtype=np.int64), (n,)).copy()
        na = np.full(n, NA_DAY, dtype=np.int64)
        self.parts.append(
            {
                "cust": cust.astype(np.int64),
                "prod": prod_a,
                "open_d": open_d.astype(np.int64),
                "mat_d": na.copy() if mat is None else mat.astype(np.int64),
                "close_d": na.copy() if close is None else close.astype(np.int64),
                "roll": np.full(n, roll),
                "hist": np.full(n, hist),
                "term": PROD_TERM[prod_a] if term is None else term.astype(np.int64),
                "amount": np.zeros(n) if amount is None else amount.astype(float),
            }
        )

    def concat(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}


def _between(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Uniform integer day in [lo, hi] (callers filter lo > hi beforehand)."""
    return lo + (rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64)


def _next_cycle_end(open_d: np.ndarray, term: np.ndarray, after: np.ndarray | int) -> np.ndarray:
    """First open + j·term (j ≥ 1) strictly after ``after``."""
    j = np.maximum(1, (np.asarray(after) - open_d) // term + 1)
    return open_d + j * term


def build_accounts(seed: int, span: Span, cust: Customers) -> Accounts:
    rng = stream(seed, "accounts")
    asof, start = span.asof_d, span.start_d
    n = cust.n
    ms = span.month_starts
    R = cust.level
    age = cust.age
    ind = ~cust.corp
    active = ~cust.dormant
    decliner = cust.decline_m >= 0
    closer = cust.closer
    decl_d = np.where(decliner, ms[np.maximum(cust.decline_m, 0)], asof + 1)
    # accounts of decliners are all opened before the decline starts
    latest = np.minimum(asof - 1, decl_d - 1)
    b = _Builder()
    u = lambda: rng.random(n)  # noqa: E731 - a short local helper reads best here

    def pick(mask: np.ndarray) -> np.ndarray:
        return np.flatnonzero(mask)

    def open_any(c: np.ndarray) -> np.ndarray:
        return _between(rng, cust.open_d[c], latest[c])

    # --- demand: everyone
    all_c = np.arange(n)
    b.add(all_c, np.where(cust.corp, P["DEP-DEMAND-CORP"], P["DEP-DEMAND"]), cust.open_d.copy())

    # --- time deposits (auto-rollover), several per customer for some
    p_td = np.clip(0.10 + 0.25 * (R > 20_000) + 0.15 * (R > 100_000) + 0.12 * (age > 50), 0, 0.85)
    p_td = np.where(cust.corp, 0.25 + 0.2 * (R > 1_000_000), p_td)
    has_td = active & (u() < p_td)
    has_td &= (age >= 18) | cust.corp | (u() < 0.5)
    n_td = has_td * (1 + (u() < 0.35) + ((u() < 0.15) & (R > 100_000)))
    c = np.repeat(all_c, n_td)
    td_prods = [P[k] for k in ("TD-3M", "TD-6M", "TD-1Y", "TD-2Y", "TD-3Y", "TD-5Y")]
    prod = np.array(td_prods)[rng.choice(6, size=len(c), p=[0.14, 0.14, 0.30, 0.12, 0.18, 0.12])]
    prod = np.where(cust.corp[c], P["TD-CORP-1Y"], prod)
    o = open_any(c)
    b.add(c, prod, o, mat=_next_cycle_end(o, PROD_TERM[prod], asof), roll=True)
    c = pick(active & ind & (R > 800_000) & (u() < 0.5))
    o = open_any(c)
    b.add(c, P["CD-3Y"], o, mat=_next_cycle_end(o, PROD_TERM[P["CD-3Y"]], asof), roll=True)
    # matured (not rolled) deposits closed during the history
    c = pick(has_td & ~decliner & ~cust.corp & (u() < 0.25))
    prod = np.array(td_prods)[rng.choice(6, size=len(c), p=[0.25, 0.25, 0.3, 0.1, 0.1, 0.0])]
    close = _between(rng, np.full(len(c), start + 1), np.full(len(c), asof - 1))
    o = close - PROD_TERM[prod]
    ok = o >= cust.open_d[c]
    b.add(c[ok], prod[ok], o[ok], mat=close[ok], close=close[ok], hist=True)

    # --- wealth management (理财)
    adult = ind & (age >= 18)
    p_wm = np.where(
        cust.corp, 0.06 + 0.25 * (R > 1_000_000), 0.02 + 0.20 * (R > 50_000) + 0.25 * (R > 200_000)
    )
    has_wm = active & (adult | cust.corp) & (u() < p_wm)
    n_wm = has_wm * (1 + (u() < 0.3))
    c = np.repeat(all_c, n_wm)
    choices = [
        "WM-R1-CASH",
        "WM-R2-90D",
        "WM-R2-180D",
        "WM-R3-1Y",
        "WM-R3-CE01",
        "WM-R4-CE02",
        "WM-R2-CE03",
    ]
    wm = np.array([P[k] for k in choices])[
        rng.choice(7, size=len(c), p=[0.28, 0.18, 0.15, 0.12, 0.11, 0.07, 0.09])
    ]
    wm = np.where(R[c] < 50_000, P["WM-R1-CASH"], wm)
    wm = np.where((wm == P["WM-R4-CE02"]) & (R[c] < 200_000), P["WM-R2-90D"], wm)
    wm = np.where(cust.corp[c], P["WM-CORP-R1"], wm)
    # closed-end issues: subscribed in the week before the issue date, mature on a fixed date
    for code in ("WM-R3-CE01", "WM-R4-CE02", "WM-R2-CE03"):
        issue_off, mat_off = pools.PRODUCTS[P[code]].issue_window  # type: ignore[misc]
        sel = wm == P[code]
        cc = c[sel]
        o = asof + issue_off - rng.integers(0, 8, len(cc))
        ok = (o >= cust.open_d[cc]) & (o <= latest[cc])
        matured = mat_off < 0
        if matured:
            ok &= ~decliner[cc]
        mat = np.full(len(cc), asof + mat_off)
        b.add(cc[ok], P[code], o[ok], mat=mat[ok], close=mat[ok] if matured else None, hist=matured)
        done = np.zeros(len(c), dtype=bool)
        done[np.flatnonzero(sel)[ok]] = True
        wm = np.where(sel & ~done, P["WM-R1-CASH"], np.where(done, -1, wm))
    keep = wm >= 0
    c, wm = c[keep], wm[keep]
    o = open_any(c)
    periodic = PROD_TERM[wm] > 0
    mat = np.where(periodic, _next_cycle_end(o, np.maximum(PROD_TERM[wm], 1), asof), NA_DAY)
    b.add(c[periodic], wm[periodic], o[periodic], mat=mat[periodic], roll=True)
    b.add(c[~periodic], wm[~periodic], o[~periodic])

    # --- funds
    p_fund = 0.02 + 0.07 * (R > 30_000) + 0.06 * ((age >= 18) & (age < 45)) + 0.04 * (R > 200_000)
    has_fund = active & adult & (u() < p_fund)
    n_fund = has_fund * (1 + (u() < 0.35) + (u() < 0.1))
    c = np.repeat(all_c, n_fund)
    fund_codes = np.array(
        [P[k] for k in ("FUND-BOND", "FUND-MIX", "FUND-IDX300", "FUND-EQ", "FUND-QDII")]
    )
    fp = [0.25, 0.25, 0.2, 0.2, 0.1]
    b.add(c, fund_codes[rng.choice(5, size=len(c), p=fp)], open_any(c))
    # funds fully redeemed during the history
    c = pick(has_fund & ~decliner & (u() < 0.15))
    close = _between(rng, np.full(len(c), start + 1), np.full(len(c), asof - 1))
    o = _between(rng, cust.open_d[c], close - 1)
    ok = o < close
    b.add(c[ok], fund_codes[rng.choice(5, size=ok.sum(), p=fp)], o[ok], close=close[ok], hist=True)

    # --- treasury bonds (older savers), insurance, gold
    has_bond = active & adult & (u() < 0.01 + 0.14 * (age > 55) * (R > 50_000))
    c = pick(has_bond)
    prod = np.where(u()[c] < 0.6, P["BOND-SAV3Y"], P["BOND-SAV5Y"])
    lo = np.maximum(cust.open_d[c], asof - PROD_TERM[prod] + 1)
    ok = lo <= latest[c]
    c, prod, lo = c[ok], prod[ok], lo[ok]
    o = _between(rng, lo, latest[c])
    b.add(c, prod, o, mat=o + PROD_TERM[prod])
    c = pick(has_bond & ~decliner & (u() < 0.3))
    prod = np.where(u()[c] < 0.6, P["BOND-SAV3Y"], P["BOND-SAV5Y"])
    close = _between(rng, np.full(len(c), start + 1), np.full(len(c), asof - 1))
    o = close - PROD_TERM[prod]
    ok = o >= cust.open_d[c]
    b.add(c[ok], prod[ok], o[ok], mat=close[ok], close=close[ok], hist=True)

    c = pick(active & (age >= 30) & (age <= 65) & (u() < 0.03 + 0.04 * (R > 100_000)))
    b.add(c, P["INS-ANNUITY"], open_any(c))
    c = pick(active & (age >= 28) & (age <= 48) & (u() < 0.04))
    b.add(c, P["INS-EDU"], open_any(c))
    c = pick(active & adult & (u() < 0.015 + 0.03 * (R > 100_000)))
    b.add(c, P["GOLD-ACC"], open_any(c))

    # --- loans (amortising; outstanding principal as a positive balance)
    no_loan = closer | ~active
    c = pick(~no_loan & ind & (age >= 25) & (age <= 55) & (u() < 0.07))
    term = 365 * rng.integers(10, 31, len(c))
    lo = np.maximum(cust.open_d[c], asof - term + 400)
    hi = np.minimum(latest[c], asof - 30)
    ok = lo <= hi
    c, term, o = c[ok], term[ok], _between(rng, lo[ok], hi[ok])
    amt = np.round(np.exp(np.log(450_000) + 0.45 * rng.standard_normal(len(c))), -4)
    b.add(c, P["LOAN-MORT"], o, mat=o + term, term=term, amount=amt)
    biz = np.array(pools.OCCUPATIONS_WORKING)[np.maximum(cust.occupation, 0)] == "个体工商户"
    for code, mask, median in (
        ("LOAN-CONS", ind & (age >= 20) & (age <= 60) & (u() < 0.05), 60_000),
        ("LOAN-BIZ", ind & biz & (age >= 22) & (u() < 0.25), 300_000),
    ):
        c = pick(~no_loan & mask)
        term = 365 * rng.integers(1, 4, len(c))
        lo = np.maximum(cust.open_d[c], asof - 3 * 365)
        hi = np.minimum(latest[c], asof - 30)
        ok = lo <= hi
        c, term, o = c[ok], term[ok], _between(rng, lo[ok], hi[ok])
        mat = o + term
        done = mat < asof
        amt = np.round(np.exp(np.log(median) + 0.6 * rng.standard_normal(len(c))), -3)
        b.add(c[~done], P[code], o[~done], mat=mat[~done], term=term[~done], amount=amt[~done])
        b.add(
            c[done],
            P[code],
            o[done],
            mat=mat[done],
            close=mat[done],
            term=term[done],
            amount=amt[done],
            hist=True,
        )
    size = cust.size
    p_loan = np.select([size == 0, size == 1, size == 2], [0.22, 0.35, 0.5], 0.6)
    c = pick(~no_loan & cust.corp & (u() < p_loan))
    lo = np.maximum(cust.open_d[c], asof - 364)
    ok = lo <= latest[c]
    c, o = c[ok], _between(rng, lo[ok], latest[c][ok])
    cmed = np.array([300_000.0, 1_500_000.0, 8_000_000.0, 40_000_000.0])
    amt = np.round(np.exp(np.log(cmed[size[c]]) + 0.5 * rng.standard_normal(len(c))), -4)
    b.add(c, P["LOAN-CORP-WC"], o, mat=o + 365, amount=amt)
    prev = (o - 365 >= cust.open_d[c]) & (o > start)
    b.add(
        c[prev],
        P["LOAN-CORP-WC"],
        o[prev] - 365,
        mat=o[prev],
        close=o[prev],
        amount=amt[prev],
        hist=True,
    )

    # --- credit cards and corporate settlement services (no balances)
    c = pick(active & ind & (age >= 20) & (age <= 65) & (u() < 0.16))
    o = open_any(c)
    closed = (u()[c] < 0.06) & (o < asof - 60)
    close = np.where(closed, _between(rng, o + 30, np.full(len(c), asof - 1)), NA_DAY)
    b.add(c, P["CARD-CREDIT"], o, close=close)
    for code, p in (
        ("SET-CASHMGMT", 0.08 + 0.3 * (size >= 2)),
        ("SET-PAYROLL", 0.25),
        ("SET-COLLECT", 0.08),
    ):
        c = pick(active & cust.corp & (u() < p))
        b.add(c, P[code], open_any(c))

    acc = b.concat()
    order = np.lexsort((acc["prod"], acc["open_d"], acc["cust"]))
    acc = {k: v[order] for k, v in acc.items()}
    na = len(acc["cust"])
    status = np.where(acc["close_d"] != NA_DAY, CLOSED, ACTIVE)
    cat = PROD_CAT[acc["prod"]]
    status = np.where((cat == C_DEMAND) & cust.dormant[acc["cust"]], DORMANT, status)
    a = Accounts(
        cust=acc["cust"],
        prod=acc["prod"],
        open_d=acc["open_d"],
        mat_d=acc["mat_d"],
        close_d=acc["close_d"],
        status=status,
        roll=acc["roll"],
        hist=acc["hist"],
        term=acc["term"],
        share=np.zeros(na),
        amount=acc["amount"],
        outlet=cust.outlet[acc["cust"]],
        demand_of=np.zeros(n, dtype=np.int64),
    )
    is_demand = cat == C_DEMAND
    a.demand_of[a.cust[is_demand]] = np.flatnonzero(is_demand)
    _apply_declines(a, cust, span, rng)
    _shares(a, cust, rng)
    return a


def _apply_declines(a: Accounts, cust: Customers, span: Span, rng: np.random.Generator) -> None:
    """Decliners cash in their deposits, bonds and policies at the start of the decline; customers
    who leave close every account within the decline months (the demand account last)."""
    ms, ml = span.month_starts, span.month_len
    d0 = cust.decline_m[a.cust]
    dec = d0 >= 0
    k = cust.decline_k[a.cust]
    first_day = np.where(
        dec,
        ms[np.maximum(d0, 0)] + (rng.random(len(a)) * ml[np.maximum(d0, 0)]).astype(np.int64),
        NA_DAY,
    )
    last_m = np.maximum(d0 + k - 1, 0)
    last_day = np.where(dec, ms[last_m] + ml[last_m] - 1, NA_DAY)
    cat = a.cat
    still_open = a.close_d == NA_DAY
    early = dec & still_open & np.isin(cat, [C_TIME, C_BOND, C_INS])
    leaving = cust.closer[a.cust] & still_open
    close = np.where(early | (leaving & (cat != C_DEMAND)), first_day, a.close_d)
    close = np.where(leaving & (cat == C_DEMAND), last_day, close)
    close = np.where((close != NA_DAY) & (close <= a.open_d), a.open_d + 1, close)
    changed = close != a.close_d
    a.close_d = close
    a.status = np.where(changed, CLOSED, a.status)
    # a rolled-over deposit closed early keeps the contract maturity of the running cycle
    rolled = changed & a.roll & (a.term > 0)
    a.mat_d = np.where(rolled, _next_cycle_end(a.open_d, np.maximum(a.term, 1), close - 1), a.mat_d)


def _shares(a: Accounts, cust: Customers, rng: np.random.Generator) -> None:
    """Split each customer's assets across their asset accounts (weights by category)."""
    cat = a.cat
    R = cust.level[a.cust]
    eligible = ASSET_CATS[cat] & ~a.hist
    base = np.array([1.0, 2.2, 2.5, 1.0, 2.0, 1.2, 0.4, 0, 0, 0])[cat]
    base = np.where(cat == C_DEMAND, 0.6 + 2.5 * (R < 10_000) + 1.0 * (R < 50_000), base)
    w = np.where(eligible, base * rng.gamma(2.0, 0.5, len(a)), 0.0)
    tot = np.bincount(a.cust, weights=w, minlength=cust.n)
    a.share = np.where(eligible, w / np.maximum(tot[a.cust], 1e-12), 0.0)


def end_factor(a: Accounts, cust: Customers) -> np.ndarray:
    """Per account: its share of the customer level still held at as_of."""
    f = cust.decline_f[a.cust]
    kind = a.kind
    alive = a.close_d == NA_DAY
    return np.where(alive, a.share * np.where(kind == K_WALK, f, 1.0), 0.0)


def calibrate(a: Accounts, cust: Customers, seed: int) -> None:
    """Scale individual wealth by age band so that band asset shares at as_of match seed 002
    (40–60: 43.23 %, 18–40: 6.5 %, the rest 50.27 %), then fix the account amounts."""
    rng = stream(seed, "amounts")
    end = np.bincount(a.cust, weights=end_factor(a, cust), minlength=cust.n) * cust.level
    ind = ~cust.corp
    total = end[ind].sum()
    scale = np.ones(5)
    for band, target in zip((MINOR, YOUNG, MIDDLE, OLD), BAND_ASSET_SHARE):
        have = end[cust.band == band].sum()
        if have > 0:
            scale[band] = target * total / have
    cust.level = cust.level * scale[cust.band]
    B = cust.level[a.cust]
    kind = a.kind
    const = (kind == K_CONST) & ~a.hist
    minimum = np.maximum(PROD_MIN[a.prod], 50.0)
    raw = B * a.share
    step = np.where(raw >= 10_000, 100.0, 10.0)
    a.amount = np.where(const, np.maximum(np.round(raw / step) * step, minimum), a.amount)
    hist_amt = B * rng.uniform(0.05, 0.3, len(a))
    hist_amt = np.maximum(np.round(hist_amt / 100) * 100, minimum)
    a.amount = np.where(a.hist & (kind != K_LOAN), hist_amt, a.amount)
    a.amount = np.where(kind == K_WALK, raw, a.amount)


def account_numbers(a: Accounts, cust: Customers) -> pa.Array:
    """Debit cards (19-digit, Luhn) for personal demand accounts, 16-digit credit cards, and
    18-digit outlet/category account numbers for everything else."""
    n = len(a)
    cat = a.cat
    out = np.empty(n, dtype=object)
    pd_mask = (cat == C_DEMAND) & ~cust.corp[a.cust]
    out[pd_mask] = luhn_numbers("621799", np.arange(pd_mask.sum()) + 1, 18)
    cc = cat == C_CARD
    out[cc] = luhn_numbers("625965", np.arange(cc.sum()) + 1, 15)
    rest = ~(pd_mask | cc)
    seq = np.zeros(n, dtype=np.int64)
    for ci in range(len(CATS)):
        m = rest & (cat == ci)
        seq[m] = np.arange(m.sum()) + 1
    txt = join(
        "3604",
        int_text(a.outlet[rest] + 1, 2),
        int_text(cat[rest] + 10, 2),
        int_text(seq[rest], 10),
    )
    out[rest] = np.array(txt.to_pylist(), dtype=object)
    return pa.array(out, pa.string())


def products_table(span: Span) -> pa.Table:
    asof = span.asof_d
    issue = []
    mat = []
    # The simulated products, then those on the shelf that nobody holds yet (issue 14).
    prods = pools.PRODUCTS + pools.SHELF_ONLY
    for p in prods:
        if p.issue_window:
            issue.append(asof + p.issue_window[0])
            mat.append(asof + p.issue_window[1])
        else:
            issue.append(NA_DAY)
            mat.append(NA_DAY)
    return pa.table(
        {
            "product_code": pa.array([p.code for p in prods]),
            "name": pa.array([p.name for p in prods]),
            "category": pa.array([p.category for p in prods]),
            "risk_level": pa.array([p.risk or None for p in prods], pa.string()),
            "min_amount": pa.array([p.min_amount or None for p in prods], pa.string()),
            "term_days": pa.array([p.term_days or None for p in prods], pa.int64()),
            "issue_date": date_array(np.array(issue)),
            "maturity_date": date_array(np.array(mat)),
            "motives": pa.array([p.motives or None for p in prods], pa.string()),
            "rate": pa.array([p.rate or None for p in prods], pa.string()),
            # The bank's rating is ``risk``; the issuer's where it differs (the higher applies).
            "issuer_risk_level": pa.array([p.issuer_risk or None for p in prods], pa.string()),
            "seller_risk_level": pa.array([p.risk or None for p in prods], pa.string()),
            "issuer": pa.array([p.issuer or None for p in prods], pa.string()),
            "private": pa.array(["Y" if p.private else "N" for p in prods], pa.string()),
            # The demo bank keeps everything in yuan.
            "currency": pa.array(["CNY"] * len(prods), pa.string()),
            "sale_status": pa.array([p.sale_status or None for p in prods], pa.string()),
        }
    )


def accounts_table(
    a: Accounts, cust: Customers, last_cents: np.ndarray, has_balance: np.ndarray
) -> pa.Table:
    outlet_codes = [o[0] for o in pools.OUTLETS]
    return pa.table(
        {
            "account_no": a.account_no,
            "customer_no": cust.customer_no.take(pa.array(a.cust)),
            "product_code": take([p.code for p in pools.PRODUCTS], a.prod),
            "open_date": date_array(a.open_d),
            "maturity_date": date_array(a.mat_d),
            "close_date": date_array(a.close_d),
            "status": take(STATUS_NAMES, a.status),
            "currency": take(("CNY",), np.zeros(len(a), dtype=np.int64)),
            "balance": decimal_array(last_cents, ~has_balance),
            "branch_code": take(outlet_codes, a.outlet),
        }
    )
