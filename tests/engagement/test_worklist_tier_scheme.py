"""One tier language on the work list (issue 13 item 4): a fall in the deposit scheme (VIP → 重点)
is not the customer's tier; only the pyramid's fall makes a work-list item, in the pyramid's words."""

from __future__ import annotations

import datetime as dt

from django.utils import translation

from qiao.engagement.models import WorkItem, WorkKind
from qiao.engagement.reasons import render_reason
from qiao.engagement.worklist import worklist_generate
from qiao.scoring.models import ScoreEvent
from tests.engagement.conftest import DAY, make_customer


def test_a_deposit_tier_fall_is_not_a_tier_down_item(people):
    alice = people["alice"]
    deposit_only = make_customer(alice, tier="ORDINARY", aum=400_000)
    pyramid = make_customer(alice, tier="GOLD", aum=1_000_000)
    when = DAY - dt.timedelta(days=1)
    ScoreEvent.objects.create(
        customer=deposit_only,
        event_date=when,
        kind="TIER_DOWN",
        detail={"scheme": "deposit", "from": "VIP", "to": "KEY"},
        as_of=DAY,
    )
    ScoreEvent.objects.create(
        customer=pyramid,
        event_date=when,
        kind="TIER_DOWN",
        detail={"scheme": "pyramid", "from": "PLATINUM", "to": "GOLD"},
        as_of=DAY,
    )
    worklist_generate(day=DAY)
    down = WorkItem.objects.filter(kind=WorkKind.TIER_DOWN)
    assert [i.customer_id for i in down] == [pyramid.pk]
    item = down.get()
    assert "Platinum" in item.reason_text and "Gold" in item.reason_text
    with translation.override("zh-hans"):
        text = render_reason(item.reason_code, item.reason_params)
    assert "白金" in text and "金" in text and "VIP" not in text
