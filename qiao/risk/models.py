"""Key accounts and their teams, early-warning states and their transitions, exit plans.

docs/keyaccounts.md describes the rules; the services that write these tables are in
``keyaccounts.py``, ``warnings.py`` and ``exitplans.py`` (each checks a permission and writes the
audit trail), the reads in ``selectors.py``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qiao.core import vocab
from qiao.core.choices import choice

_MONEY: dict[str, Any] = {"max_digits": 18, "decimal_places": 2}


class KeyAccountGrade(models.TextChoices):
    KA1 = choice(vocab.KEY_ACCOUNT_GRADES, "KA1")
    KA2 = choice(vocab.KEY_ACCOUNT_GRADES, "KA2")
    KA3 = choice(vocab.KEY_ACCOUNT_GRADES, "KA3")


class KeyAccountSource(models.TextChoices):
    RULE = choice(vocab.KEY_ACCOUNT_SOURCES, "RULE")
    MANUAL = choice(vocab.KEY_ACCOUNT_SOURCES, "MANUAL")


class KeyAccountStatus(models.TextChoices):
    PROPOSED = choice(vocab.KEY_ACCOUNT_STATUSES, "PROPOSED")
    APPROVED = choice(vocab.KEY_ACCOUNT_STATUSES, "APPROVED")
    REJECTED = choice(vocab.KEY_ACCOUNT_STATUSES, "REJECTED")
    REMOVED = choice(vocab.KEY_ACCOUNT_STATUSES, "REMOVED")


class TeamRole(models.TextChoices):
    LEAD = choice(vocab.KEY_ACCOUNT_ROLES, "LEAD")
    PRODUCT_SPECIALIST = choice(vocab.KEY_ACCOUNT_ROLES, "PRODUCT_SPECIALIST")
    RISK_MANAGER = choice(vocab.KEY_ACCOUNT_ROLES, "RISK_MANAGER")
    BACKUP_CM = choice(vocab.KEY_ACCOUNT_ROLES, "BACKUP_CM")


class WarningStateCode(models.TextChoices):
    NORMAL = choice(vocab.WARNING_STATES, "NORMAL")
    WATCH = choice(vocab.WARNING_STATES, "WATCH")
    DOUBTFUL = choice(vocab.WARNING_STATES, "DOUBTFUL")
    EXIT = choice(vocab.WARNING_STATES, "EXIT")


class Decision(models.TextChoices):
    PROPOSED = choice(vocab.WARNING_DECISIONS, "PROPOSED")
    CONFIRMED = choice(vocab.WARNING_DECISIONS, "CONFIRMED")
    REJECTED = choice(vocab.WARNING_DECISIONS, "REJECTED")


class ExitStepKind(models.TextChoices):
    REDUCE_LIMIT = choice(vocab.EXIT_STEP_KINDS, "REDUCE_LIMIT")
    STOP_DRAWDOWN = choice(vocab.EXIT_STEP_KINDS, "STOP_DRAWDOWN")
    CALL_COLLATERAL = choice(vocab.EXIT_STEP_KINDS, "CALL_COLLATERAL")
    RECOVER = choice(vocab.EXIT_STEP_KINDS, "RECOVER")


class ExitPlanStatus(models.TextChoices):
    OPEN = choice(vocab.EXIT_PLAN_STATUSES, "OPEN")
    CLOSED = choice(vocab.EXIT_PLAN_STATUSES, "CLOSED")


class ExitOutcome(models.TextChoices):
    RECOVERED = choice(vocab.EXIT_OUTCOMES, "RECOVERED")
    WRITTEN_OFF = choice(vocab.EXIT_OUTCOMES, "WRITTEN_OFF")


def _staff_fk(name: Any, *, null: bool = True) -> Any:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=null,
        blank=null,
        related_name="+",
        verbose_name=name,
    )


class KeyAccount(models.Model):
    """A customer on a year's key-account list (大客户名单, seed 001 L153: set at the start of
    the year and normally fixed for it). Proposed by the rules or by a CM, decided by the outlet
    head of the customer's outlet (never the proposer). After the year is frozen
    (:class:`KeyAccountYear`) an approved entry leaves the list only by an approved removal."""

    customer = models.ForeignKey(
        "customers.Customer",
        models.CASCADE,
        related_name="key_accounts",
        verbose_name=_("customer"),
    )
    year = models.PositiveSmallIntegerField(_("year"))
    grade = models.CharField(_("grade"), max_length=4, choices=KeyAccountGrade.choices)
    source = models.CharField(_("source"), max_length=6, choices=KeyAccountSource.choices)
    strategic = models.BooleanField(_("strategic customer"), default=False)
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=KeyAccountStatus.choices,
        default=KeyAccountStatus.PROPOSED,
    )
    #: The figures the designation rested on (contribution, credit limit; amounts as text).
    basis = models.JSONField(_("basis"), default=dict, blank=True)
    note = models.CharField(_("why"), max_length=200, blank=True)
    proposed_by = _staff_fk(_("proposed by"))
    proposed_at = models.DateTimeField(_("proposed at"))
    decided_by = _staff_fk(_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("note"), max_length=200, blank=True)
    #: A removal asked for after the year was frozen (approved by the outlet head).
    removal_proposed_by = _staff_fk(_("removal proposed by"))
    removal_proposed_at = models.DateTimeField(_("removal proposed at"), null=True, blank=True)
    removal_note = models.CharField(_("why remove"), max_length=200, blank=True)
    #: The account plan: one of the marketing plans (qiao.engagement), not a model of its own.
    plan = models.ForeignKey(
        "engagement.Plan",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account plan"),
    )

    class Meta:
        verbose_name = _("key account")
        verbose_name_plural = _("key accounts")
        ordering = ["-year", "grade", "customer"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "year"],
                condition=Q(status__in=["PROPOSED", "APPROVED"]),
                name="uniq_key_account_open",
            )
        ]
        indexes = [models.Index(fields=["year", "status"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.year} {self.grade}"


class KeyAccountYear(models.Model):
    """A year whose key-account list is frozen for one part of the bank: from then on, changes
    to the key accounts of the customers of ``unit``'s subtree need approval. An outlet head
    freezes their outlet's list; ``unit`` empty: the whole bank (a head-office freeze, by a
    bank-wide member of staff granted ``org.approve_key_accounts``)."""

    year = models.PositiveSmallIntegerField(_("year"))
    unit = models.ForeignKey(
        "org.OrgUnit",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("for the customers of"),
    )
    frozen_at = models.DateTimeField(_("frozen at"))
    frozen_by = _staff_fk(_("frozen by"))
    accounts = models.PositiveIntegerField(_("key accounts"), default=0)

    class Meta:
        verbose_name = _("frozen key-account year")
        verbose_name_plural = _("frozen key-account years")
        ordering = ["-year"]
        constraints = [
            models.UniqueConstraint(fields=["year", "unit"], name="uniq_frozen_year_unit"),
            models.UniqueConstraint(
                fields=["year"], condition=Q(unit__isnull=True), name="uniq_frozen_year_bank"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.unit_id or ''}".strip()


class KeyAccountMember(models.Model):
    """A member of a key account's team: one lead (a senior CM), and product specialists, risk
    managers and back-up CMs (seed 003 L51; seed 001 L129, the virtual team)."""

    key_account = models.ForeignKey(
        KeyAccount, models.CASCADE, related_name="members", verbose_name=_("key account")
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        related_name="key_account_roles",
        verbose_name=_("staff member"),
    )
    role = models.CharField(_("role in the team"), max_length=20, choices=TeamRole.choices)
    added_by = _staff_fk(_("added by"))
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("key-account team member")
        verbose_name_plural = _("key-account team members")
        ordering = ["key_account", "role", "staff"]
        constraints = [
            models.UniqueConstraint(fields=["key_account", "staff"], name="uniq_team_member"),
            models.UniqueConstraint(
                fields=["key_account"], condition=Q(role="LEAD"), name="uniq_team_lead"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key_account_id} {self.staff_id} {self.role}"


class WarningState(models.Model):
    """A customer's current early-warning state (正常 / 关注 / 可疑 / 退出) and since when; a
    customer without a row is NORMAL. Also the baselines the next evaluations compare with."""

    customer = models.OneToOneField(
        "customers.Customer",
        models.CASCADE,
        related_name="warning_state",
        verbose_name=_("customer"),
    )
    state = models.CharField(
        _("warning state"),
        max_length=8,
        choices=WarningStateCode.choices,
        default=WarningStateCode.NORMAL,
    )
    since = models.DateField(_("since"))
    deposit_base = models.DecimalField(_("deposits at the baseline"), null=True, **_MONEY)
    utilisation_base = models.FloatField(_("credit used at the baseline (%)"), null=True)
    base_on = models.DateField(_("baseline taken on"), null=True)

    class Meta:
        verbose_name = _("early-warning state")
        verbose_name_plural = _("early-warning states")
        indexes = [models.Index(fields=["state", "since"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.state}"


class WarningTransition(models.Model):
    """One change of state, proposed by the rules (``proposed_by`` empty) or by staff, and
    confirmed or rejected by a risk manager; every one is kept (the state machine's history).

    ``reasons``: ``[{"code": …, "params": {…}}]`` (codes of ``WARNING_REASONS``, rendered in the
    reader's language by :func:`qiao.risk.reasons.render_reasons`)."""

    customer = models.ForeignKey(
        "customers.Customer",
        models.CASCADE,
        related_name="warning_transitions",
        verbose_name=_("customer"),
    )
    from_state = models.CharField(_("from"), max_length=8, choices=WarningStateCode.choices)
    to_state = models.CharField(_("to"), max_length=8, choices=WarningStateCode.choices)
    reasons = models.JSONField(_("reasons"), default=list)
    as_of = models.DateField(_("evaluated on"))
    proposed_by = _staff_fk(_("proposed by"))
    proposed_at = models.DateTimeField(_("proposed at"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=9, choices=Decision.choices, default=Decision.PROPOSED
    )
    decided_by = _staff_fk(_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("early-warning change")
        verbose_name_plural = _("early-warning changes")
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(status="PROPOSED"),
                name="uniq_open_warning_proposal",
            )
        ]
        indexes = [
            models.Index(fields=["status", "proposed_at"]),
            models.Index(fields=["customer", "proposed_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.from_state}→{self.to_state} {self.status}"


class ExitPlan(models.Model):
    """An exit plan (退出方案) for a customer in 可疑 or 退出: steps with dates, a target exposure,
    and the exposure measured after every credit load; it closes when the exposure is zero."""

    customer = models.ForeignKey(
        "customers.Customer",
        models.CASCADE,
        related_name="exit_plans",
        verbose_name=_("customer"),
    )
    status = models.CharField(
        _("status"), max_length=6, choices=ExitPlanStatus.choices, default=ExitPlanStatus.OPEN
    )
    start = models.DateField(_("start"))
    target_date = models.DateField(_("exit by"))
    target_exposure = models.DecimalField(_("target exposure"), default=0, **_MONEY)
    start_exposure = models.DecimalField(_("exposure at the start"), **_MONEY)
    exposure = models.DecimalField(_("exposure now"), **_MONEY)
    measured_on = models.DateField(_("measured on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    #: How it ended (a closed plan): recovered, or what was left written off (a loan load).
    outcome = models.CharField(
        _("how it ended"), max_length=11, choices=ExitOutcome.choices, blank=True
    )
    #: What was written off of the customer's loans since the plan started (the loan loads).
    written_off = models.DecimalField(_("written off"), default=0, **_MONEY)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = _staff_fk(_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("exit plan")
        verbose_name_plural = _("exit plans")
        ordering = ["status", "target_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(status="OPEN"), name="uniq_open_exit_plan"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.status}"

    @property
    def progress_pct(self) -> int:
        """How far the exposure has come down from the start towards the target (0–100)."""
        span = self.start_exposure - self.target_exposure
        if span <= 0:
            return 100 if self.exposure <= self.target_exposure else 0
        done = (self.start_exposure - self.exposure) / span * 100
        return int(max(Decimal(0), min(Decimal(100), done)))


class ExitStep(models.Model):
    plan = models.ForeignKey(
        ExitPlan, models.CASCADE, related_name="steps", verbose_name=_("exit plan")
    )
    kind = models.CharField(_("step"), max_length=16, choices=ExitStepKind.choices)
    due = models.DateField(_("due"))
    done_on = models.DateField(_("done on"), null=True, blank=True)
    done_by = _staff_fk(_("done by"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("exit step")
        verbose_name_plural = _("exit steps")
        ordering = ["plan", "due", "id"]

    def __str__(self) -> str:
        return f"{self.plan_id} {self.kind}"
