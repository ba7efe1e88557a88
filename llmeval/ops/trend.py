"""Trends of a run history: an in-terminal table with sparklines, and a self-contained HTML page of SVG charts
(axes, each run's value and its 95% interval), rendered in a sandboxed, autoescaping Jinja2 environment."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmeval.ops.comparability import diff_manifests
from llmeval.ops.history import Point, RunEntry

BARS = "▁▂▃▄▅▆▇█"
WIDTH, HEIGHT, PAD = 640, 220, 48


def series(points: Sequence[Point]) -> dict[tuple[str, str, str], list[Point]]:
    """(suite, model, metric) -> its points, oldest first."""
    out: dict[tuple[str, str, str], list[Point]] = defaultdict(list)
    for p in points:
        out[(p.suite, p.model, p.metric)].append(p)
    return dict(out)


def sparkline(values: Sequence[float]) -> str:
    """One block character per value, scaled between the values' min and max."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    return "".join(BARS[int((v - low) / span * (len(BARS) - 1)) if span else len(BARS) // 2] for v in values)


def comparability(runs: Sequence[RunEntry]) -> list[str]:
    """For each run after the first: the manifest fields that differ from the run before it."""
    lines = []
    for before, after in zip(runs, runs[1:], strict=False):
        for d in diff_manifests(before.manifest, after.manifest):
            lines.append(f"{before.run_id} -> {after.run_id}: {d.describe()}")
    return lines


def trend_lines(points: Sequence[Point], runs: Sequence[RunEntry]) -> list[str]:
    """The terminal form: per series a header with its sparkline, then one line per run."""
    from llmeval.reporting.safe import display_line

    lines: list[str] = []
    for (suite, model, metric), pts in series(points).items():
        values = [p.value for p in pts]
        change = f", {values[-1] - values[-2]:+.4g} since the run before" if len(values) > 1 else ""
        lines += ["", display_line(f"{suite} / {model} / {metric}  {sparkline(values)}  last {values[-1]:.4g}{change}")]
        lines.append(f"  {'run':<28} {'started':<26} {'verdict':<8} {'accepted':<9} {'mean':>9}  95% interval      n")
        for p in pts:
            interval = f"{p.low:.4g} .. {p.high:.4g}" if p.low is not None and p.high is not None else ""
            lines.append(
                f"  {display_line(p.run_id):<28} {p.started:<26} {p.verdict:<8} {'yes' if p.accepted else '':<9} "
                f"{p.value:>9.4g}  {interval:<17} {p.n}"
            )
    notes = comparability(runs)
    if notes:
        lines += ["", "comparability (manifest fields that changed between consecutive runs):"]
        lines += [f"  {display_line(n)}" for n in notes]
    return lines


@dataclass(frozen=True)
class Chart:
    title: str
    points: list[dict[str, Any]]  # x, y, y_low, y_high, label
    ticks: list[dict[str, Any]]  # y, label
    path: str
    x_labels: list[dict[str, Any]]


def _chart(key: tuple[str, str, str], pts: Sequence[Point]) -> Chart:
    lows = [p.low if p.low is not None else p.value for p in pts]
    highs = [p.high if p.high is not None else p.value for p in pts]
    lo, hi = min(lows), max(highs)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5

    def x(i: int) -> float:
        return PAD + (WIDTH - 2 * PAD) * (i / (len(pts) - 1) if len(pts) > 1 else 0.5)

    def y(v: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * (v - lo) / (hi - lo)

    points = [
        {
            "x": round(x(i), 1),
            "y": round(y(p.value), 1),
            "y_low": round(y(lows[i]), 1),
            "y_high": round(y(highs[i]), 1),
            "label": f"{p.run_id}: {p.value:.4g}" + (f" [{p.low:.4g}, {p.high:.4g}]" if p.low is not None else ""),
            "accepted": p.accepted,
        }
        for i, p in enumerate(pts)
    ]
    ticks = [{"y": round(y(lo + (hi - lo) * k / 4), 1), "label": f"{lo + (hi - lo) * k / 4:.3g}"} for k in range(5)]
    path = " ".join(f"{'M' if i == 0 else 'L'}{p['x']},{p['y']}" for i, p in enumerate(points))
    x_labels = [{"x": p["x"], "label": f"#{pts[i].seq}"} for i, p in enumerate(points)]
    return Chart(" / ".join(key), points, ticks, path, x_labels)


TEMPLATE = Path(__file__).with_name("trend.html.j2")


def render_trend_html(points: Sequence[Point], runs: Sequence[RunEntry], path: Path, source: str) -> Path:
    """One self-contained HTML file (no script, no external resource) with a chart per series."""
    from jinja2.sandbox import SandboxedEnvironment

    from llmeval.reporting.safe import display

    env = SandboxedEnvironment(autoescape=True, finalize=lambda v: display(v) if isinstance(v, str) else v)
    charts = [_chart(key, pts) for key, pts in series(points).items()]
    html = env.from_string(TEMPLATE.read_text(encoding="utf-8")).render(
        charts=charts, runs=runs, notes=comparability(runs), source=source, width=WIDTH, height=HEIGHT, pad=PAD
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
