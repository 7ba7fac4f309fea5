"""Group exposure (docs/keyaccounts.md): the maths on a hand-built graph (numbers checkable by
hand), the limits' configuration, and a customer group's connected members from the database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from qiao.analytics.exposure import (
    BREACH,
    NEAR,
    OK,
    ExposureError,
    ExposureLimits,
    compute_exposure,
    connected_groups,
    customer_exposure,
)
from qiao.ingest.services import ingest_file
from tests.ingest.conftest import write

from .test_ingest import FACILITIES, GUARANTEES, LOANS

# Six customers. 1 draws 100 under facility 10 (used 120: 20 more than its loans) and 30 outside
# it; 3 uses 40 of facility 20 with no loan; 2 guarantees 60 of 1's debt and borrows 50; 5
# guarantees 20 of 4's 170; 6 borrows 10. Links: 1–3 control, 4–6 family.
LOANS_H = {
    "customer_id": [1, 1, 2, 4, 6],
    "balance": [100.0, 30.0, 50.0, 170.0, 10.0],
    "facility_id": [10, None, None, None, None],
}
FACILITIES_H = {"facility_id": [10, 20], "customer_id": [1, 3], "used": [120.0, 40.0]}
GUARANTEES_H = {"guarantor_id": [2, 5], "borrower_id": [1, 4], "amount": [60.0, 20.0]}
LINKS_H = {"a": [1, 4], "b": [3, 6], "kind": ["control", "family"]}
LIMITS_H = ExposureLimits(tier_one_capital=1000.0, net_capital=1200.0)


def _hand() -> object:
    return compute_exposure(
        loans=LOANS_H,
        facilities=FACILITIES_H,
        guarantees=GUARANTEES_H,
        links=LINKS_H,
        limits=LIMITS_H,
        industries={1: "制造业", 2: "制造业", 4: "建筑业"},
        top=2,
    )


def test_customer_exposure_counts_each_debt_once() -> None:
    out = customer_exposure(loans=LOANS_H, facilities=FACILITIES_H, guarantees=GUARANTEES_H)
    assert out.to_dict("index") == {
        1: {"loans": 130.0, "facilities": 20.0, "guarantees": 0.0, "exposure": 150.0},
        2: {"loans": 50.0, "facilities": 0.0, "guarantees": 60.0, "exposure": 110.0},
        3: {"loans": 0.0, "facilities": 40.0, "guarantees": 0.0, "exposure": 40.0},
        4: {"loans": 170.0, "facilities": 0.0, "guarantees": 0.0, "exposure": 170.0},
        5: {"loans": 0.0, "facilities": 0.0, "guarantees": 20.0, "exposure": 20.0},
        6: {"loans": 10.0, "facilities": 0.0, "guarantees": 0.0, "exposure": 10.0},
    }


def test_groups_limits_and_concentration_by_hand() -> None:
    r = _hand()
    c = r.customers
    # Groups {1, 2, 3} (control 1–3, guarantee 2→1) and {4, 5, 6} (guarantee 5→4, family 4–6),
    # each named by its smallest member.
    assert c["group"].to_dict() == {1: 1, 2: 1, 3: 1, 4: 4, 5: 4, 6: 4}
    # Single customer ≤ 15 % of 1000: 4 (170) breaches, 1 (150 = 15 %) is near (≥ 120), 2 is not.
    assert c["status"].to_dict() == {1: NEAR, 2: OK, 3: OK, 4: BREACH, 5: OK, 6: OK}
    # Large: above 2.5 % (25).
    assert c["large"].to_dict() == {1: True, 2: True, 3: True, 4: True, 5: False, 6: False}
    # One borrower's loans ≤ 10 % of net capital 1200 (120): 1 (130) and 4 (170) breach.
    assert c["loan_status"].to_dict() == {1: BREACH, 2: OK, 3: OK, 4: BREACH, 5: OK, 6: OK}
    # Group exposure less the guarantees inside: 150 + 110 + 40 − 60 = 240 (24 % > 20 %);
    # 170 + 20 + 10 − 20 = 180 (18 % ≥ 16 %: near).
    assert r.groups[["members", "exposure", "status"]].to_dict("index") == {
        1: {"members": 3, "exposure": 240.0, "status": BREACH},
        4: {"members": 3, "exposure": 180.0, "status": NEAR},
    }
    conc = r.concentration
    assert conc["total"] == 420.0 and conc["total_customers"] == 500.0
    assert conc["top10_customers"] == pytest.approx(320 / 500)  # top 2: 170 + 150
    assert conc["top10_groups"] == pytest.approx(1.0)
    assert conc["by_industry"] == [
        {"industry": "制造业", "exposure": 260.0, "share": pytest.approx(0.52)},
        {"industry": "建筑业", "exposure": 170.0, "share": pytest.approx(0.34)},
        {"industry": "", "exposure": 70.0, "share": pytest.approx(0.14)},
    ]
    assert r.links(1) == [(1, 2, ["guarantee"]), (1, 3, ["control"])]
    assert list(r.members(4).index) == [4, 5, 6]


def test_inputs_as_arrow_and_a_lone_customer() -> None:
    loans = pa.table({"customer_id": pa.array([7], pa.int64()), "balance": [5.0]})
    empty = {"facility_id": [], "customer_id": [], "used": []}
    r = compute_exposure(
        loans=loans,
        facilities=empty,
        guarantees={"guarantor_id": [], "borrower_id": [], "amount": []},
        links={"a": [], "b": []},
        limits=LIMITS_H,
    )
    assert r.customers["group"].to_dict() == {7: 7} and r.groups.empty
    assert r.concentration["total"] == 5.0


@pytest.mark.parametrize("engine", ["networkx", "scipy"])
def test_connected_groups_through_outsiders(engine: str) -> None:
    """A link through a customer with no exposure still connects two who have some."""
    links = {"a": [1, 50, 2], "b": [50, 2, 50], "kind": ["family", "control", "guarantee"]}
    group, edges = connected_groups([1, 2, 9], links, engine=engine)
    assert group.tolist() == [1, 1, 9]
    assert edges.to_dict("list") == {"a": [1, 2], "b": [50, 50], "kinds": [4, 3]}


def test_both_engines_agree_on_a_random_graph() -> None:
    rng = np.random.default_rng(3)
    nodes = np.unique(rng.integers(1, 2000, 1500))
    links = {"a": rng.integers(1, 2500, 1200), "b": rng.integers(1, 2500, 1200)}
    by_nx, _e = connected_groups(nodes, links, engine="networkx")
    by_scipy, _e = connected_groups(nodes, links, engine="scipy")
    assert by_nx.tolist() == by_scipy.tolist()
    assert len(set(by_nx.tolist())) < len(nodes)  # some groups of several
    r = _hand()
    g = r.graph
    assert sorted(g.edges(data="kinds")) == [
        (1, 2, ["guarantee"]), (1, 3, ["control"]), (4, 5, ["guarantee"]), (4, 6, ["family"])
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"loans": {"customer_id": [1]}}, "loans: required column balance missing"),
        ({"loans": {"customer_id": [1], "balance": [-1.0]}}, "loans.balance: must not be negative"),
        ({"loans": {"customer_id": [1], "balance": [float("nan")]}}, "column balance has empty"),
        ({"links": {"a": [1], "b": [2], "kind": ["friend"]}}, "kind 'friend' is not one of"),
        ({"facilities": {"facility_id": [1, 1], "customer_id": [1, 2], "used": [1.0, 1.0]}},
         "facility_id is listed twice"),
    ],
)  # fmt: skip
def test_bad_inputs_are_named(bad: dict, message: str) -> None:
    kwargs = {
        "loans": LOANS_H,
        "facilities": FACILITIES_H,
        "guarantees": GUARANTEES_H,
        "links": LINKS_H,
        "limits": LIMITS_H,
    } | bad
    with pytest.raises(ExposureError, match=message):
        compute_exposure(**kwargs)


def test_limits_from_the_configuration() -> None:
    limits = ExposureLimits.from_config(
        {"capital": {"tier_one": 100, "net": 120}, "limits": {"near_breach": 0.9}}
    )
    assert (limits.single_customer, limits.connected_group, limits.near_breach) == (0.15, 0.2, 0.9)
    with pytest.raises(ExposureError, match="capital.tier_one: is required"):
        ExposureLimits.from_config({"capital": {"net": 1}})
    with pytest.raises(ExposureError, match="limits.single_customer: must be a share"):
        ExposureLimits.from_config(
            {"capital": {"tier_one": 1, "net": 1}, "limits": {"single_customer": 15}}
        )
    with pytest.raises(ExposureError, match="must be a number"):
        ExposureLimits.from_config({"capital": {"tier_one": "lots", "net": 1}})


@pytest.mark.django_db
def test_group_exposure_from_the_database(credit_base: Path, tmp_path: Path, settings) -> None:
    """The demo's links: group G01 (C0000001, C0000002), C0000003 guarantees C0000002 and is
    legally represented by P0000002, the spouse of P0000001: all five are one connected group."""
    from qiao.credit.exposure import exposure_compute, group_exposure
    from qiao.customers.models import CustomerGroup

    for name, text in [
        ("facilities.csv", FACILITIES),
        ("loans.csv", LOANS),
        ("guarantees.csv", GUARANTEES),
    ]:
        assert ingest_file(write(tmp_path, name, text)).ok
    settings.QIAO = {**settings.QIAO, "TIER_ONE_CAPITAL": 22_000_000, "NET_CAPITAL": 30_000_000}
    on = dt.date(2025, 10, 31)
    out = group_exposure(CustomerGroup.objects.get(code="G01").pk, on=on)
    assert out is not None
    members = {m["customer_no"]: m for m in out["members"]}
    assert set(members) == {"C0000001", "C0000002", "C0000003", "P0000001", "P0000002"}
    assert [m["customer_no"] for m in out["members"]][:2] == ["C0000001", "C0000002"]
    # C0000001: 3,000,000 + 200,000 drawn under F001 (used 3,200,000: nothing more).
    assert (members["C0000001"]["loans"], members["C0000001"]["facilities"]) == (3_200_000.0, 0.0)
    # C0000002: 900,000 of loans and a guarantee of 1,500,000 given for C0000001.
    assert (members["C0000002"]["loans"], members["C0000002"]["guarantees"]) == (
        900_000.0,
        1_500_000.0,
    )
    assert members["C0000001"]["in_group"] and not members["P0000001"]["in_group"]
    # 3,200,000 + 900,000 + 30,000 + 80,000: the guarantees are for members' own debts.
    assert out["exposure"] == 4_210_000.0
    assert out["share"] == pytest.approx(4_210_000 / 22_000_000)  # 19.1 %: near the 20 % limit
    assert out["status"] == NEAR and out["large"]
    assert members["C0000001"]["status"] == NEAR  # 14.5 % of tier-one capital
    kinds = {(link["a"], link["b"]): link["kinds"] for link in out["links"]}
    assert kinds[("C0000001", "C0000002")] == ["control", "guarantee"]
    assert kinds[("P0000001", "P0000002")] == ["family"]
    # The bank-wide computation agrees, and a guarantee past its end no longer counts.
    bank = exposure_compute(on=on)
    assert bank.concentration["total"] == 4_210_000.0
    later = exposure_compute(on=dt.date(2026, 3, 1))
    by_id = later.customers["guarantees"].to_dict()
    assert by_id[members["C0000002"]["customer_id"]] == 0.0  # G001 ended on 2026-02-01
    assert by_id[members["C0000003"]["customer_id"]] == 500_000.0  # G002 has no end
    assert group_exposure(999_999) is None
