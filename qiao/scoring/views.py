"""The analyst page: the tier pyramid, the model diagnostics and when each model last ran."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET

from qiao.core.tiers import tier_label
from qiao.org.http import StaffRequest
from qiao.scoring import selectors
from qiao.scoring.charts import calibration_svg
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


#: The baselines the attrition model is compared with (keys of ``metrics["baselines"]``).
BASELINE_LABELS = {
    "aum_trend_3m": _lazy("Rank by AUM trend, 3 months (largest fall first)"),
    "logistic": _lazy("Logistic regression on the same features"),
}


def _attrition_evaluation(metrics: dict[str, Any]) -> dict[str, Any]:
    """The model against its baselines on the same validation rows, and the calibration plot."""
    rows = [
        {
            "label": _("This model (gradient-boosted trees)"),
            "model": True,
            **{k: metrics.get(k) for k in ("auc", "top_decile_precision", "top_decile_recall")},
        }
    ]
    for key, values in (metrics.get("baselines") or {}).items():
        label = BASELINE_LABELS.get(key)
        if label is None or not isinstance(values, dict):
            continue
        rows.append({"label": str(label), "model": False, **values})
    calibration = metrics.get("calibration") or []
    svg = calibration_svg(
        calibration,
        title=_("Attrition: predicted against observed, by decile of the prediction"),
        x_title=_("Predicted attrition (mean of the decile)"),
        y_title=_("Observed attrition"),
    )
    return {
        "comparison": rows if metrics.get("top_decile_precision") is not None else [],
        "calibration": calibration,
        "calibration_svg": svg,
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
        view["attrition"].update(_attrition_evaluation(metrics))
    # The next-best products: take-up, and suggested customers against the hold-back.
    view["suggestion_eval"] = suggestion_evaluation()
    view["suggestion_tables"] = [
        (_("Take-up per reason"), view["suggestion_eval"]["by_reason"], "table-suggest-reasons"),
        (_("Take-up per product"), view["suggestion_eval"]["by_product"], "table-suggest-products"),
    ]
    return render(request, "scoring/analyst.html", {**view, "chart_data": _chart_data(view)})
