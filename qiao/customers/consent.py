"""Marketing consent and contact preferences: the services that change them and the selectors
that campaigns read (docs/privacy.md, "Consent").

The rules (PIPL Arts. 14–15, 24):

- **No consent row is no consent.** Nothing is sent to a customer through a channel without a
  ``GIVEN`` row for that customer and channel (:func:`consented_ids`, :func:`consent_is_given`).
- A withdrawal takes effect at once: it is written in the request (or the load) that records it,
  and campaigns read consent when they send, not when they were built.
- Every change keeps its history (:class:`~qiao.customers.models.ConsentChange`) and is audited
  (``Action.CONSENT``); the evidence itself stays out of the audit trail (a reply's text is the
  customer's words).
- A change is dated; it cannot be dated in the future, nor before the state it replaces (the newer
  record wins, so a late file or reply cannot undo a newer decision).

Writes by staff check ``org.edit_consent`` and the customer's scope (404 as missing); the system
path of an opt-out reply (:func:`consent_withdraw_by_reply`) is audited as ``system``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core import validators as v
from qiao.core import vocab
from qiao.core.choices import labels
from qiao.core.errors import ApplicationError
from qiao.core.presence import rows_present
from qiao.customers.consent_rules import (
    DEFAULT_PREF,
    EVIDENCE_MAX,
    Pref,
    clean_evidence,
    clean_time_zone,
    dnd_problem,
)
from qiao.customers.models import (
    Consent,
    ConsentChange,
    ConsentSource,
    ConsentState,
    ContactPreference,
    Customer,
)
from qiao.customers.selectors import customers_visible_to
from qiao.org.models import Staff
from qiao.org.permissions import EDIT_CONSENT, require_perm

__all__ = [
    "ConsentRow",
    "Pref",
    "consent_history",
    "consent_is_given",
    "consent_set",
    "consent_withdraw_by_reply",
    "consented_ids",
    "consents_for",
    "preference_set",
    "preferences_for",
]

#: Above this many ids, :func:`consented_ids` reads the channel's whole consenting set (one index
#: range) and intersects in numpy rather than sending the ids to the database.
_INTERSECT_ABOVE = 20_000
_SQLITE_CHUNK = 900

GIVEN = ConsentState.GIVEN.value
WITHDRAWN = ConsentState.WITHDRAWN.value


# ---------------------------------------------------------------- writes


def _in_scope(staff: Staff, customer: Customer) -> None:
    if not customers_visible_to(staff=staff).filter(pk=customer.pk).exists():
        raise Http404("No customer matches the given query.")


def _check_code(value: str, vocabulary: vocab.Vocabulary, field: str) -> str:
    if value not in vocabulary:
        raise ApplicationError(_("Choose one of the offered values."), field=field)
    return value


def _apply(
    *,
    customer_id: int,
    channel: str,
    state: str,
    on: dt.date,
    source: str,
    evidence: str,
    by: Staff | None,
    now: dt.datetime | None = None,
) -> tuple[Consent | None, str | None]:
    """Write the change if it is one: ``(consent, old_state)``; ``old_state`` is ``None`` when
    nothing changed ("" when there was no row). A change dated before the current state's date
    changes nothing (``consent`` is then the current row). Runs in the caller's transaction."""
    now = now or timezone.now()
    current = (
        Consent.objects.select_for_update().filter(customer_id=customer_id, channel=channel).first()
    )
    if current is None:
        try:
            with transaction.atomic():
                current = Consent.objects.create(
                    customer_id=customer_id,
                    channel=channel,
                    state=state,
                    on=on,
                    source=source,
                    evidence=evidence,
                    recorded_by=by,
                    recorded_at=now,
                )
        except IntegrityError:
            # Another writer created it in between: take theirs and go on as for a stored row.
            current = Consent.objects.select_for_update().get(
                customer_id=customer_id, channel=channel
            )
        else:
            _history(current, "", by, now)
            return current, ""
    if on < current.on:
        return current, None
    if (current.state, current.on, current.source, current.evidence) == (
        state,
        on,
        source,
        evidence,
    ):
        return current, None
    old = current.state
    current.state, current.on, current.source, current.evidence = state, on, source, evidence
    current.recorded_by, current.recorded_at = by, now
    current.save(update_fields=["state", "on", "source", "evidence", "recorded_by", "recorded_at"])
    _history(current, old, by, now)
    return current, old


