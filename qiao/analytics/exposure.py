"""Credit exposure, connected groups and concentration (issue 16 item 6), without Django.

**Exposure of a customer** = the balances of their loans + what they use of their credit facilities
beyond the loans drawn under them + the guarantees they have given. A loan drawn under a facility
counts once: the facility adds only its use not already a loan (acceptances, letters of credit …),
``max(used − Σ balances of its loans, 0)``. This is Qiao's reading of "loans + used facilities +
guarantees given" (issue 16), made so that nothing is counted twice.

**Connected groups**: customers linked by control (the members of one customer group 集团; a legal
representative, shareholder or key person of a company), by a guarantee (guarantor and borrower)
or by family (spouse, parent, child, sibling, relative) form one group, the connected components of
that graph, found by networkx (:func:`networkx.connected_components`). A group's exposure is the
sum of its members' less the guarantees given by one member for another (that debt is already a
member's loan).

**Limits** (``qiao/credit/config/limits.toml``; how far each figure was checked is in
docs/keyaccounts.md and ../shared/domain/compliance.md §10): exposure to one customer ≤ 15 % and to
a connected group ≤ 20 % of tier-one capital; a large exposure is one above 2.5 % of tier-one
capital; loans to one borrower ≤ 10 % of net capital. A share at or above 80 % of its limit is a
near-breach.

The inputs are columns (a :class:`pyarrow.Table`, a :class:`pandas.DataFrame` or a mapping of
names to arrays); customers are identified by integer ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "BREACH",
    "LINK_KINDS",
    "NEAR",
    "OK",
    "ExposureError",
    "ExposureLimits",
    "ExposureResult",
    "compute_exposure",
    "connected_groups",
    "customer_exposure",
    "limit_status",
    "link_table",
]

#: Limit status of a share: within the limit, near it (≥ near_breach × limit), above it.
OK, NEAR, BREACH = "OK", "NEAR", "BREACH"
#: What ties two customers together in a connected group.
LINK_KINDS = ("control", "guarantee", "family")

Columns = Any  # pa.Table | pd.DataFrame | Mapping[str, array-like]


class ExposureError(ValueError):
    """An input of the exposure computation is malformed (the message names what and why)."""


@dataclass(frozen=True)
class ExposureLimits:
    """The bank's capital (yuan) and its limits as shares of it (0–1).

    Attributes
    ----------
    tier_one_capital, net_capital
        一级资本净额 and 资本净额.
    single_customer, connected_group
        Exposure limits as a share of tier-one capital.
    large_exposure
        Above this share of tier-one capital an exposure is large (to be reported).
    one_borrower
        Loans to one borrower as a share of net capital.
    near_breach
        A share at or above this fraction of its limit is a near-breach.
    """

    tier_one_capital: float
    net_capital: float
    single_customer: float = 0.15
    connected_group: float = 0.20
    large_exposure: float = 0.025
    one_borrower: float = 0.10
    near_breach: float = 0.80

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ExposureLimits:
        """From the ``[capital]`` and ``[limits]`` tables of ``limits.toml``; a missing or bad
        value is an :class:`ExposureError` naming the table and the key."""
        capital = config.get("capital", {})
        limits = config.get("limits", {})
        values: dict[str, float] = {}
        for table, key, name in [
            (capital, "tier_one", "tier_one_capital"),
            (capital, "net", "net_capital"),
        ]:
            values[name] = _number(table, key, "capital", required=True)
        for key in (
            "single_customer",
            "connected_group",
            "large_exposure",
            "one_borrower",
            "near_breach",
        ):
            if key in limits:
                values[key] = _number(limits, key, "limits", required=True)
        out = cls(**values)
        out.check()
        return out

    def check(self) -> None:
        if not (self.tier_one_capital > 0 and self.net_capital > 0):
            raise ExposureError("capital: tier_one and net must be greater than zero")
        for name in (
            "single_customer",
            "connected_group",
            "large_exposure",
            "one_borrower",
            "near_breach",
        ):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ExposureError(f"limits.{name}: must be a share above 0 and at most 1")


def _number(table: Mapping[str, Any], key: str, where: str, *, required: bool) -> float:
    if key not in table:
        raise ExposureError(f"{where}.{key}: is required")
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ExposureError(f"{where}.{key}: must be a number, not {value!r}")
    if not np.isfinite(value):
        raise ExposureError(f"{where}.{key}: must be a finite number")
    return float(value)


# ------------------------------------------------------------------------------ input columns


def _column(
    data: Columns, table: str, name: str, dtype: Any, *, default: Any = None
) -> npt.NDArray[Any]:
    """Column ``name`` of ``data`` as a numpy array of ``dtype``; nulls become ``default``."""
    if data is None:
        return np.empty(0, dtype=dtype)
    if hasattr(data, "column_names"):  # pyarrow
        names = list(data.column_names)
    elif isinstance(data, pd.DataFrame):
        names = list(data.columns)
    else:
        names = list(data)
    if name not in names:
        if default is not None:
            return np.full(_length(data), default, dtype=dtype)
        raise ExposureError(f"{table}: required column {name} missing")
    col = data[name] if not hasattr(data, "column_names") else data.column(name)
    if hasattr(col, "to_pandas"):  # an Arrow (chunked) array
        col = col.to_pandas()
    series = pd.Series(col)
    if series.isna().any():
        if default is None:
            raise ExposureError(f"{table}: column {name} has empty values")
        series = series.fillna(default)
    try:
        values = series.to_numpy(dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ExposureError(f"{table}: column {name} is not {np.dtype(dtype).name}") from exc
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise ExposureError(f"{table}: column {name} has a value that is not a finite number")
    return values


def _length(data: Columns) -> int:
    if hasattr(data, "num_rows"):
        return int(data.num_rows)
    if isinstance(data, pd.DataFrame):
        return len(data)
    return len(next(iter(data.values()))) if data else 0


# ------------------------------------------------------------------------------ the maths


def customer_exposure(*, loans: Columns, facilities: Columns, guarantees: Columns) -> pd.DataFrame:
    """Each customer's exposure and its parts.

    Parameters
    ----------
    loans
        ``customer_id``, ``balance`` and optionally ``facility_id`` (null or −1: not under a
        facility) — the loans with a balance.
    facilities
        ``facility_id``, ``customer_id``, ``used``.
    guarantees
        ``guarantor_id``, ``borrower_id``, ``amount`` — the guarantees in force.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (sorted): ``loans``, ``facilities`` (use beyond the loans
        drawn), ``guarantees`` (given), ``exposure`` (their sum). Every customer named in any
        input has a row.
    """
    l_cust = _column(loans, "loans", "customer_id", np.int64)
    l_bal = _column(loans, "loans", "balance", np.float64)
    l_fac = _column(loans, "loans", "facility_id", np.int64, default=-1)
    f_id = _column(facilities, "facilities", "facility_id", np.int64)
    f_cust = _column(facilities, "facilities", "customer_id", np.int64)
    f_used = _column(facilities, "facilities", "used", np.float64)
    g_from = _column(guarantees, "guarantees", "guarantor_id", np.int64)
    g_to = _column(guarantees, "guarantees", "borrower_id", np.int64)
    g_amt = _column(guarantees, "guarantees", "amount", np.float64)
    for name, values in (("loans.balance", l_bal), ("facilities.used", f_used)):
        if (values < 0).any():
            raise ExposureError(f"{name}: must not be negative")
    if (g_amt < 0).any():
        raise ExposureError("guarantees.amount: must not be negative")
    if len(np.unique(f_id)) != len(f_id):
        raise ExposureError("facilities: a facility_id is listed twice")

    ids = np.unique(np.concatenate([l_cust, f_cust, g_from, g_to]))
    n = len(ids)
    # Drawn under each facility (loans naming an unknown facility count as plain loans).
    f_order = np.argsort(f_id, kind="stable")
    f_sorted = f_id[f_order]
    pos = np.searchsorted(f_sorted, l_fac)
    pos_c = np.minimum(pos, max(len(f_sorted) - 1, 0))
    known = (l_fac >= 0) & (len(f_sorted) > 0)
    if len(f_sorted):
        known &= f_sorted[pos_c] == l_fac
    drawn = np.bincount(pos_c[known], weights=l_bal[known], minlength=len(f_sorted))
    extra = np.zeros(len(f_id))
    extra[f_order] = np.maximum(f_used[f_order] - drawn, 0.0)

    out = pd.DataFrame(
        {
            "loans": np.bincount(np.searchsorted(ids, l_cust), weights=l_bal, minlength=n),
            "facilities": np.bincount(np.searchsorted(ids, f_cust), weights=extra, minlength=n),
            "guarantees": np.bincount(np.searchsorted(ids, g_from), weights=g_amt, minlength=n),
        },
        index=pd.Index(ids, name="customer_id"),
    )
    out["exposure"] = out["loans"] + out["facilities"] + out["guarantees"]
    return out


def link_table(
    a: npt.NDArray[np.int64], b: npt.NDArray[np.int64], kind: npt.NDArray[Any]
) -> pd.DataFrame:
    """The distinct links ``a < b`` (a link to oneself dropped) with ``kinds``: a bit per kind of
    :data:`LINK_KINDS` (1 control, 2 guarantee, 4 family) for every kind that links the two."""
    keep = a != b
    lo = np.minimum(a[keep], b[keep])
    hi = np.maximum(a[keep], b[keep])
    bits = np.left_shift(1, np.asarray(kind, dtype=np.int64)[keep])
    order = np.lexsort((hi, lo))
    lo, hi, bits = lo[order], hi[order], bits[order]
    if len(lo) == 0:
        return pd.DataFrame({"a": lo, "b": hi, "kinds": bits})
    start = np.flatnonzero(np.r_[True, (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])])
    return pd.DataFrame(
        {"a": lo[start], "b": hi[start], "kinds": np.bitwise_or.reduceat(bits, start)}
    )


def connected_groups(
    nodes: npt.ArrayLike, links: Columns, *, engine: str = "networkx"
) -> tuple[npt.NDArray[np.int64], pd.DataFrame]:
    """The connected group of every node: the connected components of the link graph.

    Parameters
    ----------
    nodes
        Customer ids (sorted, unique) that must each get a group, linked or not.
    links
        ``a``, ``b`` (customer ids) and optionally ``kind`` (one of :data:`LINK_KINDS`); a link to
        a customer outside ``nodes`` connects through that customer but gives them no group.
    engine
        ``"networkx"`` (:func:`networkx.connected_components`, the default) or ``"scipy"``
        (:func:`scipy.sparse.csgraph.connected_components`, the same components computed in C:
        bench/bench_risk.py measures both).

    Returns
    -------
    (group, edges)
        ``group[i]`` is the id of ``nodes[i]``'s group: the smallest customer id in it (stable
        from one run to the next); the distinct links (:func:`link_table`).
    """
    node_ids = np.asarray(nodes, dtype=np.int64)
    a = _column(links, "links", "a", np.int64)
    b = _column(links, "links", "b", np.int64)
    kinds = _column(links, "links", "kind", object, default="control")
    bad = sorted(set(pd.unique(kinds).tolist()) - set(LINK_KINDS))
    if bad:
        raise ExposureError(f"links: kind {bad[0]!r} is not one of {', '.join(LINK_KINDS)}")
    code = pd.Categorical(kinds, categories=list(LINK_KINDS)).codes
    edges = link_table(a, b, code)
    lo, hi = edges["a"].to_numpy(), edges["b"].to_numpy()
    group = node_ids.copy()  # a customer alone is their own group
    if engine == "scipy":
        from scipy.sparse import coo_array
        from scipy.sparse.csgraph import connected_components as cc

        universe = np.unique(np.concatenate([node_ids, lo, hi]))
        m = len(universe)
        adj = coo_array(
            (
                np.ones(len(lo), dtype=np.int8),
                (np.searchsorted(universe, lo), np.searchsorted(universe, hi)),
            ),
            shape=(m, m),
        )
        n_comp, label = cc(adj, directed=False)
        head = np.full(n_comp, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(head, label, universe)
        if len(node_ids):
            group = head[label[np.searchsorted(universe, node_ids)]]
        return group, edges
    if engine != "networkx":
        raise ExposureError(f"engine {engine!r} is not networkx or scipy")
    graph: nx.Graph = nx.Graph()
    graph.add_edges_from(zip(lo.tolist(), hi.tolist(), strict=True))
    # Every component (of two or more, linked): its members and their group (the smallest id),
    # placed on ``nodes`` at once.
    members: list[int] = []
    labels: list[int] = []
    for component in nx.connected_components(graph):
        head_id = min(component)
        members.extend(component)
        labels.extend([head_id] * len(component))
    if members and len(node_ids):
        mem = np.asarray(members, dtype=np.int64)
        pos = np.minimum(np.searchsorted(node_ids, mem), len(node_ids) - 1)
        found = node_ids[pos] == mem
        group[pos[found]] = np.asarray(labels, dtype=np.int64)[found]
    return group, edges


def limit_status(share: npt.ArrayLike, limit: float, near_breach: float) -> npt.NDArray[Any]:
    """:data:`BREACH` above ``limit``, :data:`NEAR` at or above ``near_breach × limit``, else
    :data:`OK` (object array)."""
    s = np.asarray(share, dtype=np.float64)
    return np.where(s > limit, BREACH, np.where(s >= near_breach * limit, NEAR, OK)).astype(object)


@dataclass
class ExposureResult:
    """What :func:`compute_exposure` returns.

    Attributes
    ----------
    customers
        Indexed by ``customer_id``: ``loans``, ``facilities``, ``guarantees``, ``exposure``,
        ``group`` (its connected group's id), ``share`` (of tier-one capital), ``status``
        (single-customer limit), ``large``, ``loan_share`` (loans over net capital) and
        ``loan_status`` (one-borrower limit), ``industry`` when given.
    groups
        Connected groups of two or more customers, indexed by ``group``: ``members``,
        ``exposure`` (less the guarantees inside the group), ``share``, ``status``, ``large``;
        largest first.
    concentration
        ``total`` (the bank's: each debt once), ``total_customers`` (Σ customer exposures,
        guarantees included); ``top10_customers`` (share of ``total_customers``),
        ``top10_groups`` (every customer in a group, alone or not; share of ``total``);
        ``by_industry`` (industry → customer exposure and share of ``total_customers``).
    edges
        The distinct links (:func:`link_table`); :attr:`graph` is their networkx graph.
    """

    customers: pd.DataFrame
    groups: pd.DataFrame
    concentration: dict[str, Any]
    limits: ExposureLimits
    edges: pd.DataFrame = field(repr=False)

    @property
    def graph(self) -> nx.Graph:
        """The link graph (networkx), edges carrying their ``kinds`` (for a picture)."""
        graph: nx.Graph = nx.Graph()
        graph.add_edges_from(
            (int(x), int(y), {"kinds": _kind_names(int(bits))})
            for x, y, bits in self.edges.itertuples(index=False)
        )
        return graph

    def members(self, group: int) -> pd.DataFrame:
        """The rows of ``customers`` in ``group``, largest exposure first."""
        rows = self.customers[self.customers["group"] == group]
        return rows.sort_values("exposure", ascending=False, kind="stable")

    def links(self, group: int) -> list[tuple[int, int, list[str]]]:
        """The links inside ``group`` as ``(a, b, kinds)`` (for a picture of the group)."""
        ids = self.members(group).index.to_numpy()
        inside = self.edges[self.edges["a"].isin(ids) & self.edges["b"].isin(ids)]
        return [
            (int(x), int(y), _kind_names(int(bits)))
            for x, y, bits in inside.itertuples(index=False)
        ]


def _kind_names(bits: int) -> list[str]:
    return [k for i, k in enumerate(LINK_KINDS) if bits >> i & 1]


def compute_exposure(
    *,
    loans: Columns,
    facilities: Columns,
    guarantees: Columns,
    links: Columns,
    limits: ExposureLimits,
    industries: Mapping[int, str] | None = None,
    top: int = 10,
    engine: str = "networkx",
) -> ExposureResult:
    """Exposures, connected groups, limit checks and concentration.

    Parameters
    ----------
    loans, facilities, guarantees
        As :func:`customer_exposure`.
    links
        Control and family links as :func:`connected_groups` reads them (``a``, ``b``,
        ``kind``); every guarantee is added as a ``guarantee`` link.
    limits
        The bank's capital and limits.
    industries
        Customer id → industry, for the concentration by industry (others: "").
    top
        How many customers and groups the top concentration counts (10).
    engine
        How the connected components are found (:func:`connected_groups`).
    """
    limits.check()
    cust = customer_exposure(loans=loans, facilities=facilities, guarantees=guarantees)
    g_from = _column(guarantees, "guarantees", "guarantor_id", np.int64)
    g_to = _column(guarantees, "guarantees", "borrower_id", np.int64)
    g_amt = _column(guarantees, "guarantees", "amount", np.float64)
    l_a = _column(links, "links", "a", np.int64)
    l_b = _column(links, "links", "b", np.int64)
    l_k = _column(links, "links", "kind", object, default="control")
    all_links = {
        "a": np.concatenate([l_a, g_from]),
        "b": np.concatenate([l_b, g_to]),
        "kind": np.concatenate([l_k, np.full(len(g_from), "guarantee", dtype=object)]),
    }
    ids = cust.index.to_numpy()
    group, edges = connected_groups(ids, all_links, engine=engine)
    cust["group"] = group
    tier1 = limits.tier_one_capital
    cust["share"] = cust["exposure"] / tier1
    cust["status"] = limit_status(cust["share"], limits.single_customer, limits.near_breach)
    cust["large"] = cust["share"] > limits.large_exposure
    cust["loan_share"] = cust["loans"] / limits.net_capital
    cust["loan_status"] = limit_status(cust["loan_share"], limits.one_borrower, limits.near_breach)
    if industries is not None:
        cust["industry"] = [industries.get(int(i), "") or "" for i in ids]

    # Groups: Σ exposure − guarantees given inside the group (that debt is a member's loan).
    g_grp_from = _group_of(ids, group, g_from)
    g_grp_to = _group_of(ids, group, g_to)
    inside = (g_grp_from == g_grp_to) & (g_grp_from >= 0)
    sums = cust.groupby("group", sort=True).agg(
        members=("exposure", "size"), exposure=("exposure", "sum")
    )
    inner = pd.Series(g_amt[inside]).groupby(g_grp_from[inside]).sum()
    sums["exposure"] = sums["exposure"] - inner.reindex(sums.index, fill_value=0.0)
    groups = sums[sums["members"] >= 2].copy()
    groups["share"] = groups["exposure"] / tier1
    groups["status"] = limit_status(groups["share"], limits.connected_group, limits.near_breach)
    groups["large"] = groups["share"] > limits.large_exposure
    groups = groups.sort_values(["exposure"], ascending=False, kind="stable")

    # The bank's total counts each debt once (no guarantee of a debt already counted); the top
    # customers are measured against the sum of customer exposures, the top groups against it.
    gross = float(cust["exposure"].sum())
    total = float(sums["exposure"].sum())
    by_group = sums.sort_values("exposure", ascending=False, kind="stable")
    concentration: dict[str, Any] = {
        "total": total,
        "total_customers": gross,
        "top10_customers": _share(cust["exposure"].nlargest(top).sum(), gross),
        "top10_groups": _share(by_group["exposure"].head(top).sum(), total),
        "by_industry": _by_industry(cust, gross) if industries is not None else [],
    }
    return ExposureResult(
        customers=cust, groups=groups, concentration=concentration, limits=limits, edges=edges
    )


def _group_of(
    ids: npt.NDArray[np.int64], group: npt.NDArray[np.int64], who: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """The group of each of ``who`` (−1 for an id not in ``ids``)."""
    out = np.full(len(who), -1, dtype=np.int64)
    if len(ids) == 0:
        return out
    pos = np.minimum(np.searchsorted(ids, who), len(ids) - 1)
    found = ids[pos] == who
    out[found] = group[pos[found]]
    return out


def _share(part: float, total: float) -> float:
    return float(part) / total if total > 0 else 0.0


def _by_industry(cust: pd.DataFrame, total: float) -> list[dict[str, Any]]:
    sums = cust.groupby("industry", sort=False)["exposure"].sum()
    sums = sums[sums > 0].sort_values(ascending=False, kind="stable")
    return [
        {"industry": str(k), "exposure": float(v), "share": _share(v, total)}
        for k, v in sums.items()
    ]
