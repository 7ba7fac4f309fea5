"""Payroll relations, e-banking services, customer managers (ownership), groups and relationships,
and the free-text profile columns of the customer file."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from qiao.core import vocab

from . import pools
from .accounts import C_LOAN, CLOSED, Accounts
from .base import Span, day_of, stream
from .codes import NA_DAY, date_array, decimal_array, int_text, join, null_where, take
from .people import MIDDLE, SIZE_NAMES, Customers, Staff

FAR = np.iinfo(np.int64).max // 4  # "never" for availability windows


def top_k(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """Weighted sample of k indices without replacement (Efraimidis–Spirakis keys), sorted."""
    k = int(min(max(k, 0), (weights > 0).sum()))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    keys = np.where(
        weights > 0, np.log(rng.random(len(weights))) / np.maximum(weights, 1e-300), -np.inf
    )
    return np.sort(np.argpartition(-keys, k - 1)[:k])


def closure_day(a: Accounts, cust: Customers) -> np.ndarray:
    """Per customer: the day their demand account closed (customers who left), else FAR."""
    d = a.close_d[a.demand_of]
    return np.where(d == NA_DAY, FAR, d)


# ---------------------------------------------------------------------------------------------
# Payroll (代发代扣)

REL_TYPES = vocab.PAYROLL_TYPES.codes


@dataclass
class Payroll:
    cust: np.ndarray
    rtype: np.ndarray
    payer: list[str]
    start_d: np.ndarray
    end_d: np.ndarray
    monthly_cents: np.ndarray
    payday: np.ndarray


def build_payroll(
    seed: int, span: Span, cust: Customers, a: Accounts, corp_names: pa.Array
) -> Payroll:
    rng = stream(seed, "payroll")
    asof = span.asof_d
    n_p = cust.n_p
    # seed 002: payroll/withholding relations on 42.74 % of demand accounts (ours: individuals)
    w = np.array([0.0, 0.48, 0.50, 0.42, 0.0])[cust.band]
    w = np.where(cust.dormant | (cust.age < 18), 0.0, w)
    chosen = top_k(rng, w, round(0.43 * n_p))
    occ = np.array(pools.OCCUPATIONS_WORKING)[np.maximum(cust.occupation[chosen], 0)]
    fiscal = np.isin(occ, list(pools.FISCAL_OCCUPATIONS))
    rtype = np.where(cust.age[chosen] > 60, 1, np.where(fiscal, 2, 0))
    demand_open = a.open_d[a.demand_of[chosen]]
    close = closure_day(a, cust)[chosen]
    hi = np.minimum(asof - 35, close - 30)
    lo = np.maximum(demand_open, day_of_2005())
    ok = lo <= hi
    chosen, rtype, lo, hi, close = chosen[ok], rtype[ok], lo[ok], hi[ok], close[ok]
    start = lo + (rng.random(len(chosen)) * (hi - lo + 1)).astype(np.int64)

    # employers: a corporate customer of the bank for many, otherwise a local employer
    n_c = cust.n - n_p
    payer_names: list[str] = []
    corp_list = corp_names.to_pylist()
    size_w = np.array([1.0, 3.0, 10.0, 30.0])[cust.size[n_p:]] if n_c else np.zeros(0)
    employer = (
        rng.choice(n_c, size=len(chosen), p=size_w / size_w.sum())
        if n_c
        else np.zeros(len(chosen), dtype=np.int64)
    )
    use_corp = (rtype == 0) & (rng.random(len(chosen)) < 0.55) & (n_c > 0)
    if n_c:
        use_corp &= cust.open_d[n_p + employer] <= start
    ext = rng.integers(0, len(pools.EMPLOYERS_EXTERNAL), len(chosen))
    fis = rng.integers(0, len(pools.FISCAL_PAYERS), len(chosen))
    ss = rng.integers(0, len(pools.SOCIAL_SECURITY_PAYERS), len(chosen))
    payday = np.empty(len(chosen), dtype=np.int64)
    for i in range(len(chosen)):
        if rtype[i] == 1:
            payer_names.append(pools.SOCIAL_SECURITY_PAYERS[ss[i]])
            payday[i] = 10
        elif rtype[i] == 2:
            payer_names.append(pools.FISCAL_PAYERS[fis[i]])
            payday[i] = 8
        elif use_corp[i]:
            payer_names.append(corp_list[employer[i]])
            payday[i] = 5 + (int(employer[i]) * 7) % 21
        else:
            payer_names.append(pools.EMPLOYERS_EXTERNAL[ext[i]])
            payday[i] = 5 + (int(ext[i]) * 5) % 21
    # monthly pay: salaries by band (fiscal a bit higher), pensions lower
    band = cust.band[chosen]
    med = np.where(rtype == 1, 2800.0, np.where(band == MIDDLE, 5600.0, 4800.0))
    med = np.where(rtype == 2, med * 1.25, med)
    monthly = np.exp(
        np.log(med) + np.where(rtype == 1, 0.3, 0.45) * rng.standard_normal(len(chosen))
    )
    monthly_cents = np.round(monthly * 100).astype(np.int64)
    end = np.where(close < FAR, close, NA_DAY)

    # some changed employer during the history: the old relation ended the day before
    moved = (rtype == 0) & (rng.random(len(chosen)) < 0.06)
    new_lo = np.maximum(span.start_d, lo + 90)
    moved &= new_lo <= hi
    new_start = np.where(
        moved,
        new_lo + (rng.random(len(chosen)) * np.maximum(hi - new_lo + 1, 1)).astype(np.int64),
        start,
    )
    prev_start = lo + (rng.random(len(chosen)) * np.maximum(new_start - 60 - lo, 1)).astype(
        np.int64
    )
    prev_idx = np.flatnonzero(moved)
    prev_payer = [
        pools.EMPLOYERS_EXTERNAL[(ext[i] + 3) % len(pools.EMPLOYERS_EXTERNAL)] for i in prev_idx
    ]
    prev_payer = [
        p if p != payer_names[i] else pools.EMPLOYERS_EXTERNAL[0] + "后勤服务公司"
        for p, i in zip(prev_payer, prev_idx)
    ]
    start = new_start

    cust_all = np.concatenate([chosen, chosen[prev_idx]])
    order = np.lexsort((np.concatenate([start, prev_start[prev_idx]]), cust_all))
    all_payers = payer_names + prev_payer
    return Payroll(
        cust=cust_all[order],
        rtype=np.concatenate([rtype, rtype[prev_idx]])[order],
        payer=[all_payers[i] for i in order],
        start_d=np.concatenate([start, prev_start[prev_idx]])[order],
        end_d=np.concatenate([end, new_start[prev_idx] - 1])[order],
        monthly_cents=np.concatenate(
            [monthly_cents, np.round(monthly_cents[prev_idx] * 0.9).astype(np.int64)]
        )[order],
        payday=np.concatenate([payday, (payday[prev_idx] + 5) % 21 + 5])[order],
    )


def day_of_2005() -> int:
    from datetime import date

    return day_of(date(2005, 1, 1))


def payroll_table(pr: Payroll, cust: Customers, a: Accounts) -> pa.Table:
    return pa.table(
        {
            "customer_no": cust.customer_no.take(pa.array(pr.cust)),
            "account_no": a.account_no.take(pa.array(a.demand_of[pr.cust])),
            "relation_type": take(REL_TYPES, pr.rtype),
            "payer": pa.array(pr.payer, pa.string()),
            "start_date": date_array(pr.start_d),
            "end_date": date_array(pr.end_d),
        }
    )


# ---------------------------------------------------------------------------------------------
# E-banking

SERVICES = vocab.EBANKING_SERVICES.codes
S_ONLINE = SERVICES.index("ONLINE")
S_MOBILE = SERVICES.index("MOBILE")
S_PHONE = SERVICES.index("PHONE")
S_WECHAT = SERVICES.index("WECHAT")
S_QUERY = SERVICES.index("CORP_ONLINE_QUERY")
S_PRO = SERVICES.index("CORP_ONLINE_PRO")
S_LINK = SERVICES.index("BANK_LINK")
LAUNCH = {
    S_ONLINE: (2005, 1, 1),
    S_MOBILE: (2012, 3, 1),
    S_PHONE: (2003, 1, 1),
    S_WECHAT: (2014, 6, 1),
    S_QUERY: (2006, 1, 1),
    S_PRO: (2006, 1, 1),
    S_LINK: (2010, 1, 1),
}
# Service sets of activated individuals. Marginals follow seed 002: online 69 %, mobile 34 %,
# several services 30 % (bits: 1 online, 2 mobile, 4 phone, 8 WeChat).
COMBOS = (
    (1, 0.43),
    (2, 0.12),
    (4, 0.075),
    (8, 0.065),
    (3, 0.125),
    (5, 0.05),
    (9, 0.04),
    (10, 0.05),
    (11, 0.045),
)


@dataclass
class EBanking:
    cust: np.ndarray
    service: np.ndarray
    opened_d: np.ndarray
    act_d: np.ndarray
    closed_d: np.ndarray
    recommender: np.ndarray  # staff index, -1 self
    #: per customer and transacting channel (ONLINE MOBILE PHONE WECHAT CORP_ONLINE BANK_LINK):
    #: first day it can be used and the day it stops (FAR when never / still open)
    avail_from: np.ndarray
    avail_to: np.ndarray


def build_ebanking(
    seed: int, span: Span, cust: Customers, a: Accounts, pr: Payroll, staff: Staff
) -> EBanking:
    rng = stream(seed, "ebanking")
    asof = span.asof_d
    n, n_p = cust.n, cust.n_p
    n_c = n - n_p
    close = closure_day(a, cust)
    alive_hi = np.minimum(asof, close - 1)
    rows_c: list[np.ndarray] = []
    rows_s: list[np.ndarray] = []
    rows_act: list[np.ndarray] = []

    # corporates: corporate online banking for ~8 % (more professional than query editions),
    # a bank-enterprise link for a handful of the largest
    corp_idx = np.arange(n_p, n)
    cw = np.array([1.0, 1.6, 3.0, 5.0])[cust.size[corp_idx]] if n_c else np.zeros(0)
    cw = np.where(cust.dormant[corp_idx], 0, cw)
    online = corp_idx[top_k(rng, cw, round(0.08 * n_c))]
    pro = rng.random(len(online)) < 0.72
    rows_c += [online]
    rows_s += [np.where(pro, S_PRO, S_QUERY)]
    rows_act += [np.ones(len(online), dtype=bool)]
    n_link = max(1, round(0.004 * n_c)) if n_c else 0
    link = corp_idx[np.argsort(-cust.level[corp_idx], kind="stable")[:n_link]]
    rows_c += [link]
    rows_s += [np.full(len(link), S_LINK)]
    rows_act += [np.ones(len(link), dtype=bool)]
    corp_active = np.unique(np.concatenate([online, link]))
    signed = corp_idx[(rng.random(n_c) < 0.02) & ~np.isin(corp_idx, online)]
    rows_c += [signed]
    rows_s += [np.full(len(signed), S_QUERY)]
    rows_act += [np.zeros(len(signed), dtype=bool)]

    # individuals: 8.9 % of all customers activated in total (seed 002); payroll customers at
    # the rate that gives ~6 % of them online banking
    k_total = round(0.089 * n)
    k_ind = max(0, k_total - len(corp_active))
    payroll_cust = np.unique(pr.cust[pr.end_d == NA_DAY])
    eligible = (~cust.corp) & (~cust.dormant) & (cust.age >= 16)
    pw = np.zeros(n)
    pw[payroll_cust] = 1.0
    pw = np.where(eligible, pw, 0)
    k_pay = min(round(0.087 * len(payroll_cust)), k_ind)
    pay_pick = top_k(rng, pw, k_pay)
    age = cust.age
    ow = np.select([age < 25, age < 40, age <= 60], [4.0, 2.5, 0.8], 0.25)
    ow = np.where(eligible & (pw == 0), ow, 0.0)
    other_pick = top_k(rng, ow, k_ind - len(pay_pick))
    act_ind = np.concatenate([pay_pick, other_pick])
    combo = np.array([c for c, _ in COMBOS])[
        rng.choice(len(COMBOS), size=len(act_ind), p=[p for _, p in COMBOS])
    ]
    for bit, svc in ((1, S_ONLINE), (2, S_MOBILE), (4, S_PHONE), (8, S_WECHAT)):
        has = (combo & bit) > 0
        rows_c.append(act_ind[has])
        rows_s.append(np.full(has.sum(), svc))
        rows_act.append(np.ones(has.sum(), dtype=bool))
    # signed up but never used: an extra service for some users, a first service for others
    extra = act_ind[rng.random(len(act_ind)) < 0.10]
    extra_s = rng.choice([S_PHONE, S_WECHAT, S_MOBILE], size=len(extra))
    held = set(zip(np.concatenate(rows_c).tolist(), np.concatenate(rows_s).tolist()))
    keep = np.array(
        [(c, s) not in held for c, s in zip(extra.tolist(), extra_s.tolist())], dtype=bool
    )
    rows_c.append(extra[keep])
    rows_s.append(extra_s[keep])
    rows_act.append(np.zeros(keep.sum(), dtype=bool))
    not_act = np.ones(n, dtype=bool)
    not_act[act_ind] = False
    signed = np.flatnonzero(eligible & not_act & (rng.random(n) < 0.035))
    rows_c.append(signed)
    rows_s.append(rng.choice([S_ONLINE, S_MOBILE, S_PHONE], size=len(signed), p=[0.5, 0.35, 0.15]))
    rows_act.append(np.zeros(len(signed), dtype=bool))

    ec = np.concatenate(rows_c).astype(np.int64)
    es = np.concatenate(rows_s).astype(np.int64)
    ea = np.concatenate(rows_act)
    launch = np.array([day_of(_d(*LAUNCH[s])) for s in range(len(SERVICES))])[es]
    lo = np.maximum(cust.open_d[ec], launch)
    hi = alive_hi[ec]
    delay = np.where(ea, np.minimum(rng.geometric(0.12, len(ec)) - 1, 60), 0)
    delay = np.where(lo > hi - delay, 0, delay)
    ok = lo <= hi - delay
    ec, es, ea, lo, hi, delay = ec[ok], es[ok], ea[ok], lo[ok], hi[ok], delay[ok]
    # recent sign-ups are more common than old ones (the channel is growing)
    opened = hi - delay - ((hi - delay - lo) * rng.random(len(ec)) ** 1.6).astype(np.int64)
    act = np.where(ea, opened + delay, NA_DAY)
    closed = np.where(close[ec] < FAR, close[ec], NA_DAY)

    # 75 % opened by the customer (seed 002 R4), the rest on a CM's recommendation
    rec = np.full(len(ec), -1, dtype=np.int64)
    recommended = rng.random(len(ec)) < 0.28
    for k in range(len(pools.OUTLETS)):
        cms = staff.cms_of_outlet(k)
        cms = cms[cms != staff.departed]
        sel = recommended & (cust.outlet[ec] == k)
        pick = cms[rng.integers(0, len(cms), sel.sum())]
        fine = staff.hire_d[pick] <= opened[sel]
        rec[np.flatnonzero(sel)[fine]] = pick[fine]

    order = np.lexsort((es, ec))
    ec, es, opened, act, closed, rec = (x[order] for x in (ec, es, opened, act, closed, rec))
    avail_from = np.full((n, 6), FAR, dtype=np.int64)
    avail_to = np.full((n, 6), FAR, dtype=np.int64)
    chan_of_service = np.array([0, 1, 2, 3, -1, 4, 5])
    ch = chan_of_service[es]
    used = (act != NA_DAY) & (ch >= 0)
    avail_from[ec[used], ch[used]] = act[used]
    avail_to[ec[used], ch[used]] = np.where(closed[used] == NA_DAY, FAR, closed[used])
    return EBanking(
        cust=ec,
        service=es,
        opened_d=opened,
        act_d=act,
        closed_d=closed,
        recommender=rec,
        avail_from=avail_from,
        avail_to=avail_to,
    )


def _d(y: int, m: int, d: int):  # noqa: ANN202 - tiny date factory
    from datetime import date

    return date(y, m, d)


def ebanking_table(eb: EBanking, cust: Customers, staff: Staff) -> pa.Table:
    rec = eb.recommender >= 0
    staff_no = pa.array(staff.staff_no)
    return pa.table(
        {
            "customer_no": cust.customer_no.take(pa.array(eb.cust)),
            "service": take(SERVICES, eb.service),
            "opened_date": date_array(eb.opened_d),
            "activated_date": date_array(eb.act_d),
            "source": take(vocab.EBANKING_SOURCES.codes, rec.astype(np.int64)),
            "recommended_by": null_where(
                staff_no.take(pa.array(np.maximum(eb.recommender, 0))), ~rec
            ),
            "closed_date": date_array(eb.closed_d),
        }
    )


# ---------------------------------------------------------------------------------------------
# Ownership (客户经理)


def ownership_table(
    seed: int, span: Span, cust: Customers, a: Accounts, staff: Staff, aum_cents: np.ndarray
) -> pa.Table:
    rng = stream(seed, "ownership")
    asof = span.asof_d
    n = cust.n
    loan_active = np.zeros(n, dtype=bool)
    is_loan = (a.cat == C_LOAN) & (a.status != CLOSED)
    loan_active[a.cust[is_loan]] = True
    must = cust.corp & loan_active
    high = aum_cents >= 100_000 * 100
    owned = (
        must | (high & (rng.random(n) < 0.985)) | (~high & ~cust.dormant & (rng.random(n) < 0.04))
    )
    top = aum_cents >= 1_000_000 * 100
    rows: list[tuple[int, int, int, int, int]] = []  # cust, staff, role, start, end
    owner = np.full(n, -1, dtype=np.int64)
    for k in range(len(pools.OUTLETS)):
        pool, w = staff.owners_of_outlet(k)
        roles = np.array([staff.role[i] for i in pool])
        w_top = w * np.select([roles == "OUTLET_HEAD", roles == "TEAM_LEAD"], [8.0, 4.0], 1.0)
        sel = np.flatnonzero(owned & (cust.outlet == k))
        pt = np.where(top[sel][:, None], w_top[None, :], w[None, :])
        cum = np.cumsum(pt, axis=1)
        r = rng.random(len(sel)) * cum[:, -1]
        owner[sel] = pool[(cum < r[:, None]).sum(axis=1)]
    sel = np.flatnonzero(owner >= 0)
    o = owner[sel]
    lo = np.maximum(cust.open_d[sel], staff.hire_d[o])
    leave = staff.leave_d[o]
    hi = np.where(leave != NA_DAY, leave - 1, asof - 1)
    # infeasible (customer arrived after the CM left): give them to the outlet's senior CM
    bad = lo > hi
    if bad.any():
        senior = {k: int(staff.cms_of_outlet(k)[0]) for k in range(len(pools.OUTLETS))}
        o[bad] = [senior[k] for k in cust.outlet[sel][bad]]
        lo = np.maximum(cust.open_d[sel], staff.hire_d[o])
        hi = np.where(staff.leave_d[o] != NA_DAY, staff.leave_d[o] - 1, asof - 1)
    lo = np.minimum(lo, hi)
    start = lo + (rng.random(len(sel)) * (hi - lo + 1)).astype(np.int64)
    for c, s, st in zip(sel.tolist(), o.tolist(), start.tolist()):
        rows.append((c, s, 0, st, NA_DAY))
    # earlier owners (assignments change over the years): closed rows ending the day before
    prev = (rng.random(len(sel)) < 0.10) & (start - lo > 120)
    for i in np.flatnonzero(prev):
        c = int(sel[i])
        pool, _ = staff.owners_of_outlet(int(cust.outlet[c]))
        cand = [
            int(p)
            for p in pool
            if p != o[i] and p != staff.departed and staff.hire_d[p] <= start[i] - 60
        ]
        if not cand:
            continue
        p = cand[int(rng.integers(0, len(cand)))]
        p_lo = max(int(lo[i]), int(staff.hire_d[p]))
        p_start = p_lo + int(rng.integers(0, max(int(start[i]) - 30 - p_lo, 1)))
        rows.append((c, p, 0, p_start, int(start[i]) - 1))
    # a second manager for a share of the high-value customers
    second = (aum_cents[sel] >= 500_000 * 100) & (rng.random(len(sel)) < 0.35)
    for i in np.flatnonzero(second):
        c = int(sel[i])
        pool, _ = staff.owners_of_outlet(int(cust.outlet[c]))
        cand = [
            int(p)
            for p in pool
            if p != o[i] and p != staff.departed and staff.hire_d[p] <= asof - 30
        ]
        if not cand:
            continue
        p = cand[int(rng.integers(0, len(cand)))]
        s_lo = max(int(start[i]), int(staff.hire_d[p]))
        rows.append((c, p, 1, s_lo + int(rng.integers(0, max(asof - 1 - s_lo, 1))), NA_DAY))
    rows.sort(key=lambda r: (r[0], r[3], r[2]))
    arr = np.array(rows, dtype=np.int64).reshape(-1, 5)
    return pa.table(
        {
            "customer_no": cust.customer_no.take(pa.array(arr[:, 0])),
            "staff_no": pa.array(staff.staff_no).take(pa.array(arr[:, 1])),
            "role": take(("PRIMARY", "SECONDARY"), arr[:, 2]),
            "start_date": date_array(arr[:, 3]),
            "end_date": date_array(arr[:, 4]),
        }
    )


# ---------------------------------------------------------------------------------------------
# Groups and relationships


@dataclass
class Groups:
    code: list[str]
    name: list[str]
    member: np.ndarray  # customer index
    group: np.ndarray  # group index per member row
    role: np.ndarray  # 0 PARENT 1 SUBSIDIARY 2 ASSOCIATE 3 OTHER
    link: np.ndarray  # 0 EQUITY 1 CONTRACT 2 FAMILY
    pct: np.ndarray  # equity % ×100, -1 none
    brand: dict[int, int]  # corporate local index → brand code shared by the group


def plan_groups(seed: int, cust: Customers) -> Groups:
    """A few corporate groups (集团): a parent, subsidiaries, associates; members share a brand."""
    rng = stream(seed, "groups")
    n_p, n_c = cust.n_p, cust.n - cust.n_p
    n_groups = max(1, n_c // 150) if n_c >= 6 else 0
    nb = len(pools.BRAND_CHARS)
    corp = np.arange(n_p, cust.n)
    big = corp[cust.size[corp] >= 2]
    parents = big[:n_groups] if len(big) >= n_groups else corp[:n_groups]
    used = set(parents.tolist())
    free = [c for c in corp.tolist() if c not in used]
    rng.shuffle(free)
    member, group, role, link, pct = [], [], [], [], []
    brand: dict[int, int] = {}
    codes, names = [], []
    for g, p in enumerate(parents.tolist()):
        b1 = int(rng.integers(0, nb))
        b2 = (b1 + int(rng.integers(1, nb))) % nb
        bc = b1 * nb + b2
        codes.append(f"G{g + 1:04d}")
        names.append(pools.BRAND_CHARS[b1] + pools.BRAND_CHARS[b2] + "集团")
        member.append(p)
        group.append(g)
        role.append(0)
        link.append(0)
        pct.append(-1)
        brand[p - n_p] = bc
        for _ in range(int(rng.integers(1, 5))):
            if not free:
                break
            c = free.pop()
            subsidiary = rng.random() < 0.7
            member.append(c)
            group.append(g)
            role.append(1 if subsidiary else 2)
            lk = 0 if subsidiary or rng.random() < 0.5 else 1
            link.append(lk)
            pct.append(
                int(rng.integers(5100, 10001))
                if subsidiary
                else (int(rng.integers(2000, 5000)) if lk == 0 else -1)
            )
            if subsidiary:
                brand[c - n_p] = bc
    return Groups(
        code=codes,
        name=names,
        member=np.array(member, dtype=np.int64),
        group=np.array(group, dtype=np.int64),
        role=np.array(role, dtype=np.int64),
        link=np.array(link, dtype=np.int64),
        pct=np.array(pct, dtype=np.int64),
        brand=brand,
    )


def relationships(
    seed: int, cust: Customers, groups: Groups
) -> tuple[pa.Table, pa.Table, dict[str, np.ndarray]]:
    """Family links, referrals, key persons / legal representatives of corporates.

    Reading: ``customer_no`` is the ``relation`` of ``related_customer_no`` (A SPOUSE B, A CHILD
    of B, A LEGAL_REP of company B, A KEY_PERSON of B); REFERRED_BY reads "A was referred by B".
    Returns the relationships and groups tables and per-customer facts the customer file needs.
    """
    rng = stream(seed, "relationships")
    n, n_p = cust.n, cust.n_p
    rel_a: list[np.ndarray] = []
    rel_b: list[np.ndarray] = []
    rel_t: list[np.ndarray] = []
    notes: list[np.ndarray] = []
    married = np.zeros(n, dtype=bool)
    idx = np.arange(n_p)
    age = cust.age
    adult = (age >= 22) & (age <= 80) & ~cust.corp

    # spouses: men and women of similar age at the same outlet
    men = idx[adult[:n_p] & ~cust.female[:n_p] & (rng.random(n_p) < 0.12)]
    women = idx[adult[:n_p] & cust.female[:n_p]]
    if len(men) and len(women):
        key_w = cust.outlet[women] * 1000 + age[women]
        order_w = np.argsort(key_w, kind="stable")
        key_m = cust.outlet[men] * 1000 + age[men] - rng.integers(0, 5, len(men))
        pos = np.clip(np.searchsorted(key_w[order_w], key_m), 0, len(women) - 1)
        wife = women[order_w][pos]
        same = (cust.outlet[wife] == cust.outlet[men]) & (np.abs(age[wife] - age[men]) <= 8)
        men, wife = men[same], wife[same]
        _, first = np.unique(wife, return_index=True)
        men, wife = men[first], wife[first]
        rel_a += [men, wife]
        rel_b += [wife, men]
        rel_t += [np.full(len(men), 0), np.full(len(men), 0)]
        notes += [np.full(len(men), -1)] * 2
        married[men] = True
        married[wife] = True

    # children (minors) and their parents
    minors = idx[(age[:n_p] < 18) & (rng.random(n_p) < 0.7)]
    parents_pool = idx[(age[:n_p] >= 25) & (age[:n_p] <= 60)]
    if len(minors) and len(parents_pool):
        pb = cust.birth_d[parents_pool]
        order = np.argsort(pb, kind="stable")
        pb_sorted = pb[order]
        target = cust.birth_d[minors] - (365.25 * rng.uniform(22, 38, len(minors))).astype(int)
        pos = np.clip(np.searchsorted(pb_sorted, target), 0, len(pb_sorted) - 1)
        parent = parents_pool[order][pos]
        rel_a += [minors, parent]
        rel_b += [parent, minors]
        rel_t += [np.full(len(minors), 2), np.full(len(minors), 1)]  # CHILD / PARENT
        notes += [np.full(len(minors), -1)] * 2

    # siblings / relatives, few
    sib = idx[adult[:n_p] & (rng.random(n_p) < 0.01)]
    other = rng.integers(0, max(n_p, 1), len(sib))
    ok = (other != sib) & adult[other]
    rel_a.append(sib[ok])
    rel_b.append(other[ok])
    rel_t.append(np.where(rng.random(ok.sum()) < 0.5, 3, 4))
    notes.append(np.full(ok.sum(), -1))

    # referrals: new customers brought by existing ones of the same outlet
    order = np.argsort(cust.open_d[:n_p], kind="stable")
    new = (
        idx[(cust.open_d[:n_p] >= np.percentile(cust.open_d[:n_p], 85)) & (rng.random(n_p) < 0.08)]
        if n_p
        else idx[:0]
    )
    if len(new):
        rank = np.searchsorted(cust.open_d[:n_p][order], cust.open_d[new])
        pick = (rng.random(len(new)) * np.maximum(rank, 1)).astype(np.int64)
        referrer = order[np.minimum(pick, n_p - 1)]
        ok = (referrer != new) & (cust.open_d[referrer] < cust.open_d[new])
        rel_a.append(new[ok])
        rel_b.append(referrer[ok])
        rel_t.append(np.full(ok.sum(), 5))
        notes.append(np.full(ok.sum(), 0))

    # legal representatives, key persons and shareholders of corporates
    corp = np.arange(n_p, n)
    cand = idx[(age[:n_p] >= 28) & (age[:n_p] <= 70)]
    legal_rep_of = np.full(n, -1, dtype=np.int64)
    if len(cand) and len(corp):
        k = min(len(cand), len(corp))
        chosen = rng.choice(cand, size=k, replace=False)
        lr = corp[:k][rng.random(k) < 0.6]
        person = chosen[: len(lr)]
        legal_rep_of[lr] = person
        rel_a.append(person)
        rel_b.append(lr)
        rel_t.append(np.full(len(lr), 7))
        notes.append(np.full(len(lr), 1))
        kp = corp[rng.random(len(corp)) < 0.2]
        kp_person = cand[rng.integers(0, len(cand), len(kp))]
        ok = ~np.isin(kp_person, person)
        rel_a.append(kp_person[ok])
        rel_b.append(kp[ok])
        rel_t.append(np.full(ok.sum(), 6))
        notes.append(np.full(ok.sum(), 2))
        sh = corp[rng.random(len(corp)) < 0.1]
        sh_person = cand[rng.integers(0, len(cand), len(sh))]
        rel_a.append(sh_person)
        rel_b.append(sh)
        rel_t.append(np.full(len(sh), 8))
        notes.append(np.full(len(sh), 3))

    ra = np.concatenate(rel_a).astype(np.int64)
    rb = np.concatenate(rel_b).astype(np.int64)
    rt = np.concatenate(rel_t).astype(np.int64)
    rn = np.concatenate(notes).astype(np.int64)
    key = ra * (n + 1) * 16 + rb * 16 + rt
    _, first = np.unique(key, return_index=True)  # sorted by (a, b, relation), duplicates out
    ra, rb, rt, rn = ra[first], rb[first], rt[first], rn[first]
    rel_names = vocab.RELATIONS.codes
    note_text = ("转介绍", "法定代表人", "财务负责人", "自然人股东")
    rel_table = pa.table(
        {
            "customer_no": cust.customer_no.take(pa.array(ra)),
            "related_customer_no": cust.customer_no.take(pa.array(rb)),
            "relation": take(rel_names, rt),
            "note": take(note_text, np.maximum(rn, 0), rn < 0),
        }
    )
    g = groups
    pct_txt = pc.binary_join_element_wise(
        int_text(np.maximum(g.pct, 0) // 100), ".", int_text(np.maximum(g.pct, 0) % 100, 2), ""
    )
    grp_table = pa.table(
        {
            "group_code": take(g.code, g.group),
            "group_name": take(g.name, g.group),
            "customer_no": cust.customer_no.take(pa.array(g.member)),
            "member_role": take(vocab.GROUP_ROLES.codes, g.role),
            "link_type": take(vocab.GROUP_LINKS.codes, g.link),
            "equity_pct": null_where(pct_txt, g.pct < 0),
        }
    )
    return rel_table, grp_table, {"married": married, "legal_rep_of": legal_rep_of}


# ---------------------------------------------------------------------------------------------
# Profile columns of the customer file


def profile_columns(
    seed: int, cust: Customers, pr: Payroll, facts: dict[str, np.ndarray], all_names: pa.Array
) -> dict[str, pa.Array]:
    rng = stream(seed, "profile")
    n = cust.n
    corp = cust.corp
    ind = ~corp
    age = cust.age
    adult = ind & (age >= 18)
    u = lambda: rng.random(n)  # noqa: E731

    occ_text = np.array(pools.OCCUPATIONS_WORKING)[np.maximum(cust.occupation, 0)]
    occ_text = np.where(age < 18, "学生", occ_text)
    occ_text = np.where(age > 60, np.where(u() < 0.8, "退休", occ_text), occ_text)
    occupation = null_where(pa.array(occ_text), corp | (u() < 0.25))
    industry = null_where(take(pools.INDUSTRIES, cust.industry), ind & (u() < 0.7))
    ew = np.array(pools.EDUCATION_WEIGHTS, float)
    edu_idx = rng.choice(len(ew), size=n, p=ew / ew.sum())
    edu_idx = np.where(age < 18, np.minimum(edu_idx, 2), edu_idx)
    education = take(pools.EDUCATIONS, edu_idx, corp | (u() < 0.35))
    school = take(pools.SCHOOLS, rng.integers(0, len(pools.SCHOOLS), n), corp | (u() < 0.88))

    married = facts["married"]
    ms = rng.choice(4, size=n, p=[0.2, 0.7, 0.06, 0.04])
    ms = np.where(age < 22, 0, ms)
    ms = np.where(married, 1, ms)  # others may be married to someone banking elsewhere
    marital = take(
        vocab.MARITAL_STATUSES.codes,
        ms,
        corp | (age < 18) | (~married & (u() < 0.4)),
    )
    family = take(
        pools.FAMILY_NOTES, rng.integers(0, len(pools.FAMILY_NOTES), n), ~adult | (u() < 0.88)
    )
    inv = take(
        pools.INVESTMENT_PREFS,
        rng.choice(5, size=n, p=[0.2, 0.35, 0.25, 0.13, 0.07]),
        ~adult | (u() < 0.7),
    )
    pp1 = rng.integers(0, len(pools.PRODUCT_PREFS), n)
    pp2 = (pp1 + rng.integers(1, len(pools.PRODUCT_PREFS), n)) % len(pools.PRODUCT_PREFS)
    prod_pref = null_where(
        join(take(pools.PRODUCT_PREFS, pp1), "、", take(pools.PRODUCT_PREFS, pp2)),
        ~adult | (u() < 0.75),
    )
    mkt = take(
        pools.MARKETING_PREFS,
        rng.choice(6, size=n, p=[0.3, 0.2, 0.25, 0.15, 0.05, 0.05]),
        ~adult | (u() < 0.7),
    )
    h1 = rng.integers(0, len(pools.HOBBIES), n)
    h2 = (h1 + rng.integers(1, len(pools.HOBBIES), n)) % len(pools.HOBBIES)
    hobbies = null_where(
        join(take(pools.HOBBIES, h1), "、", take(pools.HOBBIES, h2)), ~adult | (u() < 0.8)
    )
    tax = pc.if_else(
        pa.array(corp),
        take(pools.TAX_RECORDS_C, rng.choice(4, size=n, p=[0.45, 0.4, 0.1, 0.05])),
        take(pools.TAX_RECORDS_P, rng.integers(0, 2, n)),
    )
    tax = null_where(tax, np.where(corp, u() < 0.3, u() < 0.92))

    # annual income: from the payroll salary where there is one (13 months), else estimated
    income = np.round(np.exp(np.log(50_000) + 0.6 * rng.standard_normal(n)), -3)
    sal = np.zeros(n)
    current = (pr.end_d == NA_DAY) & (pr.rtype != 1)
    sal[pr.cust[current]] = pr.monthly_cents[current] / 100.0
    income = np.where(sal > 0, np.round(sal * 13, -3), income)
    has_income = adult & (u() < 0.35)
    annual_income = decimal_array((income * 100).astype(np.int64), ~has_income)

    # corporate columns
    lr = facts["legal_rep_of"]
    rep_names = random_rep_names(rng, n)
    linked = lr >= 0
    legal_rep = pc.if_else(pa.array(linked), all_names.take(pa.array(np.maximum(lr, 0))), rep_names)
    legal_rep = null_where(legal_rep, ind | (~linked & (u() < 0.1)))
    own = take(
        vocab.OWNERSHIP_TYPES.codes,
        rng.choice(6, size=n, p=[0.05, 0.03, 0.80, 0.02, 0.05, 0.05]),
        ind,
    )
    size_class = take(SIZE_NAMES, np.maximum(cust.size, 0), ind)
    cap_med = np.array([500_000.0, 3_000_000.0, 20_000_000.0, 150_000_000.0])
    cap = np.round(
        np.exp(np.log(cap_med[np.maximum(cust.size, 0)]) + 0.5 * rng.standard_normal(n)), -4
    )
    registered_capital = decimal_array((cap * 100).astype(np.int64), ind)
    words = [""] * cust.n_p + list(cust.biz_word)
    main = pa.array(
        [pools.MAIN_BUSINESS[i].format(w=w) for i, w in zip(cust.industry.tolist(), words)]
    )
    main_business = null_where(main, ind | (u() < 0.15))
    return {
        "occupation": occupation,
        "industry": industry,
        "education": education,
        "school": school,
        "tax_record": tax,
        "marital_status": marital,
        "family_notes": family,
        "investment_pref": inv,
        "product_pref": prod_pref,
        "marketing_pref": mkt,
        "hobbies": hobbies,
        "annual_income": annual_income,
        "legal_rep": legal_rep,
        "ownership_type": own,
        "size_class": size_class,
        "registered_capital": registered_capital,
        "main_business": main_business,
    }


def random_rep_names(rng: np.random.Generator, n: int) -> pa.Array:
    from .people import random_names

    return random_names(rng, rng.random(n) < 0.3)
