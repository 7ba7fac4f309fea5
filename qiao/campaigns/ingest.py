"""The message platform's delivery and reply reports, loaded by ``qiao ingest`` like every
extract (docs/data-interface.md, "message_results"): one row per message and outcome.

``DELIVERED`` and ``FAILED`` set the message's delivery; ``REPLIED`` records a reply (a response
of the treated group, kept apart from the uplift, which only counts what the control group can
show too); ``OPTED_OUT`` (a 退订 reply) withdraws the customer's consent for the message's channel
before the next send (``qiao.customers.consent.consent_withdraw_by_reply``). Loading the same file
twice changes nothing the second time; a row for an unknown message is rejected with its line.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qiao.core import validators as v
from qiao.customers.consent import consent_withdraw_by_reply
from qiao.ingest.kinds import Kind
from qiao.ingest.master import Counts, Reject
from qiao.org.models import Staff

from .models import Campaign, Message, MessageStatus, Response, ResponseKind

OUTCOMES = ("DELIVERED", "FAILED", "REPLIED", "OPTED_OUT")
#: An outcome never goes back to a weaker one (a late "delivered" after a reply).
RANK: dict[str, int] = {
    MessageStatus.SENT.value: 0,
    MessageStatus.FAILED.value: 1,
    MessageStatus.DELIVERED.value: 2,
    MessageStatus.REPLIED.value: 3,
    MessageStatus.OPTED_OUT.value: 4,
}

MESSAGE_RESULTS = Kind(
    "message_results",
    {
        "message_id": (True, partial(v.clean_text, max_length=40)),
        "status": (True, partial(v.clean_enum, choices=OUTCOMES)),
        "at": (True, v.clean_timestamp),
        "reply": (False, partial(v.clean_text, max_length=500)),
    },
    key=("message_id", "status"),
)


def apply_message_results(
    rows: list[tuple[int, dict[str, Any]]], counts: Counts, by: Staff | None
) -> None:
    ids = {r["message_id"] for _line, r in rows}
    found = {
        m.external_id: m
        for m in Message.objects.filter(external_id__in=list(ids)).select_related("recipient")
    }
    touched: set[int] = set()
    for line, r in rows:
        message = found.get(r["message_id"])
        if message is None:
            counts.rejects.append(
                Reject(line, "message_id", r["message_id"], str(_("is not a message Qiao sent")))
            )
            continue
        if message.status in (MessageStatus.PLANNED, MessageStatus.SKIPPED):
            counts.rejects.append(
                Reject(line, "message_id", r["message_id"], str(_("was never sent")))
            )
            continue
        status = r["status"]
        at = r["at"]
        changed = False
        with transaction.atomic():
            if RANK.get(status, 0) > RANK.get(message.status, 0):
                Message.objects.filter(pk=message.pk).update(status=status, result_at=at)
                message.status = status
                changed = True
            if status == "REPLIED":
                _response, created = Response.objects.get_or_create(
                    recipient=message.recipient,
                    kind=ResponseKind.REPLIED,
                    defaults={"on": timezone.localdate(at)},
                )
                changed = changed or created
            if status == "OPTED_OUT":
                channel = message.channel if message.channel != "OUTLET" else "PHONE"
                changed = (
                    consent_withdraw_by_reply(
                        customer_id=message.recipient.customer_id,
                        channel=channel,
                        on=timezone.localdate(at),
                        evidence=(r.get("reply") or "TD")[:200],
                    )
                    or changed
                )
        if changed:
            counts.updated += 1
            touched.add(message.recipient.campaign_id)
        else:
            counts.unchanged += 1
    if touched:
        # The campaigns' results follow the report once the load has committed (the page shows
        # the replies and the treated vs control numbers the next day's report brings).
        transaction.on_commit(lambda: _measure(sorted(touched)))


def _measure(campaign_ids: list[int]) -> None:
    from .results import measure_campaign

    for campaign in Campaign.objects.filter(pk__in=campaign_ids):
        measure_campaign(campaign)
