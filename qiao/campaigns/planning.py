"""Planning a campaign step: who gets it, who is held out, who is left out and why.

Set-based throughout (numpy arrays of customer ids, one query per rule), so that a segment of a
million customers is planned in seconds (bench/bench_campaign.py):

1. the segment, resolved in the author's data scope;
2. the exclusions, each customer left out for the first rule that applies, in this order:
   blacklist, open complaint, in another running campaign, contacted in the last N days,
   frequency cap (marketing messages *and* customer managers' calls, across all campaigns),
   no consent for the step's channel, no address for it, no suitable campaign product (the one
   suitability rule, :func:`qiao.core.suitability.suitable_mask`, per customer × product);
3. the control group: a random share of the eligible, stratified by tier, from a seed recorded
   on the campaign (``qiao.analytics.campaign.split_control``) — excluded *before* the split, so
   treated and control are alike in everything but the message;
4. the A/B variants among the treated;
5. recipients, exclusions and one planned message per treated recipient, written in bulk.

A follow-up step plans from the first step's recipients: those who have not responded (and,
with the step's ``min_aum``, only the high-value ones); the same criteria select the control
group's counterpart, which again receives nothing, so each step is measured on its own.
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from qiao.analytics.campaign import assign_variants, split_control
from qiao.core.bulk import copy_arrow
from qiao.core.suitability import RATED_CATEGORIES, level_rank, suitable_mask
from qiao.core.vocab import CONSENT_CHANNELS, RISK_TOLERANCES
from qiao.customers.consent import consented_ids
from qiao.customers.models import Customer, CustomerStanding
from qiao.engagement.models import Complaint, ComplaintStatus, Contact
from qiao.products.models import Product
from qiao.suitability.models import RiskAssessment

from .models import (
    LIVE_STATUSES,
    Campaign,
    Exclusion,
    Group,
    Message,
    MessageStatus,
    Recipient,
    Step,
)
from .rules import Rules, campaign_rules
from .segments import ids_of, segment_ids

#: Why a customer is left out, in the order the rules are applied (docs/campaigns.md).
EXCLUSION_ORDER = (
    "BLACKLIST",
    "COMPLAINT",
    "OTHER_CAMPAIGN",
    "CONTACTED",
    "CAP",
    "NO_CONSENT",
    "NO_ADDRESS",
    "UNSUITABLE",
)
#: The consent a channel needs (an invitation to the outlet is made by telephone).
CONSENT_FOR = {code: code for code in CONSENT_CHANNELS.codes} | {"OUTLET": "PHONE"}
#: The customer field a channel needs: the mobile number (WeChat reaches the customer through
#: the bound number; the outlet's invitation is a call), the e-mail or the postal address.
ADDRESS_FOR = dict.fromkeys([*CONSENT_CHANNELS.having("mobile"), "OUTLET"], "mobile") | {
    "EMAIL": "email",
    "POST": "address",
}
#: Messages that count toward the caps (everything that went out).
SENT_STATUSES = (
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.REPLIED,
    MessageStatus.OPTED_OUT,
)


#: Above this many rows in its table, a columnar read is joined per million ids (PostgreSQL).
ONE_TEXT_ROWS = 10_000_000
#: A plan of at least this many messages refreshes the table's statistics (PostgreSQL).
ANALYZE_ABOVE = 50_000


def customer_ids_of(qs: Any, field: str = "customer_id") -> np.ndarray:
    """The distinct customer ids of ``qs`` (its ``customer_id``, or ``field``), sorted."""
    return ids_of(qs, field)


def external_id(campaign_id: int, step_number: int, customer_id: int) -> str:
    """A message's identity outside Qiao: the same on every retry, unique across campaigns."""
    return f"Q{campaign_id}-{step_number}-{customer_id}"


def blacklisted() -> np.ndarray:
    from qiao.credit.selectors import blacklisted_ids

    return np.asarray(blacklisted_ids(), dtype=np.int64)


def open_complaints() -> np.ndarray:
    return customer_ids_of(Complaint.objects.exclude(status=ComplaintStatus.RESOLVED))


def in_other_campaigns(campaign: Campaign) -> np.ndarray:
    return customer_ids_of(
        Recipient.objects.filter(campaign__status__in=LIVE_STATUSES).exclude(campaign=campaign)
    )


