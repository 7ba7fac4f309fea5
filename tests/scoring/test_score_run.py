"""``qiao score`` end to end on a small generated bank: snapshots, tiers on customers, events,
status, and idempotence for a date."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.db import connection

from qiao.cli import main
from qiao.customers.models import Customer, CustomerStanding
from qiao.demo.generate import generate_bank
from qiao.ingest.services import ingest_paths
from qiao.scoring.models import ScoreEvent, ScoreSnapshot, TierHistory
from qiao.scoring.services import score_run

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 10, 31)


@pytest.fixture
def small_bank(tmp_path: Path) -> Path:
    out = tmp_path / "extracts"
    generate_bank(out, customers=600, months=12, seed=3, as_of=AS_OF)
    results = ingest_paths([out])
    assert all(r.ok and r.rejected == 0 for r in results), [r.summary() for r in results]
    return out


def test_scoring_writes_a_snapshot_per_customer_and_is_idempotent(small_bank: Path, capsys) -> None:
    run = score_run(as_of=AS_OF)
    assert run.ok and run.customers == Customer.objects.count() == 600
    snaps = ScoreSnapshot.objects.filter(as_of=AS_OF)
    assert snaps.count() == 600
    # Every customer has a tier with its why, and the list columns were copied onto customers.
    assert not snaps.filter(tier_pyramid="").exists()
    assert all(s.tier_why for s in snaps[:50])
    # JSON columns hold JSON values, not JSON text in a string (the pipeline's text is written as is)
    assert all(isinstance(s.tier_why, dict) and isinstance(s.cross_sell, list) for s in snaps[:50])
    assert all(isinstance(s.attrition_reasons, list) for s in snaps[:50])
    # Each customer's standing (what the lists sort and filter by) is their snapshot's.
    standings = {
        s.customer_id: (s.aum, s.tier, s.contribution, s.as_of)
        for s in CustomerStanding.objects.all()
    }
    assert standings == {
        s.customer_id: (s.aum, s.tier_pyramid, s.contribution_year, AS_OF) for s in snaps
    }
    richest = Customer.objects.order_by("-standing__aum").first()
    assert richest is not None and richest.aum > 0
    assert TierHistory.objects.exists()
    if connection.vendor == "postgresql":  # migration scoring/0004: LZ4 for the JSON columns
        with connection.cursor() as cur:
            cur.execute(
                "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = "
                "'scoring_scoresnapshot'::regclass AND attname IN ('features', 'tier_why')"
            )
            assert dict(cur.fetchall()) == {"features": "l", "tier_why": "l"}
    events_before = ScoreEvent.objects.count()
    history_before = TierHistory.objects.count()

    again = score_run(as_of=AS_OF)
    assert again.ok
    assert ScoreSnapshot.objects.filter(as_of=AS_OF).count() == 600
    assert ScoreEvent.objects.count() == events_before
    assert TierHistory.objects.count() == history_before

    # Scoring an earlier date (a backfill) keeps the standings of the latest one.
    assert score_run(as_of=dt.date(2026, 1, 31)).ok
    assert {
        s.customer_id: (s.aum, s.tier, s.contribution, s.as_of)
        for s in CustomerStanding.objects.all()
    } == standings

    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["scored_customers"] == 600
    assert status["last_score_as_of"] == AS_OF.isoformat()
    assert sum(status["tiers"].values()) == 600


def test_the_360_chart_from_the_scoring_equals_the_lake_reader(small_bank: Path) -> None:
    """The 360 draws the AUM chart from the nightly snapshot (one row) instead of 24 monthly
    lake files: the two must give the same months and amounts for the scoring's date."""
    from qiao.customers.lake_views import customer_aum_trend
    from qiao.customers.selectors import customer_accounts
    from qiao.scoring.selectors import customer_aum_trend_scored

    assert score_run(as_of=AS_OF).ok
    richest = list(Customer.objects.order_by("-standing__aum")[:5])
    for customer in richest:
        snapshot = ScoreSnapshot.objects.get(customer=customer, as_of=AS_OF)
        assert len(snapshot.features["aum_series"]) == 24
        scored = customer_aum_trend_scored(snapshot)
        lake = customer_aum_trend(
            customer_no=customer.customer_no, accounts=customer_accounts(customer), as_of=AS_OF
        )
        assert scored is not None and len(scored) >= 6 and scored[-1]["month"] == "2026-10"
        assert [m["month"] for m in scored] == [m["month"] for m in lake]
        for ours, theirs in zip(scored, lake, strict=True):
            assert ours["aum"] == pytest.approx(theirs["aum"], abs=0.02), ours["month"]


