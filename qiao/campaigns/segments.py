"""Segments: who a campaign is for (docs/campaigns.md, "Segments").

A dynamic segment is the customer list's own filter (:class:`qiao.customers.selectors.CustomerFilters`,
one mechanism for the list, saved groups and segments) plus the nightly scores of the latest
successful run (stage, motive, risk style, attrition risk, lifetime value), a product not held and
an age range. It is resolved when used, always within the data scope of whoever uses it: the
builder sees the count of *their* customers; a campaign resolves its segment in its author's scope.
A static segment is a list of customer numbers uploaded from a file; numbers that are malformed,
unknown or outside the uploader's scope are reported by line and nothing is added silently.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core import vocab
from qiao.core.tiers import tier_label
from qiao.customers.models import Customer
from qiao.customers.selectors import (
    AGE_BANDS,
    CustomerFilters,
    _years_before,
    customers_matching,
    customers_visible_to,
)
from qiao.org.models import BANKWIDE_ROLES, Staff
from qiao.org.permissions import MANAGE_CAMPAIGNS, require_perm, staff_has_perm
from qiao.products.models import Account, AccountStatus
from qiao.scoring.models import ScoreSnapshot
from qiao.scoring.selectors import latest_run

from .models import Segment, SegmentMember

#: The most customer numbers a static segment's file may hold.
MAX_UPLOAD_ROWS = 1_000_000


@dataclass(frozen=True)
class SegmentFilters:
    """The list's filter plus the nightly scores. Codes are vocabulary codes; amounts in yuan."""

    base: CustomerFilters = CustomerFilters()
    stages: tuple[str, ...] = ()
    motives: tuple[str, ...] = ()
    risk_styles: tuple[str, ...] = ()
    attrition_min: float | None = None
    clv_min: Decimal | None = None
    not_product: str = ""
    age_min: int | None = None
    age_max: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: v for k, v in self.base.to_json().items() if k != "sort"}
        for f in fields(self):
            if f.name == "base":
                continue
            value = getattr(self, f.name)
            if value in (None, "", ()):
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else str(value)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SegmentFilters:
        """From :meth:`to_json`'s form (or a form's cleaned data); a bad value is a
        ``ValidationError`` naming the field."""
        base = CustomerFilters.from_json({k: v for k, v in data.items() if k != "sort"})
        kwargs: dict[str, Any] = {"base": base}
        for name, vocabulary in (
            ("stages", vocab.LIFECYCLE_STAGES),
            ("motives", vocab.MOTIVES),
            ("risk_styles", vocab.RISK_STYLES),
        ):
            values = data.get(name) or ()
            if isinstance(values, str):
                values = [values]
            bad = [v for v in values if v not in vocabulary]
            if bad:
                raise ValidationError({name: _("unknown value: %(v)s") % {"v": ", ".join(bad)}})
            kwargs[name] = tuple(values)
        try:
            if data.get("attrition_min") not in (None, ""):
                number = float(data["attrition_min"])
                if not 0 <= number <= 1:
                    raise ValidationError({"attrition_min": _("must be between 0 and 1")})
                kwargs["attrition_min"] = number
            if data.get("clv_min") not in (None, ""):
                kwargs["clv_min"] = Decimal(str(data["clv_min"]))
            for name in ("age_min", "age_max"):
                if data.get(name) not in (None, ""):
                    age = int(data[name])
                    if not 0 <= age <= 130:
                        raise ValidationError({name: _("must be between 0 and 130")})
                    kwargs[name] = age
        except (ValueError, InvalidOperation) as exc:
            raise ValidationError(_("a number is not valid: %(e)s") % {"e": exc}) from exc
        if data.get("not_product"):
            kwargs["not_product"] = str(data["not_product"])
        return cls(**kwargs)

    @property
    def uses_scores(self) -> bool:
        return bool(
            self.stages
            or self.motives
            or self.risk_styles
            or self.attrition_min is not None
            or self.clv_min is not None
        )


