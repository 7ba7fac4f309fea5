"""Programmatic maintenance (seed 004 L46–122): cadence, the daily work list, contacts, tasks,
prospect cards, marketing plans, referrals and complaints.

Business rules live in :mod:`qiao.engagement.services` (records) and :mod:`qiao.engagement.worklist`
(the nightly work list); reads in :mod:`qiao.engagement.selectors`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qiao.core.choices import choice
from qiao.core.vocab import CLOSE_REASONS, CONTACT_CHANNELS


class Requirement(models.TextChoices):
    CALL = "CALL", _("Call")
    MEETING = "MEETING", _("Face-to-face meeting")
    HEAD_MEETING = "HEAD_MEETING", _("Meeting with the outlet head")


class CadenceRule(models.Model):
    """How often a customer of a tier must be contacted; seeded from config/cadence.toml."""

    tier = models.CharField(_("tier"), max_length=20, db_index=True)
    requirement = models.CharField(_("requirement"), max_length=16, choices=Requirement.choices)
    interval_days = models.PositiveIntegerField(
        _("interval (days)"),
        validators=[MinValueValidator(1)],
        help_text=_("The longest gap allowed between two such contacts."),
    )
    lead_days = models.PositiveIntegerField(
        _("lead (days)"),
        default=3,
        help_text=_("The work-list item appears this many days before the contact falls due."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("cadence rule")
        verbose_name_plural = _("cadence rules")
        ordering = ["tier", "requirement"]
        constraints = [
            models.UniqueConstraint(fields=["tier", "requirement"], name="uniq_cadence_tier_req")
        ]

    def __str__(self) -> str:
        return f"{self.tier}: {self.get_requirement_display()} / {self.interval_days}d"


class Channel(models.TextChoices):
    PHONE = choice(CONTACT_CHANNELS, "PHONE")
    MEETING = choice(CONTACT_CHANNELS, "MEETING")
    VISIT = choice(CONTACT_CHANNELS, "VISIT")
    SMS = choice(CONTACT_CHANNELS, "SMS")
    WECHAT = choice(CONTACT_CHANNELS, "WECHAT")
    EMAIL = choice(CONTACT_CHANNELS, "EMAIL")
    OUTLET = choice(CONTACT_CHANNELS, "OUTLET")


#: Channels that meet each cadence requirement (a meeting is also a call; see docs/engagement.md).
REQUIREMENT_CHANNELS: dict[str, tuple[str, ...]] = {
    Requirement.CALL: (Channel.PHONE, Channel.MEETING, Channel.VISIT, Channel.OUTLET),
    Requirement.MEETING: (Channel.MEETING, Channel.VISIT),
    Requirement.HEAD_MEETING: (Channel.MEETING, Channel.VISIT),
}
#: Personal channels: a contact through them closes every kind of open item of the customer.
PERSONAL_CHANNELS = (Channel.PHONE, Channel.MEETING, Channel.VISIT, Channel.OUTLET)


class Contact(models.Model):
    """A call, meeting, visit or message, recorded in the seed's own structure.

    Phone appointments follow 问候 → 介绍 → 理由 → 预约建议 → 致谢 (seed 004 L106–110); meetings
    record the four principles of L114–122.
    """

    customer = models.ForeignKey(
        "customers.Customer", models.CASCADE, related_name="contacts", verbose_name=_("customer")
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="contacts", verbose_name=_("staff")
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    at = models.DateTimeField(_("when"))
    summary = models.TextField(_("summary"), blank=True)
    with_outlet_head = models.BooleanField(_("with the outlet head"), default=False)
    # Phone appointment, seed 004 L106.
    step_greeting = models.BooleanField(_("greeting (问候)"), default=False)
    step_introduction = models.BooleanField(_("introduction (介绍)"), default=False)
    step_reason = models.BooleanField(_("reason for the call (理由)"), default=False)
    step_proposal = models.BooleanField(_("proposed appointment (预约建议)"), default=False)
    step_thanks = models.BooleanField(_("thanks (致谢)"), default=False)
    appointment_at = models.DateTimeField(_("appointment"), null=True, blank=True, db_index=True)
    appointment_place = models.CharField(_("appointment place"), max_length=200, blank=True)
    # Meeting, seed 004 L116–122.
    needs_found = models.TextField(_("real needs and main problems found"), blank=True)
    solved_on_spot = models.TextField(_("problems solved on the spot"), blank=True)
    escalated = models.TextField(_("problems escalated (to report back)"), blank=True)
    plan_proposed = models.TextField(_("service plan proposed"), blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    next_step_due = models.DateField(_("next step due"), null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction (1–5)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["customer", "at"]),
            models.Index(fields=["staff", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.at:%Y-%m-%d %H:%M}"

    @property
    def phone_steps(self) -> list[tuple[str, bool]]:
        return [
            (
                str(getattr(Contact._meta.get_field(name), "verbose_name", name)),
                bool(getattr(self, name)),
            )
            for name in PHONE_STEPS
        ]


PHONE_STEPS = ("step_greeting", "step_introduction", "step_reason", "step_proposal", "step_thanks")
MEETING_FIELDS = ("needs_found", "solved_on_spot", "escalated", "plan_proposed", "outcome")


class Task(models.Model):
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="tasks", verbose_name=_("staff")
    )
    customer = models.ForeignKey(
        "customers.Customer",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("customer"),
    )
    contact = models.ForeignKey(
        Contact,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("from contact"),
    )
    title = models.CharField(_("title"), max_length=200)
    due = models.DateField(_("due"), null=True, blank=True)
    done = models.BooleanField(_("done"), default=False)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["done", "due", "id"]
        indexes = [models.Index(fields=["staff", "done", "due"])]

    def __str__(self) -> str:
        return self.title


class WorkKind(models.TextChoices):
    CONTACT_DUE = "CONTACT_DUE", _("Contact due")
    LARGE_INFLOW = "LARGE_INFLOW", _("Large inflow")
    LARGE_OUTFLOW = "LARGE_OUTFLOW", _("Large outflow")
    MATURITY = "MATURITY", _("Maturity")
    BIRTHDAY = "BIRTHDAY", _("Birthday")
    FESTIVAL = "FESTIVAL", _("Festival")
    TIER_DOWN = "TIER_DOWN", _("Tier down")
    ATTRITION_UP = "ATTRITION_UP", _("Attrition risk up")
    REFERRAL = "REFERRAL", _("Referral waiting")
    PROSPECT_REVIEW = "PROSPECT_REVIEW", _("Prospect review")
    COMPLAINT_DUE = "COMPLAINT_DUE", _("Complaint deadline")
    SHELF = "SHELF", _("From the product shelf")
    ASSESS_EXPIRING = "ASSESS_EXPIRING", _("Risk assessment expiring")
    REASSESS = "REASSESS", _("Re-assess risk tolerance")
    MONEY_FREE = "MONEY_FREE", _("Money coming free: next-best product")
    CAMPAIGN_CALL = "CAMPAIGN_CALL", _("Campaign call")
    CAMPAIGN_VISIT = "CAMPAIGN_VISIT", _("Campaign: invite to the outlet")
    KEY_ACCOUNT_VISIT = "KA_VISIT", _("Key-account visit due")
    WARNING_REVIEW = "WARNING_REVIEW", _("Early-warning review")
    EXIT_PLAN = "EXIT_PLAN", _("Exit plan required")
    REDLIST_SEEN = "REDLIST_SEEN", _("Red-listed customer transacted at an outlet")
    EXPOSURE_BREACH = "EXPOSURE_BREACH", _("Group exposure over its limit")
    EBANK_OFFER = "EBANK_OFFER", _("Payroll customer without e-banking")


class WorkStatus(models.TextChoices):
    OPEN = "OPEN", _("Open")
    DONE = "DONE", _("Done")
    EXPIRED = "EXPIRED", _("Expired")


class CloseReason(models.TextChoices):
    """Why the CM closed an item without logging a contact (``CLOSE_REASONS``)."""

    MOOT = choice(CLOSE_REASONS, "MOOT")
    DONE_ELSEWHERE = choice(CLOSE_REASONS, "DONE_ELSEWHERE")
    DECLINED = choice(CLOSE_REASONS, "DECLINED")


class WorkItem(models.Model):
    """One line of a CM's daily work list.

    ``cause_key`` names the cause (``MATURITY:<account>:<date>`` …); it is unique among open items,
    so regenerating the list never duplicates an item. The reason is stored as a code and parameters
    and rendered in the reader's language; ``reason_text`` is a plain English fallback.
    """

    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="work_items", verbose_name=_("staff")
    )
    customer = models.ForeignKey(
        "customers.Customer",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="work_items",
        verbose_name=_("customer"),
    )
    prospect = models.ForeignKey(
        "engagement.Prospect",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="work_items",
        verbose_name=_("prospect"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=WorkKind.choices)
    reason_code = models.CharField(_("reason code"), max_length=40)
    reason_params = models.JSONField(_("reason parameters"), default=dict, blank=True)
    reason_text = models.CharField(_("reason (English)"), max_length=300, blank=True)
    value_at_stake = models.DecimalField(
        _("value at stake"), max_digits=18, decimal_places=2, default=0
    )
    due = models.DateField(_("due"))
    list_day = models.DateField(_("on the list of"), db_index=True)
    expires_on = models.DateField(_("moot after"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=WorkStatus.choices, default=WorkStatus.OPEN
    )
    cause_key = models.CharField(_("cause"), max_length=120)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by_contact = models.ForeignKey(
        Contact,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="closed_items",
        verbose_name=_("closed by contact"),
    )
    # A database default too: the work list's PostgreSQL COPY names its columns and leaves this out.
    close_reason = models.CharField(
        _("closed because"),
        max_length=16,
        choices=CloseReason.choices,
        blank=True,
        default="",
        db_default="",
    )

    class Meta:
        verbose_name = _("work-list item")
        verbose_name_plural = _("work-list items")
        ordering = ["-value_at_stake", "due", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cause_key"], condition=Q(status="OPEN"), name="uniq_open_work_cause"
            )
        ]
        indexes = [
            models.Index(fields=["staff", "status", "-value_at_stake"]),
            models.Index(fields=["customer", "status"]),
            models.Index(fields=["status", "kind"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.cause_key}"

    @property
    def reason(self) -> str:
        from qiao.engagement.reasons import render_reason

        return render_reason(self.reason_code, self.reason_params)


class ProspectKind(models.TextChoices):
    PERSON = "PERSON", _("Person")
    COMPANY = "COMPANY", _("Company")


class ProspectClass(models.TextChoices):
    SALARIED = "SALARIED", _("Salaried, good income prospects")
    BUSINESS_OWNER = "BUSINESS_OWNER", _("Business owner")
    PROFESSIONAL = "PROFESSIONAL", _("Professional")
    RETIREE = "RETIREE", _("Retiree")
    SME = "SME", _("Small or medium enterprise")
    LARGE_COMPANY = "LARGE_COMPANY", _("Large company")
    INSTITUTION = "INSTITUTION", _("Public institution")
    OTHER = "OTHER", _("Other")


class ProspectSource(models.TextChoices):
    TELLER_REFERRAL = "TELLER_REFERRAL", _("Referred by a teller or lobby manager")
    POLICY_CHANGE = "POLICY_CHANGE", _("Policy change")
    ACQUAINTANCE = "ACQUAINTANCE", _("Introduced by an acquaintance")
    DIRECTORY = "DIRECTORY", _("Directories and public information")
    OTHER = "OTHER", _("Other")


class ProspectGrade(models.TextChoices):
    A = "A", _("A")
    B = "B", _("B")
    C = "C", _("C")


class ProspectStatus(models.TextChoices):
    ACTIVE = "ACTIVE", _("Active")
    CONVERTED = "CONVERTED", _("Became a customer")
    DROPPED = "DROPPED", _("Dropped")


class Prospect(models.Model):
    """A prospect card (潜在客户资料卡, seed 004 L44): numbered, classified, graded A/B/C."""

    number = models.CharField(_("card number"), max_length=20, unique=True, editable=False)
    kind = models.CharField(_("person or company"), max_length=8, choices=ProspectKind.choices)
    name = models.CharField(_("name"), max_length=200)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)
    classification = models.CharField(
        _("classification"),
        max_length=16,
        choices=ProspectClass.choices,
        default=ProspectClass.OTHER,
    )
    source = models.CharField(_("source"), max_length=16, choices=ProspectSource.choices)
    source_note = models.CharField(_("source detail"), max_length=200, blank=True)
    expected_value = models.DecimalField(
        _("expected value (yuan)"),
        max_digits=18,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
        help_text=_("Funds the prospect could bring within a year."),
    )
    likelihood = models.PositiveSmallIntegerField(
        _("likelihood (%)"),
        default=20,
        validators=[MaxValueValidator(100)],
        help_text=_("Chance of becoming a customer."),
    )
    grade = models.CharField(_("grade"), max_length=1, choices=ProspectGrade.choices)
    notes = models.TextField(_("notes"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="prospects", verbose_name=_("owner")
    )
    unit = models.ForeignKey(
        "org.OrgUnit",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("outlet"),
    )
    next_review = models.DateField(_("next review"), db_index=True)
    last_reviewed = models.DateField(_("last reviewed"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ProspectStatus.choices, default=ProspectStatus.ACTIVE
    )
    customer = models.ForeignKey(
        "customers.Customer",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="prospect_cards",
        verbose_name=_("customer"),
    )
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("prospect card")
        verbose_name_plural = _("prospect cards")
        ordering = ["grade", "next_review", "number"]
        indexes = [models.Index(fields=["owner", "status", "grade"])]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class GradeReason(models.TextChoices):
    CREATED = "CREATED", _("Card created")
    REVIEW = "REVIEW", _("Review")
    WEEKLY = "WEEKLY", _("Weekly regrading")
    CONVERTED = "CONVERTED", _("Became a customer")


class ProspectGradeChange(models.Model):
    prospect = models.ForeignKey(Prospect, models.CASCADE, related_name="grade_history")
    at = models.DateTimeField(_("when"), auto_now_add=True)
    day = models.DateField(_("day"))
    old_grade = models.CharField(_("from"), max_length=1, blank=True)
    new_grade = models.CharField(_("to"), max_length=1)
    expected_value = models.DecimalField(_("expected value"), max_digits=18, decimal_places=2)
    likelihood = models.PositiveSmallIntegerField(_("likelihood (%)"))
    reason = models.CharField(_("reason"), max_length=20, choices=GradeReason.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("prospect grade change")
        verbose_name_plural = _("prospect grade history")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.old_grade or '—'} → {self.new_grade} ({self.day})"


class PlanPeriod(models.TextChoices):
    ANNUAL = "ANNUAL", _("Annual")
    QUARTERLY = "QUARTERLY", _("Quarterly")
    MONTHLY = "MONTHLY", _("Monthly")


class PlanStatus(models.TextChoices):
    ACTIVE = "ACTIVE", _("Active")
    CLOSED = "CLOSED", _("Closed")


class Plan(models.Model):
    """A marketing plan (营销计划, seed 004 L96–110) for one customer or a saved group."""

    title = models.CharField(_("title"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="plans", verbose_name=_("owner")
    )
    customer = models.ForeignKey(
        "customers.Customer",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="plans",
        verbose_name=_("customer"),
    )
    group = models.ForeignKey(
        "customers.SavedGroup",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="plans",
        verbose_name=_("customer group"),
    )
    period = models.CharField(_("period"), max_length=10, choices=PlanPeriod.choices)
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))
    products = models.ManyToManyField(
        "products.Product",
        blank=True,
        related_name="plans",
        verbose_name=_("products"),
        help_text=_("Leave empty to measure all the customer's assets (AUM)."),
    )
    target_amount = models.DecimalField(
        _("target by period end (yuan)"),
        max_digits=18,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text=_("The increase in balances the plan aims for by its end."),
    )
    baseline_amount = models.DecimalField(
        _("baseline at start (yuan)"), max_digits=18, decimal_places=2, default=0
    )
    resources_people = models.TextField(_("resources: people"), blank=True)
    resources_money = models.TextField(_("resources: money"), blank=True)
    resources_materials = models.TextField(_("resources: materials"), blank=True)
    methods = models.TextField(_("marketing methods"), blank=True)
    competition = models.TextField(_("competition"), blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=PlanStatus.choices, default=PlanStatus.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("marketing plan")
        verbose_name_plural = _("marketing plans")
        ordering = ["-start", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(customer__isnull=False) & Q(group__isnull=True))
                | (Q(customer__isnull=True) & Q(group__isnull=False)),
                name="plan_customer_xor_group",
            )
        ]

    def __str__(self) -> str:
        return self.title


class PlanMilestone(models.Model):
    """Progress control (进度控制, L108): by ``date`` the plan should have reached ``target``."""

    plan = models.ForeignKey(Plan, models.CASCADE, related_name="milestones")
    date = models.DateField(_("date"))
    target = models.DecimalField(_("target (yuan)"), max_digits=18, decimal_places=2)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date}: {self.target}"


class ReferralReason(models.TextChoices):
    LARGE_TRANSACTION = "LARGE_TRANSACTION", _("Large transaction")
    PRODUCT_INTEREST = "PRODUCT_INTEREST", _("Asked about a product")
    LIFE_EVENT = "LIFE_EVENT", _("Life event")
    OTHER = "OTHER", _("Other")


class ReferralStatus(models.TextChoices):
    NEW = "NEW", _("New")
    CONTACTED = "CONTACTED", _("Contacted")
    CONVERTED = "CONVERTED", _("Converted")
    CLOSED = "CLOSED", _("Closed")


class Referral(models.Model):
    """A referral (转介绍): a teller, lobby manager or customer points a CM at someone."""

    referrer_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals_made",
        verbose_name=_("referred by (staff)"),
    )
    referrer_customer = models.ForeignKey(
        "customers.Customer",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="referrals_made",
        verbose_name=_("referred by (customer)"),
    )
    to_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        related_name="referrals_received",
        verbose_name=_("customer manager"),
    )
    customer = models.ForeignKey(
        "customers.Customer",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="referrals",
        verbose_name=_("customer"),
    )
    prospect = models.ForeignKey(
        Prospect,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="referrals",
        verbose_name=_("prospect"),
    )
    reason = models.CharField(_("reason"), max_length=20, choices=ReferralReason.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    amount = models.DecimalField(
        _("amount concerned (yuan)"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ReferralStatus.choices, default=ReferralStatus.NEW
    )
    created_at = models.DateTimeField(_("referred"), auto_now_add=True)
    contacted_at = models.DateTimeField(_("contacted"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    credited = models.BooleanField(_("referrer credited"), default=False)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["to_staff", "status"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_reason_display()}"


class ComplaintStatus(models.TextChoices):
    OPEN = "OPEN", _("Open")
    IN_PROGRESS = "IN_PROGRESS", _("In progress")
    RESOLVED = "RESOLVED", _("Resolved")


class Complaint(models.Model):
    customer = models.ForeignKey(
        "customers.Customer", models.CASCADE, related_name="complaints", verbose_name=_("customer")
    )
    received_at = models.DateTimeField(_("received"))
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    deadline = models.DateField(_("deadline"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="complaints", verbose_name=_("owner")
    )
    status = models.CharField(
        _("status"), max_length=12, choices=ComplaintStatus.choices, default=ComplaintStatus.OPEN
    )
    resolution = models.TextField(_("resolution"), blank=True)
    service_recovery = models.TextField(
        _("service recovery"),
        blank=True,
        help_text=_("What was done to win the customer back (apology, gesture, follow-up)."),
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["status", "deadline", "-id"]

    def __str__(self) -> str:
        return self.subject
