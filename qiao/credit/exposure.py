"""Group exposure, operational side: gather the credit book as columns and hand it to
:mod:`qiao.analytics.exposure` (docs/keyaccounts.md, "Group exposure").

:func:`exposure_compute` answers for the whole bank (the risk page's breaches and concentration);
:func:`group_exposure` for one customer group (集团) and every customer connected to it: the link
graph is read bank-wide (ids only) and networkx finds the group's connected component; only the
component's loans, facilities and guarantees are read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import networkx as nx
import numpy as np
from django.db.models import Q
from django.utils import timezone

from qiao.analytics.exposure import OK, ExposureResult, compute_exposure, limit_status
from qiao.core.vocab import RELATIONS
from qiao.credit.models import Facility, Guarantee, Loan
from qiao.credit.rules import exposure_limits
from qiao.customers.models import Customer, CustomerGroup, GroupMembership, Relationship

__all__ = ["exposure_compute", "exposure_inputs", "group_exposure", "link_columns"]

_FAMILY = frozenset(RELATIONS.having("family"))
_CONTROL = frozenset(RELATIONS.having("control"))


def _in_force(on: dt.date) -> Q:
    return Q(start_date__lte=on) & (Q(end_date__isnull=True) | Q(end_date__gte=on))


def _cols(rows: list[tuple[Any, ...]], names: list[str], types: list[Any]) -> dict[str, Any]:
    if not rows:
        return {n: np.empty(0, dtype=t) for n, t in zip(names, types, strict=True)}
    cols = list(zip(*rows, strict=True))
    return {n: np.asarray(c, dtype=t) for n, c, t in zip(names, cols, types, strict=True)}


def link_columns(*, on: dt.date | None = None) -> dict[str, Any]:
    """Every link between customers as columns ``a``, ``b``, ``kind``: the members of each
    customer group (to its first member; a family group's links are ``family``, the others
    ``control``), family and control relationships, and the guarantees in force on ``on``."""
    on = on or timezone.localdate()
    a: list[int] = []
    b: list[int] = []
    kind: list[str] = []
    first: dict[int, int] = {}
    for group_id, cid, link in GroupMembership.objects.order_by(
        "group_id", "customer_id"
    ).values_list("group_id", "customer_id", "link_type"):
        head = first.setdefault(group_id, cid)
        if head != cid:
            a.append(head)
            b.append(cid)
            kind.append("family" if link == "FAMILY" else "control")
    for cid, rid, relation in Relationship.objects.filter(
        relation__in=sorted(_FAMILY | _CONTROL)
    ).values_list("customer_id", "related_id", "relation"):
        a.append(cid)
        b.append(rid)
        kind.append("family" if relation in _FAMILY else "control")
    for gid, bid in Guarantee.objects.filter(_in_force(on)).values_list(
        "guarantor_id", "borrower_id"
    ):
        a.append(gid)
        b.append(bid)
        kind.append("guarantee")
    return {
        "a": np.asarray(a, dtype=np.int64),
        "b": np.asarray(b, dtype=np.int64),
        "kind": np.asarray(kind, dtype=object),
    }


def exposure_inputs(
    *, on: dt.date | None = None, customer_ids: Collection[int] | None = None
) -> dict[str, dict[str, Any]]:
    """The loans with a balance (not written off), the facilities in use and the guarantees in force on ``on``, as
    the columns :func:`qiao.analytics.exposure.compute_exposure` reads (of ``customer_ids`` only,
    if given: their loans and facilities, and the guarantees they give or receive)."""
    on = on or timezone.localdate()
    # A loan written off (核销) is off the books: no longer exposure (docs/keyaccounts.md).
    loans = Loan.objects.filter(balance__gt=0, written_off_on__isnull=True)
    facilities = Facility.objects.filter(used__gt=0)
    guarantees = Guarantee.objects.filter(_in_force(on))
    if customer_ids is not None:
        ids = sorted(customer_ids)
        loans = loans.filter(customer_id__in=ids)
        facilities = facilities.filter(customer_id__in=ids)
        guarantees = guarantees.filter(Q(guarantor_id__in=ids) | Q(borrower_id__in=ids))
    loan_rows = [
        (c, -1 if f is None else f, float(bal))
        for c, f, bal in loans.values_list("customer_id", "facility_id", "balance")
    ]
    # … nor does it use its facility any more, whatever the facility's load still says.
    off: dict[int, float] = {}
    for fid, bal in Loan.objects.filter(
        written_off_on__isnull=False, facility__isnull=False, balance__gt=0
    ).values_list("facility_id", "balance"):
        off[fid] = off.get(fid, 0.0) + float(bal)
    fac_rows = [
        (f, c, max(float(u) - off.get(f, 0.0), 0.0))
        for f, c, u in facilities.values_list("id", "customer_id", "used")
    ]
    gua_rows = [
        (g, bw, float(amt))
        for g, bw, amt in guarantees.values_list("guarantor_id", "borrower_id", "amount")
    ]
    return {
        "loans": _cols(
            loan_rows, ["customer_id", "facility_id", "balance"], [np.int64, np.int64, np.float64]
        ),
        "facilities": _cols(
            fac_rows, ["facility_id", "customer_id", "used"], [np.int64, np.int64, np.float64]
        ),
        "guarantees": _cols(
            gua_rows, ["guarantor_id", "borrower_id", "amount"], [np.int64, np.int64, np.float64]
        ),
    }


def _industries(ids: Collection[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    wanted = sorted(ids)
    for i in range(0, len(wanted), 900):
        out.update(
            Customer.objects.filter(pk__in=wanted[i : i + 900]).values_list("pk", "industry")
        )
    return out


def exposure_compute(
    *, on: dt.date | None = None, customer_ids: Collection[int] | None = None
) -> ExposureResult:
    """Exposures, connected groups, limit checks and concentration for the bank (or for
    ``customer_ids``: a set closed under the links, such as one connected group)."""
    on = on or timezone.localdate()
    inputs = exposure_inputs(on=on, customer_ids=customer_ids)
    links = link_columns(on=on)
    keep = links["kind"] != "guarantee"  # compute_exposure links the guarantees itself
    if customer_ids is not None:
        wanted = np.asarray(sorted(customer_ids), dtype=np.int64)
        keep &= np.isin(links["a"], wanted) & np.isin(links["b"], wanted)
    links = {k: v[keep] for k, v in links.items()}
    ids = np.concatenate(
        [
            inputs["loans"]["customer_id"],
            inputs["facilities"]["customer_id"],
            inputs["guarantees"]["guarantor_id"],
            inputs["guarantees"]["borrower_id"],
        ]
    )
    return compute_exposure(
        loans=inputs["loans"],
        facilities=inputs["facilities"],
        guarantees=inputs["guarantees"],
        links=links,
        limits=exposure_limits(),
        industries=_industries(set(ids.tolist())),
    )


def _member(customer: Customer, cid: int, own: set[int], rows: Any) -> dict[str, Any]:
    part = rows.loc[cid] if cid in rows.index else None

    def num(name: str) -> float:
        return float(part[name]) if part is not None else 0.0

    return {
        "customer_id": cid,
        "customer_no": customer.customer_no,
        "name": customer.name,
        "customer_type": customer.customer_type,
        "in_group": cid in own,
        "loans": num("loans"),
        "facilities": num("facilities"),
        "guarantees": num("guarantees"),
        "exposure": num("exposure"),
        "share": num("share"),
        "status": str(part["status"]) if part is not None else OK,
        "large": bool(part["large"]) if part is not None else False,
    }


def group_exposure(group_id: int, *, on: dt.date | None = None) -> dict[str, Any] | None:
    """One customer group and every customer connected to it (control, guarantee, family links):
    the connected group's exposure against its limit, each member's parts (largest first) and the
    links between them (for a picture). ``None`` for an unknown group.

    ``members[*].in_group`` tells the group's own members from the customers connected to them.
    The total counts each debt once (a guarantee given for another member's loan is not added).
    """
    on = on or timezone.localdate()
    group = CustomerGroup.objects.filter(pk=group_id).first()
    if group is None:
        return None
    own = set(GroupMembership.objects.filter(group=group).values_list("customer_id", flat=True))
    links = link_columns(on=on)
    graph: nx.Graph = nx.Graph()
    graph.add_nodes_from(own)
    graph.add_edges_from(zip(links["a"].tolist(), links["b"].tolist(), strict=True))
    component: set[int] = set()
    for node in own:
        if node not in component:
            component |= nx.node_connected_component(graph, node)
    result = exposure_compute(on=on, customer_ids=component)
    limits = result.limits
    customers = {
        c.pk: c
        for c in Customer.objects.filter(pk__in=sorted(component)).only(
            "customer_no", "name", "customer_type"
        )
    }
    members = [_member(customers[cid], cid, own, result.customers) for cid in sorted(component)]
    members.sort(key=lambda m: (-m["exposure"], m["customer_no"]))
    kinds: dict[tuple[int, int], set[str]] = {}
    for x, y, k in zip(
        links["a"].tolist(), links["b"].tolist(), links["kind"].tolist(), strict=True
    ):
        if x != y and x in component and y in component:
            kinds.setdefault((min(x, y), max(x, y)), set()).add(k)
    number = {pk: c.customer_no for pk, c in customers.items()}
    total = float(result.concentration["total"])
    share = total / limits.tier_one_capital
    return {
        "group": {"id": group.pk, "code": group.code, "name": group.name},
        "as_of": on,
        "exposure": total,
        "share": share,
        "limit": limits.connected_group,
        "status": str(limit_status([share], limits.connected_group, limits.near_breach)[0]),
        "large": share > limits.large_exposure,
        "tier_one_capital": limits.tier_one_capital,
        "members": members,
        "links": [
            {"a": number[x], "b": number[y], "kinds": sorted(ks)}
            for (x, y), ks in sorted(kinds.items())
        ],
    }
