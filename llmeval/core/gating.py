"""Phase 4: each target's comparison with the baseline, then every selected gate as a GateRecord."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from llmeval.core.redaction import redact_gate_records, redact_json
from llmeval.core.redactor import Redactor
from llmeval.core.results import RunResult, Target, TargetKey
from llmeval.records import GateRecord


@dataclass(frozen=True)
class GateContext:
    """What gating takes from its run."""

    baseline: Any  # the loaded baseline (llmeval.gate.baseline.Baseline) or None
    label: Callable[[str], str]
    rel: Callable[[str], str]
    run_id: str
    saving_baseline: bool  # a run that saves a baseline skips regression gates instead of failing them
    redactor: Redactor


def evaluate_gates(ctx: GateContext, targets: Sequence[Target], result: RunResult) -> None:
    """Fill ``result.gates`` and ``result.diffs`` for the targets' suites and models."""
    from llmeval.gate.gates import evaluate_gate

    records: list[tuple[tuple[str, str, str], GateRecord]] = []
    for target in targets:
        rows = [r.row() for c in target.cases for r in result.cases[(target.suite.path, c.id, target.spec)].records]
        diff = _baseline_diff(ctx, target, rows)
        if diff is not None:
            result.diffs[target.key] = redact_json(ctx.redactor, diff)
        for gate in target.suite.gates:
            record = evaluate_gate(
                gate.spec,
                rows,
                suite=target.suite.name,
                model=target.spec,
                diff=diff,
                regression=target.suite.regression,
                max_error_rate=target.suite.max_error_rate,
                no_baseline="skip" if ctx.saving_baseline else "fail",
                scales=target.suite.scales,
            )
            record = replace(
                record,
                model_label=ctx.label(target.spec),
                suite_path=ctx.rel(target.suite.path),
                line=gate.line,
                run_id=ctx.run_id,
            )
            records.append(((target.suite.path, gate.name, target.spec), record))
    cleaned = redact_gate_records(ctx.redactor, [g for _, g in records])
    result.gates.update({key: g for (key, _), g in zip(records, cleaned, strict=True)})


def _baseline_diff(ctx: GateContext, target: Target, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """This suite x model (its case rows) against the baseline, with every rule of the suite (once per run)."""
    if ctx.baseline is None:
        return None
    from llmeval.core.manifest import file_sha256
    from llmeval.gate.baseline import compare_with_baseline

    inline = [rule for gate in target.suite.gates for rule in gate.spec.rules]
    versions = {target.suite.name: target.suite.version} if target.suite.version else {}
    digest = file_sha256(Path(target.suite.path))
    hashes = {target.suite.name: digest} if digest else {}
    rules = [*target.suite.regression, *inline]
    return compare_with_baseline(
        rows, ctx.baseline, rules, suite_versions=versions, suite_hashes=hashes, scales=target.suite.scales
    )


def merge_diffs(diffs: Mapping[TargetKey, dict[str, Any]]) -> dict[str, Any] | None:
    """One run-level comparison from per-(suite file, model) ones, in that order (whatever order they arrived in):
    lists concatenated, notes de-duplicated."""
    if not diffs:
        return None
    ordered = [diffs[key] for key in sorted(diffs)]
    out: dict[str, Any] = {"baseline": ordered[0]["baseline"], "baseline_meta": ordered[0].get("baseline_meta", {})}
    for key in ("metrics", "cases", "new_cases", "missing_cases", "gates", "regressions"):
        out[key] = [item for d in ordered for item in d.get(key, [])]
    out["mismatches"] = list(dict.fromkeys(m for d in ordered for m in d.get("mismatches", [])))
    out["changed_suites"] = list(dict.fromkeys(s for d in ordered for s in d.get("changed_suites", [])))
    out["passed"] = not out["regressions"]
    return out
