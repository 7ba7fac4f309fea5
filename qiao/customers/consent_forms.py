"""The consent page's two forms: one consent change, and the contact preferences. The rules are
the service's (qiao.customers.consent); the forms only shape the input."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qiao.core import vocab
from qiao.core.choices import choices
from qiao.core.forms import BootstrapMixin
from qiao.customers.consent_rules import EVIDENCE_MAX


class ConsentForm(BootstrapMixin, forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=choices(vocab.CONSENT_CHANNELS))
    state = forms.ChoiceField(
        label=_("Consent"),
        choices=choices(vocab.CONSENT_STATES),
        widget=forms.RadioSelect,
    )
    on = forms.DateField(
        label=_("Given or withdrawn on"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    evidence = forms.CharField(
        label=_("Evidence"),
        required=False,
        max_length=EVIDENCE_MAX,
        help_text=_(
            "For example: signed form of 2026-03-01, or the customer's call on 2026-03-02."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        self.fields["state"].widget.attrs["class"] = "form-check-input"


class PreferenceForm(BootstrapMixin, forms.Form):
    preferred_channel = forms.ChoiceField(
        label=_("Preferred channel"),
        required=False,
        choices=[("", _("No preference")), *choices(vocab.CONSENT_CHANNELS)],
        help_text=_("A preference only: consent for the channel still decides."),
    )
    dnd_start = forms.TimeField(
        label=_("Do not disturb from"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    dnd_end = forms.TimeField(
        label=_("Do not disturb until"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("In the customer's own time; may end the next morning (21:00 to 08:00)."),
    )
    language = forms.ChoiceField(
        label=_("Messages written in"), choices=choices(vocab.CUSTOMER_LANGUAGES)
    )
    time_zone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        help_text=_("An IANA name: Asia/Hong_Kong, Europe/London …"),
    )
