"""The campaign page's charts, drawn on the server as inline SVG (decision 0008: no chart library).

* :func:`rates_svg` — response rate of the treated and of the control group, two bars;
* :func:`uplift_svg` — the uplift (percentage points) with its 95 % interval drawn as an interval
  on an axis through zero, so a reader sees at once whether the interval crosses zero;
* :func:`groups_svg` — treated and control rates side by side for each step or variant.

Every value is written on its bar or point, so no axis ticks are needed; labels are escaped.
The SVGs come with the page: no script, allowed by the CSP, printable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

FONT = 12
TREATED = "#a4161a"
CONTROL = "#6c757d"
GRID = "#dee2e6"
TEXT = "#212529"


def _rate(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def pct(value: Any, places: int = 1) -> str:
    """A share 0–1 as a percentage (``12.3%``); ``—`` when unknown."""
    number = _rate(value)
    return "—" if number is None else f"{number * 100:.{places}f}%"


def points(value: Any, places: int = 1) -> str:
    """A difference of shares as signed percentage points (``+2.4 pp``)."""
    number = _rate(value)
    if number is None:
        return "—"
    return _("%(n)s pp") % {"n": f"{number * 100:+.{places}f}"}


def _open(width: int, height: int, title: str, css: str) -> str:
    return (
        f'<svg class="{css}" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" font-size="{FONT}" font-family="system-ui, sans-serif">'
        f"<title>{escape(title)}</title>"
    )


def _rate_of(group: Mapping[str, Any] | None) -> float | None:
    if not group:
        return None
    return _rate(group.get("rate"))


def rates_svg(results: Mapping[str, Any]) -> SafeString:
    """Two bars: the treated group's and the control group's response rate."""
    bars = [
        (_("Treated"), _rate_of(results.get("treated")), (results.get("treated") or {}), TREATED),
        (_("Control"), _rate_of(results.get("control")), (results.get("control") or {}), CONTROL),
    ]
    width, height, top, bottom, left = 360, 220, 24, 44, 20
    plot_h = height - top - bottom
    highest = max([r for _l, r, _g, _c in bars if r is not None] or [0.0]) or 0.01
    scale = plot_h / (highest * 1.15)
    bar_w, gap = 90, 60
    title = _("Response rate, treated and control")
    parts = [_open(width, height, title, "campaign-rates")]
    base_y = top + plot_h
    parts.append(
        f'<line x1="{left}" x2="{width - left}" y1="{base_y}" y2="{base_y}" stroke="{GRID}"/>'
    )
    for i, (label, rate, group, colour) in enumerate(bars):
        x = left + 40 + i * (bar_w + gap)
        h = (rate or 0.0) * scale
        parts.append(
            f'<rect class="bar" x="{x}" y="{base_y - h:.1f}" width="{bar_w}" height="{h:.1f}" '
            f'fill="{colour}"><title>{escape(label)}: {pct(rate)}</title></rect>'
        )
        parts.append(
            f'<text class="value" x="{x + bar_w / 2}" y="{base_y - h - 6:.1f}" '
            f'text-anchor="middle" fill="{TEXT}">{pct(rate)}</text>'
        )
        n = group.get("n")
        responders = group.get("responders")
        detail = (
            _("%(r)s of %(n)s") % {"r": f"{int(responders):,}", "n": f"{int(n):,}"}
            if n is not None and responders is not None
            else ""
        )
        parts.append(
            f'<text class="label" x="{x + bar_w / 2}" y="{base_y + FONT + 6}" '
            f'text-anchor="middle" fill="{TEXT}">{escape(label)}</text>'
            f'<text class="detail" x="{x + bar_w / 2}" y="{base_y + 2 * FONT + 10}" '
            f'text-anchor="middle" fill="{CONTROL}">{escape(detail)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (numbers and escaped text only)


def uplift_svg(results: Mapping[str, Any]) -> SafeString:
    """The uplift as a point on an axis through zero, its 95 % interval as a line with caps."""
    uplift = _rate(results.get("uplift"))
    low, high = _rate(results.get("ci_low")), _rate(results.get("ci_high"))
    title = _("Uplift with its 95% interval")
    if uplift is None:
        return mark_safe("")  # noqa: S308 (empty)
    low = uplift if low is None else low
    high = uplift if high is None else high
    lo_axis, hi_axis = min(low, 0.0), max(high, 0.0)
    span = (hi_axis - lo_axis) or 0.01
    lo_axis -= span * 0.12
    hi_axis += span * 0.12
    width, height, left, right, mid = 520, 110, 30, 30, 52

    def x(v: float) -> float:
        return left + (width - left - right) * (v - lo_axis) / (hi_axis - lo_axis)

    parts = [_open(width, height, title, "campaign-uplift")]
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{mid + 24}" y2="{mid + 24}" stroke="{GRID}"/>'
    )
    zero = x(0.0)
    parts.append(
        f'<line class="zero" x1="{zero:.1f}" x2="{zero:.1f}" y1="14" y2="{mid + 30}" '
        f'stroke="{CONTROL}" stroke-dasharray="4 3"/>'
        f'<text x="{zero:.1f}" y="{mid + 44}" text-anchor="middle" fill="{CONTROL}">0</text>'
    )
    x_low, x_high, x_mid = x(low), x(high), x(uplift)
    parts.append(
        f'<line class="interval" x1="{x_low:.1f}" x2="{x_high:.1f}" y1="{mid}" y2="{mid}" '
        f'stroke="{TREATED}" stroke-width="3"/>'
        f'<line x1="{x_low:.1f}" x2="{x_low:.1f}" y1="{mid - 8}" y2="{mid + 8}" '
        f'stroke="{TREATED}" stroke-width="2"/>'
        f'<line x1="{x_high:.1f}" x2="{x_high:.1f}" y1="{mid - 8}" y2="{mid + 8}" '
        f'stroke="{TREATED}" stroke-width="2"/>'
        f'<circle class="estimate" cx="{x_mid:.1f}" cy="{mid}" r="6" fill="{TREATED}">'
        f"<title>{escape(title)}: {points(uplift)} ({points(low)} … {points(high)})</title>"
        f"</circle>"
        f'<text class="estimate-label" x="{x_mid:.1f}" y="{mid - 14}" text-anchor="middle" '
        f'fill="{TEXT}">{escape(points(uplift))}</text>'
        f'<text class="low" x="{x_low:.1f}" y="{mid + 22}" text-anchor="middle" '
        f'fill="{TEXT}">{escape(points(low))}</text>'
        f'<text class="high" x="{x_high:.1f}" y="{mid + 22}" text-anchor="middle" '
        f'fill="{TEXT}">{escape(points(high))}</text>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (numbers and escaped text only)


def groups_svg(rows: Sequence[Mapping[str, Any]], *, title: str) -> SafeString:
    """For each row (``label``, ``treated``, ``control``), the two rates side by side."""
    if not rows:
        return mark_safe("")  # noqa: S308 (empty)
    row_h, top, left, right = 44, 8, 150, 70
    width = 560
    height = top + row_h * len(rows) + 8
    rates = [_rate_of(r.get(g)) for r in rows for g in ("treated", "control")]
    highest = max([r for r in rates if r is not None] or [0.0]) or 0.01
    plot_w = width - left - right
    parts = [_open(width, height, title, "campaign-groups")]
    for i, row in enumerate(rows):
        y = top + i * row_h
        parts.append(
            f'<text class="label" x="{left - 8}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" '
            f'fill="{TEXT}">{escape(str(row.get("label", "")))}</text>'
        )
        for j, (group, colour, name) in enumerate(
            (("treated", TREATED, _("Treated")), ("control", CONTROL, _("Control")))
        ):
            rate = _rate_of(row.get(group))
            w = plot_w * (rate or 0.0) / highest
            by = y + 4 + j * 17
            parts.append(
                f'<rect class="bar {group}" x="{left}" y="{by}" width="{w:.1f}" height="14" '
                f'fill="{colour}"><title>{escape(name)}: {pct(rate)}</title></rect>'
                f'<text x="{left + w + 4:.1f}" y="{by + 11}" fill="{TEXT}">'
                f"{escape(name)} {pct(rate)}</text>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (numbers and escaped text only)
