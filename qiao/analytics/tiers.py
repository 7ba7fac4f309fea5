"""Tier rule sets as data, tier assignment, and stateless hysteresis by replaying month ends.

Two schemes are built in (``qiao/analytics/config/tiers.toml``):

* ``pyramid`` — the customer pyramid of seed 004 (L28–36): 钻石 DIAMOND, 白金 PLATINUM, 金 GOLD,
  普通 ORDINARY and 限制 RESTRICTED. The seed gives no numbers; the thresholds are ours
  (documented in ``docs/analytics.md``).
* ``deposit`` — the deposit tiers of seed 000 (L29): below 10万 ORDINARY, 10–20万 QUALITY 优质,
  20–30万 KEY 重点, 30万 and more VIP (lower bounds inclusive).

A rule set is plain data — the Django admin copies the TOML into the database and passes it back
as a dict — and :func:`parse_tier_rules` validates it with errors that name the scheme, the tier,
the rule and the field.

Hysteresis without state
------------------------
An upgrade is applied at once; a downgrade only after ``downgrade_after_months`` consecutive month
ends below the current tier, and then to the best tier reached in those months. Instead of storing
the current tier, :func:`replay_tiers` replays the month ends of the history window (the monthly
series computed by :mod:`qiao.analytics.features`) from the oldest, so the result is a pure function
of the features: running twice for the same date gives the same tiers, history and events.
Features with a monthly series (``aum`` → ``aum_m{k}``, ``deposits`` → ``deposits_m{k}``) vary
over the replay; the others (flags, contribution rank) take their value as of the scoring date.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from qiao.analytics.jsonable import jsonable

__all__ = [
    "OPS",
    "Condition",
    "TierResult",
    "TierRule",
    "TierRuleError",
    "TierScheme",
    "assign_tiers",
    "default_tier_rules",
    "mark_blacklisted",
    "parse_tier_rules",
    "replay_tiers",
]

OPS: dict[str, str] = {
    ">=": "≥",
    "≥": "≥",
    ">": ">",
    "<": "<",
    "<=": "≤",
    "≤": "≤",
    "==": "=",
    "between": "between",
}
"""Accepted operators (ASCII or Unicode) → their display symbol."""

_CANONICAL = {"≥": ">=", "≤": "<=", "=": "=="}

FEATURE_LABELS: dict[str, str] = {
    "aum": "AUM",
    "deposits": "deposits",
    "contribution_month": "monthly contribution",
    "contribution_year": "annual contribution",
    "contribution_top_share": "contribution rank share",
    "restricted_flag": "restricted flag",
    "loan_balance": "loan balance",
}


class TierRuleError(ValueError):
    """A tier rule set is malformed; the message names scheme, tier, rule and field."""


@dataclass(frozen=True)
class Condition:
    """One condition ``feature op value`` (``between``: ``low ≤ x < high``)."""

    feature: str
    op: str
    value: float
    high: float | None = None
    label: str | None = None

    def mask(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Rows satisfying the condition (NaN never satisfies it)."""
        with np.errstate(invalid="ignore"):
            if self.op == ">=":
                out = x >= self.value
            elif self.op == ">":
                out = x > self.value
            elif self.op == "<":
                out = x < self.value
            elif self.op == "<=":
                out = x <= self.value
            elif self.op == "==":
                out = x == self.value
            else:
                assert self.high is not None
                out = (x >= self.value) & (x < self.high)
        return np.asarray(out, dtype=bool)

    def as_dict(self) -> dict[str, Any]:
        """The condition as plain data: ``feature, op, value`` (+ ``high``, ``label`` when set)."""
        out: dict[str, Any] = {"feature": self.feature, "op": self.op, "value": self.value}
        if self.high is not None:
            out["high"] = self.high
        if self.label is not None:
            out["label"] = self.label
        return out

    def describe(self) -> str:
        """Plain text, e.g. ``"AUM ≥ 300,000"`` or ``"deposits 100,000 – 200,000"``."""
        name = self.label or FEATURE_LABELS.get(self.feature, self.feature)
        if self.op == "between":
            assert self.high is not None
            return f"{name} {_fmt(self.value)} – {_fmt(self.high)}"
        return f"{name} {OPS[self.op]} {_fmt(self.value)}"


