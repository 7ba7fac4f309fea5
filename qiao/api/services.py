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


def api_token_authenticate(*, raw: str) -> Staff | None:
    """The active staff member whose unexpired token this is, else ``None``."""
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
    return token.staff


def api_tokens_revoke(*, staff: Staff) -> int:
    deleted, _ = ApiToken.objects.filter(staff=staff).delete()
    return deleted
