"""The campaign rules of ``config/campaigns.toml`` and the holiday calendar of
``config/holidays.toml``: frequency caps, quiet hours in the customer's local time, batch sizes.

Framework-light on purpose: the planner and the sender read :func:`campaign_rules` once per run
and ask :class:`Calendar` whether a moment is inside the allowed hours for a customer.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from qiao.core.lake import TIME_ZONE

CONFIG = Path(__file__).resolve().parent / "config"


def _hm(text: str) -> dt.time:
    if text == "24:00":
        return dt.time.max
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


@dataclass(frozen=True)
class Rules:
    cap_week: int
    cap_month: int
    working_hours: tuple[dt.time, dt.time]
    rest_hours: tuple[dt.time, dt.time]
    control_pct: int
    window_days: int
    exclude_contacted_days: int
    batch_size: int
    lease_seconds: int


@lru_cache(maxsize=1)
def campaign_rules() -> Rules:
    from django.conf import settings

    path = Path(settings.CAMPAIGN_CONFIG or CONFIG / "campaigns.toml")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    caps, quiet, defaults, sending = (
        data["caps"],
        data["quiet_hours"],
        data["defaults"],
        data["sending"],
    )
    return Rules(
        cap_week=int(caps["per_week"]),
        cap_month=int(caps["per_month"]),
        working_hours=(_hm(quiet["working_day"][0]), _hm(quiet["working_day"][1])),
        rest_hours=(_hm(quiet["rest_day"][0]), _hm(quiet["rest_day"][1])),
        control_pct=int(defaults["control_pct"]),
        window_days=int(defaults["window_days"]),
        exclude_contacted_days=int(defaults["exclude_contacted_days"]),
        batch_size=int(sending["batch_size"]),
        lease_seconds=int(sending["lease_seconds"]),
    )


@dataclass(frozen=True)
class Calendar:
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    years: frozenset[int]

    def is_working_day(self, day: dt.date) -> bool:
        """A weekday that is not a public holiday, or a weekend day worked in lieu (调休)."""
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def hours(self, day: dt.date, rules: Rules) -> tuple[dt.time, dt.time]:
        return rules.working_hours if self.is_working_day(day) else rules.rest_hours

    def allowed(
        self,
        at: dt.datetime,
        rules: Rules,
        *,
        zone: str = TIME_ZONE,
        dnd: tuple[dt.time | None, dt.time | None] = (None, None),
    ) -> bool:
        """Whether a message may reach a customer in ``zone`` at the moment ``at`` (aware):
        inside the day's allowed hours and outside the customer's own do-not-disturb hours
        (which may wrap midnight)."""
        local = at.astimezone(ZoneInfo(zone))
        start, end = self.hours(local.date(), rules)
        now = local.time()
        if not start <= now < end:
            return False
        dnd_start, dnd_end = dnd
        if dnd_start is not None and dnd_end is not None and dnd_start != dnd_end:
            inside = (
                dnd_start <= now < dnd_end
                if dnd_start < dnd_end
                else now >= dnd_start or now < dnd_end
            )
            if inside:
                return False
        return True

    def next_allowed(
        self,
        at: dt.datetime,
        rules: Rules,
        *,
        zone: str = TIME_ZONE,
        dnd: tuple[dt.time | None, dt.time | None] = (None, None),
    ) -> dt.datetime:
        """The first moment at or after ``at`` when :meth:`allowed` holds (in 15-minute steps
        after the next window opens; at most 14 days ahead)."""
        if self.allowed(at, rules, zone=zone, dnd=dnd):
            return at
        tz = ZoneInfo(zone)
        local = at.astimezone(tz)
        for days in range(15):
            day = local.date() + dt.timedelta(days=days)
            start, end = self.hours(day, rules)
            moment = dt.datetime.combine(day, start, tzinfo=tz)
            stop = dt.datetime.combine(day, end, tzinfo=tz)
            if moment < local:
                # Today's window: from the next quarter hour after now.
                moment = local.replace(second=0, microsecond=0) + dt.timedelta(
                    minutes=15 - local.minute % 15
                )
            while moment < stop:
                if self.allowed(moment, rules, zone=zone, dnd=dnd):
                    return moment.astimezone(at.tzinfo or dt.UTC)
                moment += dt.timedelta(minutes=15)
        raise ValueError("no allowed sending time within 14 days")


@lru_cache(maxsize=1)
def calendar() -> Calendar:
    data = tomllib.loads((CONFIG / "holidays.toml").read_text(encoding="utf-8"))
    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    for entry in data.values():
        holidays.update(dt.date.fromisoformat(d) for d in entry.get("holidays", []))
        workdays.update(dt.date.fromisoformat(d) for d in entry.get("workdays", []))
    return Calendar(frozenset(holidays), frozenset(workdays), frozenset(int(y) for y in data))
