"""Customers (individual and corporate), their groups, relationships and managers."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qiao.core import vocab
from qiao.core.choices import choice
from qiao.core.validators import FieldError
from qiao.customers.consent_rules import DEFAULT_TIME_ZONE, clean_time_zone


class CustomerType(models.TextChoices):
    INDIVIDUAL = choice(vocab.CUSTOMER_TYPES, "P")
    CORPORATE = choice(vocab.CUSTOMER_TYPES, "C")


class IdType(models.TextChoices):
    RIC = choice(vocab.ID_TYPES, "RIC")
    USCC = choice(vocab.ID_TYPES, "USCC")
    PASSPORT = choice(vocab.ID_TYPES, "PASSPORT")
    OTHER = choice(vocab.ID_TYPES, "OTHER")


class Gender(models.TextChoices):
    M = choice(vocab.GENDERS, "M")
    F = choice(vocab.GENDERS, "F")


class MaritalStatus(models.TextChoices):
    SINGLE = choice(vocab.MARITAL_STATUSES, "SINGLE")
    MARRIED = choice(vocab.MARITAL_STATUSES, "MARRIED")
    DIVORCED = choice(vocab.MARITAL_STATUSES, "DIVORCED")
    WIDOWED = choice(vocab.MARITAL_STATUSES, "WIDOWED")


class OwnershipType(models.TextChoices):
    STATE = choice(vocab.OWNERSHIP_TYPES, "STATE")
    COLLECTIVE = choice(vocab.OWNERSHIP_TYPES, "COLLECTIVE")
    PRIVATE = choice(vocab.OWNERSHIP_TYPES, "PRIVATE")
    FOREIGN = choice(vocab.OWNERSHIP_TYPES, "FOREIGN")
    JOINT = choice(vocab.OWNERSHIP_TYPES, "JOINT")
    OTHER = choice(vocab.OWNERSHIP_TYPES, "OTHER")


class SizeClass(models.TextChoices):
    LARGE = choice(vocab.SIZE_CLASSES, "LARGE")
    MEDIUM = choice(vocab.SIZE_CLASSES, "MEDIUM")
    SMALL = choice(vocab.SIZE_CLASSES, "SMALL")
    MICRO = choice(vocab.SIZE_CLASSES, "MICRO")


class Customer(models.Model):
    customer_no = models.CharField(_("customer number"), max_length=40, unique=True)
    customer_type = models.CharField(_("customer type"), max_length=1, choices=CustomerType.choices)
    name = models.CharField(_("name"), max_length=200)
    # Search keys kept beside the name: full pinyin and initials (张三 → "zhangsan", "zs").
    name_pinyin = models.CharField(max_length=400, blank=True, editable=False)
    name_initials = models.CharField(max_length=100, blank=True, editable=False)
    id_type = models.CharField(_("ID type"), max_length=10, choices=IdType.choices)
    id_no = models.CharField(_("ID number"), max_length=40)
    # Last 4 and 6 characters of the ID, so "search by the last digits" is an index lookup (the
    # last 6 through the index on the last 4: ~100 rows per value at a million customers).
    id_tail4 = models.CharField(max_length=4, blank=True, editable=False)
    id_tail6 = models.CharField(max_length=6, blank=True, editable=False)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    mobile = models.CharField(_("mobile"), max_length=11, blank=True)
    landline = models.CharField(_("landline"), max_length=20, blank=True)
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=6, blank=True)
    occupation = models.CharField(_("occupation"), max_length=100, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    education = models.CharField(_("education"), max_length=50, blank=True)
    school = models.CharField(_("school"), max_length=100, blank=True)
    tax_record = models.CharField(_("tax record"), max_length=200, blank=True)
    marital_status = models.CharField(
        _("marital status"), max_length=10, choices=MaritalStatus.choices, blank=True
    )
    family_notes = models.TextField(_("family situation"), blank=True)
    investment_pref = models.CharField(_("investment preference"), max_length=200, blank=True)
    product_pref = models.CharField(_("product preference"), max_length=200, blank=True)
    marketing_pref = models.CharField(_("marketing preference"), max_length=200, blank=True)
    hobbies = models.CharField(_("hobbies"), max_length=200, blank=True)
    annual_income = models.DecimalField(
        _("annual income"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    legal_rep = models.CharField(_("legal representative"), max_length=100, blank=True)
    ownership_type = models.CharField(
        _("ownership type"), max_length=12, choices=OwnershipType.choices, blank=True
    )
    size_class = models.CharField(
        _("size class"), max_length=8, choices=SizeClass.choices, blank=True
    )
    registered_capital = models.DecimalField(
        _("registered capital"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    main_business = models.CharField(_("main business"), max_length=300, blank=True)
    branch = models.ForeignKey(
        "org.OrgUnit",
        models.PROTECT,
        related_name="customers",
        verbose_name=_("home outlet"),
    )
    open_date = models.DateField(_("customer since"))
    # Denormalised from ownership so the list can filter by it fast.
    primary_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="primary_customers",
        verbose_name=_("primary customer manager"),
    )
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        # Every index costs each loaded row (a bank reloads its customers nightly), so each
        # search or filter column gets exactly one: equality lookups a plain B-tree, equality
        # and prefix lookups a pattern-ops B-tree (PostgreSQL's default B-tree cannot serve
        # LIKE 'x%' outside the C collation; pattern ops serve "=" too). Declared here rather
        # than with db_index=True, which on PostgreSQL adds a second, pattern-ops twin to every
        # indexed text column.
        indexes = [
            models.Index(fields=["id_no"], name="cust_id_no"),
            models.Index(fields=["id_tail4"], name="cust_id_tail4"),
            models.Index(fields=["mobile"], name="cust_mobile"),
            models.Index(
                fields=["name_pinyin"], name="cust_pinyin", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(
                fields=["name_initials"], name="cust_initials", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(
                fields=["occupation"], name="cust_occupation", opclasses=["varchar_pattern_ops"]
            ),
            # Name prefix search (张三 → LIKE '张%'): a pattern-ops B-tree on PostgreSQL, whatever the
            # collation; other databases ignore the operator class. A trigram index for "anywhere in
            # the name" is added by migration 0004 where pg_trgm is available.
            models.Index(
                fields=["name"], name="cust_name_prefix", opclasses=["varchar_pattern_ops"]
            ),
            # PostgreSQL also gets (last_contact_at NULLS FIRST, id) from migration 0005: SQLite
            # cannot declare NULLS FIRST in an index.
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.customer_no})"

    @property
    def is_corporate(self) -> bool:
        return self.customer_type == CustomerType.CORPORATE

    # The nightly values, read through the customer (lists select_related("standing")).
    def _standing(self) -> CustomerStanding | None:
        try:
            return self.standing
        except CustomerStanding.DoesNotExist:
            return None

    @property
    def aum(self) -> Decimal:
        standing = self._standing()
        return standing.aum if standing is not None else Decimal(0)

    @property
    def contribution(self) -> Decimal:
        standing = self._standing()
        return standing.contribution if standing is not None else Decimal(0)

    @property
    def tier(self) -> str:
        standing = self._standing()
        return standing.tier if standing is not None else ""


class CustomerStanding(models.Model):
    """A customer's standing as the nightly scoring last computed it: AUM, tier, contribution.

    A narrow 1:1 table, apart from the customers' master data, with the list indexes: the
    scoring rewrites every row each night, and rewriting them in ``customers_customer`` meant a
    new entry in each of its search indexes for every customer (decision 0005). Every customer
    has one (created with the customer; zero and no tier until scored), so lists join it.
    """

    customer = models.OneToOneField(
        Customer,
        models.CASCADE,
        primary_key=True,
        related_name="standing",
        verbose_name=_("customer"),
    )
    aum = models.DecimalField(_("AUM"), max_digits=18, decimal_places=2, default=0)
    contribution = models.DecimalField(
        _("contribution"), max_digits=18, decimal_places=2, default=0
    )
    tier = models.CharField(_("tier"), max_length=20, blank=True)
    as_of = models.DateField(_("scored as of"), null=True, blank=True)
    # A copy of the customer's home outlet, kept by the database itself (triggers of migration
    # 0013 on both databases: set when the standing is inserted, changed with the customer's
    # branch), so that one index walk gives an outlet's customers largest first (decision 0012).
    # Only an access path: who may see a customer is still decided on the customer's own branch.
    branch = models.ForeignKey(
        "org.OrgUnit",
        models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        db_index=False,
        verbose_name=_("home outlet"),
    )

    class Meta:
        db_table = "customers_standing"
        verbose_name = _("customer standing")
        verbose_name_plural = _("customer standings")
        # The lists' sorts (the customer number breaks ties), the tier filter, and an outlet's
        # customers largest first.
        indexes = [
            models.Index(fields=["aum", "customer"], name="standing_aum"),
            models.Index(fields=["contribution", "customer"], name="standing_contribution"),
            models.Index(fields=["tier"], name="standing_tier"),
            models.Index(fields=["branch", "-aum", "customer"], name="standing_branch_aum"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.tier} {self.aum}"


class MemberRole(models.TextChoices):
    PARENT = choice(vocab.GROUP_ROLES, "PARENT")
    SUBSIDIARY = choice(vocab.GROUP_ROLES, "SUBSIDIARY")
    ASSOCIATE = choice(vocab.GROUP_ROLES, "ASSOCIATE")
    OTHER = choice(vocab.GROUP_ROLES, "OTHER")


class LinkType(models.TextChoices):
    EQUITY = choice(vocab.GROUP_LINKS, "EQUITY")
    CONTRACT = choice(vocab.GROUP_LINKS, "CONTRACT")
    FAMILY = choice(vocab.GROUP_LINKS, "FAMILY")


class CustomerGroup(models.Model):
    """A group customer (集团, seed 000): companies linked by capital, contract or family."""

    code = models.CharField(_("group code"), max_length=40, unique=True)
    name = models.CharField(_("group name"), max_length=200)

    class Meta:
        verbose_name = _("customer group")
        verbose_name_plural = _("customer groups")

    def __str__(self) -> str:
        return self.name


class GroupMembership(models.Model):
    group = models.ForeignKey(CustomerGroup, models.CASCADE, related_name="members")
    customer = models.ForeignKey(Customer, models.CASCADE, related_name="group_memberships")
    member_role = models.CharField(_("role in group"), max_length=12, choices=MemberRole.choices)
    link_type = models.CharField(_("link"), max_length=10, choices=LinkType.choices)
    equity_pct = models.DecimalField(
        _("equity %"), max_digits=5, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("group membership")
        verbose_name_plural = _("group memberships")
        constraints = [
            models.UniqueConstraint(fields=["group", "customer"], name="uniq_group_member")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.group_id}"


class Relation(models.TextChoices):
    SPOUSE = choice(vocab.RELATIONS, "SPOUSE")
    PARENT = choice(vocab.RELATIONS, "PARENT")
    CHILD = choice(vocab.RELATIONS, "CHILD")
    SIBLING = choice(vocab.RELATIONS, "SIBLING")
    RELATIVE = choice(vocab.RELATIONS, "RELATIVE")
    REFERRED_BY = choice(vocab.RELATIONS, "REFERRED_BY")
    KEY_PERSON = choice(vocab.RELATIONS, "KEY_PERSON")
    LEGAL_REP = choice(vocab.RELATIONS, "LEGAL_REP")
    SHAREHOLDER = choice(vocab.RELATIONS, "SHAREHOLDER")


class Relationship(models.Model):
    customer = models.ForeignKey(Customer, models.CASCADE, related_name="relationships")
    related = models.ForeignKey(Customer, models.CASCADE, related_name="related_from")
    relation = models.CharField(_("relation"), max_length=12, choices=Relation.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("relationship")
        verbose_name_plural = _("relationships")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "related", "relation"], name="uniq_relationship"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.relation} {self.related_id}"


class OwnerRole(models.TextChoices):
    PRIMARY = choice(vocab.OWNERSHIP_ROLES, "PRIMARY")
    SECONDARY = choice(vocab.OWNERSHIP_ROLES, "SECONDARY")


class Ownership(models.Model):
    """Who manages a customer, dated: the open rows (no end date) are the current managers."""

    customer = models.ForeignKey(Customer, models.CASCADE, related_name="ownerships")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="ownerships")
    role = models.CharField(_("role"), max_length=10, choices=OwnerRole.choices)
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"), null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ownership")
        verbose_name_plural = _("ownership history")
        indexes = [
            models.Index(fields=["staff", "end_date"]),
            models.Index(fields=["customer", "end_date"]),
        ]
        ordering = ["-start_date", "-id"]

    def __str__(self) -> str:
        return f"{self.customer_id} ← {self.staff_id} ({self.role}, {self.start_date}–{self.end_date or ''})"


class ChangeSource(models.TextChoices):
    WEB = "WEB", _("Web page")
    API = "API", _("API")
    INGEST = "INGEST", _("Data load")


class CustomerChange(models.Model):
    """One field's change: who, when, old → new (seed 004: keep information current, with history)."""

    customer = models.ForeignKey(Customer, models.CASCADE, related_name="changes")
    field = models.CharField(_("field"), max_length=40)
    old_value = models.TextField(_("old value"), blank=True)
    new_value = models.TextField(_("new value"), blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)
    source = models.CharField(_("source"), max_length=8, choices=ChangeSource.choices)

    class Meta:
        verbose_name = _("customer change")
        verbose_name_plural = _("customer changes")
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["customer", "-changed_at"])]

    def __str__(self) -> str:
        return f"{self.customer_id}.{self.field} @ {self.changed_at:%Y-%m-%d %H:%M}"


