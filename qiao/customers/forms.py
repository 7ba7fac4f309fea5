"""Forms: they present inputs and carry errors; the rules themselves live in the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from qiao.core.forms import BootstrapMixin
from qiao.core.tiers import tier_labels
from qiao.customers.models import (
    Customer,
    CustomerType,
    Gender,
    IdType,
    MaritalStatus,
    OwnerRole,
    OwnershipType,
    SavedGroup,
    SizeClass,
)
from qiao.customers.selectors import (
    AGE_BANDS,
    EBANKING_STATES,
    MASKERS,
    SORTS,
    CustomerFilters,
    customer_accounts,
    mask_field,
)
from qiao.customers.services import PROFILE_FIELDS, REVEALABLE_FIELDS
from qiao.products.models import Category

_ANY = [("", _("Any"))]
SORT_LABELS = {
    "-aum": _("AUM, largest first"),
    "aum": _("AUM, smallest first"),
    "-contribution": _("Contribution, largest first"),
    "contribution": _("Contribution, smallest first"),
    "last_contact_at": _("Longest without contact first"),
    "-last_contact_at": _("Most recently contacted first"),
    "name": _("Name (pinyin)"),
}
EBANKING_LABELS = {
    "NONE": _("No e-banking"),
    "OPENED": _("Opened, never activated"),
    "ACTIVATED": _("Activated"),
}
AGE_LABELS = {
    "U30": _("under 30"),
    "30-39": _("30–39"),
    "40-49": _("40–49"),
    "50-59": _("50–59"),
    "60+": _("60 and over"),
}


class CustomerFilterForm(BootstrapMixin, forms.Form):
    """The list's filter; ``filters()`` gives the typed :class:`CustomerFilters`."""

    tiers = forms.MultipleChoiceField(
        label=_("Tier"),
        required=False,
        choices=[],  # the tier rule set's tiers and labels, set for each form
        widget=forms.SelectMultiple(attrs={"size": 3}),
    )
    customer_type = forms.ChoiceField(
        label=_("Type"), required=False, choices=_ANY + list(CustomerType.choices)
    )
    aum_min = forms.DecimalField(
        label=_("AUM from (yuan)"), required=False, min_value=0, max_digits=18, decimal_places=2
    )
    aum_max = forms.DecimalField(
        label=_("AUM to (yuan)"), required=False, min_value=0, max_digits=18, decimal_places=2
    )
    age_band = forms.ChoiceField(
        label=_("Age"), required=False, choices=_ANY + [(k, AGE_LABELS[k]) for k in AGE_BANDS]
    )
    gender = forms.ChoiceField(
        label=_("Gender"), required=False, choices=_ANY + list(Gender.choices)
    )
    occupation = forms.CharField(label=_("Occupation"), required=False, max_length=100)
    product = forms.CharField(label=_("Holds product (code)"), required=False, max_length=40)
    category = forms.ChoiceField(
        label=_("Holds category"), required=False, choices=_ANY + list(Category.choices)
    )
    ebanking = forms.ChoiceField(
        label=_("E-banking"),
        required=False,
        choices=_ANY + [(k, EBANKING_LABELS[k]) for k in EBANKING_STATES],
    )
    payroll = forms.ChoiceField(
        label=_("Payroll"),
        required=False,
        choices=_ANY + [("YES", _("Paid through us")), ("NO", _("Not paid through us"))],
    )
    owner = forms.CharField(
        label=_("Owner (staff number)"),
        required=False,
        max_length=150,
        help_text=_("“-” for customers without an owner."),
    )
    outlet = forms.CharField(label=_("Outlet (unit code)"), required=False, max_length=40)
    sort = forms.ChoiceField(
        label=_("Sort"), required=False, choices=[(k, SORT_LABELS[k]) for k in SORTS]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tiers = self.fields["tiers"]
        assert isinstance(tiers, forms.MultipleChoiceField)
        tiers.choices = list(tier_labels("pyramid").items())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("aum_min"), data.get("aum_max")
        if low is not None and high is not None and high < low:
            self.add_error("aum_max", _("is below the lower bound"))
        return data

    def filters(self) -> CustomerFilters:
        """The valid part of the filter (invalid inputs are shown as errors and ignored)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        if self.is_bound and not self.is_valid():
            data = {
                k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors
            }
        values: dict[str, Any] = {}
        for key in CustomerFilters.__dataclass_fields__:
            value = data.get(key)
            if value in (None, "", []):
                continue
            values[key] = tuple(value) if key == "tiers" else value
        if "aum_min" in values:
            values["aum_min"] = Decimal(values["aum_min"])
        if "aum_max" in values:
            values["aum_max"] = Decimal(values["aum_max"])
        return CustomerFilters(**values)

    @classmethod
    def from_filters(cls, filters: CustomerFilters) -> CustomerFilterForm:
        data = filters.to_json()
        return cls(data=data)


#: Personal fields: the edit form shows them masked and empty; typing a value replaces them.
MASKED_INPUTS = set(MASKERS) & set(PROFILE_FIELDS)

_CHOICES: dict[str, list[tuple[str, Any]]] = {
    "id_type": list(IdType.choices),
    "gender": [("", "—"), *Gender.choices],
    "marital_status": [("", "—"), *MaritalStatus.choices],
    "ownership_type": [("", "—"), *OwnershipType.choices],
    "size_class": [("", "—"), *SizeClass.choices],
}
_CORPORATE_ONLY = {
    "legal_rep",
    "ownership_type",
    "size_class",
    "registered_capital",
    "main_business",
}
_INDIVIDUAL_ONLY = {
    "gender",
    "birth_date",
    "marital_status",
    "school",
    "family_notes",
    "hobbies",
    "annual_income",
}


class ProfileForm(BootstrapMixin, forms.Form):
    """The profile editor. Every field is text here: the service validates it with the same
    validator as the extract column (qiao.core.validators) and the errors come back to the fields."""

    def __init__(self, *args: Any, customer: Customer, **kwargs: Any) -> None:
        self.customer = customer
        super_fields: dict[str, forms.Field] = {}
        for name in self.field_names(customer):
            model_field = Customer._meta.get_field(name)
            label = getattr(model_field, "verbose_name", name)
            if name in _CHOICES:
                field: forms.Field = forms.ChoiceField(
                    label=label, required=False, choices=_CHOICES[name]
                )
            elif name == "family_notes":
                field = forms.CharField(
                    label=label, required=False, widget=forms.Textarea(attrs={"rows": 3})
                )
            elif name == "birth_date":
                field = forms.CharField(
                    label=label,
                    required=False,
                    widget=forms.DateInput(attrs={"type": "date"}),
                    help_text=_("Derived from a resident ID."),
                )
            else:
                field = forms.CharField(label=label, required=False)
            if name in MASKED_INPUTS:
                current = mask_field(name, getattr(customer, name))
                field.widget.attrs["placeholder"] = current or "—"
                field.widget.attrs["autocomplete"] = "off"
                field.help_text = _("Shown masked. Leave empty to keep; type to replace.")
            super_fields[name] = field
        self.base_fields = super_fields  # type: ignore[misc]  # per-customer fields
        initial = {
            name: _initial(getattr(customer, name))
            for name in super_fields
            if name not in MASKED_INPUTS
        }
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)

    @staticmethod
    def field_names(customer: Customer) -> list[str]:
        skip = _INDIVIDUAL_ONLY if customer.is_corporate else _CORPORATE_ONLY
        return [f for f in PROFILE_FIELDS if f not in skip]

    def changed_data_for_service(self) -> dict[str, Any]:
        """Only the fields the user touched; an empty masked input means "keep"."""
        out: dict[str, Any] = {}
        for name in self.fields:
            raw = self.data.get(name)
            if raw is None:
                continue
            if name in MASKED_INPUTS and str(raw).strip() == "":
                continue
            if name not in MASKED_INPUTS and str(raw).strip() == _initial(
                getattr(self.customer, name)
            ):
                continue
            out[name] = raw
        return out


def _initial(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


#: The 360's sections with one reveal control each (issue 13 item 7).
REVEAL_SECTIONS = ("identity", "accounts")


def reveal_choices(
    *, customer: Customer, section: str, accounts: list[Any] | None = None
) -> list[tuple[str, str]]:
    """The masked values one section's reveal control offers, as (field, label)."""
    if section == "accounts":
        shown: list[Any] = customer_accounts(customer) if accounts is None else accounts
        # masked_no and reveal_field are set by customer_accounts
        return [(a.reveal_field, f"{a.masked_no} · {a.product.name}") for a in shown]
    return [
        (f, capfirst(str(getattr(Customer._meta.get_field(f), "verbose_name", f))))
        for f in REVEALABLE_FIELDS
        if getattr(customer, f)
    ]


class RevealForm(forms.Form):
    field = forms.CharField(max_length=40)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
    # Which 360 section asked: its control is shown again after the value.
    section = forms.CharField(max_length=20, required=False)

    def clean_field(self) -> str:
        value = self.cleaned_data["field"]
        if value not in REVEALABLE_FIELDS and not value.startswith("account:"):
            raise forms.ValidationError(_("This field cannot be revealed."))
        return str(value)


class AssignForm(BootstrapMixin, forms.Form):
    manager = forms.ChoiceField(label=_("Customer manager"))
    role = forms.ChoiceField(label=_("As"), choices=OwnerRole.choices, initial=OwnerRole.PRIMARY)
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args: Any, managers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.fields["manager"]
        assert isinstance(manager, forms.ChoiceField)
        manager.choices = [("", "—")] + [
            # By name and outlet, as a colleague is named (the username is only the value).
            (m.username, f"{m.display_name} · {m.unit.name if m.unit else ''}")
            for m in managers
        ]


class SavedGroupForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("Group name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=SavedGroup.Kind.choices)
