"""Inline SVG charts for the HTML reports: axes with ticks, counts, units and thresholds; no script, no network.

Every label is escaped (control and bidi characters shown, then markup-escaped): group names, model labels
and metric names come from user files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape as _escape

from llmeval.reporting.safe import display_line

Threshold = tuple[str, float]  # (">=", 0.5): the side that passes and the number
Bar = tuple[str, float, "tuple[float, float] | None"]

HIST_WIDTH, HIST_HEIGHT = 440, 210
BARS_WIDTH = 560
GATE_WIDTH, GATE_HEIGHT = 300, 44
BAR_HEIGHT, BAR_GAP = 16, 8
_SYMBOL = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}


def escape(text: str) -> str:
    """SVG text: control and bidi characters shown escaped, then markup-escaped."""
    return _escape(display_line(text))


def fmt(value: float) -> str:
    """A number in at most three significant digits (whole numbers up to a million in full), no trailing ``.0``."""
    if 1000 <= abs(value) < 1e6 and value == int(value):
        return f"{value:.0f}"
    return f"{value:.3g}"


def fmt_or_dash(value: object) -> str:
    """`fmt` for a number; a dash for None and anything that is not a finite number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return fmt(float(value))
    return "–"


def _step(lo: float, hi: float, count: int) -> float:
    raw = (hi - lo) / max(1, count - 1)
    power = 10.0 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw))


def ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    step = _step(lo, hi, count)
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int((hi - first) / step + 1e-9) + 1)]


def domain(values: Sequence[float], *, unit_interval: bool = True) -> tuple[float, float]:
    """The axis range for `values`: [0, 1] when they all lie in it (and `unit_interval`), else min..max rounded
    out to round ticks."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    if unit_interval and lo >= 0 and hi <= 1:
        return 0.0, 1.0
    if math.isclose(lo, hi):
        return lo - 0.5, hi + 0.5
    step = _step(lo, hi, 5)
    return math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step


def thresholds_of(bound: object) -> list[Threshold]:
    """A scorer's threshold mapping ({"min": 0.5}) as chart thresholds."""
    if not isinstance(bound, Mapping):
        return []
    sides = ((">=", bound.get("min")), ("<=", bound.get("max")))
    return [(op, float(v)) for op, v in sides if isinstance(v, (int, float)) and not isinstance(v, bool)]


