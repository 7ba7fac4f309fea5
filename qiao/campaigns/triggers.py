"""Standing (event-triggered) campaigns and the campaigns' nightly work (docs/campaigns.md).

A standing campaign has a trigger instead of a one-off send: each night after the scoring, the
customers of its segment whom the trigger names that day (a maturity in N days, a birthday, a
festival in N days, a new issue or rate change of a campaign product, a large inflow, a tier up,
an attrition risk up — the scoring's events) become a cohort, planned exactly as a one-off
campaign is (the same exclusions, consent, caps, suitability, a control group from the
campaign's seed and the day) and sent by the same worker. A customer enters a standing campaign
once. The night also measures every campaign still in its window and closes those past it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from qiao.engagement.festivals import festivals_between
from qiao.products.models import AccountStatus, ProductRate
from qiao.scoring.models import ScoreEvent

from .models import Campaign, CampaignStatus, Recipient, Step, Trigger
from .planning import customer_ids_of, plan_cohort
from .results import measure_campaign
from .segments import segment_ids

LIVE = (CampaignStatus.APPROVED, CampaignStatus.SENDING, CampaignStatus.RUNNING)
SCORE_EVENT_FOR = {
    Trigger.LARGE_INFLOW: ScoreEvent.Kind.LARGE_INFLOW,
    Trigger.TIER_UP: ScoreEvent.Kind.TIER_UP,
    Trigger.ATTRITION_UP: ScoreEvent.Kind.ATTRITION_UP,
}


def triggered_ids(campaign: Campaign, day: dt.date) -> np.ndarray:
    """The customers the campaign's trigger names on ``day`` (sorted ids; any scope)."""
    from qiao.customers.models import Customer
    from qiao.products.models import Account

    days = campaign.trigger_days or 0
    trigger = campaign.trigger
    if trigger == Trigger.MATURITY:
        due = day + dt.timedelta(days=days or 30)
        return customer_ids_of(
            Account.objects.filter(maturity_date=due).exclude(status=AccountStatus.CLOSED)
        )
    if trigger == Trigger.BIRTHDAY:
        ahead = day + dt.timedelta(days=days)
        return customer_ids_of(
            Customer.objects.filter(birth_date__month=ahead.month, birth_date__day=ahead.day),
            "pk",
        )
    if trigger == Trigger.FESTIVAL:
        ahead = day + dt.timedelta(days=days or 7)
        if any(when == ahead for _code, when in festivals_between(ahead, ahead)):
            return customer_ids_of(Customer.objects.all(), "pk")
        return np.zeros(0, dtype=np.int64)
    if trigger == Trigger.NEW_PRODUCT:
        products = campaign.products.filter(
            Q(issue_date=day)
            | Q(pk__in=ProductRate.objects.filter(effective=day).values("product"))
        )
        # Everyone in the segment may hear of it; suitability then keeps those it suits.
        return (
            customer_ids_of(Customer.objects.all(), "pk")
            if products.exists()
            else np.zeros(0, np.int64)
        )
    kind = SCORE_EVENT_FOR.get(Trigger(trigger)) if trigger else None
    if kind is None:
        return np.zeros(0, dtype=np.int64)
    return customer_ids_of(ScoreEvent.objects.filter(kind=kind, event_date=day))


def _day_seed(seed: int, day: dt.date) -> int:
    state = np.random.SeedSequence([seed, day.toordinal()]).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(2))


def run_trigger(campaign: Campaign, day: dt.date, *, now: dt.datetime | None = None) -> int:
    """Plan the day's cohort of a standing campaign; returns the customers it brought in."""
    now = now or timezone.now()
    step = campaign.steps.order_by("number").first()
    if step is None or campaign.seed is None:
        return 0
    ids = np.intersect1d(
        segment_ids(staff=campaign.author, segment=campaign.segment),
        triggered_ids(campaign, day),
    )
    ids = np.setdiff1d(ids, customer_ids_of(Recipient.objects.filter(campaign=campaign)))
    if not ids.size:
        return 0
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        stats = plan_cohort(locked, step, ids, now=now, seed=_day_seed(locked.seed or 0, day))
        total: dict[str, Any] = dict(locked.plan_stats or {})
        for key in ("segment", "eligible", "treated", "control"):
            total[key] = int(total.get(key, 0)) + int(stats[key])
        excluded = dict(total.get("excluded", {}))
        for key, n in stats["excluded"].items():
            excluded[key] = int(excluded.get(key, 0)) + int(n)
        total["excluded"] = excluded
        total["seed"] = str(locked.seed)
        total["last_cohort"] = day.isoformat()
        Campaign.objects.filter(pk=campaign.pk).update(
            plan_stats=total, planned_at=now, status=CampaignStatus.RUNNING
        )
        Step.objects.filter(pk=step.pk).update(planned_at=now, sent_at=None)
    from .tasks import send_step_task

    transaction.on_commit(lambda: send_step_task.enqueue(step.pk))
    return int(ids.size)


def campaigns_nightly(day: dt.date | None = None) -> dict[str, Any]:
    """After the scoring: standing campaigns' cohorts, then every live campaign measured, and
    the one-off campaigns whose window has ended closed as finished."""
    day = day or timezone.localdate()
    out: dict[str, Any] = {"triggered": {}, "measured": 0, "finished": 0}
    for campaign in Campaign.objects.filter(status__in=LIVE).exclude(trigger=""):
        if campaign.starts_on <= day:
            out["triggered"][campaign.pk] = run_trigger(campaign, day)
    for campaign in Campaign.objects.filter(
        status__in=(CampaignStatus.RUNNING, CampaignStatus.SENDING, CampaignStatus.STOPPED),
        planned_at__isnull=False,
    ):
        ends = campaign.starts_on + dt.timedelta(days=campaign.window_days)
        if (
            campaign.measured_on is not None
            and campaign.measured_on > ends
            and not campaign.trigger
        ):
            continue  # measured after its window closed: the numbers are final
        measure_campaign(campaign, on=day)
        out["measured"] += 1
        if not campaign.trigger and campaign.status == CampaignStatus.RUNNING and ends < day:
            Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.FINISHED)
            out["finished"] += 1
    return out
