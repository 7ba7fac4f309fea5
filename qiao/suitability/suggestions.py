"""The next-best products, operational side (docs/suitability.md, "Suggestions" and "Everywhere").

* The nightly scoring's inputs and output: :func:`shelf_frame` and :func:`assessments_frame` hand
  the product shelf and each customer's latest risk assessment to ``qiao.analytics.suggest`` as
  data; :func:`suggestions_store` keeps its answer as :class:`Suggestion` rows (bulk, idempotent
  per day, earlier days kept with their outcomes).
* Reading: :func:`suggestions_shown` gives a customer's latest suggestions for a page or the API,
  each checked again with :func:`qiao.core.suitability.check` on the day it is read — an
  assessment that expired since the night hides the suggestion and says which rule blocked it.
* Writing: :func:`suggestion_decide` records what became of a suggestion (taken up, declined with
  a reason, not now); :func:`require_suitable` is the guard every other path that puts a product
  to a customer calls (a marketing plan …): a refusal is audited as ``BLOCKED`` and answers with
  the rule's text in the reader's language. No override.

Held-back customers' rows (rank 0, ``HOLDBACK``: the random suitable product the evaluation
measures against) are never shown or decided.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core.amounts import amount
from qiao.core.bulk import copy_arrow
from qiao.core.errors import ApplicationError
from qiao.core.labels import code_label
from qiao.core.suitability import Verdict, check
from qiao.credit.selectors import is_blacklisted
from qiao.customers.models import Customer
from qiao.customers.selectors import customers_visible_to
from qiao.org.models import Staff
from qiao.org.permissions import DECIDE_SUGGESTIONS, require_perm
from qiao.products.models import Product
from qiao.suitability.models import (
    DeclineReason,
    RiskAssessment,
    Suggestion,
    SuggestionStatus,
)
from qiao.suitability.shelf import SELLING, customer_facts, product_facts, verdict_text

#: The code of a held-back customer's random product (``qiao.analytics.suggest.HOLDBACK``).
HOLDBACK = "HOLDBACK"

# ---------------------------------------------------------------------------- the nightly scoring


def shelf_frame() -> Any:
    """Every product as the analytics need it (``qiao.analytics.suggest.next_best_products``)."""
    import pandas as pd

    rows = Product.objects.values_list(
        "code", "category", "risk_level", "private", "sale_status", "motives", "min_amount"
    )
    frame = pd.DataFrame(
        list(rows),
        columns=[
            "product_code",
            "category",
            "risk_level",
            "private",
            "sale_status",
            "motives",
            "min_amount",
        ],
    )
    frame["min_amount"] = pd.to_numeric(frame["min_amount"], errors="coerce").astype(float)
    return frame


def assessments_frame(*, as_of: dt.date) -> Any:
    """Each customer's latest risk assessment made by ``as_of`` (``customer_no, tolerance,
    valid_until, qualified_investor``); whether it is still valid on the day is the rule's to
    say. One ordered query, the last row per customer kept in pandas."""
    import pandas as pd

    rows = (
        RiskAssessment.objects.filter(assessed_on__lte=as_of)
        .order_by("customer_id", "assessed_on", "id")
        .values_list("customer__customer_no", "tolerance", "valid_until", "qualified_investor")
    )
    frame = pd.DataFrame(
        list(rows.iterator(chunk_size=20000)),
        columns=["customer_no", "tolerance", "valid_until", "qualified_investor"],
    )
    return frame.drop_duplicates("customer_no", keep="last").reset_index(drop=True)


def suggestions_store(frames: Any, *, as_of: dt.date, id_of: Any) -> int:
    """Keep the night's suggestions (``qiao.analytics.suggest.SUGGESTION_COLUMNS``) for ``as_of``.

    Idempotent per day: the day's rows still open are replaced; a row of the day that a customer
    manager already decided is kept as it is (and not written again). Earlier days are kept with
    their outcomes. ``frames``: one frame, or an iterable of frames (a partitioned night: one
    partition in memory at a time, a COPY each). ``id_of`` maps customer numbers to ids: a Series
    or mapping, or a function given a frame's numbers that returns one (it may query the
    database: it is called between the COPYs, never inside one). Customers or products no longer
    in the database are left out. Call inside the scoring's transaction.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    Suggestion.objects.filter(as_of=as_of, status=SuggestionStatus.OPEN).delete()
    if frames is None:
        return 0
    if isinstance(frames, pd.DataFrame):
        frames = [frames]
    products = pd.Series(dict(Product.objects.values_list("code", "id")), dtype="Int64")
    kept = set(Suggestion.objects.filter(as_of=as_of).values_list("customer_id", "product_id"))

    def tables() -> Iterator[pa.Table]:
        for frame in frames:
            if not len(frame):
                continue
            ids = id_of(frame["customer_no"]) if callable(id_of) else id_of
            cids = frame["customer_no"].map(ids)
            pids = frame["product_code"].map(products)
            known = (cids.notna() & pids.notna()).to_numpy()
            cid = cids.to_numpy()[known].astype(np.int64)
            pid = pids.to_numpy()[known].astype(np.int64)
            fresh = np.array(
                [(c, p) not in kept for c, p in zip(cid, pid, strict=True)]
                if kept
                else np.ones(len(cid), dtype=bool),
                dtype=bool,
            )
            sub = frame.loc[known].loc[fresh]
            n = int(fresh.sum())
            money_free = sub["money_free"].to_numpy(dtype=np.float64)
            yield pa.table(
                {
                    "customer_id": pa.array(cid[fresh], pa.int64()),
                    "product_id": pa.array(pid[fresh], pa.int64()),
                    "as_of": pa.array([as_of] * n, pa.date32()),
                    "rank": pa.array(sub["rank"].to_numpy(dtype=np.int64), pa.int64()),
                    "reason_code": pa.array(sub["reason_code"].astype(str).tolist(), pa.string()),
                    "reason_params": pa.array(
                        sub["reason_params"].astype(str).tolist(), pa.string()
                    ),
                    "expected_gain": pa.array(
                        sub["expected_gain"].to_numpy(dtype=np.float64).round(2), pa.float64()
                    ).cast(pa.decimal128(18, 2)),
                    "money_free": pa.array(
                        np.round(money_free, 2), pa.float64(), mask=~np.isfinite(money_free)
                    ).cast(pa.decimal128(18, 2)),
                    "status": pa.array([SuggestionStatus.OPEN.value] * n, pa.string()),
                    "decline_reason": pa.array([""] * n, pa.string()),
                }
            )

    # one COPY a frame: the next frame's ids may be looked up on this connection, which cannot
    # run a query while a COPY is open on it
    return sum(copy_arrow(Suggestion, table) for table in tables())


