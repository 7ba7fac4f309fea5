"""The target forms (docs/reports.md, "Targets")."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from qiao.analytics.scorecard import Period, PeriodError
from qiao.core.forms import BootstrapMixin

from .models import MEASURE_CHOICES, PeriodKind


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except PeriodError as exc:
        raise forms.ValidationError(
            _("The period is a year (2026), a quarter (2026-Q1) or a month (2026-01).")
        ) from exc


class TargetForm(BootstrapMixin, forms.Form):
    staff: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None, required=False, label=_("Staff member")
    )
    unit: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None, required=False, label=_("Or a unit")
    )
    period = forms.CharField(
        label=_("Period"), max_length=7, help_text=_("2026, 2026-Q1 or 2026-01")
    )
    measure = forms.ChoiceField(label=_("Measure"), choices=MEASURE_CHOICES)
    value = forms.DecimalField(
        label=_("Target"),
        min_value=0,
        max_digits=20,
        decimal_places=4,
        help_text=_("Amounts in yuan; a share as a number from 0 to 1 (0.8 for 80 %)."),
    )

    def __init__(self, *args: Any, staff_qs: Any, unit_qs: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = staff_qs  # type: ignore[attr-defined]
        self.fields["staff"].label_from_instance = lambda s: s.display_name  # type: ignore[attr-defined]
        self.fields["unit"].queryset = unit_qs  # type: ignore[attr-defined]
        self.fields["unit"].label_from_instance = lambda u: u.name  # type: ignore[attr-defined]

    def clean_period(self) -> Period:
        return _period(self.cleaned_data["period"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("staff")) == bool(data.get("unit")):
            raise forms.ValidationError(_("Choose one staff member or one unit."))
        return data


class SplitForm(BootstrapMixin, forms.Form):
    """Split a target: a unit's over its CMs (``to=staff``) or a period's into shorter ones."""

    target = forms.IntegerField(widget=forms.HiddenInput)
    to = forms.ChoiceField(
        label=_("Split into"),
        choices=[("staff", _("Its customer managers")), *PeriodKind.choices[1:]],
    )
