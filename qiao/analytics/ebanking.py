"""The e-banking analysis of seed 002 (§二, R1–R8) and the transaction substitution rate.

Every figure is computed from the lake (:mod:`qiao.analytics.lake`) as lazy Ibis expressions, so the
same code runs on DuckDB (the default) and Spark; what comes back is small (a few hundred rows at
most, plus one list of customers) and is finished with pandas. The measures are defined in
``docs/reports.md`` ("E-banking analysis"); the parts are:

R1 penetration
    Customers with e-banking signed up (开通) and activated (激活) as shares of the base, per service
    and overall, and the multi-product share: activated customers using two or more services.
R2 age tiers
    The base by age tier (``[age] tiers``): customers and assets (the balances of asset-category
    accounts, docs/analytics.md "AUM") and their shares.
R3 e-banking by age band and gender
    Activated users per band (``[age] bands``) and service, each band's share of a service's users,
    beside the band's share of the base; the same by gender.
R4 growth
    Per month of the window: services signed up, by opening source (主动开通 by the customer or
    银行推荐 on a recommendation), customers activating their first service, and the stock of
    activated customers at the month's end with its growth on the month before.
R5 payroll and withholding (代发代扣)
    Per class: accounts and balances with an active relation, as shares of all demand accounts
    and their balance, the customers' e-banking penetration, and the list of payroll customers
    with no e-banking service (the customers a CM can offer it to).
R6 transaction behaviour
    Payments by payment method (count, amount, average ticket); e-channel transactions by channel
    and type; breadth per customer: how many transaction types a customer uses on e-channels,
    how many payment methods.
R8 corporate e-banking
    Corporate customers with each version of corporate online banking and the bank-enterprise
    link (signed, activated, change on the month before), and penetration by size class and sector.
Substitution rate (交易替代率)
    ``electronic / (electronic + counter)`` transactions initiated by the customer (bank-initiated
    types such as interest and fees are left out), including ATMs as electronic (``+ ATM`` on both
    sides) or excluding them, by count and by amount, per month and per outlet (the customer's
    home outlet).

R7, the questionnaire's tallies, come from the surveys app, not from the lake.

Scope: :class:`Scope` restricts every figure to a set of customers (a CM's) or of outlets (an outlet
head's subtree); ``None`` is the whole bank.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from qiao.analytics.lake import read_ref, read_transactions_month
from qiao.core import vocab

__all__ = [
    "EbankingConfig",
    "EbankingConfigError",
    "EbankingResult",
    "Scope",
    "band_bounds",
    "ebanking_analysis",
    "load_config",
    "payroll_without_ebanking",
]

ASSET_CATEGORIES: tuple[str, ...] = vocab.CATEGORIES.having("aum")
DEMAND_CATEGORY = "DEMAND"  # 活期: the demand deposits of seed 002 R5
ELECTRONIC: tuple[str, ...] = vocab.CHANNELS.having("electronic")
COUNTER: tuple[str, ...] = vocab.CHANNELS.having("counter")
BANK_INITIATED: tuple[str, ...] = vocab.TXN_TYPES.having("bank_initiated")
CORPORATE_SERVICES: tuple[str, ...] = vocab.EBANKING_SERVICES.having("corporate")
PERSONAL_SERVICES: tuple[str, ...] = tuple(
    s for s in vocab.EBANKING_SERVICES.codes if s not in CORPORATE_SERVICES
)
CORPORATE_TYPES: tuple[str, ...] = vocab.CUSTOMER_TYPES.having("corporate")
ONLINE_SERVICE = "ONLINE"  # 个人网银: seed 002 R5 measures payroll customers' penetration by it


class EbankingConfigError(ValueError):
    """The e-banking analysis's configuration is wrong (the message names the key)."""