# -------------------------------------------------------------------------------------- reasons

REASONS: dict[str, Any] = {
    "MATURITY": _("%(amount)s matures within %(days)s days"),
    "INFLOW": _("a large inflow of %(amount)s in the last 30 days"),
    "ASSOCIATION": _("holds %(items)s; %(pct)s %% of such customers also hold %(item)s"),
    "MOTIVE": _("fits the customer's motive: %(motive)s"),
    "IDLE": _("%(pct)s %% of the deposits are on demand (%(amount)s)"),
    "NOT_HELD": _("holds no %(category)s yet"),
}


# The same words as the scoring's explanations (``qiao.scoring.explain``: one msgid each).
LIST_SEPARATOR = pgettext_lazy("list separator", ", ")
LIST_LAST = _("%(items)s and %(last)s")


def _join(items: list[str]) -> str:
    """``a, b and c`` (``a、b和c`` in Chinese)."""
    if len(items) <= 1:
        return "".join(items)
    return str(LIST_LAST) % {"items": str(LIST_SEPARATOR).join(items[:-1]), "last": items[-1]}


def reason_render(code: str, params: Any) -> str:
    """A suggestion's reason in the active language: amounts as the bank shows them (万元 in
    Chinese), categories and motives by their translated labels; the code when unknown."""
    template = REASONS.get(code)
    if template is None:
        return code
    p = dict(_params(params))
    if "amount" in p:
        p["amount"] = amount(p["amount"])
    for key in ("motive", "category", "item"):
        if key in p:
            p[key] = code_label(p[key])
    if "antecedent" in p:
        p["items"] = _join([code_label(a) for a in p.get("antecedent") or []])
    try:
        return str(template) % p
    except (KeyError, TypeError, ValueError):
        return code


