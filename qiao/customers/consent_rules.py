"""The rules of a customer's consent and contact preferences, shared by the model, the service,
the form and the ingest (one rule, several callers): a value passes or raises
:class:`~qiao.core.validators.FieldError` with a reason a person understands.

No model is imported here, so the models and the ingest's kinds can both use it.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

from django.utils.translation import gettext_lazy as _

from qiao.core import validators as v
from qiao.core import vocab
from qiao.core.lake import TIME_ZONE

#: The bank's default for a customer without preferences (docs/privacy.md, "Consent").
DEFAULT_LANGUAGE = "zh-hans"
DEFAULT_TIME_ZONE = TIME_ZONE  # the bank's own default (qiao.core.lake)
EVIDENCE_MAX = 200

_CLOCK = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?$")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def clean_time_zone(value: object) -> str:
    """An IANA time-zone name that this machine's zone database knows (``Asia/Hong_Kong``)."""
    text = v.clean_text(value, max_length=64)
    if text not in _zones():
        raise v.FieldError(
            _("is not a known time zone (an IANA name such as Asia/Hong_Kong or Europe/London)")
        )
    return text


def clean_clock(value: object) -> dt.time:
    """A time of day, 24-hour ``HH:MM`` (seconds allowed): ``21:30``."""
    if isinstance(value, dt.time):
        return value
    text = v.clean_text(value, max_length=8)
    found = _CLOCK.match(text)
    if found is None:
        raise v.FieldError(_("is not a time of day as HH:MM (00:00 to 23:59)"))
    hour, minute, second = found.groups()
    return dt.time(int(hour), int(minute), int(second or 0))


def clean_evidence(value: object) -> str:
    """What shows the consent or its withdrawal: one line of text, and nothing that a
    spreadsheet would run as a formula (docs/privacy.md, "Formula injection")."""
    text = v.clean_text(value, max_length=EVIDENCE_MAX)
    if text.startswith(v.NAME_FORBIDDEN_START):
        raise v.FieldError(
            _("may not start with %(char)s (it would run as a spreadsheet formula)")
            % {"char": text[0]}
        )
    return text


def clean_channel(value: object) -> str:
    return v.clean_enum(value, vocab.CONSENT_CHANNELS.codes)


def clean_language(value: object) -> str:
    """A message language by Django's code, in any case (``zh-Hant`` → ``zh-hant``)."""
    text = v.clean_text(value, max_length=10).lower()
    if text not in vocab.CUSTOMER_LANGUAGES:
        raise v.FieldError(
            _("must be one of %(choices)s") % {"choices": ", ".join(vocab.CUSTOMER_LANGUAGES.codes)}
        )
    return text


def dnd_problem(start: dt.time | None, end: dt.time | None) -> str | None:
    """Why a do-not-disturb window is wrong, or ``None``: both ends or neither, not equal."""
    if (start is None) != (end is None):
        return str(_("give both the start and the end of the do-not-disturb hours, or neither"))
    if start is not None and start == end:
        return str(_("the do-not-disturb hours start and end at the same time"))
    return None


def in_dnd(local: dt.time, start: dt.time | None, end: dt.time | None) -> bool:
    """Is ``local`` (the customer's local time) inside the do-not-disturb window ``[start,
    end)``? The window may wrap midnight (21:00–08:00)."""
    if start is None or end is None:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


@dataclass(frozen=True)
class Pref:
    """A customer's contact preferences, or the bank's defaults when none are recorded."""

    preferred_channel: str = ""
    dnd_start: dt.time | None = None
    dnd_end: dt.time | None = None
    language: str = DEFAULT_LANGUAGE
    time_zone: str = DEFAULT_TIME_ZONE

    def in_dnd(self, at: dt.datetime) -> bool:
        """Is the aware moment ``at`` inside the customer's do-not-disturb hours, in their
        own time zone?"""
        local = at.astimezone(zoneinfo.ZoneInfo(self.time_zone)).time()
        return in_dnd(local, self.dnd_start, self.dnd_end)


DEFAULT_PREF = Pref()