def _open(width: int, height: int, title: str, cls: str = "chart") -> list[str]:
    return [
        f'<svg class="{cls}" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]


class _Axis:
    """A horizontal value axis from pixel `left` to `right`."""

    def __init__(self, lo: float, hi: float, left: float, right: float) -> None:
        self.lo, self.hi, self.left, self.right = lo, hi, left, right

    def x(self, value: float) -> float:
        value = min(max(value, self.lo), self.hi)
        return self.left + (self.right - self.left) * (value - self.lo) / (self.hi - self.lo)

    def draw(self, y: float, top: float, *, label: str = "", grid: bool = True) -> list[str]:
        marks = [(self.x(t), t) for t in ticks(self.lo, self.hi)]
        parts = []
        if grid:
            parts.append(f'<path class="grid" d="{"".join(f"M{x:.1f} {top}V{y}" for x, _ in marks)}"/>')
        parts.append(f'<path class="axis-line" d="M{self.left} {y}H{self.right}{"".join(f"M{x:.1f} {y}v4" for x, _ in marks)}"/>')
        parts += [f'<text class="tick" x="{x:.1f}" y="{y + 14}" text-anchor="middle">{escape(fmt(t))}</text>' for x, t in marks]
        if label:
            mid = (self.left + self.right) / 2
            parts.append(f'<text class="axis-title" x="{mid:.1f}" y="{y + 27}" text-anchor="middle">{escape(label)}</text>')
        return parts

    def threshold(self, threshold: Threshold, top: float, bottom: float, *, prefix: str = "") -> list[str]:
        op, value = threshold
        x = self.x(value)
        text = f"{prefix}{_SYMBOL.get(op, op)} {fmt(value)}"
        anchor = "end" if x > (self.left + self.right) / 2 else "start"
        dx = -3 if anchor == "end" else 3
        return [
            f'<line class="threshold" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}"><title>{escape(text)}</title></line>',
            f'<text class="threshold-label" x="{x + dx:.1f}" y="{top + 9}" text-anchor="{anchor}">{escape(text)}</text>',
        ]


def histogram(
    values: Sequence[float],
    *,
    title: str,
    bins: int = 10,
    thresholds: Sequence[Threshold] = (),
    unit: str = "score",
    counting: str = "results",
    unit_interval: bool = True,
) -> str:
    """A distribution: bars with their counts, a count axis, a value axis titled with `unit`, the pass threshold(s)."""
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return ""
    lo, hi = domain([*values, *(t[1] for t in thresholds)], unit_interval=unit_interval)
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int((v - lo) / (hi - lo) * bins)))] += 1
    left, right, top, base = 40, HIST_WIDTH - 12, 46, HIST_HEIGHT - 36
    axis, peak = _Axis(lo, hi, left, right), max(counts)
    parts = _open(HIST_WIDTH, HIST_HEIGHT, title)
    parts.append(f'<text x="4" y="13" class="label">{escape(title)}</text>')
    parts.append(f'<text x="4" y="27" class="note">n = {len(values)} {escape(counting)}; bars: {escape(counting)} per bin</text>')
    parts += axis.draw(base, top, label=unit)
    for c in [c for c in ticks(0, peak, 4) if c == int(c)] if peak else []:
        y = base - (base - top) * c / peak
        parts.append(f'<text class="tick" x="{left - 4}" y="{y + 3:.1f}" text-anchor="end">{escape(fmt(c))}</text>')
    step = (right - left) / bins
    for i, count in enumerate(counts):
        h = (base - top) * count / peak if peak else 0
        x, y = left + i * step + 1, base - h
        tip = escape(f"{fmt(lo + i * (hi - lo) / bins)} to {fmt(lo + (i + 1) * (hi - lo) / bins)}: {count} {counting}")
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{step - 2:.1f}" height="{h:.1f}"><title>{tip}</title></rect>'
        )
        if count:
            parts.append(f'<text class="count" x="{x + (step - 2) / 2:.1f}" y="{y - 2:.1f}" text-anchor="middle">{count}</text>')
    for t in thresholds:
        parts += axis.threshold(t, top - 6, base, prefix="pass ")
    parts.append("</svg>")
    return "".join(parts)


def model_bars(
    items: Sequence[Bar],
    *,
    title: str,
    counts: Sequence[int] | None = None,
    thresholds: Sequence[Threshold] = (),
    unit: str = "",
) -> str:
    """Horizontal bars, one per model or group: the mean, its interval as a whisker, the value and n in a column
    of their own (never under the whisker), a value axis with ticks and the threshold(s)."""
    rows = [(label, mean, ci, counts[i] if counts else None) for i, (label, mean, ci) in enumerate(items)]
    rows = [r for r in rows if math.isfinite(r[1])]
    if not rows:
        return ""
    spread = [b for _, _, ci, _ in rows if ci for b in ci if math.isfinite(b)]
    lo, hi = domain([*(r[1] for r in rows), *spread, *(t[1] for t in thresholds)])
    lo, zero = min(lo, 0.0), max(min(0.0, hi), lo)
    label_w, value_w, top = 150, 150, 30
    base = top + len(rows) * (BAR_HEIGHT + BAR_GAP)
    height = base + (34 if unit else 22)
    axis = _Axis(lo, hi, label_w, BARS_WIDTH - value_w)
    parts = _open(BARS_WIDTH, height, title)
    parts.append(f'<text x="4" y="13" class="label">{escape(title)}</text>')
    parts += axis.draw(base, top - 6, label=unit)
    for i, (label, mean, ci, n) in enumerate(rows):
        y = top + i * (BAR_HEIGHT + BAR_GAP)
        short = label if len(label) <= 22 else label[:21] + "…"
        parts.append(f'<text x="4" y="{y + 12}" class="tick">{escape(short)}<title>{escape(label)}</title></text>')
        parts.append(
            f'<rect class="bar" x="{min(axis.x(zero), axis.x(mean)):.1f}" y="{y}" width="{abs(axis.x(mean) - axis.x(zero)):.1f}" '
            f'height="{BAR_HEIGHT}"><title>{escape(f"{label}: {fmt(mean)}")}</title></rect>'
        )
        text = fmt(mean)
        if ci and all(math.isfinite(b) for b in ci):
            mid = y + BAR_HEIGHT / 2
            x1, x2 = axis.x(ci[0]), axis.x(ci[1])
            parts.append(f'<line class="whisker" x1="{x1:.1f}" x2="{x2:.1f}" y1="{mid}" y2="{mid}"/>')
            caps = (y + 3, y + BAR_HEIGHT - 3)
            parts += [f'<line class="whisker" x1="{x:.1f}" x2="{x:.1f}" y1="{caps[0]}" y2="{caps[1]}"/>' for x in (x1, x2)]
            text += f" [{fmt(ci[0])}, {fmt(ci[1])}]"
        text += f"  n={n}" if n is not None else ""
        parts.append(f'<text x="{BARS_WIDTH - value_w + 8}" y="{y + 12}" class="value">{escape(text)}</text>')
    for t in thresholds:
        parts += axis.threshold(t, top - 14, base)
    parts.append("</svg>")
    return "".join(parts)


