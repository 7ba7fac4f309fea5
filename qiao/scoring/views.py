"""The analyst page: the tier pyramid, the model diagnostics and when each model last ran."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from qiao.core.tiers import tier_label
from qiao.org.http import StaffRequest
from qiao.scoring import selectors
from qiao.scoring.explain import coded_texts, feature_label, warning_texts
from qiao.suitability.suggestions import suggestion_evaluation


def _chart_data(view: dict[str, Any]) -> dict[str, Any]:
    """What analyst.js draws (read from a json_script element: the CSP forbids inline scripts)."""
    if not view.get("has_run"):
        return {}
    return {
        "pyramid": [{"label": tier_label(row["code"]), "n": row["n"]} for row in view["pyramid"]],
        "deposit": [{"label": row["label"], "n": row["n"]} for row in view["deposit"]],
        "holdout": [
            {
                "x": str(row.get("frequency_cal")),
                "actual": row.get("actual_mean"),
                "predicted": row.get("predicted_mean"),
            }
            for row in view["clv"]["holdout"]
            if str(row.get("frequency_cal")) != "total"
        ],
        "silhouette": view["riskstyle"]["silhouette"],
        "importance": [
            {"name": feature_label(k), "value": v} for k, v in view["attrition"]["importance"]
        ],
        "text": {
            "customers": _("Customers"),
            "actual": _("Actual"),
            "predicted": _("Predicted (BG/NBD)"),
            "frequency": _("Repeat transactions in the calibration period"),
            "mean_holdout": _("Mean repeat transactions in the holdout period"),
            "k": _("Number of clusters k"),
            "silhouette": _("Silhouette"),
            "chosen": _("chosen"),
            "importance": _("Importance"),
        },
    }


@login_required
@require_GET
def analyst(request: StaffRequest) -> HttpResponse:
    if not selectors.can_see_analyst_page(request.user):
        raise Http404("No such page.")
    view = selectors.analyst_overview()
    if view.get("run") is not None:
        # The run's own warnings in the reader's language (library messages stay as written).
        diag = view["run"].diagnostics or {}
        view["warnings"] = warning_texts(diag)
        rs = diag.get("riskstyle") or {}
        view["riskstyle"]["warnings"] = coded_texts(rs.get("warnings"), rs.get("warning_codes"))
        metrics = view["attrition"]["metrics"]
        view["attrition"]["notes"] = coded_texts(metrics.get("notes"), metrics.get("note_codes"))
    # The next-best products: take-up, and suggested customers against the hold-back.
    view["suggestion_eval"] = suggestion_evaluation()
    view["suggestion_tables"] = [
        (_("Take-up per reason"), view["suggestion_eval"]["by_reason"], "table-suggest-reasons"),
        (_("Take-up per product"), view["suggestion_eval"]["by_product"], "table-suggest-products"),
    ]
    return render(request, "scoring/analyst.html", {**view, "chart_data": _chart_data(view)})
