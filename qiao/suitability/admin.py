"""The risk questionnaire is edited here (a new version starts as a copy of
``config/questionnaire.toml``); an edited version is checked by the same parser as the file, so a
mistake is refused with a message naming the question, answer, band or field. Assessments are
read-only here: they are recorded with the customer (the assessment page, the API) or loaded from
core banking, and never changed afterwards."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from qiao.suitability.models import Questionnaire, RiskAssessment
from qiao.suitability.questionnaire import (
    QuestionnaireError,
    default_questionnaire_data,
    parse_questionnaire,
)


class QuestionnaireForm(forms.ModelForm):
    class Meta:
        model = Questionnaire
        fields = ["name", "definition", "active"]

    def clean_definition(self) -> Any:
        definition = self.cleaned_data["definition"]
        try:
            parse_questionnaire(definition)
        except QuestionnaireError as exc:
            raise forms.ValidationError(
                _("This questionnaire cannot be used: %(error)s") % {"error": exc}
            ) from None
        return definition


@admin.register(Questionnaire)
class QuestionnaireAdmin(admin.ModelAdmin):
    form = QuestionnaireForm
    list_display = ["name", "active", "updated_at"]

    def get_changeform_initial_data(self, request):  # type: ignore[no-untyped-def]
        # A new version starts as a copy of the questionnaire in the repository.
        return {"name": "bank", "definition": default_questionnaire_data(), "active": True}


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(admin.ModelAdmin):
    list_display = ["customer", "tolerance", "assessed_on", "valid_until", "source", "elderly"]
    list_filter = ["tolerance", "source", "elderly", "qualified_investor"]
    readonly_fields = [f.name for f in RiskAssessment._meta.fields]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
