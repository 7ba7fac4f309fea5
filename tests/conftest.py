"""Shared fixtures: every test gets its own lake folder; the database is pytest-django's."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Tests left out of the fast suite (``pytest -m "not slow"``), by node id prefix, with why
#: (``--durations`` on SQLite, this machine). Spark and browser tests are slow by their marker.
SLOW = {
    "tests/workbench/test_schemathesis.py": "every API operation with generated inputs",
    "tests/demo/test_generate.py": "generates and loads a bank",
    "tests/ingest/test_interrupted.py": "kills a loading subprocess",
    "tests/analytics/test_clv.py::test_cli_": "a Python subprocess per CLI call",
    "tests/scoring/test_explain.py": "scores a bank for the 360's explanations (19 s set-up)",
    "tests/scoring/test_score_run.py": "scores a bank into snapshots, twice",
    "tests/scoring/test_analyst.py": "scores a bank for the analyst's pages",
    "tests/campaigns/test_kill.py": "sets up a bank in a subprocess and kills its worker",
    "tests/credit/test_lists.py::test_scoring_": "scores a small bank twice (blacklist → 限制)",
    "tests/credit/test_demo.py": "generates and loads a small bank twice over",
    "tests/campaigns/test_pages.py::test_the_live_count_answers_any_input": (
        "40 generated inputs through the segment builder's live count (6 s)"
    ),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("spark") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)
        elif any(item.nodeid.startswith(prefix) for prefix in SLOW):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _private_lake(settings, tmp_path: Path) -> Path:
    settings.LAKE_DIR = tmp_path / "lake"
    settings.QIAO_HOME = tmp_path
    # Tests assert English text unless they ask for another language (Accept-Language);
    # the product's own default is 简体中文 (tests/test_i18n.py checks it).
    settings.LANGUAGE_CODE = "en"
    return settings.LAKE_DIR
