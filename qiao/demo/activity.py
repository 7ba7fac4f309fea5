"""Balances and transactions over the history window, simulated per block of customers.

Balances follow a per-customer random walk (drift by profile) times a per-account market walk,
anchored at as_of so that the calibrated as_of assets hold exactly; deposits, bonds and policies
keep their principal (time deposits step up by the interest at each rollover); loans amortise.
Transactions are of two sorts: movements that explain the balance changes (openings, closings,
large jumps, declines, rollover interest, purchases and redemptions) and everyday activity
(salary, payments, cash, transfers) on the demand account, through the channels each customer
can use on that day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from qiao.core import vocab

from .accounts import (
    ASSET_CATS,
    C_BOND,
    C_DEMAND,
    C_FUND,
    C_GOLD,
    C_INS,
    C_LOAN,
    C_TIME,
    C_WEALTH,
    K_CONST,
    K_LOAN,
    K_NONE,
    K_WALK,
    PROD_CLOSED_END,
    PROD_RATE,
    PROD_RISK,
    Accounts,
)
from .base import Span, stream
from .codes import NA_DAY, date_array, decimal_array, int_text, join, null_where, take
from .links import FAR, S_LINK, S_MOBILE, S_ONLINE, S_PHONE, S_PRO, S_WECHAT, EBanking, Payroll
from .people import MINOR, OLD, YOUNG, Customers, warning_ramp
from .pools import PRODUCTS

CHANNELS = vocab.CHANNELS.codes
CH_COUNTER = CHANNELS.index("COUNTER")
CH_ATM = CHANNELS.index("ATM")
CH_ONLINE = CHANNELS.index("ONLINE")
CH_MOBILE = CHANNELS.index("MOBILE")
CH_PHONE = CHANNELS.index("PHONE")
CH_WECHAT = CHANNELS.index("WECHAT")
CH_POS = CHANNELS.index("POS")
CH_CORP = CHANNELS.index("CORP_ONLINE")
CH_LINK = CHANNELS.index("BANK_LINK")
#: column of EBanking.avail_* that must be open for each channel (-1: always usable)
_AVAIL = {
    "COUNTER": -1,
    "ATM": -1,
    "ONLINE": 0,
    "MOBILE": 1,
    "PHONE": 2,
    "WECHAT": 3,
    "POS": -1,
    "CORP_ONLINE": 4,
    "BANK_LINK": 5,
}
CH_AVAIL = np.array([_AVAIL[c] for c in CHANNELS])
TYPES = vocab.TXN_TYPES.codes
PAY_METHODS = vocab.PAY_METHODS.codes
M_THIRD = PAY_METHODS.index("THIRD_PARTY")
M_EBANK = PAY_METHODS.index("EBANK")
M_QUICK = PAY_METHODS.index("QUICK_PAY")
M_CARD = PAY_METHODS.index("CARD")
T_DEP = TYPES.index("DEPOSIT")
T_WDR = TYPES.index("WITHDRAWAL")
T_TRF = TYPES.index("TRANSFER")
T_PAY = TYPES.index("PAYMENT")
T_BILL = TYPES.index("BILL_PAY")
T_TOPUP = TYPES.index("TOPUP")
T_SAL = TYPES.index("SALARY")
T_INT = TYPES.index("INTEREST")
T_FEE = TYPES.index("FEE")
T_BUY = TYPES.index("PURCHASE")
T_SELL = TYPES.index("REDEMPTION")
T_DRAW = TYPES.index("LOAN_DRAWDOWN")
T_REPAY = TYPES.index("LOAN_REPAYMENT")
T_OTHER = TYPES.index("OTHER")
CREDIT, DEBIT = 0, 1
NO_GAIN = np.iinfo(np.int64).min

TXN_SCHEMA = pa.schema(
    [
        ("txn_id", pa.string()),
        ("account_no", pa.string()),
        ("customer_no", pa.string()),
        ("txn_time", pa.timestamp("us", tz="Asia/Shanghai")),
        ("amount", pa.decimal128(18, 2)),
        ("direction", pa.string()),
        ("channel", pa.string()),
        ("txn_type", pa.string()),
        ("product_code", pa.string()),
        ("gain", pa.decimal128(18, 2)),
        ("cash", pa.string()),
        ("pay_method", pa.string()),
    ]
)
BAL_SCHEMA = pa.schema(
    [
        ("account_no", pa.string()),
        ("balance_date", pa.date32()),
        ("balance", pa.decimal128(18, 2)),
    ]
)

# Hour-of-day profiles per channel (relative weights for 00..23).
_H = np.zeros((9, 24))
_H[CH_COUNTER, 9:17] = [6, 9, 8, 4, 5, 8, 7, 5]
_H[CH_ATM, 7:23] = [2, 4, 5, 5, 6, 6, 5, 5, 5, 6, 7, 7, 6, 5, 3, 2]
_H[CH_ONLINE, 8:24] = [3, 5, 6, 6, 5, 4, 5, 5, 5, 5, 4, 5, 7, 8, 7, 4]
_H[CH_MOBILE, :] = [
    1,
    0.5,
    0.2,
    0.1,
    0.1,
    0.2,
    1,
    3,
    5,
    5,
    5,
    6,
    8,
    6,
    5,
    5,
    5,
    6,
    7,
    8,
    9,
    9,
    7,
    3,
]
_H[CH_PHONE, 9:21] = [4, 5, 5, 4, 3, 4, 4, 4, 3, 3, 3, 2]
_H[CH_WECHAT, :] = [
    1,
    0.5,
    0.2,
    0.1,
    0.1,
    0.2,
    1,
    4,
    6,
    5,
    5,
    7,
    9,
    6,
    5,
    5,
    5,
    6,
    8,
    8,
    8,
    8,
    6,
    3,
]
_H[CH_POS, 9:23] = [2, 4, 6, 8, 7, 5, 5, 5, 6, 8, 9, 8, 5, 2]
_H[CH_CORP, 8:19] = [3, 8, 9, 8, 4, 5, 8, 8, 6, 3, 1]
_H[CH_LINK, 8:19] = [3, 8, 9, 8, 4, 5, 8, 8, 6, 3, 1]
_HCUM = np.cumsum(_H / _H.sum(axis=1, keepdims=True), axis=1)

# Everyday transaction types per channel (rows: channels, then a corporate counter row).
_TT = np.zeros((10, 14))
_TT[CH_COUNTER, [T_DEP, T_WDR, T_TRF, T_BILL]] = [0.35, 0.35, 0.2, 0.1]
_TT[CH_ATM, [T_WDR, T_DEP, T_TRF]] = [0.75, 0.15, 0.1]
_TT[CH_ONLINE, [T_TRF, T_PAY, T_BILL]] = [0.35, 0.45, 0.2]
_TT[CH_MOBILE, [T_TRF, T_PAY, T_TOPUP, T_BILL]] = [0.3, 0.3, 0.2, 0.2]
_TT[CH_PHONE, [T_TRF, T_BILL]] = [0.5, 0.5]
_TT[CH_WECHAT, [T_PAY, T_TOPUP]] = [0.6, 0.4]
_TT[CH_POS, T_PAY] = 1
_TT[CH_CORP, [T_TRF, T_PAY, T_BILL]] = [0.6, 0.3, 0.1]
_TT[CH_LINK, [T_TRF, T_PAY]] = [0.7, 0.3]
_TT[9, [T_DEP, T_WDR, T_TRF, T_PAY]] = [0.3, 0.2, 0.35, 0.15]
_TTCUM = np.cumsum(_TT, axis=1)
# median amount (yuan) and log-sd of everyday transactions by type
_AMT_MED = np.array([2000, 1000, 1500, 150, 120, 50, 0, 0, 0, 0, 0, 0, 0, 100], float)
_AMT_SD = np.array([1.0, 0.9, 1.2, 1.0, 0.7, 0.5, 0, 0, 0, 0, 0, 0, 0, 0.5])


@dataclass
class ActivityResult:
    last_cents: np.ndarray
    has_balance: np.ndarray
    n_balances: int = 0
    n_transactions: int = 0


class _Events:
    """Accumulates transaction columns from the different event sources of one block."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(
        self,
        acct: np.ndarray,
        day: np.ndarray,
        cents: np.ndarray,
        ttype: int | np.ndarray,
        direction: int | np.ndarray,
        chan: int | np.ndarray,
        prod: int | np.ndarray = -1,
        gain: np.ndarray | None = None,
        cash: int | np.ndarray = -1,
    ) -> None:
        n = len(acct)
        if n == 0:
            return

        def b(v: int | np.ndarray, dt: type = np.int64) -> np.ndarray:
            return np.broadcast_to(np.asarray(v, dtype=dt), (n,))

        self.parts.append(
            (
                np.asarray(acct, np.int64),
                np.asarray(day, np.int64),
                np.asarray(cents, np.int64),
                b(ttype),
                b(direction),
                b(chan),
                b(prod),
                b(NO_GAIN) if gain is None else np.asarray(gain, np.int64),
                b(cash),
            )
        )

    def concat(self) -> tuple[np.ndarray, ...]:
        if not self.parts:
            return tuple(np.zeros(0, np.int64) for _ in range(9))
        return tuple(np.concatenate([p[i] for p in self.parts]) for i in range(9))


