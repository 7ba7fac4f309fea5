"""The ``pyramid`` report: customers, AUM and contribution by tier, and the Pareto curve (share of
customers against share of AUM and of contribution), for anyone with customers in scope — the
CM their own, the team lead and outlet head their subtree, head office the bank (docs/reports.md,
"Pyramid and Pareto").

It reads the nightly standing (``CustomerStanding``: the AUM, tier and yearly contribution the
last scoring wrote, decision 0005), the same figures the analyst page's pyramid shows, so it
costs a handful of queries and no lake scan.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np
from django.db.models import Count, Max, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qiao.core.reports import Chart, Column, Report, ReportDef, Table, register
from qiao.core.tiers import tier_codes, tier_label
from qiao.org.models import Staff
from qiao.reports.selectors import reads_customers, standings_in_scope

#: The points of the Pareto curve: the top 1 %, 5 %, 10 %, 20 % … of customers.
PARETO_POINTS = (0.01, 0.05, 0.10, 0.20, 0.30, 0.40, 0.50, 0.60, 0.70, 0.80, 0.90, 1.00)


def _share(part: Any, whole: Any) -> float | None:
    whole = float(whole or 0)
    return float(part or 0) / whole if whole > 0 else None


def tier_table(staff: Staff, params: Mapping[str, str]) -> Table:
    qs = standings_in_scope(staff=staff, params=params)
    found: dict[str, dict[str, Any]] = {
        row["tier"]: dict(row)
        for row in qs.values("tier")
        .annotate(n=Count("pk"), aum=Sum("aum"), contribution=Sum("contribution"))
        .order_by()
    }
    total_n = sum(r["n"] for r in found.values())
    total_aum = sum((r["aum"] or Decimal(0) for r in found.values()), Decimal(0))
    total_c = sum((r["contribution"] or Decimal(0) for r in found.values()), Decimal(0))
    order = list(tier_codes("pyramid")) + sorted(c for c in found if c not in tier_codes("pyramid"))
    rows = []
    for code in order:
        row: dict[str, Any] = found.get(code) or {"n": 0, "aum": None, "contribution": None}
        n = int(row["n"])
        aum = row["aum"] or Decimal(0)
        contribution = row["contribution"] or Decimal(0)
        rows.append(
            {
                "tier": tier_label(code) if code else _("Not scored"),
                "customers": n,
                "customer_share": _share(n, total_n),
                "aum": aum,
                "aum_share": _share(aum, total_aum),
                "contribution": contribution,
                "contribution_share": _share(contribution, total_c),
                "average_aum": aum / n if n else None,
            }
        )
    return Table(
        name="tiers",
        title=_("Customers by tier"),
        columns=[
            Column("tier", _("Tier")),
            Column("customers", _("Customers"), "int"),
            Column("customer_share", _("Share of customers"), "pct"),
            Column("aum", _("AUM"), "money"),
            Column("aum_share", _("Share of AUM"), "pct"),
            Column("contribution", _("Contribution (year)"), "money"),
            Column("contribution_share", _("Share of contribution"), "pct"),
            Column("average_aum", _("Average AUM"), "money"),
        ],
        rows=rows,
        note=_(
            "Tiers as the last nightly scoring set them, named as in the tier rule set; AUM is "
            "the month-average balance of the customer's asset products, contribution the "
            "yearly revenue less cost to serve (docs/analytics.md)."
        ),
    )


def pareto_rows(aum: np.ndarray, contribution: np.ndarray) -> list[dict[str, Any]]:
    """For each point ``p`` of :data:`PARETO_POINTS`: the share of all AUM held by the top ``p``
    of customers by AUM, and the share of all contribution brought by the top ``p`` by
    contribution (``ceil(p × n)`` customers; a negative contribution counts as it is)."""
    n = len(aum)
    by_aum = np.cumsum(np.sort(aum)[::-1])
    by_c = np.cumsum(np.sort(contribution)[::-1])
    rows = []
    for p in PARETO_POINTS:
        k = int(np.ceil(p * n)) if n else 0
        rows.append(
            {
                "top": _("Top %(p)s%%") % {"p": f"{p * 100:g}"},
                "customers": k,
                "customer_share": p,
                "aum_share": float(by_aum[k - 1] / by_aum[-1]) if k and by_aum[-1] > 0 else None,
                "contribution_share": (
                    float(by_c[k - 1] / by_c[-1]) if k and by_c[-1] > 0 else None
                ),
            }
        )
    return rows


def pareto_table(staff: Staff, params: Mapping[str, str]) -> Table:
    qs = standings_in_scope(staff=staff, params=params).order_by()
    values = np.array(list(qs.values_list("aum", "contribution")), dtype=np.float64).reshape(-1, 2)
    return Table(
        name="pareto",
        title=_("Pareto: share of customers and of value"),
        columns=[
            Column("top", _("Customers")),
            Column("customers", _("Number of customers"), "int"),
            Column("customer_share", _("Share of customers"), "pct"),
            Column("aum_share", _("Share of AUM"), "pct"),
            Column("contribution_share", _("Share of contribution"), "pct"),
        ],
        rows=pareto_rows(values[:, 0], values[:, 1]),
        note=_(
            "The top customers by AUM hold this share of all AUM; the top customers by "
            "contribution bring this share of all contribution (the 20/80 rule, seed 000)."
        ),
    )


def build(staff: Staff, params: Mapping[str, str]) -> Report:
    as_of = standings_in_scope(staff=staff, params=params).aggregate(d=Max("as_of"))["d"]
    return Report(
        name="pyramid",
        title=_("Customer pyramid and Pareto"),
        tables=[tier_table(staff, params), pareto_table(staff, params)],
        charts=[
            Chart("tiers", "bar", _("Customers by tier"), "tier", ("customers",)),
            Chart("tiers", "bar", _("AUM by tier"), "tier", ("aum",)),
            Chart(
                "pareto",
                "line",
                _("Pareto curve"),
                "top",
                ("customer_share", "aum_share", "contribution_share"),
            ),
        ],
        as_of=as_of,
        notes=[_("The figures stand on the last nightly scoring; the month does not apply.")],
    )


register(
    ReportDef(
        name="pyramid",
        title=lambda: str(gettext_lazy("Customer pyramid and Pareto")),
        build=build,
        allowed=reads_customers,
    )
)
