"""Early-warning rules (seed 003 L55): 正常 NORMAL → 关注 WATCH → 可疑 DOUBTFUL → 退出 EXIT.

Django-free: arrays in (one row per customer, aligned by position), the state each customer's
triggers call for and the reasons out. The operational side (``qiao.risk.warnings``) reads the
loans, facilities, guarantees, signals and lists, calls :func:`evaluate_warnings` and turns every
difference from the current state into a *proposal* that a risk manager confirms or rejects.

The rules are plain data (``qiao/risk/config/warning.toml``) validated by
:func:`parse_warning_rules`, whose errors name the section and the field. Every trigger, its
default and why it is set so are in ``docs/keyaccounts.md`` ("Early warning"); the seeds give no
numbers, so every threshold is ours except the overdue floors, which follow the 2023 loan
classification rules as far as they were checked (``compliance.md`` §10).

How the state is found
----------------------
Each trigger that fires names a state; the customer's own state is the worst of them. Then one
hop through the links: a customer whose group co-member, or whose guarantor, is in warning
(their current state or tonight's own state, whichever is worse, at ``WATCH`` or above) is at
least ``linked_state``; the hop is not repeated, so one bad firm does not put a whole guarantee
chain on watch in one night. A customer watched for ``escalate_after_days`` or more whose own
triggers still call for ``WATCH`` is raised to ``DOUBTFUL`` (the seed's "if it does not improve
quickly, raise the warning level"). ``EXIT`` is never left by the rules: leaving it is a
person's decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from qiao.core.vocab import (
    CATEGORIES,
    LOAN_CLASSES,
    SIGNAL_KINDS,
    WARNING_REASONS,
    WARNING_STATES,
)

__all__ = [
    "WarningInputs",
    "WarningResult",
    "WarningRuleError",
    "WarningRules",
    "evaluate_warnings",
    "parse_warning_rules",
]

STATES = WARNING_STATES.codes
#: Reason code → bit in :attr:`WarningResult.reasons`.
REASON_BITS: dict[str, int] = {code: 1 << i for i, code in enumerate(WARNING_REASONS.codes)}
NO_CLASS = -1


class WarningRuleError(ValueError):
    """A warning rule file that cannot be used; the message names the section and field."""


@dataclass(frozen=True)
class WarningRules:
    """The triggers (see the module docstring and docs/keyaccounts.md)."""

    #: Loan class code → state (a class not listed calls for nothing).
    loan_class_states: Mapping[str, str]
    written_off_state: str
    #: (days overdue at least, state), ascending by days.
    overdue_bands: tuple[tuple[int, str], ...]
    deposit_outflow_pct: float
    deposit_outflow_min_base: float
    deposit_outflow_state: str
    aum_decline_pct: float
    aum_decline_months: int
    aum_decline_min_base: float
    aum_decline_state: str
    utilisation_jump_points: float
    utilisation_floor_pct: float
    utilisation_state: str
    #: Signal kind code → state; signals older than ``signal_days`` are not counted.
    signal_states: Mapping[str, str]
    signal_days: int
    linked_state: str
    blacklist_state: str
    escalate_after_days: int
    #: Operational settings carried with the rules (read by qiao.risk, not used here).
    actions: Mapping[str, Any] = field(default_factory=dict)
    #: Settlement-flow decline (``[settlement]``; off when the section is absent): the product
    #: categories of the settlement accounts, the months compared, the fall and the base.
    settlement_categories: tuple[str, ...] = ()
    settlement_decline_pct: float = 100.0
    settlement_months: int = 3
    settlement_min_base: float = 0.0
    settlement_state: str = "NORMAL"


def _state(section: str, key: str, value: Any) -> str:
    if value not in STATES:
        raise WarningRuleError(
            f"[{section}] {key}: {value!r} is not a warning state (one of {', '.join(STATES)})"
        )
    return str(value)


def _number(section: str, key: str, value: Any, *, low: float, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WarningRuleError(f"[{section}] {key}: {value!r} is not a number")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise WarningRuleError(f"[{section}] {key}: {value} must be {bound}")
    return float(value)


def _section(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name)
    if not isinstance(value, Mapping):
        raise WarningRuleError(f"[{name}]: section missing")
    return value


def _get(section: Mapping[str, Any], name: str, key: str) -> Any:
    if key not in section:
        raise WarningRuleError(f"[{name}] {key}: required field missing")
    return section[key]


def parse_warning_rules(data: Mapping[str, Any]) -> WarningRules:
    """Validate the rule file's data (a parsed TOML document) into :class:`WarningRules`."""
    loans = _section(data, "loans")
    classes = _get(loans, "loans", "class_states")
    if not isinstance(classes, Mapping):
        raise WarningRuleError("[loans] class_states: must be a table of loan class = state")
    for code in classes:
        if code not in LOAN_CLASSES:
            raise WarningRuleError(f"[loans] class_states: {code!r} is not a loan class")
    bands_raw = _get(loans, "loans", "overdue_days")
    if not isinstance(bands_raw, Sequence) or isinstance(bands_raw, str):
        raise WarningRuleError("[loans] overdue_days: must be a list of [days, state]")
    bands: list[tuple[int, str]] = []
    for i, band in enumerate(bands_raw):
        if not isinstance(band, Sequence) or isinstance(band, str) or len(band) != 2:
            raise WarningRuleError(f"[loans] overdue_days[{i}]: must be [days, state]")
        days = int(_number("loans", f"overdue_days[{i}]", band[0], low=1))
        bands.append((days, _state("loans", f"overdue_days[{i}]", band[1])))
    if [b[0] for b in bands] != sorted({b[0] for b in bands}):
        raise WarningRuleError("[loans] overdue_days: days must rise strictly")
    dep = _section(data, "deposits")
    aum = _section(data, "assets")
    util = _section(data, "utilisation")
    sig = _section(data, "signals")
    kinds = _get(sig, "signals", "kind_states")
    if not isinstance(kinds, Mapping):
        raise WarningRuleError("[signals] kind_states: must be a table of signal kind = state")
    for code in kinds:
        if code not in SIGNAL_KINDS:
            raise WarningRuleError(f"[signals] kind_states: {code!r} is not a risk signal kind")
    links = _section(data, "links")
    escalate = _section(data, "escalation")
    settle: dict[str, Any] = {}
    if "settlement" in data:
        sec = _section(data, "settlement")
        cats = _get(sec, "settlement", "categories")
        if not isinstance(cats, Sequence) or isinstance(cats, str) or not cats:
            raise WarningRuleError("[settlement] categories: must be a list of product categories")
        for code in cats:
            if code not in CATEGORIES:
                raise WarningRuleError(f"[settlement] categories: {code!r} is not a category")
        settle = {
            "settlement_categories": tuple(str(c) for c in cats),
            "settlement_decline_pct": _number(
                "settlement", "decline_pct", _get(sec, "settlement", "decline_pct"), low=0, high=100
            ),
            "settlement_months": int(
                _number("settlement", "months", _get(sec, "settlement", "months"), low=1, high=12)
            ),
            "settlement_min_base": _number(
                "settlement", "min_base", _get(sec, "settlement", "min_base"), low=0
            ),
            "settlement_state": _state("settlement", "state", _get(sec, "settlement", "state")),
        }
    actions = data.get("actions", {})
    if not isinstance(actions, Mapping):
        raise WarningRuleError("[actions]: must be a table")
    return WarningRules(
        loan_class_states={
            str(k): _state("loans", f"class_states.{k}", v) for k, v in classes.items()
        },
        written_off_state=_state("loans", "written_off", _get(loans, "loans", "written_off")),
        overdue_bands=tuple(bands),
        deposit_outflow_pct=_number(
            "deposits", "outflow_pct", _get(dep, "deposits", "outflow_pct"), low=0, high=100
        ),
        deposit_outflow_min_base=_number(
            "deposits", "min_base", _get(dep, "deposits", "min_base"), low=0
        ),
        deposit_outflow_state=_state("deposits", "state", _get(dep, "deposits", "state")),
        aum_decline_pct=_number(
            "assets", "decline_pct", _get(aum, "assets", "decline_pct"), low=0, high=100
        ),
        aum_decline_months=int(
            _number("assets", "months", _get(aum, "assets", "months"), low=1, high=36)
        ),
        aum_decline_min_base=_number("assets", "min_base", _get(aum, "assets", "min_base"), low=0),
        aum_decline_state=_state("assets", "state", _get(aum, "assets", "state")),
        utilisation_jump_points=_number(
            "utilisation",
            "jump_points",
            _get(util, "utilisation", "jump_points"),
            low=0,
            high=100,
        ),
        utilisation_floor_pct=_number(
            "utilisation", "floor_pct", _get(util, "utilisation", "floor_pct"), low=0, high=100
        ),
        utilisation_state=_state("utilisation", "state", _get(util, "utilisation", "state")),
        signal_states={str(k): _state("signals", f"kind_states.{k}", v) for k, v in kinds.items()},
        signal_days=int(_number("signals", "days", _get(sig, "signals", "days"), low=1)),
        linked_state=_state("links", "state", _get(links, "links", "state")),
        blacklist_state=_state("links", "blacklist_state", _get(links, "links", "blacklist_state")),
        escalate_after_days=int(
            _number("escalation", "after_days", _get(escalate, "escalation", "after_days"), low=1)
        ),
        actions=dict(actions),
        **settle,
    )


IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class WarningInputs:
    """One row per customer (position ``i``); NaN where a figure is unknown.

    ``worst_class``: rank of the customer's worst loan class in ``LOAN_CLASSES`` (-1: no loan);
    ``*_base``: the figure at the start of the comparison window; ``utilisation_*`` in per cent;
    ``current`` and ``days_in_state``: the customer's confirmed state (rank in ``WARNING_STATES``)
    and for how long. ``settlement_now`` / ``settlement_base``: the monthly settlement flow of the
    recent months and of the months before (empty: not read — the trigger does not fire). Signals are pairs (customer position, kind code) already limited to the last
    ``signal_days``; ``group_member``/``group_id`` pair each member position with its group;
    ``guarantor``/``borrower`` pair a guarantor's position with the position of whom it guarantees
    (-1 where the other party is not a customer here).
    """

    worst_class: IntArray
    written_off: BoolArray
    max_overdue: IntArray
    deposits_now: FloatArray
    deposits_base: FloatArray
    aum_now: FloatArray
    aum_base: FloatArray
    utilisation_now: FloatArray
    utilisation_base: FloatArray
    blacklisted: BoolArray
    current: IntArray
    days_in_state: IntArray
    signal_customer: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    signal_kind: Sequence[str] = ()
    group_member: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    group_id: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    guarantor: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    borrower: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    settlement_now: FloatArray = field(default_factory=lambda: np.zeros(0))
    settlement_base: FloatArray = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.current)

    def check(self) -> None:
        n = len(self.current)
        for name in (
            "worst_class",
            "written_off",
            "max_overdue",
            "deposits_now",
            "deposits_base",
            "aum_now",
            "aum_base",
            "utilisation_now",
            "utilisation_base",
            "blacklisted",
            "days_in_state",
        ):
            if len(getattr(self, name)) != n:
                raise ValueError(f"column {name}: {len(getattr(self, name))} rows, expected {n}")
        for name in ("settlement_now", "settlement_base"):
            if len(getattr(self, name)) not in (0, n):
                raise ValueError(f"column {name}: {len(getattr(self, name))} rows, expected {n}")
        if len(self.signal_customer) != len(self.signal_kind):
            raise ValueError("columns signal_customer and signal_kind differ in length")
        if len(self.group_member) != len(self.group_id):
            raise ValueError("columns group_member and group_id differ in length")
        if len(self.guarantor) != len(self.borrower):
            raise ValueError("columns guarantor and borrower differ in length")


