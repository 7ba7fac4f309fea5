"""The demo's finished campaign (issue 15): an SMS cross-sell of an R2 wealth product to the
individual 普通 customers (most of the bank, whom the cadence leaves to campaigns), drafted by one marketing manager and approved by the other 45 days
before the demo's date, sent then, followed by the message platform's delivery report and the
accounts opened in the window — both loaded through ``qiao ingest`` as a bank's later files
would be — and measured, so that its results page has numbers.

The customers who open the product are drawn at random with a higher rate among those who got
the message (8 %) than in the control group (4 %): synthetic, seeded, and only there so the
measurement has something to find.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings


def demo_campaign(*, as_of: dt.date, folder: Path, seed: int) -> dict[str, Any]:
    from qiao.campaigns.models import Campaign, CampaignStatus, Group, Message, Recipient
    from qiao.campaigns.results import measure_campaign
    from qiao.campaigns.segments import SegmentFilters, segment_save
    from qiao.campaigns.sending import send_step
    from qiao.campaigns.services import (
        CampaignData,
        StepData,
        TemplateData,
        campaign_approve,
        campaign_save,
        campaign_submit,
    )
    from qiao.customers.selectors import CustomerFilters
    from qiao.ingest.services import ingest_file
    from qiao.org.models import Role, Staff
    from qiao.products.models import Product

    makers = list(Staff.objects.filter(role=Role.MARKETING, is_active=True).order_by("username"))
    product = (
        Product.objects.filter(category="WEALTH", risk_level="R2", sale_status="ON_SALE")
        .order_by("code")
        .first()
    )
    if len(makers) < 2 or product is None:
        return {"campaign": None}
    maker, checker = makers[0], makers[1]
    start = as_of - dt.timedelta(days=45)
    segment = segment_save(
        staff=maker,
        name="普通个人客户",
        filters=SegmentFilters(base=CustomerFilters(tiers=("ORDINARY",), customer_type="P")),
        description="Demo",
    )
    campaign = campaign_save(
        staff=maker,
        data=CampaignData(
            name=f"{product.name} 开门红",
            aim="CROSS_SELL",
            segment_id=segment.pk,
            starts_on=start,
            window_days=30,
            budget=Decimal("5000"),
            product_codes=[product.code],
            steps=[
                StepData(
                    channel="SMS",
                    cost_per_contact=Decimal("0.05"),
                    templates=[
                        TemplateData(
                            "A",
                            "zh-hans",
                            "尊敬的{name}，{product}正在发售，欢迎联系您的客户经理{manager}。",
                        ),
                        TemplateData(
                            "A",
                            "zh-hant",
                            "尊敬的{name}，{product}正在發售，歡迎聯絡您的客戶經理{manager}。",
                        ),
                        TemplateData(
                            "A", "en", "Dear {name}, {product} is on sale; ask {manager}."
                        ),
                    ],
                )
            ],
        ),
    )
    campaign_submit(staff=maker, campaign=campaign)
    campaign_approve(staff=checker, campaign=campaign, note="同意")
    zone = ZoneInfo(settings.TIME_ZONE)
    sent_at = dt.datetime.combine(start, dt.time(10, 0), tzinfo=zone)
    step = campaign.steps.get(number=1)
    # The sending the worker would do, at 10:00 on the start day.
    result = send_step(step.pk, now=sent_at)
    while result.get("retry_at"):
        # Customers in their quiet or do-not-disturb hours: the worker comes back when they end.
        result = send_step(step.pk, now=result["retry_at"])

    rng = np.random.default_rng(seed + 15)
    folder.mkdir(parents=True, exist_ok=True)
    messages = list(
        Message.objects.filter(step=step, status="SENT")
        .order_by("pk")
        .values_list("external_id", flat=True)
    )
    report = folder / f"message_results_{start:%Y%m%d}.csv"
    with report.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["message_id", "status", "at", "reply"])
        for message_id in messages:
            draw = rng.random()
            at = (sent_at + dt.timedelta(minutes=int(rng.integers(1, 600)))).isoformat()
            if draw < 0.03:
                writer.writerow([message_id, "FAILED", at, ""])
            elif draw < 0.035:
                writer.writerow([message_id, "OPTED_OUT", at, "TD"])
            elif draw < 0.055:
                writer.writerow([message_id, "REPLIED", at, "请联系我"])
            else:
                writer.writerow([message_id, "DELIVERED", at, ""])
    ingest_file(report)

    recipients = list(
        Recipient.objects.filter(campaign=campaign)
        .order_by("pk")
        .values_list("customer__customer_no", "group", "customer__branch__code")
    )
    accounts = folder / f"accounts_campaign_{start:%Y%m%d}.csv"
    with accounts.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "account_no",
                "customer_no",
                "product_code",
                "open_date",
                "status",
                "balance",
                "branch_code",
            ]
        )
        for i, (customer_no, group, branch) in enumerate(recipients):
            rate = 0.08 if group == Group.TREATED else 0.04
            if rng.random() < rate:
                day = start + dt.timedelta(days=int(rng.integers(1, 29)))
                amount = int(rng.choice([50_000, 100_000, 200_000, 300_000]))
                writer.writerow(
                    [
                        f"DMC{campaign.pk:03d}{i:07d}",
                        customer_no,
                        product.code,
                        day,
                        "ACTIVE",
                        amount,
                        branch,
                    ]
                )
    ingest_file(accounts)
    results = measure_campaign(campaign, on=as_of)
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.FINISHED)
    return {
        "campaign": campaign.pk,
        "treated": results.get("treated", {}).get("n"),
        "control": results.get("control", {}).get("n"),
        "uplift": results.get("uplift"),
    }
