"""Inline SVG charts for the HTML reports: no script, no network, every label escaped."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape as _escape

from llmeval.reporting.safe import display_line

WIDTH = 360
BAR_HEIGHT = 18


def escape(text: str) -> str:
    """SVG text: control and bidi characters shown escaped, then markup-escaped."""
    return _escape(display_line(text))


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def _range(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if lo >= 0 and hi <= 1:
        return 0.0, 1.0
    if math.isclose(lo, hi):
        return lo - 0.5, hi + 0.5
    return lo, hi


def histogram(values: Sequence[float], *, title: str, bins: int = 10) -> str:
    """A score-distribution histogram as an SVG element string."""
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return ""
    lo, hi = _range(values)
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / (hi - lo) * bins))] += 1
    height, top, bottom = 120, 18, 20
    plot = height - top - bottom
    step = WIDTH / bins
    peak = max(counts)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<text x="0" y="12" class="label">{escape(title)} (n={len(values)})</text>',
    ]
    for i, count in enumerate(counts):
        h = plot * count / peak if peak else 0
        x, y = i * step + 1, top + plot - h
        tip = f"{_fmt(lo + i * (hi - lo) / bins)}–{_fmt(lo + (i + 1) * (hi - lo) / bins)}: {count}"
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{step - 2:.1f}" height="{h:.1f}">'
            f"<title>{escape(tip)}</title></rect>"
        )
    axis_y = height - 6
    parts.append(f'<text x="0" y="{axis_y}" class="axis">{escape(_fmt(lo))}</text>')
    parts.append(f'<text x="{WIDTH}" y="{axis_y}" class="axis" text-anchor="end">{escape(_fmt(hi))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def model_bars(items: Sequence[tuple[str, float, tuple[float, float] | None]], *, title: str) -> str:
    """Horizontal bars, one per model: the mean with its interval as a whisker."""
    items = [(label, mean, ci) for label, mean, ci in items if not math.isnan(mean)]
    if not items:
        return ""
    values = [m for _, m, _ in items] + [b for _, _, ci in items if ci for b in ci if not math.isnan(b)]
    lo, hi = _range(values)
    lo = min(lo, 0.0)
    label_w, top = 130, 18
    span = WIDTH - label_w - 40
    height = top + len(items) * (BAR_HEIGHT + 6) + 4

    def x_of(v: float) -> float:
        return label_w + span * (v - lo) / (hi - lo)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<text x="0" y="12" class="label">{escape(title)}</text>',
    ]
    for i, (label, mean, ci) in enumerate(items):
        y = top + i * (BAR_HEIGHT + 6)
        short = label if len(label) <= 20 else label[:19] + "…"
        parts.append(f'<text x="0" y="{y + 13}" class="axis">{escape(short)}<title>{escape(label)}</title></text>')
        parts.append(
            f'<rect class="bar" x="{x_of(lo):.1f}" y="{y}" width="{max(0.0, x_of(mean) - x_of(lo)):.1f}" '
            f'height="{BAR_HEIGHT}"><title>{escape(f"{label}: {_fmt(mean)}")}</title></rect>'
        )
        if ci and not any(math.isnan(b) for b in ci):
            mid = y + BAR_HEIGHT / 2
            parts.append(f'<line class="whisker" x1="{x_of(ci[0]):.1f}" x2="{x_of(ci[1]):.1f}" y1="{mid}" y2="{mid}"/>')
        parts.append(f'<text x="{x_of(mean) + 4:.1f}" y="{y + 13}" class="axis">{escape(_fmt(mean))}</text>')
    parts.append("</svg>")
    return "".join(parts)