def _queryset(staff: Staff, filters: SegmentFilters) -> QuerySet[Customer]:
    """The customers of ``filters`` that ``staff`` may see (unordered)."""
    qs = customers_matching(staff=staff, filters=filters.base)
    if filters.uses_scores:
        run = latest_run()
        if run is None:
            return qs.none()
        scored = ScoreSnapshot.objects.filter(customer=OuterRef("pk"), as_of=run.as_of)
        if filters.stages:
            scored = scored.filter(stage__in=filters.stages)
        if filters.motives:
            scored = scored.filter(motive__in=filters.motives)
        if filters.risk_styles:
            scored = scored.filter(risk_style__in=filters.risk_styles)
        if filters.attrition_min is not None:
            scored = scored.filter(attrition_prob__gte=filters.attrition_min)
        if filters.clv_min is not None:
            scored = scored.filter(clv__gte=filters.clv_min)
        qs = qs.filter(Exists(scored))
    if filters.not_product:
        held = Account.objects.filter(
            customer=OuterRef("pk"), product__code=filters.not_product
        ).exclude(status=AccountStatus.CLOSED)
        qs = qs.exclude(Exists(held))
    today = timezone.localdate()
    if filters.age_min is not None:
        qs = qs.filter(birth_date__lte=_years_before(today, filters.age_min))
    if filters.age_max is not None:
        qs = qs.filter(birth_date__gt=_years_before(today, filters.age_max + 1))
    return qs


def segment_count(*, staff: Staff, filters: SegmentFilters) -> int:
    """How many customers in ``staff``'s scope the filters select (the builder's live count)."""
    return _queryset(staff, filters).count()


def ids_of(qs: QuerySet[Any], field: str = "pk") -> np.ndarray:
    """The distinct values of an id column of ``qs``, sorted, as ``int64`` (streamed)."""
    values = qs.values_list(field, flat=True).iterator(chunk_size=50_000)
    return np.unique(np.fromiter(values, dtype=np.int64))


def segment_ids(*, staff: Staff, segment: Segment) -> np.ndarray:
    """The sorted ids of the segment's customers within ``staff``'s scope."""
    if segment.kind == Segment.Kind.STATIC:
        members = customers_visible_to(staff=staff).filter(
            pk__in=SegmentMember.objects.filter(segment=segment).values("customer_id")
        )
        return ids_of(members)
    return ids_of(_queryset(staff, SegmentFilters.from_json(segment.filters)))


def segments_visible_to(staff: Staff) -> QuerySet[Segment]:
    """A bank-wide role sees every segment; others their own and those of their subtree's staff."""
    qs = Segment.objects.select_related("owner")
    if staff.role in BANKWIDE_ROLES:
        return qs
    if staff.unit is not None and staff_has_perm(staff, MANAGE_CAMPAIGNS):
        return qs.filter(Q(owner=staff) | Q(owner__unit__path__startswith=staff.unit.path))
    return qs.filter(owner=staff)


def segment_get_for_staff(*, staff: Staff, segment_id: int) -> Segment:
    segment = segments_visible_to(staff).filter(pk=segment_id).first()
    if segment is None:
        raise Http404
    return segment


def segment_save(
    *,
    staff: Staff,
    name: str,
    filters: SegmentFilters,
    segment: Segment | None = None,
    description: str = "",
) -> Segment:
    """Create or change a dynamic segment (permission, audit); its count is taken in the
    builder's scope."""
    require_perm(staff, MANAGE_CAMPAIGNS)
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("A segment needs a name.")})
    if segment is not None and segment.owner_id != staff.pk:
        segment = segment_get_for_staff(staff=staff, segment_id=segment.pk)
    with transaction.atomic():
        if segment is None:
            segment = Segment(owner=staff, kind=Segment.Kind.DYNAMIC)
        segment.name = name
        segment.description = description
        segment.filters = filters.to_json()
        segment.last_count = segment_count(staff=staff, filters=filters)
        segment.last_counted_at = timezone.now()
        segment.save()
        audit_record(
            request_or_staff=staff,
            action=Action.SEGMENT_EDIT,
            detail={"segment": segment.pk, "filters": segment.filters, "count": segment.last_count},
        )
    return segment


