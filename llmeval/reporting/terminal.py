"""The terminal summary: one block per suite and model, then the release verdict; the same for every front end."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmeval.records import Verdict
from llmeval.reporting.safe import display_line

if TYPE_CHECKING:
    from llmeval.core.conclude import Conclusion

Line = tuple[str, dict[str, bool]]


def run_lines(conclusion: Conclusion, written: list[tuple[str, Path]], root: Path) -> list[Line]:
    """What a finished run prints before its closing lines: the summary, the comparison, the files written."""
    out = summary_lines(conclusion.case_rows, conclusion.verdict, conclusion.diff)
    if conclusion.comparison is not None:
        from llmeval.reporting.compare import format_comparison

        out.append(("", {}))
        out += [(line, {}) for line in format_comparison(conclusion.comparison, markdown=False).splitlines()]
    out += [(f"llmeval {kind}: {shown_path(path, root)}", {}) for kind, path in written]
    return out


def closing(conclusion: Conclusion, exit_code: int) -> list[Line]:
    """The last lines of a run, after everything else: the verdict, why, and the exit code it gives."""
    from llmeval.gate import closing_lines

    verdict = conclusion.verdict
    bad = not verdict.passed or exit_code != 0
    lines = closing_lines(verdict, width=160, exit_code=exit_code)
    head = {"bold": True, "red": bad, "green": not bad}
    return [(display_line(line), head if i == 0 else {}) for i, line in enumerate(lines)]


def shown_path(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def group_means(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (suite, model label): case counts and the mean of every metric."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    values: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        key = (row["suite"], row["model_label"])
        g = groups.setdefault(key, {"rows": 0, "passed": 0, "errors": 0, "model": row["model"]})
        g["rows"] += 1
        g["passed"] += int(bool(row["passed"]))
        g["errors"] += int(bool(row["error"]))
        for name, score in row["scores"].items():
            if score["value"] == score["value"]:  # skip NaN
                values[key][name].append(score["value"])
    for key, g in groups.items():
        g["means"] = {n: sum(v) / len(v) for n, v in sorted(values[key].items()) if v}
    return groups


def summary_lines(case_rows: list[dict[str, Any]], verdict: Verdict | None, diff: dict[str, Any] | None = None) -> list[Line]:
    from llmeval.gate import format_verdict

    out: list[tuple[str, dict[str, bool]]] = []
    for (suite, label), g in group_means(case_rows).items():
        failed = g["rows"] - g["passed"] - g["errors"]
        head = f"{suite} on {label}: {g['rows']} outputs, {g['passed']} passed, {failed} failed, {g['errors']} errors"
        out.append((head, {"bold": True}))
        means = "  ".join(f"{name} {value:.3g}" for name, value in g["means"].items())
        if means:
            out.append((f"  mean  {means}", {}))
    if verdict and (verdict.total or verdict.cases):
        out.append(("", {}))
        for i, line in enumerate(format_verdict(verdict, width=160, why=False).splitlines()):
            failed_line = line.lstrip().startswith(("FAIL", "significant", "why:")) or (i == 0 and not verdict.passed)
            passed_line = line.lstrip().startswith("PASS") or (i == 0 and verdict.passed)
            out.append((line, {"bold": i == 0, "red": failed_line, "green": passed_line and not failed_line}))
    out.extend(group_lines(verdict))
    if diff and (diff.get("new_cases") or diff.get("missing_cases")):
        new = [c["case"] for c in diff.get("new_cases", [])]
        missing = [c["case"] for c in diff.get("missing_cases", [])]
        out.append(
            (
                f"baseline: {len(new)} cases new to, {len(missing)} missing from the baseline"
                f"{' (new: ' + ', '.join(new[:10]) + ')' if new else ''}"
                f"{' (missing: ' + ', '.join(missing[:10]) + ')' if missing else ''}",
                {"yellow": True},
            )
        )
    return [(display_line(line), markup) for line, markup in out]


def group_lines(verdict: Verdict | None) -> list[tuple[str, dict[str, bool]]]:
    """Per-group tables of the fairness gates: value, simultaneous interval, n, units, TPR/FPR, unreadable outcomes."""
    out: list[tuple[str, dict[str, bool]]] = []
    for gate in verdict.gates if verdict else ():
        if not gate.groups:
            continue
        out.append((f"groups of {gate.suite}::{gate.gate}:", {}))
        for name, entry in gate.groups.items():
            value = "-" if entry.value is None else f"{entry.value:.3f}"
            interval = f" [{entry.interval[0]:.3f}..{entry.interval[1]:.3f}]" if entry.interval else ""
            rates = f"  TPR {entry.tpr:.3f} FPR {entry.fpr:.3f}" if entry.tpr is not None and entry.fpr is not None else ""
            unparsed = f"  unparsed {entry.unparsed}" if entry.unparsed else ""
            out.append((f"  {name:<24} {value}{interval}  n={entry.n} units={entry.units}{rates}{unparsed}", {}))
        if gate.flipped:
            names = ", ".join(f.set for f in gate.flips[:8]) + (", …" if gate.flipped > 8 else "")
            out.append((f"  flipped sets: {gate.flipped} of {gate.n} ({names})", {"red": True}))
    return out
