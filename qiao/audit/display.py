"""The audit trail in words: who by name, the action, the channel and each detail in the reader's
language (issue 13 item 5: no ``cm0102``, ``{'sort': '-aum'}`` or ``field: mobile`` on screen).

Events keep codes (usernames, field names, filter keys): the record is language-neutral and
outlives renames; it is rendered on reading. A detail whose meaning belongs to another app (a
customer list's filter, a customer field) is described by that app: its app config offers
``audit_detail_words(key, value)`` and this module asks the installed apps, naming none, as
:mod:`qiao.core.tiers` does for tier labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from django.apps import apps
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from qiao.audit.models import AuditEvent
from qiao.org.models import Staff

#: Detail keys in words; a key not listed is shown as given (a new key shows up, never breaks).
DETAIL_LABELS: dict[str, Any] = {
    "rows": _("rows"),
    "filter": _("filter"),
    "masked": _("masked"),
    "refused": _("refused"),
    "page": _("page"),
    "product": _("product"),
    "section": _("section"),
    "months": _("months"),
    "field": _("field"),
    "fields": _("fields"),
    "reason": _("reason"),
    "group": _("group"),
    "owner": _("owner"),
    "staff": _("staff member"),
    "from": _("from"),
    # "to" alone is a prospect grade's column ("new grade"): here it is where a thing went.
    "to": pgettext_lazy("audit detail", "to"),
    "change": _("change"),
    "changes": _("changes"),
    "status": _("status"),
    "kind": _("kind"),
    "item": _("work-list item"),
    "task": _("task"),
    "complaint": _("complaint"),
    "referral": _("referral"),
    "prospect": _("prospect card"),
    "plan": _("marketing plan"),
    "request": _("export request"),
    "rule": _("rule"),
    "source": _("source"),
    "channel": _("channel"),
    "state": _("consent"),
    "old_state": _("before"),
    "on": _("since"),
    "preferences": _("contact preferences"),
    "campaign": _("campaign"),
    "segment": _("segment"),
    "how": _("how"),
    "why": _("why"),
    "where": _("where"),
    "prefix": _("search"),
    "queued": _("queued"),
    "locked_out": _("locked out"),
    "leave_date": _("leaving date"),
    "suggestion": _("suggestion"),
    "note": _("note"),
    "query": _("search"),
}

#: Values that name a page or a cause, in words.
VALUE_WORDS: dict[str, Any] = {
    "list": _("customer list"),
    "edit": _("edit page"),
    "coverage": _("coverage"),
    "assign": _("assignment"),
    "assessment": _("risk assessment"),
    "transactions": _("transactions"),
    "limit": _("over the export limit"),
    "permission": _("no permission"),
    "rate": _("too many in an hour"),
    "by id": _("by ID number"),
    "itself": _("the customer itself"),
}

#: Words for the values of one key only (a group named "risk" stays "risk"): the pages that list
#: customers (qiao.audit.services.audit_list_shown's "page"), a prospect card's or a saved
#: group's changes.
KEY_VALUE_WORDS: dict[str, dict[str, Any]] = {
    "page": {
        "today": _("Today"),
        "plans": _("Plans"),
        "referrals": _("Referrals"),
        "complaints": _("Complaints"),
        "walk-in": _("Walk-in customer"),
        "search": _("Search"),
        "group": _("My groups"),
        "assignment": _("Assignment"),
        "consent": _("Consent"),
        "product": _("Products"),
        "risk": _("Credit risk"),
        "key accounts": _("Key accounts"),
        "api list": pgettext_lazy("audit page", "API: customer list"),
        "api suggestions": pgettext_lazy("audit page", "API: next-best products"),
        "api warnings": pgettext_lazy("audit page", "API: early warnings"),
        "api group exposure": pgettext_lazy("audit page", "API: group exposure"),
    },
    "change": {
        "created": pgettext_lazy("audit change", "created"),
        "reviewed": pgettext_lazy("audit change", "reviewed"),
        "converted": pgettext_lazy("audit change", "converted"),
        "dropped": pgettext_lazy("audit change", "dropped"),
        "added": pgettext_lazy("audit change", "customers added"),
        "deleted": pgettext_lazy("audit change", "deleted"),
    },
}

#: Detail keys whose value is a staff member's username.
STAFF_KEYS = frozenset({"owner", "staff", "by", "manager", "to_staff", "approved_by"})

CHANNELS: dict[str, Any] = {
    "WEB": _("Web"),
    "API": _("API"),
    "CLI": _("Command line"),
    "SYSTEM": _("System"),
}


@runtime_checkable
class DescribesAuditDetail(Protocol):
    """An app config that can put one of its audit details into words (``None``: not mine)."""

    def audit_detail_words(self, key: str, value: Any) -> str | None: ...


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    who: str
    channel: str
    detail: list[tuple[str, str]]


def _describers() -> list[DescribesAuditDetail]:
    return [c for c in apps.get_app_configs() if isinstance(c, DescribesAuditDetail)]


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, Mapping):
        return "; ".join(f"{DETAIL_LABELS.get(k, k)}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    if value is None:
        return "—"
    text = str(value)
    return str(VALUE_WORDS.get(text, text))


def _staff_names(events: Iterable[AuditEvent]) -> dict[str, str]:
    usernames = set()
    for e in events:
        usernames.add(e.username)
        if isinstance(e.detail, dict):
            # A staff key, or any text that is a login (a referral's "to"): shown by name.
            usernames |= {v for v in e.detail.values() if isinstance(v, str) and v}
    rows = Staff.objects.filter(username__in=usernames)
    return {s.username: s.display_name for s in rows}


def audit_event_rows(events: Iterable[AuditEvent]) -> list[EventRow]:
    """The events of one page in words (one query for the staff names)."""
    events = list(events)
    names = _staff_names(events)
    describers = _describers()
    out = []
    for e in events:
        detail = []
        for key, value in (e.detail if isinstance(e.detail, dict) else {}).items():
            text: str | None
            if isinstance(value, str) and (key in STAFF_KEYS or value in names):
                text = names.get(value, value)
            else:
                text = next(
                    (t for d in describers if (t := d.audit_detail_words(key, value)) is not None),
                    None,
                )
            if text is None and isinstance(value, str) and value in KEY_VALUE_WORDS.get(key, {}):
                text = str(KEY_VALUE_WORDS[key][value])
            detail_text = _plain(value) if text is None else text
            detail.append((str(DETAIL_LABELS.get(key, key)), detail_text))
        out.append(
            EventRow(
                event=e,
                who=names.get(e.username, e.username),
                channel=str(CHANNELS.get(e.channel, e.channel)),
                detail=detail,
            )
        )
    return out
