"""Segments and campaigns (docs/campaigns.md, decision 0009).

A **segment** is a set of customers: dynamic (the customer list's filters plus the nightly scores,
resolved when used, within the scope of whoever uses it) or static (customer numbers uploaded).
A **campaign** has an aim, a segment, products, steps (a channel each; later steps reach those who
did not respond), message templates per step, variant and language, exclusions and a budget. It
is sent only after someone other than its author approves it. When it is planned, every eligible
customer becomes a :class:`Recipient`, in the treated or the control group (random, stratified by
tier, from a recorded seed); each treated recipient gets one :class:`Message` per step, whose
``external_id`` makes sending idempotent. :class:`Response` rows are what the following loads show
(replied, visited, bought, balance up, stayed).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from qiao.core.choices import choices
from qiao.core.vocab import CAMPAIGN_AIMS, CONSENT_CHANNELS

#: The channels a campaign step may use: the consent channels (a message needs the customer's
#: consent for it) and the outlet (an invitation made by the owning CM, who needs the phone
#: consent to call and invite).
CHANNEL_CHOICES = [*choices(CONSENT_CHANNELS), ("OUTLET", _("Invitation to the outlet"))]
AIM_CHOICES = choices(CAMPAIGN_AIMS)


class Segment(models.Model):
    class Kind(models.TextChoices):
        DYNAMIC = "DYNAMIC", _("Dynamic (filters and scores)")
        STATIC = "STATIC", _("Static (uploaded list)")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="segments", verbose_name=_("owner")
    )
    #: ``qiao.campaigns.segments.SegmentFilters.to_json()`` for a dynamic segment.
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    #: The count when last resolved, and for whom (a count depends on the reader's scope).
    last_count = models.PositiveIntegerField(_("customers"), null=True, blank=True)
    last_counted_at = models.DateTimeField(_("counted"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    """A customer of a static segment."""

    segment = models.ForeignKey(Segment, models.CASCADE, related_name="members")
    customer = models.ForeignKey("customers.Customer", models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "customer"], name="uniq_segment_member")
        ]

    def __str__(self) -> str:
        return f"{self.segment_id}: {self.customer_id}"


class CampaignStatus(models.TextChoices):
    DRAFT = "DRAFT", _("Draft")
    SUBMITTED = "SUBMITTED", _("Waiting for approval")
    APPROVED = "APPROVED", _("Approved")
    REFUSED = "REFUSED", _("Refused")
    SENDING = "SENDING", _("Sending")
    RUNNING = "RUNNING", _("Running")  # sent; responses are being measured
    FINISHED = "FINISHED", pgettext_lazy("campaign status", "Finished")
    STOPPED = "STOPPED", _("Stopped")


#: A campaign in these states is "running" for the exclusion "in another running campaign".
LIVE_STATUSES = (CampaignStatus.APPROVED, CampaignStatus.SENDING, CampaignStatus.RUNNING)


class Trigger(models.TextChoices):
    """The event of a standing (event-triggered) campaign, evaluated nightly after the scoring."""

    MATURITY = "MATURITY", _("Maturity in N days")
    BIRTHDAY = "BIRTHDAY", _("Birthday")
    FESTIVAL = "FESTIVAL", _("Festival")
    NEW_PRODUCT = "NEW_PRODUCT", _("New issue or rate change of a suited product")
    LARGE_INFLOW = "LARGE_INFLOW", _("Large inflow")
    TIER_UP = "TIER_UP", _("Tier up")
    ATTRITION_UP = "ATTRITION_UP", _("Attrition risk up")


class Campaign(models.Model):
    name = models.CharField(_("name"), max_length=120)
    aim = models.CharField(_("aim"), max_length=12, choices=AIM_CHOICES)
    segment = models.ForeignKey(
        Segment, models.PROTECT, related_name="campaigns", verbose_name=_("segment")
    )
    products = models.ManyToManyField(
        "products.Product", blank=True, related_name="campaigns", verbose_name=_("products")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        related_name="campaigns_authored",
        verbose_name=_("author"),
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns_approved",
        verbose_name=_("approved by"),
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.CharField(_("note"), max_length=300, blank=True)
    #: Sending starts on this day (at the first allowed hour); responses count for ``window_days``.
    starts_on = models.DateField(_("starts on"))
    window_days = models.PositiveSmallIntegerField(_("response window (days)"), default=30)
    budget = models.DecimalField(_("budget"), max_digits=14, decimal_places=2, default=0)
    control_pct = models.PositiveSmallIntegerField(_("control group (%)"), default=10)
    #: The control group's random seed, recorded when the campaign is planned.
    seed = models.BigIntegerField(_("random seed"), null=True, blank=True)
    exclude_complaints = models.BooleanField(_("exclude open complaints"), default=True)
    exclude_blacklist = models.BooleanField(_("exclude the blacklist"), default=True)
    exclude_contacted_days = models.PositiveSmallIntegerField(
        _("exclude contacted in the last N days"), default=7
    )
    exclude_other_campaigns = models.BooleanField(
        _("exclude customers in another running campaign"), default=True
    )
    #: A standing campaign: its trigger, evaluated nightly; blank for a one-off campaign.
    trigger = models.CharField(_("trigger"), max_length=12, choices=Trigger.choices, blank=True)
    trigger_days = models.PositiveSmallIntegerField(_("days (trigger)"), null=True, blank=True)
    #: What planning found: eligible, treated, control, excluded by reason (counts).
    plan_stats = models.JSONField(_("plan"), default=dict, blank=True)
    planned_at = models.DateTimeField(_("planned"), null=True, blank=True)
    #: The measured return (``qiao.campaigns.results``), kept when it is measured.
    results = models.JSONField(_("results"), default=dict, blank=True)
    measured_on = models.DateField(_("measured on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return self.name


class Step(models.Model):
    """One wave of a campaign: the first reaches every treated recipient; a follow-up step
    reaches, ``delay_days`` after the previous one, those who have not responded (and, with
    ``min_aum``, only the high-value ones — an SMS, then a CM's call)."""

    campaign = models.ForeignKey(Campaign, models.CASCADE, related_name="steps")
    number = models.PositiveSmallIntegerField(_("step"))
    channel = models.CharField(_("channel"), max_length=8, choices=CHANNEL_CHOICES)
    delay_days = models.PositiveSmallIntegerField(_("days after the previous step"), default=0)
    min_aum = models.DecimalField(
        _("only customers with AUM of at least"),
        max_digits=18,
        decimal_places=2,
        null=True,
        blank=True,
    )
    cost_per_contact = models.DecimalField(
        _("cost per contact"), max_digits=10, decimal_places=2, default=0
    )
    #: When the step was planned (its messages created) and finished sending.
    planned_at = models.DateTimeField(_("planned"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    #: A sender holds the step until this time and renews it as it goes; a restarted worker
    #: resumes a step whose holder has stopped renewing (killed).
    lease_until = models.DateTimeField(null=True, blank=True)
    #: Who holds the lease (a token per sender): a sender that finds another holder has lost
    #: the step and stops before it writes anything more (qiao.campaigns.sending).
    lease_holder = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("campaign step")
        verbose_name_plural = _("campaign steps")
        ordering = ["campaign", "number"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "number"], name="uniq_campaign_step")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.number} {self.channel}"


class Template(models.Model):
    """A step's message in one language for one A/B variant. ``{name}``, ``{product}``,
    ``{manager}``, ``{outlet}`` and ``{rate}`` are filled in per customer."""

    step = models.ForeignKey(Step, models.CASCADE, related_name="templates")
    variant = models.CharField(_("variant"), max_length=1, default="A")
    language = models.CharField(_("language"), max_length=8, default="zh-hans")
    subject = models.CharField(_("subject"), max_length=120, blank=True)
    body = models.TextField(_("message"))

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.UniqueConstraint(
                fields=["step", "variant", "language"], name="uniq_template_variant_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.step_id} {self.variant} {self.language}"


class Group(models.TextChoices):
    TREATED = "T", _("Treated")
    CONTROL = "C", _("Control")


# The rows a plan writes by the million (recipients, exclusions, messages) reference their
# customer, campaign, step, recipient and product without a database constraint
# (db_constraint=False): the planner writes only ids it has just read, in the transaction that
# holds the campaign, and deletes still cascade (Django's collector applies ``on_delete``, not
# the database). A constraint checks each new row at commit and locks its customer row: at a
# million recipients that was the largest part of planning (decision 0009, "Speed at a
# million").


class Recipient(models.Model):
    # No index of their own: (campaign, customer) and (customer, campaign) below serve both
    # (a million rows are written per campaign; every index is paid for on each).
    campaign = models.ForeignKey(
        Campaign, models.CASCADE, related_name="recipients", db_index=False, db_constraint=False
    )
    customer = models.ForeignKey(
        "customers.Customer",
        models.CASCADE,
        related_name="campaign_recipients",
        db_index=False,
        db_constraint=False,
    )
    group = models.CharField(_("group"), max_length=1, choices=Group.choices)
    variant = models.CharField(_("variant"), max_length=1, default="A")
    #: The stratum of the split (the tier when planned).
    stratum = models.CharField(_("tier"), max_length=20, blank=True)
    #: AUM and yearly contribution when planned: the baselines of "balance up" and of the
    #: incremental AUM and contribution.
    aum_at_start = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    contribution_at_start = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    responded_on = models.DateField(_("responded"), null=True, blank=True)
    #: The campaign product this recipient's message names: the first one suitable for them.
    product = models.ForeignKey(
        "products.Product",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )

    class Meta:
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer"], name="uniq_campaign_customer")
        ]
        indexes = [models.Index(fields=["customer", "campaign"])]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.customer_id} ({self.group})"


