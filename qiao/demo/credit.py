"""The demo bank's credit book (issue 16): the ``facilities``, ``loans``, ``guarantees``,
``risk_signals`` and ``list_entries`` extracts, loaded through ingest like a real bank's.

- Every open loan account of the bank is a loan (its number, product, principal and balance);
  borrowing companies and personal-business borrowers have a facility over their loans, and most
  other companies an unused or lightly used one.
- A few loans are overdue about 30, 100 and 300 days and classified accordingly; **one** is
  classified better than its days overdue allow (100 days, 关注), and one company's loans are
  classified differently (a debtor flagged by the classification check); one loan 400 days
  overdue is a loss, written off (核销) a fortnight before the end of the data.
- The first group (集团) borrows heavily, so that it stands **near its connected-group limit**
  (about 17 % of the demo bank's tier-one capital of qiao/credit/config/limits.toml, limit 20 %);
  its parent guarantees its subsidiaries. Four companies guarantee one another in a chain and two
  in a pair (互保).
- External risk signals for some companies; three customers on the blacklist (one removed
  earlier in core banking) and three on the red list.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from qiao.core.vocab import LOAN_CLASSES, SIGNAL_KINDS

from . import pools
from .accounts import C_LOAN, Accounts
from .base import Span, stream
from .codes import NA_DAY, date_array, decimal_array, int_text, take
from .links import Groups
from .people import Customers

#: The loan type of each demo loan product (the others: OTHER).
LOAN_TYPE_OF_PRODUCT = {
    "LOAN-CONS": "CONSUMER",
    "LOAN-MORT": "MORTGAGE",
    "LOAN-BIZ": "BUSINESS",
    "LOAN-CORP-WC": "WORKING_CAPITAL",
}
#: Where each kind of signal is read (demo sources, not an endorsement) and what it says.
SIGNALS = {
    "COURT_ENFORCEMENT": ("中国执行信息公开网", "被列为被执行人"),
    "LITIGATION": ("中国裁判文书网", "买卖合同纠纷被诉"),
    "TAX": ("国家税务总局", "欠缴税款公告"),
    "ADMIN_PENALTY": ("信用中国", "环保行政处罚"),
    "NEGATIVE_NEWS": ("舆情监测", "拖欠供应商货款报道"),
    "RATING_DOWNGRADE": ("外部评级机构", "主体评级下调一档"),
    "OTHER": ("同业通报", "他行抽贷"),
}
#: How the facilities are secured (shares).
SECURITY = {"CREDIT": 0.25, "GUARANTEE": 0.3, "MORTGAGE": 0.3, "PLEDGE": 0.05, "MIXED": 0.1}
#: The demo bank's tier-one capital (limits.toml) and the share the first group is given.
TIER_ONE_YUAN = 2_000_000_000
GROUP_TARGET_SHARE = 0.17

_YUAN = 100  # cents


def _cls(code: str) -> int:
    return LOAN_CLASSES.rank(code)


def credit_tables(
    seed: int,
    span: Span,
    cust: Customers,
    groups: Groups,
    a: Accounts,
    last_cents: np.ndarray,
) -> dict[str, pa.Table]:
    rng = stream(seed, "credit")
    asof = span.asof_d
    product_codes = [p.code for p in pools.PRODUCTS]

    # ---------------------------------------------------------------- loans from loan accounts
    idx = np.flatnonzero((a.cat == C_LOAN) & (a.close_d == NA_DAY))
    l_cust = a.cust[idx].astype(np.int64)
    l_no = a.account_no.take(pa.array(idx)).to_pylist()
    l_prod = [product_codes[p] for p in a.prod[idx]]
    principal = np.maximum(np.round(a.amount[idx] * _YUAN).astype(np.int64), 100 * _YUAN)
    # Outstanding: the account's balance if it has one, else part of the principal repaid.
    repaid = rng.uniform(0.0, 0.6, len(idx))
    balance = np.where(
        last_cents[idx] > 0,
        np.minimum(last_cents[idx], principal),
        np.round(principal * (1 - repaid)).astype(np.int64),
    )
    start = np.minimum(a.open_d[idx], asof)
    maturity = np.where(a.mat_d[idx] != NA_DAY, a.mat_d[idx], start + 365)
    maturity = np.maximum(maturity, start + 30)
    l_type = [LOAN_TYPE_OF_PRODUCT.get(code, "OTHER") for code in l_prod]
    days = np.zeros(len(idx), dtype=np.int64)
    cls = np.zeros(len(idx), dtype=np.int64)
    arrears = np.zeros(len(idx), dtype=np.int64)

    # The first group borrows heavily (near its limit): loans of its own, under facilities.
    g0 = groups.member[groups.group == 0] if len(groups.code) else np.zeros(0, np.int64)
    extra_cust: list[int] = []
    extra_amt: list[int] = []
    if len(g0):
        target = int(TIER_ONE_YUAN * GROUP_TARGET_SHARE) * _YUAN
        parent_part = int(target * 0.62)
        shares = rng.dirichlet(np.ones(max(len(g0) - 1, 1))) if len(g0) > 1 else np.zeros(0)
        extra_cust.append(int(g0[0]))
        extra_amt.append(parent_part)
        for member, share in zip(g0[1:].tolist(), shares.tolist(), strict=True):
            extra_cust.append(member)
            extra_amt.append(int((target - parent_part) * share))
    n_extra = len(extra_cust)
    if n_extra:
        x_cust = np.asarray(extra_cust, dtype=np.int64)
        x_amt = (np.asarray(extra_amt, dtype=np.int64) // (10_000 * _YUAN)) * (10_000 * _YUAN)
        x_start = asof - rng.integers(30, 600, n_extra)
        l_cust = np.concatenate([l_cust, x_cust])
        l_no += [f"LNG{i + 1:05d}" for i in range(n_extra)]
        l_prod += ["LOAN-CORP-WC"] * n_extra
        principal = np.concatenate([principal, x_amt])
        balance = np.concatenate([balance, x_amt])
        start = np.concatenate([start, x_start])
        maturity = np.concatenate([maturity, x_start + 1095])
        l_type += ["WORKING_CAPITAL"] * n_extra
        days = np.concatenate([days, np.zeros(n_extra, np.int64)])
        cls = np.concatenate([cls, np.zeros(n_extra, np.int64)])
        arrears = np.concatenate([arrears, np.zeros(n_extra, np.int64)])
    n_loans = len(l_cust)
    in_g0 = np.isin(l_cust, g0)

    # Bad cases among the ordinary loans (not the near-limit group's).
    candidates = np.flatnonzero(~in_g0 & (balance > 0))
    rng.shuffle(candidates)
    n_30 = max(2, n_loans // 120)
    n_100 = max(2, n_loans // 250)
    n_300 = max(1, n_loans // 500)
    pos = 0
    plan = [(n_30, 20, 60, "SPECIAL_MENTION"), (n_100, 91, 180, "SUBSTANDARD"),
            (n_300, 271, 350, "DOUBTFUL")]  # fmt: skip
    for count, low, high, code in plan:
        chosen = candidates[pos : pos + count]
        pos += count
        days[chosen] = rng.integers(low, high, len(chosen))
        cls[chosen] = _cls(code)
        arrears[chosen] = np.round(balance[chosen] * 0.004 * days[chosen] / 30).astype(np.int64)
    # The last of the 300-day loans has passed the 损失 floor and was written off (核销).
    off = int(chosen[-1]) if len(chosen) else -1  # the last group of the plan: 300 days
    if off >= 0:
        days[off], cls[off] = 400, _cls("LOSS")
    # One misclassified: 100 days overdue, kept at 关注 (the check flags it).
    wrong = candidates[pos : pos + 1]
    pos += 1
    days[wrong] = 100
    cls[wrong] = _cls("SPECIAL_MENTION")
    arrears[wrong] = np.round(balance[wrong] * 0.013).astype(np.int64)
    # One company whose two loans are classified differently (关注 and 正常, 0 days).
    corp_loans = candidates[pos:][cust.corp[l_cust[candidates[pos:]]]]
    mixed_debtor = -1
    if len(corp_loans):
        mixed_debtor = int(l_cust[corp_loans[0]])
        cls[corp_loans[0]] = _cls("SPECIAL_MENTION")
        days[corp_loans[0]] = 0
        l_cust = np.concatenate([l_cust, [mixed_debtor]])
        l_no.append("LNM00001")
        l_prod.append("LOAN-CORP-WC")
        amt = int(max(balance[corp_loans[0]] // 2, 50_000 * _YUAN))
        principal = np.concatenate([principal, [amt]])
        balance = np.concatenate([balance, [amt]])
        start = np.concatenate([start, [asof - 200]])
        maturity = np.concatenate([maturity, [asof + 165]])
        l_type.append("WORKING_CAPITAL")
        days = np.concatenate([days, [0]])
        cls = np.concatenate([cls, [0]])
        arrears = np.concatenate([arrears, [0]])
        n_loans += 1

    # ---------------------------------------------------------------- facilities
    # Companies and personal-business borrowers: one facility over their loans.
    business = np.array([t in ("WORKING_CAPITAL", "BUSINESS") for t in l_type], dtype=bool)
    borrowers = np.unique(l_cust[business])
    corp_all = np.flatnonzero(cust.corp)
    idle = corp_all[~np.isin(corp_all, borrowers) & (rng.random(len(corp_all)) < 0.7)]
    f_cust = np.concatenate([borrowers, idle]).astype(np.int64)
    f_no = [f"FAC{i + 1:06d}" for i in range(len(f_cust))]
    fac_of = {int(c): i for i, c in enumerate(f_cust.tolist())}
    drawn = np.zeros(len(f_cust), dtype=np.int64)
    l_fac: list[str | None] = []
    for i in range(n_loans):
        f = fac_of.get(int(l_cust[i])) if business[i] else None
        l_fac.append(None if f is None else f_no[f])
        if f is not None:
            drawn[f] += balance[i]
    # Some use beyond the loans (acceptances, letters of credit); idle ones a little or none.
    # (none for the near-limit group, whose figure is set).
    beyond = np.where(
        (rng.random(len(f_cust)) < 0.25) & ~np.isin(f_cust, g0),
        np.round(drawn * rng.uniform(0.02, 0.15, len(f_cust))),
        0,
    ).astype(np.int64)
    idle_use = np.where(
        (drawn == 0) & (rng.random(len(f_cust)) < 0.3),
        rng.integers(50_000, 2_000_000, len(f_cust)) * _YUAN,
        0,
    )
    used = drawn + beyond + idle_use
    headroom = rng.uniform(1.15, 2.0, len(f_cust))
    base = np.where(used > 0, used, rng.integers(500_000, 10_000_000, len(f_cust)) * _YUAN)
    limit = (np.round(base * headroom / (10_000 * _YUAN)).astype(np.int64) + 1) * 10_000 * _YUAN
    f_start = asof - rng.integers(60, 700, len(f_cust))
    f_end = f_start + 1095
    first_loan: dict[int, int] = {}
    for i in range(n_loans):
        c = int(l_cust[i])
        first_loan[c] = min(first_loan.get(c, start[i]), start[i])
    f_start = np.array(
        [min(int(s), int(first_loan.get(int(c), s))) for s, c in zip(f_start, f_cust, strict=True)],
        dtype=np.int64,
    )
    f_end = np.maximum(f_end, asof + 30)
    gtype = rng.choice(list(SECURITY), len(f_cust), p=list(SECURITY.values()))
    collateral = np.where(
        np.isin(gtype, ["MORTGAGE", "MIXED"]),
        "厂房及土地使用权",
        np.where(gtype == "PLEDGE", "存单质押", ""),
    )
    coll_value = np.where(collateral != "", np.round(limit * rng.uniform(1.1, 1.8, len(f_cust))), 0)
    coll_value = (coll_value // _YUAN * _YUAN).astype(np.int64)
    fac_status = np.where(f_end < asof, "EXPIRED", "ACTIVE")

    facilities = pa.table(
        {
            "facility_no": pa.array(f_no, pa.string()),
            "customer_no": cust.customer_no.take(pa.array(f_cust)),
            "limit": decimal_array(limit),
            "used": decimal_array(used),
            "currency": take(("CNY",), np.zeros(len(f_cust), np.int64)),
            "start_date": date_array(f_start),
            "end_date": date_array(f_end),
            "guarantee_type": pa.array(gtype.tolist(), pa.string()),
            "collateral": pa.array([c or None for c in collateral.tolist()], pa.string()),
            "collateral_value": decimal_array(coll_value, collateral == ""),
            "status": pa.array(fac_status.tolist(), pa.string()),
        }
    )
    written_off = np.full(n_loans, NA_DAY, np.int64)
    if off >= 0:
        written_off[off] = max(asof - 15, int(start[off]))
    loans = pa.table(
        {
            "loan_no": pa.array(l_no, pa.string()),
            "customer_no": cust.customer_no.take(pa.array(l_cust)),
            "facility_no": pa.array(l_fac, pa.string()),
            "product_code": pa.array(l_prod, pa.string()),
            "loan_type": pa.array(l_type, pa.string()),
            "principal": decimal_array(np.maximum(principal, balance)),
            "balance": decimal_array(balance),
            "currency": take(("CNY",), np.zeros(n_loans, np.int64)),
            "start_date": date_array(start),
            "maturity_date": date_array(maturity),
            "classification": take(LOAN_CLASSES.codes, cls),
            "days_overdue": int_text(days),
            "interest_arrears": decimal_array(arrears),
            "as_of_date": date_array(np.full(n_loans, asof)),
            "written_off_on": date_array(written_off),
        }
    )

    # ---------------------------------------------------------------- guarantees
    g_from: list[int] = []
    g_to: list[int] = []
    g_loan: list[str | None] = []
    g_amt: list[int] = []
    loans_of: dict[int, list[int]] = {}
    for i in range(n_loans):
        loans_of.setdefault(int(l_cust[i]), []).append(i)

    def guarantee(frm: int, to: int, share: float) -> None:
        mine = loans_of.get(to)
        if not mine or frm == to:
            return
        i = max(mine, key=lambda j: balance[j])
        g_from.append(frm)
        g_to.append(to)
        g_loan.append(l_no[i])
        g_amt.append(int(balance[i] * share) // _YUAN * _YUAN)

    # Each group's parent guarantees its members' largest loans.
    for g in range(len(groups.code)):
        members = groups.member[groups.group == g].tolist()
        for m in members[1:]:
            guarantee(members[0], m, 0.8)
    # A chain of four companies and a mutual pair, among borrowing companies outside groups.
    in_groups = set(groups.member.tolist())
    free = [int(c) for c in borrowers.tolist() if cust.corp[c] and int(c) not in in_groups]
    rng.shuffle(free)
    chain, pair = free[:4], free[4:6]
    for x, y in zip(chain, chain[1:], strict=False):
        guarantee(x, y, 1.0)
    if len(pair) == 2:
        guarantee(pair[0], pair[1], 0.6)
        guarantee(pair[1], pair[0], 0.6)
    # A few personal loans guaranteed by another individual.
    personal = [i for i in range(n_loans) if not cust.corp[l_cust[i]]]
    rng.shuffle(personal)
    for i in personal[: max(1, len(personal) // 40)]:
        frm = int(rng.integers(0, cust.n_p))
        guarantee(frm, int(l_cust[i]), 1.0)
    n_g = len(g_from)
    gno = [f"GC{i + 1:06d}" for i in range(n_g)]
    loan_start = dict(zip(l_no, start.tolist(), strict=True))
    g_start = np.array([loan_start[no] if no else asof - 100 for no in g_loan], dtype=np.int64)
    guarantees = pa.table(
        {
            "guarantee_no": pa.array(gno, pa.string()),
            "guarantor_customer_no": cust.customer_no.take(pa.array(np.asarray(g_from, np.int64))),
            "borrower_customer_no": cust.customer_no.take(pa.array(np.asarray(g_to, np.int64))),
            "loan_no": pa.array(g_loan, pa.string()),
            "amount": decimal_array(np.maximum(np.asarray(g_amt, np.int64), _YUAN)),
            "guarantee_type": pa.array(["GUARANTEE"] * n_g, pa.string()),
            "start_date": date_array(g_start),
        }
    )

    # ---------------------------------------------------------------- risk signals
    bad_debtors = np.unique(l_cust[days >= 91])
    some_corp = corp_all[rng.random(len(corp_all)) < 0.04]
    s_cust = np.concatenate([bad_debtors, some_corp, [chain[-1]] if chain else []]).astype(np.int64)
    kinds = list(SIGNAL_KINDS.codes)
    s_kind = [
        "COURT_ENFORCEMENT"
        if c in set(bad_debtors.tolist())
        else kinds[int(rng.integers(0, len(kinds)))]
        for c in s_cust.tolist()
    ]
    s_day = asof - rng.integers(1, 180, len(s_cust))
    signals = pa.table(
        {
            "customer_no": cust.customer_no.take(pa.array(s_cust)),
            "kind": pa.array(s_kind, pa.string()),
            "source": pa.array([SIGNALS[k][0] for k in s_kind], pa.string()),
            "signal_date": date_array(s_day),
            "detail": pa.array([SIGNALS[k][1] for k in s_kind], pa.string()),
        }
    )
    # the same customer, kind, day and source once
    keys: dict[tuple[int, str, int], int] = {}
    for i, (c, k, d) in enumerate(zip(s_cust.tolist(), s_kind, s_day.tolist(), strict=True)):
        keys.setdefault((c, k, d), i)
    signals = signals.take(pa.array(sorted(keys.values()), pa.int64()))

    # ---------------------------------------------------------------- black and red lists
    worst = l_cust[np.argmax(days)] if n_loans else 0
    individuals = np.arange(cust.n_p)
    fraud = int(individuals[int(rng.integers(0, max(cust.n_p, 1)))]) if cust.n_p else int(worst)
    enforced = [c for c in some_corp.tolist() if c != worst and c not in in_groups][:1]
    black = [int(worst), fraud, *enforced]
    reasons = ["逾期超过270天，恶意逃废债务", "提供虚假材料骗取贷款", "被法院列为失信被执行人"]
    good = [
        c for c in corp_all.tolist() if c not in set(black) and c not in set(bad_debtors.tolist())
    ]
    red = good[-3:]
    removed = [c for c in individuals[::-1].tolist() if c not in set(black)][:1]
    rows_c = black + removed + red
    rows_k = ["BLACK"] * (len(black) + len(removed)) + ["RED"] * len(red)
    rows_r = (
        reasons[: len(black)]
        + ["已结清欠款，移出黑名单"]
        + ["纳税信用A级，重点支持客户"] * len(red)
    )
    listed = asof - rng.integers(30, 900, len(rows_c))
    removed_on = np.full(len(rows_c), NA_DAY, dtype=np.int64)
    removed_on[len(black)] = asof - 20
    listed[len(black)] = asof - 400
    seen: dict[tuple[int, str], int] = {}
    for i, (c, k) in enumerate(zip(rows_c, rows_k, strict=True)):
        seen.setdefault((c, k), i)
    order = pa.array(sorted(seen.values()))
    lists = pa.table(
        {
            "customer_no": cust.customer_no.take(pa.array(np.asarray(rows_c, np.int64))),
            "list_kind": pa.array(rows_k, pa.string()),
            "reason": pa.array(rows_r, pa.string()),
            "listed_on": date_array(listed),
            "removed_on": date_array(removed_on),
        }
    ).take(order)
    return {
        "facilities": facilities,
        "loans": loans,
        "guarantees": guarantees,
        "risk_signals": signals,
        "list_entries": lists,
    }
