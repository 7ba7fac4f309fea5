"""Lifetime value of a bank customer from P(alive) and a balance-based monthly contribution.

The project's documented decision (docs/models.md, "Lifetime value"): a bank earns mostly from
balances (net interest margin, fees), not from the purchase amounts the Gamma-Gamma model
describes. So the bank CLV over ``H`` months is

    CLV = sum_{m=1..H} P(alive at month m) * contribution_m / (1 + d)^m

with ``P(alive at month m)`` from a BG/NBD (or Pareto/NBD) model fitted on transaction *days*,
and ``contribution_m`` the customer's expected monthly contribution computed from balances.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from ._base import FloatArray
from ._validation import as_float_array, check_rfm, check_same_length
from .gammagamma import MONTH_IN_UNITS


class AliveModel(Protocol):
    """A fitted model that can project P(alive) forward (BG/NBD or Pareto/NBD)."""

    def conditional_probability_alive_at(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> FloatArray: ...


def balance_based_clv(
    model: AliveModel,
    frequency: Any,
    recency: Any,
    T: Any,
    monthly_contribution: Any,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    freq: str = "D",
) -> FloatArray:
    """Discounted expected contribution of each customer over the next ``horizon_months``.

    Parameters
    ----------
    model : BetaGeoFitter or ParetoNBDFitter
        Fitted on the customers' transaction-day RFM summary.
    frequency, recency, T : array_like
        The RFM summary, in the time unit ``freq``.
    monthly_contribution : array_like or float
        Expected monthly contribution of each customer while active (e.g. average balance times
        net interest margin plus monthly fees), in currency units.
    horizon_months : int, default 12
        Horizon ``H`` in months.
    discount_rate : float, default 0.01
        Monthly discount rate ``d``.
    freq : {"D", "W", "M", "H"}, default "D"
        Time unit of ``recency`` and ``T`` (a month is 30 days or 4.345 weeks).

    Returns
    -------
    numpy.ndarray
        ``sum_m P(alive at T + m months) * contribution / (1 + d)^m`` per customer.
    """
    if freq not in MONTH_IN_UNITS:
        raise ValueError(f"freq: must be one of {sorted(MONTH_IN_UNITS)}, got {freq!r}")
    if int(horizon_months) < 1:
        raise ValueError(f"horizon_months: must be at least 1, got {horizon_months}")
    if not discount_rate > -1.0:
        raise ValueError(f"discount_rate: must be > -1, got {discount_rate}")
    x, tx, age, _ = check_rfm(frequency, recency, T)
    contribution = as_float_array("monthly_contribution", monthly_contribution)
    if contribution.shape[0] == 1:
        contribution = np.full_like(x, contribution[0])
    check_same_length(frequency=x, monthly_contribution=contribution)
    months = np.arange(1, int(horizon_months) + 1, dtype=float)
    unit = MONTH_IN_UNITS[freq]
    alive = model.conditional_probability_alive_at(
        months[:, None] * unit, x[None, :], tx[None, :], age[None, :]
    )
    discount = (1.0 + discount_rate) ** -months
    return np.asarray((alive * discount[:, None]).sum(axis=0) * contribution, dtype=float)
