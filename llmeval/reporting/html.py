"""The offline HTML report: one self-contained file, every piece of model or user text escaped.

Defence in depth: Jinja2 autoescaping in a sandbox, after control and bidi characters are escaped for
display; the case table's data sits in a base64 block (see `case_table`); the script only sets
``textContent``/``hidden``; and a Content-Security-Policy allows no network and runs only the report's own
script (by its hash).
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from llmeval.gate import rows as R
from llmeval.gate.verdict import build_verdict
from llmeval.records import GateRecord, Verdict
from llmeval.reporting import case_table, charts, report_view
from llmeval.reporting.report_view import ReportSection
from llmeval.reporting.safe import display
from llmeval.reporting.summary import label_of, metric_summary, status_of, suite_summary

TEMPLATES = Path(__file__).parent / "templates"
CASE_DIFFS_SHOWN = 50


def safe_json(data: Any) -> str:
    """JSON that is safe inside a ``<script type="application/json">`` block (no ``</script>``)."""
    text = json.dumps(data, ensure_ascii=False, default=str)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def environment() -> Any:
    """A sandboxed Jinja2 environment with autoescaping always on."""
    from jinja2 import FileSystemLoader
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, finalize=_display)
    env.filters["num"] = _num
    env.filters["threshold"] = _threshold
    env.filters["interval"] = _interval
    return env


def _display(value: Any) -> Any:
    """Every string a template prints is display-safe (control and bidi characters escaped); markup as is."""
    from markupsafe import Markup

    return display(value) if isinstance(value, str) and not isinstance(value, Markup) else value


def render_page(template: str, path: str | Path, **context: Any) -> Path:
    """Render a template with the shared script (allowed by its CSP hash) to ``path``."""
    from markupsafe import Markup

    script = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    html = (
        environment()
        .get_template(template)
        .render(
            script=Markup(script),
            script_hash=f"sha256-{digest}",
            generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            **context,
        )
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    try:
        return f"{float(value):.{digits}g}"
    except (TypeError, ValueError):
        return str(value)


def _interval(value: Any) -> str:
    if not value:
        return "–"
    return f"{_num(value[0])} .. {_num(value[1])}"


def _threshold(value: Any) -> str:
    if not isinstance(value, Mapping) or not value:
        return "report only"
    parts = [f">= {_num(value['min'])}" if "min" in value else "", f"<= {_num(value['max'])}" if "max" in value else ""]
    return " and ".join(p for p in parts if p)


def _metric_thresholds(case_rows: Sequence[Mapping[str, Any]]) -> dict[str, list[charts.Threshold]]:
    """Each metric's pass threshold for one case (the commonest one when suites differ), for the histograms."""
    seen: dict[str, Counter[tuple[charts.Threshold, ...]]] = {}
    for row in case_rows:
        for name, score in (row.get("scores") or {}).items():
            if isinstance(score, Mapping):
                seen.setdefault(name, Counter())[tuple(charts.thresholds_of(score.get("threshold")))] += 1
    return {name: list(counts.most_common(1)[0][0]) for name, counts in seen.items()}


