"""Failure messages for case and gate items: the domain story, never a Python traceback.

They read records, which the core has already redacted; model text is neutralised for the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmeval.records import Flip, GateRecord
from llmeval.reporting.safe import display_line

WIDTH = 300


def _trim(text: str | None, width: int = WIDTH) -> str:
    if text is None:
        return "-"
    flat = display_line(text)
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def describe_case_failure(item: Any, result: Any, runner: Any) -> str:
    case = item.case
    rows = result.rows
    failed = [r for r in rows if not r["passed"]]
    lines = [
        f"{runner.rel(case.path)}:{case.line}: case '{case.id}' failed on {runner.label(item.spec)} ({item.spec})",
    ]
    if len(rows) > 1:
        lines.append(f"  pass rate {result.pass_rate:.0%} of {len(rows)} samples; needs {case.min_pass_rate:.0%}")
    row = failed[0] if failed else rows[0]
    fields = [("prompt", row["prompt"]), ("output", row["output"]), ("reference", row["reference"])]
    for label, text in fields:
        lines.append(f"  {label + ':':<11}{_trim(text)}")
    for name, score in row["scores"].items():
        mark = "PASS" if score["passed"] else "FAIL"
        want = _describe(score["threshold"])
        lines.append(f"  {mark} {name:<10} {score['value']:>8.4g}  want {want:<12} {_trim(score['explanation'], 160)}")
        lines.extend(_minimal_break(score.get("metadata") or {}))
    return _lines(lines)


def _minimal_break(meta: dict[str, Any]) -> list[str]:
    """A robustness failure: the minimal perturbation, original and perturbed prompt and output side by side."""
    minimal = meta.get("minimal")
    if not isinstance(minimal, dict):
        return []
    lines = [f"    minimal break: {_trim(minimal.get('change'), 200)}"]
    for what in ("prompt", "output"):
        lines.append(f"      original {what + ':':<8} {_trim(minimal.get('original_' + what), 160)}")
        lines.append(f"      perturbed {what + ':':<7} {_trim(minimal.get('perturbed_' + what), 160)}")
    shrink = meta.get("shrink")
    if isinstance(shrink, dict):
        lines.append(
            f"      shrunk {shrink.get('from_edits')} -> {shrink.get('to_edits')} edits in "
            f"{shrink.get('plan_passes')} plan passes ({shrink.get('requests')} requests)"
        )
    return lines


def _lines(lines: list[str]) -> str:
    """The message with every line display-safe: ids, labels and gate messages can carry model or case text."""
    return "\n".join(display_line(line) for line in lines)


def describe_case_error(where: str, case_id: str, spec: str, error: object) -> str:
    """The message of a case that could not be evaluated (an error, not a failure), display-safe."""
    return display_line(f"{where}: case '{case_id}' could not be evaluated on {spec} (an error, not a failure): {error}")


def _describe(threshold: dict[str, float]) -> str:
    lo, hi = threshold.get("min"), threshold.get("max")
    if lo is not None and hi is not None:
        return f"{lo:g}..{hi:g}"
    if lo is not None:
        return f">= {lo:g}"
    if hi is not None:
        return f"<= {hi:g}"
    return "(report)"


def describe_gate_failure(item: Any, record: GateRecord, runner: Any) -> str:
    label = record.model_label or item.spec
    lines = [f"{runner.rel(item.suite.path)}:{item.gate.line}: gate '{item.gate.name}' failed on {label}"]
    if record.reason:
        lines.append(f"  why: {record.reason}")
    lines.append(f"  {record.message}")
    if record.worst:
        lines.append("  worst cases: " + ", ".join(f"{w.case} ({w.value:.3g})" for w in record.worst[:5]))
    return _lines(lines + flip_lines(record.flips))


def flip_lines(flips: Sequence[Flip], limit: int = 5) -> list[str]:
    """Flipped counterfactual sets, each member's groups, outcome and output one under another (aligned)."""
    lines = []
    for flip in list(flips)[:limit]:
        lines.append(f"  flipped set {flip.set}:")
        for m in flip.members:
            groups = "+".join(m.groups.values()) or m.case
            lines.append(f"    {groups:<20} {str(m.outcome):<10} {_trim(m.output, 140)}")
    if len(flips) > limit:
        lines.append(f"  … {len(flips) - limit} more flipped sets in the results file and HTML report")
    return lines
