"""The form of a peer benchmark (qiao.reports.benchmarks)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from qiao.core.forms import BootstrapMixin
from qiao.reports.benchmarks import MEASURES, measure_label


class BenchmarkForm(BootstrapMixin, forms.Form):
    measure = forms.ChoiceField(label=_("Measure"))
    period = forms.CharField(
        label=_("Month"),
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-10"}),
    )
    peer = forms.CharField(label=_("Peer bank"), max_length=100)
    value = forms.DecimalField(
        label=_("Figure, in per cent"),
        max_digits=9,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(100),
    )
    source = forms.CharField(label=_("Source"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["measure"].choices = [(k, measure_label(k)) for k in MEASURES]  # type: ignore[attr-defined]

    def clean_period(self) -> Any:
        import datetime as dt

        raw = (self.cleaned_data.get("period") or "").strip()
        try:
            year, month = raw.split("-")
            return dt.date(int(year), int(month), 1)
        except ValueError:
            raise forms.ValidationError(_("A month is written YYYY-MM, such as 2026-10.")) from None
