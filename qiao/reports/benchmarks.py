"""Peer benchmarks entered by hand (seed 002 L43: 同业统计数据, e.g. the CFCA survey), shown
beside the bank's own figures in the reports (docs/reports.md, "Peer benchmarks").

A report declares the measures it can compare (:func:`measure_register`, a key such as
``ebanking.substitution_rate`` and its words); an analyst enters a peer's figure for a measure and
a month (:func:`benchmark_save`, permission ``EDIT_BENCHMARKS``, audited as ``BENCHMARK_EDIT``) and
the report shows the latest figure of each peer beside its own (:func:`benchmarks_latest`). Every
measure is a share: entered and shown in per cent, stored as a fraction (0–1) like the reports'
``pct`` columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core.errors import ApplicationError
from qiao.org.models import Staff
from qiao.org.permissions import EDIT_BENCHMARKS, require_perm
from qiao.reports.models import Benchmark

#: measure key → its words (translated when called)
MEASURES: dict[str, Callable[[], str]] = {}


def measure_register(key: str, label: Callable[[], str]) -> None:
    """Declare a measure a report can compare with peers (its module calls this on import)."""
    MEASURES[key] = label


def measure_label(key: str) -> str:
    label = MEASURES.get(key)
    return str(label()) if label is not None else key


def benchmarks_all() -> QuerySet[Benchmark]:
    return Benchmark.objects.select_related("entered_by").order_by("measure", "-period", "peer")


def benchmarks_latest(measures: Iterable[str]) -> list[Benchmark]:
    """Per measure and peer, the figure of the latest period (measures in the order given)."""
    keys = list(measures)
    seen: set[tuple[str, str]] = set()
    out: list[Benchmark] = []
    rows = Benchmark.objects.filter(measure__in=keys).order_by("measure", "peer", "-period")
    for b in rows:
        if (b.measure, b.peer) in seen:
            continue
        seen.add((b.measure, b.peer))
        out.append(b)
    order = {k: i for i, k in enumerate(keys)}
    return sorted(out, key=lambda b: (order[b.measure], b.peer))


def _detail(b: Benchmark, change: str) -> dict[str, Any]:
    return {
        "change": change,
        "measure": b.measure,
        "period": b.period.isoformat(),
        "peer": b.peer,
        "value": str(b.value),
    }


def benchmark_save(
    *,
    measure: str,
    period: dt.date,
    peer: str,
    percent: Decimal,
    source: str = "",
    by: Staff,
) -> Benchmark:
    """Enter (or correct) a peer's figure for ``measure`` in ``period``'s month, in per cent."""
    require_perm(by, EDIT_BENCHMARKS)
    if measure not in MEASURES:
        raise ApplicationError(_("Unknown measure: choose one from the list."), field="measure")
    peer = (peer or "").strip()
    if not peer:
        raise ApplicationError(_("Name the peer bank."), field="peer")
    if not Decimal(0) <= percent <= Decimal(100):
        raise ApplicationError(
            _("A share must be between 0 and 100 per cent, not %(value)s.") % {"value": percent},
            field="value",
        )
    with transaction.atomic():
        b = Benchmark.objects.filter(
            measure=measure, period=period.replace(day=1), peer=peer
        ).first()
        change = "updated" if b is not None else "created"
        if b is None:
            b = Benchmark(measure=measure, period=period.replace(day=1), peer=peer)
        b.value = (percent / Decimal(100)).quantize(Decimal("0.000001"))
        b.source = (source or "").strip()[:200]
        b.entered_by = by
        b.full_clean()
        b.save()
        audit_record(request_or_staff=by, action=Action.BENCHMARK_EDIT, detail=_detail(b, change))
    return b


def benchmark_delete(*, benchmark: Benchmark, by: Staff) -> None:
    require_perm(by, EDIT_BENCHMARKS)
    with transaction.atomic():
        detail = _detail(benchmark, "deleted")
        benchmark.delete()
        audit_record(request_or_staff=by, action=Action.BENCHMARK_EDIT, detail=detail)