@dataclass
class WarningResult:
    """``state``: the rank of the state the triggers call for; ``reasons``: a bit per reason
    (:data:`REASON_BITS`); the ``*_state`` arrays hold what each trigger asked for (-1: nothing),
    so :meth:`reasons_of` can give every reason with its figures."""

    state: IntArray
    reasons: IntArray
    own: IntArray
    inputs: WarningInputs
    rules: WarningRules
    signal_worst_kind: list[str | None]

    def changed(self) -> IntArray:
        """Positions whose called-for state differs from the current one."""
        return np.flatnonzero(self.state != self.inputs.current)

    def reasons_of(self, i: int) -> list[tuple[str, dict[str, Any]]]:
        """The reasons for customer ``i`` as (code, language-neutral parameters), worst first."""
        x, r, bits = self.inputs, self.rules, int(self.reasons[i])
        out: list[tuple[str, str, dict[str, Any]]] = []

        def add(code: str, state: str, params: dict[str, Any]) -> None:
            if bits & REASON_BITS[code]:
                out.append((code, state, params))

        if x.worst_class[i] >= 0:
            cls = LOAN_CLASSES.codes[int(x.worst_class[i])]
            add("LOAN_CLASS", r.loan_class_states.get(cls, "NORMAL"), {"loan_class": cls})
        add("WRITTEN_OFF", r.written_off_state, {})
        days = int(x.max_overdue[i])
        band = [s for d, s in r.overdue_bands if days >= d]
        add("OVERDUE", band[-1] if band else "NORMAL", {"days": days})
        add(
            "DEPOSIT_OUTFLOW",
            r.deposit_outflow_state,
            {
                "pct": _pct_drop(x.deposits_now[i], x.deposits_base[i]),
                "amount": round(float(x.deposits_base[i] - x.deposits_now[i]), 2),
            },
        )
        add(
            "AUM_DECLINE",
            r.aum_decline_state,
            {"pct": _pct_drop(x.aum_now[i], x.aum_base[i]), "months": r.aum_decline_months},
        )
        if len(x.settlement_base):
            add(
                "SETTLEMENT_DECLINE",
                r.settlement_state,
                {
                    "pct": _pct_drop(x.settlement_now[i], x.settlement_base[i]),
                    "months": r.settlement_months,
                    "amount": round(float(x.settlement_base[i]), 2),
                },
            )
        add(
            "UTILISATION_JUMP",
            r.utilisation_state,
            {
                "old": round(float(x.utilisation_base[i]), 1),
                "new": round(float(x.utilisation_now[i]), 1),
            },
        )
        kind = self.signal_worst_kind[i]
        add("RISK_SIGNAL", r.signal_states.get(kind or "", "NORMAL"), {"kind": kind or ""})
        add("BLACKLISTED", r.blacklist_state, {})
        add("LINKED", r.linked_state, {})
        add("NO_IMPROVEMENT", "DOUBTFUL", {"days": int(x.days_in_state[i])})
        add("CLEARED", "NORMAL", {})
        out.sort(key=lambda t: -STATES.index(t[1]))
        return [(code, {"state": state, **params}) for code, state, params in out]


