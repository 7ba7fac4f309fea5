"""Measuring a campaign (docs/campaigns.md, "Measuring"; the methods in docs/models.md).

Every recipient, treated and control alike, is measured the same way over the campaign's window
(from its start day for ``window_days``): from the lake (``qiao.analytics.campaign
.campaign_outcomes``: products bought, balances at month ends, transactions) and the operational
data (accounts opened, contacts). A **response** is, by the campaign's aim:

- cross-sell, up-sell, acquisition: bought a campaign product (with no product named: the
  balance went up);
- retention, win-back: stayed — transacted in the window;
- after-sales: visited or called back (a meeting, visit or outlet contact).

Only behaviour the control group can show too counts, so a reply to the message (which only the
treated can send) is reported beside the uplift, not in it. The uplift is the difference of the
response rates with Newcombe's interval; incremental AUM and contribution are the differences
of the mean changes (Welch), times the treated; the return on spend is (incremental
contribution − cost) / cost.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from qiao.analytics.campaign import campaign_outcomes, mean_difference, uplift
from qiao.core.bulk import fast_insert
from qiao.core.refs import refs_export
from qiao.core.vocab import CONTACT_CHANNELS
from qiao.customers.models import CustomerStanding
from qiao.engagement.models import Contact
from qiao.products.models import Account

from .models import Campaign, Group, Message, MessageStatus, Recipient, Response, ResponseKind

#: The response that counts for the uplift, by aim.
RESPONSE_FOR_AIM = {
    "CROSS_SELL": ResponseKind.BOUGHT,
    "UP_SELL": ResponseKind.BOUGHT,
    "ACQUISITION": ResponseKind.BOUGHT,
    "RETENTION": ResponseKind.STAYED,
    "WIN_BACK": ResponseKind.STAYED,
    "AFTER_SALES": ResponseKind.VISITED,
}
VISIT_CHANNELS = CONTACT_CHANNELS.having("in_person")
SENT_LIKE = (
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.REPLIED,
    MessageStatus.OPTED_OUT,
    MessageStatus.FAILED,
)


def response_kind(campaign: Campaign) -> str:
    kind = RESPONSE_FOR_AIM.get(campaign.aim, ResponseKind.BOUGHT)
    if kind == ResponseKind.BOUGHT and not campaign.products.exists():
        return ResponseKind.BALANCE_UP
    return kind


def window(campaign: Campaign, on: dt.date) -> tuple[dt.date, dt.date]:
    end = campaign.starts_on + dt.timedelta(days=campaign.window_days)
    return campaign.starts_on, min(end, on)


def measure_campaign(campaign: Campaign, *, on: dt.date | None = None) -> dict[str, Any]:
    """Attribute responses over the window so far and keep the results on the campaign."""
    on = on or timezone.localdate()
    start, end = window(campaign, on)
    rows = list(
        Recipient.objects.filter(campaign=campaign)
        .order_by("pk")
        .values_list("pk", "customer_id", "customer__customer_no")
    )
    if not rows or end < start:
        return results_for(campaign)
    pks = np.array([r[0] for r in rows], dtype=np.int64)
    customer_ids = np.array([r[1] for r in rows], dtype=np.int64)
    nos = [r[2] for r in rows]
    codes = list(campaign.products.values_list("code", flat=True))
    opened = _opened(campaign, start, end)
    # The lake's reference tables (products and accounts) as the operational data has them now.
    refs_export(settings.LAKE_DIR)
    outcomes = campaign_outcomes(
        settings.LAKE_DIR,
        pa.table({"customer_no": pa.array(nos, pa.string())}),
        window_start=start,
        window_end=end,
        product_codes=codes,
        opened=opened,
        time_zone=settings.TIME_ZONE,
    )
    bought = np.asarray(outcomes.column("bought").to_numpy(zero_copy_only=False), dtype=bool)
    bought |= np.asarray(outcomes.column("purchased").to_numpy(zero_copy_only=False), dtype=bool)
    change = np.asarray(outcomes.column("aum_change").to_numpy(zero_copy_only=False), dtype=float)
    txns = np.asarray(outcomes.column("txn_count").to_numpy(zero_copy_only=False), dtype=np.int64)
    visited = np.isin(customer_ids, _visited(campaign, start, end))
    found: dict[str, np.ndarray] = {
        ResponseKind.BOUGHT: bought,
        ResponseKind.BALANCE_UP: change > 0,
        ResponseKind.VISITED: visited,
    }
    if campaign.aim in ("RETENTION", "WIN_BACK"):
        found[ResponseKind.STAYED] = txns > 0

    def response_rows() -> Any:
        for kind, mask in found.items():
            for i in np.flatnonzero(mask):
                yield {
                    "recipient_id": int(pks[i]),
                    "kind": kind,
                    "on": end,
                    "amount": round(float(change[i]), 2) if kind == ResponseKind.BALANCE_UP else 0,
                }

    counted = response_kind(campaign)
    with transaction.atomic():
        Response.objects.filter(recipient__campaign=campaign).exclude(
            kind=ResponseKind.REPLIED
        ).delete()
        fast_insert(Response, response_rows())
        _set_responded(campaign, counted)
        Campaign.objects.filter(pk=campaign.pk).update(measured_on=on)
    results = _compute(campaign, on, aum_change=dict(zip(pks.tolist(), change.tolist())))
    Campaign.objects.filter(pk=campaign.pk).update(results=results)
    campaign.results, campaign.measured_on = results, on
    return results


def _opened(campaign: Campaign, start: dt.date, end: dt.date) -> pa.Table:
    rows = Account.objects.filter(
        customer__campaign_recipients__campaign=campaign,
        open_date__gte=start,
        open_date__lte=end,
        product__in=campaign.products.all(),
    ).values_list("customer__customer_no", "product__code", "open_date")
    nos, codes, days = [], [], []
    for no, code, day in rows.iterator(chunk_size=20_000):
        nos.append(no)
        codes.append(code)
        days.append(day)
    return pa.table(
        {
            "customer_no": pa.array(nos, pa.string()),
            "product_code": pa.array(codes, pa.string()),
            "open_date": pa.array(days, pa.date32()),
        }
    )


def _visited(campaign: Campaign, start: dt.date, end: dt.date) -> np.ndarray:
    zone = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=zone)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    ids = Contact.objects.filter(
        customer__campaign_recipients__campaign=campaign,
        channel__in=VISIT_CHANNELS,
        at__gte=since,
        at__lt=until,
    ).values_list("customer_id", flat=True)
    return np.unique(np.fromiter(ids.iterator(chunk_size=20_000), dtype=np.int64))


def _set_responded(campaign: Campaign, kind: str) -> None:
    """``responded_on``: the first counted response (follow-up steps skip responders)."""
    table = Recipient._meta.db_table
    responses = Response._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {table} SET responded_on = (SELECT MIN(r.{connection.ops.quote_name('on')}) "  # noqa: S608
            f"FROM {responses} r WHERE r.recipient_id = {table}.id AND r.kind = %s) "
            "WHERE campaign_id = %s",
            [kind, campaign.pk],
        )


def _group_stats(
    group: np.ndarray, responded: np.ndarray, mask: np.ndarray | None = None
) -> dict[str, Any]:
    keep = np.ones(group.size, dtype=bool) if mask is None else mask
    treated = keep & (group == Group.TREATED)
    control = keep & (group == Group.CONTROL)
    u = uplift(
        int(treated.sum()),
        int((responded & treated).sum()),
        int(control.sum()),
        int((responded & control).sum()),
    )
    return {
        "treated": {
            "n": u.treated_n,
            "responders": u.treated_responders,
            "rate": u.rate_treated,
        },
        "control": {
            "n": u.control_n,
            "responders": u.control_responders,
            "rate": u.rate_control,
        },
        "uplift": u.uplift,
        "ci_low": u.ci_low,
        "ci_high": u.ci_high,
        "p_value": u.p_value,
    }


def _compute(campaign: Campaign, on: dt.date, *, aum_change: dict[int, float]) -> dict[str, Any]:
    counted = response_kind(campaign)
    rows = list(
        Recipient.objects.filter(campaign=campaign)
        .order_by("pk")
        .values_list(
            "pk", "customer_id", "group", "variant", "responded_on", "contribution_at_start"
        )
    )
    if not rows:
        return {}
    pks = np.array([r[0] for r in rows], dtype=np.int64)
    group = np.array([r[2] for r in rows])
    variant = np.array([r[3] for r in rows])
    responded = np.array([r[4] is not None for r in rows])
    contribution_now = dict(
        CustomerStanding.objects.filter(
            customer__campaign_recipients__campaign=campaign
        ).values_list("customer_id", "contribution")
    )
    d_contribution = np.array(
        [float(contribution_now.get(r[1], 0) or 0) - float(r[5] or 0) for r in rows]
    )
    d_aum = np.array([aum_change.get(int(pk), 0.0) for pk in pks])
    treated, control = group == Group.TREATED, group == Group.CONTROL
    aum = mean_difference(d_aum[treated], d_aum[control])
    contribution = mean_difference(d_contribution[treated], d_contribution[control])
    cost = _cost(campaign)
    top = _group_stats(group, responded)
    incremental_contribution = contribution.incremental_total
    roi = (
        (incremental_contribution - cost) / cost
        if cost and incremental_contribution is not None
        else None
    )
    by_kind = []
    for kind in ResponseKind.values:
        responders = set(
            Response.objects.filter(recipient__campaign=campaign, kind=kind).values_list(
                "recipient_id", flat=True
            )
        )
        mask = np.isin(pks, np.fromiter(responders, dtype=np.int64))
        by_kind.append(
            {
                "kind": kind,
                "treated": int((mask & treated).sum()),
                "control": int((mask & control).sum()),
            }
        )
    by_variant = []
    for v in sorted(set(variant[treated].tolist())):
        stats = _group_stats(group, responded, (variant == v) | control)
        by_variant.append({"variant": v, **stats})
    by_step = []
    for step in campaign.steps.order_by("number"):
        audience = _step_audience(campaign, step.number, pks)
        stats = _group_stats(group, responded, audience)
        by_step.append({"step": step.number, "channel": step.channel, **stats})
    replied = Response.objects.filter(
        recipient__campaign=campaign, kind=ResponseKind.REPLIED
    ).count()
    return {
        **top,
        "response": counted,
        "incremental_aum": aum.incremental_total,
        "incremental_aum_low": _scaled(aum.ci_low, aum.n_treated),
        "incremental_aum_high": _scaled(aum.ci_high, aum.n_treated),
        "incremental_contribution": incremental_contribution,
        "cost": cost,
        "budget": float(campaign.budget),
        "roi": roi,
        "replied": replied,
        "by_kind": by_kind,
        "by_variant": by_variant,
        "by_step": by_step,
        "window_end": (campaign.starts_on + dt.timedelta(days=campaign.window_days)).isoformat(),
        "measured_on": on.isoformat(),
    }


def _scaled(value: float | None, n: int) -> float | None:
    return None if value is None else value * n


def _step_audience(campaign: Campaign, number: int, pks: np.ndarray) -> np.ndarray:
    """Step 1: everyone. A follow-up: the treated it reached and the control recipients who
    meet the same criteria (did not respond before it; the step's minimum AUM)."""
    if number == 1:
        return np.ones(pks.size, dtype=bool)
    step = campaign.steps.get(number=number)
    reached = set(Message.objects.filter(step=step).values_list("recipient_id", flat=True))
    control = Recipient.objects.filter(campaign=campaign, group=Group.CONTROL)
    if step.min_aum is not None:
        control = control.filter(aum_at_start__gte=step.min_aum)
    if step.planned_at is not None:
        planned_on = timezone.localdate(step.planned_at)
        control = control.exclude(responded_on__lt=planned_on)
    reached |= set(control.values_list("pk", flat=True))
    return np.isin(pks, np.fromiter(reached, dtype=np.int64))


def _cost(campaign: Campaign) -> float:
    total = 0.0
    for step in campaign.steps.all():
        sent = Message.objects.filter(step=step, status__in=SENT_LIKE).count()
        total += sent * float(step.cost_per_contact)
    return round(total, 2)


def results_for(campaign: Campaign) -> dict[str, Any]:
    """The results as last measured (empty before the first measurement), with the plan's
    exclusions and the cost so far."""
    out = dict(campaign.results or {})
    out.setdefault("cost", _cost(campaign))
    out["exclusions"] = [
        {"reason": reason, "count": count}
        for reason, count in (campaign.plan_stats or {}).get("excluded", {}).items()
    ]
    out["measured"] = bool(campaign.results)
    return out