def _history(consent: Consent, old: str, by: Staff | None, now: dt.datetime) -> None:
    ConsentChange.objects.create(
        customer_id=consent.customer_id,
        channel=consent.channel,
        old_state=old,
        new_state=consent.state,
        on=consent.on,
        source=consent.source,
        evidence=consent.evidence,
        by=by,
        at=now,
    )


def _audit_detail(consent: Consent, old: str) -> dict[str, Any]:
    return {
        "channel": consent.channel,
        "state": consent.state,
        "old_state": old,
        "on": consent.on.isoformat(),
        "source": consent.source,
    }


def consent_set(
    *,
    staff: Staff,
    customer: Customer,
    channel: str,
    state: str,
    on: dt.date,
    source: str = "BRANCH",
    evidence: str = "",
    ip: str | None = None,
    audit_channel: str | None = None,
) -> Consent:
    """Record that ``customer`` gave or withdrew consent to be marketed through ``channel`` on
    ``on``, as ``staff`` saw it (``evidence``: the signed form, the call …), and return the
    current consent.

    Refused: no ``org.edit_consent`` (``PermissionDenied``), a customer out of scope
    (``Http404``), an unknown channel, state or source, a date in the future or before the
    consent on record, evidence that is too long or starts like a spreadsheet formula
    (:class:`ApplicationError`, naming the field). Recording what is already on record changes
    nothing and writes nothing.
    """
    require_perm(staff, EDIT_CONSENT)
    _in_scope(staff, customer)
    _check_code(channel, vocab.CONSENT_CHANNELS, "channel")
    _check_code(state, vocab.CONSENT_STATES, "state")
    _check_code(source, vocab.CONSENT_SOURCES, "source")
    if not isinstance(on, dt.date) or isinstance(on, dt.datetime):
        raise ApplicationError(_("Enter a date."), field="on")
    today = timezone.localdate()
    if on > today:
        raise ApplicationError(
            _("A consent or withdrawal cannot be dated in the future (today is %(today)s).")
            % {"today": today.isoformat()},
            field="on",
        )
    try:
        text = clean_evidence(evidence or "")
    except v.FieldError as exc:
        raise ApplicationError(
            _("The evidence %(reason)s.") % {"reason": exc.reason}, field="evidence"
        ) from None
    with transaction.atomic():
        consent, old = _apply(
            customer_id=customer.pk,
            channel=channel,
            state=state,
            on=on,
            source=source,
            evidence=text,
            by=staff,
        )
        assert consent is not None
        if old is None:
            if on < consent.on:
                raise ApplicationError(
                    _("The consent on record is dated %(day)s; a change cannot be dated before it.")
                    % {"day": consent.on.isoformat()},
                    field="on",
                )
            return consent
        audit_record(
            request_or_staff=staff,
            action=Action.CONSENT,
            customer_no=customer.customer_no,
            detail=_audit_detail(consent, old),
            ip=ip,
            channel=audit_channel,
        )
    return consent


def _reply_evidence(text: str) -> str:
    """A reply's text as evidence: one line, at most 200 characters, and never read as a formula
    (a leading ``=``, ``+`` or ``@`` is quoted with an apostrophe, as spreadsheets do)."""
    one_line = " ".join("".join(ch if ch.isprintable() else " " for ch in text or "").split())
    if one_line.startswith(v.NAME_FORBIDDEN_START):
        one_line = "'" + one_line
    return one_line[:EVIDENCE_MAX]