def _pct_drop(now: float, base: float) -> float:
    if not base or np.isnan(base) or np.isnan(now):
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        pct = float((base - now) / base * 100.0)
    return round(pct, 1) if np.isfinite(pct) else 0.0


def _rank(state: str) -> int:
    return STATES.index(state)


def evaluate_warnings(inputs: WarningInputs, rules: WarningRules) -> WarningResult:
    """The state each customer's triggers call for, and why (see the module docstring)."""
    inputs.check()
    n = len(inputs)
    own = np.zeros(n, np.int64)
    reasons = np.zeros(n, np.int64)

    def fire(mask: BoolArray, state: str, code: str) -> None:
        rank = _rank(state)
        if rank == 0:
            return
        own[mask] = np.maximum(own[mask], rank)
        reasons[mask] |= REASON_BITS[code]

    # Loans: the worst class, a write-off, the longest overdue.
    class_rank = np.full(len(LOAN_CLASSES), 0, np.int64)
    for code, state in rules.loan_class_states.items():
        class_rank[LOAN_CLASSES.rank(code)] = _rank(state)
    has_loan = inputs.worst_class >= 0
    by_class = np.where(has_loan, class_rank[np.clip(inputs.worst_class, 0, None)], 0)
    for rank in range(1, len(STATES)):
        fire(by_class == rank, STATES[rank], "LOAN_CLASS")
    fire(inputs.written_off.astype(bool), rules.written_off_state, "WRITTEN_OFF")
    overdue = np.zeros(n, np.int64)
    for days, state in rules.overdue_bands:
        overdue = np.where(inputs.max_overdue >= days, _rank(state), overdue)
    for rank in range(1, len(STATES)):
        fire(overdue == rank, STATES[rank], "OVERDUE")

    # Money leaving: deposits over the window, assets over the months, settlement flows falling
    # month on month, a credit line drawn fast.
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        dep_base = inputs.deposits_base
        dep_drop = (dep_base - inputs.deposits_now) / dep_base * 100.0
        fire(
            (dep_base >= max(rules.deposit_outflow_min_base, 1e-9))
            & (dep_drop >= rules.deposit_outflow_pct),
            rules.deposit_outflow_state,
            "DEPOSIT_OUTFLOW",
        )
        aum_base = inputs.aum_base
        aum_drop = (aum_base - inputs.aum_now) / aum_base * 100.0
        fire(
            (aum_base >= max(rules.aum_decline_min_base, 1e-9))
            & (aum_drop >= rules.aum_decline_pct),
            rules.aum_decline_state,
            "AUM_DECLINE",
        )
        if len(inputs.settlement_base) and rules.settlement_categories:
            s_base = inputs.settlement_base
            s_drop = (s_base - inputs.settlement_now) / s_base * 100.0
            fire(
                (s_base >= max(rules.settlement_min_base, 1e-9))
                & (s_drop >= rules.settlement_decline_pct),
                rules.settlement_state,
                "SETTLEMENT_DECLINE",
            )
        jump = inputs.utilisation_now - inputs.utilisation_base
        fire(
            (jump >= rules.utilisation_jump_points)
            & (inputs.utilisation_now >= rules.utilisation_floor_pct),
            rules.utilisation_state,
            "UTILISATION_JUMP",
        )

    # External signals: the worst kind per customer.
    signal_worst_kind: list[str | None] = [None] * n
    if len(inputs.signal_customer):
        kind_rank = np.array(
            [_rank(rules.signal_states.get(k, "NORMAL")) for k in inputs.signal_kind], np.int64
        )
        worst = np.zeros(n, np.int64)
        np.maximum.at(worst, inputs.signal_customer, kind_rank)
        for rank in range(1, len(STATES)):
            fire(worst == rank, STATES[rank], "RISK_SIGNAL")
        for pos, k, kr in zip(inputs.signal_customer, inputs.signal_kind, kind_rank, strict=True):
            if kr > 0 and kr == worst[pos]:
                signal_worst_kind[int(pos)] = k

    fire(inputs.blacklisted.astype(bool), rules.blacklist_state, "BLACKLISTED")

    # No improvement while watched: still watched by its own triggers after the set days.
    stuck = (
        (inputs.current == _rank("WATCH"))
        & (inputs.days_in_state >= rules.escalate_after_days)
        & (own == _rank("WATCH"))
    )
    fire(stuck, "DOUBTFUL", "NO_IMPROVEMENT")

    # One hop through the links, from each party's worse of current and own.
    called = own.copy()
    warned = np.maximum(own, inputs.current) >= _rank("WATCH")
    linked = np.zeros(n, bool)
    if len(inputs.group_member):
        members, groups = inputs.group_member, inputs.group_id
        ok = members >= 0
        members, groups = members[ok], groups[ok]
        _uniq, gidx = np.unique(groups, return_inverse=True)
        warned_in_group = np.bincount(gidx, weights=warned[members].astype(np.float64))
        # Someone else of the group is in warning (the member itself does not count).
        others = warned_in_group[gidx] - warned[members].astype(np.float64)
        np.logical_or.at(linked, members, others > 0)
    if len(inputs.guarantor):
        g, b = inputs.guarantor, inputs.borrower
        ok = (g >= 0) & (b >= 0)
        g, b = g[ok], b[ok]
        np.logical_or.at(linked, b, warned[g])
    linked_rank = _rank(rules.linked_state)
    hop = linked & (called < linked_rank)
    if linked_rank > 0:
        called[hop] = linked_rank
        reasons[hop] |= REASON_BITS["LINKED"]

    # EXIT is left by a person only; nothing calls for a state: the triggers have cleared.
    exited = inputs.current == _rank("EXIT")
    called[exited] = _rank("EXIT")
    cleared = (called == 0) & (inputs.current > 0)
    reasons[cleared] |= REASON_BITS["CLEARED"]
    return WarningResult(
        state=called,
        reasons=reasons,
        own=own,
        inputs=inputs,
        rules=rules,
        signal_worst_kind=signal_worst_kind,
    )
