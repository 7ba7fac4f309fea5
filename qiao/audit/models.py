"""The append-only audit trail: every 360 view, reveal, change and export."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    VIEW = "VIEW", _("Viewed customer")
    REVEAL = "REVEAL", _("Revealed masked data")
    REVEAL_DENIED = "REVEAL_DENIED", _("Reveal refused")
    CHANGE = "CHANGE", _("Changed customer data")
    EXPORT = "EXPORT", _("Exported customers")
    ASSIGN = "ASSIGN", _("Assigned customers")
    SEARCH = "SEARCH", _("Searched customers")
    LOGIN = "LOGIN", _("Logged in")
    LOGIN_FAILED = "LOGIN_FAILED", _("Login failed")
    API_TOKEN = "API_TOKEN", _("API token issued")
    OFFBOARD = "OFFBOARD", _("Staff member left")
    VIEW_LIST = "VIEW_LIST", _("Viewed a customer list")
    TOKEN_REVOKE = "TOKEN_REVOKE", _("API token revoked")
    EXPORT_REQUEST = "EXPORT_REQUEST", _("Asked for a plain export")
    EXPORT_APPROVE = "EXPORT_APPROVE", _("Approved a plain export")
    EXPORT_REFUSE = "EXPORT_REFUSE", _("Refused a plain export")
    CONTACT = "CONTACT", _("Logged a contact")
    ITEM_CLOSE = "ITEM_CLOSE", _("Closed a work-list item")
    TASK_DONE = "TASK_DONE", _("Completed a task")
    COMPLAINT_NEW = "COMPLAINT_NEW", _("Filed a complaint")
    COMPLAINT_EDIT = "COMPLAINT_EDIT", _("Updated a complaint")
    REFERRAL_NEW = "REFERRAL_NEW", _("Made a referral")
    REFERRAL_EDIT = "REFERRAL_EDIT", _("Changed a referral")
    PROSPECT_EDIT = "PROSPECT_EDIT", _("Changed a prospect card")
    PLAN_NEW = "PLAN_NEW", _("Created a marketing plan")
    GROUP_EDIT = "GROUP_EDIT", _("Changed a saved customer group")
    PRODUCT_EDIT = "PRODUCT_EDIT", _("Changed a product")
    ASSESSMENT = "ASSESSMENT", _("Recorded a risk assessment")
    SUGGESTION = "SUGGESTION", _("Recorded a suggestion's outcome")
    BLOCKED = "BLOCKED", _("Unsuitable product refused")
    # Campaigns (docs/campaigns.md)
    CONSENT = "CONSENT", _("Changed marketing consent or contact preferences")
    SEGMENT_EDIT = "SEGMENT_EDIT", _("Changed a segment")
    CAMPAIGN_EDIT = "CAMPAIGN_EDIT", _("Changed a campaign")
    CAMPAIGN_SUBMIT = "CAMPAIGN_SUBMIT", _("Submitted a campaign for approval")
    CAMPAIGN_OK = "CAMPAIGN_OK", _("Approved a campaign")
    CAMPAIGN_REFUSE = "CAMPAIGN_REFUSE", _("Refused a campaign")
    CAMPAIGN_SEND = "CAMPAIGN_SEND", _("Sent a campaign step")
    CAMPAIGN_STOP = "CAMPAIGN_STOP", _("Stopped a campaign")
    CAMPAIGN_EXPORT = "CAMPAIGN_EXPORT", _("Downloaded a campaign's results")
    # Key accounts and credit risk
    KEY_ACCOUNT = "KEY_ACCOUNT", _("Changed a key-account designation or team")
    KEY_ACCOUNT_OK = "KEY_ACCOUNT_OK", _("Decided a key-account designation")
    WARNING_PROPOSE = "WARNING_PROPOSE", _("Proposed an early-warning change")
    WARNING_DECIDE = "WARNING_DECIDE", _("Decided an early-warning change")
    EXIT_PLAN = "EXIT_PLAN", _("Changed an exit plan")
    BLACKLIST = "BLACKLIST", _("Changed the blacklist")
    # Performance, reports and surveys (docs/reports.md)
    TARGET_EDIT = "TARGET_EDIT", _("Set or changed targets")
    BENCHMARK_EDIT = "BENCHMARK_EDIT", _("Entered peer benchmarks")
    REPORT_EXPORT = "REPORT_EXPORT", _("Downloaded a report")
    SURVEY_EDIT = "SURVEY_EDIT", _("Changed a survey")
    SURVEY_SEND = "SURVEY_SEND", _("Sent a survey")
    SURVEY_ANSWER = "SURVEY_ANSWER", _("Recorded a survey answer")
    WORK_ITEM_NEW = "WORK_ITEM_NEW", _("Put customers on a work list")


class AuditEvent(models.Model):
    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    # Kept as text, not a foreign key, so the record outlives any change to the staff table.
    username = models.CharField(_("who"), max_length=150, db_index=True)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices, db_index=True)
    customer_no = models.CharField(_("customer"), max_length=40, blank=True, db_index=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=8, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit trail")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.customer_no}"

    def save(self, *args: object, **kwargs: object) -> None:
        # Append-only is an invariant of the table, not a business rule: refuse any update here
        # so that no code path (admin, shell, a future service) can rewrite history.
        if self.pk is not None:
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit events are append-only")