def consent_withdraw_by_reply(
    *, customer_id: int, channel: str, on: dt.date, evidence: str
) -> bool:
    """An opt-out reply to a message (退订) withdraws the customer's consent for ``channel``
    from ``on``: source ``REPLY``, recorded by no one, audited as ``system``. Returns whether it
    changed anything: ``False`` when the consent is already withdrawn, when a newer consent is on
    record (the customer consented again after the reply), or when there is no such customer.
    Idempotent: the same reply twice changes nothing the second time. A customer with no consent
    row gets a ``WITHDRAWN`` one, so a later-loaded older consent cannot revive the channel.
    """
    if channel not in vocab.CONSENT_CHANNELS:
        raise ValueError(f"unknown consent channel {channel!r}")
    customer_no = (
        Customer.objects.filter(pk=customer_id).values_list("customer_no", flat=True).first()
    )
    if customer_no is None:
        return False
    with transaction.atomic():
        current = (
            Consent.objects.select_for_update()
            .filter(customer_id=customer_id, channel=channel)
            .first()
        )
        if current is not None and current.state == WITHDRAWN:
            return False
        consent, old = _apply(
            customer_id=customer_id,
            channel=channel,
            state=WITHDRAWN,
            on=on,
            source=ConsentSource.REPLY,
            evidence=_reply_evidence(evidence),
            by=None,
        )
        if old is None or consent is None:
            return False
        audit_record(
            request_or_staff=None,
            action=Action.CONSENT,
            customer_no=customer_no,
            detail=_audit_detail(consent, old),
            username="system",
        )
    return True


#: The preferences' fields, as the service and the audit name them.
PREFERENCE_FIELDS = ("preferred_channel", "dnd_start", "dnd_end", "language", "time_zone")


def preference_set(
    *,
    staff: Staff,
    customer: Customer,
    preferred_channel: str,
    dnd_start: dt.time | None,
    dnd_end: dt.time | None,
    language: str,
    time_zone: str,
    ip: str | None = None,
    audit_channel: str | None = None,
) -> ContactPreference:
    """Record how ``customer`` likes to be contacted. Same permission and scope as
    :func:`consent_set`; refused with the field named: an unknown channel or language, a time zone
    the zone database does not know, do-not-disturb hours with one end only or equal ends. The
    audit names the fields that changed; nothing changed, nothing is written."""
    require_perm(staff, EDIT_CONSENT)
    _in_scope(staff, customer)
    if preferred_channel:
        _check_code(preferred_channel, vocab.CONSENT_CHANNELS, "preferred_channel")
    _check_code(language, vocab.CUSTOMER_LANGUAGES, "language")
    try:
        zone = clean_time_zone(time_zone)
    except v.FieldError as exc:
        raise ApplicationError(
            _("The time zone %(reason)s.") % {"reason": exc.reason}, field="time_zone"
        ) from None
    problem = dnd_problem(dnd_start, dnd_end)
    if problem:
        raise ApplicationError(problem, field="dnd_end" if dnd_start else "dnd_start")
    values = {
        "preferred_channel": preferred_channel or "",
        "dnd_start": dnd_start,
        "dnd_end": dnd_end,
        "language": language,
        "time_zone": zone,
    }
    with transaction.atomic():
        pref = ContactPreference.objects.select_for_update().filter(customer=customer).first()
        if pref is None:
            before = DEFAULT_PREF
            pref = ContactPreference(customer=customer)
            is_new = True
        else:
            before = _pref(pref)
            is_new = False
        changed = [f for f in PREFERENCE_FIELDS if getattr(before, f) != values[f]]
        if not changed and not is_new:
            return pref
        for f, value in values.items():
            setattr(pref, f, value)
        pref.updated_by, pref.updated_at = staff, timezone.now()
        pref.full_clean(exclude=["customer", "updated_by"], validate_unique=False)
        pref.save()
        audit_record(
            request_or_staff=staff,
            action=Action.CONSENT,
            customer_no=customer.customer_no,
            detail={"preferences": changed or list(PREFERENCE_FIELDS)},
            ip=ip,
            channel=audit_channel,
        )
    return pref


# ---------------------------------------------------------------- reads for campaigns


def _as_ids(customer_ids: Any) -> np.ndarray:
    """Sorted distinct int64 ids. (Sort and compare neighbours: ``np.unique`` hashes, ~20 times
    slower on a million ids, and a segment usually comes sorted already.)"""
    ids = np.asarray(customer_ids, dtype=np.int64).ravel()
    if len(ids) < 2:
        return ids.copy()
    step = np.diff(ids)
    if (step > 0).all():
        return ids.copy()
    ids = np.sort(ids)
    keep = np.empty(len(ids), dtype=bool)
    keep[0] = True
    np.not_equal(ids[1:], ids[:-1], out=keep[1:])
    return ids[keep]