def _fmt(v: float) -> str:
    if float(v).is_integer() and abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:g}"


@dataclass(frozen=True)
class TierRule:
    """A tier: code, labels and the rules (any of them) that put a customer in it.

    ``rules`` is a tuple of alternatives, each a tuple of conditions that must all hold; an empty
    ``rules`` makes the catch-all tier.
    """

    code: str
    label_zh: str
    label_en: str
    rules: tuple[tuple[Condition, ...], ...]
    override: bool = False

    def describe_rule(self, index: int) -> str:
        """Text of rule ``index`` (conditions joined by "and")."""
        if not self.rules or index < 0:
            return "no higher tier's rule holds"
        return " and ".join(c.describe() for c in self.rules[index])

    def conditions(self, index: int) -> list[dict[str, Any]]:
        """Rule ``index`` as plain data (:meth:`Condition.as_dict`); ``[]`` for the catch-all."""
        if not self.rules or index < 0:
            return []
        return [c.as_dict() for c in self.rules[index]]


@dataclass(frozen=True)
class TierScheme:
    """A validated scheme: tiers from the top; override tiers are listed separately."""

    name: str
    label_zh: str
    label_en: str
    tiers: tuple[TierRule, ...]
    downgrade_after_months: int = 3
    source: str = ""

    @property
    def overrides(self) -> tuple[TierRule, ...]:
        return tuple(t for t in self.tiers if t.override)

    @property
    def ranked(self) -> tuple[TierRule, ...]:
        """The non-override tiers from the best (rank 0) to the catch-all."""
        return tuple(t for t in self.tiers if not t.override)

    @property
    def features(self) -> list[str]:
        """Feature columns referenced by the scheme, in first-use order."""
        seen: dict[str, None] = {}
        for tier in self.tiers:
            for rule in tier.rules:
                for cond in rule:
                    seen.setdefault(cond.feature, None)
        return list(seen)

    def tier(self, code: str) -> TierRule:
        """The tier with that code."""
        return next(t for t in self.tiers if t.code == code)

    @property
    def codes(self) -> list[str]:
        """Tier codes ordered for ranking: best first, then the catch-all, then the overrides."""
        return [t.code for t in self.ranked] + [t.code for t in self.overrides]


# --------------------------------------------------------------------------------------------------
# parsing and validation
# --------------------------------------------------------------------------------------------------


def default_tier_rules() -> dict[str, Any]:
    """The built-in rule sets (``qiao/analytics/config/tiers.toml``) as a plain dict."""
    text = resources.files("qiao.analytics.config").joinpath("tiers.toml").read_text("utf-8")
    return tomllib.loads(text)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TierRuleError(f"{where}: field 'value' must be a number, got {value!r}")
    if not math.isfinite(float(value)):
        raise TierRuleError(f"{where}: field 'value' must be finite, got {value!r}")
    return float(value)


def _condition(raw: Any, where: str) -> Condition:
    if not isinstance(raw, Mapping):
        raise TierRuleError(f"{where}: must be a table with feature, op and value")
    unknown = set(raw) - {"feature", "op", "value", "label"}
    if unknown:
        raise TierRuleError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    feature = raw.get("feature")
    if not isinstance(feature, str) or not feature:
        raise TierRuleError(f"{where}: field 'feature' is required (a feature column name)")
    op = raw.get("op")
    if op not in OPS:
        raise TierRuleError(
            f"{where}: field 'op' must be one of {', '.join(sorted(set(OPS)))}; got {op!r}"
        )
    op = _CANONICAL.get(str(op), str(op))
    if "value" not in raw:
        raise TierRuleError(f"{where}: field 'value' is required")
    value = raw["value"]
    label = raw.get("label")
    if label is not None and not isinstance(label, str):
        raise TierRuleError(f"{where}: field 'label' must be text")
    if op == "between":
        if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
            raise TierRuleError(f"{where}: field 'value' of 'between' must be [low, high]")
        low, high = _number(value[0], where), _number(value[1], where)
        if not low < high:
            raise TierRuleError(f"{where}: field 'value' of 'between' needs low < high")
        return Condition(feature, op, low, high, label)
    return Condition(feature, op, _number(value, where), None, label)


