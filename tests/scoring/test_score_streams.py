"""The partitioned scoring's inputs from the operational database and its next-best products
(issue 18): the last snapshot and the assessments leave the database in chunks, never whole, and
the suggestions are stored partition by partition; a night scored in partitions stores what the
whole bank at once stores, suggestions and events against the last snapshot included."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from qiao.customers.models import Customer
from qiao.demo.generate import generate_bank
from qiao.ingest.services import ingest_paths
from qiao.scoring.models import ScoreEvent, ScoreSnapshot
from qiao.scoring.services import (
    _assessment_chunks,
    _previous,
    _previous_chunks,
    score_run,
)
from qiao.suitability.models import RiskAssessment, Suggestion, SuggestionStatus
from qiao.suitability.suggestions import assessments_frame, suggestions_store

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 10, 31)
EARLIER = dt.date(2026, 9, 30)


@pytest.fixture
def small_bank(tmp_path: Path) -> Path:
    out = tmp_path / "extracts"
    generate_bank(out, customers=600, months=12, seed=3, as_of=AS_OF)
    results = ingest_paths([out])
    assert all(r.ok and r.rejected == 0 for r in results), [r.summary() for r in results]
    return out


def test_the_inputs_leave_the_database_in_chunks_with_the_same_rows(small_bank: Path) -> None:
    assert _previous_chunks(AS_OF) is None  # no snapshot before the first night
    assert score_run(as_of=EARLIER, partition_size=0).ok

    chunks = _previous_chunks(AS_OF, size=128)
    assert chunks is not None
    frames = list(chunks)
    assert [len(f) for f in frames] == [128, 128, 128, 128, 88]  # 600 customers
    streamed = pd.concat(frames).sort_values("customer_no").reset_index(drop=True)
    whole = _previous(AS_OF).sort_values("customer_no").reset_index(drop=True)
    pd.testing.assert_frame_equal(streamed, whole)
    assert set(streamed["customer_no"]) == set(
        Customer.objects.values_list("customer_no", flat=True)
    )

    # a customer's two assessments across a chunk boundary: the later one is the last given
    earliest = RiskAssessment.objects.filter(assessed_on__lte=AS_OF).order_by("customer_id").first()
    assert earliest is not None
    first = earliest.customer  # the first customer in the query's order
    mine = RiskAssessment.objects.filter(customer=first, assessed_on__lte=AS_OF)
    n_mine = mine.count()
    latest = mine.order_by("assessed_on", "id").last()
    assert latest is not None
    RiskAssessment.objects.create(
        customer=first,
        tolerance="C5" if latest.tolerance != "C5" else "C1",
        assessed_on=AS_OF - dt.timedelta(days=1),
        valid_until=AS_OF + dt.timedelta(days=365),
        source=latest.source,
    )
    size = n_mine  # the new row, the customer's last, opens the second chunk
    chunks_a = list(_assessment_chunks(AS_OF, size=size))
    assert len(chunks_a) >= 2 and max(len(c) for c in chunks_a) <= size
    given = pd.concat(chunks_a, ignore_index=True)
    last = given.drop_duplicates("customer_no", keep="last").set_index("customer_no")
    reference = assessments_frame(as_of=AS_OF).set_index("customer_no")
    assert sorted(last.index) == sorted(reference.index)
    pd.testing.assert_frame_equal(last.loc[reference.index], reference)
    assert last.loc[first.customer_no, "tolerance"] != latest.tolerance


def _stored() -> dict[str, object]:
    """The night's snapshots, events and suggestions, comparable across runs."""
    fields = [f.attname for f in ScoreSnapshot._meta.concrete_fields if f.attname != "id"]
    return {
        "snapshots": [
            tuple(getattr(s, f) for f in fields)
            for s in ScoreSnapshot.objects.filter(as_of=AS_OF).order_by("customer_id")
        ],
        "events": sorted(
            (e.customer_id, e.event_date, e.kind, json.dumps(e.detail, sort_keys=True))
            for e in ScoreEvent.objects.filter(as_of=AS_OF)
        ),
        "suggestions": sorted(
            Suggestion.objects.filter(as_of=AS_OF).values_list(
                "customer_id",
                "product_id",
                "rank",
                "reason_code",
                "expected_gain",
                "money_free",
                "status",
            )
        ),
    }


