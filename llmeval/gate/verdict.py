"""The release verdict: every gate's status with value, bound and error count, and the significant regressions.

PASS only when at least one gate was evaluated, every gate that was evaluated passed, none was
skipped for lack of evidence other than a baseline being recorded, and nothing regressed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmeval.records import Verdict


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _status(g: Mapping[str, Any]) -> str:
    return str(g.get("status") or ("passed" if g.get("passed") else "failed"))


def build_verdict(
    gate_rows: Sequence[Mapping[str, Any]], baseline_diff: Mapping[str, Any] | None = None, *, run_id: str = ""
) -> Verdict:
    """The one verdict of a run, from its gate rows (JSON form) and the run's baseline comparison."""
    gates = tuple(
        {
            "suite": g.get("suite"),
            "gate": g.get("gate"),
            "model": g.get("model_label") or g.get("model"),
            "status": _status(g),
            "value": g.get("value"),
            "bound": g.get("bound"),
            "interval": g.get("interval"),
            "threshold": g.get("threshold"),
            "errors": int(g.get("errors") or 0),
            "message": g.get("message", ""),
            **{k: g[k] for k in ("groups", "flips") if g.get(k)},
        }
        for g in gate_rows
    )
    regressions = list((baseline_diff or {}).get("regressions", []))
    seen = {(r.get("suite"), r.get("model"), r.get("metric")) for r in regressions}
    for g in gate_rows:
        for entry in (g.get("baseline") or {}).get("metrics", []):
            key = (g.get("suite"), g.get("model"), entry.get("metric"))
            if entry.get("regressed") and key not in seen:
                seen.add(key)
                regressions.append({**entry, "suite": g.get("suite"), "model": g.get("model")})
    failed = sum(1 for g in gates if g["status"] in ("failed", "error"))
    skipped = sum(1 for g in gates if g["status"] == "skipped")
    passed = failed == 0 and not regressions
    return Verdict(
        status="PASS" if passed else "FAIL",
        gates=gates,
        failed=failed,
        skipped=skipped,
        total=len(gates),
        errors=sum(g["errors"] for g in gates),
        regressions=tuple(regressions),
        mismatches=tuple((baseline_diff or {}).get("mismatches", [])),
        run_id=run_id,
    )


def format_verdict(verdict: Verdict, *, width: int = 100) -> str:
    """The one-screen terminal text of a verdict."""
    counted = verdict.total - verdict.skipped
    head = f"RELEASE VERDICT: {verdict.status}  ({counted - verdict.failed}/{counted} gates passed"
    head += f", {verdict.skipped} skipped" if verdict.skipped else ""
    head += f", {verdict.errors} errored outputs)" if verdict.errors else ")"
    lines = [head]
    for g in verdict.gates:
        status = {"passed": "PASS", "skipped": "SKIP"}.get(g["status"], "FAIL")
        bound = f" bound {_number(g['bound'])}" if g["bound"] is not None else ""
        errors = f"  {g['errors']} errors" if g["errors"] else ""
        text = (
            f"  {status}  {g['suite']}::{g['gate']} [{g['model']}]  value {_number(g['value'])}{bound} {g['threshold']}{errors}"
        )
        lines.append(text[:width])
    if verdict.regressions:
        lines.append("  significant regressions:")
        for r in verdict.regressions:
            where = f"{r.get('suite', '')} [{r.get('model', '')}] " if r.get("suite") else ""
            lines.append(f"    {where}{r['message']}"[: width * 2])
    for note in verdict.mismatches:
        lines.append(f"  note: {note}"[: width * 2])
    return "\n".join(lines)