class SavedGroup(models.Model):
    """A customer group for marketing (seed 004 L132): static (hand-picked) or dynamic (a filter)."""

    class Kind(models.TextChoices):
        STATIC = "STATIC", _("Static (hand-picked)")
        DYNAMIC = "DYNAMIC", _("Dynamic (saved filter)")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="saved_groups")
    filters = models.JSONField(_("filter"), default=dict, blank=True)
    customers = models.ManyToManyField(Customer, blank=True, related_name="saved_groups")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("saved group")
        verbose_name_plural = _("saved groups")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ExportRequest(models.Model):
    """A plain (unmasked) export: asked for with a reason, approved by a second person, then
    downloadable once by the one who asked, within a time window (maker–checker, compliance R9).

    The customers are fixed when asked for (``customer_nos``): what the checker approves is what
    the maker downloads, less any customer who has left the maker's scope since.
    """

    class Status(models.TextChoices):
        PENDING = "PENDING", _("Waiting for approval")
        APPROVED = "APPROVED", _("Approved, ready to download")
        REFUSED = "REFUSED", _("Refused")
        DOWNLOADED = "DOWNLOADED", _("Downloaded")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="export_requests"
    )
    requested_at = models.DateTimeField(_("asked at"), auto_now_add=True)
    reason = models.CharField(_("reason"), max_length=200)
    #: What the list showed: a saved group's name, or the filter (CustomerFilters.to_json()).
    source = models.JSONField(_("filter"), default=dict, blank=True)
    customer_nos = models.JSONField(_("customers"), default=list)
    rows = models.PositiveIntegerField(_("rows"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="export_decisions",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("note"), max_length=200, blank=True)
    expires_at = models.DateTimeField(_("download until"), null=True, blank=True)
    downloaded_at = models.DateTimeField(_("downloaded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("plain export request")
        verbose_name_plural = _("plain export requests")
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["status", "requested_at"], name="export_request_status")]

    def __str__(self) -> str:
        return f"{self.pk} {self.requested_by_id} {self.status} {self.rows}"


# ---------------------------------------------------------------- consent and contact preferences


class ConsentChannel(models.TextChoices):
    SMS = choice(vocab.CONSENT_CHANNELS, "SMS")
    PHONE = choice(vocab.CONSENT_CHANNELS, "PHONE")
    EMAIL = choice(vocab.CONSENT_CHANNELS, "EMAIL")
    WECHAT = choice(vocab.CONSENT_CHANNELS, "WECHAT")
    POST = choice(vocab.CONSENT_CHANNELS, "POST")


class ConsentState(models.TextChoices):
    GIVEN = choice(vocab.CONSENT_STATES, "GIVEN")
    WITHDRAWN = choice(vocab.CONSENT_STATES, "WITHDRAWN")


class ConsentSource(models.TextChoices):
    CORE = choice(vocab.CONSENT_SOURCES, "CORE")
    BRANCH = choice(vocab.CONSENT_SOURCES, "BRANCH")
    REPLY = choice(vocab.CONSENT_SOURCES, "REPLY")
    ONLINE = choice(vocab.CONSENT_SOURCES, "ONLINE")


class CustomerLanguage(models.TextChoices):
    ZH_HANS = choice(vocab.CUSTOMER_LANGUAGES, "zh-hans")
    ZH_HANT = choice(vocab.CUSTOMER_LANGUAGES, "zh-hant")
    EN = choice(vocab.CUSTOMER_LANGUAGES, "en")


def _validate_time_zone(value: str) -> None:
    try:
        clean_time_zone(value)
    except FieldError as exc:
        raise ValidationError(str(exc.reason)) from None


class Consent(models.Model):
    """A customer's current consent to be marketed through one channel (PIPL Arts. 14–15).

    One row per customer and channel: the state now, since when, from where and on what evidence.
    No row is no consent: nothing is sent through a channel without a ``GIVEN`` row for it.
    Every change is kept in :class:`ConsentChange` (qiao.customers.consent writes both).
    """

    # No index of its own: the unique (customer, channel) serves lookups by customer.
    customer = models.ForeignKey(
        Customer,
        models.CASCADE,
        related_name="consents",
        verbose_name=_("customer"),
        db_index=False,
    )
    channel = models.CharField(_("channel"), max_length=8, choices=ConsentChannel.choices)
    state = models.CharField(_("consent"), max_length=10, choices=ConsentState.choices)
    on = models.DateField(_("since"))
    source = models.CharField(_("source"), max_length=8, choices=ConsentSource.choices)
    evidence = models.CharField(_("evidence"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("marketing consent")
        verbose_name_plural = _("marketing consents")
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel"], name="uniq_consent_channel")
        ]
        # "Who consents to SMS?" at a million customers: one index range, customer ids in order
        # (an index-only scan on PostgreSQL).
        indexes = [models.Index(fields=["channel", "state", "customer"], name="consent_channel")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel} {self.state} {self.on}"


class ConsentChange(models.Model):
    """One change of a customer's consent for a channel (append-only history)."""

    # No index of its own: (customer, -at) serves lookups by customer.
    customer = models.ForeignKey(
        Customer,
        models.CASCADE,
        related_name="consent_changes",
        verbose_name=_("customer"),
        db_index=False,
    )
    channel = models.CharField(_("channel"), max_length=8, choices=ConsentChannel.choices)
    #: blank: there was no consent row before
    old_state = models.CharField(
        _("before"), max_length=10, choices=ConsentState.choices, blank=True
    )
    new_state = models.CharField(_("after"), max_length=10, choices=ConsentState.choices)
    on = models.DateField(_("effective"))
    source = models.CharField(_("source"), max_length=8, choices=ConsentSource.choices)
    evidence = models.CharField(_("evidence"), max_length=200, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("consent change")
        verbose_name_plural = _("consent changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "-at"], name="consent_change_customer")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel} {self.old_state}→{self.new_state} {self.on}"


class ContactPreference(models.Model):
    """How a customer likes to be contacted: a preferred channel, do-not-disturb hours in their
    own time (the window may wrap midnight), the language messages are written in, their time
    zone. A customer without a row has the defaults (qiao.customers.consent_rules.Pref)."""

    customer = models.OneToOneField(
        Customer,
        models.CASCADE,
        primary_key=True,
        related_name="contact_preference",
        verbose_name=_("customer"),
    )
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=8, choices=ConsentChannel.choices, blank=True
    )
    dnd_start = models.TimeField(_("do not disturb from"), null=True, blank=True)
    dnd_end = models.TimeField(_("do not disturb until"), null=True, blank=True)
    language = models.CharField(
        _("message language"),
        max_length=7,
        choices=CustomerLanguage.choices,
        default=CustomerLanguage.ZH_HANS,
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default=DEFAULT_TIME_ZONE, validators=[_validate_time_zone]
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    updated_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        db_table = "customers_contact_preference"
        verbose_name = _("contact preference")
        verbose_name_plural = _("contact preferences")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.preferred_channel} {self.language} {self.time_zone}"
