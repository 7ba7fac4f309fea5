"""The credit rules as data (``config/limits.toml``): the least loan class by days overdue, and
the bank's capital and exposure limits. Defaults and how far each was checked:
docs/keyaccounts.md."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from django.conf import settings

from qiao.analytics.exposure import ExposureLimits
from qiao.core.vocab import LOAN_CLASSES


class CreditConfigError(ValueError):
    """limits.toml is malformed (the message names the table and key)."""


@cache
def credit_config() -> dict[str, Any]:
    text = resources.files("qiao.credit.config").joinpath("limits.toml").read_text("utf-8")
    return tomllib.loads(text)


def parse_floors(config: dict[str, Any]) -> tuple[tuple[int, str], ...]:
    """``[classification] floors`` as ``(over_days, class)`` from the lowest: each later floor
    more days and a worse class."""
    rows = config.get("classification", {}).get("floors")
    if not isinstance(rows, list) or not rows:
        raise CreditConfigError("classification.floors: is required (a list of floors)")
    out: list[tuple[int, str]] = []
    for i, row in enumerate(rows, 1):
        where = f"classification.floors[{i}]"
        days, code = row.get("over_days"), row.get("class")
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise CreditConfigError(f"{where}.over_days: must be a whole number of days, 0 or more")
        if code not in LOAN_CLASSES:
            raise CreditConfigError(
                f"{where}.class: {code!r} is not one of {', '.join(LOAN_CLASSES.codes)}"
            )
        if out and (days <= out[-1][0] or LOAN_CLASSES.rank(code) <= LOAN_CLASSES.rank(out[-1][1])):
            raise CreditConfigError(
                f"{where}: must have more days and a worse class than the one before"
            )
        out.append((days, code))
    return tuple(out)


@cache
def class_floors() -> tuple[tuple[int, str], ...]:
    return parse_floors(credit_config())


def floor_class(days_overdue: int, interest_arrears: Decimal | float | int = 0) -> str:
    """The least class a loan may have: the worst floor whose days it exceeds. Interest in
    arrears is interest overdue, so it counts as overdue (the first floor) even at 0 days."""
    floor = LOAN_CLASSES.codes[0]
    for days, code in class_floors():
        if days_overdue > days or (days == 0 and interest_arrears and interest_arrears > 0):
            floor = code
    return floor


def is_below_floor(classification: str, floor: str) -> bool:
    """The bank's class is better than the floor allows (PASS ranks best)."""
    return LOAN_CLASSES.rank(classification) < LOAN_CLASSES.rank(floor)


def exposure_limits() -> ExposureLimits:
    """The limits of limits.toml; the capital from ``QIAO["TIER_ONE_CAPITAL"]`` and
    ``QIAO["NET_CAPITAL"]`` when the settings give them."""
    config = credit_config()
    capital = dict(config.get("capital", {}))
    bank = getattr(settings, "QIAO", {})
    if bank.get("TIER_ONE_CAPITAL"):
        capital["tier_one"] = float(bank["TIER_ONE_CAPITAL"])
    if bank.get("NET_CAPITAL"):
        capital["net"] = float(bank["NET_CAPITAL"])
    return ExposureLimits.from_config({**config, "capital": capital})