def test_partitions_store_the_whole_bank_runs_suggestions_and_events(small_bank: Path) -> None:
    """With a last snapshot and the assessments in the database, four partitions of 150
    (streamed inputs, suggestions stored partition by partition) store what the whole bank at
    once stores."""
    assert score_run(as_of=EARLIER, partition_size=0).ok
    whole = score_run(as_of=AS_OF, partition_size=0)
    assert whole.ok
    before = _stored()
    assert before["suggestions"] and before["events"]
    assert whole.diagnostics["tier_changes_vs_previous"] >= 0

    parts = score_run(as_of=AS_OF, partition_size=150)
    assert parts.ok and parts.diagnostics["partitions"]["n"] == 4
    after = _stored()
    for key in before:
        assert after[key] == before[key], key
    assert (
        parts.diagnostics["tier_changes_vs_previous"]
        == whole.diagnostics["tier_changes_vs_previous"]
    )
    assert parts.diagnostics["suggest"] == whole.diagnostics["suggest"]


def test_storing_partition_by_partition_keeps_decided_rows_as_suggestions_store_does(
    small_bank: Path,
) -> None:
    """Stored partition by partition (an iterable of frames), ``suggestions_store`` keeps its rule: open rows of the day are
    replaced, a decided row is kept and not written again, unknown customers and products are
    left out; the same rows either way."""
    from qiao.products.models import Product

    customers = list(Customer.objects.order_by("id")[:3])
    codes = list(Product.objects.order_by("code").values_list("code", flat=True)[:2])
    frame = pd.DataFrame(
        {
            "customer_no": [c.customer_no for c in customers] + ["GONE", customers[0].customer_no],
            "product_code": [codes[0], codes[1], codes[0], codes[0], "NO-SUCH"],
            "rank": [1, 1, 1, 1, 2],
            "reason_code": "MATURITY",
            "reason_params": '{"amount": 1000.0, "days": 12}',
            "expected_gain": [12.345, 1.0, 2.0, 3.0, 4.0],
            "money_free": [1000.0, float("nan"), 5.0, 6.0, 7.0],
        }
    )
    id_of = pd.Series({c.customer_no: c.id for c in customers}, dtype="Int64")

    def stored() -> list[tuple[object, ...]]:
        return sorted(
            Suggestion.objects.filter(as_of=AS_OF).values_list(
                "customer_id", "product__code", "rank", "expected_gain", "money_free", "status"
            )
        )

    assert suggestions_store(frame, as_of=AS_OF, id_of=id_of) == 3
    reference = stored()
    # one of them decided by a customer manager: kept, and not written again
    decided = Suggestion.objects.get(customer=customers[1], as_of=AS_OF)
    decided.status = SuggestionStatus.DECLINED
    decided.save(update_fields=["status"])
    n = suggestions_store(
        iter([frame.iloc[:2], frame.iloc[:0], frame.iloc[2:]]), as_of=AS_OF, id_of=id_of
    )
    assert n == 2
    got = stored()
    assert len(got) == 3
    assert [r for r in got if r[0] != customers[1].id] == [
        r for r in reference if r[0] != customers[1].id
    ]
    assert Suggestion.objects.get(customer=customers[1], as_of=AS_OF).status == (
        SuggestionStatus.DECLINED
    )


def test_the_store_looks_up_the_ids_of_a_partitions_customers_only(bank) -> None:
    """``_ids_of``: the ids of the numbers given (repeats once), numbers no longer in the
    database left out; more numbers than SQLite takes in one statement."""
    from qiao.scoring.services import _ids_of

    known = dict(Customer.objects.values_list("customer_no", "id"))
    assert known
    nos = [*known, *known, *(f"GONE{i:05d}" for i in range(2500))]
    got = _ids_of(pd.Series(nos))
    assert str(got.dtype) == "Int64"
    assert got.to_dict() == known
    assert len(_ids_of(pd.Series([], dtype=object))) == 0