def _charts(metrics: Sequence[Mapping[str, Any]], case_rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One histogram per (metric, model) with the pass threshold, a bar chart per metric with several models,
    and one latency histogram per model."""
    from markupsafe import Markup

    thresholds = _metric_thresholds(case_rows)
    out = []
    for metric in dict.fromkeys(m["metric"] for m in metrics):
        entries = [m for m in metrics if m["metric"] == metric]
        bound = thresholds.get(metric, [])
        svgs = [charts.histogram(m["values"], title=f"{metric} · {m['model']}", thresholds=bound, unit=metric) for m in entries]
        if len(entries) > 1:
            items = [(m["model"], m["mean"], m["interval"]) for m in entries]
            svgs.append(
                charts.model_bars(
                    items,
                    title=f"{metric}: mean by model (95% interval)",
                    counts=[m["n"] for m in entries],
                    unit=f"mean {metric}",
                )
            )
        out.append({"metric": metric, "svgs": [Markup(s) for s in svgs if s]})
    return out + _latency_charts(case_rows)


def _latency_charts(case_rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One histogram of the time per output for each model, in s, ms or µs (whichever fits the slowest)."""
    from markupsafe import Markup

    latency: dict[str, list[float]] = {}
    for row in case_rows:
        if isinstance(row.get("latency_s"), (int, float)) and not R.is_error(row) and not row.get("cached"):
            latency.setdefault(label_of(row), []).append(float(row["latency_s"]))
    if not latency:
        return []
    peak = max(max(v) for v in latency.values())
    name, factor = next((u for u in (("s", 1.0), ("ms", 1e3)) if peak * u[1] >= 1), ("µs", 1e6))
    svgs = [
        charts.histogram(
            [x * factor for x in v],
            title=f"latency · {model}",
            unit=f"{name} per output",
            counting="outputs",
            unit_interval=False,
        )
        for model, v in latency.items()
    ]
    return [{"metric": f"latency ({name})", "svgs": [Markup(s) for s in svgs if s]}]


def _baseline_view(diff: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not diff:
        return None
    cases = list(diff.get("cases", []))
    return {
        "path": diff.get("baseline"),
        "mismatches": diff.get("mismatches", []),
        "metrics": diff.get("metrics", []),
        "improved": [c for c in cases if c["change"] == "improved"][:CASE_DIFFS_SHOWN],
        "regressed": [c for c in cases if c["change"] == "regressed"][:CASE_DIFFS_SHOWN],
        "improved_total": sum(1 for c in cases if c["change"] == "improved"),
        "regressed_total": sum(1 for c in cases if c["change"] == "regressed"),
        "new_cases": diff.get("new_cases", [])[:CASE_DIFFS_SHOWN],
        "missing_cases": diff.get("missing_cases", [])[:CASE_DIFFS_SHOWN],
        "new_total": len(diff.get("new_cases", [])),
        "missing_total": len(diff.get("missing_cases", [])),
        "gates": diff.get("gates", []),
    }


def render_html(
    rows: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    title: str = "llmeval report",
    gates: Sequence[GateRecord] = (),
    baseline_diff: Mapping[str, Any] | None = None,
    verdict: Verdict | None = None,
    extra_sections: Sequence[ReportSection] = (),
) -> Path:
    """Write the report for a run's case rows and gate records to ``path`` and return it.

    Gate rows among ``rows`` (a results file read back) are read as records too; without ``verdict``,
    the verdict is rebuilt from the gate records. ``extra_sections`` (a model card, say) come last.
    """
    case_rows = R.case_rows(rows)
    statuses = [status_of(r) for r in case_rows]
    gates = [*gates, *(GateRecord.from_json(g) for g in R.gate_rows(rows))]
    metrics = metric_summary(case_rows)
    views = report_view.gate_views(gates)
    table = case_table.payload(case_rows, _threshold)
    verdict = verdict if verdict is not None else build_verdict(gates, baseline_diff)
    return render_page(
        "report.html.j2",
        path,
        title=title,
        verdict=verdict,
        suites=suite_summary(rows),
        metrics=metrics,
        charts=_charts(metrics, case_rows),
        case_count=len(case_rows),
        counts={s: statuses.count(s) for s in case_table.STATUSES},
        suite_names=sorted({str(r.get("suite", "")) for r in case_rows}),
        model_names=sorted({label_of(r) for r in case_rows}),
        gates=gates,
        failing=[v for v in views if v["failing"]],
        others=[v for v in views if not v["failing"]],
        first_screen_gates=report_view.FIRST_SCREEN_GATES,
        regressions=report_view.regressions(verdict, baseline_diff),
        baseline=_baseline_view(baseline_diff),
        case_limit=case_table.text_limit(len(case_rows)),
        has_samples=table["samples"],
        case_data=case_table.encode(table),
        extra_sections=list(extra_sections),
    )