def _sorted_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The ids in both sorted distinct arrays, sorted (a binary search of ``a`` in ``b``)."""
    if len(a) == 0 or len(b) == 0:
        return np.empty(0, dtype=np.int64)
    at = np.searchsorted(b, a)
    np.minimum(at, len(b) - 1, out=at)
    return a[b[at] == a]


def _fetch_ids(sql: str, params: Sequence[Any]) -> np.ndarray:
    out: list[np.ndarray] = []
    with connection.cursor() as cur:
        cur.execute(sql, params)
        while True:
            rows = cur.fetchmany(100_000)
            if not rows:
                break
            out.append(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
    return np.concatenate(out) if out else np.empty(0, dtype=np.int64)


def consented_ids(channel: str, customer_ids: Any = None) -> np.ndarray:
    """The customers (ids, sorted, ``int64``) who consent to marketing through ``channel`` now:
    of ``customer_ids`` if given (any int array or sequence), else all of them.

    Set-based: one range of the (channel, state, customer) index. A large ``customer_ids`` (a
    segment) is intersected in numpy with the channel's consenting set; a small one goes to the
    database (one array parameter on PostgreSQL, chunks of 900 on SQLite).
    """
    if channel not in vocab.CONSENT_CHANNELS:
        raise ValueError(f"unknown consent channel {channel!r}")
    table = Consent._meta.db_table
    # The table name is the model's own; the values are parameters.
    base = f"SELECT customer_id FROM {table} WHERE channel = %s AND state = %s"  # noqa: S608
    if customer_ids is None:
        return _fetch_ids(base + " ORDER BY customer_id", [channel, GIVEN])
    wanted = _as_ids(customer_ids)
    if len(wanted) == 0:
        return wanted
    if len(wanted) > _INTERSECT_ABOVE:
        every = _fetch_ids(base + " ORDER BY customer_id", [channel, GIVEN])
        return _sorted_intersection(every, wanted)
    if connection.vendor == "postgresql":
        found = _fetch_ids(base + " AND customer_id = ANY(%s)", [channel, GIVEN, wanted.tolist()])
    else:
        parts = []
        for i in range(0, len(wanted), _SQLITE_CHUNK):
            chunk = wanted[i : i + _SQLITE_CHUNK].tolist()
            marks = ", ".join(["%s"] * len(chunk))
            parts.append(
                _fetch_ids(f"{base} AND customer_id IN ({marks})", [channel, GIVEN, *chunk])
            )
        found = np.concatenate(parts)
    return np.sort(found)


def consent_is_given(customer_id: int, channel: str) -> bool:
    """Does the customer consent to ``channel`` right now? (The last check before one send.)"""
    return Consent.objects.filter(customer_id=customer_id, channel=channel, state=GIVEN).exists()


def _pref(row: ContactPreference) -> Pref:
    return Pref(
        preferred_channel=row.preferred_channel,
        dnd_start=row.dnd_start,
        dnd_end=row.dnd_end,
        language=row.language,
        time_zone=row.time_zone,
    )


_PREF_COLUMNS = (
    "customer_id",
    "preferred_channel",
    "dnd_start",
    "dnd_end",
    "language",
    "time_zone",
)


def preferences_for(customer_ids: Iterable[int] | np.ndarray) -> dict[int, Pref]:
    """Each customer's contact preferences, the defaults (simplified Chinese, the bank's time zone, no
    preferred channel, no do-not-disturb hours) for those without a row."""
    wanted = _as_ids(
        list(customer_ids) if not isinstance(customer_ids, np.ndarray) else customer_ids
    )
    out: dict[int, Pref] = dict.fromkeys(wanted.tolist(), DEFAULT_PREF)
    if not out:
        return out
    if len(wanted) <= _INTERSECT_ABOVE and connection.vendor == "postgresql":
        # One array parameter (a batch of a send: thousands of ids) rather than an IN list.
        table = ContactPreference._meta.db_table
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT {', '.join(_PREF_COLUMNS)} FROM {table} "  # noqa: S608
                "WHERE customer_id = ANY(%s)",
                [wanted.tolist()],
            )
            for cid, channel, start, end, language, zone in cur.fetchall():
                out[cid] = Pref(channel, start, end, language, zone)
        return out
    rows = ContactPreference.objects.values_list(*_PREF_COLUMNS)
    if len(wanted) > _INTERSECT_ABOVE:
        chunks: Iterable[Any] = [rows]
    else:
        chunks = (
            rows.filter(customer_id__in=wanted[i : i + _SQLITE_CHUNK].tolist())
            for i in range(0, len(wanted), _SQLITE_CHUNK)
        )
    for qs in chunks:
        for cid, channel, start, end, language, zone in qs.iterator(chunk_size=20_000):
            if cid in out:
                out[cid] = Pref(channel, start, end, language, zone)
    return out


# ---------------------------------------------------------------- reads for the 360


@dataclass(frozen=True)
class ConsentRow:
    """One channel's consent as the 360 shows it: words, never codes."""

    channel: str
    channel_label: str
    state: str  # "" when nothing is recorded
    state_label: str
    on: dt.date | None
    source_label: str
    evidence: str
    recorded_by: str

    @property
    def given(self) -> bool:
        return self.state == GIVEN