# ------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Shown:
    """A suggestion as a page or the API shows it, checked again on the day it is read."""

    suggestion: Suggestion
    product: Product
    reason: str
    verdict: Verdict
    blocked_text: str

    @property
    def suitable(self) -> bool:
        return self.verdict.suitable


def suggestions_latest(customer: Customer) -> list[Suggestion]:
    """The customer's suggestions of their latest scoring day (rank 1–3, best first)."""
    latest = Suggestion.objects.filter(customer=customer, rank__gte=1).aggregate(d=Max("as_of"))[
        "d"
    ]
    if latest is None:
        return []
    return list(
        Suggestion.objects.filter(customer=customer, as_of=latest, rank__gte=1)
        .select_related("product", "decided_by")
        .order_by("rank")
    )


def suggestions_shown(
    customer: Customer, *, on: dt.date | None = None
) -> tuple[list[Shown], list[Shown]]:
    """``(suitable, blocked)``: the latest suggestions, each checked again on ``on`` (today);
    a product no longer selling is left out of both, and a blacklisted customer has none."""
    on = on or timezone.localdate()
    if is_blacklisted(customer):
        # On the blacklist since the night's suggestions were made: none (docs/keyaccounts.md).
        return [], []
    rows = [s for s in suggestions_latest(customer) if s.product.sale_status in SELLING]
    facts = customer_facts([customer.pk])[customer.pk]
    ok: list[Shown] = []
    blocked: list[Shown] = []
    for s in rows:
        verdict = check(facts, product_facts(s.product), on=on)
        shown = Shown(
            suggestion=s,
            product=s.product,
            reason=reason_render(s.reason_code, s.reason_params),
            verdict=verdict,
            blocked_text=verdict_text(verdict),
        )
        (ok if verdict.suitable else blocked).append(shown)
    return ok, blocked


def suggestions_panel(*, staff: Staff, customer: Customer) -> dict[str, Any]:
    """The 360's suggestions section (``suitability/_suggestions.html``)."""
    from qiao.org.permissions import VIEW_BALANCES, staff_has_perm

    ok, blocked = suggestions_shown(customer)
    first = (ok or blocked)[:1]
    return {
        "as_of": first[0].suggestion.as_of if first else None,
        "shown": ok,
        "blocked": blocked,
        "can_decide": staff_has_perm(staff, DECIDE_SUGGESTIONS),
        "show_balances": staff_has_perm(staff, VIEW_BALANCES),
        "decline_reasons": DeclineReason.choices,
    }


def cross_sell_suitable(customer: Customer, candidates: list[Any], *, on: dt.date | None = None):
    """The cross-sell candidates (the scoring's association rules: a category or a product each,
    ``{"item", …}``) that may be put to ``customer`` today: a product that passes the rule, or a
    category with at least one selling product that does. The rest are left out — a category of
    risk products is not proposed to a customer without a valid assessment at its level."""
    on = on or timezone.localdate()
    if not candidates:
        return []
    facts = customer_facts([customer.pk])[customer.pk]
    items = {str(c.get("item", "")) for c in candidates if isinstance(c, dict)}
    selling = list(
        Product.objects.filter(sale_status__in=SELLING).filter(
            Q(code__in=items) | Q(category__in=items)
        )
    )
    fits = {
        key
        for p in selling
        if check(facts, product_facts(p), on=on)
        for key in (p.code, p.category)
    }
    return [c for c in candidates if isinstance(c, dict) and str(c.get("item", "")) in fits]


def suggestion_get_for_staff(*, staff: Staff, suggestion_id: int) -> Suggestion:
    """A shown suggestion (rank 1–3) of a customer in ``staff``'s scope; 404 for missing, held
    back or not yours alike."""
    suggestion = (
        Suggestion.objects.select_related("customer", "product")
        .filter(pk=suggestion_id, rank__gte=1)
        .first()
    )
    if suggestion is None or not _in_scope(staff, suggestion.customer_id):
        raise Http404("No suggestion matches the given query.")
    return suggestion


# ------------------------------------------------------------------------------------- writing