def _scheme(name: str, raw: Any) -> TierScheme:
    where = f"scheme {name!r}"
    if not isinstance(raw, Mapping):
        raise TierRuleError(f"{where}: must be a table")
    tiers_raw = raw.get("tiers")
    if not isinstance(tiers_raw, Sequence) or isinstance(tiers_raw, str) or not tiers_raw:
        raise TierRuleError(f"{where}: field 'tiers' must be a non-empty list")
    n_down = raw.get("downgrade_after_months", 3)
    if isinstance(n_down, bool) or not isinstance(n_down, int) or n_down < 1:
        raise TierRuleError(f"{where}: field 'downgrade_after_months' must be an integer ≥ 1")
    tiers: list[TierRule] = []
    seen: set[str] = set()
    for i, t in enumerate(tiers_raw, start=1):
        if not isinstance(t, Mapping):
            raise TierRuleError(f"{where}, tier {i}: must be a table")
        code = t.get("code")
        if not isinstance(code, str) or not code:
            raise TierRuleError(f"{where}, tier {i}: field 'code' is required")
        tw = f"{where}, tier {code!r}"
        if code in seen:
            raise TierRuleError(f"{tw}: field 'code' is duplicated")
        seen.add(code)
        for label in ("label_zh", "label_en"):
            if not isinstance(t.get(label, code), str):
                raise TierRuleError(f"{tw}: field {label!r} must be text")
        override = t.get("override", False)
        if not isinstance(override, bool):
            raise TierRuleError(f"{tw}: field 'override' must be true or false")
        rules_raw = t.get("rules", [])
        if not isinstance(rules_raw, Sequence) or isinstance(rules_raw, str):
            raise TierRuleError(f"{tw}: field 'rules' must be a list")
        rules: list[tuple[Condition, ...]] = []
        for j, r in enumerate(rules_raw, start=1):
            rw = f"{tw}, rule {j}"
            conds = r.get("conditions") if isinstance(r, Mapping) else None
            if not isinstance(conds, Sequence) or isinstance(conds, str) or not conds:
                raise TierRuleError(f"{rw}: field 'conditions' must be a non-empty list")
            rules.append(
                tuple(_condition(c, f"{rw}, condition {k}") for k, c in enumerate(conds, start=1))
            )
        if override and not rules:
            raise TierRuleError(f"{tw}: an override tier needs at least one rule")
        tiers.append(
            TierRule(
                code=code,
                label_zh=str(t.get("label_zh", code)),
                label_en=str(t.get("label_en", code)),
                rules=tuple(rules),
                override=override,
            )
        )
    ranked = [t for t in tiers if not t.override]
    if not ranked:
        raise TierRuleError(f"{where}: needs at least one tier that is not an override")
    catch_all = [t.code for t in ranked if not t.rules]
    if catch_all != [ranked[-1].code]:
        raise TierRuleError(
            f"{where}: exactly one tier without rules (the catch-all) is needed, and it must be "
            f"the last one; found {catch_all or 'none'}"
        )
    return TierScheme(
        name=name,
        label_zh=str(raw.get("label_zh", name)),
        label_en=str(raw.get("label_en", name)),
        tiers=tuple(tiers),
        downgrade_after_months=int(n_down),
        source=str(raw.get("source", "")),
    )


def parse_tier_rules(data: Mapping[str, Any] | None = None) -> dict[str, TierScheme]:
    """Validate a rule-set dict (as in ``tiers.toml``) into :class:`TierScheme` objects.

    Parameters
    ----------
    data
        ``{"schemes": {name: {...}}}`` (or the ``schemes`` mapping itself); ``None`` for the
        built-in rules.

    Returns
    -------
    dict of str to TierScheme

    Raises
    ------
    TierRuleError
        With the scheme, tier, rule, condition and field at fault.
    """
    if data is None:
        data = default_tier_rules()
    if not isinstance(data, Mapping):
        raise TierRuleError("tier rules must be a mapping with a 'schemes' table")
    schemes = data.get("schemes", data)
    if not isinstance(schemes, Mapping) or not schemes:
        raise TierRuleError("tier rules: 'schemes' must be a non-empty table")
    return {str(name): _scheme(str(name), raw) for name, raw in schemes.items()}


# --------------------------------------------------------------------------------------------------
# assignment
# --------------------------------------------------------------------------------------------------


