"""The customers app's audit details in words: a list's filter, a customer's fields
(qiao.audit.display asks for them through the app config)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist


def _field_label(name: str) -> str:
    from qiao.customers.models import Customer

    try:
        field = Customer._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    return str(getattr(field, "verbose_name", name))


def _filter_words(data: dict[str, Any]) -> str:
    """``{"sort": "-aum", "tiers": ["DIAMOND"]}`` → ``Sort: AUM, largest first; Tier: Diamond``,
    with the list's own filter labels and choices."""
    from qiao.customers.forms import CustomerFilterForm

    form = CustomerFilterForm()
    parts = []
    for key, value in data.items():
        field = form.fields.get(key)
        if field is None:
            parts.append(f"{key}: {value}")
            continue
        choices = {str(k): str(v) for k, v in getattr(field, "choices", ())}
        values = value if isinstance(value, list) else [value]
        words = ", ".join(choices.get(str(v), str(v)) for v in values)
        parts.append(f"{field.label}: {words}")
    return "; ".join(parts)


def audit_detail_words(key: str, value: Any) -> str | None:
    if key == "filter" and isinstance(value, dict):
        return _filter_words(value)
    if key == "field" and isinstance(value, str):
        return _field_label(value)
    if key == "fields" and isinstance(value, list):
        return ", ".join(_field_label(str(v)) for v in value)
    return _consent_words(key, value)


def _consent_words(key: str, value: Any) -> str | None:
    """A consent change's channel, states, source and preference fields (qiao.customers.consent)."""
    from qiao.core.choices import labels
    from qiao.core.vocab import CONSENT_CHANNELS, CONSENT_SOURCES, CONSENT_STATES
    from qiao.customers.models import ContactPreference

    for keys, vocabulary in (
        (("channel",), CONSENT_CHANNELS),
        (("state", "old_state"), CONSENT_STATES),
        (("source",), CONSENT_SOURCES),
    ):
        if key in keys and isinstance(value, str) and value in vocabulary:
            return str(labels(vocabulary)[value])
    if key == "preferences" and isinstance(value, list):
        names = {
            f.name: str(f.verbose_name)
            for f in ContactPreference._meta.get_fields()
            if hasattr(f, "verbose_name")
        }
        return ", ".join(names.get(str(v), str(v)) for v in value)
    return None
