"""Forms of the engagement pages; they only shape input, the services decide."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from qiao.customers.models import SavedGroup
from qiao.engagement.models import (
    MEETING_FIELDS,
    PHONE_STEPS,
    Complaint,
    ComplaintStatus,
    Contact,
    Plan,
    Prospect,
    ProspectKind,
    ReferralReason,
    ReferralStatus,
)
from qiao.org.models import OWNER_ROLES, Staff
from qiao.products.models import Product


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def format_value(self, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.strftime("%Y-%m-%dT%H:%M")
        return value


def _bootstrap(form: forms.BaseForm) -> None:
    for f in form.fields.values():
        widget = f.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select | forms.SelectMultiple):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


class ContactForm(forms.ModelForm):
    work_item = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Contact
        fields = [
            "channel",
            "at",
            "summary",
            "with_outlet_head",
            *PHONE_STEPS,
            "appointment_at",
            "appointment_place",
            *MEETING_FIELDS,
            "next_step",
            "next_step_due",
            "satisfaction",
        ]
        widgets = {
            "at": DateTimeInput(),
            "appointment_at": DateTimeInput(),
            "next_step_due": DateInput(),
            "summary": forms.Textarea(attrs={"rows": 2}),
            **{name: forms.Textarea(attrs={"rows": 2}) for name in MEETING_FIELDS},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
        for name in ("at", "appointment_at"):
            cast(forms.DateTimeField, self.fields[name]).input_formats = formats
        self.fields["satisfaction"].widget = forms.Select(
            choices=[("", "—"), *[(i, str(i)) for i in range(1, 6)]]
        )
        _bootstrap(self)

    def phone_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in PHONE_STEPS]

    def meeting_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in MEETING_FIELDS]


class ProspectForm(forms.ModelForm):
    class Meta:
        model = Prospect
        fields = [
            "kind",
            "name",
            "mobile",
            "classification",
            "source",
            "source_note",
            "expected_value",
            "likelihood",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)


class ProspectReviewForm(forms.Form):
    expected_value = forms.DecimalField(
        label=_("expected value (yuan)"), min_value=0, decimal_places=2
    )
    likelihood = forms.IntegerField(label=_("likelihood (%)"), min_value=0, max_value=100)
    note = forms.CharField(label=_("note"), required=False, max_length=300)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)


class ConvertForm(forms.Form):
    customer_no = forms.CharField(label=_("customer number"), max_length=40)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)


class PlanForm(forms.ModelForm):
    customer_no = forms.CharField(label=_("customer number"), max_length=40, required=False)
    group = forms.ModelChoiceField(
        label=_("or a saved group"), queryset=SavedGroup.objects.none(), required=False
    )
    baseline_amount = forms.DecimalField(
        label=_("baseline at start (yuan)"),
        required=False,
        decimal_places=2,
        help_text=_("Leave empty to take the balances measured on the start date."),
    )
    milestones_text = forms.CharField(
        label=_("milestones"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line: date, target amount, note — e.g. 2026-06-30 500000 first half."),
    )

    class Meta:
        model = Plan
        fields = [
            "title",
            "period",
            "start",
            "end",
            "products",
            "target_amount",
            "resources_people",
            "resources_money",
            "resources_materials",
            "methods",
            "competition",
        ]
        widgets = {
            "start": DateInput(),
            "end": DateInput(),
            **{
                n: forms.Textarea(attrs={"rows": 2})
                for n in (
                    "resources_people",
                    "resources_money",
                    "resources_materials",
                    "methods",
                    "competition",
                )
            },
        }

    def __init__(self, *args: Any, staff: Staff, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["group"]).queryset = SavedGroup.objects.filter(
            owner=staff
        )
        cast(
            forms.ModelMultipleChoiceField, self.fields["products"]
        ).queryset = Product.objects.all()
        self.fields["products"].required = False
        _bootstrap(self)

    def clean_milestones_text(self) -> list[tuple[dt.date, Decimal, str]]:
        out = []
        for n, line in enumerate(self.cleaned_data.get("milestones_text", "").splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split(None, 2)
            try:
                out.append(
                    (
                        dt.date.fromisoformat(parts[0]),
                        Decimal(parts[1]),
                        parts[2] if len(parts) > 2 else "",
                    )
                )
            except (IndexError, ValueError, InvalidOperation):
                raise forms.ValidationError(
                    _("Line %(n)s: write a date, an amount and an optional note."), params={"n": n}
                ) from None
        return out

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("customer_no")) == bool(data.get("group")):
            raise forms.ValidationError(_("Give either a customer number or a group."))
        return data


class ReferralForm(forms.Form):
    customer_no = forms.CharField(label=_("customer number"), max_length=40, required=False)
    prospect_name = forms.CharField(label=_("or a prospect's name"), max_length=200, required=False)
    prospect_mobile = forms.CharField(label=_("prospect's mobile"), max_length=20, required=False)
    prospect_kind = forms.ChoiceField(
        label=_("person or company"),
        choices=ProspectKind.choices,
        required=False,
    )
    to_staff = forms.ModelChoiceField(
        label=_("customer manager"),
        queryset=Staff.objects.none(),
        required=False,
        help_text=_("Leave empty to refer a customer to their own manager."),
    )
    reason = forms.ChoiceField(label=_("reason"), choices=ReferralReason.choices)
    note = forms.CharField(label=_("note"), max_length=300, required=False)
    amount = forms.DecimalField(label=_("amount concerned (yuan)"), required=False, min_value=0)

    def __init__(self, *args: Any, staff: Staff, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        qs = Staff.objects.filter(is_active=True, role__in=OWNER_ROLES)
        if staff.unit is not None:
            # CMs of the referrer's sub-branch (the outlet's parent) — where the customer is served.
            parent = "/".join(staff.unit.path.rstrip("/").split("/")[:-1]) + "/"
            qs = qs.filter(unit__path__startswith=parent)
        cast(forms.ModelChoiceField, self.fields["to_staff"]).queryset = qs.order_by("username")
        _bootstrap(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("customer_no")) == bool(data.get("prospect_name")):
            raise forms.ValidationError(_("Give either a customer number or a prospect's name."))
        if data.get("prospect_name") and not data.get("to_staff"):
            self.add_error("to_staff", _("Choose the customer manager for the prospect."))
        return data


class ReferralStatusForm(forms.Form):
    status = forms.ChoiceField(
        label=_("status"),
        choices=[c for c in ReferralStatus.choices if c[0] != ReferralStatus.NEW],
    )


class ComplaintForm(forms.ModelForm):
    class Meta:
        model = Complaint
        fields = ["subject", "description", "received_at"]
        widgets = {"received_at": DateTimeInput(), "description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["received_at"].required = False
        cast(forms.DateTimeField, self.fields["received_at"]).input_formats = [
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ]
        _bootstrap(self)


class ComplaintUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("status"), choices=ComplaintStatus.choices)
    resolution = forms.CharField(
        label=_("resolution"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    service_recovery = forms.CharField(
        label=_("service recovery"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)
