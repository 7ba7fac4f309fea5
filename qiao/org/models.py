"""The bank's organisation: head office → branch → sub-branch → outlet, and its staff."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from qiao.core.choices import choice
from qiao.core.vocab import GRADES, ROLES, UNIT_LEVELS


class UnitLevel(models.TextChoices):
    HEAD_OFFICE = choice(UNIT_LEVELS, "HEAD_OFFICE")
    BRANCH = choice(UNIT_LEVELS, "BRANCH")
    SUB_BRANCH = choice(UNIT_LEVELS, "SUB_BRANCH")
    OUTLET = choice(UNIT_LEVELS, "OUTLET")


LEVEL_DEPTH = {code: UNIT_LEVELS.rank(code) for code in UNIT_LEVELS.codes}


class OrgUnit(models.Model):
    code = models.CharField(_("unit code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=12, choices=UnitLevel.choices)
    parent = models.ForeignKey(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent unit"),
    )
    # Materialised path "/HO/B01/S01/O0101/": a subtree is one indexed prefix query.
    path = models.CharField(_("path"), max_length=400, db_index=True, editable=False)
    address = models.CharField(_("address"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("organisation unit")
        verbose_name_plural = _("organisation units")
        ordering = ["path"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Role(models.TextChoices):
    CM = choice(ROLES, "CM")
    SENIOR_CM = choice(ROLES, "SENIOR_CM")
    TEAM_LEAD = choice(ROLES, "TEAM_LEAD")
    OUTLET_HEAD = choice(ROLES, "OUTLET_HEAD")
    LOBBY = choice(ROLES, "LOBBY")
    PRODUCT_MANAGER = choice(ROLES, "PRODUCT_MANAGER")
    RISK_MANAGER = choice(ROLES, "RISK_MANAGER")
    ANALYST = choice(ROLES, "ANALYST")
    MARKETING = choice(ROLES, "MARKETING")
    ADMIN = choice(ROLES, "ADMIN")
    AUDITOR = choice(ROLES, "AUDITOR")


#: Roles that own customers (primary or secondary customer manager).
OWNER_ROLES = {Role(code) for code in ROLES.having("owner")}
#: Roles that see their organisation subtree.
SUBTREE_ROLES = {Role(code) for code in ROLES.having("subtree")}
#: Head-office roles that see every customer.
BANKWIDE_ROLES = {Role(code) for code in ROLES.having("bankwide")}


class Grade(models.TextChoices):
    JUNIOR = choice(GRADES, "JUNIOR")
    INTERMEDIATE = choice(GRADES, "INTERMEDIATE")
    SENIOR = choice(GRADES, "SENIOR")
    PRINCIPAL = choice(GRADES, "PRINCIPAL")


class Staff(AbstractUser):
    """A member of staff; ``username`` is the staff number and the login name."""

    name = models.CharField(_("name"), max_length=100, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.CM)
    unit = models.ForeignKey(
        OrgUnit,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("unit"),
    )
    grade = models.CharField(_("CM grade"), max_length=12, choices=Grade.choices, blank=True)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)
    hire_date = models.DateField(_("hire date"), null=True, blank=True)
    leave_date = models.DateField(_("leave date"), null=True, blank=True)
    # When they last opened their notifications: "new since I last looked" is counted from here.
    notifications_seen_at = models.DateTimeField(
        _("notifications last read"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        permissions = [
            ("reveal_pii", _("Can reveal masked personal financial information")),
            ("export_customers", _("Can export customer lists")),
            ("assign_customers", _("Can assign customers to managers")),
            ("view_audit", _("Can search the audit trail")),
            ("edit_tier_rules", _("Can edit tier rules")),
            ("export_plain", _("Can ask for an export with personal data in clear")),
            ("approve_export", _("Can approve another's export with personal data in clear")),
            ("view_balances", _("Can see balances in clear")),
            ("log_contact", _("Can log contacts with customers")),
            ("work_own_list", _("Can close own work-list items and tasks")),
            ("file_complaint", _("Can file complaints")),
            ("handle_complaint", _("Can handle and resolve complaints")),
            ("manage_prospects", _("Can manage prospect cards")),
            ("manage_plans", _("Can manage marketing plans")),
            ("refer", _("Can refer customers and prospects")),
            ("save_groups", _("Can keep saved customer groups")),
            ("edit_products", _("Can edit the product shelf")),
            ("assess_risk", _("Can record customers' risk assessments")),
            ("decide_suggestions", _("Can record what became of product suggestions")),
            ("edit_consent", _("Can record customers' marketing consent and contact preferences")),
            ("manage_campaigns", _("Can build segments and draft campaigns")),
            ("approve_campaigns", _("Can approve another's campaign for sending")),
            ("designate_key_accounts", _("Can propose key accounts and their teams")),
            ("approve_key_accounts", _("Can approve key-account designations")),
            ("confirm_warnings", _("Can confirm or reject early-warning changes")),
            ("manage_blacklist", _("Can add customers to and remove them from the blacklist")),
            ("set_targets", _("Can set and split performance targets")),
            ("edit_benchmarks", _("Can enter peer benchmarks for the reports")),
            ("export_reports", _("Can download reports as Excel workbooks")),
            ("manage_surveys", _("Can build and send satisfaction surveys")),
            ("record_survey_answers", _("Can record customers' survey answers")),
            ("propose_warnings", _("Can propose a worse early-warning state for a customer")),
        ]

    def __str__(self) -> str:
        # A person by name, as a banker names a colleague: the username is a login, not a name
        # (issue 13 item 5); the admin and forms show this.
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.get_full_name() or self.username
