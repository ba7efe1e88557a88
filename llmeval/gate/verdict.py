"""The release verdict: one rule for the verdict and the exit code (README "What the verdict guarantees").

PASS only when something was evaluated, every gate that was evaluated passed (a gate skipped because
the run records the baseline is the only allowed skip), nothing regressed significantly, and every
case passed (a case is a check too: its scorers' thresholds over its samples). The exit code follows
the verdict: 0 for PASS, 1 for FAIL (pytest also gives 1 when another test of the session failed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from llmeval.records import GateRecord, MetricDiff, Verdict

_SHOWN = 5


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _where(g: GateRecord) -> str:
    return f"{g.suite}::{g.gate} [{g.label}]"


def _regressions(gates: Sequence[GateRecord], baseline_diff: Mapping[str, Any] | None) -> list[MetricDiff]:
    found = [MetricDiff.from_json(r) for r in (baseline_diff or {}).get("regressions", [])]
    seen = {(r.suite, r.model, r.metric) for r in found}
    for g in gates:
        for entry in g.baseline.metrics if g.baseline else ():
            key = (g.suite, g.model, entry.metric)
            if entry.regressed and key not in seen:
                seen.add(key)
                found.append(entry)
    return found


def _case_reason(failed: Sequence[str], errored: Sequence[str]) -> list[str]:
    out = []
    for label, names in (("failed", failed), ("errored", errored)):
        if names:
            shown = ", ".join(names[:_SHOWN]) + (", …" if len(names) > _SHOWN else "")
            out.append(f"{len(names)} case{'s' if len(names) > 1 else ''} {label}: {shown}")
    return out


def build_verdict(
    gates: Iterable[GateRecord],
    baseline_diff: Mapping[str, Any] | None = None,
    *,
    run_id: str = "",
    cases: Mapping[str, str] | None = None,
) -> Verdict:
    """The one verdict of a run from its gate records, the baseline comparison and the cases' statuses.

    ``cases`` maps each case result ("suite::case [model]") to its status (passed, failed, error);
    None when the caller has no case results (a verdict rebuilt from gate records alone).
    """
    gates = tuple(gates)
    regressions = _regressions(gates, baseline_diff)
    failed = [g for g in gates if g.status in ("failed", "error")]
    skipped = sum(1 for g in gates if g.status == "skipped")
    statuses = dict(cases or {})
    case_failed = [k for k, s in statuses.items() if s == "failed"]
    case_errored = [k for k, s in statuses.items() if s == "error"]
    reasons = [f"{_where(g)}: {g.reason or g.message}" for g in failed]
    reasons += [f"significant regression: {r.suite} [{r.model}] {r.message}" for r in regressions]
    reasons += _case_reason(case_failed, case_errored)
    if not gates and cases is not None and not statuses:
        reasons.append("nothing was evaluated: no case and no gate was selected")
    return Verdict(
        status="FAIL" if reasons else "PASS",
        gates=gates,
        failed=len(failed),
        skipped=skipped,
        total=len(gates),
        errors=sum(g.errors for g in gates),
        regressions=tuple(regressions),
        mismatches=tuple((baseline_diff or {}).get("mismatches", [])),
        run_id=run_id,
        cases=len(statuses),
        cases_failed=len(case_failed),
        cases_errored=len(case_errored),
        reasons=tuple(reasons),
    )


def headline(verdict: Verdict) -> str:
    """``RELEASE VERDICT: FAIL  (3/4 gates passed, 2 of 9 cases failed)``."""
    counted = verdict.total - verdict.skipped
    parts = [f"{counted - verdict.failed}/{counted} gates passed"]
    if verdict.skipped:
        parts.append(f"{verdict.skipped} skipped")
    if verdict.cases:
        bad = verdict.cases_failed + verdict.cases_errored
        parts.append(f"{verdict.cases - bad}/{verdict.cases} cases passed")
    if verdict.errors:
        parts.append(f"{verdict.errors} errored outputs")
    return f"RELEASE VERDICT: {verdict.status}  ({', '.join(parts)})"


def exit_line(verdict: Verdict, exit_code: int | None = None) -> str:
    """How the exit code follows from the verdict."""
    code = exit_code if exit_code is not None else (0 if verdict.passed else 1)
    if verdict.passed and code == 0:
        return "exit code 0: the verdict is PASS"
    if not verdict.passed and code == 1:
        return "exit code 1: the verdict is FAIL (0 only when the verdict is PASS)"
    if verdict.passed and code == 1:
        return "exit code 1: the verdict is PASS, but other tests of this session failed"
    return f"exit code {code}: the run could not finish as asked (see the error above); the verdict above stands as printed"


def format_verdict(verdict: Verdict, *, width: int = 100, why: bool = True) -> str:
    """The one-screen terminal text of a verdict: every gate, then (``why``) why it failed."""
    lines = [headline(verdict)]
    for g in verdict.gates:
        status = {"passed": "PASS", "skipped": "SKIP"}.get(g.status, "FAIL")
        bound = f" bound {_number(g.bound)}" if g.bound is not None else ""
        units = f" n={g.units}" if g.units and g.units != g.n else (f" n={g.n}" if g.n else "")
        errors = f"  {g.errors} errors" if g.errors else ""
        lines.append(f"  {status}  {_where(g)}  value {_number(g.value)}{bound} {g.threshold}{units}{errors}"[:width])
    lines += _why(verdict, width) if why else []
    for note in verdict.mismatches:
        lines.append(f"  note: {note}"[: width * 2])
    return "\n".join(lines)


def closing_lines(verdict: Verdict, *, width: int = 100, exit_code: int | None = None) -> list[str]:
    """The last lines of a run: the verdict, why it failed (one line per reason) and the exit code."""
    return [headline(verdict), *_why(verdict, width), exit_line(verdict, exit_code)]


def _why(verdict: Verdict, width: int) -> list[str]:
    lines = [f"  why: {reason}"[: width * 2] for reason in verdict.reasons[:20]]
    if len(verdict.reasons) > 20:
        lines.append(f"  … {len(verdict.reasons) - 20} more reasons in the results file")
    return lines
