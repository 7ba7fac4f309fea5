"""Schemathesis over the OpenAPI document: the API answers no 5xx and no status it does not document,
and every answer has the documented content type and schema.

Bounded (a few hundred generated requests, well under a minute): Django's WSGI application in this
process, on the test database with the ``bank`` fixture, a real bearer token of a customer manager
(a fresh one for every request: some routes revoke the token they are sent with). Positive and
negative data (values outside the schema), every route; the routes on one customer are also tried on
the manager's own customer, so that edits, reveals and the rate limit are reached, not only 404s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from qiao.api.services import api_token_issue

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def schema(bank: Any) -> Iterator[Any]:
    # As Django's test client does: the WSGI handler must not close the test's connection at the
    # end of each request (it is inside the test's transaction).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/openapi.json", WSGIHandler())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _strategy(schema: Any, mode: GenerationMode, **fixed: Any) -> Any:
    return schema.as_strategy(generation_mode=mode, **fixed)


@pytest.mark.parametrize(
    "mode, examples",
    [(GenerationMode.POSITIVE, 300), (GenerationMode.NEGATIVE, 300)],
    ids=["positive", "negative"],
)
def test_api_answers_only_documented_statuses_and_never_5xx(bank, schema, mode, examples):
    cm = bank.staff["cm_owner"]
    strategy = st.one_of(
        _strategy(schema, mode),
        # The manager's own customer: PATCH validation, reveals up to the hourly limit (429).
        _strategy(schema, mode, path_parameters={"customer_no": bank.x.customer_no}),
    )
    seen: dict[tuple[str, str], set[int]] = {}

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        raw, _token = api_token_issue(staff=cm)
        response = case.call_and_validate(headers={"Authorization": f"Bearer {raw}"}, checks=CHECKS)
        seen.setdefault((case.method, case.path), set()).add(response.status_code)

    run()
    # The run reached every route, and more than the 401s and 404s.
    operations = {
        (method.upper(), path)
        for path, items in schema.raw_schema["paths"].items()
        for method in items
    }
    assert set(seen) == operations
    codes = set().union(*seen.values())
    assert {200, 400} <= codes if mode is GenerationMode.POSITIVE else {400, 422} & codes
