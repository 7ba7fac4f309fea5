"""The demo's satisfaction surveys (issue 17 item 6): the built-in surveys, three months of
contacts by the customers' managers (and a few complaints resolved), the daily invitation step
run for each of those days (consent and the interval apply as every night), a third of the
invitations answered, and seed 002's e-banking intercept questionnaires at the outlets — the
answers loaded through ``qiao ingest`` (kind ``survey_answers``) as a bank's files would be.

Synthetic and seeded: each customer manager has a service quality drawn once, which tilts their
customers' scores, so that CSAT and NPS differ between managers and outlets; the e-banking
answers lean towards the seed's finding (online payment and bill payment as the main needs).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
from django.utils import timezone

HEADER = [
    "survey",
    "questionnaire_no",
    "question",
    "answer",
    "answered_on",
    "token",
    "customer_no",
    "outlet_code",
    "valid",
]
DAYS = 90
COMMENTS = [
    "服务很周到，谢谢",
    "等候时间有点长",
    "客户经理很专业",
    "希望多介绍理财产品",
    "手机银行转账很方便",
    "网点停车不方便",
    "解释得很清楚",
    "希望能代缴水电费",
]


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


def _choice(rng: np.random.Generator, codes: list[str], weights: list[float]) -> str:
    p = np.asarray(weights, dtype=float)
    return str(codes[int(rng.choice(len(codes), p=p / p.sum()))])


def demo_surveys(*, as_of: dt.date, folder: Path, seed: int) -> dict[str, Any]:
    from qiao.customers.models import Customer
    from qiao.engagement.models import Complaint, ComplaintStatus, Contact
    from qiao.ingest.services import ingest_file
    from qiao.org.models import OrgUnit
    from qiao.surveys.invite import surveys_invite
    from qiao.surveys.models import Invitation, Survey
    from qiao.surveys.services import surveys_load_builtin

    rng = np.random.default_rng(seed + 17)
    surveys_load_builtin()
    owned = list(
        Customer.objects.filter(primary_manager__isnull=False)
        .order_by("pk")
        .values_list("pk", "primary_manager_id")
    )
    if not owned:
        return {"surveys": 0}
    # About one managed customer in four is called or met in the three months (some twice).
    n_contacts = max(1, len(owned) // 4)
    picks = rng.integers(0, len(owned), n_contacts)
    first = as_of - dt.timedelta(days=DAYS - 1)
    contacts, complaints = [], []
    for i in picks.tolist():
        cid, staff_id = owned[i]
        day = first + dt.timedelta(days=int(rng.integers(0, DAYS)))
        contacts.append(
            Contact(
                customer_id=cid,
                staff_id=staff_id,
                channel=_choice(rng, ["PHONE", "MEETING", "OUTLET"], [6, 2, 2]),
                at=_at(day, int(rng.integers(9, 18))),
                summary="回访",
            )
        )
        if rng.random() < 0.04:
            complaints.append(
                Complaint(
                    customer_id=cid,
                    received_at=_at(day - dt.timedelta(days=3), 10),
                    subject="排队时间过长",
                    deadline=day,
                    owner_id=staff_id,
                    status=ComplaintStatus.RESOLVED,
                    resolution="已致歉并安排预约办理",
                    resolved_at=_at(day, 16),
                )
            )
    Contact.objects.bulk_create(contacts, batch_size=2000)
    Complaint.objects.bulk_create(complaints, batch_size=2000)
    invited = 0
    day = first
    while day <= as_of:
        invited += surveys_invite(day=day, now=_at(day + dt.timedelta(days=1), 9))["invited"]
        day += dt.timedelta(days=1)
    # Each manager's service quality, drawn once: it tilts their customers' scores.
    staff_ids = sorted({s for _c, s in owned})
    quality = dict(zip(staff_ids, rng.normal(0.0, 0.7, len(staff_ids)).tolist(), strict=True))
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[list[str]] = []
    answered = 0
    for inv in (
        Invitation.objects.filter(sent_on__gte=first, sent_on__lte=as_of)
        .select_related("survey", "customer")
        .order_by("pk")
    ):
        if rng.random() > 0.35:
            continue
        answered += 1
        q = quality.get(inv.staff_id or 0, 0.0)
        on = min(as_of, inv.sent_on + dt.timedelta(days=int(rng.integers(0, 4))))
        csat = int(np.clip(round(rng.normal(4.0 + q, 0.9)), 1, 5))
        nps = int(np.clip(round(rng.normal(7.6 + 1.6 * q, 1.8)), 0, 10))
        ref = f"R{inv.pk:07d}"
        base = [on.isoformat(), inv.token, inv.customer.customer_no, "", "Y"]
        rows.append([inv.survey.code, ref, "csat", str(csat), *base])
        if rng.random() < 0.9:
            rows.append([inv.survey.code, ref, "nps", str(nps), *base])
        if inv.survey.code == "after-complaint":
            resolved = "YES" if csat >= 4 else "PARTLY" if csat == 3 else "NO"
            rows.append([inv.survey.code, ref, "resolved", resolved, *base])
        if rng.random() < 0.25:
            rows.append(
                [inv.survey.code, ref, "comment", COMMENTS[int(rng.integers(len(COMMENTS)))], *base]
            )
    # Seed 002 R7: intercept questionnaires at the outlets, one per 25 customers, about 3 % invalid.
    outlets = list(
        OrgUnit.objects.filter(level="OUTLET").order_by("code").values_list("code", flat=True)
    )
    n_eb = (
        min(3000, max(20, Customer.objects.count() // 25))
        if outlets and Survey.objects.filter(code="ebanking").exists()
        else 0
    )
    for k in range(n_eb):
        outlet = outlets[int(rng.integers(len(outlets)))]
        on = first + dt.timedelta(days=int(rng.integers(0, DAYS)))
        ref = f"EB{k + 1:06d}"
        base = [on.isoformat(), "", "", outlet, "N" if rng.random() < 0.03 else "Y"]
        usage = _choice(rng, ["ONLINE", "MOBILE", "BOTH", "PHONE", "NONE"], [14, 22, 12, 4, 48])
        rows.append(["ebanking", ref, "usage", usage, *base])
        willing = _choice(rng, ["WILLING", "MAYBE", "UNWILLING"], [45, 35, 20])
        rows.append(["ebanking", ref, "willingness", willing, *base])
        need = _choice(
            rng,
            ["ONLINE_PAYMENT", "BILL_PAYMENT", "TRANSFER", "ENQUIRY", "WEALTH", "OTHER"],
            [34, 29, 14, 12, 7, 4],
        )
        rows.append(["ebanking", ref, "main_need", need, *base])
        if usage == "NONE" or rng.random() < 0.4:
            obstacle = _choice(
                rng,
                ["SECURITY", "SKILLS", "NO_NEED", "FEW_FUNCTIONS", "NO_DEVICE"],
                [30, 28, 20, 12, 10],
            )
            rows.append(["ebanking", ref, "obstacle", obstacle, *base])
        if usage != "NONE":
            score = int(np.clip(round(rng.normal(3.9, 0.8)), 1, 5))
            rows.append(["ebanking", ref, "satisfaction", str(score), *base])
        if rng.random() < 0.05:
            rows.append(["ebanking", ref, "comment", "希望增加网上缴费种类", *base])
    path = folder / f"survey_answers_{as_of:%Y%m%d}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    result = ingest_file(path)
    return {
        "contacts": len(contacts),
        "complaints": len(complaints),
        "invited": invited,
        "answered": answered,
        "questionnaires": n_eb,
        "loaded_rows": result.loaded + result.updated + result.unchanged,
        "rejected": result.rejected,
    }
