"""The independent units a gate's evidence rests on, and the bound each kind of unit allows.

A suite's cases are the sample; but several outputs can come from one sampled unit: the repeats of a
case, the variants of one base case in a counterfactual set or name list, the cases that share a
``cluster:`` var. Those move together, so a gate's interval treats each unit as one draw (the mean of
its outputs) and reports the number of units, the effective n, beside the number of outputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from llmeval.gate import bounds
from llmeval.scorers.base import UNKNOWN_SCALE, Scale

BASE_VAR = "counterfactual.base"
SET_VAR = "counterfactual.set"


def cluster_of(row: Mapping[str, Any], cluster_var: str | None = None, default: str | None = None) -> str:
    """The unit a row's output belongs to: the gate's cluster var, the counterfactual base case, else ``default``
    (the case when not given)."""
    variables = row.get("vars") or {}
    for key in (cluster_var, BASE_VAR):
        if key and key in variables:
            return f"{key}={variables[key]}"
    return str(row.get("case")) if default is None else default


def unit_means(units: Mapping[str, Sequence[float]]) -> list[float]:
    return [sum(v) / len(v) for v in units.values() if v]


def scale_for(metric: str, scales: Mapping[str, Scale], override: tuple[float, float] | None) -> Scale:
    """The metric's declared scale (the suite's scorers, else the registry by name), or the gate's range."""
    if override is not None:
        base = scales.get(metric, UNKNOWN_SCALE)
        return Scale(override[0], override[1], base.better, base.binary)
    if metric in scales:
        return scales[metric]
    from llmeval.scorers.base import available

    info = available().get(metric)
    return info.scale if info else UNKNOWN_SCALE


def mean_bound(units: Mapping[str, Sequence[float]], scale: Scale, confidence: float) -> bounds.Bound:
    """The interval of a mean over units: exact binomial for 0/1 values, betting when bounded, t otherwise."""
    means = unit_means(units)
    if scale.bounded and any(not scale.low <= m <= scale.high for m in means):  # type: ignore[operator]
        return bounds.t_mean(means, confidence)
    if scale.bounded and scale.binary:
        assert scale.low is not None and scale.high is not None
        span = scale.high - scale.low
        shares = [(m - scale.low) / span for m in means]
        b = bounds.exact_rate(rounded_hits(shares), len(shares), confidence)
        method = b.method if all(x in (0.0, 1.0) for x in shares) else "exact binomial (units rounded at random)"
        return bounds.Bound(scale.low + span * b.low, scale.low + span * b.high, method, b.units, b.note)
    if scale.bounded:
        assert scale.low is not None and scale.high is not None
        return bounds.betting_mean(means, scale.low, scale.high, confidence)
    return bounds.t_mean(means, confidence)


def rounded_hits(shares: Sequence[float], seed: int = 0) -> int:
    """Successes of the units, a unit with a fractional share (repeats that disagree) rounded at random.

    Each unit's share s is replaced by one Bernoulli(s) draw (fixed seed): the rounded units are exactly
    Bernoulli(mean), so the exact binomial interval over them holds its coverage; 0/1 shares stay as they are.
    """
    import numpy as np

    draws = np.random.default_rng(seed).random(len(shares))
    return int(sum(1 for s, u in zip(shares, draws, strict=True) if s >= 1.0 or (s > 0.0 and u < s)))


def judged_end(interval: tuple[float, float], op: str, require: str) -> float | None:
    """The interval end a condition is judged on: the end that must clear it (shown_within), or the other."""
    if op == "==":
        return None
    lower = op in (">=", ">")
    if require == "not_shown_beyond":
        lower = not lower
    return interval[0] if lower else interval[1]


def perfect_units(count: int, scale: Scale, op: str) -> dict[str, list[float]]:
    """``count`` units all at the best value a condition can ask for: the range's top (>=) or bottom (<=)."""
    best = scale.high if op in (">=", ">") else scale.low
    if best is None:
        best = 1.0 if op in (">=", ">") else 0.0
    return {str(i): [best] for i in range(count)}


def finite(value: float | None) -> float | None:
    return None if value is None or math.isinf(value) or math.isnan(value) else value
