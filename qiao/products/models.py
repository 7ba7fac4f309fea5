"""Products, accounts, investment holdings, e-banking services and payroll relations."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from qiao.core.choices import choice
from qiao.core.suitability import effective_level
from qiao.core.vocab import (
    ACCOUNT_STATUSES,
    CATEGORIES,
    EBANKING_SERVICES,
    EBANKING_SOURCES,
    MOTIVES,
    PAYROLL_TYPES,
    RISK_LEVELS,
    SALE_STATUSES,
)


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


class SaleStatus(models.TextChoices):
    NEW_ISSUE = choice(SALE_STATUSES, "NEW_ISSUE")
    ON_SALE = choice(SALE_STATUSES, "ON_SALE")
    CLOSING = choice(SALE_STATUSES, "CLOSING")
    CLOSED = choice(SALE_STATUSES, "CLOSED")


class Product(models.Model):
    """A product on the shelf. ``risk_level`` is the level that applies: the higher of the
    issuer's and the seller's ratings (孰高原则, docs/suitability.md), set on every save."""

    code = models.CharField(_("product code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    risk_level = models.CharField(
        _("risk level"), max_length=2, choices=RiskLevel.choices, blank=True
    )
    issuer_risk_level = models.CharField(
        _("issuer's risk rating"), max_length=2, choices=RiskLevel.choices, blank=True
    )
    seller_risk_level = models.CharField(
        _("bank's risk rating"), max_length=2, choices=RiskLevel.choices, blank=True
    )
    issuer = models.CharField(_("issuer"), max_length=200, blank=True)
    private = models.BooleanField(_("private product (qualified investors only)"), default=False)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    sale_status = models.CharField(
        _("on the shelf"), max_length=10, choices=SaleStatus.choices, default=SaleStatus.ON_SALE
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

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.issuer_risk_level or self.seller_risk_level:
            self.risk_level = effective_level(self.issuer_risk_level, self.seller_risk_level)
        super().save(*args, **kwargs)


class RateSource(models.TextChoices):
    LOAD = "LOAD", _("Core-banking load")
    PAGE = "PAGE", _("Changed in Qiao")


class ProductRate(models.Model):
    """A product's rate from a day on: the rate history, kept by every path that changes a rate
    (the products extract and the product manager's page)."""

    product = models.ForeignKey(Product, models.CASCADE, related_name="rates")
    effective = models.DateField(_("from"))
    rate = models.DecimalField(_("rate (%)"), max_digits=8, decimal_places=4)
    source = models.CharField(_("source"), max_length=4, choices=RateSource.choices)
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    recorded_by = models.CharField(_("by"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("product rate")
        verbose_name_plural = _("product rates")
        ordering = ["product", "-effective", "-id"]
        indexes = [models.Index(fields=["product", "-effective"])]

    def __str__(self) -> str:
        return f"{self.product_id} {self.effective} {self.rate}"


class AccountStatus(models.TextChoices):
    ACTIVE = choice(ACCOUNT_STATUSES, "ACTIVE")
    DORMANT = choice(ACCOUNT_STATUSES, "DORMANT")
    CLOSED = choice(ACCOUNT_STATUSES, "CLOSED")


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
    SELF = choice(EBANKING_SOURCES, "SELF")
    RECOMMENDED = choice(EBANKING_SOURCES, "RECOMMENDED")


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
    PAYROLL = choice(PAYROLL_TYPES, "PAYROLL")
    SOCIAL_SECURITY = choice(PAYROLL_TYPES, "SOCIAL_SECURITY")
    FISCAL = choice(PAYROLL_TYPES, "FISCAL")


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