def _values(
    frame: Mapping[str, Any] | pd.DataFrame, feature: str, where: str
) -> npt.NDArray[np.float64]:
    if feature not in frame:
        known = ", ".join(sorted(map(str, frame.keys())))
        raise TierRuleError(
            f"{where}: feature {feature!r} is not a feature column (known: {known})"
        )
    return np.asarray(frame[feature], dtype=np.float64)


def assign_tiers(
    features: Mapping[str, Any] | pd.DataFrame, scheme: TierScheme
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The raw tier of every row (no hysteresis).

    Parameters
    ----------
    features
        Feature columns (a DataFrame or a mapping of column → array).
    scheme
        A validated scheme.

    Returns
    -------
    tiers, rules : numpy.ndarray
        Index into :attr:`TierScheme.codes` and index of the matching rule of that tier (−1 for the
        catch-all).
    """
    n = len(features) if isinstance(features, pd.DataFrame) else len(next(iter(features.values())))
    codes = scheme.codes
    tier = np.full(n, -1, dtype=np.int64)
    rule = np.full(n, -1, dtype=np.int64)
    order = list(scheme.overrides) + list(scheme.ranked)
    for t in order:
        idx = codes.index(t.code)
        free = tier < 0
        if not t.rules:
            tier[free] = idx
            continue
        for j, alternative in enumerate(t.rules):
            ok = free.copy()
            for c, cond in enumerate(alternative, start=1):
                where = f"scheme {scheme.name!r}, tier {t.code!r}, rule {j + 1}, condition {c}"
                ok &= cond.mask(_values(features, cond.feature, where))
            tier[ok] = idx
            rule[ok] = j
            free &= ~ok
    return tier, rule


# --------------------------------------------------------------------------------------------------
# replay with hysteresis
# --------------------------------------------------------------------------------------------------


@dataclass
class TierResult:
    """What :func:`replay_tiers` returns for one scheme.

    Attributes
    ----------
    scheme : TierScheme
    current : pandas.DataFrame
        Indexed by customer_no: ``tier``, ``raw_tier`` (without hysteresis), ``rule`` (text of
        the rule that put the customer in the tier), ``rule_index`` (that rule's index in the
        tier's ``rules``, −1 for the catch-all), ``since`` (month end the tier started, within
        the window), ``held_by_hysteresis``, ``months_below``.
    history : pandas.DataFrame
        The tier path: ``customer_no, month_end, scheme, tier, raw_tier`` for every month end of the
        window (categorical columns, oldest first).
    events : pandas.DataFrame
        ``customer_no, event_date, kind`` (TIER_UP / TIER_DOWN), ``scheme, from_tier, to_tier``.
    values : dict of str to numpy.ndarray
        The current value of every feature the scheme uses (for the "why").
    """

    scheme: TierScheme
    current: pd.DataFrame
    history: pd.DataFrame
    events: pd.DataFrame
    values: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)

    def why(self, customer_no: str) -> dict[str, Any]:
        """The explanation of one customer's tier (see :meth:`why_records`)."""
        pos = int(self.current.index.get_loc(customer_no))
        return self._why_at(pos)

    def _why_at(self, pos: int) -> dict[str, Any]:
        row = self.current.iloc[pos]
        tier = self.scheme.tier(str(row["tier"]))
        conditions = [
            {**c, "actual": jsonable(float(self.values[c["feature"]][pos]))}
            for c in tier.conditions(int(row["rule_index"]))
        ]
        out: dict[str, Any] = {
            "scheme": self.scheme.name,
            "tier": str(row["tier"]),
            "rule": str(row["rule"]),
            "conditions": conditions,
            "values": {k: jsonable(float(v[pos])) for k, v in self.values.items()},
            "since": row["since"].isoformat() if row["since"] is not None else None,
            "held_by_hysteresis": bool(row["held_by_hysteresis"]),
            "months_below": int(row["months_below"]),
        }
        if out["held_by_hysteresis"]:
            out["raw_tier"] = str(row["raw_tier"])
        return out

    def why_records(self) -> list[dict[str, Any]]:
        """One "why" dict per customer, in index order: ``{scheme, tier, rule, conditions,
        values, since, held_by_hysteresis, months_below}`` (+ ``raw_tier`` when held by
        hysteresis).

        ``rule`` is English text; ``conditions`` is the same rule in a language-neutral form, a
        list of ``{feature, op, value, actual}`` (+ ``high`` for ``between``, ``label`` when the
        rule set gives one; ``actual`` is the customer's current value, ``null`` if unknown),
        empty for the catch-all tier."""
        return [self._why_at(i) for i in range(len(self.current))]

    def why_json(self) -> list[str]:
        """The "why" of every customer as compact JSON text (see :meth:`why_json_arrow`)."""
        return list(self.why_json_arrow().to_pylist())

    def why_json_arrow(self) -> Any:
        """The "why" of every customer as compact JSON text, an Arrow string array.

        Vectorised: the pieces of every customer's object are columns (constants broadcast) joined
        by Arrow in C — 1 M customers in about a second; joining them per customer in Python took
        five.
        """
        cur = self.current
        n = len(cur)
        tier_json = np.array([json.dumps(str(c)) for c in cur["tier"].cat.categories], dtype=object)
        tier = tier_json[cur["tier"].cat.codes.to_numpy()]
        raw = tier_json[cur["raw_tier"].cat.codes.to_numpy()]
        rules = np.asarray(_json_strings(cur["rule"].to_numpy()), dtype=object)
        since = np.asarray(
            ['"' + d.isoformat() + '"' if d is not None else "null" for d in cur["since"]],
            dtype=object,
        )
        held = cur["held_by_hysteresis"].to_numpy(dtype=bool)
        below = pc.cast(pa.array(cur["months_below"].to_numpy(dtype=np.int64)), pa.string())
        pieces: list[Any] = [
            f'{{"scheme":{json.dumps(self.scheme.name)},"tier":',
            pa.array(tier, pa.string()),
            ',"rule":',
            pa.array(rules, pa.string()),
            ',"conditions":',
            pa.array(self._conditions_json(), pa.string()),
            ',"values":{',
        ]
        for j, (key, values) in enumerate(self.values.items()):
            pieces.append(f"{',' if j else ''}{json.dumps(key)}:")
            pieces.append(_json_numbers(values))
        pieces += [
            '},"since":',
            pa.array(since, pa.string()),
            pa.array(np.where(held, ',"held_by_hysteresis":true', ',"held_by_hysteresis":false')),
            ',"months_below":',
            below,
            pa.array(np.where(held, ',"raw_tier":' + raw.astype(str), "")),
            "}",
        ]
        if n == 0:
            return pa.array([], pa.string())
        return join_text(pieces)

    def _conditions_json(self) -> npt.NDArray[np.object_]:
        """``conditions`` of every customer as JSON text, built per (tier, rule) group."""
        cur = self.current
        out = np.full(len(cur), "[]", dtype=object)
        tier_idx = cur["tier"].cat.codes.to_numpy()
        rule_idx = cur["rule_index"].to_numpy(dtype=np.int64)
        actual = {f: _json_numbers(v) for f, v in self.values.items()}
        for i, code in enumerate(cur["tier"].cat.categories):
            tier = self.scheme.tier(str(code))
            in_tier = tier_idx == i
            for j in np.unique(rule_idx[in_tier]):
                conds = tier.conditions(int(j))
                if not conds:
                    continue
                rows = np.flatnonzero(in_tier & (rule_idx == j))
                pieces: list[Any] = ["["]
                for k, c in enumerate(conds):
                    head = (
                        json.dumps(c, ensure_ascii=False, separators=(",", ":"))[:-1] + ',"actual":'
                    )
                    pieces += [("," if k else "") + head, actual[c["feature"]].take(rows), "}"]
                pieces.append("]")
                out[rows] = join_text(pieces).to_numpy(zero_copy_only=False)
        return out


def join_text(pieces: Sequence[Any]) -> Any:
    """Concatenate, element by element, string arrays of one length (Arrow arrays, chunked or
    not) and constant strings; an Arrow array, chunked when a piece was."""
    return pc.binary_join_element_wise(
        *[
            p if isinstance(p, pa.Array | pa.ChunkedArray) else pa.scalar(p, pa.string())
            for p in pieces
        ],
        "",
    )


def _json_numbers(values: npt.NDArray[np.float64]) -> Any:
    """JSON text of each number, an Arrow string array formatted by Arrow in C: whole numbers
    below 2**53 as integers, others in their shortest round-trip form, ``null`` for NaN and
    infinities."""
    x = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(x)
    whole = finite & (x == np.round(x)) & (np.abs(x) < 2**53)
    as_int = pc.cast(pa.array(np.where(whole, x, 0.0).astype(np.int64)), pa.string())
    as_float = pc.cast(pa.array(np.where(finite, x, 0.0)), pa.string())
    text = pc.if_else(pa.array(whole), as_int, as_float)
    return pc.if_else(pa.array(finite), text, pa.scalar("null", pa.string()))


def _json_strings(values: npt.NDArray[Any]) -> list[str]:
    cache: dict[str, str] = {}
    out = []
    for v in values:
        s = str(v)
        if s not in cache:
            cache[s] = json.dumps(s, ensure_ascii=False)
        out.append(cache[s])
    return out


def _month_frame(
    features: pd.DataFrame, scheme: TierScheme, k: int
) -> dict[str, npt.NDArray[np.float64]]:
    """Feature values at month k: the monthly series where one exists, else the current value."""
    out: dict[str, npt.NDArray[np.float64]] = {}
    for feature in scheme.features:
        col = f"{feature}_m{k}"
        if col in features.columns:
            out[feature] = features[col].to_numpy(dtype=np.float64)
        elif feature in features.columns:
            out[feature] = features[feature].to_numpy(dtype=np.float64)
        else:
            known = ", ".join(sorted(map(str, features.columns)))
            raise TierRuleError(
                f"scheme {scheme.name!r}: feature {feature!r} is not a feature column "
                f"(known: {known})"
            )
    if not out:
        out["_n"] = np.zeros(len(features))
    return out


def replay_tiers(
    features: pd.DataFrame,
    scheme: TierScheme,
    month_ends: Sequence[_dt.date],
) -> TierResult:
    """Tier path with hysteresis over the month ends of the history window.

    Parameters
    ----------
    features
        Indexed by customer_no; the scheme's features, with monthly series ``<feature>_m{k}``
        where they exist (k = 0 is the scoring date).
    scheme
        A validated scheme.
    month_ends
        ``month_ends[k]`` is the date of month k (``month_ends[0]`` = as_of); the replay runs from
        the oldest (the last element) to k = 0.

    Returns
    -------
    TierResult
    """
    n = len(features)
    n_months = len(month_ends)
    codes = scheme.codes
    n_ranked = len(scheme.ranked)
    override = np.array([i >= n_ranked for i in range(len(codes))], dtype=bool)
    limit = scheme.downgrade_after_months

    raw = np.empty((n_months, n), dtype=np.int64)
    raw_rule = np.empty((n_months, n), dtype=np.int64)
    for k in range(n_months):
        raw[k], raw_rule[k] = assign_tiers(_month_frame(features, scheme, k), scheme)

    held = np.empty((n_months, n), dtype=np.int64)  # in replay order: row 0 = oldest month
    cur = np.empty(n, dtype=np.int64)
    cur_rule = np.empty(n, dtype=np.int64)
    since = np.zeros(n, dtype=np.int64)  # replay step at which the current tier started
    below = np.zeros(n, dtype=np.int64)
    for step, k in enumerate(range(n_months - 1, -1, -1)):
        r, rr = raw[k], raw_rule[k]
        if step == 0:
            cur[:], cur_rule[:], since[:], below[:] = r, rr, 0, 0
            held[0] = cur
            continue
        prev = cur.copy()
        jump = override[r] | override[cur] | (r < cur)  # overrides and upgrades apply at once
        same = ~jump & (r == cur)
        worse = ~jump & (r > cur)
        cur[jump], cur_rule[jump] = r[jump], rr[jump]
        below[jump | same] = 0
        below[worse] += 1
        due = worse & (below >= limit)
        if due.any():
            # Downgrade to the best raw tier of the last `limit` month ends (all below cur).
            window = raw[k : k + limit][:, due]
            best_pos = np.argmin(window, axis=0)
            cols = np.flatnonzero(due)
            new = window[best_pos, np.arange(len(cols))]
            cur[due] = new
            cur_rule[due] = raw_rule[k : k + limit][:, due][best_pos, np.arange(len(cols))]
            # months still below the new tier, counted back from now
            still = np.zeros(len(cols), dtype=np.int64)
            running = np.ones(len(cols), dtype=bool)
            for back in range(limit):
                running &= raw[k + back][due] > new
                still += running
            below[due] = still
        since[cur != prev] = step
        held[step] = cur

    # ---- outputs ----
    index = features.index
    ends = list(reversed(list(month_ends)))  # replay order
    cat = pd.CategoricalDtype(codes)
    rule_text = np.empty(n, dtype=object)
    for i, code in enumerate(codes):
        tier = next(t for t in scheme.tiers if t.code == code)
        mask = cur == i
        for j in np.unique(cur_rule[mask]):
            rule_text[mask & (cur_rule == j)] = tier.describe_rule(int(j))
    current = pd.DataFrame(
        {
            "tier": pd.Categorical.from_codes(cur, dtype=cat),
            "raw_tier": pd.Categorical.from_codes(raw[0], dtype=cat),
            "rule": rule_text,
            "rule_index": cur_rule,
            "since": np.asarray([ends[s] for s in since], dtype=object) if n else [],
            "held_by_hysteresis": raw[0] > cur,
            "months_below": below,
        },
        index=index,
    )
    cust = pd.Categorical.from_codes(
        np.tile(np.arange(n), n_months), categories=pd.Index(index, dtype=object)
    )
    history = pd.DataFrame(
        {
            "customer_no": cust,
            "month_end": np.repeat(np.asarray(ends, dtype="datetime64[D]"), n),
            "scheme": pd.Categorical.from_codes(
                np.zeros(n * n_months, dtype=np.int8), categories=[scheme.name]
            ),
            "tier": pd.Categorical.from_codes(held.reshape(-1), dtype=cat),
            "raw_tier": pd.Categorical.from_codes(raw[::-1].reshape(-1), dtype=cat),
        }
    )
    events = _events(held, ends, index, scheme, codes, n_ranked)
    values = {f: _month_frame(features, scheme, 0)[f] for f in scheme.features}
    return TierResult(scheme=scheme, current=current, history=history, events=events, values=values)


def _events(
    held: npt.NDArray[np.int64],
    ends: list[_dt.date],
    index: pd.Index,
    scheme: TierScheme,
    codes: list[str],
    n_ranked: int,
) -> pd.DataFrame:
    """TIER_UP / TIER_DOWN for every change along the path (override tiers rank lowest)."""
    if held.shape[0] < 2 or held.shape[1] == 0:
        return pd.DataFrame(
            columns=["customer_no", "event_date", "kind", "scheme", "from_tier", "to_tier"]
        )
    rank = np.where(np.arange(len(codes)) >= n_ranked, len(codes), np.arange(len(codes)))
    before, after = held[:-1], held[1:]
    step, cust = np.nonzero(before != after)
    frm, to = before[step, cust], after[step, cust]
    code_arr = np.asarray(codes, dtype=object)
    return pd.DataFrame(
        {
            "customer_no": np.asarray(index, dtype=object)[cust],
            "event_date": np.asarray(ends, dtype=object)[step + 1],
            "kind": np.where(rank[to] < rank[frm], "TIER_UP", "TIER_DOWN"),
            "scheme": scheme.name,
            "from_tier": code_arr[frm],
            "to_tier": code_arr[to],
        }
    )


def mark_blacklisted(features: pd.DataFrame, customer_nos: Collection[str]) -> int:
    """The 限制 tier's blacklist branch: the customers of ``customer_nos`` (indexed by number,
    as ``features``) get ``blacklisted`` and ``restricted_flag`` = 1, the feature the default
    pyramid's override tier reads (``config/tiers.toml``), so they fall into 限制 at this scoring;
    the next-best products skip them for the same flag. The operational side passes the customers
    on the blacklist now (``qiao.credit.selectors.blacklisted_customer_nos``). Returns how many of
    them were scored."""
    hit = features.index.isin(list(customer_nos))
    if "blacklisted" in features.columns:
        features["blacklisted"] = features["blacklisted"].astype(bool) | hit
    else:
        features["blacklisted"] = hit
    if "restricted_flag" not in features.columns:
        features["restricted_flag"] = 0.0
    features.loc[hit, "restricted_flag"] = 1.0
    return int(hit.sum())
