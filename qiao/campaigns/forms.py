"""The campaign pages' forms: the segment builder, the static-list upload, the campaign with its
steps and message templates, the list's filter and the refusal note.

Forms present inputs in words and carry errors; the rules (scope, who may, what a campaign needs)
are the services' (qiao.campaigns.segments, qiao.campaigns.services).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from qiao.campaigns.models import (
    AIM_CHOICES,
    CHANNEL_CHOICES,
    Campaign,
    CampaignStatus,
    Segment,
    Trigger,
)
from qiao.campaigns.segments import SegmentFilters
from qiao.campaigns.services import CampaignData, StepData, TemplateData
from qiao.core.choices import choices
from qiao.core.forms import BootstrapMixin
from qiao.core.vocab import (
    CUSTOMER_LANGUAGES,
    LIFECYCLE_STAGES,
    MOTIVES,
    RISK_STYLES,
    SALE_STATUSES,
)
from qiao.customers.forms import CustomerFilterForm
from qiao.org.models import BANKWIDE_ROLES, OWNER_ROLES, SUBTREE_ROLES, OrgUnit, Staff
from qiao.products.models import Product

_ANY = [("", _("Any"))]

#: A campaign has at most this many steps (an SMS, a follow-up, a CM's call).
MAX_STEPS = 3
#: The A/B variants of a step's message.
VARIANTS = ("A", "B")
#: The languages a message is written in (the customer's language picks one), by code.
LANGUAGES = CUSTOMER_LANGUAGES.codes
#: The variables a template may use, with what each becomes.
TEMPLATE_VARIABLES = [
    ("{name}", _("the customer's name")),
    ("{product}", _("the campaign's first product")),
    ("{manager}", _("the customer's manager")),
    ("{outlet}", _("the customer's outlet")),
    ("{rate}", _("the product's rate")),
]


def _key(language: str) -> str:
    """A language code as part of a field name (``zh-hans`` → ``zh_hans``)."""
    return language.replace("-", "_")


def _units_in_scope(staff: Staff) -> list[OrgUnit]:
    qs = OrgUnit.objects.exclude(level="HEAD_OFFICE").order_by("path")
    if staff.role not in BANKWIDE_ROLES:
        if staff.unit is None:
            return []
        qs = qs.filter(path__startswith=staff.unit.path)
    return list(qs.only("code", "name", "path"))


def _owners_in_scope(staff: Staff) -> list[Staff]:
    qs = Staff.objects.filter(role__in=[str(r) for r in OWNER_ROLES]).select_related("unit")
    if staff.role not in BANKWIDE_ROLES:
        if staff.role in SUBTREE_ROLES and staff.unit is not None:
            qs = qs.filter(unit__path__startswith=staff.unit.path)
        else:
            qs = qs.filter(pk=staff.pk)
    return list(qs.order_by("unit__path", "name")[:2000])


def product_choices(*, selling_only: bool) -> list[tuple[str, str]]:
    """Products of the shelf by name (and risk level): those on sale for a campaign, all of them
    for "holds" / "does not hold"."""
    qs = Product.objects.order_by("name", "code")
    if selling_only:
        qs = qs.filter(sale_status__in=SALE_STATUSES.having("selling"))
    out = []
    for p in qs.only("code", "name", "risk_level"):
        out.append((p.code, f"{p.name} · {p.get_risk_level_display()}" if p.risk_level else p.name))
    return out


class SegmentForm(CustomerFilterForm):
    """The builder: the customer list's filters (in its words) and the nightly scores."""

    name = forms.CharField(label=_("Segment name"), max_length=100, required=False)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    stages = forms.MultipleChoiceField(
        label=_("Lifecycle stage"),
        required=False,
        choices=choices(LIFECYCLE_STAGES),
        widget=forms.CheckboxSelectMultiple,
    )
    motives = forms.MultipleChoiceField(
        label=_("Deposit motive"),
        required=False,
        choices=choices(MOTIVES),
        widget=forms.CheckboxSelectMultiple,
    )
    risk_styles = forms.MultipleChoiceField(
        label=_("Risk style"),
        required=False,
        choices=choices(RISK_STYLES),
        widget=forms.CheckboxSelectMultiple,
    )
    attrition_min = forms.IntegerField(
        label=_("Attrition risk at least (%)"), required=False, min_value=0, max_value=100
    )
    clv_min = forms.DecimalField(
        label=_("Lifetime value at least (yuan)"),
        required=False,
        min_value=0,
        max_digits=18,
        decimal_places=2,
    )
    not_product = forms.ChoiceField(label=_("Does not hold product"), required=False)
    age_min = forms.IntegerField(label=_("Age from"), required=False, min_value=0, max_value=130)
    age_max = forms.IntegerField(label=_("Age to"), required=False, min_value=0, max_value=130)

    #: The order of the builder's fields (the list's, then the scores).
    order = [
        "name",
        "description",
        "tiers",
        "customer_type",
        "aum_min",
        "aum_max",
        "age_band",
        "age_min",
        "age_max",
        "gender",
        "occupation",
        "product",
        "not_product",
        "category",
        "ebanking",
        "payroll",
        "owner",
        "outlet",
        "stages",
        "motives",
        "risk_styles",
        "attrition_min",
        "clv_min",
    ]

    def __init__(self, *args: Any, staff: Staff, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["sort"]
        products = _ANY + product_choices(selling_only=False)
        # Words, not codes: a product, an owner and an outlet are picked by name.
        self.fields["product"] = forms.ChoiceField(
            label=_("Holds product"), required=False, choices=products
        )
        self.fields["not_product"].choices = products  # type: ignore[attr-defined]
        self.fields["owner"] = forms.ChoiceField(
            label=_("Manager"),
            required=False,
            choices=_ANY
            + [("-", _("Without a manager"))]
            + [
                (s.username, f"{s.name} · {s.unit.name if s.unit else ''}")
                for s in _owners_in_scope(staff)
            ],
        )
        self.fields["outlet"] = forms.ChoiceField(
            label=_("Branch or outlet"),
            required=False,
            choices=_ANY + [(u.code, u.name) for u in _units_in_scope(staff)],
        )
        for name in ("product", "owner", "outlet"):
            self.fields[name].widget.attrs["class"] = "form-select form-select-sm"
        self.order_fields(self.order)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("age_min"), data.get("age_max")
        if low is not None and high is not None and high < low:
            self.add_error("age_max", _("is below the lower bound"))
        return data

    def segment_filters(self) -> SegmentFilters:
        """The valid part of the filters (fields with errors are left out, and shown)."""
        if not self.is_bound:
            return SegmentFilters()
        self.is_valid()
        data: dict[str, Any] = {}
        for key, value in self.cleaned_data.items():
            if key in self.errors or key in ("name", "description") or value in (None, "", []):
                continue
            if key == "attrition_min":
                value = Decimal(value) / 100
            data[key] = [str(v) for v in value] if isinstance(value, list) else str(value)
        try:
            return SegmentFilters.from_json(data)
        except ValidationError as exc:
            self.add_service_errors(exc)
            return SegmentFilters()

    def add_service_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for key, errors in exc.message_dict.items():
            self.add_error(key if key in self.fields else None, errors)

    @classmethod
    def initial_from(cls, segment: Segment) -> dict[str, Any]:
        initial: dict[str, Any] = {"name": segment.name, "description": segment.description}
        for key, value in (segment.filters or {}).items():
            if key == "attrition_min":
                value = round(float(value) * 100)
            initial[key] = value
        return initial


class SegmentUploadForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("Segment name"), max_length=100)
    file = forms.FileField(
        label=_("File of customer numbers"),
        help_text=_(
            "CSV or TXT, UTF-8 or GBK: one customer number a line (or in the first column)."
        ),
    )

    MAX_BYTES = 20 * 1024 * 1024

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise ValidationError(_("The file is larger than 20 MB."))
        return upload


