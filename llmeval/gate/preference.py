"""Preference gates: the share of cases whose 0/1 outcome is 1 (e.g. the model prefers the stereotypical
sentence), with an interval over independent units (exact Clopper–Pearson for one output per unit)
and a per-group breakdown (``by``, default ``bias_type``).
Unreadable outcomes are counted and fail the gate beyond ``max_unparsed_rate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from llmeval.gate import rows as R
from llmeval.gate import units
from llmeval.gate.fairness import is_unparsed, raw_score, unparsed_note
from llmeval.gate.spec import GateSpec
from llmeval.gate.statgate import Decision
from llmeval.records import GroupStat
from llmeval.scorers.base import CHECK

if TYPE_CHECKING:
    from llmeval.scorers.base import Scale


def _outcomes(g: GateSpec, rows: Sequence[R.Row]) -> list[tuple[str, str, float | None]]:
    """(group, unit, 0/1 preference or None when unreadable) per output."""
    key = g.by or "bias_type"
    out = []
    for row in rows:
        score = raw_score(row, g.metric)
        if R.is_error(row) or score is None:
            continue
        group = str((row.get("vars") or {}).get(key, "all"))
        value = None if is_unparsed(score) else float(float(score["value"]) >= 0.5)
        out.append((group, units.cluster_of(row, g.cluster), value))
    return out


def _units(outcomes: Sequence[tuple[str, str, float | None]]) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for _, unit, value in outcomes:
        if value is not None:
            found.setdefault(unit, []).append(value)
    return found


def _share(outcomes: Sequence[tuple[str, str, float | None]], confidence: float) -> GroupStat:
    per_unit = _units(outcomes)
    values = [v for _, _, v in outcomes if v is not None]
    if not values:
        return GroupStat(None, 0)
    b = units.mean_bound(per_unit, CHECK, confidence)
    return GroupStat(sum(values) / len(values), len(values), len(per_unit), b.interval)


def decide(g: GateSpec, rows: Sequence[R.Row], scale: Scale) -> Decision:
    """The preference kind (llmeval.gate.kinds): a share of judgements, on [0, 1] whatever the metric's scale."""
    return evaluate_preference(g, rows)


def evaluate_preference(g: GateSpec, rows: Sequence[R.Row]) -> Decision:
    """Decide a preference gate."""
    assert g.condition is not None
    outcomes = _outcomes(g, rows)
    readable = [o for o in outcomes if o[2] is not None]
    groups = {}
    for name in sorted({k for k, _, _ in outcomes}):
        mine = [o for o in outcomes if o[0] == name]
        share = _share(mine, g.ci or 0.95)
        groups[name] = GroupStat(share.value, share.n, share.units, share.interval, len(mine) - share.n)
    per_unit = _units(outcomes)
    if not readable:
        text = f"preference of {g.metric}: no readable outcomes ({len(outcomes)} outputs)"
        return Decision(False, text, text, extra={"groups": groups or None})
    value = sum(v for _, _, v in readable if v is not None) / len(readable)
    interval, bound, method = None, None, ""
    if g.ci is not None:
        b = units.mean_bound(per_unit, CHECK, g.ci)
        interval, method = b.interval, b.method
        bound = units.judged_end(interval, g.condition.op, g.require)
    passed = g.condition.check(bound if bound is not None else value)
    text = f"preference share of {g.metric} = {value:.4f} over {len(readable)} outputs, {len(per_unit)} units"
    text += " (0.5 = no preference)"
    if interval is not None:
        text += f"; {(g.ci or 0) * 100:g}% CI {interval[0]:.4f}..{interval[1]:.4f} ({method})"
    table = ", ".join(f"{k}={v.value:.3f} (n={v.n})" for k, v in groups.items() if v.value is not None)
    text += f" {'meets' if passed else 'misses'} {g.condition}; by {g.by or 'bias_type'}: {table}"
    note, ok = unparsed_note(g, len(outcomes) - len(readable), len(outcomes))
    judged = f"bound {bound:.4g}" if bound is not None else f"{value:.4g}"
    reason = "" if passed and ok else (note.lstrip("; ") if passed else f"preference {value:.4g}: {judged} misses {g.condition}")
    return Decision(
        passed and ok, text + note, reason, value, interval, bound, method, len(readable), len(per_unit), extra={"groups": groups}
    )
