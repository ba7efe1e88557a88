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
            lines.append(f"  {display_line(p.run_id):<28} {p.started:<26} {p.verdict:<8} {'yes' if p.accepted else '':<9} "
                         f"{p.value:>9.4g}  {interval:<17} {p.n}")  # fmt: skip
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
    x = lambda i: PAD + (WIDTH - 2 * PAD) * (i / (len(pts) - 1) if len(pts) > 1 else 0.5)
    y = lambda v: HEIGHT - PAD - (HEIGHT - 2 * PAD) * (v - lo) / (hi - lo)
    points = [{"x": round(x(i), 1), "y": round(y(p.value), 1), "y_low": round(y(lows[i]), 1), "y_high": round(y(highs[i]), 1),
               "label": f"{p.run_id}: {p.value:.4g}" + (f" [{p.low:.4g}, {p.high:.4g}]" if p.low is not None else ""),
               "accepted": p.accepted} for i, p in enumerate(pts)]  # fmt: skip
    ticks = [{"y": round(y(lo + (hi - lo) * k / 4), 1), "label": f"{lo + (hi - lo) * k / 4:.3g}"} for k in range(5)]
    path = " ".join(f"{'M' if i == 0 else 'L'}{p['x']},{p['y']}" for i, p in enumerate(points))
    x_labels = [{"x": p["x"], "label": pts[i].run_id[-15:]} for i, p in enumerate(points)]
    return Chart(" / ".join(key), points, ticks, path, x_labels)


TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>llmeval trend</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}svg{background:#fafafa;border:1px solid #ddd}
.axis{stroke:#888}.grid{stroke:#eee}.line{fill:none;stroke:#2563eb;stroke-width:2}.ci{stroke:#93c5fd;stroke-width:6}
.pt{fill:#2563eb}.acc{fill:#16a34a}text{font-size:11px;fill:#444}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #eee}</style>
</head><body><h1>llmeval trend: {{ source }}</h1>
<p>{{ runs|length }} runs; each point is a run's mean with its 95% interval (bar); green points are accepted runs.</p>
{% for c in charts %}<h2>{{ c.title }}</h2>
<svg width="{{ width }}" height="{{ height }}" viewBox="0 0 {{ width }} {{ height }}" role="img" aria-label="{{ c.title }}">
{% for t in c.ticks %}<line class="grid" x1="{{ pad }}" x2="{{ width - pad }}" y1="{{ t.y }}" y2="{{ t.y }}"/>
<text x="{{ pad - 6 }}" y="{{ t.y + 4 }}" text-anchor="end">{{ t.label }}</text>{% endfor %}
<line class="axis" x1="{{ pad }}" x2="{{ pad }}" y1="{{ pad }}" y2="{{ height - pad }}"/>
<line class="axis" x1="{{ pad }}" x2="{{ width - pad }}" y1="{{ height - pad }}" y2="{{ height - pad }}"/>
{% for p in c.points %}<line class="ci" x1="{{ p.x }}" x2="{{ p.x }}" y1="{{ p.y_low }}" y2="{{ p.y_high }}"/>{% endfor %}
<path class="line" d="{{ c.path }}"/>
{% for p in c.points %}<circle class="{{ 'acc' if p.accepted else 'pt' }}" cx="{{ p.x }}" cy="{{ p.y }}" r="4"><title>{{ p.label }}</title></circle>{% endfor %}
{% for l in c.x_labels %}<text x="{{ l.x }}" y="{{ height - pad + 16 }}" text-anchor="middle">{{ l.label }}</text>{% endfor %}
<text x="{{ width / 2 }}" y="{{ height - 6 }}" text-anchor="middle">run</text>
</svg>{% endfor %}
<h2>Runs</h2><table><tr><th>run</th><th>started</th><th>verdict</th><th>accepted</th></tr>
{% for r in runs %}<tr><td>{{ r.run_id }}</td><td>{{ r.started }}</td><td>{{ r.verdict }}</td><td>{{ r.accepted or '' }}</td></tr>{% endfor %}
</table>
{% if notes %}<h2>Comparability</h2><ul>{% for n in notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
</body></html>
"""


def render_trend_html(points: Sequence[Point], runs: Sequence[RunEntry], path: Path, source: str) -> Path:
    """One self-contained HTML file (no script, no external resource) with a chart per series."""
    from jinja2.sandbox import SandboxedEnvironment

    from llmeval.reporting.safe import display

    env = SandboxedEnvironment(autoescape=True, finalize=lambda v: display(v) if isinstance(v, str) else v)
    charts = [_chart(key, pts) for key, pts in series(points).items()]
    html = env.from_string(TEMPLATE).render(charts=charts, runs=runs, notes=comparability(runs), source=source, width=WIDTH,
                                            height=HEIGHT, pad=PAD)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
