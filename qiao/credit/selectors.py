"""Credit reads: who is on the black or red list, a customer's credit, the counts for
``qiao status``.

Campaigns and the next-best products ask :func:`blacklisted_ids` (set-based, one index range) or
:func:`is_blacklisted` (one customer); the nightly scoring passes
:func:`blacklisted_customer_nos` to the tier rules, so a blacklisted customer falls into 限制.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection
from django.db.models import QuerySet

from qiao.credit.models import (
    ClassFinding,
    Facility,
    Guarantee,
    ListEntry,
    ListKind,
    ListStatus,
    Loan,
    RiskSignal,
)
from qiao.customers.models import Customer

__all__ = [
    "blacklisted_customer_nos",
    "blacklisted_ids",
    "credit_counts",
    "is_blacklisted",
    "is_red_listed",
    "list_marks",
]


def _in_force(list_kind: str) -> Any:
    return ListEntry.objects.filter(list_kind=list_kind, status=ListStatus.APPROVED)


def blacklisted_ids() -> npt.NDArray[np.int64]:
    """The ids of the customers on the blacklist now (an approved entry, loaded or made in
    Qiao, not removed): sorted, unique, ``int64``."""
    table = ListEntry._meta.db_table
    # The table name is the model's own; the values are parameters.
    sql = f"SELECT DISTINCT customer_id FROM {table} WHERE list_kind = %s AND status = %s"  # noqa: S608
    with connection.cursor() as cur:
        cur.execute(sql + " ORDER BY customer_id", [ListKind.BLACK, ListStatus.APPROVED])
        rows = cur.fetchall()
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


def blacklisted_customer_nos() -> list[str]:
    """The customer numbers of :func:`blacklisted_ids` (the lake keys customers by number)."""
    return list(blacklisted_customer_no_rows().values_list("customer_no", flat=True))


def blacklisted_customer_no_rows() -> QuerySet[Customer]:
    """The customers on the blacklist now, by number (read them in chunks: the nightly scoring
    streams them, :func:`qiao.scoring.services._blacklist_chunks`)."""
    return Customer.objects.filter(pk__in=_in_force(ListKind.BLACK).values("customer_id")).order_by(
        "customer_no"
    )


def is_blacklisted(customer: Customer | int) -> bool:
    cid = customer if isinstance(customer, int) else customer.pk
    return _in_force(ListKind.BLACK).filter(customer_id=cid).exists()


def is_red_listed(customer: Customer | int) -> bool:
    cid = customer if isinstance(customer, int) else customer.pk
    return _in_force(ListKind.RED).filter(customer_id=cid).exists()


#: :func:`list_marks` of a customer on no list (read-only: one shared answer).
NO_MARKS: Mapping[str, Any] = MappingProxyType({"black": None, "red": None, "proposed": ()})


def list_marks(customer: Customer) -> dict[str, Any]:
    """For the 360's badges: the lists the customer is on now, each with its reason and since when,
    and whether a proposal is waiting."""
    marks: dict[str, Any] = {"black": None, "red": None, "proposed": []}
    for entry in ListEntry.objects.filter(
        customer=customer, status__in=[ListStatus.APPROVED, ListStatus.PROPOSED]
    ).order_by("-listed_on", "-id"):
        if entry.status == ListStatus.PROPOSED:
            marks["proposed"].append(entry.list_kind)
            continue
        key = "black" if entry.list_kind == ListKind.BLACK else "red"
        if marks[key] is None:
            marks[key] = {"reason": entry.reason, "since": entry.listed_on, "source": entry.source}
    return marks


def credit_counts() -> dict[str, int]:
    """The rows of each credit kind, by the kind's name in the extracts (``qiao status``)."""
    return {
        "facilities": Facility.objects.count(),
        "loans": Loan.objects.count(),
        "guarantees": Guarantee.objects.count(),
        "risk_signals": RiskSignal.objects.count(),
        "list_entries": ListEntry.objects.count(),
        "classification_findings": ClassFinding.objects.count(),
    }
