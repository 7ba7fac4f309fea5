"""Forms of the product shelf: the catalogue's filter and the product manager's product form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from qiao.core import validators as v
from qiao.core.choices import choices
from qiao.core.forms import BootstrapMixin
from qiao.core.suitability import RATED_CATEGORIES
from qiao.core.vocab import CURRENCIES
from qiao.products.models import Category, Motive, Product, RiskLevel, SaleStatus
from qiao.suitability.shelf import TERM_BANDS, ShelfFilters
from qiao.suitability.shelf_services import EDITABLE

_ANY = [("", _("Any"))]


def currency_choices() -> list[tuple[str, Any]]:
    """The currencies (ISO 4217) a product may be in, by name."""
    return choices(CURRENCIES)


class ShelfFilterForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label=_("Name or code"), required=False, max_length=100)
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=_ANY + list(Category.choices)
    )
    risk_level = forms.ChoiceField(
        label=_("Risk level"), required=False, choices=_ANY + list(RiskLevel.choices)
    )
    motive = forms.ChoiceField(
        label=_("Motive"), required=False, choices=_ANY + list(Motive.choices)
    )
    currency = forms.ChoiceField(
        label=_("Currency"), required=False, choices=_ANY + currency_choices()
    )
    term = forms.ChoiceField(
        label=_("Term"),
        required=False,
        choices=_ANY + [(k, label) for k, (label, _lo, _hi) in TERM_BANDS.items()],
    )
    amount = forms.DecimalField(
        label=_("Amount to invest (yuan)"),
        help_text=_("Products whose minimum amount is at most this."),
        required=False,
        min_value=0,
        max_digits=18,
        decimal_places=2,
    )
    sale_status = forms.ChoiceField(
        label=_("On the shelf"), required=False, choices=_ANY + list(SaleStatus.choices)
    )

    def filters(self) -> ShelfFilters:
        if not self.is_bound or not self.is_valid():
            return ShelfFilters()
        data = self.cleaned_data
        return ShelfFilters(
            category=data.get("category") or "",
            risk_level=data.get("risk_level") or "",
            motive=data.get("motive") or "",
            currency=data.get("currency") or "",
            term=data.get("term") or "",
            amount=data.get("amount"),
            sale_status=data.get("sale_status") or "",
            q=(data.get("q") or "").strip(),
        )


class ProductForm(BootstrapMixin, forms.ModelForm):  # type: ignore[type-arg]
    """The product manager's form. The risk level that applies is not entered: it is the higher
    of the issuer's and the bank's ratings (孰高原则)."""

    motives = forms.MultipleChoiceField(
        label=_("Motives"),
        required=False,
        choices=list(Motive.choices),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Product
        fields = ["code", *EDITABLE]
        widgets = {
            "issue_date": forms.DateInput(attrs={"type": "date"}),
            "maturity_date": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        product: Product = self.instance
        if product.pk:
            # The code is the natural key the core banking sends: fixed once created.
            self.fields["code"].disabled = True
            self.initial["motives"] = [m for m in (product.motives or "").split("|") if m]
            if not (product.issuer_risk_level or product.seller_risk_level):
                # A product loaded with one level only: that level is the bank's rating.
                self.initial["seller_risk_level"] = product.risk_level
        self.fields["currency"].widget = forms.Select(choices=currency_choices())
        self.fields["currency"].widget.attrs["class"] = "form-select form-select-sm"

    def clean_code(self) -> str:
        if self.instance.pk:
            return str(self.instance.code)
        try:
            return v.clean_code(self.cleaned_data.get("code") or "")
        except v.FieldError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_currency(self) -> str:
        code = str(self.cleaned_data.get("currency") or "")
        if code not in CURRENCIES:
            raise forms.ValidationError(_("Choose a currency of the list."))
        return code

    def clean_motives(self) -> str:
        return "|".join(self.cleaned_data.get("motives") or [])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        rated = data.get("category") in RATED_CATEGORIES
        if rated and not (data.get("issuer_risk_level") or data.get("seller_risk_level")):
            self.add_error(
                "seller_risk_level",
                _("An investment product needs a risk rating (R1–R5), the issuer's or the bank's."),
            )
        issue, maturity = data.get("issue_date"), data.get("maturity_date")
        if issue and maturity and maturity < issue:
            self.add_error("maturity_date", _("The maturity date is before the issue date."))
        return data

    def _post_clean(self) -> None:
        # The service saves (and validates the model); the form only checks its inputs.
        pass
