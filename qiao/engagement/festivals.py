"""Chinese festival dates: 春节, 元宵, 端午, 中秋 (lunar) and 国庆 (1 October).

The lunar dates for 2024–2030 are a table (computed with the ``lunardate`` package and checked
against the published calendars); for other years ``lunardate`` is used when it is installed.
A year that is in neither yields only 国庆.
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_lazy as _

FESTIVAL_NAMES = {
    "SPRING": _("Spring Festival (春节)"),
    "LANTERN": _("Lantern Festival (元宵)"),
    "DRAGON_BOAT": _("Dragon Boat Festival (端午)"),
    "MID_AUTUMN": _("Mid-Autumn Festival (中秋)"),
    "NATIONAL_DAY": _("National Day (国庆)"),
}
#: (lunar month, lunar day) of the lunar festivals.
LUNAR = {"SPRING": (1, 1), "LANTERN": (1, 15), "DRAGON_BOAT": (5, 5), "MID_AUTUMN": (8, 15)}

_TABLE: dict[int, dict[str, str]] = {
    2024: {
        "SPRING": "2024-02-10",
        "LANTERN": "2024-02-24",
        "DRAGON_BOAT": "2024-06-10",
        "MID_AUTUMN": "2024-09-17",
    },
    2025: {
        "SPRING": "2025-01-29",
        "LANTERN": "2025-02-12",
        "DRAGON_BOAT": "2025-05-31",
        "MID_AUTUMN": "2025-10-06",
    },
    2026: {
        "SPRING": "2026-02-17",
        "LANTERN": "2026-03-03",
        "DRAGON_BOAT": "2026-06-19",
        "MID_AUTUMN": "2026-09-25",
    },
    2027: {
        "SPRING": "2027-02-06",
        "LANTERN": "2027-02-20",
        "DRAGON_BOAT": "2027-06-09",
        "MID_AUTUMN": "2027-09-15",
    },
    2028: {
        "SPRING": "2028-01-26",
        "LANTERN": "2028-02-09",
        "DRAGON_BOAT": "2028-05-28",
        "MID_AUTUMN": "2028-10-03",
    },
    2029: {
        "SPRING": "2029-02-13",
        "LANTERN": "2029-02-27",
        "DRAGON_BOAT": "2029-06-16",
        "MID_AUTUMN": "2029-09-22",
    },
    2030: {
        "SPRING": "2030-02-03",
        "LANTERN": "2030-02-17",
        "DRAGON_BOAT": "2030-06-05",
        "MID_AUTUMN": "2030-09-12",
    },
}


def _lunar_from_package(year: int) -> dict[str, dt.date]:
    try:
        from lunardate import LunarDate  # optional
    except ImportError:
        return {}
    out = {}
    for code, (month, day) in LUNAR.items():
        ld = LunarDate(year, month, day)
        to_solar = getattr(ld, "to_solar_date", None) or ld.toSolarDate
        out[code] = to_solar()
    return out


def festivals_in_year(year: int) -> dict[str, dt.date]:
    if year in _TABLE:
        dates = {code: dt.date.fromisoformat(text) for code, text in _TABLE[year].items()}
    else:
        dates = _lunar_from_package(year)
    dates["NATIONAL_DAY"] = dt.date(year, 10, 1)
    return dates


def festivals_between(start: dt.date, end: dt.date) -> list[tuple[str, dt.date]]:
    """Festivals falling on ``start`` … ``end`` (inclusive), in date order."""
    found = []
    for year in range(start.year, end.year + 1):
        for code, day in festivals_in_year(year).items():
            if start <= day <= end:
                found.append((code, day))
    return sorted(found, key=lambda x: x[1])
