"""A report's charts drawn on the server as inline SVG (decision 0008: no chart library, no CDN).

One function, :func:`chart_svg`, draws any :class:`qiao.core.reports.Chart` from its table: bars
(grouped), stacked bars, lines and a pie. Amounts (``money``, ``wan``) are drawn in 万元, shares
as percentages; the y axis has round ticks; x labels are thinned so they do not overlap; every
text is escaped. The page's table below the chart holds the exact figures.
"""

from __future__ import annotations

import math
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from qiao.core.reports import Chart, Table

WIDTH, HEIGHT = 720, 300
TOP, BOTTOM, RIGHT = 34, 48, 16
FONT = 11
CHAR_W = 0.62 * FONT
PALETTE = ("#a4161a", "#495057", "#e85d04", "#1d3557", "#2a9d8f", "#8d99ae", "#6a4c93", "#ffb703")
#: A chart draws at most this many categories (the table has them all).
MOST = 40


def _ticks(top: float, most: int = 6) -> list[float]:
    if top <= 0:
        return [0.0, 1.0]
    raw = top / (most - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power * (most - 1) >= top)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _value(v: Any, kind: str) -> float:
    try:
        number = float(v)
    except (TypeError, ValueError):
        return 0.0
    if kind in ("money", "wan"):
        return number / 10_000
    if kind == "pct":
        return number * 100
    return number if math.isfinite(number) else 0.0


def _unit(kind: str) -> str:
    return {"money": _("万元"), "wan": _("万元"), "pct": "%"}.get(kind, "")


def _fmt(v: float, step: float) -> str:
    decimals = 0 if step >= 1 else min(3, -math.floor(math.log10(step)))
    return f"{v:,.{decimals}f}"


def chart_svg(chart: Chart, table: Table) -> SafeString:
    """``chart`` drawn from ``table``'s rows (the first :data:`MOST`)."""
    kinds = {c.key: c.kind for c in table.columns}
    labels = {c.key: c.label for c in table.columns}
    ys = [y for y in chart.y if y in kinds]
    rows = table.rows[:MOST]
    if not rows or chart.x not in kinds or not ys:
        return mark_safe("")  # noqa: S308 (empty)
    cats = [str(r.get(chart.x, "")) for r in rows]
    series = [[_value(r.get(y), kinds[y]) for r in rows] for y in ys]
    unit = _unit(kinds[ys[0]])
    title = escape(chart.title + (f" ({unit})" if unit else ""))
    head = (
        f'<svg class="report-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-label="{title}" font-size="{FONT}" font-family="system-ui, sans-serif">'
        f'<text x="4" y="{FONT + 4}" font-weight="600" fill="#212529">{title}</text>'
    )
    if chart.kind == "pie":
        return mark_safe(head + _pie(cats, series[0]) + "</svg>")  # noqa: S308 (escaped)
    body = _axes_and_marks(chart.kind, cats, series)
    legend = ""
    if len(ys) > 1:
        x = 8.0
        for i, y in enumerate(ys):
            colour = PALETTE[i % len(PALETTE)]
            legend += (
                f'<rect x="{x:.0f}" y="{HEIGHT - 14}" width="10" height="10" fill="{colour}"/>'
                f'<text x="{x + 14:.0f}" y="{HEIGHT - 5}" fill="#495057">'
                f"{escape(labels[y])}</text>"
            )
            x += 24 + len(labels[y]) * CHAR_W
    return mark_safe(head + body + legend + "</svg>")  # noqa: S308 (escaped)


