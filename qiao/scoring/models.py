"""The nightly scoring's results: one snapshot per customer per date, tier history, events."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ScoreSnapshot(models.Model):
    # No index of its own: the unique (customer, as_of) constraint's index starts with it (one
    # index less to fill for a million snapshots a night).
    customer = models.ForeignKey(
        "customers.Customer",
        models.CASCADE,
        related_name="scores",
        verbose_name=_("customer"),
        db_index=False,
    )
    as_of = models.DateField(_("as of"), db_index=True)
    aum = models.DecimalField(_("AUM"), max_digits=18, decimal_places=2)
    contribution_year = models.DecimalField(_("contribution"), max_digits=18, decimal_places=2)
    tier_pyramid = models.CharField(_("tier"), max_length=20)
    tier_deposit = models.CharField(_("deposit tier"), max_length=20)
    tier_why = models.JSONField(_("why this tier"), default=dict)
    pareto_core = models.BooleanField(_("core 20 %"), default=False)
    p_alive = models.FloatField(_("P(alive)"), null=True)
    expected_txn_12m = models.FloatField(_("expected transactions in 12 months"), null=True)
    clv = models.DecimalField(_("lifetime value"), max_digits=18, decimal_places=2, null=True)
    attrition_prob = models.FloatField(_("attrition risk"), null=True)
    attrition_reasons = models.JSONField(_("attrition reasons"), default=list)
    risk_style = models.CharField(_("risk style"), max_length=16, blank=True)
    stage = models.CharField(_("lifecycle stage"), max_length=16, blank=True)
    stage_why = models.CharField(max_length=300, blank=True)
    motive = models.CharField(_("deposit motive"), max_length=12, blank=True)
    motive_why = models.CharField(max_length=300, blank=True)
    need_mode = models.CharField(_("need mode"), max_length=8, blank=True)
    cross_sell = models.JSONField(_("cross-sell candidates"), default=list)
    features = models.JSONField(_("features"), default=dict)
    # The explanations in a language-neutral form, rendered in the reader's language by
    # qiao.scoring.explain: {"stage" | "motive" | "need_mode": {"code", "params"},
    # "attrition": [{"code", "params"}, …]}. The English texts above stay for the CLI and for
    # snapshots written before this field (and the tier's conditions live in tier_why).
    reason_codes = models.JSONField(_("reasons (codes)"), default=dict, blank=True)

    class Meta:
        verbose_name = _("score snapshot")
        verbose_name_plural = _("score snapshots")
        constraints = [
            models.UniqueConstraint(fields=["customer", "as_of"], name="uniq_score_date")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} @ {self.as_of}: {self.tier_pyramid}"


class TierHistory(models.Model):
    customer = models.ForeignKey("customers.Customer", models.CASCADE, related_name="tier_history")
    month_end = models.DateField(_("month end"))
    scheme = models.CharField(_("scheme"), max_length=16)
    tier = models.CharField(_("tier"), max_length=20)

    class Meta:
        verbose_name = _("tier history")
        verbose_name_plural = _("tier history")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "month_end", "scheme"], name="uniq_tier_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.scheme} {self.month_end}: {self.tier}"


class ScoreEvent(models.Model):
    class Kind(models.TextChoices):
        TIER_UP = "TIER_UP", _("Tier up")
        TIER_DOWN = "TIER_DOWN", _("Tier down")
        ATTRITION_UP = "ATTRITION_UP", _("Attrition risk up")
        LARGE_INFLOW = "LARGE_INFLOW", _("Large inflow")
        LARGE_OUTFLOW = "LARGE_OUTFLOW", _("Large outflow")

    customer = models.ForeignKey("customers.Customer", models.CASCADE, related_name="score_events")
    event_date = models.DateField(_("date"), db_index=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    detail = models.JSONField(_("detail"), default=dict)
    as_of = models.DateField(_("scored as of"), db_index=True)

    class Meta:
        verbose_name = _("score event")
        verbose_name_plural = _("score events")
        ordering = ["-event_date", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.customer_id} {self.event_date}"


class ModelRun(models.Model):
    """One run of the nightly scoring, with its diagnostics (for the analyst page)."""

    as_of = models.DateField(_("as of"), db_index=True)
    engine = models.CharField(_("engine"), max_length=10)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    customers = models.PositiveIntegerField(_("customers scored"), default=0)
    diagnostics = models.JSONField(_("diagnostics"), default=dict)
    ok = models.BooleanField(_("succeeded"), default=False)
    message = models.TextField(_("message"), blank=True)

    class Meta:
        verbose_name = _("scoring run")
        verbose_name_plural = _("scoring runs")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.as_of} on {self.engine}"


class TierRuleSet(models.Model):
    """The tier rules, editable by an analyst in the admin; seeded from analytics/config/tiers.toml."""

    name = models.CharField(_("name"), max_length=40, unique=True)
    rules = models.JSONField(_("rules"))
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("tier rule set")
        verbose_name_plural = _("tier rule sets")

    def __str__(self) -> str:
        return self.name
