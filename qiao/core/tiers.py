"""The tier labels every page shows: the active tier rule set's, the vocabulary's by default.

An analyst may rename a tier in the admin (each tier's ``label_en`` and ``label_zh`` in a tier rule
set); pages, exports and work-list reasons then show the new name. A tier whose labels are still the
vocabulary's (:data:`qiao.core.vocab.TIER_SCHEMES`) shows the vocabulary's translated label, so
繁體中文 keeps its own characters; a renamed or new tier shows ``label_zh`` in Chinese and
``label_en`` otherwise.

The rule sets belong to ``qiao.scoring``, which stands above the apps that show tiers: its app
config offers them (``tier_label_rows``) and this module asks the installed apps, naming none, as
:mod:`qiao.core.refs` does. The labels are kept for :data:`CACHE_SECONDS` (a list page labels every
row); the admin clears them when a rule set is saved, other processes see a change within that time.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

from django.utils import translation
from django.utils.translation import gettext, pgettext

from qiao.core.extensions import app_configs_offering
from qiao.core.vocab import TIER_SCHEMES

#: scheme → ``(code, label_en, label_zh)`` of each tier, best first.
TierRows = dict[str, list[tuple[str, str, str]]]

CACHE_SECONDS = 60.0

_lock = threading.Lock()
_cache: dict[str, tuple[float, TierRows]] = {}


@runtime_checkable
class ProvidesTierLabels(Protocol):
    """An app config that knows the tier rule set in force."""

    def tier_label_rows(self) -> TierRows: ...


def _default_rows() -> TierRows:
    return {
        name: [(t.code, t.label, t.zh) for t in vocabulary]
        for name, vocabulary in TIER_SCHEMES.items()
    }


def _rows() -> TierRows:
    with _lock:
        cached = _cache.get("rows")
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
    rows = _default_rows()
    for config in app_configs_offering(ProvidesTierLabels):
        rows.update(config.tier_label_rows())
    with _lock:
        _cache["rows"] = (time.monotonic() + CACHE_SECONDS, rows)
    return rows


def tier_labels_clear() -> None:
    """Forget the labels read (the admin calls this when a rule set is saved or deleted)."""
    with _lock:
        _cache.clear()


def _label(scheme: str, code: str, label_en: str, label_zh: str) -> str:
    vocabulary = TIER_SCHEMES.get(scheme)
    if vocabulary is not None and code in vocabulary:
        term = vocabulary[code]
        if (label_en, label_zh) == (term.label, term.zh):
            return pgettext(term.context, term.label) if term.context else gettext(term.label)
    language = translation.get_language() or ""
    return (label_zh if language.startswith("zh") and label_zh else label_en) or code


def tier_codes(scheme: str = "pyramid") -> tuple[str, ...]:
    """The scheme's tier codes: best first, then the catch-all, then the override tiers."""
    return tuple(code for code, _en, _zh in _rows().get(scheme, []))


def tier_labels(scheme: str = "pyramid") -> dict[str, str]:
    """Code → label in the active language, in the order of :func:`tier_codes`."""
    return {code: _label(scheme, code, en, zh) for code, en, zh in _rows().get(scheme, [])}


def tier_label(code: str | None, scheme: str = "pyramid") -> str:
    """The label of tier ``code``; a code of another scheme is labelled by that scheme."""
    if not code:
        return "—"
    rows = _rows()
    for name in (scheme, *(s for s in rows if s != scheme)):
        for tier_code, en, zh in rows.get(name, []):
            if tier_code == code:
                return _label(name, code, en, zh)
    return code
