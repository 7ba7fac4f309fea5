"""A customer's credit exposure, for the exit plans (issue 16 item 4).

Exposure = the balances of the customer's loans (not written off: 核销 takes a loan off the
books, and off the facility it was drawn on) + what is drawn on its live facilities beyond the
loans booked on them (acceptances, letters of credit …; a loan drawn on a facility is counted
once) + the amounts it guarantees for others (guarantees in force today). The group figure is the credit app's
(``qiao.credit.exposure``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils import timezone

from qiao.credit.models import Facility, Guarantee, Loan


def customer_exposures(customer_ids: Iterable[int]) -> dict[int, Decimal]:
    ids = sorted(set(customer_ids))
    today = timezone.localdate()
    out: dict[int, Decimal] = defaultdict(Decimal)
    on_facility: dict[int, Decimal] = defaultdict(Decimal)
    for cid, fid, off, total in (
        Loan.objects.filter(customer_id__among=ids)
        .values("customer_id", "facility_id", "written_off_on")
        .annotate(total=Sum("balance"))
        .values_list("customer_id", "facility_id", "written_off_on", "total")
    ):
        # A loan written off is no exposure, and no longer uses its facility either.
        if off is None:
            out[cid] += Decimal(total or 0)
        if fid is not None:
            on_facility[fid] += Decimal(total or 0)
    for fid, cid, used in Facility.objects.filter(
        customer_id__among=ids, status="ACTIVE"
    ).values_list("pk", "customer_id", "used"):
        out[cid] += max(Decimal(0), Decimal(used or 0) - on_facility.get(fid, Decimal(0)))
    for cid, total in (
        Guarantee.objects.filter(guarantor_id__among=ids, start_date__lte=today)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .values("guarantor_id")
        .annotate(total=Sum("amount"))
        .values_list("guarantor_id", "total")
    ):
        out[cid] += Decimal(total or 0)
    return {cid: out.get(cid, Decimal(0)) for cid in ids}