def gate_chart(
    value: float | None,
    interval: tuple[float, float] | None,
    bound: float | None,
    threshold: Threshold | None,
    *,
    scale: tuple[float, float] | None,
    title: str,
) -> str:
    """One gate on its scale: the passing side shaded, the threshold line, the interval, the value and the bound."""
    points = [v for v in (value, bound, *(interval or ()), threshold[1] if threshold else None) if v is not None]
    points = [v for v in points if math.isfinite(v)]
    if not points:
        return ""
    lo, hi = scale if scale and all(map(math.isfinite, scale)) else domain(points)
    lo, hi = min(lo, *points), max(hi, *points)
    if math.isclose(lo, hi):
        lo, hi = lo - 0.5, hi + 0.5
    axis, mid = _Axis(lo, hi, 8, GATE_WIDTH - 10), 18
    parts = _open(GATE_WIDTH, GATE_HEIGHT, title, cls="gate-chart")
    if threshold:
        x = axis.x(threshold[1])
        start, end = (x, axis.right) if threshold[0] in (">=", ">") else (axis.left, x)
        parts.append(f'<rect class="pass-zone" x="{start:.1f}" y="4" width="{max(0.0, end - start):.1f}" height="24"/>')
    parts += axis.draw(30, 4, grid=False)
    if interval and all(math.isfinite(b) for b in interval):
        x1, x2 = axis.x(interval[0]), axis.x(interval[1])
        tip = escape(f"interval {fmt(interval[0])} to {fmt(interval[1])}")
        box = f'x="{x1:.1f}" y="{mid - 3}" width="{max(1.0, x2 - x1):.1f}" height="6"'
        parts.append(f'<rect class="interval" {box}><title>{tip}</title></rect>')
    if bound is not None and math.isfinite(bound):
        x, tip = axis.x(bound), escape(f"bound {fmt(bound)}")
        parts.append(f'<line class="bound" x1="{x:.1f}" x2="{x:.1f}" y1="{mid - 8}" y2="{mid + 8}"><title>{tip}</title></line>')
    if value is not None and math.isfinite(value):
        tip = escape(f"value {fmt(value)}")
        parts.append(f'<circle class="point" cx="{axis.x(value):.1f}" cy="{mid}" r="4"><title>{tip}</title></circle>')
    if threshold:
        x, tip = axis.x(threshold[1]), escape(f"threshold {_SYMBOL.get(threshold[0], threshold[0])} {fmt(threshold[1])}")
        parts.append(f'<line class="threshold" x1="{x:.1f}" x2="{x:.1f}" y1="2" y2="30"><title>{tip}</title></line>')
    parts.append("</svg>")
    return "".join(parts)