def test_tier_history_is_kept_at_its_change_points() -> None:
    import pandas as pd

    from qiao.scoring.services import _tier_changes

    ends = [dt.date(2026, 8, 31), dt.date(2026, 9, 30), dt.date(2026, 10, 31)]
    rows = [
        ("A", ends[2], "PLATINUM"),
        ("B", ends[0], "ORDINARY"),
        ("A", ends[0], "GOLD"),
        ("C", ends[0], "GOLD"),  # no longer in the database
        ("A", ends[1], "GOLD"),
        ("B", ends[2], "ORDINARY"),
        ("B", ends[1], "ORDINARY"),
    ]
    frame = pd.DataFrame(rows, columns=["customer_no", "month_end", "tier"])
    frame["month_end"] = pd.to_datetime(frame["month_end"])
    frame["scheme"] = "pyramid"
    got = sorted(
        (r["customer_id"], r["month_end"], r["scheme"], r["tier"])
        for r in _tier_changes(frame, {"A": 1, "B": 2}).to_pylist()
    )
    assert got == [
        (1, ends[0], "pyramid", "GOLD"),
        (1, ends[2], "pyramid", "PLATINUM"),
        (2, ends[0], "pyramid", "ORDINARY"),
    ]


def test_event_rows_for_the_copy() -> None:
    """Events go to the database column-wise: unknown customers are left out, the detail's JSON
    text is kept, a missing or unreadable detail becomes {}."""
    import pandas as pd

    from qiao.scoring.services import _event_rows

    events = pd.DataFrame(
        {
            "customer_no": ["P1", "GONE", "P2", "P1"],
            "event_date": [dt.date(2026, 1, 31), dt.date(2026, 1, 30), None, "2026-01-29"],
            "kind": ["TIER_UP", "TIER_DOWN", "LARGE_INFLOW", "ATTRITION_UP"],
            "detail": ['{"scheme": "pyramid", "to": "金"}', "{}", float("nan"), "not json"],
        }
    )
    rows = _event_rows(events, pd.Series({"P1": 7, "P2": 9}, dtype="Int64"), AS_OF).to_pylist()
    assert rows == [
        {
            "customer_id": 7,
            "event_date": dt.date(2026, 1, 31),
            "kind": "TIER_UP",
            "detail": '{"scheme": "pyramid", "to": "金"}',
            "as_of": AS_OF,
        },
        {
            "customer_id": 9,
            "event_date": None,
            "kind": "LARGE_INFLOW",
            "detail": "{}",
            "as_of": AS_OF,
        },
        {
            "customer_id": 7,
            "event_date": dt.date(2026, 1, 29),
            "kind": "ATTRITION_UP",
            "detail": "{}",
            "as_of": AS_OF,
        },
    ]


