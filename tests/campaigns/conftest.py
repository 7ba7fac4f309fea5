"""A small bank for the campaign tests: one outlet, a customer manager, two marketing managers,
60 personal customers in three tiers with consents, assessments and an R2 and an R4 product."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from qiao.campaigns.models import Campaign
from qiao.campaigns.segments import SegmentFilters, segment_save
from qiao.campaigns.services import (
    CampaignData,
    StepData,
    TemplateData,
    campaign_approve,
    campaign_save,
    campaign_submit,
)
from qiao.customers.models import Consent, Customer
from qiao.customers.selectors import CustomerFilters
from qiao.org.models import Staff
from qiao.products.models import Product
from qiao.suitability.models import RiskAssessment
from tests.factories import make_customer, make_staff, make_unit, own


@dataclass
class Bank:
    marketing: Staff
    marketing2: Staff
    cm: Staff
    customers: list[Customer]
    r2: Product
    r4: Product


#: Tiers by customer index: 20 each of 白金 (PLATINUM), 金 (GOLD) and 普通 (ORDINARY).
TIERS = ["PLATINUM"] * 20 + ["GOLD"] * 20 + ["ORDINARY"] * 20


@pytest.fixture
def bank(db, settings, tmp_path: Path) -> Bank:
    settings.OUTBOX_DIR = tmp_path / "outbox"
    settings.LAKE_DIR = tmp_path / "lake"
    ho = make_unit("HO", "HEAD_OFFICE", None, "总行")
    b1 = make_unit("B01", "BRANCH", ho, "城东支行")
    o1 = make_unit("O0101", "OUTLET", b1, "城东网点")
    marketing = make_staff("marketing", "MARKETING", ho, "孙营销")
    marketing2 = make_staff("marketing2", "MARKETING", ho, "周审批")
    cm = make_staff("cm1", "CM", o1, "王经理")
    r2 = Product.objects.create(
        code="WM-R2",
        name="稳盈理财",
        category="WEALTH",
        seller_risk_level="R2",
        rate=Decimal("2.8"),
    )
    r4 = Product.objects.create(
        code="WM-R4", name="进取基金", category="FUND", seller_risk_level="R4"
    )
    customers = []
    today = timezone.localdate()
    consents, assessments = [], []
    for i, tier in enumerate(TIERS):
        c = make_customer(
            f"C{i + 1:05d}",
            f"客户{i + 1:02d}",
            o1,
            mobile=f"1380000{i + 1:04d}",
            email=f"c{i + 1}@example.com",
            tier=tier,
            aum=Decimal(1_000_000 - i * 10_000),
        )
        own(c, cm)
        customers.append(c)
        # SMS consent for customers 1-50 (51-60 never gave it), e-mail 1-30, phone 1-40.
        for channel, upto in (("SMS", 50), ("EMAIL", 30), ("PHONE", 40)):
            if i < upto:
                consents.append(
                    Consent(
                        customer=c,
                        channel=channel,
                        state="GIVEN",
                        on=dt.date(2025, 1, 1),
                        source="CORE",
                    )
                )
        # Every customer is assessed C3 (R2 suits, R4 does not) but customers 1-5 are C1.
        assessments.append(
            RiskAssessment(
                customer=c,
                tolerance="C1" if i < 5 else "C3",
                assessed_on=today - dt.timedelta(days=30),
                valid_until=today + dt.timedelta(days=330),
                source="BRANCH",
                customer_signed=True,
            )
        )
    Consent.objects.bulk_create(consents)
    RiskAssessment.objects.bulk_create(assessments)
    return Bank(marketing, marketing2, cm, customers, r2, r4)


def all_day(settings, tmp_path: Path) -> None:
    """Campaign rules with no quiet hours (tests that are not about them send at any hour)."""
    path = tmp_path / "campaigns.toml"
    source = Path(__file__).resolve().parents[2] / "qiao/campaigns/config/campaigns.toml"
    text = source.read_text(encoding="utf-8")
    text = text.replace('working_day = ["09:00", "20:00"]', 'working_day = ["00:00", "24:00"]')
    text = text.replace('rest_day = ["10:00", "18:00"]', 'rest_day = ["00:00", "24:00"]')
    path.write_text(text, encoding="utf-8")
    settings.CAMPAIGN_CONFIG = str(path)
    from qiao.campaigns.rules import campaign_rules

    campaign_rules.cache_clear()


@pytest.fixture
def any_hour(settings, tmp_path: Path):
    all_day(settings, tmp_path)
    yield
    from qiao.campaigns.rules import campaign_rules

    campaign_rules.cache_clear()


def sms_campaign(
    bank: Bank,
    *,
    tiers: tuple[str, ...] = ("PLATINUM", "GOLD", "ORDINARY"),
    products: tuple[str, ...] = ("WM-R2",),
    steps: list[StepData] | None = None,
    approve: bool = True,
    **extra: object,
) -> Campaign:
    segment = segment_save(
        staff=bank.marketing,
        name="目标客群",
        filters=SegmentFilters(base=CustomerFilters(tiers=tiers)),
    )
    data = CampaignData(
        name="稳盈理财推介",
        aim="CROSS_SELL",
        segment_id=segment.pk,
        starts_on=timezone.localdate(),
        product_codes=list(products),
        steps=steps
        or [
            StepData(
                channel="SMS",
                cost_per_contact=Decimal("0.05"),
                templates=[
                    TemplateData(
                        "A", "zh-hans", "尊敬的{name}，{product}年化{rate}，欢迎咨询{manager}。"
                    ),
                    TemplateData("A", "en", "Dear {name}, {product} pays {rate}."),
                ],
            )
        ],
        **extra,  # type: ignore[arg-type]
    )
    campaign = campaign_save(staff=bank.marketing, data=data)
    if approve:
        campaign_submit(staff=bank.marketing, campaign=campaign)
        campaign = campaign_approve(staff=bank.marketing2, campaign=campaign)
    return campaign
