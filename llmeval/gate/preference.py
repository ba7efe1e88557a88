"""Preference gates: the share of cases whose 0/1 outcome is 1 (e.g. the model prefers the stereotypical
sentence), with an exact (Clopper–Pearson) interval and a per-group breakdown (``by``, default ``bias_type``).
Unreadable outcomes are counted and fail the gate beyond ``max_unparsed_rate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmeval.gate import rows as R
from llmeval.gate.fairness import is_unparsed, raw_score, unparsed_note
from llmeval.gate.spec import GateSpec
from llmeval.gate.stats import rate_interval


def _outcomes(g: GateSpec, rows: Sequence[R.Row]) -> list[tuple[str, float | None]]:
    key = g.by or "bias_type"
    out = []
    for row in rows:
        score = raw_score(row, g.metric)
        if R.is_error(row) or score is None:
            continue
        group = str((row.get("vars") or {}).get(key, "all"))
        out.append((group, None if is_unparsed(score) else float(float(score["value"]) >= 0.5)))
    return out


def _share(values: list[float], confidence: float) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": sum(values) / len(values) if values else None, "n": len(values)}
    if values:
        entry["interval"] = list(rate_interval(sum(values), len(values), confidence=confidence))
    return entry


def evaluate_preference(g: GateSpec, rows: Sequence[R.Row], row: dict[str, Any]) -> dict[str, Any]:
    """Fill the gate row of a preference gate."""
    assert g.condition is not None
    outcomes = _outcomes(g, rows)
    values = [v for _, v in outcomes if v is not None]
    groups = {}
    for name in sorted({k for k, _ in outcomes}):
        groups[name] = _share([v for k, v in outcomes if k == name and v is not None], g.ci or 0.95)
        groups[name]["unparsed"] = sum(1 for k, v in outcomes if k == name and v is None)
    row.update(n=len(values), groups=groups or None)
    if not values:
        row.update(passed=False, message=f"preference of {g.metric}: no readable outcomes ({len(outcomes)} outputs)")
        return row
    row["value"] = sum(values) / len(values)
    if g.ci is not None:
        row["interval"] = list(rate_interval(sum(values), len(values), confidence=g.ci, method=g.method))
        row["bound"] = g.condition.bound(tuple(row["interval"]))
    row["passed"] = g.condition.check(row["bound"] if row.get("bound") is not None else row["value"])
    text = f"preference share of {g.metric} = {row['value']:.4f} over {len(values)} cases (0.5 = no preference)"
    if row.get("interval"):
        text += f"; {(g.ci or 0) * 100:g}% exact CI {row['interval'][0]:.4f}..{row['interval'][1]:.4f}"
    table = ", ".join(f"{k}={v['value']:.3f} (n={v['n']})" for k, v in groups.items() if v["value"] is not None)
    verdict = "meets" if row["passed"] else "misses"
    row["message"] = f"{text} {verdict} {g.condition}; by {g.by or 'bias_type'}: {table}"
    row["message"] += unparsed_note(g, row, len(outcomes) - len(values), len(outcomes))
    return row
