"""Campaign services: draft, submit, approve (by someone other than the author), refuse, stop;
and what the pages read (visibility, progress, results). Every write checks its permission and
is audited; sending happens in the background (``qiao.campaigns.tasks``)."""

from __future__ import annotations

import datetime as dt
import secrets
import string
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core.vocab import CAMPAIGN_AIMS, CONSENT_CHANNELS, CUSTOMER_LANGUAGES
from qiao.org.models import BANKWIDE_ROLES, SUBTREE_ROLES, Staff
from qiao.org.permissions import APPROVE_CAMPAIGNS, MANAGE_CAMPAIGNS, require_perm
from qiao.products.models import Product

from .models import (
    CHANNEL_CHOICES,
    Campaign,
    CampaignStatus,
    Message,
    MessageStatus,
    Step,
    Template,
    Trigger,
)
from .rules import campaign_rules
from .segments import segment_get_for_staff

#: The variables a message template may use.
TEMPLATE_VARIABLES = ("name", "product", "manager", "outlet", "rate")
LANGUAGES = CUSTOMER_LANGUAGES.codes
MAX_STEPS = 3
#: Roles that read campaigns without making them (analysts, auditors, team leads).
READ_ROLES = BANKWIDE_ROLES | SUBTREE_ROLES

EXCLUSION_WORDS = {
    "BLACKLIST": gettext_lazy("On the blacklist"),
    "COMPLAINT": gettext_lazy("Has an open complaint"),
    "OTHER_CAMPAIGN": gettext_lazy("In another running campaign"),
    "CONTACTED": gettext_lazy("Contacted recently"),
    "CAP": gettext_lazy("At the contact limit for the week or month"),
    "NO_CONSENT": gettext_lazy("No consent for the channel"),
    "NO_ADDRESS": gettext_lazy("No address for the channel"),
    "UNSUITABLE": gettext_lazy("No campaign product suits their risk tolerance"),
    "WITHDRAWN": gettext_lazy("Withdrew consent before the send"),
}


def exclusion_words(code: str) -> str:
    return str(EXCLUSION_WORDS.get(code, code))


@dataclass
class TemplateData:
    variant: str
    language: str
    body: str
    subject: str = ""


@dataclass
class StepData:
    channel: str
    delay_days: int = 0
    min_aum: Decimal | None = None
    cost_per_contact: Decimal = Decimal("0")
    templates: list[TemplateData] = field(default_factory=list)


@dataclass
class CampaignData:
    name: str
    aim: str
    segment_id: int
    starts_on: dt.date
    steps: list[StepData]
    product_codes: list[str] = field(default_factory=list)
    window_days: int | None = None
    budget: Decimal = Decimal("0")
    control_pct: int | None = None
    exclude_complaints: bool = True
    exclude_blacklist: bool = True
    exclude_contacted_days: int | None = None
    exclude_other_campaigns: bool = True
    trigger: str = ""
    trigger_days: int | None = None


def _check_template(text: str, where: str) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ValidationError(
            {where: _("The template is not well formed: %(e)s") % {"e": exc}}
        ) from exc
    unknown = sorted(names - set(TEMPLATE_VARIABLES))
    if unknown:
        raise ValidationError(
            {
                where: _("Unknown variable %(names)s; use %(known)s.")
                % {
                    "names": ", ".join("{" + n + "}" for n in unknown),
                    "known": ", ".join("{" + n + "}" for n in TEMPLATE_VARIABLES),
                }
            }
        )


def _validate(data: CampaignData) -> None:
    errors: dict[str, list[str]] = {}
    if not data.name.strip():
        errors.setdefault("name", []).append(_("A campaign needs a name."))
    if data.aim not in CAMPAIGN_AIMS:
        errors.setdefault("aim", []).append(_("Choose one of the six aims."))
    if not data.steps:
        errors.setdefault("steps", []).append(_("A campaign needs at least one step."))
    if len(data.steps) > MAX_STEPS:
        errors.setdefault("steps", []).append(_("At most %(n)s steps.") % {"n": MAX_STEPS})
    channels = {c for c, _label in CHANNEL_CHOICES}
    for i, step in enumerate(data.steps, start=1):
        if step.channel not in channels:
            errors.setdefault("steps", []).append(_("Step %(n)s: choose a channel.") % {"n": i})
        if i > 1 and step.delay_days < 1:
            errors.setdefault("steps", []).append(
                _("Step %(n)s: a follow-up comes at least one day after the step before.")
                % {"n": i}
            )
        if step.channel in CONSENT_CHANNELS.having("message") and not step.templates:
            errors.setdefault("steps", []).append(
                _("Step %(n)s: a message channel needs a message.") % {"n": i}
            )
        for t in step.templates:
            if t.language not in LANGUAGES or t.variant not in ("A", "B", "C"):
                errors.setdefault("steps", []).append(
                    _("Step %(n)s: a message's variant or language is not valid.") % {"n": i}
                )
            if not t.body.strip():
                errors.setdefault("steps", []).append(
                    _("Step %(n)s: a message is empty.") % {"n": i}
                )
            if len(t.body) > 2000:
                errors.setdefault("steps", []).append(
                    _("Step %(n)s: a message is longer than 2,000 characters.") % {"n": i}
                )
            try:
                _check_template(t.body, "steps")
                _check_template(t.subject, "steps")
            except ValidationError as exc:
                for messages in exc.message_dict.values():
                    errors.setdefault("steps", []).extend(messages)
    if data.control_pct is not None and not 0 <= data.control_pct <= 50:
        errors.setdefault("control_pct", []).append(_("Between 0 and 50 per cent."))
    if data.budget < 0:
        errors.setdefault("budget", []).append(_("A budget cannot be negative."))
    if data.trigger and data.trigger not in Trigger.values:
        errors.setdefault("trigger", []).append(_("Choose a trigger from the list."))
    if errors:
        raise ValidationError(errors)


