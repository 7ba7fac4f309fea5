"""The engagement settings file ``config/cadence.toml`` (the cadence defaults seed the database)."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

CONFIG_PATH = Path(__file__).resolve().parent / "config" / "cadence.toml"


@lru_cache(maxsize=1)
def engagement_config() -> dict[str, Any]:
    with CONFIG_PATH.open("rb") as fh:
        return tomllib.load(fh)


def worklist_setting(name: str) -> Any:
    return engagement_config()["worklist"][name]


def value_weight(name: str) -> Decimal:
    return Decimal(str(engagement_config()["value"][name]))


def prospect_setting(name: str) -> Any:
    return engagement_config()["prospects"][name]


def complaint_setting(name: str) -> Any:
    return engagement_config()["complaints"][name]


def default_cadence() -> list[dict[str, Any]]:
    return list(engagement_config().get("cadence", []))
