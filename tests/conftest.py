"""Shared fixtures: every test gets its own lake folder; the database is pytest-django's."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_lake(settings, tmp_path: Path) -> Path:
    settings.LAKE_DIR = tmp_path / "lake"
    settings.QIAO_HOME = tmp_path
    # Tests assert English text unless they ask for another language (Accept-Language);
    # the product's own default is 简体中文 (tests/test_i18n.py checks it).
    settings.LANGUAGE_CODE = "en"
    return settings.LAKE_DIR
