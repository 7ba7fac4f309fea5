"""Background work for campaigns: Django's Tasks framework (the ``django-tasks`` backport on
Django 5.2), queued in the operational database by ``django-tasks-db`` and run by
``qiao worker`` (decision 0009). The send itself is :func:`qiao.campaigns.sending.send_step`:
idempotent and resumable, so a task run twice, or after a killed worker, sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from .models import Campaign, CampaignStatus, Step
from .sending import next_step_due, send_step


def _jsonable(result: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in result.items()}


@task()
def send_step_task(step_id: int) -> dict[str, Any]:
    """Send one step; come back when customers' quiet hours end; queue the follow-up step."""
    result = send_step(step_id)
    if result.get("retry_at"):
        send_step_task.using(run_after=result["retry_at"]).enqueue(step_id)
    elif result.get("state") == "sent":
        step = Step.objects.select_related("campaign").get(pk=step_id)
        due = next_step_due(step.campaign)
        if due is not None:
            follow_up, when = due
            send_step_task.using(run_after=max(when, timezone.now())).enqueue(follow_up.pk)
    return _jsonable(result)


def start_worker() -> subprocess.Popen[bytes]:
    """``qiao worker`` as a child process: ``qiao serve`` and ``qiao demo`` run one beside the
    web server, so a campaign approved on a page is sent without another command."""
    return subprocess.Popen([sys.executable, "-m", "qiao.cli", "worker"])


def start_moment(campaign: Campaign) -> dt.datetime:
    """The campaign's first step runs from its start day (bank's local midnight) or now."""
    zone = ZoneInfo(settings.TIME_ZONE)
    start = dt.datetime.combine(campaign.starts_on, dt.time(0, 0), tzinfo=zone)
    return max(start, timezone.now())


def enqueue_start(campaign_id: int) -> None:
    campaign = Campaign.objects.get(pk=campaign_id)
    first = campaign.steps.order_by("number").first()
    if first is not None:
        send_step_task.using(run_after=start_moment(campaign)).enqueue(first.pk)


def resume_interrupted() -> int:
    """Queue again every step a killed worker left unfinished (a step whose sender stopped
    renewing its lease). Harmless if another sender is alive: the lease keeps one sender per
    step. Called by ``qiao worker`` when it starts."""
    n = 0
    now = timezone.now()
    steps = Step.objects.filter(
        campaign__status__in=(CampaignStatus.APPROVED, CampaignStatus.SENDING),
        planned_at__isnull=False,
        sent_at__isnull=True,
    )
    for step in steps:
        if step.lease_until is None or step.lease_until < now:
            send_step_task.enqueue(step.pk)
            n += 1
    return n
