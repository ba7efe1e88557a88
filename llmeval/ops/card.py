"""The evaluation part of a model card (Mitchell et al. 2019, "Model Cards for Model Reporting"): evaluation data,
metrics with intervals, per-group fairness, the safety detectors' results beside their measured accuracy, the
gates and the verdict, latency and cost, caveats and the manifest.

``card_sections`` gives the sections as data (title, columns, rows, notes) for any renderer (the HTML report
can include them); ``card_markdown`` renders them as GitHub-flavoured Markdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from llmeval.gate.rows import TIMING_CAVEAT
from llmeval.ops.aggregates import metric_aggregates, usage
from llmeval.records import Results


@dataclass(frozen=True)
class Detector:
    """A safety scorer and its measured accuracy, with where the figures come from."""

    what: str
    accuracy: str
    source: str


# The one table of the detectors' measured accuracy the card cites (update it with the figures it names).
DETECTORS = {
    "pii": Detector(
        "PII leak (Presidio patterns + spaCy en_core_web_sm)",
        "held-out set, blind (232 sentences): structured entities precision 0.982, recall 0.902, F1 0.941; "
        "PERSON precision 0.816, recall 0.833; hard negatives flagged 4.8%",
        "bench/RESULTS.md, PII guardrail, held-out set BEFORE the fixes",
    ),
    "hallucination": Detector(
        "hallucination (offline grounding against the context)",
        "AUROC 0.747 (FRANK CNN/DM), 0.738 (FRANK XSum), 0.680 (FaithBench dev); balanced accuracy at the default "
        "cut 50.6% / 59.7% / 60.6%; false alarms on faithful outputs 1.4% / 3.8% / 19.4%",
        "bench/RESULTS.md, Hallucination (offline grounding)",
    ),
    "no_leak": Detector(
        "leak of listed values (prompt-injection canaries, a case's PII values)",
        "exact match of the listed strings: no false alarms by construction, but a leak that rewrites the value "
        "(paraphrase, re-formatting) is missed; on the 64 built-in injection probes fixtures/apps/docbot.py leaks "
        "on 75%, its guarded version on 0 (exact 95% upper bound 0.056)",
        "README, Prompt injection and extraction",
    ),
}
CAVEATS = (
    "Intervals are 95% and treat each case (each base case of a counterfactual set) as an independent draw from "
    "the use the suite stands for; they say nothing about inputs unlike the suite's.",
    "Detector-based metrics (PII, hallucination, injection) inherit their detector's error rates (table above): "
    "a leak rate of 0 is 0 detected leaks.",
    f"Latency and tokens/s: {TIMING_CAVEAT}. Cached outputs are left out of the timings.",
    "Fairness tables cover only the groups and attributes the suites name.",
)


@dataclass(frozen=True)
class Section:
    title: str
    columns: tuple[str, ...] = ()
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def card_sections(runs: Sequence[Results], *, cost_per_1k: float | None = None) -> list[Section]:
    """The card's sections for one or more results files (their cases, gates, verdicts and manifests)."""
    cases = [c for r in runs for c in r.cases]
    gates = [g for r in runs for g in r.gates]
    aggregates = metric_aggregates(cases)
    sections = [
        _data(runs),
        _metrics(aggregates),
        _fairness(gates),
        _safety(aggregates),
        _gates(runs),
        _usage(cases, cost_per_1k),
        Section("Caveats", notes=[f"- {c}" for c in CAVEATS]),
        _manifest(runs),
    ]
    return sections


def _data(runs: Sequence[Results]) -> Section:
    rows = []
    for run in runs:
        suites = (run.manifest.suites if run.manifest else {}) or {}
        for name in sorted({c.suite for c in run.cases}):
            entry = suites.get(name, {})
            mine = [c for c in run.cases if c.suite == name]
            sha = str(entry.get("sha256") or "")[:12]
            rows.append(
                (
                    name,
                    entry.get("path", mine[0].suite_path),
                    entry.get("version", mine[0].suite_version or ""),
                    len({c.case for c in mine}),
                    len(mine),
                    sha,
                )
            )
    return Section("Evaluation data", ("suite", "file", "version", "cases", "outputs", "sha256"), rows)


def _metrics(aggregates: Sequence[Any]) -> Section:
    rows = [
        (a.suite, a.model, a.metric, _num(a.value), _interval(a.low, a.high), f"{a.pass_rate:.1%}", a.units, a.n, a.method)
        for a in aggregates
    ]
    columns = ("suite", "model", "metric", "mean", "95% interval", "pass rate", "cases", "outputs", "interval method")
    return Section("Metrics", columns, rows)


def _fairness(gates: Sequence[Any]) -> Section:
    rows = []
    for g in gates:
        for group, stat in (g.groups or {}).items():
            interval = _interval(*stat.interval) if stat.interval else ""
            rows.append(
                (
                    g.suite,
                    g.label,
                    g.gate,
                    g.metric,
                    group,
                    _num(stat.value),
                    interval,
                    _num(stat.tpr),
                    _num(stat.fpr),
                    stat.units or stat.n,
                )
            )
    notes = [] if rows else ["No fairness or preference gate ran: no per-group figures."]
    notes += ["value: the group's selection rate or mean outcome; TPR/FPR: its true and false positive rates (equalized odds)"]
    columns = ("suite", "model", "gate", "metric", "group", "value", "95% interval", "TPR", "FPR", "units")
    return Section("Fairness (per group)", columns, rows, notes)