def _sample_rows(weights: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each i, a column drawn with probabilities ``weights[rows[i]]`` (an all-zero row gives
    the last column). One searchsorted over row-offset cumulative weights, no per-row gathers."""
    tot = weights.sum(axis=1, keepdims=True)
    cum = np.cumsum(weights, axis=1) / np.where(tot > 0, tot, 1.0)
    cum[:, -1] = 1.0
    k = weights.shape[1]
    flat = (cum + np.arange(len(weights))[:, None]).ravel()
    idx = np.searchsorted(flat, rows + np.minimum(u, 1 - 1e-12), side="right")
    return np.clip(idx - rows * k, 0, k - 1)


def _lognormal(
    rng: np.random.Generator, median: np.ndarray | float, sd: np.ndarray | float, n: int
) -> np.ndarray:
    return np.exp(np.log(median) + sd * rng.standard_normal(n))


def _cents(yuan: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(yuan) * 100).astype(np.int64)


def _gain_rate(rng: np.random.Generator, risk: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Realised return of a redemption: higher risk, wider spread; frequent traders do worse."""
    mu = np.array([0.004, 0.004, 0.012, 0.015, 0.01, 0.005])[risk]
    sd = np.array([0.002, 0.002, 0.01, 0.05, 0.10, 0.15])[risk]
    return mu - 0.02 * active + sd * rng.standard_normal(len(risk))


class Simulator:
    def __init__(
        self, seed: int, span: Span, cust: Customers, a: Accounts, eb: EBanking, pr: Payroll
    ) -> None:
        self.seed, self.span, self.cust, self.a, self.eb, self.pr = seed, span, cust, a, eb, pr
        self.txn_seq = 0
        self.result = ActivityResult(
            last_cents=np.zeros(len(a), np.int64), has_balance=a.kind != K_NONE
        )
        self.prod_codes = pa.array([p.code for p in PRODUCTS])

    # -----------------------------------------------------------------------------------------
    def run(self, bal_path: str, txn_path: str, block: int = 25_000) -> ActivityResult:
        # Dictionary-encode only the repetitive columns: trying it on unique ids and
        # timestamps costs time for nothing.
        txn_dict = [
            "account_no",
            "customer_no",
            "direction",
            "channel",
            "txn_type",
            "product_code",
            "cash",
            "pay_method",
        ]
        with (
            pq.ParquetWriter(bal_path, BAL_SCHEMA, use_dictionary=["account_no"]) as bw,
            pq.ParquetWriter(txn_path, TXN_SCHEMA, use_dictionary=txn_dict) as tw,
        ):
            for i, c0 in enumerate(range(0, self.cust.n, block)):
                c1 = min(c0 + block, self.cust.n)
                bal, txn = self._block(c0, c1, stream(self.seed, "activity", i))
                bw.write_table(bal)
                tw.write_table(txn)
                self.result.n_balances += bal.num_rows
                self.result.n_transactions += txn.num_rows
        return self.result

    # -----------------------------------------------------------------------------------------
    def _channel_ok(self, cust_idx: np.ndarray, day: np.ndarray, col: int) -> np.ndarray:
        eb = self.eb
        return (eb.avail_from[cust_idx, col] <= day) & (day < eb.avail_to[cust_idx, col])

    def _initiated(
        self, rng: np.random.Generator, cust_idx: np.ndarray, day: np.ndarray
    ) -> np.ndarray:
        """Channel of a customer-initiated movement: their e-banking if they use it, else the
        counter."""
        n = len(cust_idx)
        ch = np.full(n, CH_COUNTER)
        corp = self.cust.corp[cust_idx]
        mob = ~corp & self._channel_ok(cust_idx, day, 1) & (rng.random(n) < 0.65)
        ch[mob] = CH_MOBILE
        onl = ~corp & ~mob & self._channel_ok(cust_idx, day, 0) & (rng.random(n) < 0.65)
        ch[onl] = CH_ONLINE
        co = corp & self._channel_ok(cust_idx, day, 4) & (rng.random(n) < 0.75)
        ch[co] = CH_CORP
        li = corp & ~co & self._channel_ok(cust_idx, day, 5) & (rng.random(n) < 0.6)
        ch[li] = CH_LINK
        return ch

    # -----------------------------------------------------------------------------------------
    def _block(self, c0: int, c1: int, rng: np.random.Generator) -> tuple[pa.Table, pa.Table]:
        span, cust, a = self.span, self.cust, self.a
        M = span.months
        ms, ml = span.month_starts[:M], span.month_len
        start, asof = span.start_d, span.asof_d
        a0, a1 = np.searchsorted(a.cust, [c0, c1])
        A = a1 - a0
        gi = np.arange(a0, a1)  # global account index
        lc = a.cust[a0:a1] - c0
        cat = a.cat[a0:a1]
        kind = np.where(a.hist[a0:a1] & (a.kind[a0:a1] == K_WALK), K_CONST, a.kind[a0:a1])
        open_d, close_d = a.open_d[a0:a1], a.close_d[a0:a1]
        amount = a.amount[a0:a1]
        term = np.maximum(a.term[a0:a1], 1)
        prod = a.prod[a0:a1]
        closed = close_d != NA_DAY
        gone_before = closed & (close_d < start)
        first_day = np.maximum(open_d, start)
        fm = span.month_of(first_day)
        lm = np.where(closed, span.month_of(np.maximum(close_d, start)), M - 1)

        # ---- row dates: the opening (or window start), then one random day per month
        RD = ms[None, :] + (rng.random((A, M)) * ml[None, :]).astype(np.int64)
        RD[np.arange(A), np.clip(fm, 0, M - 1)] = first_day
        mm = np.arange(M)[None, :]
        valid = (mm >= fm[:, None]) & (mm <= lm[:, None]) & (kind != K_NONE)[:, None]
        valid &= ~gone_before[:, None]
        valid &= ~closed[:, None] | (RD < close_d[:, None])

        # ---- walks (anchored at the last month)
        nl = c1 - c0
        cs = slice(c0, c1)
        dorm = cust.dormant[cs]
        new = cust.open_d[cs] > asof - 3 * 365
        band = cust.band[cs]
        mu = (
            0.002
            + 0.008 * new
            + 0.004 * (band == YOUNG)
            - 0.003 * (band == OLD)
            + 0.004 * rng.standard_normal(nl)
        )
        sig = np.where(cust.corp[cs], 0.06, 0.035)
        mu, sig = np.where(dorm, 0.0, mu), np.where(dorm, 0.002, sig)
        inc = mu[:, None] + sig[:, None] * rng.standard_normal((nl, M))
        S = np.cumsum(inc, axis=1)
        Wc = S - S[:, -1:]
        risk = PROD_RISK[prod]
        sig_a = np.select(
            [cat == C_FUND, cat == C_WEALTH, cat == C_GOLD],
            [
                np.array([0.01, 0.01, 0.012, 0.035, 0.055, 0.07])[risk],
                np.full(A, 0.002),
                np.full(A, 0.04),
            ],
            0.0,
        )
        drift_a = np.select(
            [cat == C_FUND, cat == C_WEALTH, cat == C_GOLD], [0.004, 0.0022, 0.007], 0.0
        )
        inc_a = drift_a[:, None] + sig_a[:, None] * rng.standard_normal((A, M))
        Sa = np.cumsum(inc_a, axis=1)
        Wa = Sa - Sa[:, -1:]
        # decline factor: down to f over k months (customers who leave just close accounts)
        d0 = cust.decline_m[cs]
        k = np.maximum(cust.decline_k[cs], 1)
        f = cust.decline_f[cs]
        partial = (d0 >= 0) & (f > 0)
        step = np.clip((np.arange(M)[None, :] - d0[:, None] + 1) / k[:, None], 0, 1)
        D = np.where(partial[:, None], np.power(np.maximum(f, 1e-9)[:, None], step), 1.0)
        # warning signs: a slide of warn_s before the decline, which then goes on from there
        # (1 − s)^(1 − step) · f^step, so the level the decline reaches is still f
        slide = 1.0 - cust.warn_s[cs][:, None] * warning_ramp(
            np.arange(c0, c1)[:, None], np.arange(M)[None, :], cust
        )
        D = D * np.where(partial[:, None], np.power(slide, 1.0 - step), slide)
        V = amount[:, None] * np.exp(Wc[lc] + Wa) * D[lc]

        ev = _Events()
        self._jumps(rng, V, valid, RD, cat, lc, c0, gi, ev)

        # ---- constant principals (rollover interest steps) and amortising loans, by row date
        rate = PROD_RATE[prod] / 100.0
        rc = rate * term / 365.0
        ref = np.where(closed, close_d - 1, asof)
        roll = a.roll[a0:a1] & (kind == K_CONST)
        j_ref = np.where(roll, (ref - open_d) // term, 0)
        j_t = np.where(roll[:, None], (RD - open_d[:, None]) // term[:, None], 0)
        powr = np.clip(j_ref[:, None] - j_t, 0, None)
        Vc = amount[:, None] / np.power(1.0 + rc[:, None], powr)
        Vl = amount[:, None] * np.clip(1.0 - (RD - open_d[:, None]) / term[:, None], 0.0, 1.0)
        V = np.select([kind[:, None] == K_WALK, kind[:, None] == K_CONST], [V, Vc], Vl)
        Vcent = np.round(V * 100).astype(np.int64)

        # ---- balance rows
        ai, mi = np.nonzero(valid)
        b_acct = np.concatenate([ai, np.flatnonzero(closed & ~gone_before & (kind != K_NONE))])
        b_day = np.concatenate([RD[ai, mi], close_d[b_acct[len(ai) :]]])
        b_val = np.concatenate([Vcent[ai, mi], np.zeros(len(b_acct) - len(ai), np.int64)])
        order = np.lexsort((b_day, b_acct))
        b_acct, b_day, b_val = b_acct[order], b_day[order], b_val[order]
        last = np.zeros(A, np.int64)
        if len(b_acct):
            is_last = np.append(b_acct[1:] != b_acct[:-1], True)
            last[b_acct[is_last]] = b_val[is_last]
        self.result.last_cents[a0:a1] = last
        bal = pa.table(
            {
                "account_no": a.account_no.take(pa.array(gi[b_acct])),
                "balance_date": date_array(b_day),
                "balance": decimal_array(b_val),
            },
            schema=BAL_SCHEMA,
        )

        # ---- movements behind the balances
        cust_of = a.cust[a0:a1]
        last_valid_m = np.where(valid.any(axis=1), M - 1 - np.argmax(valid[:, ::-1], axis=1), 0)
        pre_close = np.where(
            kind == K_CONST,
            np.round(amount * 100).astype(np.int64),
            Vcent[np.arange(A), last_valid_m],
        )
        self._open_close(
            rng,
            ev,
            gi,
            cust_of,
            cat,
            kind,
            prod,
            open_d,
            close_d,
            closed,
            fm,
            Vcent,
            pre_close,
            amount,
            rate,
            term,
        )
        self._rollover_interest(ev, gi, roll & (cat == C_TIME), open_d, term, ref, amount, rc)
        self._loan_repayments(ev, gi, kind, open_d, close_d, term, amount, rate)
        self._declines(
            rng, ev, gi, cust_of, cat, prod, valid, Vcent, RD, d0[lc], k[lc], partial[lc]
        )
        self._salaries(rng, ev, c0, c1)
        self._demand_interest_and_fees(rng, ev, c0, c1, V, valid, cat, lc, gi)
        self._everyday(rng, ev, c0, c1)
        self._trading(rng, ev, gi, cust_of, cat, prod, open_d, close_d, amount)
        self._first_use(rng, ev, c0, c1)
        return bal, self._txn_table(rng, ev)

    # -----------------------------------------------------------------------------------------
    def _jumps(
        self,
        rng: np.random.Generator,
        V: np.ndarray,
        valid: np.ndarray,
        RD: np.ndarray,
        cat: np.ndarray,
        lc: np.ndarray,
        c0: int,
        gi: np.ndarray,
        ev: _Events,
    ) -> None:
        """A few large movements (≥ ¥50,000) on wealthy customers' demand accounts: earlier
        balances are lower (money came in) or higher (money went out) by the amount."""
        cust = self.cust
        M = V.shape[1]
        cidx = lc + c0
        cand = (cat == C_DEMAND) & (V[:, -1] >= 80_000) & (cust.decline_m[cidx] < 0) & valid[:, -1]
        cand &= rng.random(len(cat)) < 0.45
        for slot in range(2):  # every candidate jumps once, some twice
            rows = np.flatnonzero(cand & (rng.random(len(cat)) < (1.0 if slot == 0 else 0.4)))
            if len(rows) == 0 or M < 3:
                continue
            first = np.argmax(valid[rows], axis=1)
            lo = first + 1
            ok = lo <= M - 1
            rows, lo = rows[ok], lo[ok]
            j = lo + (rng.random(len(rows)) * (M - lo)).astype(np.int64)
            amt = np.maximum(50_000.0, _lognormal(rng, 120_000, 0.6, len(rows)))
            amt = np.round(amt / 100) * 100
            mm = np.arange(M)[None, :]
            earlier = (mm < j[:, None]) & valid[rows]
            vmin = np.where(earlier, V[rows], np.inf).min(axis=1)
            inflow = amt <= 0.85 * vmin
            out_cap = 0.8 * V[rows, j]
            outflow = ~inflow & (np.minimum(amt, out_cap) >= 50_000)
            amt = np.where(outflow, np.minimum(amt, np.floor(out_cap / 100) * 100), amt)
            sign = np.where(inflow, -1.0, np.where(outflow, 1.0, 0.0))
            V[rows] += np.where(mm < j[:, None], sign[:, None] * amt[:, None], 0.0)
            use = inflow | outflow
            rows, j, amt, inflow = rows[use], j[use], amt[use], inflow[use]
            day = RD[rows, j]
            cidx_r = cidx[rows]
            cash = rng.random(len(rows)) < 0.35
            chan = np.where(cash, CH_COUNTER, self._initiated(rng, cidx_r, day))
            ttype = np.where(cash, np.where(inflow, T_DEP, T_WDR), T_TRF)
            ev.add(
                gi[rows],
                day,
                _cents(amt),
                ttype,
                np.where(inflow, CREDIT, DEBIT),
                chan,
                cash=np.where(cash, 1, -1),
            )

    def _open_close(
        self,
        rng: np.random.Generator,
        ev: _Events,
        gi: np.ndarray,
        cust_of: np.ndarray,
        cat: np.ndarray,
        kind: np.ndarray,
        prod: np.ndarray,
        open_d: np.ndarray,
        close_d: np.ndarray,
        closed: np.ndarray,
        fm: np.ndarray,
        Vcent: np.ndarray,
        pre_close: np.ndarray,
        amount: np.ndarray,
        rate: np.ndarray,
        term: np.ndarray,
    ) -> None:
        start = self.span.start_d
        A = len(gi)
        opened = (open_d >= start) & (kind != K_NONE)
        first_val = Vcent[np.arange(A), np.clip(fm, 0, Vcent.shape[1] - 1)]
        # openings
        r = np.flatnonzero(opened & (cat == C_DEMAND) & (first_val > 0))
        cash = rng.random(len(r)) < 0.5
        ev.add(
            gi[r], open_d[r], first_val[r], T_DEP, CREDIT, CH_COUNTER, cash=cash.astype(np.int64)
        )
        r = np.flatnonzero(opened & (cat == C_TIME) & (first_val > 0))
        ch = self._initiated(rng, cust_of[r], open_d[r])
        ev.add(
            gi[r],
            open_d[r],
            first_val[r],
            T_DEP,
            CREDIT,
            ch,
            cash=np.where(ch == CH_COUNTER, 0, -1),
        )
        inv = np.isin(cat, [C_WEALTH, C_FUND, C_GOLD, C_BOND, C_INS])
        r = np.flatnonzero(opened & inv & (first_val > 0))
        ev.add(
            gi[r],
            open_d[r],
            first_val[r],
            T_BUY,
            CREDIT,
            self._initiated(rng, cust_of[r], open_d[r]),
            prod=prod[r],
        )
        r = np.flatnonzero(opened & (cat == C_LOAN))
        ev.add(gi[r], open_d[r], _cents(amount[r]), T_DRAW, DEBIT, CH_COUNTER)

        # closings inside the window
        closing = closed & (close_d >= start) & (kind != K_NONE) & (cat != C_LOAN) & (pre_close > 0)
        r = np.flatnonzero(closing & (cat == C_DEMAND))
        cash = (rng.random(len(r)) < 0.4) & (pre_close[r] < 5_000_000)
        ch = np.where(cash, CH_COUNTER, self._initiated(rng, cust_of[r], close_d[r]))
        ev.add(
            gi[r],
            close_d[r],
            pre_close[r],
            np.where(cash, T_WDR, T_TRF),
            DEBIT,
            ch,
            cash=np.where(cash, 1, -1),
        )
        mat = self.a.mat_d[gi]
        r = np.flatnonzero(closing & (cat == C_TIME))
        matured = close_d[r] == mat[r]
        interest = np.where(matured, np.round(pre_close[r] * rate[r] * term[r] / 365), 0).astype(
            np.int64
        )
        m_r = r[matured & (interest > 0)]
        ev.add(gi[m_r], close_d[m_r], interest[matured & (interest > 0)], T_INT, CREDIT, CH_COUNTER)
        ch = self._initiated(rng, cust_of[r], close_d[r])
        ev.add(
            gi[r],
            close_d[r],
            pre_close[r] + interest,
            T_WDR,
            DEBIT,
            ch,
            cash=np.where(ch == CH_COUNTER, 0, -1),
        )
        r = np.flatnonzero(closing & inv)
        pc_ = pre_close[r]
        held = np.maximum(close_d[r] - open_d[r], 1)
        c = cat[r]
        risk = PROD_RISK[prod[r]]
        g = np.select(
            [
                (c == C_BOND) & (close_d[r] == mat[r]),
                c == C_BOND,
                c == C_INS,
                (c == C_WEALTH) & (mat[r] == close_d[r]),
            ],
            [
                pc_ * rate[r] * held / 365,
                pc_ * rate[r] * held / 365 * 0.5,
                pc_ * rng.uniform(-0.12, 0.02, len(r)),
                pc_ * rate[r] * held / 365 * rng.uniform(0.8, 1.1, len(r)),
            ],
            pc_ * _gain_rate(rng, risk, np.zeros(len(r))),
        )
        gain = np.round(g).astype(np.int64)
        amt = np.where(np.isin(c, [C_BOND]), pc_ + np.maximum(gain, 0), pc_)
        ev.add(
            gi[r],
            close_d[r],
            amt,
            T_SELL,
            DEBIT,
            self._initiated(rng, cust_of[r], close_d[r]),
            prod=prod[r],
            gain=gain,
        )

    def _rollover_interest(
        self,
        ev: _Events,
        gi: np.ndarray,
        roll: np.ndarray,
        open_d: np.ndarray,
        term: np.ndarray,
        ref: np.ndarray,
        amount: np.ndarray,
        rc: np.ndarray,
    ) -> None:
        """Each rollover of a time deposit inside the window credits the term's interest."""
        start = self.span.start_d
        r = np.flatnonzero(roll)
        j_lo = np.maximum(1, -((open_d[r] - start) // term[r]))  # ceil((start-open)/term)
        j_hi = (ref[r] - open_d[r]) // term[r]
        cnt = np.maximum(j_hi - j_lo + 1, 0)
        rr = np.repeat(r, cnt)
        j = np.repeat(j_lo, cnt) + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
        jr = np.repeat(j_hi, cnt)
        after = amount[rr] / np.power(1 + rc[rr], jr - j)
        before = after / (1 + rc[rr])
        cents = np.round(after * 100).astype(np.int64) - np.round(before * 100).astype(np.int64)
        ok = cents > 0
        ev.add(gi[rr[ok]], (open_d[rr] + j * term[rr])[ok], cents[ok], T_INT, CREDIT, CH_COUNTER)

    def _loan_repayments(
        self,
        ev: _Events,
        gi: np.ndarray,
        kind: np.ndarray,
        open_d: np.ndarray,
        close_d: np.ndarray,
        term: np.ndarray,
        amount: np.ndarray,
        rate: np.ndarray,
    ) -> None:
        span = self.span
        M = span.months
        r = np.flatnonzero(kind == K_LOAN)
        if len(r) == 0:
            return
        from .base import ymd

        _, _, dom = ymd(open_d[r])
        day = span.month_starts[:M][None, :] + np.minimum(dom, 28)[:, None] - 1
        end = np.where(close_d[r] != NA_DAY, close_d[r], span.asof_d)
        ok = (day > open_d[r][:, None]) & (day <= end[:, None]) & (day <= span.asof_d)
        ri, mi = np.nonzero(ok)
        acc = r[ri]
        d = day[ri, mi]
        outstanding = amount[acc] * np.clip(1 - (d - open_d[acc]) / term[acc], 0, 1)
        pay = amount[acc] * 30.4 / term[acc] + outstanding * rate[acc] / 12
        ev.add(gi[acc], d, _cents(pay), T_REPAY, CREDIT, CH_COUNTER)

    def _declines(
        self,
        rng: np.random.Generator,
        ev: _Events,
        gi: np.ndarray,
        cust_of: np.ndarray,
        cat: np.ndarray,
        prod: np.ndarray,
        valid: np.ndarray,
        Vcent: np.ndarray,
        RD: np.ndarray,
        d0: np.ndarray,
        k: np.ndarray,
        partial: np.ndarray,
    ) -> None:
        """Money leaving during a decline: transfers out of demand, redemptions of investments."""
        M = Vcent.shape[1]
        walk = np.isin(cat, [C_DEMAND, C_WEALTH, C_FUND, C_GOLD]) & partial
        for step in range(3):
            m = d0 + step
            r = np.flatnonzero(walk & (step < k) & (m >= 1) & (m < M))
            if len(r) == 0:
                continue
            mr = m[r]
            ok = valid[r, mr] & valid[r, mr - 1]
            r, mr = r[ok], mr[ok]
            drop = Vcent[r, mr - 1] - Vcent[r, mr]
            ok = drop >= 100
            r, mr, drop = r[ok], mr[ok], drop[ok]
            day = RD[r, mr]
            is_dem = cat[r] == C_DEMAND
            ch = self._initiated(rng, cust_of[r], day)
            risk = PROD_RISK[prod[r]]
            gain = np.round(drop * _gain_rate(rng, risk, np.zeros(len(r)))).astype(np.int64)
            ev.add(
                gi[r],
                day,
                drop,
                np.where(is_dem, T_TRF, T_SELL),
                DEBIT,
                ch,
                prod=np.where(is_dem, -1, prod[r]),
                gain=np.where(is_dem, NO_GAIN, gain),
            )

    def _salaries(self, rng: np.random.Generator, ev: _Events, c0: int, c1: int) -> None:
        pr, span, a = self.pr, self.span, self.a
        M = span.months
        r = np.flatnonzero((pr.cust >= c0) & (pr.cust < c1))
        if len(r) == 0:
            return
        ml = span.month_len
        day = span.month_starts[:M][None, :] + np.minimum(pr.payday[r][:, None], ml[None, :]) - 1
        full_month = span.month_starts[1 : M + 1] - span.month_starts[:M] >= pr.payday[r][:, None]
        end = np.where(pr.end_d[r] != NA_DAY, pr.end_d[r], span.asof_d)
        dem = a.demand_of[pr.cust[r]]
        dclose = np.where(a.close_d[dem] != NA_DAY, a.close_d[dem], span.asof_d + 1)
        ok = (day >= pr.start_d[r][:, None]) & (day <= end[:, None]) & full_month
        ok &= (day >= a.open_d[dem][:, None]) & (day < dclose[:, None])
        ri, mi = np.nonzero(ok)
        rel = r[ri]
        d = day[ri, mi]
        from .base import ymd

        _, month, _ = ymd(d)
        base = pr.monthly_cents[rel] * (1 + 0.03 * rng.standard_normal(len(rel)))
        # year-end bonus with the February salary for most employees
        bonus = (pr.rtype[rel] == 0) & (month == 2) & (rng.random(len(rel)) < 0.7)
        base = base * np.where(bonus, 1 + rng.uniform(0.5, 3.0, len(rel)), 1.0)
        cents = np.maximum(np.round(base), 100).astype(np.int64)
        pension = pr.rtype[rel] == 1
        ev.add(
            a.demand_of[pr.cust[rel]], d, cents, np.where(pension, T_TRF, T_SAL), CREDIT, CH_COUNTER
        )

    def _demand_interest_and_fees(
        self,
        rng: np.random.Generator,
        ev: _Events,
        c0: int,
        c1: int,
        V: np.ndarray,
        valid: np.ndarray,
        cat: np.ndarray,
        lc: np.ndarray,
        gi: np.ndarray,
    ) -> None:
        """Quarterly demand interest (credited on the 21st of Mar/Jun/Sep/Dec) and a monthly SMS
        notification fee for customers who subscribed to it."""
        span, a, cust = self.span, self.a, self.cust
        M = span.months
        from .base import ymd

        _, mon, _ = ymd(span.month_starts[:M])
        r = np.flatnonzero(cat == C_DEMAND)
        day21 = span.month_starts[:M] + 20
        qmonths = np.flatnonzero((mon % 3 == 0) & (day21 <= span.asof_d))
        rate = np.where(cust.corp[lc[r] + c0], 0.0025, 0.002)
        for m in qmonths:
            rr = r[valid[r, m]]
            g = gi[rr]
            alive = (a.open_d[g] < day21[m]) & (
                (a.close_d[g] == NA_DAY) | (a.close_d[g] > day21[m])
            )
            rr, g = rr[alive], g[alive]
            cents = np.round(V[rr, m] * 100 * rate[np.searchsorted(r, rr)] / 4).astype(np.int64)
            ok = cents > 0
            ev.add(g[ok], np.full(ok.sum(), day21[m]), cents[ok], T_INT, CREDIT, CH_COUNTER)
        # SMS fee: ¥2 a month
        n = c1 - c0
        sms = (rng.random(n) < 0.2) & ~cust.dormant[c0:c1]
        ci = np.flatnonzero(sms) + c0
        dem = a.demand_of[ci]
        day25 = span.month_starts[:M] + 24
        dclose = np.where(a.close_d[dem] != NA_DAY, a.close_d[dem], span.asof_d + 1)
        ok = (day25[None, :] > a.open_d[dem][:, None]) & (day25[None, :] < dclose[:, None])
        ok &= day25[None, :] <= span.asof_d
        ri, mi = np.nonzero(ok)
        ev.add(dem[ri], day25[mi], np.full(len(ri), 200), T_FEE, DEBIT, CH_COUNTER)

    def _everyday(self, rng: np.random.Generator, ev: _Events, c0: int, c1: int) -> None:
        """Payments, cash, transfers and top-ups on the demand account: a heavy-tailed number per
        customer, each through a channel the customer can use on that day."""
        span, a, cust = self.span, self.a, self.cust
        n = c1 - c0
        ci = np.arange(c0, c1)
        corp = cust.corp[ci]
        band = cust.band[ci]
        dem = a.demand_of[ci]
        lo = np.maximum(a.open_d[dem], span.start_d)
        hi = np.where(a.close_d[dem] != NA_DAY, a.close_d[dem] - 1, span.asof_d)
        hi = np.where(
            cust.dormant[ci], np.minimum(hi, span.asof_d - 400 - rng.integers(0, 300, n)), hi
        )
        days = np.maximum(hi - lo + 1, 0)
        age_f = np.select([band == MINOR, band == YOUNG, band == OLD], [0.3, 1.2, 0.7], 1.0)
        lam = np.where(corp, _lognormal(rng, 8.0, 0.6, n), _lognormal(rng, 1.45, 0.75, n) * age_f)
        cnt = rng.poisson(lam * days / 30.44)
        c = np.repeat(ci, cnt)
        m = len(c)
        if m == 0:
            return
        day = np.repeat(lo, cnt) + (rng.random(m) * np.repeat(days, cnt)).astype(np.int64)
        # channel choice: base weights × a per-customer taste; e-channels only where the
        # customer has the service on that day (checked per transaction for the few who do)
        base = np.array([1.0, 1.0, 2.0, 2.5, 0.4, 1.5, 0.8, 0.0, 0.0])
        corp_base = np.array([1.0, 0, 0, 0, 0, 0, 0, 4.0, 6.0])
        taste = rng.gamma(2.0, 0.5, (n, 9))
        w = np.where(corp[:, None], corp_base[None, :], base[None, :]) * taste
        e_cols = CH_AVAIL >= 0
        has_e = np.asarray((self.eb.avail_from[ci] < FAR).any(axis=1))
        w_static = np.where(e_cols[None, :], 0.0, w)
        chan = _sample_rows(w_static, c - c0, rng.random(m))
        t = np.flatnonzero(has_e[c - c0])
        if len(t):
            W = w[c[t] - c0]
            for ch in np.flatnonzero(e_cols):
                W[:, ch] *= self._channel_ok(c[t], day[t], CH_AVAIL[ch])
            chan[t] = _sample_rows(W, np.arange(len(t)), rng.random(len(t)))
        row = np.where(cust.corp[c] & (chan == CH_COUNTER), 9, chan)
        u_t = rng.random(m)
        ttype = np.zeros(m, dtype=np.int64)
        for k in range(10):
            sel = row == k
            if sel.any():
                ttype[sel] = np.minimum(np.searchsorted(_TTCUM[k], u_t[sel], side="right"), 13)
        direction = np.select(
            [np.isin(ttype, [T_DEP, T_SAL, T_INT]), ttype == T_TRF],
            [CREDIT, np.where(rng.random(m) < 0.45, CREDIT, DEBIT)],
            DEBIT,
        )
        B = cust.level[c]
        wf = np.clip((B / 30_000) ** 0.35, 0.3, 5.0)
        wf = np.where(cust.corp[c], 4.0 * np.clip((B / 200_000) ** 0.3, 0.5, 4.0), wf)
        amt = _lognormal(rng, _AMT_MED[ttype], _AMT_SD[ttype], m) * wf
        is_cash = np.isin(ttype, [T_DEP, T_WDR]) & np.isin(chan, [CH_COUNTER, CH_ATM])
        cash_p = np.where(cust.corp[c], 0.3, 0.7)
        cash = np.where(is_cash, np.where(chan == CH_ATM, True, rng.random(m) < cash_p), False)
        amt = np.where(cash, np.maximum(np.round(amt / 100) * 100, 100), amt)
        amt = np.where(chan == CH_ATM, np.minimum(amt, 20_000), amt)  # ATM per-use limit
        amt = np.where(ttype == T_TOPUP, np.array([30, 50, 100, 200])[rng.integers(0, 4, m)], amt)
        # warning signs: a decliner's everyday use thins out to 30 % from the warning months on
        # (its own stream: the draws above, and every other customer's rows, stay as they were)
        keep = np.ones(m, dtype=bool)
        warned = np.flatnonzero(cust.warn_w[c] > 0)
        if len(warned):
            ramp = warning_ramp(c[warned], span.month_of(day[warned]), cust)
            u_keep = stream(self.seed, "decline-warning-activity", c0).random(len(warned))
            keep[warned] = u_keep < 1.0 - 0.7 * ramp
        ev.add(
            a.demand_of[c][keep],
            day[keep],
            np.maximum(_cents(amt), 1)[keep],
            ttype[keep],
            direction[keep],
            chan[keep],
            cash=np.where(is_cash, cash.astype(np.int64), -1)[keep],
        )

    def _trading(
        self,
        rng: np.random.Generator,
        ev: _Events,
        gi: np.ndarray,
        cust_of: np.ndarray,
        cat: np.ndarray,
        prod: np.ndarray,
        open_d: np.ndarray,
        close_d: np.ndarray,
        amount: np.ndarray,
    ) -> None:
        """Purchases and redemptions on fund / wealth / gold accounts; most customers rarely
        trade, a few trade every month (and do worse for it)."""
        span = self.span
        r = np.flatnonzero(np.isin(cat, [C_FUND, C_WEALTH, C_GOLD]) & ~PROD_CLOSED_END[prod])
        lo = np.maximum(open_d[r], span.start_d) + 1
        hi = np.where(close_d[r] != NA_DAY, close_d[r] - 1, span.asof_d)
        days = np.maximum(hi - lo + 1, 0)
        u = rng.random(len(r))
        active = u >= 0.94
        tau = np.where(
            u < 0.70, 0.03, np.where(active, np.where(cat[r] == C_WEALTH, 0.4, 1.8), 0.2)
        )
        cnt = rng.poisson(tau * days / 30.44)
        rr = np.repeat(r, cnt)
        m = len(rr)
        if m == 0:
            return
        day = np.repeat(lo, cnt) + (rng.random(m) * np.repeat(days, cnt)).astype(np.int64)
        amt = _lognormal(rng, 0.15 * np.maximum(amount[rr], 1000), 0.7, m)
        wm = cat[rr] == C_WEALTH
        amt = np.where(wm, np.maximum(np.round(amt / 1000) * 1000, 1000), np.maximum(amt, 100))
        sell = rng.random(m) < 0.5
        act = np.repeat(active, cnt).astype(float)
        gain = np.round(amt * 100 * _gain_rate(rng, PROD_RISK[prod[rr]], act)).astype(np.int64)
        ev.add(
            gi[rr],
            day,
            _cents(amt),
            np.where(sell, T_SELL, T_BUY),
            np.where(sell, DEBIT, CREDIT),
            self._initiated(rng, cust_of[rr], day),
            prod=prod[rr],
            gain=np.where(sell, gain, NO_GAIN),
        )

    def _first_use(self, rng: np.random.Generator, ev: _Events, c0: int, c1: int) -> None:
        """Activation means first use: one transaction through the service on that day."""
        eb, a, span = self.eb, self.a, self.span
        r = np.flatnonzero(
            (eb.cust >= c0) & (eb.cust < c1) & (eb.act_d != NA_DAY) & (eb.act_d >= span.start_d)
        )
        svc = eb.service[r]
        chan_of = {
            S_ONLINE: (CH_ONLINE, T_TRF),
            S_MOBILE: (CH_MOBILE, T_TOPUP),
            S_PHONE: (CH_PHONE, T_BILL),
            S_WECHAT: (CH_WECHAT, T_PAY),
            S_PRO: (CH_CORP, T_TRF),
            S_LINK: (CH_LINK, T_TRF),
        }
        for s, (ch, tt) in chan_of.items():
            rs = r[svc == s]
            dem = a.demand_of[eb.cust[rs]]
            day = eb.act_d[rs]
            ok = (day >= a.open_d[dem]) & ((a.close_d[dem] == NA_DAY) | (day < a.close_d[dem]))
            rs, dem, day = rs[ok], dem[ok], day[ok]
            amt = np.where(tt == T_TOPUP, 100.0, _lognormal(rng, 300.0, 0.8, len(rs)))
            amt = amt * np.where(self.cust.corp[eb.cust[rs]], 30.0, 1.0)
            ev.add(dem, day, _cents(amt), tt, DEBIT, ch)

    # -----------------------------------------------------------------------------------------
    def _txn_table(self, rng: np.random.Generator, ev: _Events) -> pa.Table:
        acct, day, cents, ttype, direction, chan, prod, gain, cash = ev.concat()
        keep = cents > 0
        acct, day, cents, ttype, direction, chan, prod, gain, cash = (
            x[keep] for x in (acct, day, cents, ttype, direction, chan, prod, gain, cash)
        )
        n = len(acct)
        u = rng.random(n)
        hour = np.zeros(n, dtype=np.int64)
        for ch in range(len(CHANNELS)):
            sel = chan == ch
            if sel.any():
                hour[sel] = np.searchsorted(_HCUM[ch], u[sel], side="right")
        secs = np.minimum(hour, 23) * 3600 + rng.integers(0, 3600, n)
        # one int64 key (time, then account) sorts faster than a three-key lexsort
        order = np.argsort(
            (day * 86_400 + secs) * (1 << 22) + (acct - acct.min(initial=0)), kind="stable"
        )
        acct, day, cents, ttype, direction, chan, prod, gain, cash, secs = (
            x[order] for x in (acct, day, cents, ttype, direction, chan, prod, gain, cash, secs)
        )
        ids = join("T", int_text(self.txn_seq + np.arange(n) + 1, 12))
        self.txn_seq += n
        ts = ((day * 86_400 + secs - 8 * 3600) * 1_000_000).astype(np.int64)
        cust_idx = self.a.cust[acct]
        no_prod = prod < 0
        method = self._pay_methods(rng, chan, ttype, cents)
        return pa.table(
            {
                "txn_id": ids,
                "account_no": self.a.account_no.take(pa.array(acct)),
                "customer_no": self.cust.customer_no.take(pa.array(cust_idx)),
                "txn_time": pa.array(ts, pa.timestamp("us", tz="Asia/Shanghai")),
                "amount": decimal_array(cents),
                "direction": take(("C", "D"), direction),
                "channel": take(CHANNELS, chan),
                "txn_type": take(TYPES, ttype),
                "product_code": null_where(
                    self.prod_codes.take(pa.array(np.maximum(prod, 0))), no_prod
                ),
                "gain": decimal_array(np.where(gain == NO_GAIN, 0, gain), gain == NO_GAIN),
                "cash": take(("N", "Y"), np.maximum(cash, 0), cash < 0),
                "pay_method": take(PAY_METHODS, np.maximum(method, 0), method < 0),
            },
            schema=TXN_SCHEMA,
        )

    @staticmethod
    def _pay_methods(
        rng: np.random.Generator, chan: np.ndarray, ttype: np.ndarray, cents: np.ndarray
    ) -> np.ndarray:
        """How each payment, bill payment and top-up was made (-1: not a payment). Seed 002 R6:
        third-party platforms carry most payments by count but the small ones, so their amount
        share is about 10 points below their count share; larger payments go through the bank's
        own online-banking payment. A POS payment is a card at a terminal."""
        n = len(chan)
        out = np.full(n, -1, dtype=np.int64)
        paying = np.isin(ttype, [T_PAY, T_BILL, T_TOPUP])
        e_chan = np.isin(chan, [CH_ONLINE, CH_MOBILE, CH_WECHAT, CH_CORP, CH_LINK])
        # the larger the payment, the likelier the bank's own payment (tempered by the channel)
        big = np.clip(np.log10(np.maximum(cents, 100) / 100.0) / 4.0, 0.0, 1.0)
        p_bank = np.where(np.isin(chan, [CH_CORP, CH_LINK]), 0.9, 0.08 + 0.55 * big**2)
        p_bank = np.where(chan == CH_WECHAT, p_bank * 0.3, p_bank)
        u = rng.random(n)
        e = paying & e_chan
        out[e] = np.where(
            u[e] < p_bank[e], M_EBANK, np.where(u[e] < p_bank[e] + 0.18, M_QUICK, M_THIRD)
        )
        out[paying & (chan == CH_POS)] = M_CARD
        return out


def aum_cents(a: Accounts, res: ActivityResult, n: int) -> np.ndarray:
    """Per customer: assets under management at as_of (latest balances of asset accounts)."""
    asset = ASSET_CATS[a.cat]
    return np.bincount(
        a.cust, weights=np.where(asset, res.last_cents, 0).astype(float), minlength=n
    ).astype(np.int64)


__all__ = ["ActivityResult", "Simulator", "aum_cents"]