def contacted_since(since: dt.datetime) -> np.ndarray:
    """Customers a customer manager contacted, or a campaign reached, since ``since``."""
    contacts = customer_ids_of(Contact.objects.filter(at__gte=since))
    messages = customer_ids_of(
        Message.objects.filter(sent_at__gte=since, status__in=SENT_STATUSES),
        "recipient__customer_id",
    )
    return np.union1d(contacts, messages)


def contact_counts(ids: np.ndarray, since: dt.datetime) -> np.ndarray:
    """Marketing contacts per customer of ``ids`` since ``since``: campaign messages sent plus
    customer managers' logged contacts (one frequency cap across every campaign and the CMs)."""
    found = np.concatenate(
        [
            np.fromiter(
                Contact.objects.filter(at__gte=since)
                .values_list("customer_id", flat=True)
                .iterator(chunk_size=50_000),
                dtype=np.int64,
            ),
            np.fromiter(
                Message.objects.filter(sent_at__gte=since, status__in=SENT_STATUSES)
                .values_list("recipient__customer_id", flat=True)
                .iterator(chunk_size=50_000),
                dtype=np.int64,
            ),
        ]
    )
    if ids.size == 0:
        return np.zeros(0, dtype=np.int64)
    found = found[np.isin(found, ids)]
    keys, counts = np.unique(found, return_counts=True)
    out = np.zeros(ids.size, dtype=np.int64)
    out[np.searchsorted(ids, keys)] = counts
    return out


def over_cap(ids: np.ndarray, now: dt.datetime, rules: Rules) -> np.ndarray:
    """A mask over ``ids`` (sorted): the customers already at a weekly or monthly cap."""
    week = contact_counts(ids, now - dt.timedelta(days=7))
    month = contact_counts(ids, now - dt.timedelta(days=30))
    return (week >= rules.cap_week) | (month >= rules.cap_month)


def with_address(ids: np.ndarray, channel: str) -> np.ndarray:
    """The customers of ``ids`` (sorted) with an address for ``channel`` (mobile, e-mail, post).
    Read as its complement: the few customers *without* one (reading the million with one was
    most of this rule's time)."""
    field = ADDRESS_FOR[channel]
    missing = Customer.objects.filter(Q(**{field: ""}) | Q(**{f"{field}__isnull": True}))
    if ids.size < 5000:
        missing = missing.filter(pk__in=ids.tolist())
    return ids[~np.isin(ids, customer_ids_of(missing, "pk"))]


def _last_per_customer(customer_ids: np.ndarray) -> np.ndarray:
    """Positions of each customer's last row in rows sorted by customer (then by date)."""
    if customer_ids.size == 0:
        return np.zeros(0, dtype=np.int64)
    last = np.flatnonzero(np.append(customer_ids[1:] != customer_ids[:-1], True))
    return last