def _in_scope(staff: Staff, customer_id: int) -> bool:
    return customers_visible_to(staff=staff).filter(pk=customer_id).exists()


def require_suitable(
    *,
    by: Staff,
    customers: Sequence[Customer],
    products: Iterable[Product],
    where: str,
    on: dt.date | None = None,
    ip: str | None = None,
    channel: str | None = None,
) -> None:
    """Refuse unless every product in ``products`` is suitable for every customer in
    ``customers`` on ``on`` (today): the first refusal raises :class:`ApplicationError` with the
    blocking rule's text in the reader's language, after it is audited as ``BLOCKED`` (the
    customer, the product, the rule and ``where``: what was attempted). Stops increases only —
    callers never pass a redemption or a reduction."""
    on = on or timezone.localdate()
    products = list(products)
    if not products or not customers:
        return
    facts = customer_facts([c.pk for c in customers])
    for customer in customers:
        for product in products:
            verdict = check(facts[customer.pk], product_facts(product), on=on)
            if verdict.suitable:
                continue
            audit_record(
                request_or_staff=by,
                action=Action.BLOCKED,
                customer_no=customer.customer_no,
                detail={"product": product.code, "rule": verdict.rule, "where": where},
                ip=ip,
                channel=channel,
            )
            text = verdict_text(verdict)
            if len(customers) > 1:
                text = _g("%(customer)s: %(rule)s") % {
                    "customer": customer.customer_no,
                    "rule": text,
                }
            raise ApplicationError(text, field="products")


DECIDED = (SuggestionStatus.TAKEN, SuggestionStatus.DECLINED, SuggestionStatus.NOT_NOW)