NOT_RECORDED = gettext_lazy("No consent recorded")


def consents_for(customer: Customer, *, recorded: bool = True) -> list[ConsentRow]:
    """Every consent channel of ``customer`` in the vocabulary's order, recorded or not
    (``recorded=False``: the caller knows none is, and nothing is read)."""
    channel_labels = labels(vocab.CONSENT_CHANNELS)
    state_labels = labels(vocab.CONSENT_STATES)
    source_labels = labels(vocab.CONSENT_SOURCES)
    stored = (
        {c.channel: c for c in customer.consents.select_related("recorded_by")} if recorded else {}
    )
    rows = []
    for code in vocab.CONSENT_CHANNELS.codes:
        c = stored.get(code)
        rows.append(
            ConsentRow(
                channel=code,
                channel_label=str(channel_labels[code]),
                state=c.state if c else "",
                state_label=str(state_labels[c.state]) if c else str(NOT_RECORDED),
                on=c.on if c else None,
                source_label=str(source_labels[c.source]) if c else "",
                evidence=c.evidence if c else "",
                recorded_by=c.recorded_by.display_name if c and c.recorded_by else "",
            )
        )
    return rows


def consent_history(customer: Customer, limit: int = 50) -> list[dict[str, Any]]:
    """The customer's consent changes, newest first, in words."""
    channel_labels = labels(vocab.CONSENT_CHANNELS)
    state_labels = labels(vocab.CONSENT_STATES)
    source_labels = labels(vocab.CONSENT_SOURCES)
    return [
        {
            "channel": str(channel_labels[ch.channel]),
            "old": str(state_labels[ch.old_state]) if ch.old_state else str(NOT_RECORDED),
            "new": str(state_labels[ch.new_state]),
            "on": ch.on,
            "source": str(source_labels[ch.source]),
            "evidence": ch.evidence,
            "by": ch.by.display_name if ch.by else "",
            "at": ch.at,
        }
        for ch in customer.consent_changes.select_related("by")[:limit]
    ]


def preference_for(customer: Customer) -> Pref:
    """``customer``'s preferences (the defaults when none are recorded)."""
    row = ContactPreference.objects.filter(customer=customer).first()
    return _pref(row) if row is not None else DEFAULT_PREF


def contact_panel(customer: Customer, *, history: int = 10) -> dict[str, Any]:
    """The 360's "Consent and contact preferences" section: every channel's consent in words, the
    preferences in words, the latest changes."""
    # One probe: most customers have recorded nothing yet (defaults, "not recorded").
    has = rows_present(
        customer.pk,
        {
            "consents": (Consent, "customer"),
            "changes": (ConsentChange, "customer"),
            "pref": (ContactPreference, "customer"),
        },
    )
    pref = preference_for(customer) if has["pref"] else DEFAULT_PREF
    return {
        "consents": consents_for(customer, recorded=has["consents"]),
        "pref": pref,
        "preferred_channel": (
            str(labels(vocab.CONSENT_CHANNELS)[pref.preferred_channel])
            if pref.preferred_channel
            else ""
        ),
        "language": str(labels(vocab.CUSTOMER_LANGUAGES)[pref.language]),
        "dnd": (
            f"{pref.dnd_start:%H:%M}–{pref.dnd_end:%H:%M}"
            if pref.dnd_start is not None and pref.dnd_end is not None
            else ""
        ),
        "history": consent_history(customer, limit=history) if has["changes"] else [],
    }
