"""Shared fixtures: every test gets its own lake folder; the database is pytest-django's."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_lake(settings, tmp_path: Path) -> Path:
    settings.LAKE_DIR = tmp_path / "lake"
    settings.QIAO_HOME = tmp_path
    return settings.LAKE_DIR
