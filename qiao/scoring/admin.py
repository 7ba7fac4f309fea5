"""Tier rules are edited here by an analyst; the scoring uses the active rule set (else the file
``qiao/analytics/config/tiers.toml``). Rules are validated by the analytics' own parser, so a
mistake is refused with a message naming the scheme, tier, rule and field."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from qiao.core.tiers import tier_labels_clear
from qiao.scoring.models import ModelRun, TierRuleSet


def default_rules() -> dict[str, Any]:
    text = resources.files("qiao.analytics.config").joinpath("tiers.toml").read_text("utf-8")
    return tomllib.loads(text)


class TierRuleSetForm(forms.ModelForm):
    class Meta:
        model = TierRuleSet
        fields = ["name", "rules", "active"]

    def clean_rules(self) -> Any:
        from qiao.analytics.tiers import parse_tier_rules

        rules = self.cleaned_data["rules"]
        try:
            parse_tier_rules(rules)
        except (ValueError, TypeError, KeyError) as exc:
            raise forms.ValidationError(
                _("These rules cannot be used: %(error)s") % {"error": exc}
            ) from None
        return rules


@admin.register(TierRuleSet)
class TierRuleSetAdmin(admin.ModelAdmin):
    form = TierRuleSetForm
    list_display = ["name", "active", "updated_at"]

    def get_changeform_initial_data(self, request):
        # A new rule set starts as a copy of the rules in the repository.
        return {"name": "bank", "rules": default_rules(), "active": True}

    # The pages show the rule set's tier labels (qiao.core.tiers): a change shows at once.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        tier_labels_clear()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        tier_labels_clear()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        tier_labels_clear()


@admin.register(ModelRun)
class ModelRunAdmin(admin.ModelAdmin):
    list_display = ["as_of", "engine", "ok", "customers", "started_at", "finished_at"]
    list_filter = ["ok", "engine"]
    readonly_fields = [f.name for f in ModelRun._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False
