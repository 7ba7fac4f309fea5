from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from qiao.audit.models import Action
from qiao.core.forms import BootstrapMixin


class AuditFilterForm(BootstrapMixin, forms.Form):
    username = forms.CharField(label=_("User"), required=False, max_length=150)
    action = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", _("Any action")), *Action.choices]
    )
    customer_no = forms.CharField(label=_("Customer number"), required=False, max_length=40)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("is before the start date"))
        return data
