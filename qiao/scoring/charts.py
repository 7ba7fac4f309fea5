"""The attrition model's calibration plot, drawn on the server as inline SVG (decision 0008).

Predicted against observed attrition by decile of the predicted probability (the reliability
diagram): one point per decile, the diagonal where a calibrated model's points lie. Both axes run
from 0 to the same round top, so the diagonal is the 45° line; the points are joined left to
right. No script and no chart library: the SVG comes with the page, under the CSP, and prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from qiao.core.ticks import nice_ticks

WIDTH, HEIGHT = 360, 300
LEFT, RIGHT, TOP, BOTTOM = 52, 14, 14, 44
FONT = 11
LINE = "#0d6efd"
GREY = "#6c757d"


def probability_ticks(top: float) -> list[float]:
    """0 and four or five equal round steps (1, 2 or 5 × 10^n) up to at least ``top`` (0–1)."""
    top = min(max(top, 1e-4), 1.0)
    return [round(t, 12) for t in nice_ticks(top, 6, (1, 2, 5, 10))]


def _pct(value: float, decimals: int) -> str:
    return f"{value * 100:.{decimals}f}%"


def calibration_svg(
    rows: Sequence[dict[str, Any]], *, title: str, x_title: str, y_title: str
) -> SafeString:
    """``rows`` as :func:`qiao.analytics.attrition.calibration_table` gives them
    (``predicted``, ``observed`` per decile); empty when there are none."""
    points = [
        (float(r["predicted"]), float(r["observed"]))
        for r in rows
        if r.get("predicted") is not None and r.get("observed") is not None
    ]
    if not points:
        return mark_safe("")  # noqa: S308 (empty)
    ticks = probability_ticks(max(max(p for p, _ in points), max(o for _, o in points)))
    top = ticks[-1]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else top
    decimals = 0 if step * 100 >= 1 else (1 if step * 1000 >= 1 else 2)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM

    def x(v: float) -> float:
        return LEFT + plot_w * v / top

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    parts = [
        f'<svg class="calibration-svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-label="{escape(title)}" font-size="{FONT}" font-family="system-ui, sans-serif">',
        f"<title>{escape(title)}</title>",
    ]
    for t in ticks:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
            f'stroke="#dee2e6"/>'
            f'<text x="{LEFT - 6}" y="{y(t) + 4:.1f}" text-anchor="end" fill="{GREY}">'
            f"{_pct(t, decimals)}</text>"
            f'<text x="{x(t):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" fill="{GREY}">'
            f"{_pct(t, decimals)}</text>"
        )
    parts.append(
        f'<line class="diagonal" x1="{x(0):.1f}" y1="{y(0):.1f}" x2="{x(top):.1f}" '
        f'y2="{y(top):.1f}" stroke="{GREY}" stroke-dasharray="4 3"/>'
    )
    path = " ".join(f"{x(p):.1f},{y(o):.1f}" for p, o in points)
    parts.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="1.5"/>')
    for i, (p, o) in enumerate(points, start=1):
        parts.append(
            f'<circle class="decile" cx="{x(p):.1f}" cy="{y(o):.1f}" r="3.5" fill="{LINE}">'
            f"<title>{i}: {_pct(p, 2)} → {_pct(o, 2)}</title></circle>"
        )
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
        f'fill="{GREY}">{escape(x_title)}</text>'
        f'<text transform="translate(12 {TOP + plot_h / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle" fill="{GREY}">{escape(y_title)}</text>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (numbers and escaped text only)