def _safety(aggregates: Sequence[Any]) -> Section:
    rows = []
    for a in aggregates:
        detector = DETECTORS.get(a.metric)
        if detector is not None:
            rows.append(
                (
                    a.suite,
                    a.model,
                    detector.what,
                    _num(a.value),
                    _interval(a.low, a.high),
                    f"{a.pass_rate:.1%}",
                    detector.accuracy,
                    detector.source,
                )
            )
    notes = [] if rows else ["No PII, hallucination or injection scorer ran."]
    columns = ("suite", "model", "detector", "mean score", "95% interval", "pass rate", "detector's measured accuracy", "source")
    return Section("PII, hallucination and prompt injection", columns, rows, notes)


def _gates(runs: Sequence[Results]) -> Section:
    rows = []
    for run in runs:
        for g in run.gates:
            rows.append(
                (
                    g.suite,
                    g.label,
                    g.gate,
                    g.status,
                    _num(g.value),
                    _interval(*g.interval) if g.interval else "",
                    g.threshold,
                    g.units or g.n,
                )
            )
    notes = []
    for run in runs:
        if run.verdict is not None:
            v = run.verdict
            notes.append(
                f"Verdict of run {v.run_id}: **{v.status}** ({v.total - v.failed - v.errors - v.skipped} of "
                f"{v.total} gates passed, {v.failed} failed, {v.errors} errored, {v.skipped} skipped)"
            )
            notes += [f"- {reason}" for reason in v.reasons]
    columns = ("suite", "model", "gate", "status", "value", "95% interval", "threshold", "units")
    return Section("Release gates and verdict", columns, rows, notes or ["No verdict recorded in these results."])


def _usage(cases: Sequence[Any], cost_per_1k: float | None) -> Section:
    rows = [
        (
            u.suite,
            u.model,
            u.outputs,
            u.timed,
            _num(u.latency_p50),
            _num(u.latency_p95),
            _num(u.latency_max),
            u.tokens,
            _num(u.tokens_per_s),
            "" if u.cost is None else f"{u.cost:.4g}",
        )
        for u in usage(cases, cost_per_1k)
    ]
    columns = ("suite", "model", "outputs", "timed", "latency p50 (s)", "p95 (s)", "max (s)", "tokens", "tokens/s", "cost")
    notes = [TIMING_CAVEAT] + ([] if cost_per_1k is None else [f"cost = tokens / 1000 x {cost_per_1k:g}"])
    return Section("Latency, tokens and cost", columns, rows, notes)


def _manifest(runs: Sequence[Results]) -> Section:
    rows: list[tuple[Any, ...]] = []
    for run in runs:
        m = run.manifest
        if m is None:
            continue
        rows += [(m.run_id, f"model {spec}", identity) for spec, identity in m.models.items()]
        rows += [(m.run_id, f"package {name}", v) for name, v in m.packages.items()]
        env = dict(m.environment)
        git = env.pop("git", {}) or {}
        rows += [
            (m.run_id, f"environment {k}", (", ".join(map(str, v)) or "none") if isinstance(v, list) else v)
            for k, v in env.items()
        ]
        if git:
            rows.append(
                (m.run_id, "git commit", f"{git.get('commit', '')}{' (uncommitted changes)' if git.get('dirty') else ''}")
            )
        rows.append((m.run_id, "started / finished", f"{m.started} / {m.finished}"))
    notes = [] if rows else ["These results carry no manifest (written by an older llmeval)."]
    return Section("Manifest", ("run", "field", "value"), rows, notes)


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _interval(low: float | None, high: float | None) -> str:
    return "" if low is None or high is None else f"{low:.4g} .. {high:.4g}"


def cell(value: Any) -> str:
    """A Markdown table cell: pipes escaped, HTML special characters as entities, one line."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def card_markdown(runs: Sequence[Results], *, cost_per_1k: float | None = None, title: str = "Evaluation") -> str:
    """The evaluation part of a model card as GitHub-flavoured Markdown."""
    models = sorted({c.model_label or c.model for r in runs for c in r.cases})
    lines = [f"## {cell(title)}", "", f"Models evaluated: {', '.join(f'`{cell(m)}`' for m in models) or 'none'}.", ""]
    for section in card_sections(runs, cost_per_1k=cost_per_1k):
        lines += [f"### {section.title}", ""]
        if section.rows:
            lines.append("| " + " | ".join(section.columns) + " |")
            lines.append("|" + "---|" * len(section.columns))
            lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in section.rows]
            lines.append("")
        for i, note in enumerate(section.notes):
            bullet = note.startswith("- ")
            lines.append("- " + cell(note[2:]) if bullet else cell(note))
            following = section.notes[i + 1] if i + 1 < len(section.notes) else ""
            if not (bullet and following.startswith("- ")):
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"
