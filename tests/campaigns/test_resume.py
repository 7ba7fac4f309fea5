"""Resuming a send after a sender died between its steps (docs/campaigns.md, "Exactly once").

The sender records a file batch (``OutboundBatch``) before its file exists and marks its
messages sent after the file is in place. These tests leave the database and the outbox exactly
as a sender killed between two of those steps would, then resume with ``send_step`` and count
what the outbox holds. (``test_kill.py`` kills real workers; here each window is hit on purpose.)
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone

from qiao.campaigns.models import Message, MessageStatus, OutboundBatch, Recipient, Step
from qiao.campaigns.planning import plan_first_step
from qiao.campaigns.rules import campaign_rules
from qiao.campaigns.sending import (
    LeaseLost,
    _claim,
    _deliver_file,
    _send_batch,
    batch_path,
    renew_lease,
    send_step,
    take_lease,
)
from qiao.campaigns.services import campaign_progress
from tests.campaigns.conftest import sms_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_batches(settings, tmp_path: Path):
    """No quiet hours, batches of 7 messages."""
    source = Path(__file__).resolve().parents[2] / "qiao/campaigns/config/campaigns.toml"
    text = source.read_text(encoding="utf-8")
    text = text.replace('working_day = ["09:00", "20:00"]', 'working_day = ["00:00", "24:00"]')
    text = text.replace('rest_day = ["10:00", "18:00"]', 'rest_day = ["00:00", "24:00"]')
    text = re.sub(r"(?m)^batch_size = \d+", "batch_size = 7", text)
    path = tmp_path / "campaigns.toml"
    path.write_text(text, encoding="utf-8")
    settings.CAMPAIGN_CONFIG = str(path)
    campaign_rules.cache_clear()
    yield campaign_rules()
    campaign_rules.cache_clear()


def _outbox(step: Step) -> Counter[str]:
    written: Counter[str] = Counter()
    for path in sorted(batch_path(step, 1).parent.glob(f"sms_c{step.campaign_id}_*.csv")):
        with path.open(encoding="utf-8") as fh:
            written.update(row["message_id"] for row in csv.DictReader(fh))
    return written


def _treated_ids(step: Step) -> Counter[str]:
    return Counter(Message.objects.filter(step=step).values_list("external_id", flat=True))


def _planned_step(bank) -> Step:
    campaign = sms_campaign(bank)
    plan_first_step(campaign)
    return campaign.steps.get(number=1)


def test_a_batch_whose_file_was_written_before_the_kill_is_marked_sent_from_the_file(
    bank, small_batches
):
    step = _planned_step(bank)
    now = timezone.now()
    # The dead sender: batch 1 recorded, its file renamed into place, its messages not marked.
    holder = take_lease(step, now, small_batches)
    assert holder is not None
    claim = _claim(step, small_batches, now, 0)
    assert claim is not None and len(claim.ready) == 7
    OutboundBatch.objects.create(
        step=step, number=1, first_id=claim.first_id, last_id=claim.last_id, size=7
    )
    first = _deliver_file(step, 1, claim.ready, now)
    before = first.read_bytes()
    Step.objects.filter(pk=step.pk).update(lease_until=now - dt.timedelta(seconds=1))

    result = send_step(step.pk)

    assert result["state"] == "sent" and result["recovered"] == 7
    assert first.read_bytes() == before  # the platform's file is not written again
    assert _outbox(step) == _treated_ids(step)  # every message, each exactly once
    assert not Message.objects.filter(step=step, status=MessageStatus.PLANNED).exists()
    in_first = Message.objects.filter(pk__in=[m.pk for m in claim.ready])
    assert set(in_first.values_list("batch", flat=True)) == {1}
    with first.open(encoding="utf-8") as fh:  # a file message's text is in its file
        assert [r["text"] for r in csv.DictReader(fh)] == [m.text for m in claim.ready]
    assert not OutboundBatch.objects.filter(step=step, written=False).exists()
    progress = campaign_progress(step.campaign)[0]
    assert progress["planned"] == 0 and progress["pct"] == 100


def test_a_batch_recorded_but_never_written_is_dropped_and_its_messages_sent_later(
    bank, small_batches
):
    step = _planned_step(bank)
    now = timezone.now()
    claim = _claim(step, small_batches, now, 0)
    assert claim is not None
    # The dead sender recorded batch 1 and died before its file existed (a half-written
    # temporary file may be left: the platform never reads *.part).
    OutboundBatch.objects.create(
        step=step, number=1, first_id=claim.first_id, last_id=claim.last_id, size=7
    )
    part = batch_path(step, 1).with_suffix(".csv.part")
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_text("message_id,channel\nQ-half", encoding="utf-8")

    result = send_step(step.pk)

    assert result["state"] == "sent" and result["recovered"] == 0
    assert _outbox(step) == _treated_ids(step)
    assert not part.exists()
    batches = list(OutboundBatch.objects.filter(step=step).values_list("number", "written"))
    assert batches and all(written for _n, written in batches)
    assert sorted(n for n, _w in batches) == list(range(1, len(batches) + 1))
    assert (
        sum(_outbox(step).values())
        == Recipient.objects.filter(campaign=step.campaign, group="T").count()
        - Message.objects.filter(step=step, status=MessageStatus.SKIPPED).count()
    )


def test_a_sender_that_lost_its_lease_writes_nothing_more(bank, small_batches):
    step = _planned_step(bank)
    now = timezone.now()
    slow = take_lease(step, now, small_batches)
    assert slow is not None
    # Another sender holds the step while the lease is live: it is told the step is busy.
    assert send_step(step.pk)["state"] == "busy"
    # The first sender stalls past its lease; a second one takes the step over.
    later = now + dt.timedelta(seconds=small_batches.lease_seconds + 1)
    fresh = take_lease(step, later, small_batches)
    assert fresh is not None and fresh != slow
    claim = _claim(step, small_batches, later, 0)
    assert claim is not None
    with pytest.raises(LeaseLost):
        _send_batch(step, claim, 1, slow, small_batches, later)
    assert not OutboundBatch.objects.filter(step=step).exists()
    assert not batch_path(step, 1).exists()
    assert not Message.objects.filter(step=step).exclude(status=MessageStatus.PLANNED).exists()
    renew_lease(step, small_batches, fresh)  # the holder keeps it
    with pytest.raises(LeaseLost):
        renew_lease(step, small_batches, slow)


def test_the_columnar_reads_give_the_same_plan_in_one_text_or_per_million_ids(bank, monkeypatch):
    from qiao.campaigns import planning

    ids = np.array(sorted(c.pk for c in bank.customers), dtype=np.int64)
    on = timezone.localdate()
    products = [bank.r2, bank.r4]
    whole = planning.suitable_product_index(ids, products, on), planning._standings(ids)
    monkeypatch.setattr(planning, "ONE_TEXT_ROWS", -1)  # a table "too large for one text"
    grouped = planning.suitable_product_index(ids, products, on), planning._standings(ids)
    assert whole[0].tolist() == grouped[0].tolist()
    assert [c.tolist() for c in whole[1]] == [c.tolist() for c in grouped[1]]
    # Customers 1-5 are C1 (no product suits them); the others are C3: R2 suits, R4 does not.
    assert whole[0].tolist() == [-1] * 5 + [0] * 55
    assert set(whole[1][0]) == {"PLATINUM", "GOLD", "ORDINARY"}


def test_a_step_left_being_sent_by_the_earlier_design_is_finished_once(bank, small_batches):
    """Before migration 0004 a sender marked each message *being sent* with its batch; a step
    killed then and resumed after the upgrade: batch 1's file is in the outbox (it went out),
    batch 2's is not (nothing went out)."""
    step = _planned_step(bank)
    now = timezone.now()
    claim = _claim(step, small_batches, now, 0)
    assert claim is not None
    first = [m.pk for m in claim.ready[:4]]
    second = [m.pk for m in claim.ready[4:]]
    Message.objects.filter(pk__in=first).update(status=MessageStatus.SENDING, batch=1)
    Message.objects.filter(pk__in=second).update(status=MessageStatus.SENDING, batch=2)
    old_file = _deliver_file(step, 1, claim.ready[:4], now)
    before = old_file.read_bytes()

    result = send_step(step.pk)

    assert result["state"] == "sent" and result["recovered"] == 4
    assert old_file.read_bytes() == before
    assert _outbox(step) == _treated_ids(step)  # each exactly once, batch 2's included
    assert set(Message.objects.filter(pk__in=first).values_list("batch", flat=True)) == {1}
    later = set(Message.objects.filter(pk__in=second).values_list("batch", flat=True))
    assert later and 1 not in later  # not in the file that went out (left as it was)
    assert not Message.objects.filter(step=step, status=MessageStatus.SENDING).exists()
