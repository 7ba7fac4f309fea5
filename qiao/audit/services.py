"""Writing the audit trail: one function, called by every page, API endpoint and service."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpRequest

from qiao.audit.models import Action, AuditEvent

# Keys whose values never enter the trail (passwords, tokens, session and CSRF cookies …).
_SECRET_KEY = re.compile(r"(?i)pass|secret|token|authori[sz]ation|cookie|session|csrf|api[_-]?key")
_MAX_TEXT = 500


def _clean_detail(value: Any, depth: int = 0) -> Any:
    if depth > 4:
        return "…"
    if isinstance(value, dict):
        return {
            str(k): _clean_detail(v, depth + 1)
            for k, v in value.items()
            if not _SECRET_KEY.search(str(k))
        }
    if isinstance(value, list | tuple | set):
        return [_clean_detail(v, depth + 1) for v in list(value)[:200]]
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"


def _client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is set by the client unless a trusted proxy rewrites it.
    # Behind a reverse proxy, the proxy must pass the client address as REMOTE_ADDR (docs/privacy.md).
    raw = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def audit_record(
    *,
    request_or_staff: Any,
    action: str,
    customer_no: str = "",
    detail: dict[str, Any] | None = None,
    username: str | None = None,
    ip: str | None = None,
    channel: str | None = None,
) -> AuditEvent:
    """Append one event: who (the request's user or the staff member), what, which customer, from where.

    ``detail`` is stored as JSON after dropping any key that looks like a secret; callers put the
    *kind* of thing done there (field, reason, row count, filter), never the revealed value.
    ``username`` overrides the actor's name (a failed log-in has no user, only the name typed);
    ``ip`` and ``channel`` are for services, which are given a staff member, not a request.
    """
    return AuditEvent.objects.create(
        **_actor(request_or_staff, username=username, ip=ip, channel=channel),
        action=action,
        customer_no=customer_no or "",
        detail=_clean_detail(detail or {}),
    )


def audit_record_many(
    *,
    request_or_staff: Any,
    action: str,
    items: Sequence[tuple[str, dict[str, Any]]],
    ip: str | None = None,
    channel: str | None = None,
) -> int:
    """One event per ``(customer_no, detail)`` item, in one insert (bulk assignment, list pages)."""
    return audit_record_batch(
        request_or_staff=request_or_staff,
        events=[(action, no, detail) for no, detail in items],
        ip=ip,
        channel=channel,
    )


def audit_record_batch(
    *,
    request_or_staff: Any,
    events: Sequence[tuple[str, str, dict[str, Any]]],
    ip: str | None = None,
    channel: str | None = None,
) -> int:
    """Events of several actions by one actor, ``(action, customer_no, detail)`` each, in one
    insert (a search and the customers it showed). Nothing is written for no events."""
    if not events:
        return 0
    actor = _actor(request_or_staff, username=None, ip=ip, channel=channel)
    rows = [
        AuditEvent(**actor, action=action, customer_no=no or "", detail=_clean_detail(detail))
        for action, no, detail in events
    ]
    # bulk_create inserts only: the table stays append-only.
    AuditEvent.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def audit_list_shown(
    *,
    request_or_staff: Any,
    customer_nos: Iterable[str],
    detail: dict[str, Any],
    lead: Sequence[tuple[str, str, dict[str, Any]]] = (),
) -> int:
    """A page or answer that lists customers: one ``VIEW_LIST`` row per customer shown (each once,
    in the order shown), after ``lead`` events (a search), in one insert; nobody shown, nothing
    but ``lead`` written (docs/privacy.md, "What is audited")."""
    shown = dict.fromkeys(no for no in customer_nos if no)
    return audit_record_batch(
        request_or_staff=request_or_staff,
        events=[*lead, *((Action.VIEW_LIST, no, detail) for no in shown)],
    )


def _actor(
    request_or_staff: Any, *, username: str | None, ip: str | None, channel: str | None
) -> dict[str, Any]:
    if isinstance(request_or_staff, HttpRequest):
        request = request_or_staff
        user = getattr(request, "user", None)
        ip = ip or _client_ip(request)
        channel = channel or ("API" if request.path.startswith("/api/") else "WEB")
    else:
        user = request_or_staff
    name = username
    if name is None:
        name = user.get_username() if user is not None and user.is_authenticated else ""
    if ip is not None:
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError:
            ip = None
    return {"username": name[:150], "ip": ip, "channel": (channel or "SYSTEM")[:8]}
