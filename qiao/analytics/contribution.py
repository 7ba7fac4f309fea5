"""Contribution 贡献度 = revenue − cost to serve, and the 20/80 (Pareto) core.

Seed 003 asks that customers be ranked by their profit contribution rather than by deposits alone
(KCRM, "don't rank by deposits alone"); seed 000 names the 二八定律 (80/20 rule). The seeds give
no rates, so the defaults in ``qiao/analytics/config/scoring.toml`` are ours (documented in
``docs/analytics.md``):

* **revenue per month** = Σ over product categories of ``margin[category] × month-average balance
  / 12`` (annual margins: a net-interest spread for deposits and loans, a fee rate for wealth,
  funds, insurance …);
* **cost per month** = ``(counter × c_counter + electronic × c_electronic + self-service ×
  c_self_service) / 12`` over the transactions of the last 12 months, ``+ contacts_90d / 3 ×
  c_contact``, ``+ open accounts × c_account``;
* **contribution_month** = revenue − cost; **contribution_year** = 12 × contribution_month.

The Pareto core is the top ``pareto_share`` (20 %) of customers by contribution, ties broken by
customer_no: ``ceil(0.2 × n)`` customers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qiao.analytics.features import CATEGORIES

__all__ = ["ContributionRates", "compute_contribution", "pareto_summary"]

DEFAULT_MARGIN: dict[str, float] = {
    "DEMAND": 0.015,
    "TIME": 0.008,
    "WEALTH": 0.006,
    "FUND": 0.008,
    "BOND": 0.003,
    "INSURANCE": 0.010,
    "PRECIOUS_METAL": 0.005,
    "LOAN": 0.020,
    "CARD": 0.030,
    "SETTLEMENT": 0.0,
}


@dataclass(frozen=True)
class ContributionRates:
    """Revenue margins and unit costs (``[contribution]`` of ``scoring.toml``).

    Attributes
    ----------
    margin
        Annual margin per product category, as a fraction of the month-average balance.
    counter_txn, electronic_txn, self_service_txn, contact, account_month
        Costs in yuan: per counter, electronic and ATM/POS transaction, per customer-manager
        contact, and per open account per month.
    pareto_share
        Share of customers in the Pareto core.
    """

    margin: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MARGIN))
    counter_txn: float = 6.0
    electronic_txn: float = 0.3
    self_service_txn: float = 1.5
    contact: float = 30.0
    account_month: float = 2.0
    pareto_share: float = 0.20

    def __post_init__(self) -> None:
        unknown = set(self.margin) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"contribution.margin: unknown category {sorted(unknown)[0]!r}")
        for name in (
            "counter_txn",
            "electronic_txn",
            "self_service_txn",
            "contact",
            "account_month",
        ):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"contribution.cost.{name} must be a number ≥ 0, got {value!r}")
        if not 0 < self.pareto_share < 1:
            raise ValueError(
                f"contribution.pareto_share must be in (0, 1), got {self.pareto_share}"
            )

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> ContributionRates:
        """Build from the ``[contribution]`` table of ``scoring.toml``."""
        cost = dict(section.get("cost", {}))
        margin = {**DEFAULT_MARGIN, **dict(section.get("margin", {}))}
        known = {"counter_txn", "electronic_txn", "self_service_txn", "contact", "account_month"}
        unknown = set(cost) - known
        if unknown:
            raise ValueError(f"contribution.cost: unknown field {sorted(unknown)[0]!r}")
        return cls(
            margin={k: float(v) for k, v in margin.items()},
            pareto_share=float(section.get("pareto_share", 0.20)),
            **{k: float(v) for k, v in cost.items()},
        )


def compute_contribution(
    features: pd.DataFrame, rates: ContributionRates | None = None
) -> pd.DataFrame:
    """Monthly revenue, cost and contribution of every customer, with rank and Pareto flag.

    Parameters
    ----------
    features
        Indexed by customer_no, with ``bal_<CATEGORY>``, ``n_counter``, ``n_electronic``,
        ``n_self_service``, ``contacts_90d`` and ``n_accounts`` (from
        :func:`qiao.analytics.features.compute_features`).
    rates
        Margins and unit costs (defaults: :class:`ContributionRates`).

    Returns
    -------
    pandas.DataFrame
        Same index; ``revenue_month, cost_month, contribution_month, contribution_year`` (yuan),
        ``contribution_rank`` (1 = highest), ``contribution_top_share`` (rank / n, so the top 1 %
        have ≤ 0.01) and ``pareto_core`` (bool).
    """
    rates = rates or ContributionRates()
    n = len(features)
    revenue = np.zeros(n)
    for cat in CATEGORIES:
        col = f"bal_{cat}"
        if col not in features.columns:
            raise ValueError(f"required column {col} missing")
        revenue += rates.margin.get(cat, 0.0) * features[col].to_numpy(dtype=np.float64) / 12.0
    for col in ("n_counter", "n_electronic", "n_self_service", "contacts_90d", "n_accounts"):
        if col not in features.columns:
            raise ValueError(f"required column {col} missing")
    txn_cost = (
        features["n_counter"].to_numpy(dtype=np.float64) * rates.counter_txn
        + features["n_electronic"].to_numpy(dtype=np.float64) * rates.electronic_txn
        + features["n_self_service"].to_numpy(dtype=np.float64) * rates.self_service_txn
    ) / 12.0
    contact_cost = features["contacts_90d"].to_numpy(dtype=np.float64) / 3.0 * rates.contact
    account_cost = features["n_accounts"].to_numpy(dtype=np.float64) * rates.account_month
    cost = txn_cost + contact_cost + account_cost
    contribution = revenue - cost
    # Rank by contribution descending, ties by customer_no ascending (a stable sort of the
    # customer_no-sorted order).
    order = np.lexsort((np.asarray(features.index, dtype=str), -contribution))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    n_core = math.ceil(rates.pareto_share * n) if n else 0
    return pd.DataFrame(
        {
            "revenue_month": revenue,
            "cost_month": cost,
            "contribution_month": contribution,
            "contribution_year": contribution * 12.0,
            "contribution_rank": rank,
            "contribution_top_share": rank / max(n, 1),
            "pareto_core": rank <= n_core,
        },
        index=features.index,
    )


def pareto_summary(contribution: pd.DataFrame) -> dict[str, Any]:
    """Size of the Pareto core and the share of contribution it brings.

    ``share_of_contribution`` is the core's share of the total (it exceeds 1 when the others
    contribute less than nothing in total); ``share_of_positive_contribution`` only counts the
    customers with a positive contribution.
    """
    core = contribution["pareto_core"].to_numpy(dtype=bool)
    c = contribution["contribution_month"].to_numpy(dtype=np.float64)
    total = float(c.sum())
    positive = float(c[c > 0].sum())
    core_sum = float(c[core].sum())
    return {
        "n_customers": len(c),
        "n_core": int(core.sum()),
        "core_contribution_month": core_sum,
        "total_contribution_month": total,
        "share_of_contribution": core_sum / total if total > 0 else None,
        "share_of_positive_contribution": (
            float(c[core & (c > 0)].sum()) / positive if positive > 0 else None
        ),
    }