@dataclass(frozen=True)
class Reject:
    line: int
    value: str
    reason: str


def _numbers(data: bytes, file_name: str) -> list[tuple[int, str]]:
    """``(line, text)`` of each non-empty first cell; a header line naming the column is skipped."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise ValidationError(_("%(file)s: not a text file") % {"file": file_name})
    out = []
    for line_no, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cell = row[0].strip() if row else ""
        if not cell or (line_no == 1 and cell.lower() in ("customer_no", "客户号", "客戶號")):
            continue
        out.append((line_no, cell))
    if len(out) > MAX_UPLOAD_ROWS:
        raise ValidationError(
            _("%(file)s: more than %(n)s customer numbers")
            % {"file": file_name, "n": MAX_UPLOAD_ROWS}
        )
    return out


def segment_upload(
    *, staff: Staff, name: str, data: bytes, file_name: str
) -> tuple[Segment | None, list[Reject]]:
    """A static segment from a file of customer numbers (one per line, the first column of a
    CSV). Each bad line is reported (malformed, unknown or not one of yours, repeated); the
    segment keeps the good ones. A file with no good number creates nothing."""
    require_perm(staff, MANAGE_CAMPAIGNS)
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("A segment needs a name.")})
    rows = _numbers(data, file_name)
    rejects: list[Reject] = []
    wanted: dict[str, int] = {}
    for line, cell in rows:
        if len(cell) > 40 or not cell.replace("-", "").isalnum():
            rejects.append(Reject(line, cell[:60], _("not a customer number")))
        elif cell in wanted:
            rejects.append(Reject(line, cell, _("repeats line %(line)s") % {"line": wanted[cell]}))
        else:
            wanted[cell] = line
    found: dict[str, int] = {}
    numbers = list(wanted)
    visible = customers_visible_to(staff=staff)
    for i in range(0, len(numbers), 5000):
        found.update(
            visible.filter(customer_no__in=numbers[i : i + 5000]).values_list("customer_no", "pk")
        )
    for number, line in wanted.items():
        if number not in found:
            rejects.append(Reject(line, number, _("no such customer among yours")))
    rejects.sort(key=lambda r: r.line)
    if not found:
        return None, rejects
    with transaction.atomic():
        segment = Segment.objects.create(
            owner=staff,
            kind=Segment.Kind.STATIC,
            name=name,
            description=file_name[:300],
            last_count=len(found),
            last_counted_at=timezone.now(),
        )
        SegmentMember.objects.bulk_create(
            [SegmentMember(segment=segment, customer_id=pk) for pk in found.values()],
            batch_size=5000,
        )
        audit_record(
            request_or_staff=staff,
            action=Action.SEGMENT_EDIT,
            detail={
                "segment": segment.pk,
                "file": file_name[:100],
                "added": len(found),
                "rejected": len(rejects),
            },
        )
    return segment, rejects


_FILTER_WORDS = {
    "customer_type": gettext_lazy("Customer type"),
    "aum_min": gettext_lazy("AUM at least"),
    "aum_max": gettext_lazy("AUM at most"),
    "gender": gettext_lazy("Gender"),
    "occupation": gettext_lazy("Occupation"),
    "product": gettext_lazy("Holds product"),
    "not_product": gettext_lazy("Does not hold product"),
    "category": gettext_lazy("Holds a product of category"),
    "owner": gettext_lazy("Customer manager"),
    "outlet": gettext_lazy("Outlet"),
    "attrition_min": gettext_lazy("Attrition risk at least"),
    "clv_min": gettext_lazy("Lifetime value at least"),
    "age_min": gettext_lazy("Age at least"),
    "age_max": gettext_lazy("Age at most"),
}


def filters_words(filters: SegmentFilters) -> list[str]:
    """The filters as a reader would say them, in the reader's language (no codes)."""
    from django.contrib.humanize.templatetags.humanize import intcomma

    from qiao.core.choices import term_label
    from qiao.customers.models import CustomerType, Gender
    from qiao.org.models import OrgUnit
    from qiao.org.models import Staff as StaffModel
    from qiao.products.models import Product

    b = filters.base
    out: list[str] = []
    if b.tiers:
        out.append(_("Tier: %(v)s") % {"v": ", ".join(str(tier_label(t)) for t in b.tiers)})
    if b.customer_type:
        out.append(f"{_FILTER_WORDS['customer_type']}: {CustomerType(b.customer_type).label}")
    if b.aum_min is not None:
        out.append(f"{_FILTER_WORDS['aum_min']}: ¥{intcomma(int(b.aum_min))}")
    if b.aum_max is not None:
        out.append(f"{_FILTER_WORDS['aum_max']}: ¥{intcomma(int(b.aum_max))}")
    if b.age_band in AGE_BANDS:
        low, high = AGE_BANDS[b.age_band]
        if low is None:
            out.append(_("Age under %(n)s") % {"n": (high or 0) + 1})
        elif high is None:
            out.append(_("Age %(n)s or over") % {"n": low})
        else:
            out.append(_("Age %(a)s to %(b)s") % {"a": low, "b": high})
    if b.gender:
        out.append(f"{_FILTER_WORDS['gender']}: {Gender(b.gender).label}")
    if b.occupation:
        out.append(f"{_FILTER_WORDS['occupation']}: {b.occupation}")
    for key in ("product", "not_product"):
        code = getattr(b, key, "") if key == "product" else filters.not_product
        if code:
            product = Product.objects.filter(code=code).only("name").first()
            out.append(f"{_FILTER_WORDS[key]}: {product.name if product else code}")
    if b.category:
        out.append(f"{_FILTER_WORDS['category']}: {term_label(vocab.CATEGORIES[b.category])}")
    ebanking = {
        "NONE": _("Without e-banking"),
        "OPENED": _("E-banking opened, not activated"),
        "ACTIVATED": _("E-banking activated"),
    }
    if b.ebanking in ebanking:
        out.append(ebanking[b.ebanking])
    if b.payroll == "YES":
        out.append(_("Payroll customer"))
    elif b.payroll == "NO":
        out.append(_("Not a payroll customer"))
    if b.owner == "-":
        out.append(_("Without a customer manager"))
    elif b.owner:
        person = StaffModel.objects.filter(username=b.owner).only("name").first()
        out.append(f"{_FILTER_WORDS['owner']}: {person.name if person else '—'}")
    if b.outlet:
        unit = OrgUnit.objects.filter(code=b.outlet).only("name").first()
        out.append(f"{_FILTER_WORDS['outlet']}: {unit.name if unit else '—'}")
    for name, vocabulary, label in (
        ("stages", vocab.LIFECYCLE_STAGES, _("Lifecycle stage")),
        ("motives", vocab.MOTIVES, _("Deposit motive")),
        ("risk_styles", vocab.RISK_STYLES, _("Risk style")),
    ):
        codes = getattr(filters, name)
        if codes:
            words = ", ".join(str(term_label(vocabulary[c])) for c in codes)
            out.append(f"{label}: {words}")
    if filters.attrition_min is not None:
        out.append(f"{_FILTER_WORDS['attrition_min']}: {filters.attrition_min:.0%}")
    if filters.clv_min is not None:
        out.append(f"{_FILTER_WORDS['clv_min']}: ¥{intcomma(int(filters.clv_min))}")
    if filters.age_min is not None:
        out.append(f"{_FILTER_WORDS['age_min']}: {filters.age_min}")
    if filters.age_max is not None:
        out.append(f"{_FILTER_WORDS['age_max']}: {filters.age_max}")
    return out or [_("All your customers")]