def campaigns_visible_to(staff: Staff) -> QuerySet[Campaign]:
    """Bank-wide roles see every campaign; an outlet head or team lead those authored in their
    subtree; anyone their own. Customer managers meet campaigns on their work list instead."""
    qs = Campaign.objects.select_related("segment", "author", "approver")
    if not staff.is_active:
        return qs.none()
    if staff.role in BANKWIDE_ROLES:
        return qs
    if staff.role in SUBTREE_ROLES and staff.unit is not None:
        return qs.filter(Q(author=staff) | Q(author__unit__path__startswith=staff.unit.path))
    return qs.filter(author=staff)


def campaign_get_for_staff(*, staff: Staff, campaign_id: int) -> Campaign:
    campaign = campaigns_visible_to(staff).filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404
    return campaign


def campaign_save(
    *, staff: Staff, data: CampaignData, campaign: Campaign | None = None
) -> Campaign:
    """Create a draft or change one (only while it is a draft or was refused)."""
    require_perm(staff, MANAGE_CAMPAIGNS)
    _validate(data)
    segment = segment_get_for_staff(staff=staff, segment_id=data.segment_id)
    products = list(Product.objects.filter(code__in=data.product_codes))
    missing = sorted(set(data.product_codes) - {p.code for p in products})
    if missing:
        raise ValidationError(
            {"products": _("Unknown product %(codes)s.") % {"codes": ", ".join(missing)}}
        )
    rules = campaign_rules()
    with transaction.atomic():
        if campaign is None:
            campaign = Campaign(author=staff)
        else:
            campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
            if campaign.author_id != staff.pk:
                raise PermissionDenied("only the author changes a campaign")
            if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.REFUSED):
                raise ValidationError(_("Only a draft can be changed."))
        campaign.name = data.name.strip()[:120]
        campaign.aim = data.aim
        campaign.segment = segment
        campaign.starts_on = data.starts_on
        campaign.window_days = data.window_days or rules.window_days
        campaign.budget = data.budget
        campaign.control_pct = rules.control_pct if data.control_pct is None else data.control_pct
        campaign.exclude_complaints = data.exclude_complaints
        # Always: a blacklisted customer gets no campaign (issue 16, the blacklist).
        campaign.exclude_blacklist = True
        campaign.exclude_contacted_days = (
            rules.exclude_contacted_days
            if data.exclude_contacted_days is None
            else data.exclude_contacted_days
        )
        campaign.exclude_other_campaigns = data.exclude_other_campaigns
        campaign.trigger = data.trigger
        campaign.trigger_days = data.trigger_days
        campaign.status = CampaignStatus.DRAFT
        campaign.save()
        campaign.products.set(products)
        campaign.steps.all().delete()
        for number, s in enumerate(data.steps, start=1):
            step = Step.objects.create(
                campaign=campaign,
                number=number,
                channel=s.channel,
                delay_days=s.delay_days if number > 1 else 0,
                min_aum=s.min_aum,
                cost_per_contact=s.cost_per_contact,
            )
            Template.objects.bulk_create(
                [
                    Template(
                        step=step,
                        variant=t.variant,
                        language=t.language,
                        subject=t.subject[:120],
                        body=t.body,
                    )
                    for t in s.templates
                ]
            )
        audit_record(
            request_or_staff=staff,
            action=Action.CAMPAIGN_EDIT,
            detail={"campaign": campaign.pk, "segment": segment.pk, "steps": len(data.steps)},
        )
    return campaign


