"""Counterfactual consistency: the share of counterfactual sets whose outcome is the same for every group.

A set is the same base case with only the sensitive attribute changed (llmeval.suite.counterfactual).
Outcomes compare by label when the scorer reads one (a decision), else by value within ``tolerance``.
The interval counts independent units: the base cases (a name list makes several sets of one base case,
which move together), exact (Clopper–Pearson) when each base case has one set. Every flipped set goes
into the gate record with each member's output, for the failure text and the HTML report. A set with an unreadable outcome is left
out of the share, counted, and fails the gate beyond ``max_unparsed_rate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llmeval.gate import rows as R
from llmeval.gate import units
from llmeval.gate.fairness import is_unparsed, raw_score, unparsed_note
from llmeval.gate.spec import GateSpec
from llmeval.gate.statgate import Decision
from llmeval.gate.units import SET_VAR
from llmeval.records import Flip, FlipMember, GroupStat, WorstCase
from llmeval.scorers.base import CHECK

if TYPE_CHECKING:
    from llmeval.scorers.base import Scale

OUTPUT_CHARS = 300
GROUP_PREFIX = "group."


def _member(g: GateSpec, row: R.Row) -> FlipMember | None:
    score = raw_score(row, g.metric)
    if R.is_error(row) or score is None:
        return None
    variables = row.get("vars") or {}
    groups = {k[len(GROUP_PREFIX) :]: str(v) for k, v in variables.items() if str(k).startswith(GROUP_PREFIX)}
    label = (score.get("metadata") or {}).get("label")
    readable = not is_unparsed(score)
    return FlipMember(
        case=str(row.get("case")),
        groups=groups,
        outcome=(label if label is not None else float(score["value"])) if readable else None,
        value=float(score["value"]) if readable else None,
        output=str(row.get("output") or "")[:OUTPUT_CHARS],
    )


def counterfactual_sets(g: GateSpec, rows: Sequence[R.Row]) -> tuple[dict[str, list[FlipMember]], dict[str, str]]:
    """Set id (with the sample number when cases were sampled repeatedly) -> its members, and set -> its unit."""
    sets: dict[str, list[FlipMember]] = {}
    clusters: dict[str, str] = {}
    for row in rows:
        set_id = (row.get("vars") or {}).get(g.sets or SET_VAR)
        member = _member(g, row) if set_id is not None else None
        if member is not None:
            key = str(set_id) + (f"#{row.get('sample')}" if row.get("sample") else "")
            sets.setdefault(key, []).append(member)
            clusters.setdefault(key, units.cluster_of(row, g.cluster, default=str(set_id)))
    kept = {k: v for k, v in sets.items() if len(v) > 1}
    return kept, {k: clusters[k] for k in kept}


def same_outcome(members: Sequence[FlipMember], tolerance: float) -> bool:
    outcomes = [m.outcome for m in members]
    if all(isinstance(o, float) for o in outcomes):
        return bool(max(outcomes) - min(outcomes) <= tolerance + 1e-12)
    return len({str(o) for o in outcomes}) == 1


def _group_means(sets: dict[str, list[FlipMember]], clusters: dict[str, str]) -> dict[str, GroupStat]:
    by_group: dict[str, list[float]] = {}
    units: dict[str, set[str]] = {}
    for key, members in sets.items():
        for m in members:
            name = "+".join(m.groups.values()) or m.case
            by_group.setdefault(name, [])
            units.setdefault(name, set()).add(clusters[key])
            if m.value is not None:
                by_group[name].append(m.value)
    return {k: GroupStat(sum(v) / len(v) if v else None, len(v), len(units[k])) for k, v in sorted(by_group.items())}


def _set_units(sets: dict[str, list[FlipMember]], clusters: dict[str, str], flipped: set[str]) -> dict[str, list[float]]:
    """Independent unit (base case) -> 1/0 per readable set of it: consistent or flipped."""
    out: dict[str, list[float]] = {}
    for key in sets:
        out.setdefault(clusters[key], []).append(0.0 if key in flipped else 1.0)
    return out


def decide(g: GateSpec, rows: Sequence[R.Row], scale: Scale) -> Decision:
    """The consistency kind (llmeval.gate.kinds); outcomes are 0/1 or categorical, whatever the metric's scale."""
    return evaluate_consistency(g, rows)


def evaluate_consistency(g: GateSpec, rows: Sequence[R.Row]) -> Decision:
    """Decide a counterfactual consistency gate; every flipped set is kept for the reports."""
    assert g.condition is not None
    sets, clusters = counterfactual_sets(g, rows)
    readable = {k: v for k, v in sets.items() if all(m.outcome is not None for m in v)}
    flipped = {k: v for k, v in readable.items() if not same_outcome(v, g.tolerance)}
    flips = tuple(Flip(k, tuple(v)) for k, v in flipped.items())
    extra: dict[str, Any] = {"groups": _group_means(sets, clusters) or None, "flips": flips, "flipped": len(flipped)}
    if not readable:
        text = f"consistency of {g.metric}: no counterfactual set with readable outcomes ({len(sets)} sets)"
        return Decision(False, text, text, n=0, extra=extra)
    per_unit = _set_units(readable, clusters, set(flipped))
    consistent = len(readable) - len(flipped)
    value = consistent / len(readable)
    interval, bound, method = None, None, ""
    if g.ci is not None:
        b = units.mean_bound(per_unit, CHECK, g.ci)
        interval, method = b.interval, b.method
        bound = units.judged_end(interval, g.condition.op, g.require)
    passed = g.condition.check(bound if bound is not None else value)
    worst = tuple(WorstCase(k, 0.0) for k in list(flipped)[:5])
    d = Decision(passed, "", value=value, interval=interval, bound=bound, method=method, n=len(readable), units=len(per_unit))
    text = _message(g, d, consistent, flipped)
    note, ok = unparsed_note(g, len(sets) - len(readable), len(sets), "sets")
    reason = ""
    if not (passed and ok):
        reason = note.lstrip("; ") if passed else _reason(g, d, len(flipped))
    return Decision(
        passed and ok, text + note, reason, value, interval, bound, method, len(readable), len(per_unit), None, worst, extra
    )


def _reason(g: GateSpec, d: Decision, flipped: int) -> str:
    assert d.value is not None
    judged = f"bound {d.bound:.4g}" if d.bound is not None else f"{d.value:.4g}"
    return f"consistency {d.value:.4g} ({flipped} of {d.n} sets flipped): {judged} misses {g.condition} over {d.units} base cases"


def _message(g: GateSpec, d: Decision, consistent: int, flipped: dict[str, Any]) -> str:
    assert d.value is not None
    text = f"counterfactual consistency of {g.metric} = {d.value:.4f} ({consistent} of {d.n} sets alike over {d.units} base cases"
    if d.interval is not None:
        lo, hi = d.interval
        text += f"; {(g.ci or 0) * 100:g}% CI {lo:.4f}..{hi:.4f} ({d.method}), bound {d.bound:.4f}"
    text += f") {'meets' if d.passed else 'misses'} {g.condition}"
    if flipped:
        text += f"; {len(flipped)} flipped sets: {', '.join(list(flipped)[:10])}" + (" …" if len(flipped) > 10 else "")
    return text