def test_snapshot_rows_made_by_duckdb() -> None:
    """The store turns scores into snapshot rows column-wise in DuckDB: each column's rule
    (money to the cent, non-finite numbers, defaults, cut texts, JSON passed through, the
    reason codes assembled) on edge values."""
    import math
    from decimal import Decimal

    import duckdb
    import numpy as np
    import pandas as pd

    from qiao.scoring.services import FEATURE_KEYS, _snapshot_rows

    n = 4
    frame = pd.DataFrame({k: np.linspace(0.5, 3.5, n) for k in FEATURE_KEYS})
    frame["age"] = [30, 41, 52, 63]
    frame["trend_3m"] = [0.1, np.nan, np.inf, -0.25]
    frame["need_mode_why"] = ["", "2 active signals", None, "x"]
    frame["aum_series"] = [[1.0, 2.5], [], [0.1, 0.2], [3.0]]
    frame["customer_no"] = ["A", "B", "C", "D"]  # not a feature: left out
    frame["customer_id"] = pd.array([7, 8, None, 9], dtype="Int64")  # C: no longer a customer
    frame["aum"] = [1234.567, np.nan, 5.0, -np.inf]
    frame["contribution_year"] = [10.004, 0.0, 1.0, 2.0]
    frame["clv"] = [99.999, np.nan, 1.0, np.inf]
    frame["p_alive"] = [0.5, np.nan, 1.0, np.inf]
    frame["tier_pyramid"] = ["GOLD", None, "x", ""]
    frame["tier_why"] = ['{"pyramid": {"tier": "GOLD"}}', "", None, "{}"]
    frame["pareto_core"] = [True, False, True, False]
    frame["stage_why"] = ["稳定" * 200, None, "s", ""]
    frame["cross_sell"] = ['[{"product": "FD"}]', None, "[]", ""]
    frame["stage_why_code"] = ["STABLE", "", None, "NEW"]
    frame["stage_why_params"] = ['{"months": 3}', "{}", None, ""]
    frame["attrition_reason_codes"] = [
        '[{"code": "AUM_DOWN", "params": {"pct": 38}}]',
        "",
        None,
        "[]",
    ]
    with duckdb.connect() as con:
        table = _snapshot_rows(con, frame, AS_OF)
    rows = table.to_pylist()
    assert [r["customer_id"] for r in rows] == [7, 8, 9]
    assert all(r["as_of"] == AS_OF for r in rows)
    assert [r["aum"] for r in rows] == [Decimal("1234.57"), Decimal("0.00"), Decimal("0.00")]
    assert [r["contribution_year"] for r in rows] == [
        Decimal("10.00"),
        Decimal("0.00"),
        Decimal("2.00"),
    ]
    assert [r["clv"] for r in rows] == [Decimal("100.00"), None, None]
    assert [r["p_alive"] for r in rows] == [0.5, None, None]
    assert [r["expected_txn_12m"] for r in rows] == [None, None, None]  # no such column
    assert [r["tier_pyramid"] for r in rows] == ["GOLD", "", ""]
    assert [json.loads(r["tier_why"]) for r in rows] == [{"pyramid": {"tier": "GOLD"}}, {}, {}]
    assert [r["pareto_core"] for r in rows] == [True, False, False]
    assert [len(r["stage_why"]) for r in rows] == [300, 0, 0]
    assert [json.loads(r["cross_sell"]) for r in rows] == [[{"product": "FD"}], [], []]
    assert [json.loads(r["attrition_reasons"]) for r in rows] == [[], [], []]
    assert [json.loads(r["reason_codes"]) for r in rows] == [
        {
            "stage": {"code": "STABLE", "params": {"months": 3}},
            "attrition": [{"code": "AUM_DOWN", "params": {"pct": 38}}],
        },
        {},
        {"stage": {"code": "NEW", "params": {}}, "attrition": []},
    ]
    source = frame[frame["customer_id"].notna()].to_dict("records")
    for row, expected_row in zip(rows, source, strict=True):
        expected = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in expected_row.items()
            if k in FEATURE_KEYS
        }
        expected["aum_series"] = expected_row["aum_series"]
        assert json.loads(row["features"]) == expected


def _stored() -> dict[str, object]:
    """What a night's scoring left in the database, comparable across runs."""
    snaps = ScoreSnapshot.objects.filter(as_of=AS_OF).order_by("customer_id")
    fields = [f.attname for f in ScoreSnapshot._meta.concrete_fields if f.attname != "id"]
    return {
        "snapshots": [tuple(getattr(s, f) for f in fields) for s in snaps],
        "standings": sorted(
            CustomerStanding.objects.values_list("customer_id", "aum", "tier", "contribution")
        ),
        "events": sorted(
            (e.customer_id, e.event_date, e.kind, json.dumps(e.detail, sort_keys=True))
            for e in ScoreEvent.objects.filter(as_of=AS_OF)
        ),
        "tier_history": sorted(
            TierHistory.objects.values_list("customer_id", "month_end", "scheme", "tier")
        ),
    }


def test_partitions_store_what_the_whole_bank_run_stores(small_bank: Path) -> None:
    """Four partitions of 150 (the sample: all of them) store the same snapshots, standings,
    events and tier history as the whole bank at once (``--partitions 0``)."""
    whole = score_run(as_of=AS_OF, partition_size=0)
    assert whole.ok and "partitions" not in whole.diagnostics
    before = _stored()
    parts = score_run(as_of=AS_OF, partition_size=150)
    assert parts.ok and parts.customers == 600
    assert parts.diagnostics["partitions"]["n"] == 4
    assert parts.diagnostics["partitions"]["sample"]["customers"] == 600
    assert "score" in parts.diagnostics["seconds"]
    after = _stored()
    for key in before:
        assert after[key] == before[key], key
