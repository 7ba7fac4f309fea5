"""Credit data (issue 16): facilities (授信), loans and their five-category classification,
guarantees, external risk signals, and the bank's black and red lists (黑名单 / 红名单).

Facilities, loans, guarantees and signals come from core banking through the one ingest path
(docs/data-interface.md); list entries are loaded (source CORE, in force) or proposed in Qiao and
approved by a risk manager (qiao.credit.services). The classification check of each loan load
keeps what it finds in :class:`ClassFinding` (docs/keyaccounts.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qiao.core import vocab
from qiao.core.choices import choice


class GuaranteeType(models.TextChoices):
    CREDIT = choice(vocab.GUARANTEE_TYPES, "CREDIT")
    GUARANTEE = choice(vocab.GUARANTEE_TYPES, "GUARANTEE")
    MORTGAGE = choice(vocab.GUARANTEE_TYPES, "MORTGAGE")
    PLEDGE = choice(vocab.GUARANTEE_TYPES, "PLEDGE")
    MIXED = choice(vocab.GUARANTEE_TYPES, "MIXED")


class FacilityStatus(models.TextChoices):
    ACTIVE = choice(vocab.FACILITY_STATUSES, "ACTIVE")
    FROZEN = choice(vocab.FACILITY_STATUSES, "FROZEN")
    EXPIRED = choice(vocab.FACILITY_STATUSES, "EXPIRED")
    CLOSED = choice(vocab.FACILITY_STATUSES, "CLOSED")


class LoanClass(models.TextChoices):
    PASS = choice(vocab.LOAN_CLASSES, "PASS")
    SPECIAL_MENTION = choice(vocab.LOAN_CLASSES, "SPECIAL_MENTION")
    SUBSTANDARD = choice(vocab.LOAN_CLASSES, "SUBSTANDARD")
    DOUBTFUL = choice(vocab.LOAN_CLASSES, "DOUBTFUL")
    LOSS = choice(vocab.LOAN_CLASSES, "LOSS")


class LoanType(models.TextChoices):
    WORKING_CAPITAL = choice(vocab.LOAN_TYPES, "WORKING_CAPITAL")
    FIXED_ASSET = choice(vocab.LOAN_TYPES, "FIXED_ASSET")
    TRADE_FINANCE = choice(vocab.LOAN_TYPES, "TRADE_FINANCE")
    DISCOUNT = choice(vocab.LOAN_TYPES, "DISCOUNT")
    MORTGAGE = choice(vocab.LOAN_TYPES, "MORTGAGE")
    CONSUMER = choice(vocab.LOAN_TYPES, "CONSUMER")
    BUSINESS = choice(vocab.LOAN_TYPES, "BUSINESS")
    OTHER = choice(vocab.LOAN_TYPES, "OTHER")


class SignalKind(models.TextChoices):
    COURT_ENFORCEMENT = choice(vocab.SIGNAL_KINDS, "COURT_ENFORCEMENT")
    LITIGATION = choice(vocab.SIGNAL_KINDS, "LITIGATION")
    TAX = choice(vocab.SIGNAL_KINDS, "TAX")
    ADMIN_PENALTY = choice(vocab.SIGNAL_KINDS, "ADMIN_PENALTY")
    NEGATIVE_NEWS = choice(vocab.SIGNAL_KINDS, "NEGATIVE_NEWS")
    RATING_DOWNGRADE = choice(vocab.SIGNAL_KINDS, "RATING_DOWNGRADE")
    OTHER = choice(vocab.SIGNAL_KINDS, "OTHER")


class ListKind(models.TextChoices):
    BLACK = choice(vocab.LIST_KINDS, "BLACK")
    RED = choice(vocab.LIST_KINDS, "RED")


class ListStatus(models.TextChoices):
    PROPOSED = choice(vocab.LIST_STATUSES, "PROPOSED")
    APPROVED = choice(vocab.LIST_STATUSES, "APPROVED")
    REJECTED = choice(vocab.LIST_STATUSES, "REJECTED")
    REMOVED = choice(vocab.LIST_STATUSES, "REMOVED")


class ListSource(models.TextChoices):
    CORE = choice(vocab.LIST_SOURCES, "CORE")
    MANUAL = choice(vocab.LIST_SOURCES, "MANUAL")


class FindingKind(models.TextChoices):
    BELOW_FLOOR = choice(vocab.FINDING_KINDS, "BELOW_FLOOR")
    MIXED_CLASSES = choice(vocab.FINDING_KINDS, "MIXED_CLASSES")


class Facility(models.Model):
    """A credit facility (授信额度): a limit the customer may draw on, and how much is drawn."""

    facility_no = models.CharField(_("facility number"), max_length=40, unique=True)
    customer = models.ForeignKey(
        "customers.Customer",
        models.CASCADE,
        related_name="facilities",
        verbose_name=_("customer"),
    )
    limit = models.DecimalField(_("credit limit"), max_digits=18, decimal_places=2)
    used = models.DecimalField(_("amount used"), default=0, max_digits=18, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"))
    guarantee_type = models.CharField(
        _("security"), max_length=10, choices=GuaranteeType.choices, default=GuaranteeType.CREDIT
    )
    collateral = models.CharField(_("collateral"), max_length=200, blank=True)
    collateral_value = models.DecimalField(
        _("collateral value"), null=True, blank=True, max_digits=18, decimal_places=2
    )
    status = models.CharField(
        _("status"), max_length=8, choices=FacilityStatus.choices, default=FacilityStatus.ACTIVE
    )

    class Meta:
        verbose_name = _("credit facility")
        verbose_name_plural = _("credit facilities")
        ordering = ["customer", "facility_no"]

    def __str__(self) -> str:
        return self.facility_no


class Loan(models.Model):
    """A loan as of its last load: balance, classification, days overdue and interest arrears.

    ``floor_class`` is the least class the days overdue allow (compliance.md §10) and
    ``below_floor`` says the bank's classification is better than that: the loan is kept as the
    bank classified it and flagged (a :class:`ClassFinding` too).
    """

    loan_no = models.CharField(_("loan number"), max_length=40, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", models.CASCADE, related_name="loans", verbose_name=_("borrower")
    )
    facility = models.ForeignKey(
        Facility,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="loans",
        verbose_name=_("credit facility"),
    )
    product = models.ForeignKey(
        "products.Product",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
    )
    loan_type = models.CharField(
        _("loan type"), max_length=16, choices=LoanType.choices, default=LoanType.OTHER
    )
    principal = models.DecimalField(_("principal"), max_digits=18, decimal_places=2)
    balance = models.DecimalField(_("balance"), max_digits=18, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    start_date = models.DateField(_("drawn on"))
    maturity_date = models.DateField(_("matures on"))
    classification = models.CharField(
        _("classification"), max_length=16, choices=LoanClass.choices, default=LoanClass.PASS
    )
    days_overdue = models.PositiveIntegerField(_("days overdue"), default=0)
    interest_arrears = models.DecimalField(
        _("interest in arrears"), default=0, max_digits=18, decimal_places=2
    )
    as_of = models.DateField(_("as of"))
    floor_class = models.CharField(
        _("least class by days overdue"), max_length=16, choices=LoanClass.choices, blank=True
    )
    below_floor = models.BooleanField(
        _("classified better than its days overdue allow"), default=False
    )
    #: The day the bank wrote the loan off (核销), as the loan load says: it leaves the exposure
    #: (what is left is recovered, if at all, off the books) and calls for 退出 EXIT.
    written_off_on = models.DateField(_("written off on"), null=True, blank=True)

    class Meta:
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        ordering = ["customer", "loan_no"]
        indexes = [models.Index(fields=["classification"])]

    def __str__(self) -> str:
        return self.loan_no


class Guarantee(models.Model):
    """One customer guarantees another's borrowing (担保): of one loan, one facility or in
    general, up to ``amount``."""

    guarantee_no = models.CharField(_("guarantee contract number"), max_length=40, unique=True)
    guarantor = models.ForeignKey(
        "customers.Customer",
        models.CASCADE,
        related_name="guarantees_given",
        verbose_name=_("guarantor"),
    )
    borrower = models.ForeignKey(
        "customers.Customer",
        models.CASCADE,
        related_name="guarantees_received",
        verbose_name=_("borrower"),
    )
    loan = models.ForeignKey(
        Loan,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="guarantees",
        verbose_name=_("loan"),
    )
    facility = models.ForeignKey(
        Facility,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="guarantees",
        verbose_name=_("credit facility"),
    )
    amount = models.DecimalField(_("amount guaranteed"), max_digits=18, decimal_places=2)
    guarantee_type = models.CharField(
        _("security"), max_length=10, choices=GuaranteeType.choices, default=GuaranteeType.GUARANTEE
    )
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("guarantee")
        verbose_name_plural = _("guarantees")
        ordering = ["guarantor", "guarantee_no"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(guarantor=models.F("borrower")), name="guarantee_not_self"
            )
        ]

    def __str__(self) -> str:
        return self.guarantee_no


class RiskSignal(models.Model):
    """An external risk signal about a customer: what, from where, on which day."""

    customer = models.ForeignKey(
        "customers.Customer",
        models.CASCADE,
        related_name="risk_signals",
        verbose_name=_("customer"),
    )
    kind = models.CharField(_("signal"), max_length=20, choices=SignalKind.choices)
    source = models.CharField(_("source"), max_length=100)
    on = models.DateField(_("on"))
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        verbose_name = _("risk signal")
        verbose_name_plural = _("risk signals")
        ordering = ["customer", "-on"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind", "on", "source"], name="uniq_risk_signal"
            )
        ]
        indexes = [models.Index(fields=["-on"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.on}"


class ListEntry(models.Model):
    """A customer on the blacklist or the red list.

    A loaded entry (source CORE) is in force as core banking says; a manual one is proposed with a
    reason and comes into force when a risk manager other than the proposer approves it. At most
    one open (proposed or in force) manual entry per customer and list, and one loaded entry.
    """

    customer = models.ForeignKey(
        "customers.Customer",
        models.CASCADE,
        related_name="list_entries",
        verbose_name=_("customer"),
    )
    list_kind = models.CharField(_("list"), max_length=5, choices=ListKind.choices)
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(
        _("status"), max_length=8, choices=ListStatus.choices, default=ListStatus.PROPOSED
    )
    source = models.CharField(
        _("source"), max_length=6, choices=ListSource.choices, default=ListSource.MANUAL
    )
    listed_on = models.DateField(_("listed on"), null=True, blank=True)
    removed_on = models.DateField(_("removed on"), null=True, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("proposed by"),
    )
    proposed_at = models.DateTimeField(_("proposed at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("list entry")
        verbose_name_plural = _("list entries")
        ordering = ["customer", "list_kind", "-id"]
        indexes = [models.Index(fields=["list_kind", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "list_kind", "source"],
                condition=Q(source="CORE"),
                name="uniq_list_entry_core",
            ),
            models.UniqueConstraint(
                fields=["customer", "list_kind"],
                condition=Q(source="MANUAL", status__in=["PROPOSED", "APPROVED"]),
                name="uniq_list_entry_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.list_kind} {self.status}"


class ClassFinding(models.Model):
    """What the classification check of a loan load found: a loan classified better than its
    days overdue allow, or a debtor whose loans are in different classes."""

    customer = models.ForeignKey(
        "customers.Customer",
        models.CASCADE,
        related_name="class_findings",
        verbose_name=_("debtor"),
    )
    loan = models.ForeignKey(
        Loan,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="findings",
        verbose_name=_("loan"),
    )
    kind = models.CharField(_("finding"), max_length=14, choices=FindingKind.choices)
    #: The classes involved: ``{"class": …, "floor": …, "days_overdue": …}`` for a loan,
    #: ``{"classes": [...]}`` for a debtor (codes; pages label them).
    detail = models.JSONField(_("detail"), default=dict)
    as_of = models.DateField(_("as of"))
    found_at = models.DateTimeField(_("found at"), auto_now_add=True)

    class Meta:
        verbose_name = _("classification finding")
        verbose_name_plural = _("classification findings")
        ordering = ["customer", "kind", "loan"]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind}"
