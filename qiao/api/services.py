"""Issuing, checking and revoking API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.utils import timezone

from qiao.api.models import ApiToken
from qiao.org.models import Staff


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def api_token_issue(*, staff: Staff) -> tuple[str, ApiToken]:
    """A new bearer token for ``staff``, valid for ``QIAO["API_TOKEN_HOURS"]`` (default 8) hours.

    Returns the token (shown once, never stored) and its record (which holds only a hash).
    """
    raw = secrets.token_urlsafe(32)
    hours = int(settings.QIAO.get("API_TOKEN_HOURS", 8))
    token = ApiToken(
        staff=staff,
        key_hash=_hash(raw),
        prefix=raw[:8],
        expires_at=timezone.now() + dt.timedelta(hours=hours),
    )
    token.full_clean()
    token.save()
    # Expired tokens of this person are of no use to anybody: drop them while we are here.
    ApiToken.objects.filter(staff=staff, expires_at__lt=timezone.now()).delete()
    return raw, token


def api_token_lookup(*, raw: str) -> ApiToken | None:
    """The unexpired token of an active staff member that ``raw`` is, else ``None``."""
    if not raw or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("staff", "staff__unit")
        .filter(key_hash=_hash(raw), expires_at__gt=timezone.now())
        .first()
    )
    if token is None or not token.staff.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def api_token_authenticate(*, raw: str) -> Staff | None:
    """The active staff member whose unexpired token this is, else ``None``."""
    token = api_token_lookup(raw=raw)
    return token.staff if token is not None else None


def api_tokens_for_staff(*, staff: Staff) -> list[ApiToken]:
    """The staff member's unexpired tokens, newest first (their hashes stay in the table)."""
    return list(ApiToken.objects.filter(staff=staff, expires_at__gt=timezone.now()))


def api_token_revoke(*, staff: Staff, token_id: int) -> ApiToken | None:
    """Delete one of ``staff``'s own tokens; ``None`` when there is no such token of theirs."""
    if not 0 < token_id < 2**63:  # beyond the database's integers: nobody's token
        return None
    token = ApiToken.objects.filter(staff=staff, pk=token_id).first()
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).delete()
    return token


def api_tokens_revoke(*, staff: Staff) -> int:
    deleted, _ = ApiToken.objects.filter(staff=staff).delete()
    return deleted