class Exclusion(models.Model):
    """A segment customer left out of a campaign, and why (shown on the campaign page)."""

    #: Indexed by (campaign, reason) below.
    campaign = models.ForeignKey(
        Campaign, models.CASCADE, related_name="exclusions", db_index=False, db_constraint=False
    )
    customer = models.ForeignKey(
        "customers.Customer", models.CASCADE, related_name="+", db_constraint=False
    )
    step = models.PositiveSmallIntegerField(default=1)
    reason = models.CharField(_("reason"), max_length=16)

    class Meta:
        indexes = [models.Index(fields=["campaign", "reason"])]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.customer_id} ({self.reason})"


class MessageStatus(models.TextChoices):
    PLANNED = "PLANNED", _("Planned")
    SENDING = "SENDING", _("Being sent")
    SENT = "SENT", _("Sent")
    SKIPPED = "SKIPPED", _("Not sent")
    DELIVERED = "DELIVERED", _("Delivered")
    FAILED = "FAILED", _("Failed")
    REPLIED = "REPLIED", _("Replied")
    OPTED_OUT = "OPTED_OUT", _("Opted out")


class Message(models.Model):
    """One message of a step to a treated recipient. Few indexes on purpose (decision 0009):
    a send rewrites every row once (planned → sent), and each index is written again for each
    row; the step's own index is the leading column of (step, recipient)."""

    recipient = models.ForeignKey(
        Recipient, models.CASCADE, related_name="messages", db_constraint=False
    )
    step = models.ForeignKey(
        Step, models.CASCADE, related_name="messages", db_index=False, db_constraint=False
    )
    channel = models.CharField(_("channel"), max_length=8, choices=CHANNEL_CHOICES)
    #: The message's identity outside Qiao (outbound files, e-mail Message-ID, delivery reports).
    #: Unique by a constraint, not ``unique=True``, which on PostgreSQL adds a second (LIKE)
    #: index that nothing uses.
    external_id = models.CharField(_("message id"), max_length=40)
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.PLANNED
    )
    #: Why a planned message was not sent (consent withdrawn since, cap reached, no address …).
    skip_reason = models.CharField(max_length=16, blank=True)
    #: The outbound batch file a file-channel message went out in (:class:`OutboundBatch`).
    batch = models.PositiveIntegerField(null=True, blank=True)
    text = models.TextField(_("text"), blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    result_at = models.DateTimeField(_("result"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(fields=["step", "recipient"], name="uniq_step_recipient"),
            models.UniqueConstraint(fields=["external_id"], name="uniq_message_external_id"),
        ]
        indexes = [
            # The sender walks a step's planned messages in id order, a batch at a time: a range
            # scan of this index. Partial: a message leaves it when it is sent, so marking a
            # batch sent writes no entry here and the index shrinks as the send goes.
            models.Index(
                fields=["step", "id"],
                condition=models.Q(status="PLANNED"),
                name="message_planned",
            ),
        ]

    def __str__(self) -> str:
        return self.external_id


class OutboundBatch(models.Model):
    """One outbound file of a step (SMS, WeChat, post), recorded *before* the file is written
    and marked written in the same transaction that marks its messages sent. A sender killed in
    between leaves a batch not written: if its file is in the outbox, the file is what the
    message platform has, and its messages are marked sent from it; if not, nothing was sent
    and the record is dropped (decision 0009, "exactly once")."""

    step = models.ForeignKey(Step, models.CASCADE, related_name="batches")
    number = models.PositiveIntegerField()
    #: The message ids the batch was cut from (its messages are those of the file).
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    size = models.PositiveIntegerField(default=0)
    written = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["step", "number"], name="uniq_step_batch")]

    def __str__(self) -> str:
        return f"{self.step_id} #{self.number}"


class ResponseKind(models.TextChoices):
    REPLIED = "REPLIED", _("Replied")
    VISITED = "VISITED", _("Visited or called back")
    BOUGHT = "BOUGHT", _("Bought a campaign product")
    BALANCE_UP = "BALANCE_UP", _("Balance up")
    STAYED = "STAYED", _("Stayed (was at risk)")


class Response(models.Model):
    recipient = models.ForeignKey(Recipient, models.CASCADE, related_name="responses")
    kind = models.CharField(_("response"), max_length=12, choices=ResponseKind.choices)
    on = models.DateField(_("on"))
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "kind"], name="uniq_recipient_response")
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.kind}"
