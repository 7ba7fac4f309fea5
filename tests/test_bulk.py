"""``copy_arrow``: Arrow tables (one, or a stream of them) into a model's table, every value kept."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qiao.core.bulk import copy_arrow
from qiao.customers.models import Customer
from qiao.customers.services import customer_create
from qiao.org.models import OrgUnit
from qiao.scoring.models import ScoreEvent

DAY = dt.date(2026, 1, 31)
# PostgreSQL text cannot hold NUL; everything else (quotes, commas, newlines, CJK) must survive.
TEXT = st.text(
    st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=16
)


@pytest.fixture
def customer(db) -> Customer:
    unit = OrgUnit.objects.create(code="O1", name="网点", level="OUTLET", path="/O1/")
    return customer_create(
        customer_no="P1", customer_type="P", name="张三", branch=unit, open_date=DAY
    )


def _events(customer: Customer, kinds: list[str], notes: list[str]) -> pa.Table:
    n = len(kinds)
    return pa.table(
        {
            "customer_id": pa.array([customer.pk] * n, pa.int64()),
            "event_date": pa.array([DAY] * n, pa.date32()),
            "kind": pa.array(kinds, pa.string()),
            "detail": pa.array([json.dumps({"note": x}, ensure_ascii=False) for x in notes]),
            "as_of": pa.array([DAY] * n, pa.date32()),
        }
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.tuples(TEXT, TEXT), max_size=12), split=st.integers(0, 12))
def test_a_stream_of_tables_arrives_whole(customer, rows, split):
    ScoreEvent.objects.all().delete()
    kinds, notes = [k for k, _ in rows], [x for _, x in rows]
    cut = min(split, len(rows))
    stream = (_events(customer, kinds[a:b], notes[a:b]) for a, b in [(0, cut), (cut, len(rows))])
    assert copy_arrow(ScoreEvent, stream) == len(rows)
    stored = list(ScoreEvent.objects.order_by("id").values_list("kind", "detail"))
    # An empty string stays an empty string (not NULL); the JSON text arrives as JSON.
    assert stored == [(k, {"note": x}) for k, x in rows]


def test_nothing_to_copy(customer):
    assert copy_arrow(ScoreEvent, iter([])) == 0
    assert copy_arrow(ScoreEvent, _events(customer, [], [])) == 0
    assert not ScoreEvent.objects.exists()
