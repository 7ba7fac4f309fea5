"""Products, accounts, investment holdings, e-banking services and payroll relations."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from qiao.core.choices import choice
from qiao.core.vocab import CATEGORIES, EBANKING_SERVICES, MOTIVES, RISK_LEVELS


class Category(models.TextChoices):
    DEMAND = choice(CATEGORIES, "DEMAND")
    TIME = choice(CATEGORIES, "TIME")
    WEALTH = choice(CATEGORIES, "WEALTH")
    FUND = choice(CATEGORIES, "FUND")
    BOND = choice(CATEGORIES, "BOND")
    INSURANCE = choice(CATEGORIES, "INSURANCE")
    PRECIOUS_METAL = choice(CATEGORIES, "PRECIOUS_METAL")
    LOAN = choice(CATEGORIES, "LOAN")
    CARD = choice(CATEGORIES, "CARD")
    SETTLEMENT = choice(CATEGORIES, "SETTLEMENT")


#: Categories whose balances count towards assets under management (AUM).
ASSET_CATEGORIES = {Category(code) for code in CATEGORIES.having("aum")}
#: Categories that must carry a risk level R1–R5 (investment products).
RATED_CATEGORIES = {Category(code) for code in CATEGORIES.having("rated")}


class RiskLevel(models.TextChoices):
    R1 = choice(RISK_LEVELS, "R1")
    R2 = choice(RISK_LEVELS, "R2")
    R3 = choice(RISK_LEVELS, "R3")
    R4 = choice(RISK_LEVELS, "R4")
    R5 = choice(RISK_LEVELS, "R5")


class Motive(models.TextChoices):
    ACCUMULATE = choice(MOTIVES, "ACCUMULATE")
    APPRECIATE = choice(MOTIVES, "APPRECIATE")
    LOAN = choice(MOTIVES, "LOAN")


class Product(models.Model):
    code = models.CharField(_("product code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    risk_level = models.CharField(
        _("risk level"), max_length=2, choices=RiskLevel.choices, blank=True
    )
    min_amount = models.DecimalField(
        _("minimum amount"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    term_days = models.PositiveIntegerField(_("term (days)"), null=True, blank=True)
    issue_date = models.DateField(_("issue date"), null=True, blank=True)
    maturity_date = models.DateField(_("maturity date"), null=True, blank=True)
    motives = models.CharField(_("motives"), max_length=60, blank=True)
    rate = models.DecimalField(_("rate (%)"), max_digits=8, decimal_places=4, null=True, blank=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["category", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class AccountStatus(models.TextChoices):
    ACTIVE = "ACTIVE", _("Active")
    DORMANT = "DORMANT", _("Dormant")
    CLOSED = "CLOSED", _("Closed")


class Account(models.Model):
    account_no = models.CharField(_("account number"), max_length=40, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", models.CASCADE, related_name="accounts", verbose_name=_("customer")
    )
    product = models.ForeignKey(
        Product, models.PROTECT, related_name="accounts", verbose_name=_("product")
    )
    open_date = models.DateField(_("opened"))
    maturity_date = models.DateField(_("maturity"), null=True, blank=True, db_index=True)
    close_date = models.DateField(_("closed"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    balance = models.DecimalField(_("balance"), max_digits=18, decimal_places=2, default=0)
    branch_code = models.CharField(_("opening outlet"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["open_date", "account_no"]

    def __str__(self) -> str:
        return self.account_no


class Holding(models.Model):
    """An investment position (fund, wealth product …) of an account at a date."""

    account = models.ForeignKey(Account, models.CASCADE, related_name="holdings")
    as_of_date = models.DateField(_("as of"))
    units = models.DecimalField(_("units"), max_digits=20, decimal_places=4)
    cost = models.DecimalField(_("cost"), max_digits=18, decimal_places=2)
    market_value = models.DecimalField(_("market value"), max_digits=18, decimal_places=2)

    class Meta:
        verbose_name = _("holding")
        verbose_name_plural = _("holdings")
        constraints = [
            models.UniqueConstraint(fields=["account", "as_of_date"], name="uniq_holding_date")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} @ {self.as_of_date}"


class Service(models.TextChoices):
    ONLINE = choice(EBANKING_SERVICES, "ONLINE")
    MOBILE = choice(EBANKING_SERVICES, "MOBILE")
    PHONE = choice(EBANKING_SERVICES, "PHONE")
    WECHAT = choice(EBANKING_SERVICES, "WECHAT")
    CORP_ONLINE_QUERY = choice(EBANKING_SERVICES, "CORP_ONLINE_QUERY")
    CORP_ONLINE_PRO = choice(EBANKING_SERVICES, "CORP_ONLINE_PRO")
    BANK_LINK = choice(EBANKING_SERVICES, "BANK_LINK")


CORPORATE_SERVICES = {Service(code) for code in EBANKING_SERVICES.having("corporate")}


class SignupSource(models.TextChoices):
    SELF = "SELF", _("By the customer")
    RECOMMENDED = "RECOMMENDED", _("On recommendation")


class EBankingService(models.Model):
    customer = models.ForeignKey("customers.Customer", models.CASCADE, related_name="ebanking")
    service = models.CharField(_("service"), max_length=20, choices=Service.choices)
    opened_date = models.DateField(_("opened"))
    activated_date = models.DateField(_("activated"), null=True, blank=True)
    source = models.CharField(_("opened"), max_length=12, choices=SignupSource.choices, blank=True)
    recommended_by = models.CharField(_("recommended by"), max_length=40, blank=True)
    closed_date = models.DateField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("e-banking service")
        verbose_name_plural = _("e-banking services")
        constraints = [
            models.UniqueConstraint(fields=["customer", "service"], name="uniq_ebanking")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.service}"


class RelationType(models.TextChoices):
    PAYROLL = "PAYROLL", _("Payroll")
    SOCIAL_SECURITY = "SOCIAL_SECURITY", _("Social security")
    FISCAL = "FISCAL", _("Fiscal")


class PayrollRelation(models.Model):
    """Payroll and withholding (代发代扣) relations of an account."""

    customer = models.ForeignKey(
        "customers.Customer", models.CASCADE, related_name="payroll_relations"
    )
    account = models.ForeignKey(Account, models.CASCADE, related_name="payroll_relations")
    relation_type = models.CharField(_("type"), max_length=16, choices=RelationType.choices)
    payer = models.CharField(_("payer"), max_length=200)
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("payroll relation")
        verbose_name_plural = _("payroll relations")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "relation_type", "payer"], name="uniq_payroll"
            )
        ]

    def __str__(self) -> str:
        return f"{self.relation_type} {self.payer}"
