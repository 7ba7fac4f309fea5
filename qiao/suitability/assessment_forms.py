"""The assessment form: one radio question per questionnaire question, the customer's signature,
qualified-investor evidence. The rules are the service's (qiao.suitability.services)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from qiao.core.forms import BootstrapMixin
from qiao.suitability.questionnaire import Questionnaire

PREFIX = "q_"


class AssessmentForm(BootstrapMixin, forms.Form):
    customer_signed = forms.BooleanField(
        label=_("The customer has read the result and signed to confirm it"), required=False
    )
    qualified_investor = forms.BooleanField(
        label=_("Qualified investor, with evidence"), required=False
    )
    qualified_evidence = forms.CharField(
        label=_("Evidence of a qualified investor"),
        required=False,
        max_length=200,
        help_text=_(
            "For example: two years of investing and household financial assets of ¥5 million "
            "(statement seen on the day)."
        ),
    )

    def __init__(self, *args: Any, questionnaire: Questionnaire, **kwargs: Any) -> None:
        self.questionnaire = questionnaire
        language = get_language() or "en"
        extra = {
            PREFIX + q.id: forms.ChoiceField(
                label=q.text.get(language),
                choices=[(a.id, a.text.get(language)) for a in q.answers],
                widget=forms.RadioSelect,
                required=False,
            )
            for q in questionnaire.questions
        }
        super().__init__(*args, **kwargs)
        # The questions first, in the questionnaire's order, then the signature and evidence.
        self.fields = {**extra, **self.fields}
        for name in extra:
            self.fields[name].widget.attrs["class"] = "form-check-input"

    def question_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith(PREFIX)]

    def answers(self) -> dict[str, str]:
        return {
            name[len(PREFIX) :]: value
            for name, value in self.cleaned_data.items()
            if name.startswith(PREFIX) and value
        }
