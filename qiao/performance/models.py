"""Targets and computed scorecards (docs/reports.md, "Targets" and "Scorecards").

A :class:`Target` is a value to reach for one measure, one period (a year, quarter or month) and
one subject: a staff member, or a unit (an outlet, a sub-branch, the bank; a team is its unit:
Qiao keeps no team apart from the organisation tree). Targets are entered on the page, uploaded
(the ``targets`` extract) or made by splitting a longer period's or a unit's target.

A :class:`ScorecardRun` keeps the scorecards of every CM for one period as of one date, so a page
does not read the lake again until the data, the targets or the configuration change.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qiao.analytics.scorecard import MEASURE_CODES

#: The measures' names, by code (their definitions: qiao.analytics.scorecard, docs/reports.md).
MEASURE_LABELS = {
    "aum_avg": _("AUM (daily average)"),
    "deposits": _("Deposits (daily average)"),
    "loans": _("Loans"),
    "fee_income": _("Fee income"),
    "new_customers": _("New customers"),
    "products_per_customer": _("Products per customer"),
    "contacts": _("Contacts"),
    "coverage": _("Coverage"),
    "retention": _("Retention"),
    "satisfaction": _("Satisfaction"),
}
assert tuple(MEASURE_LABELS) == MEASURE_CODES
MEASURE_CHOICES = list(MEASURE_LABELS.items())


class PeriodKind(models.TextChoices):
    YEAR = "YEAR", _("Year")
    QUARTER = "QUARTER", _("Quarter")
    MONTH = "MONTH", _("Month")


class TargetSource(models.TextChoices):
    ENTERED = "ENTERED", _("Entered")
    UPLOADED = "UPLOADED", _("Uploaded")
    SPLIT = "SPLIT", _("Split from a larger target")


class Target(models.Model):
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="targets",
        verbose_name=_("staff member"),
    )
    unit = models.ForeignKey(
        "org.OrgUnit",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="targets",
        verbose_name=_("unit"),
    )
    period_kind = models.CharField(_("period"), max_length=8, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    measure = models.CharField(_("measure"), max_length=24, choices=MEASURE_CHOICES)
    value = models.DecimalField(_("target"), max_digits=20, decimal_places=4)
    source = models.CharField(
        _("source"), max_length=8, choices=TargetSource.choices, default=TargetSource.ENTERED
    )
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("set by"),
    )
    set_at = models.DateTimeField(_("set"), auto_now=True)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["period_start", "measure"]
        constraints = [
            models.CheckConstraint(
                condition=Q(staff__isnull=False, unit__isnull=True)
                | Q(staff__isnull=True, unit__isnull=False),
                name="performance_target_one_subject",
            ),
            models.UniqueConstraint(
                fields=["staff", "period_kind", "period_start", "measure"],
                condition=Q(staff__isnull=False),
                name="performance_target_one_per_staff",
            ),
            models.UniqueConstraint(
                fields=["unit", "period_kind", "period_start", "measure"],
                condition=Q(unit__isnull=False),
                name="performance_target_one_per_unit",
            ),
        ]
        indexes = [models.Index(fields=["period_kind", "period_start"])]

    def __str__(self) -> str:
        return f"{self.staff or self.unit} {self.measure} {self.period_start:%Y-%m}"


class ScorecardRun(models.Model):
    """Every CM's scorecard for one period as of one date (computed once, read by the pages)."""

    period = models.CharField(_("period"), max_length=8)
    as_of = models.DateField(_("as of"))
    #: what the scorecards were computed from: the targets' and the configuration's fingerprint
    stamp = models.CharField(max_length=64)
    computed_at = models.DateTimeField(_("computed"), auto_now_add=True)
    seconds = models.FloatField(default=0)
    cards = models.JSONField(default=list)

    class Meta:
        verbose_name = _("scorecard run")
        verbose_name_plural = _("scorecard runs")
        constraints = [
            models.UniqueConstraint(
                fields=["period", "as_of", "stamp"], name="performance_scorecard_run_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.period} @ {self.as_of}"
