"""Questionnaires, the invitations sent after contacts and complaint closures, and the answers
(docs/reports.md, "Satisfaction surveys").

A survey's questions are rows: a 1–5 scale (the CSAT question), a 0–10 scale (the NPS question),
a choice among options, or free text. The built-in surveys are written in
``qiao/surveys/config/*.toml`` (three languages each) and loaded by ``qiao manage surveys_load``
(the demo runs it); MANAGE_SURVEYS edits them on /surveys/.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _


def in_language(row: Any, field: str) -> str:
    """``field`` of ``row`` in the active language (``field``, ``field_zh_hans``, ``field_zh_hant``),
    falling back to English when a translation is empty."""
    lang = (translation.get_language() or "en").lower()
    suffix = (
        "_zh_hant"
        if lang in ("zh-hant", "zh-tw", "zh-hk")
        else "_zh_hans"
        if lang.startswith("zh")
        else ""
    )
    return str(getattr(row, field + suffix, "") or getattr(row, field, ""))


def option_label(option: dict[str, str]) -> str:
    """An option's label (``{"code", "en", "zh_hans", "zh_hant"}``) in the active language."""
    lang = (translation.get_language() or "en").lower()
    key = (
        "zh_hant"
        if lang in ("zh-hant", "zh-tw", "zh-hk")
        else "zh_hans"
        if lang.startswith("zh")
        else "en"
    )
    return str(option.get(key) or option.get("en") or option.get("code", ""))


class Purpose(models.TextChoices):
    CONTACT = "CONTACT", _("After a contact")
    COMPLAINT = "COMPLAINT", _("After a complaint is closed")
    QUESTIONNAIRE = "QUESTIONNAIRE", _("Questionnaire at the outlets")
    CAMPAIGN = "CAMPAIGN", _("Sent by a campaign")


class QuestionKind(models.TextChoices):
    SCALE = "SCALE", _("Scale 1 to 5")
    NPS = "NPS", _("Scale 0 to 10 (would recommend)")
    CHOICE = "CHOICE", _("Choice among options")
    TEXT = "TEXT", _("Free text")


class Measure(models.TextChoices):
    NONE = "", _("No measure")
    CSAT = "CSAT", _("Satisfaction (CSAT)")
    NPS = "NPS", _("Net promoter score (NPS)")
    COMMENT = "COMMENT", _("Comment")


class Trigger(models.TextChoices):
    CONTACT = "CONTACT", _("A contact")
    COMPLAINT = "COMPLAINT", _("A complaint closed")
    CAMPAIGN = "CAMPAIGN", _("A campaign")


class Source(models.TextChoices):
    ENTERED = "ENTERED", _("Entered by staff")
    LOADED = "LOADED", _("Loaded from a file")


class Survey(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_zh_hans = models.CharField(_("name (简体中文)"), max_length=200, blank=True)
    name_zh_hant = models.CharField(_("name (繁體中文)"), max_length=200, blank=True)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    invitation = models.CharField(_("invitation text"), max_length=300, blank=True)
    invitation_zh_hans = models.CharField(
        _("invitation text (简体中文)"), max_length=300, blank=True
    )
    invitation_zh_hant = models.CharField(
        _("invitation text (繁體中文)"), max_length=300, blank=True
    )
    active = models.BooleanField(_("active"), default=True)
    built_in = models.BooleanField(_("built in"), default=False, editable=False)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return in_language(self, "name")


class Question(models.Model):
    survey = models.ForeignKey(Survey, models.CASCADE, related_name="questions")
    code = models.SlugField(_("code"), max_length=40)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    kind = models.CharField(_("kind"), max_length=8, choices=QuestionKind.choices)
    measure = models.CharField(
        _("measure"), max_length=8, choices=Measure.choices, default=Measure.NONE, blank=True
    )
    text = models.CharField(_("question"), max_length=300)
    text_zh_hans = models.CharField(_("question (简体中文)"), max_length=300, blank=True)
    text_zh_hant = models.CharField(_("question (繁體中文)"), max_length=300, blank=True)
    #: For a choice: ``[{"code": "...", "en": "...", "zh_hans": "...", "zh_hant": "..."}]``.
    options = models.JSONField(_("options"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["survey", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "code"], name="survey_question_code"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return in_language(self, "text")

    @property
    def option_codes(self) -> list[str]:
        return [str(o["code"]) for o in self.options]

    def scale(self) -> range | None:
        if self.kind == QuestionKind.SCALE:
            return range(1, 6)
        if self.kind == QuestionKind.NPS:
            return range(0, 11)
        return None


class Invitation(models.Model):
    survey = models.ForeignKey(Survey, models.PROTECT, related_name="invitations")
    customer = models.ForeignKey(
        "customers.Customer", models.CASCADE, related_name="survey_invitations"
    )
    #: The staff member the answer speaks about: the contact's, the complaint's owner, or the
    #: customer's primary manager for a campaign.
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outlet = models.ForeignKey(
        "org.OrgUnit", models.SET_NULL, null=True, blank=True, related_name="+"
    )
    trigger = models.CharField(_("after"), max_length=10, choices=Trigger.choices)
    contact = models.ForeignKey(
        "engagement.Contact", models.SET_NULL, null=True, blank=True, related_name="+"
    )
    complaint = models.ForeignKey(
        "engagement.Complaint", models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=8)
    sent_on = models.DateField(_("sent on"), db_index=True)
    sent_at = models.DateTimeField(_("sent"))
    token = models.CharField(_("reference"), max_length=24, unique=True)
    file_name = models.CharField(_("file"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["customer", "sent_on"])]
        constraints = [
            models.UniqueConstraint(
                fields=["contact"], condition=Q(contact__isnull=False), name="survey_inv_contact"
            ),
            models.UniqueConstraint(
                fields=["complaint"],
                condition=Q(complaint__isnull=False),
                name="survey_inv_complaint",
            ),
        ]

    def __str__(self) -> str:
        return self.token


class Response(models.Model):
    survey = models.ForeignKey(Survey, models.PROTECT, related_name="responses")
    invitation = models.OneToOneField(
        Invitation, models.SET_NULL, null=True, blank=True, related_name="response"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="survey_responses",
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outlet = models.ForeignKey(
        "org.OrgUnit", models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answered_on = models.DateField(_("answered on"), db_index=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    #: The questionnaire's own number in a loaded file (the natural key of a load).
    reference = models.CharField(_("questionnaire number"), max_length=40, blank=True)
    valid = models.BooleanField(_("valid"), default=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        ordering = ["-answered_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "reference"],
                condition=~Q(reference=""),
                name="survey_response_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} {self.answered_on}"


class Answer(models.Model):
    response = models.ForeignKey(Response, models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, models.CASCADE, related_name="answers")
    number = models.SmallIntegerField(_("score"), null=True, blank=True)
    choice = models.CharField(_("choice"), max_length=40, blank=True)
    text = models.TextField(_("text"), blank=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="survey_answer_once"),
        ]

    def __str__(self) -> str:
        return f"{self.question_id}: {self.number if self.number is not None else self.choice}"
