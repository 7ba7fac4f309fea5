"""Shared plumbing for the demo-bank generator: the time span, named random streams, date maths."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date

import numpy as np

EPOCH = date(1970, 1, 1)


def day_of(d: date) -> int:
    """Day number (days since 1970-01-01) of a date."""
    return (d - EPOCH).days


def stream(seed: int, name: str, *extra: int) -> np.random.Generator:
    """An independent random stream per generator part.

    Each part draws from its own stream so that changing how one part uses randomness does not
    shift every other part's data. crc32 (not ``hash``) keeps the stream ids stable across runs.
    """
    return np.random.default_rng(
        np.random.SeedSequence([seed % (2**63), zlib.crc32(name.encode()), *extra])
    )


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day arrays of day numbers."""
    d = np.asarray(days, dtype="int64").astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dd = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return y, m, dd


def add_years(days: np.ndarray, years: np.ndarray | int) -> np.ndarray:
    """Same calendar day ``years`` later (29 Feb → 28 Feb), as day numbers."""
    y, m, d = ymd(days)
    y2 = y + years
    leap = ((y2 % 4 == 0) & (y2 % 100 != 0)) | (y2 % 400 == 0)
    d = np.where((m == 2) & (d == 29) & ~leap, 28, d)
    months = ((y2 - 1970) * 12 + (m - 1)).astype("datetime64[M]")
    return (months.astype("datetime64[D]") + (d - 1)).astype(np.int64)


def age_on(birth: np.ndarray, on_day: int) -> np.ndarray:
    """Completed years of age on ``on_day`` (the usual calendar rule)."""
    by, bm, bd = ymd(birth)
    oy, om, od = ymd(np.array([on_day]))
    before = (om[0] < bm) | ((om[0] == bm) & (od[0] < bd))
    return oy[0] - by - before.astype(np.int64)


@dataclass(frozen=True)
class Span:
    """The history window: ``months`` calendar months, the last one ending at ``as_of``."""

    as_of: date
    months: int
    asof_d: int
    start_d: int
    #: first day of each window month, plus ``asof_d + 1`` as the end sentinel (length months + 1)
    month_starts: np.ndarray

    @classmethod
    def build(cls, as_of: date, months: int) -> Span:
        first = np.datetime64(as_of, "M") - (months - 1)
        starts = (first + np.arange(months)).astype("datetime64[D]").astype(np.int64)
        asof_d = day_of(as_of)
        ms = np.append(starts, asof_d + 1)
        return cls(
            as_of=as_of, months=months, asof_d=asof_d, start_d=int(starts[0]), month_starts=ms
        )

    @property
    def month_len(self) -> np.ndarray:
        """Days of each window month (the last one only up to as_of)."""
        return np.diff(self.month_starts)

    def month_of(self, days: np.ndarray) -> np.ndarray:
        """Window month index of day numbers (-1 before the window)."""
        return np.searchsorted(self.month_starts, days, side="right") - 1
