"""The customer managers' scorecards: each measure from the lake as of a date, against target,
with a trend over the last months, a weighted score and ranks (issue 17; docs/reports.md,
"Scorecards").

The measures of a CM are those of their *book*, the customers they own (the operational side
passes it as a table ``customer_no, staff_no, tier``: the lake holds no ownership). They follow the
seeds' performance measures (seed 003 L134: asset, liability and intermediary business, customers,
service; seed 001 L669: revenue and client satisfaction):

``aum_avg``
    Daily-average AUM of the book over the period (the accounts of categories with the ``aum``
    flag; a balance row holds until the account's next row, as in the nightly features).
``deposits``
    Daily-average deposits (categories with the ``deposit`` flag) over the period (存款日均).
``loans``
    Loan balance of the book (the credit book is not in the lake: the operational side passes it).
``fee_income``
    Fees charged to the book's customers in the period (transactions of type ``FEE``; 中间业务).
``new_customers``
    Customers of the book who opened with the bank in the period.
``products_per_customer``
    Distinct product categories the book's customers hold on the as-of date, per customer (镶嵌,
    seed 003 L51).
``contacts``
    Contacts with the book's customers in the period (the contact history, ``lake/ref/contacts``).
``coverage``
    Share of the book's customers of the cadence tiers contacted at least once in the period.
``retention``
    Of the book's customers with AUM in the month before the period, the share with AUM in the
    month of the as-of date.
``satisfaction``
    CSAT of the satisfaction surveys that speak about the CM in the period: the share of 4 and 5
    on the 1–5 question (the operational side passes it).

Everything here runs through Ibis (DuckDB by default, Spark alike); the score and the ranks are
plain Python over one row per CM.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends import BaseBackend

from qiao.analytics.features import (
    _f64,
    _ind,
    _local_day,
    _month_index,
    _month_key,
    _months_between,
    add_months,
    day_number,
    month_windows,
)
from qiao.analytics.lake import BALANCE_SCHEMA, _read_partitioned, read_ref, read_transactions
from qiao.core import vocab
from qiao.core.lake import TIME_ZONE, lake_months

__all__ = [
    "MEASURES",
    "MeasureDef",
    "Period",
    "PeriodError",
    "Scorecard",
    "ScorecardConfig",
    "competition_rank",
    "grade_shortfall",
    "load_config",
    "score_cards",
    "staff_actuals",
]

MeasureKind = Literal["money", "count", "ratio", "number"]


@dataclass(frozen=True)
class MeasureDef:
    """A measure: its code, how it is shown, and whether it adds up over time and people.

    ``additive`` measures (flows and counts: fee income, new customers, contacts) split a year's
    target into months by the months' share and an outlet's over its CMs; the others (levels,
    averages, ratios) keep the same value for every month, and a ratio the same for every CM.
    """

    code: str
    kind: MeasureKind
    additive: bool
    #: an outlet's target of a level measure splits over its CMs by their share of the book
    #: (money levels); ratios are copied
    splits_by_book: bool


MEASURES: tuple[MeasureDef, ...] = (
    MeasureDef("aum_avg", "money", False, True),
    MeasureDef("deposits", "money", False, True),
    MeasureDef("loans", "money", False, True),
    MeasureDef("fee_income", "money", True, True),
    MeasureDef("new_customers", "count", True, False),
    MeasureDef("products_per_customer", "number", False, False),
    MeasureDef("contacts", "count", True, False),
    MeasureDef("coverage", "ratio", False, False),
    MeasureDef("retention", "ratio", False, False),
    MeasureDef("satisfaction", "ratio", False, False),
)
MEASURE_CODES: tuple[str, ...] = tuple(m.code for m in MEASURES)
_BY_CODE = {m.code: m for m in MEASURES}

_AUM = tuple(vocab.CATEGORIES.having("aum"))
_DEPOSIT = tuple(vocab.CATEGORIES.having("deposit"))
_FEE = "FEE"
assert _FEE in vocab.TXN_TYPES.codes


# --------------------------------------------------------------------------------------------------
# periods
# --------------------------------------------------------------------------------------------------


class PeriodError(ValueError):
    """A period that is not ``YYYY``, ``YYYY-Qn`` or ``YYYY-MM``."""


PeriodKind = Literal["YEAR", "QUARTER", "MONTH"]
_PERIOD = re.compile(r"^(\d{4})(?:-(?:Q([1-4])|(0[1-9]|1[0-2])))?$")


@dataclass(frozen=True, order=True)
class Period:
    """A calendar year, quarter or month: ``kind`` and its first day."""

    start: _dt.date
    kind: PeriodKind

    @classmethod
    def parse(cls, text: str) -> Period:
        m = _PERIOD.match(text.strip())
        if not m:
            raise PeriodError(f"period {text!r}: use YYYY, YYYY-Qn or YYYY-MM")
        year = int(m.group(1))
        if year < 1900:
            raise PeriodError(f"period {text!r}: year before 1900")
        if m.group(2):
            return cls(_dt.date(year, 3 * int(m.group(2)) - 2, 1), "QUARTER")
        if m.group(3):
            return cls(_dt.date(year, int(m.group(3)), 1), "MONTH")
        return cls(_dt.date(year, 1, 1), "YEAR")

    @classmethod
    def of(cls, day: _dt.date, kind: PeriodKind) -> Period:
        """The period of ``kind`` that holds ``day``."""
        if kind == "YEAR":
            return cls(_dt.date(day.year, 1, 1), kind)
        if kind == "QUARTER":
            return cls(_dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1), kind)
        return cls(day.replace(day=1), kind)

    @property
    def months(self) -> int:
        return {"YEAR": 12, "QUARTER": 3, "MONTH": 1}[self.kind]

    @property
    def end(self) -> _dt.date:
        """The last day."""
        last = add_months(self.start, self.months - 1)
        return last.replace(day=calendar.monthrange(last.year, last.month)[1])

    @property
    def key(self) -> str:
        if self.kind == "YEAR":
            return f"{self.start.year:04d}"
        if self.kind == "QUARTER":
            return f"{self.start.year:04d}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year:04d}-{self.start.month:02d}"

    def parts(self, kind: PeriodKind) -> list[Period]:
        """The periods of a shorter ``kind`` this one is made of (a year's 4 quarters …)."""
        step = {"YEAR": 12, "QUARTER": 3, "MONTH": 1}[kind]
        if step > self.months:
            raise PeriodError(f"a {self.kind.lower()} does not split into {kind.lower()}s")
        return [Period(add_months(self.start, i), kind) for i in range(0, self.months, step)]

    def within(self, kind: PeriodKind) -> Period:
        """The period of a longer (or the same) ``kind`` that holds this one."""
        return Period.of(self.start, kind)

    def __str__(self) -> str:
        return self.key


# --------------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScorecardConfig:
    """``config/scorecard.toml`` validated (weights, the attainment cap, the trend, grades)."""

    weights: Mapping[str, float]
    attainment_cap: float = 1.5
    trend_months: int = 6
    min_grade: Mapping[str, str] = field(default_factory=dict)
    grade_of_role: Mapping[str, str] = field(default_factory=dict)


def load_config(text: str | None = None) -> ScorecardConfig:
    """Read and check the scorecard configuration (the built-in file when ``text`` is None)."""
    if text is None:
        text = (
            resources.files("qiao.analytics.config").joinpath("scorecard.toml").read_text("utf-8")
        )
    raw: dict[str, Any] = tomllib.loads(text)
    weights = {str(k): float(v) for k, v in raw.get("weights", {}).items()}
    unknown = set(weights) - set(MEASURE_CODES)
    if unknown:
        raise ValueError(f"scorecard.toml [weights]: unknown measure {sorted(unknown)[0]!r}")
    if any(w < 0 or not math.isfinite(w) for w in weights.values()):
        raise ValueError("scorecard.toml [weights]: a weight must be a number ≥ 0")
    cap = float(raw.get("attainment_cap", 1.5))
    if not cap >= 1:
        raise ValueError("scorecard.toml attainment_cap must be at least 1")
    trend = int(raw.get("trend_months", 6))
    if not 1 <= trend <= 36:
        raise ValueError("scorecard.toml trend_months must be between 1 and 36")
    grades = set(vocab.GRADES.codes)
    min_grade = {str(k): str(v) for k, v in raw.get("min_grade", {}).items()}
    of_role = {str(k): str(v) for k, v in raw.get("grade_of_role", {}).items()}
    for section, table in (("min_grade", min_grade), ("grade_of_role", of_role)):
        for key, grade in table.items():
            if grade not in grades:
                raise ValueError(f"scorecard.toml [{section}] {key}: unknown grade {grade!r}")
    for tier in min_grade:
        if tier not in vocab.PYRAMID_TIERS.codes:
            raise ValueError(f"scorecard.toml [min_grade]: unknown tier {tier!r}")
    for role in of_role:
        if role not in vocab.ROLES.codes:
            raise ValueError(f"scorecard.toml [grade_of_role]: unknown role {role!r}")
    return ScorecardConfig(weights, cap, trend, min_grade, of_role)


# --------------------------------------------------------------------------------------------------
# the measures from the lake
# --------------------------------------------------------------------------------------------------


def _balance_windows(
    con: BaseBackend, lake: Path, as_of: _dt.date, months: list[Any], accounts: ir.Table
) -> ir.Table:
    """Per account, ``bal_cd_m{k}``: cents × days held in each month window (the features'
    month-average numerators, :func:`qiao.analytics.features._balance_expr`), reading the history
    before the windows as one row per account.

    A balance row holds until the account's next row, so the rows before the first window matter
    only through each account's last one: a hash aggregate (``arg_max`` on date, then load) finds
    it, and only the windows' own rows go through the ordered window (their newest load by an
    ``arg_max`` aggregate too) — rather than every row of every month, as the nightly features do.
    """
    first = months[-1].start  # day number of the first window's first day
    first_day = _dt.date(1970, 1, 1) + _dt.timedelta(days=first)
    wanted = [m for m in lake_months(lake, "balances") if m <= _month_key(as_of)]
    raw = _read_partitioned(con, lake, "balances", BALANCE_SCHEMA, wanted)
    if raw is None:
        return ibis.memtable(pa.table({"account_no": pa.array([], pa.string())})).mutate(
            **{f"bal_cd_m{m.k}": ibis.literal(0.0) for m in months}
        )
    early = raw.filter(raw.balance_date < first_day)
    order = early.balance_date.epoch_days().cast("int64") * 1_000_000_000 + early.load_id
    opening = early.group_by("account_no").aggregate(
        start=early.balance_date.epoch_days().cast("int64").max(),
        cents=(early.balance * 100).cast("int64").argmax(order),
    )
    recent = raw.filter((raw.balance_date >= first_day) & (raw.balance_date <= as_of))
    # The newest load of each (account, day) as an aggregate (arg_max on the load), the same rule
    # as qiao.core.lake.newest_load without its ordered window.
    recent = recent.group_by(["account_no", "balance_date"]).aggregate(
        balance=recent.balance.argmax(recent.load_id)
    )
    rows = opening.select("account_no", "start", "cents", closing=ibis.literal(0, "int64")).union(
        recent.select(
            account_no=recent.account_no,
            start=recent.balance_date.epoch_days().cast("int64"),
            cents=(recent.balance * 100).cast("int64"),
            closing=ibis.literal(0, "int64"),
        )
    )
    closed = accounts.filter(accounts.close_date.notnull() & (accounts.close_date <= as_of))
    rows = rows.union(
        closed.select(
            account_no=closed.account_no,
            start=closed.close_date.epoch_days().cast("int64"),
            cents=ibis.literal(0, "int64"),
            closing=ibis.literal(1, "int64"),
        )
    )
    window = ibis.window(group_by=rows.account_no, order_by=[rows.start, rows.closing])
    after = months[0].end
    iv = rows.select(
        account_no=rows.account_no,
        start=rows.start,
        end=ibis.least(rows.start.lead().over(window).fill_null(after), after),
        cents=rows.cents,
    )
    iv = iv.filter(iv.end > first, iv.end > iv.start, iv.cents != 0)
    aggs: dict[str, ir.Scalar] = {}
    for m in months:
        overlap = ibis.greatest(ibis.least(iv.end, m.end) - ibis.greatest(iv.start, m.start), 0)
        aggs[f"bal_cd_m{m.k}"] = _f64((iv.cents * overlap).sum())
    return iv.group_by("account_no").aggregate(**aggs)


def _day_bounds_utc(first: _dt.date, last: _dt.date, time_zone: str) -> tuple[_dt.datetime, ...]:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(time_zone)
    start = _dt.datetime.combine(first, _dt.time(), zone).astimezone(_dt.UTC)
    end = _dt.datetime.combine(last + _dt.timedelta(days=1), _dt.time(), zone).astimezone(_dt.UTC)
    return start, end


def staff_actuals(
    con: BaseBackend,
    lake: Path,
    *,
    book: pa.Table,
    period: Period,
    as_of: _dt.date,
    cadence_tiers: Iterable[str] = (),
    trend_months: int = 6,
    time_zone: str = TIME_ZONE,
    contacts: pa.Table | None = None,
) -> pa.Table:
    """One row per CM of ``book`` with the lake's measures for ``period`` as of ``as_of``.

    Parameters
    ----------
    book
        ``customer_no, staff_no, tier``: each customer and the CM who owns them (one row per
        customer), with the customer's pyramid tier (for coverage).
    period
        The scorecard's period; its measures run from its first day to the earlier of ``as_of``
        and its last day.
    cadence_tiers
        Tiers whose customers must be contacted (the engagement's cadence rules); coverage is the
        share of those contacted in the period.
    contacts
        ``customer_no, contact_date``: the contact history, when the caller has a fresher one
        than ``lake/ref/contacts`` (the operational side passes the period's contacts).

    Returns
    -------
    pyarrow.Table
        ``staff_no, customers, aum_avg, deposits, fee_income, new_customers,
        products_per_customer, contacts, coverage, retention`` and the trends ``aum_trend``,
        ``deposits_trend``, ``fee_trend`` (lists, oldest month first, ``trend_months`` long).
        A measure that cannot be computed (no customer to cover, no AUM before the period) is
        null.
    """
    for col in ("customer_no", "staff_no", "tier"):
        if col not in book.column_names:
            raise ValueError(f"book: required column {col} missing")
    if as_of < period.start:
        raise ValueError(f"as of {as_of} is before the period {period.key}")
    end = min(as_of, period.end)
    n_period = len(_months_between(period.start, end))
    n = max(trend_months, n_period + 1)
    months = month_windows(end, n)
    period_days = sum(m.days for m in months[:n_period])

    accounts = read_ref(con, lake, "accounts")
    products = read_ref(con, lake, "products")
    customers = read_ref(con, lake, "customers")
    if contacts is None:
        history = read_ref(con, lake, "contacts")
    else:
        for col in ("customer_no", "contact_date"):
            if col not in contacts.column_names:
                raise ValueError(f"contacts: required column {col} missing")
        history = ibis.memtable(contacts.select(["customer_no", "contact_date"]))

    prod = products.select(p_code=products.product_code, category=products.category)
    acc = accounts.left_join(prod, accounts.product_code == prod.p_code).select(
        accounts.account_no,
        accounts.customer_no,
        accounts.open_date,
        accounts.close_date,
        prod.category,
    )
    acc = acc.mutate(
        is_aum=_ind(acc.category.isin(list(_AUM))), is_dep=_ind(acc.category.isin(list(_DEPOSIT)))
    )

    # Balances: the month-average numerators (cents × days) per account, as the features do.
    bal = _balance_windows(con, lake, end, months, acc)
    bal = bal.join(
        acc.select("account_no", a_customer=acc.customer_no, is_aum="is_aum", is_dep="is_dep"),
        "account_no",
    )
    bal_aggs: dict[str, ir.Scalar] = {}
    for m in months:
        cd = bal[f"bal_cd_m{m.k}"]
        bal_aggs[f"aum_m{m.k}"] = _f64((cd * bal.is_aum).sum())
        bal_aggs[f"dep_m{m.k}"] = _f64((cd * bal.is_dep).sum())
    per_cust_bal = bal.group_by(customer_no=bal.a_customer).aggregate(**bal_aggs)

    # Products held on the as-of date: distinct categories of the open accounts.
    held = acc.filter((acc.open_date <= end) & (acc.close_date.isnull() | (acc.close_date > end)))
    per_cust_prod = held.group_by("customer_no").aggregate(n_categories=held.category.nunique())

    # Fees charged in each month window (the local day of the transaction decides).
    first = months[-1].month_end.replace(day=1)
    parts = _months_between(add_months(first, -1), add_months(end, 1))
    txn = read_transactions(con, lake, months=parts)
    lo, hi = _day_bounds_utc(first, end, time_zone)
    fees = txn.filter((txn.txn_type == _FEE) & (txn.txn_time >= lo) & (txn.txn_time < hi))
    fees = fees.select(
        fees.customer_no,
        cents=(fees.amount * 100).cast("int64"),
        k=_month_index(
            _local_day(con, fees.txn_time, time_zone, add_months(first, -1), add_months(end, 1)),
            months,
        ),
    )
    per_cust_fee = fees.group_by("customer_no").aggregate(
        **{f"fee_m{m.k}": _f64((fees.cents * _ind(fees.k == m.k)).sum()) for m in months}
    )

    # Contacts in the period.
    c_day = history.contact_date.epoch_days()
    in_period = (c_day >= day_number(period.start)) & (c_day <= day_number(end))
    per_cust_ctc = history.group_by("customer_no").aggregate(n_contacts=_ind(in_period).sum())

    opened = customers.select(
        customers.customer_no,
        new=_ind(
            customers.open_date.notnull()
            & (customers.open_date >= period.start)
            & (customers.open_date <= end)
        ),
    )

    b = ibis.memtable(book.select(["customer_no", "staff_no", "tier"]))
    b = b.mutate(cadence=_ind(b.tier.isin(list(cadence_tiers) or ["\x00"])))
    t = b
    for part in (per_cust_bal, per_cust_prod, per_cust_fee, per_cust_ctc, opened):
        cols = [part[c] for c in part.columns if c != "customer_no"]
        t = t.left_join(part, t.customer_no == part.customer_no).select(t, *cols)

    period_aum = sum((t[f"aum_m{k}"].fill_null(0) for k in range(n_period)), ibis.literal(0.0))
    period_dep = sum((t[f"dep_m{k}"].fill_null(0) for k in range(n_period)), ibis.literal(0.0))
    period_fee = sum((t[f"fee_m{k}"].fill_null(0) for k in range(n_period)), ibis.literal(0.0))
    before = t[f"aum_m{n_period}"].fill_null(0) > 0
    now = t["aum_m0"].fill_null(0) > 0
    contacted = t.n_contacts.fill_null(0) > 0
    aggs: dict[str, ir.Scalar] = {
        "customers": t.count(),
        "aum_cd": _f64(period_aum.sum()),
        "dep_cd": _f64(period_dep.sum()),
        "fee_cents": _f64(period_fee.sum()),
        "new_customers": t.new.fill_null(0).sum(),
        "n_categories": t.n_categories.fill_null(0).sum(),
        "contacts": t.n_contacts.fill_null(0).sum(),
        "cadence_customers": t.cadence.sum(),
        "covered": (_ind(contacted) * t.cadence).sum(),
        "base": _ind(before).sum(),
        "retained": _ind(before & now).sum(),
    }
    for m in months[:trend_months]:
        aggs[f"aum_t{m.k}"] = _f64(t[f"aum_m{m.k}"].fill_null(0).sum())
        aggs[f"dep_t{m.k}"] = _f64(t[f"dep_m{m.k}"].fill_null(0).sum())
        aggs[f"fee_t{m.k}"] = _f64(t[f"fee_m{m.k}"].fill_null(0).sum())
    raw = t.group_by("staff_no").aggregate(**aggs).order_by("staff_no").to_pyarrow()
    return _finish(raw, months[:trend_months], period_days)


def _finish(raw: pa.Table, trend: Sequence[Any], period_days: int) -> pa.Table:
    """Cents × days into yuan, counts into ratios, the trend columns into lists (oldest first)."""
    rows = raw.to_pylist()
    out: dict[str, list[Any]] = {
        k: []
        for k in (
            "staff_no",
            "customers",
            "aum_avg",
            "deposits",
            "fee_income",
            "new_customers",
            "products_per_customer",
            "contacts",
            "coverage",
            "retention",
            "aum_trend",
            "deposits_trend",
            "fee_trend",
        )
    }
    for r in rows:
        n = int(r["customers"])
        out["staff_no"].append(r["staff_no"])
        out["customers"].append(n)
        out["aum_avg"].append(round(r["aum_cd"] / period_days / 100, 2))
        out["deposits"].append(round(r["dep_cd"] / period_days / 100, 2))
        out["fee_income"].append(round(r["fee_cents"] / 100, 2))
        out["new_customers"].append(int(r["new_customers"]))
        out["products_per_customer"].append(round(r["n_categories"] / n, 4) if n else None)
        out["contacts"].append(int(r["contacts"]))
        cad = int(r["cadence_customers"])
        out["coverage"].append(round(int(r["covered"]) / cad, 4) if cad else None)
        base = int(r["base"])
        out["retention"].append(round(int(r["retained"]) / base, 4) if base else None)
        oldest_first = list(reversed(trend))
        out["aum_trend"].append([round(r[f"aum_t{m.k}"] / m.days / 100, 2) for m in oldest_first])
        out["deposits_trend"].append(
            [round(r[f"dep_t{m.k}"] / m.days / 100, 2) for m in oldest_first]
        )
        out["fee_trend"].append([round(r[f"fee_t{m.k}"] / 100, 2) for m in oldest_first])
    return pa.table(
        out,
        schema=pa.schema(
            [
                ("staff_no", pa.string()),
                ("customers", pa.int64()),
                ("aum_avg", pa.float64()),
                ("deposits", pa.float64()),
                ("fee_income", pa.float64()),
                ("new_customers", pa.int64()),
                ("products_per_customer", pa.float64()),
                ("contacts", pa.int64()),
                ("coverage", pa.float64()),
                ("retention", pa.float64()),
                ("aum_trend", pa.list_(pa.float64())),
                ("deposits_trend", pa.list_(pa.float64())),
                ("fee_trend", pa.list_(pa.float64())),
            ]
        ),
    )


def trend_months_of(as_of: _dt.date, period: Period, n: int) -> list[str]:
    """The ``YYYY-MM`` labels of the trend columns (oldest first)."""
    end = min(as_of, period.end)
    return [f"{m.month_end.year:04d}-{m.month_end.month:02d}" for m in month_windows(end, n)][::-1]


# --------------------------------------------------------------------------------------------------
# score and ranks
# --------------------------------------------------------------------------------------------------


@dataclass
class Scorecard:
    """One CM's scorecard: actuals, targets, attainment, score and ranks."""

    staff_no: str
    unit: str
    actual: dict[str, float | None]
    target: dict[str, float | None]
    attainment: dict[str, float | None]
    score: float | None = None
    rank_unit: int | None = None
    rank_bank: int | None = None
    of_unit: int = 0
    of_bank: int = 0


def competition_rank(values: Sequence[float | None]) -> list[int | None]:
    """Ranks, best (highest) first, ties sharing the better rank ("1224"); ``None`` unranked."""
    ranked = sorted((v for v in values if v is not None), reverse=True)
    first: dict[float, int] = {}
    for i, v in enumerate(ranked):
        first.setdefault(v, i + 1)
    return [None if v is None else first[v] for v in values]


def score_cards(
    actuals: Iterable[Mapping[str, Any]],
    targets: Mapping[tuple[str, str], float],
    config: ScorecardConfig,
) -> list[Scorecard]:
    """Attainment, weighted score and ranks of every CM.

    ``actuals``: one mapping per CM with ``staff_no``, ``unit`` (the rank group: their outlet) and
    a value per measure code (None when unknown). ``targets``: ``(staff_no, measure) → value``.
    A measure's attainment is actual / target, at least 0 and at most the cap; the score is
    100 × the weighted mean attainment over the measures with a weight, a positive target and a
    value (None when there is none). Scores are rounded to 0.01 before ranking, so equal scores
    tie.
    """
    cards: list[Scorecard] = []
    for row in actuals:
        staff_no = str(row["staff_no"])
        actual = {c: _num(row.get(c)) for c in MEASURE_CODES}
        target = {c: targets.get((staff_no, c)) for c in MEASURE_CODES}
        att: dict[str, float | None] = {}
        num = den = 0.0
        for c in MEASURE_CODES:
            a, tg = actual[c], target[c]
            if a is None or tg is None or tg <= 0:
                att[c] = None
                continue
            att[c] = min(max(a / tg, 0.0), config.attainment_cap)
            w = config.weights.get(c, 0.0)
            num += w * att[c]  # type: ignore[operator]
            den += w
        score = round(100 * num / den, 2) if den > 0 else None
        cards.append(Scorecard(staff_no, str(row.get("unit") or ""), actual, target, att, score))
    bank = competition_rank([card.score for card in cards])
    n_bank = sum(1 for card in cards if card.score is not None)
    by_unit: dict[str, list[int]] = {}
    for i, card in enumerate(cards):
        card.rank_bank, card.of_bank = bank[i], n_bank
        by_unit.setdefault(card.unit, []).append(i)
    for members in by_unit.values():
        ranks = competition_rank([cards[i].score for i in members])
        n_unit = sum(1 for i in members if cards[i].score is not None)
        for i, r in zip(members, ranks, strict=True):
            cards[i].rank_unit, cards[i].of_unit = r, n_unit
    return cards


def _num(value: Any) -> float | None:
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def grade_shortfall(
    tier_counts: Mapping[str, int], *, grade: str, role: str, config: ScorecardConfig
) -> dict[str, int]:
    """Customers of a tier owned by a CM below that tier's minimum grade: ``tier → count``.

    A staff member without a grade counts as their role's grade (``[grade_of_role]``), else the
    lowest grade. Seed 003 L132: a CM's grade is matched to their customers' grade; seed 001
    L131–153: the top grade's customers need the senior staff.
    """
    order = {g: i for i, g in enumerate(vocab.GRADES.codes)}
    own = grade or config.grade_of_role.get(role) or vocab.GRADES.codes[0]
    out: dict[str, int] = {}
    for tier, least in config.min_grade.items():
        n = int(tier_counts.get(tier, 0))
        if n and order.get(own, 0) < order[least]:
            out[tier] = n
    return out
