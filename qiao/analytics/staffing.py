"""The staffing calculator: how many customer managers a unit needs for its customers (seed 001
篇3 L161–165 and 篇10 L869; docs/reports.md, "Staffing").

CMs needed at an outlet = Σ over tiers (customers in the tier × contacts a year the cadence
asks × minutes per contact) / working minutes of one CM a year, rounded up, and never below the
minimum of the unit's level (the bank's rule, seed 001 L869: at least 1 CM per outlet, at least 3
in a second-tier branch). The contacts a year of a tier are 365 / ``interval_days`` summed over
its cadence rules (the engagement's, passed in as data). The gap is needed − has: positive, the
unit is short of CMs; negative, it has more than its customers need.

Plain Python over one row per unit: the customer counts per tier come from the operational side
(one GROUP BY), so nothing here needs an engine.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from qiao.core import vocab

__all__ = [
    "CadenceLoad",
    "StaffingConfig",
    "StaffingRow",
    "contacts_per_year",
    "load_config",
    "staffing_row",
]


@dataclass(frozen=True)
class StaffingConfig:
    """``config/staffing.toml`` validated."""

    minutes_per_contact: Mapping[str, float]
    days_per_year: float = 250
    hours_per_day: float = 8
    contact_share: float = 0.5
    minimum: Mapping[str, int] | None = None
    #: the roles counted as the CMs a unit has (the file's ``[counted_roles]``)
    counted_roles: tuple[str, ...] = ()

    @property
    def working_minutes(self) -> float:
        """Minutes one CM gives to customer contacts in a year."""
        return self.days_per_year * self.hours_per_day * 60 * self.contact_share


def load_config(text: str | None = None) -> StaffingConfig:
    """Read and check the staffing configuration (the built-in file when ``text`` is None)."""
    if text is None:
        text = resources.files("qiao.analytics.config").joinpath("staffing.toml").read_text("utf-8")
    raw: dict[str, Any] = tomllib.loads(text)
    minutes = {str(k): float(v) for k, v in raw.get("minutes_per_contact", {}).items()}
    if any(not (math.isfinite(v) and v >= 0) for v in minutes.values()):
        raise ValueError("staffing.toml [minutes_per_contact]: minutes must be ≥ 0")
    work = raw.get("working_time", {})
    days = float(work.get("days_per_year", 250))
    hours = float(work.get("hours_per_day", 8))
    share = float(work.get("contact_share", 0.5))
    if not (0 < days <= 366 and 0 < hours <= 24 and 0 < share <= 1):
        raise ValueError(
            "staffing.toml [working_time]: days_per_year in (0, 366], hours_per_day in (0, 24], "
            "contact_share in (0, 1]"
        )
    minimum = {str(k): int(v) for k, v in raw.get("minimum", {}).items()}
    for level, n in minimum.items():
        if level not in vocab.UNIT_LEVELS.codes:
            raise ValueError(f"staffing.toml [minimum]: unknown unit level {level!r}")
        if n < 0:
            raise ValueError(f"staffing.toml [minimum] {level}: must be ≥ 0")
    owners = vocab.ROLES.having("owner")
    roles = tuple(str(r) for r in raw.get("counted_roles", {}).get("roles", owners))
    for role in roles:
        if role not in vocab.ROLES.codes:
            raise ValueError(f"staffing.toml [counted_roles]: unknown role {role!r}")
    return StaffingConfig(minutes, days, hours, share, minimum, roles)


@dataclass(frozen=True)
class CadenceLoad:
    """A cadence rule as data: a tier must have a contact of ``requirement`` every
    ``interval_days``."""

    tier: str
    requirement: str
    interval_days: int


def contacts_per_year(rules: Iterable[CadenceLoad]) -> dict[str, dict[str, float]]:
    """``tier → requirement → contacts a year`` (365 / interval)."""
    out: dict[str, dict[str, float]] = {}
    for r in rules:
        if r.interval_days < 1:
            raise ValueError(f"cadence rule {r.tier}/{r.requirement}: interval below 1 day")
        out.setdefault(r.tier, {})[r.requirement] = 365 / r.interval_days
    return out


@dataclass(frozen=True)
class StaffingRow:
    unit: str
    level: str
    customers: int
    minutes: float  # contact minutes a year the unit's customers need
    workload: float  # those minutes in CMs (not rounded)
    needed: int  # rounded up, at least the level's minimum
    minimum: int
    has: int

    @property
    def gap(self) -> int:
        """Needed − has: positive, the unit is short of CMs."""
        return self.needed - self.has


def staffing_row(
    *,
    unit: str,
    level: str,
    tier_counts: Mapping[str, int],
    has: int,
    rules: Iterable[CadenceLoad],
    config: StaffingConfig,
) -> StaffingRow:
    """The staffing of one unit from its customers per tier and the CMs it has."""
    per_year = contacts_per_year(rules)
    minutes = 0.0
    for tier, n in tier_counts.items():
        for requirement, times in per_year.get(tier, {}).items():
            minutes += n * times * config.minutes_per_contact.get(requirement, 0.0)
    workload = minutes / config.working_minutes
    least = (config.minimum or {}).get(level, 0)
    # A hair above a whole number (floating error of 365 / interval) does not add a CM.
    needed = max(math.ceil(round(workload, 6)), least)
    return StaffingRow(
        unit=unit,
        level=level,
        customers=int(sum(tier_counts.values())),
        minutes=round(minutes, 1),
        workload=round(workload, 2),
        needed=needed,
        minimum=least,
        has=has,
    )
