"""The demo bank's risk assessments (the ``assessments`` extract, loaded through ingest like a real
bank's): so that every rule of docs/suitability.md, "Risk assessment", shows in the demo.

- customers who bought a rated product were assessed shortly before their first purchase and
  again about every year since; for some the chain stops, so their assessment has **expired**,
  and some assessments run out within the warning window (the work list's expiry items);
- a few were assessed only **after** their first purchase ("sold first, assessed later": listed
  for review), and a few holders were **never assessed** (missing);
- some customers without rated products were assessed anyway; most were not;
- tolerance leans on age (65+ lower) and usually covers what the customer holds, but not always
  (holdings above the current level, listed for review); the very richest are **qualified
  investors** with their evidence. Customers aged 65 or over are flagged by ingest from the birth
  date.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from qiao.core.vocab import CATEGORIES, RISK_TOLERANCES

from .accounts import CATS, PROD_RISK, Accounts
from .base import Span, stream
from .codes import date_array

RATED_CAT = np.array([c in set(CATEGORIES.having("rated")) for c in CATS])
#: the default questionnaire's score bands (qiao/suitability/config/questionnaire.toml)
BAND_LOW = np.array([9, 21, 41, 61, 81])
BAND_HIGH = np.array([20, 40, 60, 80, 92])
#: AUM here from which some customers show they are qualified investors (资管新规: household
#: financial assets ≥ ¥3 million, much of it usually held elsewhere)
QUALIFIED_CENTS = 1_000_000 * 100
VERSION = "QIAO-2026-1"


def _base_tolerance(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    """0..4 (C1..C5), lower with age."""
    young = rng.choice(5, size=len(age), p=[0.08, 0.22, 0.35, 0.25, 0.10])
    middle = rng.choice(5, size=len(age), p=[0.12, 0.33, 0.35, 0.15, 0.05])
    old = rng.choice(5, size=len(age), p=[0.40, 0.40, 0.15, 0.05, 0.0])
    return np.where(age >= 65, old, np.where((age >= 0) & (age < 45), young, middle))


def assessments_table(
    seed: int, span: Span, customer_no: pa.Array, age: np.ndarray, a: Accounts, aum: np.ndarray
) -> pa.Table:
    rng = stream(seed, "assessments")
    n = len(age)
    rated = RATED_CAT[a.cat]
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, a.cust[rated], a.open_d[rated])
    top_level = np.zeros(n, dtype=np.int64)
    np.maximum.at(top_level, a.cust[rated], PROD_RISK[a.prod[rated]])
    holds = first < np.iinfo(np.int64).max

    base = _base_tolerance(rng, age)
    covers = rng.random(n) < 0.9  # most assessments allow what the customer bought
    tolerance = np.where(holds & covers, np.maximum(base, top_level - 1), base)
    group = rng.random(n)
    late = rng.integers(10, 60, n)  # days after the first purchase ("sold first")
    lead = rng.integers(0, 30, n)  # days before the first purchase
    stop = rng.random(n) < 0.12  # the yearly chain stops: the assessment expires
    others = (~holds) & (group < 0.25)
    first_day = np.where(group < 0.04, first + late, first - lead)
    first_day = np.where(others, span.asof_d - rng.integers(0, 720, n), first_day)
    assessed = (holds & (group >= 0.02)) | others  # 2 % of holders never assessed

    qualified = (aum >= QUALIFIED_CENTS) & (rng.random(n) < 0.5)
    rows_c: list[int] = []
    rows_d: list[int] = []
    for c in np.flatnonzero(assessed):
        day = int(first_day[c])
        if day > span.asof_d:
            continue
        days = [day]
        while True:
            nxt = days[-1] + 365 - int(rng.integers(0, 20))
            if nxt > span.asof_d:
                break
            days.append(nxt)
        if stop[c] and len(days) > 1:
            days = days[: max(1, len(days) - int(rng.integers(1, 3)))]
        rows_c.extend([int(c)] * len(days))
        rows_d.extend(days)
    cust = np.array(rows_c, dtype=np.int64)
    days_arr = np.array(rows_d, dtype=np.int64)
    # Earlier assessments a level lower now and then: history that moves.
    drift = np.where(rng.random(len(cust)) < 0.2, 1, 0)
    is_last = np.append(cust[1:] != cust[:-1], True) if len(cust) else np.array([], dtype=bool)
    level = np.clip(tolerance[cust] - np.where(is_last, 0, drift), 0, 4)
    score = rng.integers(BAND_LOW[level], BAND_HIGH[level] + 1)
    q = qualified[cust] & is_last
    return pa.table(
        {
            "customer_no": customer_no.take(pa.array(cust)),
            "assessed_on": date_array(days_arr),
            "tolerance": pa.array(np.array(RISK_TOLERANCES.codes)[level]),
            "score": pa.array(score.astype(str)),
            "questionnaire_version": pa.array([VERSION] * len(cust)),
            "signed": pa.array(["Y"] * len(cust)),
            "qualified_investor": pa.array(np.where(q, "Y", "N")),
            "qualified_evidence": pa.array(
                np.where(q, "家庭金融资产逾300万元（对账单，面签核验）", "")
            ),
        }
    )
