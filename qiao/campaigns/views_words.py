"""What the campaign pages and the workbook say about results: which campaigns have results, and
each row of a breakdown (a step, a message variant, a kind of response) in words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from qiao.campaigns.models import CHANNEL_CHOICES, ResponseKind

_CHANNELS = dict(CHANNEL_CHOICES)
_KINDS = dict(ResponseKind.choices)


def row_label(key: str, row: Mapping[str, Any]) -> str:
    """A breakdown row's name: ``Step 2 · Phone``, ``Variant B``, ``Bought a campaign product``."""
    if row.get("label"):
        return str(row["label"])
    if key == "by_step":
        number = row.get("step", row.get("number", ""))
        channel = row.get("channel", "")
        words = str(_CHANNELS.get(channel, channel))
        text = _("Step %(n)s") % {"n": number}
        return f"{text} · {words}" if words else text
    if key == "by_variant":
        return _("Variant %(v)s") % {"v": row.get("variant", "")}
    if key == "by_kind":
        kind = row.get("kind", "")
        return str(_KINDS.get(kind, kind))
    return ""


def labelled(results: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """The rows of ``results[key]`` with their ``label`` in words."""
    return [{**row, "label": row_label(key, row)} for row in results.get(key) or []]
