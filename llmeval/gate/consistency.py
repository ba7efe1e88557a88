"""Counterfactual consistency: the share of counterfactual sets whose outcome is the same for every group.

A set is the same base case with only the sensitive attribute changed (llmeval.suite.counterfactual).
Outcomes compare by label when the scorer reads one (a decision), else by value within ``tolerance``.
The interval is exact (Clopper–Pearson) over the sets; the flipped sets go into the gate row with each
member's output, for the failure text and the HTML report. A set with an unreadable outcome is left
out of the share, counted, and fails the gate beyond ``max_unparsed_rate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmeval.gate import rows as R
from llmeval.gate.fairness import SET_VAR, is_unparsed, raw_score, unparsed_note
from llmeval.gate.spec import GateSpec
from llmeval.gate.stats import rate_interval

MAX_FLIPS = 20
OUTPUT_CHARS = 300
GROUP_PREFIX = "group."


def _member(g: GateSpec, row: R.Row) -> dict[str, Any] | None:
    score = raw_score(row, g.metric)
    if R.is_error(row) or score is None:
        return None
    variables = row.get("vars") or {}
    groups = {k[len(GROUP_PREFIX) :]: str(v) for k, v in variables.items() if str(k).startswith(GROUP_PREFIX)}
    label = (score.get("metadata") or {}).get("label")
    readable = not is_unparsed(score)
    return {
        "case": str(row.get("case")),
        "groups": groups,
        "outcome": (label if label is not None else float(score["value"])) if readable else None,
        "value": float(score["value"]) if readable else None,
        "output": str(row.get("output") or "")[:OUTPUT_CHARS],
    }


def counterfactual_sets(g: GateSpec, rows: Sequence[R.Row]) -> dict[str, list[dict[str, Any]]]:
    """Set id (with the sample number when cases were sampled repeatedly) -> its members' outcomes."""
    sets: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        set_id = (row.get("vars") or {}).get(g.sets or SET_VAR)
        member = _member(g, row) if set_id is not None else None
        if member is not None:
            key = str(set_id) + (f"#{row.get('sample')}" if row.get("sample") else "")
            sets.setdefault(key, []).append(member)
    return {k: v for k, v in sets.items() if len(v) > 1}


def same_outcome(members: Sequence[dict[str, Any]], tolerance: float) -> bool:
    outcomes = [m["outcome"] for m in members]
    if all(isinstance(o, float) for o in outcomes):
        return max(outcomes) - min(outcomes) <= tolerance + 1e-12
    return len({str(o) for o in outcomes}) == 1


def _group_means(sets: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    by_group: dict[str, list[float]] = {}
    for members in sets.values():
        for m in members:
            name = "+".join(m["groups"].values()) or m["case"]
            by_group.setdefault(name, [])
            if m["value"] is not None:
                by_group[name].append(m["value"])
    return {k: {"value": sum(v) / len(v) if v else None, "n": len(v)} for k, v in sorted(by_group.items())}


def evaluate_consistency(g: GateSpec, rows: Sequence[R.Row], row: dict[str, Any]) -> dict[str, Any]:
    """Fill the gate row of a counterfactual consistency gate."""
    assert g.condition is not None
    sets = counterfactual_sets(g, rows)
    readable = {k: v for k, v in sets.items() if all(m["outcome"] is not None for m in v)}
    flipped = {k: v for k, v in readable.items() if not same_outcome(v, g.tolerance)}
    row.update(n=len(readable), groups=_group_means(sets) or None)
    row["flips"] = [{"set": k, "members": v} for k, v in list(flipped.items())[:MAX_FLIPS]]
    if not readable:
        row.update(
            passed=False, message=f"consistency of {g.metric}: no counterfactual set with readable outcomes ({len(sets)} sets)"
        )
        return row
    consistent = len(readable) - len(flipped)
    row["value"] = consistent / len(readable)
    if g.ci is not None:
        row["interval"] = list(rate_interval(consistent, len(readable), confidence=g.ci, method=g.method))
        row["bound"] = g.condition.bound(tuple(row["interval"]))
    judged = row["bound"] if row.get("bound") is not None else row["value"]
    row["passed"] = g.condition.check(judged)
    row["worst"] = [{"case": k, "value": 0.0} for k in list(flipped)[:5]]
    row["message"] = _message(g, row, consistent, len(readable), flipped) + unparsed_note(
        g, row, len(sets) - len(readable), len(sets), "sets"
    )
    return row


def _message(g: GateSpec, row: dict[str, Any], consistent: int, total: int, flipped: dict[str, Any]) -> str:
    text = f"counterfactual consistency of {g.metric} = {row['value']:.4f} ({consistent} of {total} sets alike"
    if row.get("interval"):
        lo, hi = row["interval"]
        text += f"; {(g.ci or 0) * 100:g}% exact CI {lo:.4f}..{hi:.4f}, bound {row['bound']:.4f}"
    verdict = "meets" if row["passed"] else "misses"
    text += f") {verdict} {g.condition}"
    if flipped:
        text += f"; flipped sets: {', '.join(list(flipped)[:10])}" + (" …" if len(flipped) > 10 else "")
    return text
