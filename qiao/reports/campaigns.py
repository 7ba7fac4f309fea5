"""The ``campaigns`` report: the measured results of the campaigns the reader sees (treated
against control, the uplift, incremental AUM, cost, return on spend), from
:mod:`qiao.campaigns.results` as last measured — the campaign pages' figures, one row each
(docs/reports.md, "Campaign results"; docs/campaigns.md for how they are measured)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qiao.campaigns.models import CampaignStatus
from qiao.campaigns.services import campaign_results, campaigns_visible_to
from qiao.core.reports import Chart, Column, Report, ReportDef, Table, register
from qiao.org.models import Staff

#: Campaigns whose results are shown: sent and being measured, finished, or stopped.
SHOWN = (CampaignStatus.RUNNING, CampaignStatus.FINISHED, CampaignStatus.STOPPED)


def _rate(group: Mapping[str, Any] | None) -> float | None:
    group = group or {}
    n = group.get("n") or 0
    return (group.get("responders") or 0) / n if n else None


def build(staff: Staff, params: Mapping[str, str]) -> Report:
    rows = []
    for campaign in campaigns_visible_to(staff).filter(status__in=SHOWN).order_by("-starts_on"):
        results = campaign_results(campaign)
        if not results.get("measured"):
            continue
        treated, control = results.get("treated") or {}, results.get("control") or {}
        rows.append(
            {
                "campaign": campaign.name,
                "aim": str(campaign.get_aim_display()),
                "status": str(campaign.get_status_display()),
                "starts_on": campaign.starts_on,
                "treated": treated.get("n"),
                "treated_rate": _rate(treated),
                "control": control.get("n"),
                "control_rate": _rate(control),
                "uplift": results.get("uplift"),
                "incremental_aum": results.get("incremental_aum"),
                "cost": results.get("cost"),
                "roi": results.get("roi"),
            }
        )
    columns = [
        Column("campaign", _("Campaign")),
        Column("aim", _("Aim")),
        Column("status", _("Status")),
        Column("starts_on", _("Starts on"), "date"),
        Column("treated", _("Treated"), "int"),
        Column("treated_rate", _("Treated response rate"), "pct"),
        Column("control", _("Control group"), "int"),
        Column("control_rate", _("Control response rate"), "pct"),
        Column("uplift", _("Uplift"), "pct"),
        Column("incremental_aum", _("Incremental AUM"), "money"),
        Column("cost", _("Cost"), "money"),
        Column("roi", _("Return on spend"), "float"),
    ]
    return Report(
        name="campaigns",
        title=_("Campaign results"),
        tables=[
            Table(
                "campaigns",
                _("Measured campaigns"),
                columns,
                rows,
                _(
                    "Uplift: the treated group's response rate less the control group's. "
                    "Return on spend: (incremental contribution − cost) / cost."
                ),
            )
        ],
        charts=[
            Chart(
                "campaigns",
                "bar",
                _("Response rate, treated and control"),
                "campaign",
                ("treated_rate", "control_rate"),
            ),
            Chart("campaigns", "bar", _("Incremental AUM"), "campaign", ("incremental_aum",)),
        ],
    )


register(
    ReportDef(
        name="campaigns",
        title=lambda: str(gettext_lazy("Campaign results")),
        build=build,
    )
)
