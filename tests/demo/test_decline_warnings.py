"""The demo's leavers give warning before they leave, as real ones do (issue 13 item 8).

Before, a decliner's transactions and balances were those of any customer until the month its
decline began, so no model could see it coming. Now most of them transact less and let their
balances slide in the months before: an attrition model has something honest to learn.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qiao.demo.generate import generate_bank
from tests.demo.test_generate import Bank, _month_end_aum

AS_OF = date(2026, 9, 30)


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Bank:
    folder: Path = tmp_path_factory.mktemp("warning-bank")
    summary = generate_bank(folder, customers=4000, months=24, seed=3, as_of=AS_OF)
    return Bank(folder, summary, AS_OF)


def test_leavers_transact_less_and_lose_balance_before_the_drop(bank: Bank) -> None:
    aum = _month_end_aum(bank)
    values = aum.to_numpy()
    months = aum.columns
    # the first month whose AUM is at most half of one of the 3 months before: the drop
    dropped = np.zeros(values.shape, dtype=bool)
    for lag in (1, 2, 3):
        dropped[:, lag:] |= (values[:, :-lag] >= 1_000) & (
            values[:, lag:] <= 0.5 * values[:, :-lag]
        )
    first = np.where(dropped.any(axis=1), dropped.argmax(axis=1), -1)
    leavers = np.flatnonzero(first >= 10)  # with 7 months of history before the drop window
    assert len(leavers) >= 40

    tx = bank.txn_df()
    # everyday use (the decline's own transfers and redemptions, salaries, interest left out)
    tx = tx[tx.txn_type.isin(["DEPOSIT", "WITHDRAWAL", "PAYMENT", "BILL_PAY", "TOPUP"])].copy()
    tx["month"] = pd.PeriodIndex(pd.to_datetime(tx["day"]), freq="M")
    counts = (
        (
            tx.groupby(["customer_no", "month"])
            .size()
            .unstack("month")
            .reindex(index=aum.index, columns=months)
        )
        .fillna(0.0)
        .to_numpy()
    )

    def ratio(rows: np.ndarray, drop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Transactions and AUM of the 3 months before the drop month against months 5–7
        before it."""
        i = rows[:, None]
        near = drop[:, None] - 3 + np.arange(3)[None, :]
        far = near - 4
        txn = (counts[i, near].sum(axis=1) + 1) / (counts[i, far].sum(axis=1) + 1)
        bal = values[i, near].mean(axis=1) / np.maximum(values[i, far].mean(axis=1), 1.0)
        return txn, bal

    txn_l, bal_l = ratio(leavers, first[leavers])
    rng = np.random.default_rng(0)
    stayers = np.flatnonzero(first < 0)
    drop_s = rng.integers(10, len(months), len(stayers))
    txn_s, bal_s = ratio(stayers, drop_s)
    # leavers' activity falls before the drop; the others' does not
    assert np.median(txn_l) < 0.8 < np.median(txn_s)
    # balances slide: a fall of over 10 % is more than twice as common among leavers
    assert (bal_l < 0.9).mean() > 2 * (bal_s < 0.9).mean()
    # and not every leaver warns: some still leave out of the blue
    assert (txn_l >= 0.95).mean() > 0.05