def _transition(
    staff: Staff,
    campaign: Campaign,
    *,
    perm: str,
    allowed_from: tuple[str, ...],
    to: str,
    action: str,
    note: str = "",
    **changes: Any,
) -> Campaign:
    require_perm(staff, perm)
    campaign_get_for_staff(staff=staff, campaign_id=campaign.pk)
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status not in allowed_from:
            raise ValidationError(
                _("The campaign is %(status)s: this cannot be done now.")
                % {"status": locked.get_status_display()}
            )
        locked.status = to
        for key, value in changes.items():
            setattr(locked, key, value)
        locked.save()
        audit_record(
            request_or_staff=staff,
            action=action,
            detail={"campaign": locked.pk, "status": to, **({"note": note} if note else {})},
        )
    return locked


def campaign_submit(*, staff: Staff, campaign: Campaign) -> Campaign:
    if campaign.author_id != staff.pk:
        raise PermissionDenied("only the author submits a campaign")
    return _transition(
        staff,
        campaign,
        perm=MANAGE_CAMPAIGNS,
        allowed_from=(CampaignStatus.DRAFT, CampaignStatus.REFUSED),
        to=CampaignStatus.SUBMITTED,
        action=Action.CAMPAIGN_SUBMIT,
        submitted_at=timezone.now(),
    )


def campaign_approve(*, staff: Staff, campaign: Campaign, note: str = "") -> Campaign:
    """Approve (maker–checker: never the author) and queue the send in the background."""
    if campaign.author_id == staff.pk:
        raise PermissionDenied("a campaign is approved by someone other than its author")
    campaign = _transition(
        staff,
        campaign,
        perm=APPROVE_CAMPAIGNS,
        allowed_from=(CampaignStatus.SUBMITTED,),
        to=CampaignStatus.APPROVED,
        action=Action.CAMPAIGN_OK,
        note=note,
        approver=staff,
        decided_at=timezone.now(),
        decision_note=note[:300],
    )
    if campaign.seed is None:
        # The control group's seed, fixed and recorded before anyone is split.
        campaign.seed = secrets.randbits(62)
        Campaign.objects.filter(pk=campaign.pk).update(seed=campaign.seed)
    if not campaign.trigger:
        from .tasks import enqueue_start

        transaction.on_commit(lambda: enqueue_start(campaign.pk))
    return campaign


def campaign_refuse(*, staff: Staff, campaign: Campaign, note: str) -> Campaign:
    if campaign.author_id == staff.pk:
        raise PermissionDenied("a campaign is decided by someone other than its author")
    if not note.strip():
        raise ValidationError({"note": _("Say why the campaign is refused.")})
    return _transition(
        staff,
        campaign,
        perm=APPROVE_CAMPAIGNS,
        allowed_from=(CampaignStatus.SUBMITTED,),
        to=CampaignStatus.REFUSED,
        action=Action.CAMPAIGN_REFUSE,
        note=note,
        approver=staff,
        decided_at=timezone.now(),
        decision_note=note[:300],
    )


def campaign_stop(*, staff: Staff, campaign: Campaign) -> Campaign:
    """Stop sending: planned messages are not sent; what was sent is still measured."""
    campaign = _transition(
        staff,
        campaign,
        perm=MANAGE_CAMPAIGNS,
        allowed_from=(CampaignStatus.APPROVED, CampaignStatus.SENDING, CampaignStatus.RUNNING),
        to=CampaignStatus.STOPPED,
        action=Action.CAMPAIGN_STOP,
    )
    Message.objects.filter(step__campaign=campaign, status=MessageStatus.PLANNED).update(
        status=MessageStatus.SKIPPED, skip_reason="STOPPED"
    )
    return campaign


def campaign_progress(campaign: Campaign) -> list[dict[str, Any]]:
    """Per step: how many messages are planned, sent, not sent, and the share done."""
    counts = {
        (row["step_id"], row["status"]): row["n"]
        for row in Message.objects.filter(step__campaign=campaign)
        .values("step_id", "status")
        .annotate(n=Count("id"))
    }
    out = []
    for step in campaign.steps.order_by("number"):
        by = {s: counts.get((step.pk, s), 0) for s in MessageStatus.values}
        total = sum(by.values())
        skipped = by[MessageStatus.SKIPPED]
        planned = by[MessageStatus.PLANNED] + by[MessageStatus.SENDING]
        sent = total - skipped - planned
        done = total - planned
        out.append(
            {
                "number": step.number,
                "channel": step.get_channel_display(),
                "total": total,
                "sent": sent,
                "skipped": skipped,
                "planned": planned,
                "pct": round(100 * done / total) if total else (100 if step.sent_at else 0),
                "state_code": "SENT"
                if step.sent_at
                else "SENDING"
                if step.planned_at
                else "WAITING",
                "state": (
                    _("Sent") if step.sent_at else _("Sending") if step.planned_at else _("Waiting")
                ),
            }
        )
    return out


def campaign_results(campaign: Campaign) -> dict[str, Any]:
    """The campaign's measured return (``qiao.campaigns.results``)."""
    from .results import results_for

    return results_for(campaign)
