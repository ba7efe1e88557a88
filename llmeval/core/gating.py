"""Phase 4: the run's one baseline comparison, then every selected gate as a GateRecord."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from llmeval.records import GateRecord


def evaluate_gates(run: Any, targets: Sequence[Any], result: Any) -> None:
    """Fill ``result.gates`` (and ``result.baseline_diff``) for the targets' suites and models."""
    from llmeval.core.redaction import redact_gate_records, redact_json
    from llmeval.gate.gates import evaluate_gate

    rows_of = [[r.row() for c in t.cases for r in result.cases[(t.suite.path, c.id, t.spec)].records] for t in targets]
    diffs = [_baseline_diff(run, t, rows) for t, rows in zip(targets, rows_of, strict=True)]
    result.baseline_diff = merge_diffs([d for d in diffs if d is not None]) if run.baseline is not None else None
    records: list[tuple[tuple[str, str, str], GateRecord]] = []
    for target, rows, diff in zip(targets, rows_of, diffs, strict=True):
        for gate in target.suite.gates:
            record = evaluate_gate(
                gate.spec, rows, suite=target.suite.name, model=target.spec, diff=diff,
                regression=target.suite.regression, max_error_rate=target.suite.max_error_rate,
                no_baseline="skip" if run.settings.save_baseline else "fail", scales=target.suite.scales,
            )  # fmt: skip
            record = replace(record, model_label=run.label(target.spec), suite_path=run.rel(target.suite.path),
                             line=gate.line, run_id=run.settings.run_id)  # fmt: skip
            records.append(((target.suite.path, gate.name, target.spec), record))
    cleaned = redact_gate_records(run.redactor, [g for _, g in records])
    result.gates.update({key: g for (key, _), g in zip(records, cleaned, strict=True)})
    if result.baseline_diff is not None:
        from llmeval.gate.baseline import gate_changes

        result.baseline_diff["gates"] = gate_changes(cleaned, run.baseline.gates)
        result.baseline_diff = redact_json(run.redactor, result.baseline_diff)


def _baseline_diff(run: Any, target: Any, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """This suite x model (its case rows) against the baseline, with every rule of the suite (once per run)."""
    if run.baseline is None:
        return None
    from llmeval.gate.baseline import compare_with_baseline

    inline = [rule for gate in target.suite.gates for rule in gate.spec.rules]
    from llmeval.core.manifest import file_sha256

    versions = {target.suite.name: target.suite.version} if target.suite.version else {}
    digest = file_sha256(Path(target.suite.path))
    hashes = {target.suite.name: digest} if digest else {}
    rules = [*target.suite.regression, *inline]
    return compare_with_baseline(
        rows, run.baseline, rules, suite_versions=versions, suite_hashes=hashes, scales=target.suite.scales
    )


def merge_diffs(diffs: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """One run-level comparison from per-(suite, model) ones: lists concatenated, notes de-duplicated."""
    if not diffs:
        return None
    out: dict[str, Any] = {"baseline": diffs[0]["baseline"], "baseline_meta": diffs[0].get("baseline_meta", {})}
    for key in ("metrics", "cases", "new_cases", "missing_cases", "gates", "regressions"):
        out[key] = [item for d in diffs for item in d.get(key, [])]
    out["mismatches"] = list(dict.fromkeys(m for d in diffs for m in d.get("mismatches", [])))
    out["changed_suites"] = list(dict.fromkeys(s for d in diffs for s in d.get("changed_suites", [])))
    out["passed"] = not out["regressions"]
    return out