@dataclass(frozen=True)
class EbankingConfig:
    """Parameters of the analysis (``config/ebanking.toml``; defaults documented there).

    ``age_tiers`` and ``age_bands`` are increasing band bounds in whole years: band 0 is below
    the first bound, band ``i`` runs from bound ``i-1`` (included) to bound ``i`` (excluded), the
    last band is at or above the last bound.
    """

    age_tiers: tuple[int, ...] = (18, 40, 60)
    age_bands: tuple[int, ...] = (18, 25, 30, 40, 50)
    months: int = 12
    atm_channels: tuple[str, ...] = ("ATM",)
    list_limit: int = 500

    def __post_init__(self) -> None:
        for name in ("age_tiers", "age_bands"):
            bounds = getattr(self, name)
            if not bounds:
                raise EbankingConfigError(f"{name}: at least one bound is needed")
            if any(isinstance(b, bool) or not isinstance(b, int) for b in bounds):
                raise EbankingConfigError(f"{name}: bounds must be whole years, got {bounds!r}")
            if any(b <= 0 or b > 120 for b in bounds):
                raise EbankingConfigError(f"{name}: bounds must be between 1 and 120")
            if list(bounds) != sorted(set(bounds)):
                raise EbankingConfigError(f"{name}: bounds must increase, got {list(bounds)}")
        if not 1 <= self.months <= 60:
            raise EbankingConfigError(f"window.months must be 1 to 60, got {self.months}")
        unknown = [c for c in self.atm_channels if c not in vocab.CHANNELS]
        if unknown:
            raise EbankingConfigError(
                f"substitution.atm_channels: {unknown[0]!r} is not a channel "
                f"(known: {', '.join(vocab.CHANNELS.codes)})"
            )
        if any(c in ELECTRONIC or c in COUNTER for c in self.atm_channels):
            raise EbankingConfigError(
                "substitution.atm_channels: an electronic or counter channel cannot be an ATM"
            )
        if not 1 <= self.list_limit <= 100_000:
            raise EbankingConfigError(f"lists.limit must be 1 to 100000, got {self.list_limit}")


