"""The performance pages: the scorecards (own, the team's, everyone's), the home page's card,
the targets (entered, split) and the staffing (docs/reports.md).

Thin views: :mod:`.selectors` reads with the reader's scope, :mod:`.services` writes (permission
``SET_TARGETS`` first, then scope: 403, then 404; an audit row).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from qiao.analytics.scorecard import MEASURES, Period
from qiao.core.errors import ApplicationError
from qiao.core.vocab import PYRAMID_TIERS
from qiao.engagement.selectors import staff_visible_to
from qiao.org.http import StaffRequest
from qiao.org.models import BANKWIDE_ROLES, OWNER_ROLES, SUBTREE_ROLES
from qiao.org.permissions import SET_TARGETS, require_perm, staff_has_perm

from .forms import SplitForm, TargetForm
from .models import MEASURE_LABELS
from .reports import period_param
from .selectors import scorecards, staffing_rows, targets_visible_to, units_for_targets
from .services import target_set, target_split_periods, target_split_to_staff


def _period(request: StaffRequest) -> tuple[Period, str]:
    try:
        return period_param(request.GET), ""
    except ApplicationError as exc:
        return period_param({}), str(exc.message)


def _measure_rows(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "code": m.code,
            "label": MEASURE_LABELS[m.code],
            "kind": m.kind,
            **card["measures"][m.code],
        }
        for m in MEASURES
    ]


def _trend_rows(card: dict[str, Any]) -> list[dict[str, Any]]:
    t = card["trend"]
    return [
        {"month": month, "aum": a, "deposits": d, "fee": f}
        for month, a, d, f in zip(
            t["months"], t["aum_avg"], t["deposits"], t["fee_income"], strict=False
        )
    ]


def _flags(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"tier": tier, "n": n} for tier, n in card.get("grade_flags", {}).items()]


@login_required
@require_GET
def scorecard_page(request: StaffRequest) -> HttpResponse:
    """Own scorecard; the team's for an outlet head or team lead; everyone's for head office."""
    staff = request.user
    period, error = _period(request)
    as_of, cards = scorecards(staff=staff, period=period)
    own = next((c for c in cards if c["staff_no"] == staff.username), None)
    team = staff.role in SUBTREE_ROLES or staff.role in BANKWIDE_ROLES
    context = {
        "period": period,
        "period_error": error,
        "as_of": as_of,
        "own": own,
        "own_rows": _measure_rows(own) if own else [],
        "own_trend": _trend_rows(own) if own else [],
        "own_flags": _flags(own) if own else [],
        "team": team,
        "cards": cards if team else [],
        "flagged": [
            {"card": c, "flags": _flags(c)} for c in cards if team and c.get("grade_flags")
        ],
        "measures": [(m.code, MEASURE_LABELS[m.code], m.kind) for m in MEASURES],
        "can_set": staff_has_perm(staff, SET_TARGETS),
        "diamond": PYRAMID_TIERS.codes[0],
    }
    return render(request, "performance/scorecards.html", context)


@login_required
@require_GET
def scorecard_card(request: StaffRequest) -> HttpResponse:
    """The home page's card: own score and ranks this month (an htmx partial)."""
    staff = request.user
    if staff.role not in OWNER_ROLES:
        return HttpResponse("")
    period, _error = _period(request)
    try:
        as_of, cards = scorecards(staff=staff, period=period)
    except Exception:  # noqa: BLE001 — the home page stays up when the lake is not there yet
        as_of, cards = None, []
    own = next((c for c in cards if c["staff_no"] == staff.username), None)
    return render(
        request,
        "performance/_card.html",
        {"own": own, "period": period, "as_of": as_of, "own_flags": _flags(own) if own else []},
    )


@login_required
@require_http_methods(["GET", "POST"])
def target_list(request: StaffRequest) -> HttpResponse:
    """The targets the reader may see for a period; the form to set one (``SET_TARGETS``)."""
    staff = request.user
    period, error = _period(request)
    can_set = staff_has_perm(staff, SET_TARGETS)
    form = None
    if can_set or request.method == "POST":
        form = TargetForm(
            request.POST or None,
            staff_qs=staff_visible_to(staff=staff).order_by("unit__path", "name"),
            unit_qs=units_for_targets(staff=staff),
            initial={"period": period.key},
        )
    if request.method == "POST":
        require_perm(staff, SET_TARGETS)
        assert form is not None
        if form.is_valid():
            d = form.cleaned_data
            try:
                target_set(
                    staff=d["staff"],
                    unit=d["unit"],
                    period=d["period"],
                    measure=d["measure"],
                    value=d["value"],
                    by=staff,
                )
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
            else:
                messages.success(request, _("Target saved."))
                return redirect(f"{request.path}?period={d['period'].key}")
    targets = (
        targets_visible_to(staff=staff)
        .filter(period_start__gte=period.start, period_start__lte=period.end)
        .order_by("unit__path", "staff__name", "period_start", "measure")
    )
    kinds = {m.code: m.kind for m in MEASURES}
    return render(
        request,
        "performance/targets.html",
        {
            "period": period,
            "period_error": error,
            "targets": [{"t": t, "kind": kinds[t.measure]} for t in targets[:1000]],
            "form": form,
            "can_set": can_set,
            "split_choices": SplitForm().fields["to"].choices,  # type: ignore[attr-defined]
        },
    )


@login_required
@require_POST
def target_split(request: StaffRequest) -> HttpResponse:
    """Split a target: a unit's over its CMs, or a year's or quarter's into shorter periods."""
    staff = request.user
    require_perm(staff, SET_TARGETS)
    form = SplitForm(request.POST)
    if not form.is_valid():
        raise Http404
    target = get_object_or_404(targets_visible_to(staff=staff), pk=form.cleaned_data["target"])
    to = form.cleaned_data["to"]
    try:
        if to == "staff":
            if target.unit is None:
                raise ApplicationError(_("Only a unit's target splits over its customer managers."))
            parts = target_split_to_staff(
                unit=target.unit,
                period=Period(target.period_start, target.period_kind),  # type: ignore[arg-type]
                measure=target.measure,
                by=staff,
            )
        else:
            parts = target_split_periods(target=target, kind=to, by=staff)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Split into %(n)d targets.") % {"n": len(parts)})
    period = Period(target.period_start, target.period_kind)  # type: ignore[arg-type]
    return redirect(f"{reverse('performance:targets')}?period={period.key}")


@login_required
@require_GET
def staffing_page(request: StaffRequest) -> HttpResponse:
    """CMs needed per outlet against those in place (the outlet head sees their outlet's gap)."""
    rows = staffing_rows(staff=request.user)
    return render(
        request,
        "performance/staffing.html",
        {"rows": [{"unit": u, "r": r, "gap": r.gap} for u, r in rows]},
    )
