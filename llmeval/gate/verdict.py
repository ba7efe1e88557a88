"""The release verdict: every gate's PASS/FAIL with value and bound, and the significant regressions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def build_verdict(gate_rows: Sequence[Mapping[str, Any]], baseline_diff: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A plain summary the terminal and the HTML report both show."""
    gates = [
        {
            "suite": g.get("suite"),
            "gate": g.get("gate"),
            "model": g.get("model_label") or g.get("model"),
            "passed": bool(g.get("passed")),
            "value": g.get("value"),
            "bound": g.get("bound"),
            "interval": g.get("interval"),
            "threshold": g.get("threshold"),
            "message": g.get("message", ""),
        }
        for g in gate_rows
    ]
    regressions = list((baseline_diff or {}).get("regressions", []))
    seen = {(r.get("suite"), r.get("model"), r.get("metric")) for r in regressions}
    for g in gate_rows:
        for entry in (g.get("baseline") or {}).get("metrics", []):
            key = (g.get("suite"), g.get("model"), entry.get("metric"))
            if entry.get("regressed") and key not in seen:
                seen.add(key)
                regressions.append({**entry, "suite": g.get("suite"), "model": g.get("model")})
    failed = [g for g in gates if not g["passed"]]
    return {
        "passed": not failed and not regressions,
        "gates": gates,
        "failed": len(failed),
        "total": len(gates),
        "regressions": regressions,
        "mismatches": list((baseline_diff or {}).get("mismatches", [])),
    }


def format_verdict(verdict: Mapping[str, Any], *, width: int = 100) -> str:
    """The one-screen terminal text of a verdict."""
    head = "RELEASE VERDICT: " + ("PASS" if verdict["passed"] else "FAIL")
    lines = [head + f"  ({verdict['total'] - verdict['failed']}/{verdict['total']} gates passed)"]
    for g in verdict["gates"]:
        status = "PASS" if g["passed"] else "FAIL"
        bound = f" bound {_number(g['bound'])}" if g["bound"] is not None else ""
        text = f"  {status}  {g['suite']}::{g['gate']} [{g['model']}]  value {_number(g['value'])}{bound} {g['threshold']}"
        lines.append(text[:width])
    if verdict["regressions"]:
        lines.append("  significant regressions:")
        for r in verdict["regressions"]:
            where = f"{r.get('suite', '')} [{r.get('model', '')}] " if r.get("suite") else ""
            lines.append(f"    {where}{r['message']}"[: width * 2])
    for note in verdict["mismatches"]:
        lines.append(f"  note: {note}"[: width * 2])
    return "\n".join(lines)