class CampaignFilterForm(BootstrapMixin, forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=_ANY + list(CampaignStatus.choices)
    )
    aim = forms.ChoiceField(label=_("Aim"), required=False, choices=_ANY + list(AIM_CHOICES))

    def values(self) -> dict[str, str]:
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v}


class RefuseForm(BootstrapMixin, forms.Form):
    note = forms.CharField(
        label=_("Why it is refused"), max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )


class ApproveForm(BootstrapMixin, forms.Form):
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


_NO_STEP = [("", pgettext_lazy("campaign step", "No such step"))]


class CampaignForm(BootstrapMixin, forms.Form):
    """A campaign and its steps (up to :data:`MAX_STEPS`), each with a message per variant and
    language. Field names: ``s1_channel``, ``s1_A_zh_hans_body`` …"""

    name = forms.CharField(label=_("Name"), max_length=120)
    aim = forms.ChoiceField(label=_("Aim"), choices=AIM_CHOICES)
    segment = forms.TypedChoiceField(label=_("Segment"), coerce=int)
    products = forms.MultipleChoiceField(
        label=_("Products"),
        required=False,
        help_text=_("Each recipient is checked against each product's risk level."),
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    starts_on = forms.DateField(
        label=_("Starts on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    window_days = forms.IntegerField(
        label=_("Response window (days)"), min_value=1, max_value=365, initial=30
    )
    budget = forms.DecimalField(
        label=_("Budget (yuan)"), min_value=0, max_digits=14, decimal_places=2, initial=0
    )
    control_pct = forms.IntegerField(
        label=_("Control group (%)"),
        min_value=0,
        max_value=50,
        initial=10,
        help_text=_("Chosen at random within each tier; they receive nothing and are the measure."),
    )
    exclude_complaints = forms.BooleanField(
        label=_("Leave out customers with an open complaint"), required=False, initial=True
    )
    exclude_blacklist = forms.BooleanField(
        label=_("Leave out customers on the blacklist"),
        required=False,
        initial=True,
        disabled=True,
        help_text=_("Always: a blacklisted customer gets no campaign."),
    )
    exclude_contacted_days = forms.IntegerField(
        label=_("Leave out customers contacted in the last N days"),
        min_value=0,
        max_value=365,
        initial=7,
    )
    exclude_other_campaigns = forms.BooleanField(
        label=_("Leave out customers in another running campaign"), required=False, initial=True
    )
    trigger = forms.ChoiceField(
        label=_("Trigger"),
        required=False,
        choices=[("", _("None: sent once"))] + list(Trigger.choices),
    )
    trigger_days = forms.IntegerField(
        label=_("Days (for the trigger)"), required=False, min_value=0, max_value=365
    )

    def __init__(self, *args: Any, segments: list[Segment], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segment"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (s.pk, s.name) for s in segments
        ]
        self.fields["products"].choices = product_choices(selling_only=True)  # type: ignore[attr-defined]
        if not self.is_bound and "starts_on" not in self.initial:
            self.initial["starts_on"] = timezone.localdate() + dt.timedelta(days=1)
        for n in range(1, MAX_STEPS + 1):
            channel_choices = (_NO_STEP if n > 1 else [("", "—")]) + list(CHANNEL_CHOICES)
            self.fields[f"s{n}_channel"] = forms.ChoiceField(
                label=_("Channel"), required=n == 1, choices=channel_choices
            )
            self.fields[f"s{n}_delay_days"] = forms.IntegerField(
                label=_("Days after the previous step") if n > 1 else _("Days after the start"),
                min_value=0,
                max_value=365,
                required=False,
                initial=0 if n == 1 else 3,
            )
            self.fields[f"s{n}_min_aum"] = forms.DecimalField(
                label=_("Only customers with AUM of at least (yuan)"),
                required=False,
                min_value=0,
                max_digits=18,
                decimal_places=2,
            )
            self.fields[f"s{n}_cost_per_contact"] = forms.DecimalField(
                label=_("Cost per contact (yuan)"),
                required=False,
                min_value=0,
                max_digits=10,
                decimal_places=2,
                initial=0,
            )
            for variant in VARIANTS:
                for language in LANGUAGES:
                    prefix = f"s{n}_{variant}_{_key(language)}"
                    self.fields[f"{prefix}_subject"] = forms.CharField(
                        label=_("Subject (e-mail)"), max_length=120, required=False
                    )
                    self.fields[f"{prefix}_body"] = forms.CharField(
                        label=_("Message"),
                        required=False,
                        max_length=2000,
                        widget=forms.Textarea(attrs={"rows": 3}),
                    )
        # BootstrapMixin styled the fields it saw; style the step fields too.
        for name, field in self.fields.items():
            if name.startswith("s") and name[1:2].isdigit():
                widget = field.widget
                css = (
                    "form-select form-select-sm"
                    if isinstance(widget, forms.Select)
                    else "form-control form-control-sm"
                )
                if css not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()

    # -- presentation

    def steps(self) -> list[dict[str, Any]]:
        """The step fields grouped for the template: per step its fields and its templates by
        variant, then language."""
        out = []
        labels = dict(choices(CUSTOMER_LANGUAGES))
        for n in range(1, MAX_STEPS + 1):
            variants = []
            for variant in VARIANTS:
                languages = []
                for language in LANGUAGES:
                    prefix = f"s{n}_{variant}_{_key(language)}"
                    languages.append(
                        {
                            "code": language,
                            "key": _key(language),
                            "label": labels[language],
                            "subject": self[f"{prefix}_subject"],
                            "body": self[f"{prefix}_body"],
                        }
                    )
                variants.append({"variant": variant, "languages": languages})
            out.append(
                {
                    "number": n,
                    "channel": self[f"s{n}_channel"],
                    "delay_days": self[f"s{n}_delay_days"],
                    "min_aum": self[f"s{n}_min_aum"],
                    "cost_per_contact": self[f"s{n}_cost_per_contact"],
                    "variants": variants,
                }
            )
        return out

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if not (name[:1] == "s" and name[1:2].isdigit())]

    # -- to the service and back

    def campaign_data(self) -> CampaignData:
        d = self.cleaned_data
        steps = []
        for n in range(1, MAX_STEPS + 1):
            channel = d.get(f"s{n}_channel") or ""
            if not channel:
                continue
            templates = []
            for variant in VARIANTS:
                for language in LANGUAGES:
                    prefix = f"s{n}_{variant}_{_key(language)}"
                    body = (d.get(f"{prefix}_body") or "").strip()
                    subject = (d.get(f"{prefix}_subject") or "").strip()
                    if body or subject:
                        templates.append(
                            TemplateData(
                                variant=variant, language=language, subject=subject, body=body
                            )
                        )
            steps.append(
                StepData(
                    channel=channel,
                    delay_days=d.get(f"s{n}_delay_days") or 0,
                    min_aum=d.get(f"s{n}_min_aum"),
                    cost_per_contact=d.get(f"s{n}_cost_per_contact") or Decimal(0),
                    templates=templates,
                )
            )
        return CampaignData(
            name=d["name"],
            aim=d["aim"],
            segment_id=d["segment"],
            product_codes=list(d.get("products") or []),
            starts_on=d["starts_on"],
            window_days=d["window_days"],
            budget=d["budget"],
            control_pct=d["control_pct"],
            exclude_complaints=d["exclude_complaints"],
            exclude_blacklist=d["exclude_blacklist"],
            exclude_contacted_days=d["exclude_contacted_days"],
            exclude_other_campaigns=d["exclude_other_campaigns"],
            trigger=d.get("trigger") or "",
            trigger_days=d.get("trigger_days"),
            steps=steps,
        )

    @classmethod
    def initial_from(cls, campaign: Campaign) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "name": campaign.name,
            "aim": campaign.aim,
            "segment": campaign.segment_id,
            "products": [p.code for p in campaign.products.all()],
            "starts_on": campaign.starts_on,
            "window_days": campaign.window_days,
            "budget": campaign.budget,
            "control_pct": campaign.control_pct,
            "exclude_complaints": campaign.exclude_complaints,
            "exclude_blacklist": campaign.exclude_blacklist,
            "exclude_contacted_days": campaign.exclude_contacted_days,
            "exclude_other_campaigns": campaign.exclude_other_campaigns,
            "trigger": campaign.trigger,
            "trigger_days": campaign.trigger_days,
        }
        for step in campaign.steps.prefetch_related("templates").order_by("number"):
            n = step.number
            if n > MAX_STEPS:
                continue
            initial[f"s{n}_channel"] = step.channel
            initial[f"s{n}_delay_days"] = step.delay_days
            initial[f"s{n}_min_aum"] = step.min_aum
            initial[f"s{n}_cost_per_contact"] = step.cost_per_contact
            for t in step.templates.all():
                prefix = f"s{n}_{t.variant}_{_key(t.language)}"
                initial[f"{prefix}_subject"] = t.subject
                initial[f"{prefix}_body"] = t.body
        return initial

    def add_service_errors(self, exc: ValidationError) -> None:
        """The service's field messages on the fields they name, the others above the form."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for key, errors in exc.message_dict.items():
            field = _SERVICE_FIELDS.get(key, key)
            self.add_error(field if field in self.fields else None, errors)


#: The service's names for fields this form names differently.
_SERVICE_FIELDS = {"segment_id": "segment", "product_codes": "products"}