def load_config(text: str | None = None) -> EbankingConfig:
    """The configuration from TOML ``text`` (the built-in ``config/ebanking.toml`` when ``None``)."""
    if text is None:
        text = resources.files("qiao.analytics.config").joinpath("ebanking.toml").read_text("utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EbankingConfigError(f"not valid TOML: {exc}") from exc
    known = {"age": {"tiers", "bands"}, "window": {"months"}, "substitution": {"atm_channels"}}
    known["lists"] = {"limit"}
    for section, values in raw.items():
        if section not in known or not isinstance(values, dict):
            raise EbankingConfigError(f"unknown section [{section}]")
        for key in values:
            if key not in known[section]:
                raise EbankingConfigError(f"[{section}]: unknown key {key!r}")
    age = raw.get("age", {})
    defaults = EbankingConfig()

    def ints(value: Any, name: str) -> tuple[int, ...]:
        if not isinstance(value, list):
            raise EbankingConfigError(f"{name}: a list of whole years is needed")
        return tuple(value)

    return EbankingConfig(
        age_tiers=ints(age.get("tiers", list(defaults.age_tiers)), "age_tiers"),
        age_bands=ints(age.get("bands", list(defaults.age_bands)), "age_bands"),
        months=int(raw.get("window", {}).get("months", defaults.months)),
        atm_channels=tuple(
            raw.get("substitution", {}).get("atm_channels", list(defaults.atm_channels))
        ),
        list_limit=int(raw.get("lists", {}).get("limit", defaults.list_limit)),
    )


def band_bounds(bounds: Sequence[int]) -> list[tuple[int | None, int | None]]:
    """``(from, to)`` of each band of ``bounds`` (``None``: open), band 0 first."""
    edges: list[int | None] = [None, *bounds, None]
    return [(edges[i], edges[i + 1]) for i in range(len(bounds) + 1)]


@dataclass(frozen=True)
class Scope:
    """Whose figures: customers (``customer_no``), outlets (the customer's ``branch_code``), both
    or neither (``None``: no restriction)."""

    customers: frozenset[str] | None = None
    outlets: frozenset[str] | None = None


@dataclass
class EbankingResult:
    """The figures, each a small frame (columns documented per attribute)."""

    as_of: _dt.date
    months: list[str]
    #: R1, one row: customers, opened, activated, multi (activated customers with ≥ 2 services)
    penetration: pd.DataFrame
    #: R1 per service: service, opened, activated (customers)
    services: pd.DataFrame
    #: R2: band, lo, hi, customers, assets (yuan); band −1 is "age unknown"
    age_tiers: pd.DataFrame
    #: R3: band, lo, hi, base (individuals), users (activated), users_<SERVICE> per personal service
    age_bands: pd.DataFrame
    #: R3: gender, base, users
    gender: pd.DataFrame
    #: R4: month, opened, opened_self, opened_recommended, opened_unknown, activated, stock
    growth: pd.DataFrame
    #: R4: service, opened_self, opened_recommended, opened_unknown (signed up in the window)
    sources: pd.DataFrame
    #: R5: relation_type ("" for all classes together), accounts, balance, customers,
    #: with_ebanking, with_online
    payroll: pd.DataFrame
    #: R5: demand accounts and their balance (the denominators of the shares)
    demand_accounts: int
    demand_balance: float
    #: R5: payroll customers without e-banking: customer_no, classes ("A|B"), balance
    payroll_list: pd.DataFrame
    payroll_list_total: int
    #: R6: pay_method, count, amount
    pay_methods: pd.DataFrame
    #: R6: channel, txn_type, count, amount (electronic channels)
    channel_types: pd.DataFrame
    #: R6: breadth k (1, 2, 3, 4 = four or more), by_types, by_methods (customers)
    breadth: pd.DataFrame
    #: R8, one row: customers (corporate), with_ebanking, accounts (their open accounts)
    corporate: pd.DataFrame
    #: R8: service, signed, activated, signed_before (a month before as_of)
    corp_versions: pd.DataFrame
    #: R8: size_class ("" unknown), customers, with_ebanking
    corp_size: pd.DataFrame
    #: R8: industry ("" unknown), customers, with_ebanking
    corp_sector: pd.DataFrame
    #: substitution per month: month, e_n, atm_n, counter_n, e_amt, atm_amt, counter_amt
    substitution_months: pd.DataFrame
    #: substitution per outlet over the window: outlet, the same counts and amounts
    substitution_outlets: pd.DataFrame
    diagnostics: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def _ind(cond: ir.BooleanValue) -> ir.IntegerValue:
    return ibis.ifelse(cond, 1, 0).cast("int64")


def _month_end(month: str) -> _dt.date:
    y, m = int(month[:4]), int(month[5:7])
    return _dt.date(y, m, calendar.monthrange(y, m)[1])


def _month_start(month: str) -> _dt.date:
    return _dt.date(int(month[:4]), int(month[5:7]), 1)


def _window_months(as_of: _dt.date, n: int) -> list[str]:
    out = []
    y, m = as_of.year, as_of.month
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out[::-1]


def _age(birth: ir.DateValue, as_of: _dt.date) -> ir.IntegerValue:
    """Whole years at ``as_of`` (portable: year difference less one before the birthday)."""
    before = (birth.month() * 100 + birth.day()) > (as_of.month * 100 + as_of.day)
    return (ibis.literal(as_of.year) - birth.year() - _ind(before)).cast("int64")


def _band(age: ir.IntegerValue, bounds: Sequence[int]) -> ir.IntegerValue:
    """Band index of an age (−1 when unknown) for increasing ``bounds``."""
    cases = [(age < b, i) for i, b in enumerate(bounds)]
    return ibis.ifelse(age.isnull(), -1, ibis.cases(*cases, else_=len(bounds))).cast("int64")


def _alive(opened: ir.DateValue, closed: ir.DateValue, day: _dt.date) -> ir.BooleanValue:
    return (opened <= day) & (closed.isnull() | (closed > day))


def _frame(expr: ir.Table) -> pd.DataFrame:
    return expr.to_pandas()


def _scoped_customers(con: BaseBackend, lake: Path, scope: Scope) -> ir.Table:
    cust = read_ref(con, lake, "customers")
    if scope.outlets is not None:
        cust = cust.filter(cust.branch_code.isin(sorted(scope.outlets) or [""]))
    if scope.customers is not None:
        ids = ibis.memtable(
            pd.DataFrame({"customer_no": sorted(scope.customers)}, dtype="string"),
        )
        cust = cust.semi_join(ids, cust.customer_no == ids.customer_no)
    return cust


# --------------------------------------------------------------------------------------------------
# the analysis
# --------------------------------------------------------------------------------------------------


def ebanking_analysis(
    con: BaseBackend,
    lake: Path,
    *,
    as_of: _dt.date,
    scope: Scope | None = None,
    config: EbankingConfig | None = None,
) -> EbankingResult:
    """All parts of the analysis for the customers of ``scope`` as of ``as_of``.

    Parameters
    ----------
    con
        An Ibis backend (:func:`qiao.analytics.lake.connect`).
    lake
        The lake folder.
    as_of
        The report's date: reference data is taken as at this day; the window's last month is
        its month.
    scope
        Whose figures (``None``: the whole bank).
    config
        Bands, window and list size (:func:`load_config` when ``None``).
    """
    cfg = config or load_config()
    scope = scope or Scope()
    months = _window_months(as_of, cfg.months)
    cached: list[ir.Table] = []

    def keep(table: ir.Table) -> ir.Table:
        # Several parts read each base table: computed once (a temporary table on DuckDB, a
        # cached DataFrame on Spark) and released at the end.
        out = table.cache()
        cached.append(out)
        return out

    result: dict[str, Any] = {"as_of": as_of, "months": months}
    try:
        cust, accounts, eb_all, eb = _bases(con, lake, as_of, scope, keep)
        person = cust.filter(~cust.corporate)
        result.update(_penetration(cust, eb))
        result.update(_ages(cust, person, accounts, eb, cfg))
        result.update(_growth(eb_all, months, as_of))
        result.update(_payroll(con, lake, cust, accounts, eb, as_of, cfg, keep))
        result.update(_corporate(cust, accounts, eb_all, eb, as_of))
        scoped = scope.customers is not None or scope.outlets is not None
        result.update(_transactions(con, lake, cust, months, cfg, scoped, keep))
    finally:
        for table in cached:
            table.release()
    return EbankingResult(**result)


def payroll_without_ebanking(
    con: BaseBackend,
    lake: Path,
    *,
    as_of: _dt.date,
    scope: Scope,
    limit: int,
) -> tuple[pd.DataFrame, int]:
    """R5's list alone (what a CM acts on): ``customer_no, balance, classes`` of the payroll
    customers of ``scope`` without any e-banking service, largest payroll balance first, at most
    ``limit`` of them, and how many there are in all."""
    cfg = EbankingConfig(list_limit=limit)
    cached: list[ir.Table] = []

    def keep(table: ir.Table) -> ir.Table:
        out = table.cache()
        cached.append(out)
        return out

    try:
        cust, accounts, _eb_all, eb = _bases(con, lake, as_of, scope, keep)
        found = _payroll(con, lake, cust, accounts, eb, as_of, cfg, keep)
    finally:
        for table in cached:
            table.release()
    return found["payroll_list"], found["payroll_list_total"]


def _bases(
    con: BaseBackend, lake: Path, as_of: _dt.date, scope: Scope, keep: Any
) -> tuple[ir.Table, ir.Table, ir.Table, ir.Table]:
    """The scoped customers, their open accounts, their e-banking services (all, and those open
    on ``as_of`` with ``active``: activated by then)."""
    cust = _scoped_customers(con, lake, scope)
    cust = keep(
        cust.select(
            "customer_no",
            "gender",
            "size_class",
            "industry",
            "branch_code",
            corporate=cust.customer_type.isin(list(CORPORATE_TYPES)),
            age=_age(cust.birth_date, as_of),
        )
    )
    products = read_ref(con, lake, "products").select("product_code", "category")
    accounts = read_ref(con, lake, "accounts")
    accounts = accounts.filter(
        accounts.open_date.isnull() | (accounts.open_date <= as_of),
        accounts.close_date.isnull() | (accounts.close_date > as_of),
    )
    accounts = accounts.join(products, "product_code", how="left")
    accounts = accounts.semi_join(cust, accounts.customer_no == cust.customer_no)
    accounts = keep(
        accounts.select(
            "account_no", "customer_no", "category", balance=accounts.balance.cast("float64")
        )
    )
    eb_all = read_ref(con, lake, "ebanking")
    eb_all = keep(eb_all.semi_join(cust, eb_all.customer_no == cust.customer_no))
    eb = eb_all.filter(_alive(eb_all.opened_date, eb_all.closed_date, as_of))
    eb = eb.mutate(active=eb.activated_date.notnull() & (eb.activated_date <= as_of))
    return cust, accounts, eb_all, eb


def _penetration(cust: ir.Table, eb: ir.Table) -> dict[str, Any]:
    per = eb.group_by("customer_no").aggregate(
        n_active=eb.active.cast("int64").sum(),
    )
    totals = cust.aggregate(customers=cust.count())
    eb_tot = per.aggregate(
        opened=per.count(),
        activated=_ind(per.n_active > 0).sum(),
        multi=_ind(per.n_active >= 2).sum(),
    )
    pen = _frame(totals.cross_join(eb_tot))
    services = _frame(
        eb.group_by("service").aggregate(
            opened=eb.customer_no.nunique(),
            activated=eb.customer_no.nunique(where=eb.active),
        )
    )
    order = {s: i for i, s in enumerate(vocab.EBANKING_SERVICES.codes)}
    services = services.sort_values("service", key=lambda s: s.map(order)).reset_index(drop=True)
    return {"penetration": pen.fillna(0).astype("int64"), "services": services}


def _bands_frame(bounds: Sequence[int]) -> pd.DataFrame:
    rows = [{"band": i, "lo": lo, "hi": hi} for i, (lo, hi) in enumerate(band_bounds(bounds))]
    rows.append({"band": -1, "lo": None, "hi": None})
    return pd.DataFrame(rows)


def _ages(
    cust: ir.Table, person: ir.Table, accounts: ir.Table, eb: ir.Table, cfg: EbankingConfig
) -> dict[str, Any]:
    # R2: individuals by age tier, with their assets.
    assets = accounts.filter(accounts.category.isin(list(ASSET_CATEGORIES)))
    assets = assets.group_by("customer_no").aggregate(assets=assets.balance.sum())
    p = person.mutate(tier=_band(person.age, cfg.age_tiers))
    p = p.left_join(assets, p.customer_no == assets.customer_no)
    tiers = _frame(
        p.group_by("tier").aggregate(customers=p.count(), assets=p.assets.fill_null(0).sum())
    )
    age_tiers = _bands_frame(cfg.age_tiers).merge(
        tiers.rename(columns={"tier": "band"}), on="band", how="left"
    )
    age_tiers[["customers", "assets"]] = age_tiers[["customers", "assets"]].fillna(0)
    age_tiers["customers"] = age_tiers["customers"].astype("int64")

    # R3: activated users of the personal services by band and gender.
    users = eb.filter(eb.active & eb.service.isin(list(PERSONAL_SERVICES)))
    pb = person.mutate(band=_band(person.age, cfg.age_bands))
    joined = pb.left_join(users, pb.customer_no == users.customer_no)
    metrics: dict[str, ir.Scalar] = {
        "base": pb.customer_no.nunique(),
    }
    anyone = joined.customer_no_right.notnull()
    metrics["users"] = joined.customer_no.nunique(where=anyone)
    for s in PERSONAL_SERVICES:
        metrics[f"users_{s}"] = joined.customer_no.nunique(where=joined.service == s)
    by_band = _frame(joined.group_by("band").aggregate(**metrics))
    age_bands = (
        _bands_frame(cfg.age_bands)
        .merge(by_band, on="band", how="left")
        .fillna({k: 0 for k in metrics})
    )
    for k in metrics:
        age_bands[k] = age_bands[k].astype("int64")
    gender = _frame(
        joined.group_by(joined.gender.fill_null("")).aggregate(
            base=joined.customer_no.nunique(), users=joined.customer_no.nunique(where=anyone)
        )
    )
    gender.columns = ["gender", "base", "users"]
    order = {g: i for i, g in enumerate(vocab.GENDERS.codes)}
    gender = gender.sort_values("gender", key=lambda s: s.map(order).fillna(99)).reset_index(
        drop=True
    )
    return {"age_tiers": age_tiers, "age_bands": age_bands, "gender": gender}


def _growth(eb_all: ir.Table, months: list[str], as_of: _dt.date) -> dict[str, Any]:
    first, last = _month_start(months[0]), min(_month_end(months[-1]), as_of)
    opened = eb_all.filter(eb_all.opened_date >= first, eb_all.opened_date <= last)
    opened = opened.mutate(
        month=opened.opened_date.strftime("%Y-%m"),
        src=opened.source.fill_null(""),
    )
    by_month = _frame(
        opened.group_by("month").aggregate(
            opened=opened.count(),
            opened_self=_ind(opened.src == "SELF").sum(),
            opened_recommended=_ind(opened.src == "RECOMMENDED").sum(),
        )
    )
    sources = _frame(
        opened.group_by("service").aggregate(
            opened_self=_ind(opened.src == "SELF").sum(),
            opened_recommended=_ind(opened.src == "RECOMMENDED").sum(),
            opened_unknown=_ind(~opened.src.isin(list(vocab.EBANKING_SOURCES.codes))).sum(),
        )
    )
    order = {s: i for i, s in enumerate(vocab.EBANKING_SERVICES.codes)}
    sources = sources.sort_values("service", key=lambda s: s.map(order)).reset_index(drop=True)

    # A customer is an activated e-banking customer at a day when one of their services is
    # activated by then and not closed: per customer, the first activation and, when every
    # activated service is closed, the last close.
    act = eb_all.filter(eb_all.activated_date.notnull())
    per = act.group_by("customer_no").aggregate(
        first_act=act.activated_date.min(),
        open_left=_ind(act.closed_date.isnull()).sum(),
        last_close=act.closed_date.max(),
    )
    ends = {m: min(_month_end(m), as_of) for m in months}
    stock_metrics: dict[str, ir.Scalar] = {}
    for m, end in ends.items():
        alive = (per.first_act <= end) & ((per.open_left > 0) | (per.last_close > end))
        stock_metrics[f"s{m.replace('-', '_')}"] = _ind(alive).sum()
        start = _month_start(m)
        new = (per.first_act >= start) & (per.first_act <= end)
        stock_metrics[f"a{m.replace('-', '_')}"] = _ind(new).sum()
    before = _month_start(months[0]) - _dt.timedelta(days=1)
    alive_before = (per.first_act <= before) & ((per.open_left > 0) | (per.last_close > before))
    stock_metrics["before"] = _ind(alive_before).sum()
    counts = _frame(per.aggregate(**stock_metrics)).iloc[0].fillna(0)
    rows = []
    for m in months:
        key = m.replace("-", "_")
        rows.append(
            {
                "month": m,
                "activated": int(counts[f"a{key}"]),
                "stock": int(counts[f"s{key}"]),
            }
        )
    growth = pd.DataFrame(rows).merge(by_month, on="month", how="left")
    for c in ("opened", "opened_self", "opened_recommended"):
        growth[c] = growth[c].fillna(0).astype("int64")
    growth["opened_unknown"] = (
        growth["opened"] - growth["opened_self"] - growth["opened_recommended"]
    )
    growth["stock_before"] = [int(counts["before"]), *growth["stock"].tolist()[:-1]]
    return {"growth": growth, "sources": sources}


def _payroll(
    con: BaseBackend,
    lake: Path,
    cust: ir.Table,
    accounts: ir.Table,
    eb: ir.Table,
    as_of: _dt.date,
    cfg: EbankingConfig,
    keep: Any,
) -> dict[str, Any]:
    pr = read_ref(con, lake, "payroll")
    pr = pr.filter(_alive(pr.start_date, pr.end_date, as_of))
    pr = pr.semi_join(cust, pr.customer_no == cust.customer_no)
    acc = accounts.select("account_no", bal=accounts.balance)
    # Only open accounts count (accounts is already as at as_of).
    pr = pr.join(acc, pr.account_no == acc.account_no).select(
        "customer_no", "account_no", "relation_type", "bal"
    )
    pr = keep(pr)
    with_eb = keep(
        eb.group_by("customer_no").aggregate(
            has_eb=eb.count().cast("int64").clip(upper=1),
            has_online=_ind(eb.active & (eb.service == ONLINE_SERVICE)).max(),
        )
    )
    demand = accounts.filter(accounts.category == DEMAND_CATEGORY)
    dem = _frame(demand.aggregate(n=demand.count(), bal=demand.balance.sum())).iloc[0]

    # per class, and all classes together (an account in two classes counted once)
    def summary(rel: ir.Table) -> ir.Table:
        accts = rel.group_by("account_no").aggregate(bal=rel.bal.max())
        custs = rel.select("customer_no").distinct()
        custs = custs.left_join(with_eb, custs.customer_no == with_eb.customer_no)
        a = accts.aggregate(accounts=accts.count(), balance=accts.bal.sum())
        c = custs.aggregate(
            customers=custs.count(),
            with_ebanking=custs.has_eb.fill_null(0).sum(),
            with_online=custs.has_online.fill_null(0).sum(),
        )
        return a.cross_join(c)

    parts = []
    for rt in vocab.PAYROLL_TYPES.codes:
        f = _frame(summary(pr.filter(pr.relation_type == rt)))
        f.insert(0, "relation_type", rt)
        parts.append(f)
    total = _frame(summary(pr))
    total.insert(0, "relation_type", "")
    payroll = pd.concat([*parts, total], ignore_index=True).fillna(0)
    for c in ("accounts", "customers", "with_ebanking", "with_online"):
        payroll[c] = payroll[c].astype("int64")

    # the list: payroll customers with no e-banking service at all
    people = pr.filter(pr.relation_type == "PAYROLL")
    lacking = people.anti_join(with_eb, people.customer_no == with_eb.customer_no)
    per = lacking.group_by("customer_no").aggregate(balance=lacking.bal.sum())
    classes = (
        pr.select("customer_no", "relation_type")
        .distinct()
        .group_by("customer_no")
        .aggregate(classes=pr.relation_type.group_concat("|"))
    )
    total_n = int(_frame(per.aggregate(n=per.count())).iloc[0]["n"] or 0)
    top = per.order_by([ibis.desc("balance"), "customer_no"]).limit(cfg.list_limit)
    top = top.left_join(classes, top.customer_no == classes.customer_no).select(
        top.customer_no, top.balance, classes.classes
    )
    listing = _frame(top).sort_values(["balance", "customer_no"], ascending=[False, True])
    listing["classes"] = (
        listing["classes"]
        .fillna("")
        .map(lambda s: "|".join(c for c in vocab.PAYROLL_TYPES.codes if c in s.split("|")))
    )
    return {
        "payroll": payroll,
        "demand_accounts": int(dem["n"] or 0),
        "demand_balance": float(dem["bal"] or 0.0),
        "payroll_list": listing.reset_index(drop=True),
        "payroll_list_total": total_n,
    }


def _corporate(
    cust: ir.Table, accounts: ir.Table, eb_all: ir.Table, eb: ir.Table, as_of: _dt.date
) -> dict[str, Any]:
    corp = cust.filter(cust.corporate)
    ceb = eb.filter(eb.service.isin(list(CORPORATE_SERVICES)))
    has = ceb.select("customer_no").distinct().mutate(has=ibis.literal(1).cast("int64"))
    c = corp.left_join(has, corp.customer_no == has.customer_no)
    c = c.select(
        "customer_no",
        size_class=c.size_class.fill_null(""),
        industry=c.industry.fill_null(""),
        has=c.has.fill_null(0),
    )
    caccts = accounts.semi_join(corp, accounts.customer_no == corp.customer_no)
    totals = _frame(
        c.aggregate(customers=c.count(), with_ebanking=c.has.sum()).cross_join(
            caccts.aggregate(accounts=caccts.count())
        )
    ).fillna(0)
    before = as_of.replace(day=1) - _dt.timedelta(days=1)
    before = before.replace(day=min(as_of.day, before.day))
    ce = eb_all.filter(eb_all.service.isin(list(CORPORATE_SERVICES)))
    ce = ce.semi_join(corp, ce.customer_no == corp.customer_no)
    versions = _frame(
        ce.group_by("service").aggregate(
            signed=_ind(_alive(ce.opened_date, ce.closed_date, as_of)).sum(),
            activated=_ind(
                _alive(ce.opened_date, ce.closed_date, as_of)
                & ce.activated_date.notnull()
                & (ce.activated_date <= as_of)
            ).sum(),
            signed_before=_ind(_alive(ce.opened_date, ce.closed_date, before)).sum(),
        )
    )
    present = set(versions["service"]) if len(versions) else set()
    missing = [
        {"service": s, "signed": 0, "activated": 0, "signed_before": 0}
        for s in CORPORATE_SERVICES
        if s not in present
    ]
    versions = pd.concat([versions, pd.DataFrame(missing)], ignore_index=True)
    order = {s: i for i, s in enumerate(CORPORATE_SERVICES)}
    versions = versions.sort_values("service", key=lambda s: s.map(order)).reset_index(drop=True)
    size = _frame(
        c.group_by("size_class").aggregate(customers=c.count(), with_ebanking=c.has.sum())
    )
    sorder = {s: i for i, s in enumerate(vocab.SIZE_CLASSES.codes)}
    size = size.sort_values("size_class", key=lambda s: s.map(sorder).fillna(99)).reset_index(
        drop=True
    )
    sector = _frame(
        c.group_by("industry").aggregate(customers=c.count(), with_ebanking=c.has.sum())
    )
    sector = sector.sort_values(["customers", "industry"], ascending=[False, True]).reset_index(
        drop=True
    )
    return {
        "corporate": totals.astype("int64"),
        "corp_versions": versions.astype({"signed": "int64", "activated": "int64"}),
        "corp_size": size,
        "corp_sector": sector,
    }


def _transactions(
    con: BaseBackend,
    lake: Path,
    cust: ir.Table,
    months: list[str],
    cfg: EbankingConfig,
    scoped: bool,
    keep: Any,
) -> dict[str, Any]:
    parts = []
    for m in months:
        t = read_transactions_month(con, lake, m)
        if t is None:
            continue
        t = t.filter(~t.txn_type.isin(list(BANK_INITIATED)))
        parts.append(
            t.select(
                "customer_no",
                "channel",
                "txn_type",
                "pay_method",
                amount=t.amount.cast("float64"),
                month=ibis.literal(m),
            )
        )
    atm = list(cfg.atm_channels)
    if not parts:
        empty_sub = pd.DataFrame(
            columns=["e_n", "atm_n", "counter_n", "e_amt", "atm_amt", "counter_amt"]
        )
        return {
            "pay_methods": pd.DataFrame(columns=["pay_method", "count", "amount"]),
            "channel_types": pd.DataFrame(columns=["channel", "txn_type", "count", "amount"]),
            "breadth": pd.DataFrame(
                {"k": [1, 2, 3, 4], "by_types": [0] * 4, "by_methods": [0] * 4}
            ),
            "substitution_months": empty_sub.assign(month=pd.Series(dtype="string")),
            "substitution_outlets": empty_sub.assign(outlet=pd.Series(dtype="string")),
        }
    txn = parts[0]
    for p in parts[1:]:
        txn = txn.union(p)
    if scoped:
        txn = txn.semi_join(cust, txn.customer_no == cust.customer_no)

    # (1) one aggregate at (month, channel, type, method): the monthly rates, the payment
    # methods and the e-channels' types are sums over it (months × a few dozen combinations)
    keyed = txn.mutate(pm=txn.pay_method.fill_null(""))
    cube = _frame(
        keyed.group_by(["month", "channel", "txn_type", "pm"]).aggregate(
            n=keyed.count(), amt=keyed.amount.sum()
        )
    )
    cube["amt"] = cube["amt"].astype("float64")
    side = pd.Series("other", index=cube.index)
    side[cube["channel"].isin(ELECTRONIC)] = "e"
    side[cube["channel"].isin(atm)] = "atm"
    side[cube["channel"].isin(COUNTER)] = "counter"
    cube["side"] = side
    sub = cube[cube["side"] != "other"]
    pv = sub.pivot_table(index="month", columns="side", values=["n", "amt"], aggfunc="sum")
    sub_months = pd.DataFrame(index=pv.index)
    for s in ("e", "atm", "counter"):
        sub_months[f"{s}_n"] = pv["n"][s] if ("n", s) in pv.columns else 0
        sub_months[f"{s}_amt"] = pv["amt"][s] if ("amt", s) in pv.columns else 0.0
    sub_months = sub_months.fillna(0).reset_index().sort_values("month").reset_index(drop=True)
    for s in ("e", "atm", "counter"):
        sub_months[f"{s}_n"] = sub_months[f"{s}_n"].astype("int64")
    paying = cube[cube["pm"] != ""]
    pay_methods = paying.groupby("pm", as_index=False).agg(
        count=("n", "sum"), amount=("amt", "sum")
    )
    pay_methods = pay_methods.rename(columns={"pm": "pay_method"})
    order = {s: i for i, s in enumerate(vocab.PAY_METHODS.codes)}
    pay_methods = pay_methods.sort_values(
        "pay_method", key=lambda s: s.map(order).fillna(99)
    ).reset_index(drop=True)
    ech = cube[cube["side"] == "e"]
    channel_types = ech.groupby(["channel", "txn_type"], as_index=False).agg(
        count=("n", "sum"), amount=("amt", "sum")
    )
    corder = {s: i for i, s in enumerate(vocab.CHANNELS.codes)}
    channel_types["_c"] = channel_types["channel"].map(corder)
    channel_types = (
        channel_types.sort_values(["_c", "count"], ascending=[True, False])
        .drop(columns="_c")
        .reset_index(drop=True)
    )

    # (2) one aggregate per customer, channel, type and method (cached): the rates by outlet
    # (the customer's home outlet, joined to this rather than to every transaction) and the
    # breadth of use are small aggregates over it
    cc = keep(
        keyed.group_by(["customer_no", "channel", "txn_type", "pm"]).aggregate(
            n=keyed.count(), amt=keyed.amount.sum()
        )
    )
    outlets = cust.select("customer_no", outlet=cust.branch_code.fill_null(""))
    po = cc.join(outlets, "customer_no")
    by_outlet = _frame(po.group_by(["outlet", "channel"]).aggregate(n=po.n.sum(), amt=po.amt.sum()))
    by_outlet["amt"] = by_outlet["amt"].astype("float64")
    by_outlet["side"] = "other"
    by_outlet.loc[by_outlet["channel"].isin(ELECTRONIC), "side"] = "e"
    by_outlet.loc[by_outlet["channel"].isin(atm), "side"] = "atm"
    by_outlet.loc[by_outlet["channel"].isin(COUNTER), "side"] = "counter"
    sub_outlets = pd.DataFrame({"outlet": sorted(set(by_outlet["outlet"]))})
    for s in ("e", "atm", "counter"):
        part = by_outlet[by_outlet["side"] == s].groupby("outlet")[["n", "amt"]].sum()
        sub_outlets[f"{s}_n"] = sub_outlets["outlet"].map(part["n"]).fillna(0).astype("int64")
        sub_outlets[f"{s}_amt"] = sub_outlets["outlet"].map(part["amt"]).fillna(0.0)
    et = cc.filter(cc.channel.isin(list(ELECTRONIC))).select("customer_no", "txn_type").distinct()
    et = et.group_by("customer_no").aggregate(k=ibis.least(et.count(), 4))
    bt = _frame(et.group_by("k").aggregate(c=et.count()))
    em = cc.filter(cc.pm != "").select("customer_no", "pm").distinct()
    em = em.group_by("customer_no").aggregate(k=ibis.least(em.count(), 4))
    bm = _frame(em.group_by("k").aggregate(c=em.count()))
    breadth = pd.DataFrame({"k": [1, 2, 3, 4]})
    breadth["by_types"] = breadth["k"].map(dict(zip(bt["k"], bt["c"], strict=True))).fillna(0)
    breadth["by_methods"] = breadth["k"].map(dict(zip(bm["k"], bm["c"], strict=True))).fillna(0)
    breadth = breadth.astype("int64")
    return {
        "pay_methods": pay_methods,
        "channel_types": channel_types,
        "breadth": breadth,
        "substitution_months": sub_months,
        "substitution_outlets": sub_outlets,
    }


def rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Substitution rates of a frame of ``sides`` (counts and amounts): including ATMs
    ``(e + atm) / (e + atm + counter)``, excluding them ``e / (e + counter)``; NaN on nothing."""
    out = frame.copy()
    for unit in ("n", "amt"):
        e, a, c = (out[f"{s}_{unit}"].astype("float64") for s in ("e", "atm", "counter"))
        incl = (e + a) / (e + a + c)
        excl = e / (e + c)
        out[f"rate_atm_{unit}"] = incl.where((e + a + c) > 0)
        out[f"rate_{unit}"] = excl.where((e + c) > 0)
    return out


def shares(values: Mapping[str, float]) -> dict[str, float]:
    """Each value's share of their sum (0 when the sum is 0)."""
    total = float(sum(values.values()))
    return {k: (float(v) / total if total else 0.0) for k, v in values.items()}
