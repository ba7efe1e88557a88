"""Statistic gates (mean, median, quantile, min, max, pass_rate, leak_rate) over clustered units.

Rates count an errored output against the gate (a failure for pass_rate, a leak for leak_rate); value
statistics leave it out (the error rule in ``llmeval.gate.gates`` fails the gate beyond the allowance).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from llmeval.gate import bounds, units
from llmeval.gate import rows as R
from llmeval.gate.spec import GateSpec
from llmeval.gate.stats import point_stat
from llmeval.records import WorstCase
from llmeval.scorers.base import CHECK, Scale

WORST = 5


@dataclass(frozen=True)
class Decision:
    """What a gate's evidence says, before the baseline and error rules."""

    passed: bool
    message: str
    reason: str = ""
    value: float | None = None
    interval: tuple[float, float] | None = None
    bound: float | None = None
    method: str = ""
    n: int = 0
    units: int = 0
    reachable: float | None = None
    worst: tuple[WorstCase, ...] = ()
    extra: Mapping[str, object] = field(default_factory=dict)  # groups, flips, flipped


def _unit(g: GateSpec, row: R.Row) -> float | None:
    """The per-output value a statistic aggregates: 0/1 for rates (errors count against), the value otherwise."""
    score = R.score_of(row, g.metric)
    if R.is_error(row):
        if g.stat == "pass_rate":
            return 0.0
        return 1.0 if g.stat == "leak_rate" else None
    if score is None:
        return None
    if g.stat == "pass_rate":
        return float(bool(score.get("passed")))
    if g.stat == "leak_rate":
        return float(float(score["value"]) > 0)
    return float(score["value"])


def collect(g: GateSpec, rows: Sequence[R.Row]) -> dict[str, list[float]]:
    """Unit -> the values of its outputs (a case sampled k times gives k values)."""
    out: dict[str, list[float]] = {}
    for row in rows:
        value = _unit(g, row)
        if value is not None:
            out.setdefault(units.cluster_of(row, g.cluster), []).append(value)
    return out


def _bound(g: GateSpec, clusters: Mapping[str, Sequence[float]], scale: Scale) -> bounds.Bound:
    assert g.ci is not None
    if g.stat in ("median", "quantile"):
        q = 0.5 if g.stat == "median" else g.q
        return bounds.quantile(units.unit_means(clusters), q, g.ci, scale.low, scale.high)
    return units.mean_bound(clusters, CHECK if g.is_rate else scale, g.ci)


def _reachable(g: GateSpec, count: int, scale: Scale) -> float | None:
    """The judged bound a perfect model would reach with ``count`` units (None when not meaningful)."""
    assert g.condition is not None
    if g.ci is None or g.condition.op == "==" or g.require != "shown_within":
        return None
    perfect = units.perfect_units(count, CHECK if g.is_rate else scale, g.condition.op)
    b = _bound(g, perfect, scale)
    return units.finite(units.judged_end(b.interval, g.condition.op, g.require))


def _worst(g: GateSpec, clusters: Mapping[str, Sequence[float]]) -> tuple[WorstCase, ...]:
    """The units that pull the statistic the wrong way, worst first."""
    assert g.condition is not None
    high_is_bad = g.condition.op in ("<=", "<")
    sign = -1 if high_is_bad else 1
    ranked = sorted(clusters.items(), key=lambda kv: sign * sum(kv[1]) / len(kv[1]))
    if g.is_rate:
        ranked = [(c, v) for c, v in ranked if (sum(v) > 0 if high_is_bad else sum(v) < len(v))]
    return tuple(WorstCase(c, sum(v) / len(v)) for c, v in ranked[:WORST])


def evaluate_stat(g: GateSpec, rows: Sequence[R.Row], scale: Scale) -> Decision:
    """Decide a statistic gate over the units of ``rows``."""
    assert g.condition is not None
    clusters = collect(g, rows)
    flat = [v for c in clusters.values() for v in c]
    if not flat:
        available = ", ".join(R.metrics_in(rows)) or "none"
        text = f"no '{g.metric}' scores to gate on (metrics in these results: {available})"
        return Decision(False, text, text)
    means = units.unit_means(clusters)
    q = 0.5 if g.stat == "median" else g.q
    value = point_stat(means if g.stat not in ("min", "max") else flat, g.stat, q)
    found = Decision(False, "", value=value, n=len(flat), units=len(clusters), worst=_worst(g, clusters))
    if g.ci is None:
        return _judge(g, found, value, None)
    b = _bound(g, clusters, scale)
    judged = units.judged_end(b.interval, g.condition.op, g.require)
    found = replace(found, interval=b.interval, bound=judged, method=b.method, reachable=_reachable(g, len(clusters), scale))
    return _judge(g, found, judged if judged is not None else value, b)


def _judge(g: GateSpec, d: Decision, judged: float, b: bounds.Bound | None) -> Decision:
    assert g.condition is not None
    passed = g.condition.check(judged)
    return replace(d, passed=passed, message=_message(g, d, passed, b), reason="" if passed else _reason(g, d, b))


def _label(g: GateSpec) -> str:
    return f"{g.metric} {g.stat}" + (f"(q={g.q:g})" if g.stat == "quantile" else "")


def _message(g: GateSpec, d: Decision, passed: bool, b: bounds.Bound | None) -> str:
    assert g.condition is not None and d.value is not None
    text = f"{_label(g)} = {d.value:.4f}"
    if d.interval is not None:
        lo, hi = d.interval
        text += f" ({(g.ci or 0) * 100:g}% CI {lo:.4g}..{hi:.4g}, {d.method}"
        text += f"; judged on {'lower' if d.bound == lo else 'upper'} bound {d.bound:.4g})" if d.bound is not None else ")"
    text += f" {'meets' if passed else 'misses'} {g.condition}; n={d.n} outputs over {d.units} units"
    if b is not None and b.note:
        text += f" ({b.note})"
    if d.worst:
        text += "; worst: " + ", ".join(f"{w.case}={w.value:.3g}" for w in d.worst)
    return text


def _reason(g: GateSpec, d: Decision, b: bounds.Bound | None) -> str:
    """One line: why the gate did not pass, and what would let it pass."""
    assert g.condition is not None and d.value is not None
    if d.interval is None or d.bound is None:
        return f"{_label(g)} {d.value:.4g} misses {g.condition} (n = {d.n})"
    side = "lower" if d.bound == d.interval[0] else "upper"
    text = f"{_label(g)} {d.value:.4g}: {side} bound {d.bound:.4g} misses {g.condition} at n = {d.units}"
    if b is not None and b.note:
        return f"{text}; {b.note}"
    if d.reachable is not None and not g.condition.check(d.reachable):
        return f"{text}; at n = {d.units} a perfect model reaches {d.reachable:.3g}: add cases"
    return text