def _positions(ids: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``keys`` found in the sorted ``ids``: (index into keys, index into ids)."""
    at = np.searchsorted(ids, keys)
    at_clipped = np.minimum(at, max(ids.size - 1, 0))
    found = (at < ids.size) & (ids[at_clipped] == keys) if ids.size else np.zeros(0, bool)
    return np.flatnonzero(found), at_clipped[found]


def _query_columns(
    sql: str, params: Sequence[Any], types: dict[str, pa.DataType], *, table: str
) -> pa.Table:
    """The rows of ``sql`` over ``table`` (columns of numbers, dates and codes: no commas,
    quotes or line breaks; the first an integer id) as an Arrow table of ``types``, in no
    particular order. On PostgreSQL the server joins them into one CSV text — one per million
    ids of the first column for a table of over 10 million rows (a text value is at most 1 GB;
    the grouping costs 0.9 s a million rows) — read by Arrow in C: no Python object per value (a
    million assessments or standings through the ORM, or row by row through ``COPY … TO``, took
    seconds each); on SQLite from the cursor (in-process)."""
    names = list(types)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
            (rows,) = cur.fetchone() or (0,)
            cells = ", ".join(f"COALESCE(CAST(q.c{i} AS TEXT), '')" for i in range(len(names)))
            aliases = ", ".join(f"c{i}" for i in range(len(names)))
            cur.execute(
                f"SELECT string_agg(concat_ws(',', {cells}), E'\\n') "  # noqa: S608
                f"FROM ({sql}) AS q({aliases})"
                + (" GROUP BY q.c0 / 1000000" if rows > ONE_TEXT_ROWS else ""),
                params,
            )
            text = "\n".join(row[0] for row in cur.fetchall() if row[0])
            if not text:
                return pa.table({n: pa.array([], t) for n, t in types.items()})
            return pa_csv.read_csv(
                io.BytesIO(text.encode()),
                read_options=pa_csv.ReadOptions(column_names=names),
                convert_options=pa_csv.ConvertOptions(column_types=types),
            )
        cur.execute(sql, params)
        rows = cur.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.table(
        {
            n: pa.array([_date(v) for v in col] if pa.types.is_date(t) else list(col), t)
            for (n, t), col in zip(types.items(), columns, strict=True)
        }
    )


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _few(ids: np.ndarray, column: str) -> tuple[str, list[int]]:
    """A filter on ``column`` for a small ``ids`` (parameters), or none for a large one (the
    whole table is read and matched in numpy)."""
    if ids.size >= 5000:
        return "", []
    if not ids.size:
        return " AND 1 = 0", []
    return f" AND {column} IN ({', '.join(['%s'] * ids.size)})", ids.tolist()


def suitable_product_index(ids: np.ndarray, products: Sequence[Product], on: dt.date) -> np.ndarray:
    """Per customer of ``ids`` the index of the first campaign product they may be offered
    (the one suitability rule), or -1 when none. No products: every customer gets 0."""
    if not products:
        return np.zeros(ids.size, dtype=np.int64)
    n = ids.size
    tolerance = np.zeros(n, dtype=np.int64)
    until = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    qualified = np.zeros(n, dtype=bool)
    where, params = _few(ids, "customer_id")
    found = _query_columns(
        "SELECT customer_id, tolerance, valid_until, "  # noqa: S608 - the model's own table
        "CASE WHEN qualified_investor THEN 1 ELSE 0 END, assessed_on, id "
        f"FROM {RiskAssessment._meta.db_table} WHERE assessed_on <= %s{where}",
        [on, *params],
        {
            "customer_id": pa.int64(),
            "tolerance": pa.string(),
            "valid_until": pa.date32(),
            "qualified": pa.int64(),
            "assessed_on": pa.date32(),
            "id": pa.int64(),
        },
        table=RiskAssessment._meta.db_table,
    )
    if found.num_rows:
        # Each customer's latest assessment made by the day: the last row per customer in the
        # order (customer, assessed on, id).
        order = np.lexsort(
            (
                found["id"].to_numpy(),
                found["assessed_on"].to_numpy().astype("datetime64[D]"),
                found["customer_id"].to_numpy(),
            )
        )
        found = found.take(pa.array(order))
        cids = found["customer_id"].to_numpy()
        last = _last_per_customer(cids)
        codes = found["tolerance"].combine_chunks().dictionary_encode()
        rank = np.array(
            [level_rank(code, RISK_TOLERANCES) or 0 for code in codes.dictionary.to_pylist()]
            or [0],
            dtype=np.int64,
        )
        tol = rank[codes.indices.to_numpy(zero_copy_only=False)[last]]
        valid = found["valid_until"].to_numpy().astype("datetime64[D]")[last]
        qual = found["qualified"].to_numpy()[last].astype(bool)
        src, dst = _positions(ids, cids[last])
        tolerance[dst], until[dst], qualified[dst] = tol[src], valid[src], qual[src]
    rated = np.array([p.category in RATED_CATEGORIES for p in products])
    level = np.array([level_rank(p.risk_level) for p in products])
    private = np.array([bool(p.private) for p in products])
    blocked = suitable_mask(
        tolerance=tolerance[:, None],
        valid_until=until[:, None],
        qualified=qualified[:, None],
        category_rated=rated[None, :],
        level=level[None, :],
        private=private[None, :],
        on=on,
    )
    ok = blocked == -1
    return np.where(ok.any(axis=1), ok.argmax(axis=1), -1).astype(np.int64)


def _standings(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tier, AUM and contribution per customer of ``ids`` (sorted); amounts as floats."""
    tier = np.full(ids.size, "", dtype=object)
    aum = np.zeros(ids.size)
    contribution = np.zeros(ids.size)
    where, params = _few(ids, "customer_id")
    found = _query_columns(
        "SELECT customer_id, tier, CAST(aum AS DOUBLE PRECISION), "  # noqa: S608
        "CAST(contribution AS DOUBLE PRECISION) "
        f"FROM {CustomerStanding._meta.db_table} WHERE 1 = 1{where}",
        params,
        {
            "customer_id": pa.int64(),
            "tier": pa.string(),
            "aum": pa.float64(),
            "contribution": pa.float64(),
        },
        table=CustomerStanding._meta.db_table,
    )
    if found.num_rows:
        src, dst = _positions(ids, found["customer_id"].to_numpy())
        tier[dst] = found["tier"].fill_null("").to_numpy(zero_copy_only=False)[src]
        aum[dst] = found["aum"].fill_null(0.0).to_numpy()[src]
        contribution[dst] = found["contribution"].fill_null(0.0).to_numpy()[src]
    return tier, aum, contribution


def _variants(step: Step) -> list[str]:
    return sorted({t.variant for t in step.templates.all()}) or ["A"]


def plan_first_step(campaign: Campaign, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Plan the campaign's first step: recipients (treated and control), exclusions and the
    treated recipients' messages. Idempotent: a campaign already planned is left as it is."""
    now = now or timezone.now()
    step = campaign.steps.order_by("number").first()
    if step is None:
        raise ValueError("a campaign needs at least one step")
    if step.planned_at is not None:
        return dict(campaign.plan_stats)
    ids = segment_ids(staff=campaign.author, segment=campaign.segment)
    seed = campaign.seed if campaign.seed is not None else secrets.randbits(62)
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.steps.filter(number=step.number, planned_at__isnull=False).exists():
            return dict(locked.plan_stats)
        stats = plan_cohort(campaign, step, ids, now=now, seed=seed)
        Step.objects.filter(pk=step.pk).update(planned_at=now)
        Campaign.objects.filter(pk=campaign.pk).update(seed=seed, plan_stats=stats, planned_at=now)
    campaign.seed, campaign.plan_stats, campaign.planned_at = seed, stats, now
    return stats


def plan_cohort(
    campaign: Campaign, step: Step, ids: np.ndarray, *, now: dt.datetime, seed: int
) -> dict[str, Any]:
    """Exclude, split and write one cohort of customers (``ids``, sorted) for the campaign's
    first step: the whole segment of a one-off campaign, or the customers an event brought to
    a standing campaign on one day. Call inside a transaction."""
    today = timezone.localdate(now)
    rules = campaign_rules()
    segment_size = int(ids.size)
    reason = np.full(ids.size, -1, dtype=np.int8)

    def leave_out(mask: np.ndarray, code: str) -> None:
        reason[(reason == -1) & mask] = EXCLUSION_ORDER.index(code)

    # A blacklisted customer gets no campaign, whatever the campaign says.
    leave_out(np.isin(ids, blacklisted()), "BLACKLIST")
    if campaign.exclude_complaints:
        leave_out(np.isin(ids, open_complaints()), "COMPLAINT")
    if campaign.exclude_other_campaigns:
        leave_out(np.isin(ids, in_other_campaigns(campaign)), "OTHER_CAMPAIGN")
    if campaign.exclude_contacted_days:
        since = now - dt.timedelta(days=campaign.exclude_contacted_days)
        leave_out(np.isin(ids, contacted_since(since)), "CONTACTED")
    leave_out(over_cap(ids, now, rules), "CAP")
    leave_out(~np.isin(ids, consented_ids(CONSENT_FOR[step.channel], ids)), "NO_CONSENT")
    leave_out(~np.isin(ids, with_address(ids, step.channel)), "NO_ADDRESS")
    products = list(campaign.products.order_by("code"))
    product_index = suitable_product_index(ids, products, today)
    leave_out(product_index < 0, "UNSUITABLE")

    eligible = reason == -1
    keys = ids[eligible]
    chosen = product_index[eligible]
    tier, aum, contribution = _standings(keys)
    control = split_control(keys, tier, campaign.control_pct / 100, seed=seed)
    variants = _variants(step)
    variant = np.zeros(keys.size, dtype=np.int64)
    treated = ~control
    if len(variants) > 1:
        variant[treated] = assign_variants(keys[treated], seed, [1.0] * len(variants))
    product_ids = np.array([p.pk for p in products] or [0], dtype=np.int64)
    n = keys.size
    out_of = np.flatnonzero(~eligible)
    # Column-wise into Arrow, then COPY (qiao.core.bulk.copy_arrow): no Python object per row.
    recipients = pa.table(
        {
            "campaign_id": pa.array(np.full(n, campaign.pk, dtype=np.int64)),
            "customer_id": pa.array(keys),
            "group": pa.array(np.where(control, Group.CONTROL.value, Group.TREATED.value)),
            "variant": pa.array(np.array(variants, dtype=object)[variant], pa.string()),
            "stratum": pa.array(tier, pa.string()),
            "aum_at_start": pa.array(np.round(aum, 2)),
            "contribution_at_start": pa.array(np.round(contribution, 2)),
            "product_id": pa.array(
                product_ids[np.maximum(chosen, 0)], mask=np.full(n, not products)
            ),
        }
    )
    exclusions = pa.table(
        {
            "campaign_id": pa.array(np.full(out_of.size, campaign.pk, dtype=np.int64)),
            "customer_id": pa.array(ids[out_of]),
            "step": pa.array(np.full(out_of.size, step.number, dtype=np.int64)),
            "reason": pa.array(
                np.array(EXCLUSION_ORDER, dtype=object)[reason[out_of]], pa.string()
            ),
        }
    )
    counts = {code: int((reason == k).sum()) for k, code in enumerate(EXCLUSION_ORDER)}
    copy_arrow(Recipient, recipients)
    copy_arrow(Exclusion, exclusions)
    _plan_messages(
        campaign, step, Q(customer_id__in=keys[treated].tolist()) if campaign.trigger else None
    )
    return {
        "segment": segment_size,
        "eligible": int(keys.size),
        "treated": int(treated.sum()),
        "control": int(control.sum()),
        "excluded": {k: v for k, v in counts.items() if v},
        "seed": str(seed),
        "products": {p.code: int((chosen == j).sum()) for j, p in enumerate(products)},
    }


def _plan_messages(campaign: Campaign, step: Step, audience: Q | None = None) -> int:
    """One planned message per treated recipient of ``audience`` for ``step``: one
    ``INSERT … SELECT`` from the recipients, on PostgreSQL and SQLite alike (the ids never
    leave the database; reading them out and copying them back was a tenth of a plan)."""
    recipients = Recipient.objects.filter(campaign=campaign, group=Group.TREATED)
    if audience is not None:
        recipients = recipients.filter(audience)
    chosen, params = recipients.order_by().values_list("id", "customer_id").query.sql_with_params()
    table = Message._meta.db_table
    with connection.cursor() as cur:
        # The table name is the model's own; the values are parameters.
        cur.execute(
            f"INSERT INTO {table} (recipient_id, step_id, channel, external_id, status, "  # noqa: S608
            "skip_reason, text) "
            "SELECT r.id, %s, %s, %s || CAST(r.customer_id AS VARCHAR(20)), %s, '', '' "
            f"FROM ({chosen}) AS r ORDER BY r.id",
            [
                step.pk,
                step.channel,
                f"Q{campaign.pk}-{step.number}-",
                MessageStatus.PLANNED.value,
                *params,
            ],
        )
        n = int(cur.rowcount)
        if connection.vendor == "postgresql" and n >= ANALYZE_ABOVE:
            # The send's statements are planned from the table's statistics, which still describe
            # it before these rows (autovacuum analyses it later): a plan that takes a step's
            # planned messages for a handful reads all of them for every batch.
            cur.execute(f"ANALYZE {table}")
    return n


def follow_up_audience(step: Step) -> Q:
    """Who a follow-up step is for: recipients who have not responded, with at least the step's
    AUM when it names one (the same criteria pick the control group's counterpart)."""
    audience = Q(responded_on__isnull=True)
    if step.min_aum is not None:
        audience &= Q(aum_at_start__gte=step.min_aum)
    return audience


def plan_follow_up(step: Step, *, now: dt.datetime | None = None) -> int:
    """Plan a follow-up step's messages (idempotent): the non-responders of the treated group
    who still consent to the step's channel; returns the number of messages planned."""
    now = now or timezone.now()
    campaign = step.campaign
    with transaction.atomic():
        locked = Step.objects.select_for_update().get(pk=step.pk)
        if locked.planned_at is not None:
            return 0
        n = _plan_messages(campaign, step, follow_up_audience(step))
        Step.objects.filter(pk=step.pk).update(planned_at=now)
    return n
