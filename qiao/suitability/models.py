"""Risk assessments (风险承受能力评估) and next-best-product suggestions.

A customer's tolerance C1–C5 comes from their latest assessment while it is valid (one year by
default: industry practice, ``config/suitability.toml``); the history is kept. Suggestions are
written by the nightly scoring, already filtered through :mod:`qiao.core.suitability`, and the
customer manager records what became of each (docs/suitability.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from qiao.core.choices import choice
from qiao.core.vocab import (
    ASSESSMENT_SOURCES,
    DECLINE_REASONS,
    RISK_TOLERANCES,
    SUGGESTION_STATUSES,
)


class Tolerance(models.TextChoices):
    C1 = choice(RISK_TOLERANCES, "C1")
    C2 = choice(RISK_TOLERANCES, "C2")
    C3 = choice(RISK_TOLERANCES, "C3")
    C4 = choice(RISK_TOLERANCES, "C4")
    C5 = choice(RISK_TOLERANCES, "C5")


class AssessmentSource(models.TextChoices):
    BRANCH = choice(ASSESSMENT_SOURCES, "BRANCH")
    CORE = choice(ASSESSMENT_SOURCES, "CORE")


class RiskAssessment(models.Model):
    customer = models.ForeignKey(
        "customers.Customer",
        models.CASCADE,
        related_name="risk_assessments",
        verbose_name=_("customer"),
    )
    tolerance = models.CharField(_("risk tolerance"), max_length=2, choices=Tolerance.choices)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    #: Question id → the chosen answer's id (as the questionnaire of ``questionnaire_version``).
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    questionnaire_version = models.CharField(_("questionnaire"), max_length=20, blank=True)
    assessed_on = models.DateField(_("assessed on"))
    valid_until = models.DateField(_("valid until"))
    source = models.CharField(_("source"), max_length=8, choices=AssessmentSource.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    customer_signed = models.BooleanField(_("signed by the customer"), default=False)
    qualified_investor = models.BooleanField(_("qualified investor"), default=False)
    qualified_evidence = models.CharField(
        _("qualified-investor evidence"), max_length=200, blank=True
    )
    #: Aged 65 or over on the day (2011 Measures Art. 28: take age and experience into account).
    elderly = models.BooleanField(_("aged 65 or over"), default=False)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("risk assessment")
        verbose_name_plural = _("risk assessments")
        ordering = ["customer", "-assessed_on", "-id"]
        indexes = [models.Index(fields=["customer", "-assessed_on"])]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "assessed_on", "source"], name="uniq_assessment_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.tolerance} {self.assessed_on}"


class SuggestionStatus(models.TextChoices):
    OPEN = choice(SUGGESTION_STATUSES, "OPEN")
    TAKEN = choice(SUGGESTION_STATUSES, "TAKEN")
    DECLINED = choice(SUGGESTION_STATUSES, "DECLINED")
    NOT_NOW = choice(SUGGESTION_STATUSES, "NOT_NOW")


class DeclineReason(models.TextChoices):
    NO_NEED = choice(DECLINE_REASONS, "NO_NEED")
    RATE = choice(DECLINE_REASONS, "RATE")
    RISK = choice(DECLINE_REASONS, "RISK")
    LIQUIDITY = choice(DECLINE_REASONS, "LIQUIDITY")
    COMPETITOR = choice(DECLINE_REASONS, "COMPETITOR")
    OTHER = choice(DECLINE_REASONS, "OTHER")


class Suggestion(models.Model):
    """A next-best product for a customer on a scoring day, with its reason (a code and its
    parameters, rendered in the reader's language) and the contribution it is expected to add."""

    customer = models.ForeignKey(
        "customers.Customer", models.CASCADE, related_name="suggestions", verbose_name=_("customer")
    )
    product = models.ForeignKey(
        "products.Product", models.PROTECT, related_name="suggestions", verbose_name=_("product")
    )
    as_of = models.DateField(_("as of"))
    rank = models.PositiveSmallIntegerField(_("rank"))
    reason_code = models.CharField(_("reason"), max_length=40)
    reason_params = models.JSONField(_("reason details"), default=dict, blank=True)
    expected_gain = models.DecimalField(
        _("expected contribution gained (yuan a year)"), max_digits=18, decimal_places=2
    )
    #: Money coming free (a maturity, a large inflow) that the suggestion is for, if any.
    money_free = models.DecimalField(
        _("money coming free"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    status = models.CharField(
        _("status"), max_length=10, choices=SuggestionStatus.choices, default=SuggestionStatus.OPEN
    )
    decline_reason = models.CharField(
        _("reason declined"), max_length=12, choices=DeclineReason.choices, blank=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("product suggestion")
        verbose_name_plural = _("product suggestions")
        ordering = ["customer", "-as_of", "rank"]
        indexes = [
            models.Index(fields=["customer", "-as_of"]),
            models.Index(fields=["product", "status"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "product", "as_of"], name="uniq_suggestion_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.product_id} {self.as_of}"


class Questionnaire(models.Model):
    """A version of the risk-tolerance questionnaire, edited in the admin; the active one is used
    for new assessments (else ``config/questionnaire.toml``). Checked by the same parser as the
    file (:func:`qiao.suitability.questionnaire.parse_questionnaire`)."""

    name = models.CharField(_("name"), max_length=40, unique=True)
    definition = models.JSONField(_("questionnaire"))
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("risk questionnaire")
        verbose_name_plural = _("risk questionnaires")

    def __str__(self) -> str:
        return self.name
