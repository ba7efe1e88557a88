"""The files a finished run writes from its records: baseline, HTML report and model comparison.

Both front ends (the pytest reporter and ``llmeval run``) call this, so they write the same files.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from llmeval.records import CaseRecord, GateRecord, Manifest, Verdict
from llmeval.reporting.output_paths import Fallback


def comparison(cases: Sequence[CaseRecord]) -> dict[str, Any] | None:
    """Side-by-side comparison of the models of suites that ran on several models, else None."""
    from llmeval.reporting.compare import compare_runs, split_by_model

    models: dict[str, set[str]] = defaultdict(set)
    for record in cases:
        models[record.suite].add(record.model)
    runs = split_by_model([r.row() for r in cases if len(models[r.suite]) > 1])
    return compare_runs(runs) if len(runs) > 1 else None


def write_outputs(
    settings: Any,
    root: Path,
    cases: Sequence[CaseRecord],
    gates: Sequence[GateRecord],
    verdict: Verdict,
    diff: Mapping[str, Any] | None,
    compared: Mapping[str, Any] | None,
    *,
    fallback: Fallback | None = None,
    manifest: Manifest | None = None,
) -> list[tuple[str, Path]]:
    """Write --llmeval-save-baseline and --llmeval-html (plus the comparison page), then the production exports
    (history, Prometheus, MLflow: ``llmeval.ops.export``); returns (kind, path).

    A file that cannot be written goes to `fallback`'s spare path (its message says where); without `fallback`
    the OSError propagates.
    """
    written: list[tuple[str, Path]] = []
    guard = fallback.write if fallback is not None else lambda what, path, write: (path, write(path))
    case_rows = [r.row() for r in cases]
    if settings.save_baseline:
        from llmeval.gate.baseline import save_baseline

        versions = {r.suite: r.suite_version for r in cases if r.suite_version}
        hashes = {name: entry.get("sha256") for name, entry in manifest.suites.items()} if manifest is not None else {}
        meta = {"run_id": settings.run_id, "suite_versions": versions, "suite_hashes": hashes}
        path, _ = guard("baseline", root / settings.save_baseline, lambda p: save_baseline(p, case_rows, gates, meta=meta))
        written.append(("baseline", path))
    if settings.html:
        from llmeval.reporting.html import render_html

        html = root / settings.html
        extra = []
        if manifest is not None:  # the evaluation part of a model card, as `llmeval card` writes it
            from llmeval.ops.card_html import card_report_section

            extra.append(card_report_section(cases, gates, verdict, manifest, cost_per_1k=settings.cost_per_1k))
        render = lambda p: render_html(case_rows, p, gates=gates, baseline_diff=diff, verdict=verdict, extra_sections=extra)
        path, _ = guard("HTML report", html, render)
        written.append(("html", path))
        if compared is not None:
            from llmeval.reporting.compare import render_compare_html

            side = html.with_name(f"{html.stem}-compare{html.suffix}")
            side, _ = guard("model comparison", side, lambda p: render_compare_html(dict(compared), p))
            written.append(("model comparison", side))
    from llmeval.ops.export import export_run

    on_error = fallback.messages.append if fallback is not None else None
    return written + export_run(settings, root, cases, gates, verdict, manifest, written, guard=guard, on_error=on_error)
