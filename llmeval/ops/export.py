"""The one end-of-run entry of the production exports: history, Prometheus textfile and Pushgateway, MLflow.

``export_run`` is called by ``llmeval.reporting.outputs.write_outputs`` (both front ends) after the results,
baseline and HTML are written; each export runs only when its setting is given. A file that cannot be
written goes to the run's fallback; a store or endpoint that refuses (MLflow, Pushgateway, a locked history)
is an LlmevalError naming the option.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmeval.errors import LlmevalError
from llmeval.records import CaseRecord, GateRecord, Manifest, Verdict

Guard = Callable[[str, Path, Callable[[Path], Any]], tuple[Path, Any]]
Written = list[tuple[str, Path]]


@dataclass(frozen=True)
class Run:
    """What every export reads: the settings, the records and the run's aggregates."""

    settings: Any
    root: Path
    write: Guard
    cases: Sequence[CaseRecord]
    gates: Sequence[GateRecord]
    verdict: Verdict
    manifest: Manifest | None
    aggregates: Sequence[Any]
    usage: Sequence[Any]


def wanted(settings: Any) -> bool:
    return any(getattr(settings, name, None) for name in ("history", "mlflow", "prometheus", "pushgateway"))


def export_run(
    settings: Any,
    root: Path,
    cases: Sequence[CaseRecord],
    gates: Sequence[GateRecord],
    verdict: Verdict,
    manifest: Manifest | None,
    written: Sequence[tuple[str, Path]],
    *,
    guard: Guard | None = None,
    on_error: Callable[[str], None] | None = None,
) -> Written:
    """Export the run as the settings ask; returns (kind, path) of what was written or logged.

    An export that fails (an LlmevalError naming the option) goes to `on_error` and the others still run;
    without `on_error` it propagates.
    """
    if not wanted(settings):
        return []
    from llmeval.ops.aggregates import metric_aggregates, usage

    write = guard or (lambda what, path, fn: (path, fn(path)))
    run = Run(
        settings, root, write, cases, gates, verdict, manifest, metric_aggregates(cases), usage(cases, settings.cost_per_1k)
    )
    out: Written = []
    for export in (_history, _prometheus, _mlflow):
        try:
            out += export(run, [*written, *out])
        except LlmevalError as exc:
            if on_error is None:
                raise
            on_error(str(exc))
    return out


def _history(run: Run, written: Written) -> Written:
    if not run.settings.history:
        return []
    from llmeval.ops.history import History, run_record

    record = run_record(run.cases, run.gates, run.verdict, run.manifest, aggregates=run.aggregates, usage=run.usage)
    path, _ = run.write("run history", run.settings.history_path(run.root), lambda p: History(p).append(record))
    return [("history", path)]


def _prometheus(run: Run, written: Written) -> Written:
    settings = run.settings
    if not (settings.prometheus or settings.pushgateway):
        return []
    from llmeval.ops import prometheus

    registry = prometheus.build_registry(run.aggregates, run.gates, run.usage, run.verdict)
    out: Written = []
    if settings.prometheus:
        textfile = lambda p: prometheus.write_textfile(p, registry)
        out.append(("Prometheus textfile", run.write("Prometheus textfile", run.root / settings.prometheus, textfile)[0]))
    if settings.pushgateway:
        try:
            prometheus.push(settings.pushgateway, registry)
        except OSError as exc:
            raise LlmevalError(f"--llmeval-pushgateway {settings.pushgateway}: the push failed: {exc}") from None
        out.append(("Pushgateway push", _shown(settings.pushgateway)))
    return out


def _mlflow(run: Run, written: Written) -> Written:
    if not run.settings.mlflow:
        return []
    from llmeval.ops.mlflow_log import log_run

    results = run.settings.results_path(run.root)  # written by the front end before the other outputs
    artifacts = [(kind, path) for kind, path in written if kind != "history"]  # the history is every run's: not this one's
    if results.is_file() and all(path != results for _, path in artifacts):
        artifacts.insert(0, ("results", results))

    uri, run_id = log_run(
        run.settings.mlflow,
        run.root,
        manifest=run.manifest,
        aggregates=run.aggregates,
        usage=run.usage,
        gates=run.gates,
        verdict=run.verdict,
        artifacts=artifacts,
    )
    return [(f"MLflow run {run_id}", _shown(uri))]


def _shown(uri: str) -> Path:
    """What the run's list of outputs shows for a URI: a local SQLite store's file, else the host (and path)."""
    from urllib.parse import urlsplit

    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///"))
    parts = urlsplit(uri)
    return Path(parts.netloc + parts.path if parts.netloc else uri)
