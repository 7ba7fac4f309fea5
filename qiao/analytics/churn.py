"""Churn and retention from each customer's AUM by month (the ``churn`` report's figures).

Our definition (docs/reports.md, "Churn and retention"; the seeds give none):

* a customer is **active** in a month when their month-average AUM is at least ``threshold``
  (100 yuan by default: a closed or emptied relationship holds less);
* a customer is **lost** in month *t* when they were active in month *t − n* and inactive in each
  of the ``n`` months after (``dormant_months``, 3 by default): all accounts closed, or the
  balance run down and left there. The **AUM lost** is their AUM in that last active month;
* a lost customer is **won back** in the first later month in which they are active again;
* a **cohort** is the customers opened in one calendar month; its **retention** *s* months after
  opening is the share of the cohort active in that month.

Framework-free: numpy over the matrix :func:`qiao.analytics.growth.monthly_aum` returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["ChurnRule", "churn_by_group", "cohort_retention", "churn_events"]


@dataclass(frozen=True)
class ChurnRule:
    """When a customer counts as lost (see the module's definition)."""

    threshold: float = 100.0
    dormant_months: int = 3

    def __post_init__(self) -> None:
        if self.threshold < 0:
            raise ValueError(f"threshold must not be negative, got {self.threshold}")
        if self.dormant_months < 1:
            raise ValueError(f"dormant_months must be at least 1, got {self.dormant_months}")


@dataclass(frozen=True)
class ChurnEvents:
    """Per customer × month: lost there (with the AUM lost) or won back there."""

    lost: npt.NDArray[np.bool_]
    won_back: npt.NDArray[np.bool_]
    aum_lost: npt.NDArray[np.float64]


def churn_events(aum: npt.NDArray[np.float64], rule: ChurnRule | None = None) -> ChurnEvents:
    """Lost and won-back months of every customer (rows) over the months (columns, oldest
    first). A customer can be lost, won back and lost again; each is one event."""
    rule = rule or ChurnRule()
    n, m = aum.shape
    active = aum >= rule.threshold
    lost = np.zeros((n, m), dtype=bool)
    won = np.zeros((n, m), dtype=bool)
    aum_lost = np.zeros((n, m))
    ever = np.zeros(n, dtype=bool)
    gone = np.zeros(n, dtype=bool)
    run = np.zeros(n, dtype=np.int64)
    last_aum = np.zeros(n)
    for t in range(m):
        a = active[:, t]
        back = gone & a
        won[:, t] = back
        gone &= ~back
        run = np.where(a, 0, run + 1)
        last_aum = np.where(a, aum[:, t], last_aum)
        ever |= a
        newly = ever & ~gone & ~a & (run == rule.dormant_months)
        lost[:, t] = newly
        aum_lost[:, t] = np.where(newly, last_aum, 0.0)
        gone |= newly
    return ChurnEvents(lost=lost, won_back=won, aum_lost=aum_lost)


def churn_by_group(
    aum: npt.NDArray[np.float64],
    groups: npt.NDArray[np.object_],
    months: list[str],
    rule: ChurnRule | None = None,
) -> pd.DataFrame:
    """Per month and group: ``active`` customers, ``lost``, ``won_back``, ``aum_lost`` (yuan)."""
    rule = rule or ChurnRule()
    events = churn_events(aum, rule)
    codes, index = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    g = len(codes)
    rows = []
    for t, month in enumerate(months):
        active = np.bincount(index, weights=aum[:, t] >= rule.threshold, minlength=g)
        lost = np.bincount(index, weights=events.lost[:, t], minlength=g)
        won = np.bincount(index, weights=events.won_back[:, t], minlength=g)
        lost_aum = np.bincount(index, weights=events.aum_lost[:, t], minlength=g)
        for i, code in enumerate(codes):
            rows.append(
                {
                    "month": month,
                    "grp": str(code),
                    "active": int(active[i]),
                    "lost": int(lost[i]),
                    "won_back": int(won[i]),
                    "aum_lost": float(lost_aum[i]),
                }
            )
    return pd.DataFrame(rows, columns=["month", "grp", "active", "lost", "won_back", "aum_lost"])


def cohort_retention(
    aum: npt.NDArray[np.float64],
    open_month: npt.NDArray[np.int64],
    months: list[str],
    *,
    cohorts: int = 12,
    rule: ChurnRule | None = None,
) -> pd.DataFrame:
    """The last ``cohorts`` opening months in the window: ``cohort`` (``YYYY-MM``), ``size``
    and ``m{s}``, the share active ``s`` months after opening (``NaN`` not yet reached)."""
    rule = rule or ChurnRule()
    first = int(months[0][:4]) * 12 + int(months[0][5:7]) - 1
    m = len(months)
    active = aum >= rule.threshold
    rows = []
    for c in range(max(0, m - cohorts), m):
        members = open_month == first + c
        size = int(members.sum())
        row: dict[str, object] = {"cohort": months[c], "size": size}
        for s in range(cohorts):
            t = c + s
            row[f"m{s}"] = float(active[members, t].mean()) if t < m and size else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)