def suggestion_decide(
    *,
    by: Staff,
    suggestion_id: int,
    status: str,
    decline_reason: str = "",
    ip: str | None = None,
    channel: str | None = None,
) -> Suggestion:
    """Record what became of a suggestion: taken up, declined (with a reason of
    ``DECLINE_REASONS``) or not now. Needs ``org.decide_suggestions`` and the customer in
    ``by``'s scope (out of scope answers as missing); audited as ``SUGGESTION``. Taking up a
    product that is no longer suitable (an assessment expired since the night) is refused with
    the rule, and audited as ``BLOCKED``."""
    require_perm(by, DECIDE_SUGGESTIONS)
    suggestion = suggestion_get_for_staff(staff=by, suggestion_id=suggestion_id)
    if status not in {s.value for s in DECIDED}:
        raise ApplicationError(_("Choose taken up, declined or not now."), field="status")
    if status == SuggestionStatus.DECLINED:
        if decline_reason not in DeclineReason.values:
            raise ApplicationError(_("Say why the customer declined."), field="decline_reason")
    else:
        decline_reason = ""
    if status == SuggestionStatus.TAKEN:
        require_suitable(
            by=by,
            customers=[suggestion.customer],
            products=[suggestion.product],
            where="suggestion_taken",
            ip=ip,
            channel=channel,
        )
    before = suggestion.status
    suggestion.status = status
    suggestion.decline_reason = decline_reason
    suggestion.decided_by = by
    suggestion.decided_at = timezone.now()
    suggestion.full_clean()
    with transaction.atomic():
        suggestion.save(update_fields=["status", "decline_reason", "decided_by", "decided_at"])
        audit_record(
            request_or_staff=by,
            action=Action.SUGGESTION,
            customer_no=suggestion.customer.customer_no,
            detail={
                "suggestion": suggestion.pk,
                "product": suggestion.product.code,
                "from": before,
                "to": status,
                "decline_reason": decline_reason,
            },
            ip=ip,
            channel=channel,
        )
    return suggestion


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _params(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


__all__ = [
    "HOLDBACK",
    "REASONS",
    "Shown",
    "assessments_frame",
    "reason_render",
    "require_suitable",
    "shelf_frame",
    "suggestion_decide",
    "suggestions_latest",
    "suggestions_shown",
    "suggestions_store",
]


# ----------------------------------------------------------------------------------- evaluation

#: Each reason code's name, for the analyst page's take-up table.
REASON_NAMES: dict[str, Any] = {
    "MATURITY": _("Money maturing"),
    "INFLOW": _("Large inflow"),
    "ASSOCIATION": _("Customers like them hold it"),
    "MOTIVE": _("Fits the deposit motive"),
    "IDLE": _("Idle demand deposits"),
    "NOT_HELD": _("A category not yet held"),
}

#: Below this many customers in either group, or this many purchases in both, the comparison
#: is called too thin to tell.
EVALUATION_MIN_CUSTOMERS = 30
EVALUATION_MIN_PURCHASES = 10


def _takeup(rows: Iterable[tuple[Any, str, int]]) -> list[dict[str, Any]]:
    table: dict[Any, dict[str, Any]] = {}
    for key, status, n in rows:
        line = table.setdefault(key, {"key": key, "n": 0, **{s.value: 0 for s in SuggestionStatus}})
        line[status] = line.get(status, 0) + n
        line["n"] += n
    for line in table.values():
        decided = line["n"] - line[SuggestionStatus.OPEN]
        line["decided"] = decided
        line["rate"] = line[SuggestionStatus.TAKEN] / decided if decided else None
    return sorted(table.values(), key=lambda r: -r["n"])


def suggestion_evaluation(*, products_shown: int = 20) -> dict[str, Any]:
    """What the analyst page shows of the next-best products: take-up per reason and per product
    (the customer managers' outcomes), and whether the suggestions beat a random suitable
    product on later purchases — the customers suggested a product (rank 1) against the
    held-back customers and their random suitable product (rank 0): the share of each who opened
    an account of that product after the day it was drawn. With a 95 % interval of the
    difference (normal approximation), and ``thin`` when the numbers are too small to tell."""
    import math

    from django.db.models import Count, Exists, OuterRef

    from qiao.products.models import Account

    shown = Suggestion.objects.filter(rank__gte=1)
    by_reason = _takeup(
        shown.values_list("reason_code", "status").annotate(n=Count("id")).order_by()
    )
    for line in by_reason:
        line["label"] = str(REASON_NAMES.get(line["key"], line["key"]))
    by_product = _takeup(
        shown.values_list("product__name", "status").annotate(n=Count("id")).order_by()
    )[:products_shown]
    for line in by_product:
        line["label"] = line["key"]

    bought = Exists(
        Account.objects.filter(
            customer_id=OuterRef("customer_id"),
            product_id=OuterRef("product_id"),
            open_date__gt=OuterRef("as_of"),
        )
    )
    groups: dict[str, dict[str, Any]] = {}
    sizes: dict[str, tuple[int, int]] = {}
    for name, rank in (("suggested", 1), ("holdback", 0)):
        counts = (
            Suggestion.objects.filter(rank=rank)
            .annotate(bought=bought)
            .aggregate(
                n=Count("customer_id", distinct=True),
                k=Count("customer_id", distinct=True, filter=Q(bought=True)),
            )
        )
        n, k = int(counts["n"] or 0), int(counts["k"] or 0)
        groups[name] = {"customers": n, "bought": k, "share": k / n if n else None}
        sizes[name] = (n, k)
    s, h = groups["suggested"], groups["holdback"]
    (ns, ks), (nh, kh) = sizes["suggested"], sizes["holdback"]
    thin = min(ns, nh) < EVALUATION_MIN_CUSTOMERS or ks + kh < EVALUATION_MIN_PURCHASES
    diff: float | None = None
    low: float | None = None
    high: float | None = None
    if ns and nh:
        ps, ph = ks / ns, kh / nh
        diff = ps - ph
        se = math.sqrt(ps * (1 - ps) / ns + ph * (1 - ph) / nh)
        low, high = diff - 1.96 * se, diff + 1.96 * se
    if thin or low is None or high is None:
        verdict = "thin"
    else:
        verdict = "better" if low > 0 else "worse" if high < 0 else "unclear"
    return {
        "present": bool(by_reason) or nh > 0,
        "by_reason": by_reason,
        "by_product": by_product,
        "suggested": s,
        "holdback": h,
        "difference": diff,
        "low": low,
        "high": high,
        "verdict": verdict,
        "min_customers": EVALUATION_MIN_CUSTOMERS,
        "min_purchases": EVALUATION_MIN_PURCHASES,
    }
