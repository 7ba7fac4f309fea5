"""The 360's AUM line, drawn on the server as inline SVG (decision 0008: no chart library).

One line of at most 24 points needs no 4.8 MB of plotly.js: the SVG comes with the page, so the
360 draws at first paint, under the CSP (no script, no inline style), and prints. Axis labels are
spaced from their width so they never overlap: the y axis has at most six "nice" ticks, the x axis
labels every k-th month, k chosen so that the labels fit the width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from qiao.core.ticks import nice_ticks

WIDTH, HEIGHT = 640, 260
TOP, BOTTOM, RIGHT = 28, 30, 12
FONT = 11  # px
CHAR_W = 0.62 * FONT  # a digit's advance in the UI's sans-serif, rounded up
LABEL_GAP = 12  # px between two x labels at least
RED = "#a4161a"


def _decimals(step: float) -> int:
    text = f"{step:.6f}".rstrip("0").rstrip(".")
    return len(text.split(".")[1]) if "." in text else 0


def _fmt(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def x_label_every(n: int, label_chars: int, plot_width: float) -> int:
    """Label every k-th point so that labels of ``label_chars`` characters do not touch."""
    if n <= 1:
        return 1
    need = label_chars * CHAR_W + LABEL_GAP
    return max(1, math.ceil(need / (plot_width / (n - 1))))


def aum_line_svg(points: Sequence[dict[str, Any]], *, wan: bool, title: str) -> SafeString:
    """``points`` as ``[{"month": "2025-11", "aum": 100.0}, ...]`` (yuan); ``wan`` shows 万元."""
    if not points:
        return mark_safe("")  # noqa: S308 (empty)
    values = [float(p["aum"]) / (10_000 if wan else 1) for p in points]
    months = [str(p["month"]) for p in points]
    ticks = nice_ticks(max(values))
    decimals = _decimals(ticks[1] - ticks[0]) if len(ticks) > 1 else 0
    hover_decimals = 2
    labels = [_fmt(t, decimals) for t in ticks]
    half_month = max(len(m) for m in months) * CHAR_W / 2 + 6  # x labels are centred
    left = max(max(len(s) for s in labels) * CHAR_W + 14, half_month)
    right = max(RIGHT, half_month)
    plot_w = WIDTH - left - right
    plot_h = HEIGHT - TOP - BOTTOM
    top_value = ticks[-1]

    def x(i: int) -> float:
        return left + (plot_w * i / (len(points) - 1) if len(points) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / top_value)

    parts = [
        f'<svg class="aum-svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-label="{escape(title)}" font-size="{FONT}" font-family="system-ui, sans-serif">',
        f'<text class="y-title" x="4" y="{FONT + 2}" fill="#6c757d">{escape(title)}</text>',
    ]
    for tick, label in zip(ticks, labels, strict=True):
        ty = y(tick)
        parts.append(
            f'<line x1="{left:.1f}" x2="{WIDTH - right:.1f}" y1="{ty:.1f}" y2="{ty:.1f}" '
            f'stroke="#dee2e6" stroke-width="1"/>'
            f'<text class="y-tick" x="{left - 6:.1f}" y="{ty + FONT / 3:.1f}" '
            f'text-anchor="end" fill="#495057">{label}</text>'
        )
    every = x_label_every(len(points), max(len(m) for m in months), plot_w)
    # Label the last month (the latest) and every k-th before it.
    for i in range(len(points) - 1, -1, -every):
        parts.append(
            f'<text class="x-tick" x="{x(i):.1f}" y="{HEIGHT - BOTTOM + FONT + 6:.1f}" '
            f'text-anchor="middle" fill="#495057">{escape(months[i])}</text>'
        )
    coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    parts.append(f'<polyline points="{coords}" fill="none" stroke="{RED}" stroke-width="2"/>')
    for i, v in enumerate(values):
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{RED}">'
            f"<title>{escape(months[i])}: {_fmt(v, hover_decimals)}</title></circle>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (numbers and escaped text only)