def _axes_and_marks(kind: str, cats: list[str], series: list[list[float]]) -> str:
    n = len(cats)
    if kind == "stacked":
        top = max((sum(max(0.0, s[i]) for s in series) for i in range(n)), default=0.0)
    else:
        top = max((max(s) for s in series), default=0.0)
    ticks = _ticks(top)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    tick_labels = [_fmt(t, step) for t in ticks]
    left = max(len(s) for s in tick_labels) * CHAR_W + 12
    bottom = HEIGHT - BOTTOM
    plot_w, plot_h = WIDTH - left - RIGHT, bottom - TOP
    top_value = ticks[-1] or 1.0

    def y(v: float) -> float:
        return bottom - plot_h * max(0.0, v) / top_value

    parts: list[str] = []
    for t, label in zip(ticks, tick_labels, strict=True):
        parts.append(
            f'<line x1="{left:.0f}" x2="{WIDTH - RIGHT}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
            f'stroke="#dee2e6"/><text x="{left - 6:.0f}" y="{y(t) + 4:.1f}" text-anchor="end" '
            f'fill="#6c757d">{label}</text>'
        )
    slot = plot_w / max(n, 1)
    widest = max(len(c) for c in cats) * CHAR_W + 8
    every = max(1, math.ceil(widest / slot))
    for i, cat in enumerate(cats):
        if i % every == 0 or i == n - 1 and n % every == 1:
            cx = left + slot * (i + 0.5)
            parts.append(
                f'<text x="{cx:.1f}" y="{bottom + 16}" text-anchor="middle" fill="#495057">'
                f"{escape(cat)}</text>"
            )
    if kind == "line":
        for s_i, values in enumerate(series):
            colour = PALETTE[s_i % len(PALETTE)]
            pts = " ".join(
                f"{left + slot * (i + 0.5):.1f},{y(v):.1f}" for i, v in enumerate(values)
            )
            parts.append(
                f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
            for i, v in enumerate(values):
                parts.append(
                    f'<circle cx="{left + slot * (i + 0.5):.1f}" cy="{y(v):.1f}" r="2.5" '
                    f'fill="{colour}"><title>{escape(cats[i])}: {v:,.2f}</title></circle>'
                )
    else:
        groups = 1 if kind == "stacked" else len(series)
        bar_w = slot * 0.8 / groups
        for i in range(n):
            base = 0.0
            for s_i, values in enumerate(series):
                v = max(0.0, values[i])
                colour = PALETTE[s_i % len(PALETTE)]
                if kind == "stacked":
                    x0, y0, h = left + slot * (i + 0.1), y(base + v), y(base) - y(base + v)
                    base += v
                else:
                    x0, y0, h = left + slot * (i + 0.1) + bar_w * s_i, y(v), bottom - y(v)
                parts.append(
                    f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                    f'height="{h:.1f}" fill="{colour}"><title>{escape(cats[i])}: '
                    f"{values[i]:,.2f}</title></rect>"
                )
    return "".join(parts)


def _pie(cats: list[str], values: list[float]) -> str:
    total = sum(v for v in values if v > 0)
    if total <= 0:
        return ""
    cx, cy, r = 150.0, HEIGHT / 2 + 8, 110.0
    parts: list[str] = []
    angle = -math.pi / 2
    for i, (cat, v) in enumerate(zip(cats, values, strict=True)):
        if v <= 0:
            continue
        colour = PALETTE[i % len(PALETTE)]
        share = v / total
        end = angle + share * 2 * math.pi
        x1, y1 = cx + r * math.cos(angle), cy + r * math.sin(angle)
        x2, y2 = cx + r * math.cos(end), cy + r * math.sin(end)
        large = 1 if share > 0.5 else 0
        path = (
            f"M{cx:.1f},{cy:.1f} L{x1:.1f},{y1:.1f} A{r:.0f},{r:.0f} 0 {large} 1 {x2:.1f},{y2:.1f} Z"
            if share < 0.9999
            else f"M{cx - r:.1f},{cy:.1f} a{r:.0f},{r:.0f} 0 1 0 {2 * r:.0f},0 "
            f"a{r:.0f},{r:.0f} 0 1 0 {-2 * r:.0f},0"
        )
        parts.append(
            f'<path d="{path}" fill="{colour}" stroke="#fff"><title>{escape(cat)}: '
            f"{share:.1%}</title></path>"
        )
        ly = TOP + 6 + 18 * len([p for p in parts if p.startswith("<rect")])
        parts.append(
            f'<rect x="300" y="{ly:.0f}" width="10" height="10" fill="{colour}"/>'
            f'<text x="316" y="{ly + 9:.0f}" fill="#495057">{escape(cat)} · {share:.1%}</text>'
        )
        angle = end
    return "".join(parts)
