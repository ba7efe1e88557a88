"""Fairness gates: fairlearn metrics of an outcome across groups (one case var, or an intersection of several).

The outcome is each case's pass/fail (``of: passed``) or its score value (``of: value``: a decision read
from the output, a refusal, a sentiment, any scorer's number). Outputs the outcome could not be read
from are counted per group and fail the gate beyond ``max_unparsed_rate`` (default 0); they are never
dropped silently or read as a negative.

Interval (on by default, ``ci: 0.95``): every group's rate (and, for equalized odds, its TPR and FPR) gets an
interval over its independent units (base cases of counterfactual sets and name lists, else cases), all
of them simultaneously valid (Bonferroni over the K rates); the disparity's interval follows from their
ends (e.g. max upper - min lower), so it holds its coverage at every n. ``require: shown_within`` (default)
passes only when the whole interval clears the limit; ``not_shown_beyond`` fails only when it is shown broken.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmeval.errors import SuiteError
from llmeval.gate import bounds, units
from llmeval.gate import rows as R
from llmeval.gate.spec import GateSpec
from llmeval.gate.statgate import Decision
from llmeval.records import GroupStat, WorstCase
from llmeval.scorers.base import CHECK, Scale


@dataclass(frozen=True)
class Observation:
    """One output's outcome and group; ``pred`` is None when the outcome could not be read."""

    case: str
    cluster: str
    group: tuple[str, ...]
    pred: float | None
    true: float | None


def group_name(group: tuple[str, ...]) -> str:
    return "+".join(group)


def raw_score(row: R.Row, metric: str) -> dict[str, Any] | None:
    score = (row.get("scores") or {}).get(metric)
    return dict(score) if isinstance(score, dict) else None


def is_unparsed(score: dict[str, Any]) -> bool:
    value = score.get("value")
    return (
        bool((score.get("metadata") or {}).get("unparsed")) or value is None or (isinstance(value, float) and math.isnan(value))
    )


def observations(g: GateSpec, rows: Sequence[R.Row]) -> tuple[list[Observation], int]:
    """The gate's observations (errored outputs are left to the error rule) and the rows lacking a group var."""
    out, skipped = [], 0
    for row in rows:
        score, variables = raw_score(row, g.metric), row.get("vars") or {}
        if R.is_error(row) or score is None:
            continue
        if any(k not in variables for k in g.by_keys) or (g.y_true and g.y_true not in variables):
            skipped += 1
            continue
        pred = None if is_unparsed(score) else (float(bool(score.get("passed"))) if g.of == "passed" else float(score["value"]))
        true = float(variables[g.y_true]) if g.y_true else None
        group = tuple(str(variables[k]) for k in g.by_keys)
        out.append(Observation(str(row.get("case")), units.cluster_of(row, g.cluster), group, pred, true))
    return out, skipped


def _needs_binary(g: GateSpec) -> bool:
    return g.stat.startswith(("demographic_parity", "equalized_odds"))


def fairness_value(
    g: GateSpec, groups: Sequence[tuple[str, ...]], y_pred: list[float], y_true: list[float]
) -> tuple[float, dict[str, dict[str, Any]]]:
    """The fairlearn disparity and a per-group table ({group: {value, n, [tpr, fpr]}})."""
    import numpy as np
    import pandas as pd
    from fairlearn import metrics as fm

    pred, true = np.asarray(y_pred), np.asarray(y_true)
    features = pd.DataFrame([list(k) for k in groups], columns=list(g.by_keys))
    if g.stat.startswith("equalized_odds") and not g.y_true:
        raise SuiteError(
            f"gate '{g.name or g.metric}': {g.stat} needs 'y_true', the case var with each case's expected 0/1 label",
            key="gates.y_true",
            hint=f"e.g. {{metric: {g.metric}, by: {g.by}, fairlearn: {g.stat}, y_true: label, max: 0.1}}",
        )
    if _needs_binary(g):
        value = getattr(fm, g.stat)(true, pred.astype(int), sensitive_features=features)
    else:
        frame = fm.MetricFrame(metrics=lambda yt, yp: float(np.mean(yp)), y_true=true, y_pred=pred, sensitive_features=features)
        value = frame.difference() if g.stat == "difference" else frame.ratio()
    metrics: dict[str, Any] = {"value": lambda yt, yp: float(np.mean(yp)), "n": fm.count}
    if g.y_true:
        metrics |= {"tpr": fm.true_positive_rate, "fpr": fm.false_positive_rate}
        pred = pred.astype(int)
    table = fm.MetricFrame(
        metrics=metrics, y_true=true.astype(int) if g.y_true else true, y_pred=pred, sensitive_features=features
    )
    per_group = {}
    for key, entry in table.by_group.iterrows():
        name = group_name(key if isinstance(key, tuple) else (key,))
        per_group[name] = {"value": float(entry["value"]), "n": int(entry["n"])}
        per_group[name] |= {m: float(entry[m]) for m in ("tpr", "fpr") if m in metrics}
    return float(value), per_group


def _rate_units(obs: Sequence[Observation]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for o in obs:
        out.setdefault(o.cluster, []).append(o.pred or 0.0)
    return out


def _components(g: GateSpec, parsed: list[Observation]) -> list[dict[str, list[Observation]]]:
    """Per component of the metric (TPR and FPR for equalized odds, else one): group name -> its observations."""
    subsets = [[o for o in parsed if o.true == want] for want in (1.0, 0.0)] if g.stat.startswith("equalized_odds") else [parsed]
    out = []
    for subset in subsets:
        by_group: dict[str, list[Observation]] = {}
        for o in subset:
            by_group.setdefault(group_name(o.group), []).append(o)
        out.append(by_group)
    return out


def _group_bound(obs: Sequence[Observation], scale: Scale, confidence: float) -> bounds.Bound:
    return units.mean_bound(_rate_units(obs), scale, confidence)


def _disparity(stat: str, intervals: list[tuple[float, float]]) -> tuple[float, float]:
    """Interval of max-min (difference) or min/max (ratio) of rates from their simultaneous intervals."""
    lows, highs = [lo for lo, _ in intervals], [hi for _, hi in intervals]
    if stat.endswith("ratio"):
        low = min(lows) / max(highs) if max(highs) > 0 else 1.0
        high = min(1.0, min(highs) / max(lows)) if max(lows) > 0 else 1.0
        return (max(0.0, low), high)
    return (max(0.0, max(lows) - min(highs)), max(highs) - min(lows))


def disparity_interval(
    g: GateSpec, parsed: list[Observation], scale: Scale, confidence: float
) -> tuple[tuple[float, float], dict[str, tuple[float, float]], str]:
    """The disparity's interval, each group's simultaneous interval (first component) and the method."""
    comps = [c for c in _components(g, parsed) if len(c) >= 2]
    k = sum(len(c) for c in comps) or 1
    each = 1 - (1 - confidence) / (2 * k)
    outcome_scale = CHECK if g.of == "passed" else scale
    per_comp, shown, methods = [], {}, set()
    for i, comp in enumerate(comps):
        found = {name: _group_bound(obs, outcome_scale, each) for name, obs in comp.items()}
        methods |= {b.method for b in found.values()}
        per_comp.append(_disparity(g.stat, [b.interval for b in found.values()]))
        if i == 0:
            shown = {name: b.interval for name, b in found.items()}
    if not per_comp:
        return (0.0, math.inf), shown, "no component with two groups"
    if len(per_comp) == 1:
        interval = per_comp[0]
    elif g.stat.endswith("ratio"):
        interval = (min(lo for lo, _ in per_comp), min(hi for _, hi in per_comp))
    else:
        interval = (max(lo for lo, _ in per_comp), max(hi for _, hi in per_comp))
    return interval, shown, f"simultaneous per-group {'/'.join(sorted(methods))} over {k} rates"


def _group_table(obs: list[Observation], per_group: dict[str, dict[str, Any]], shown: dict[str, Any]) -> dict[str, GroupStat]:
    """Per group: the outcome, n, independent units, unparsed count and its simultaneous interval."""
    table: dict[str, GroupStat] = {}
    for name in sorted({group_name(o.group) for o in obs}):
        mine = [o for o in obs if group_name(o.group) == name]
        read = [o for o in mine if o.pred is not None]
        entry = per_group.get(name, {})
        table[name] = GroupStat(
            value=entry.get("value"),
            n=int(entry.get("n", 0)),
            units=len({o.cluster for o in read}),
            interval=shown.get(name),
            unparsed=len(mine) - len(read),
            tpr=entry.get("tpr"),
            fpr=entry.get("fpr"),
        )
    return table


def evaluate_fairness(g: GateSpec, rows: Sequence[R.Row], scale: Scale) -> Decision:
    """Decide a fairlearn gate."""
    assert g.condition is not None
    obs, skipped = observations(g, rows)
    parsed = [o for o in obs if o.pred is not None]
    found = {o.group for o in parsed}
    count = len({o.cluster for o in parsed})
    if len(found) < 2:
        text = (
            f"{g.stat} of {g.metric} by '{g.by_label}': needs at least two groups with readable outcomes, found {len(found)} "
            f"({len(obs)} outputs with the group var(s), {len(obs) - len(parsed)} unreadable, {skipped} rows without)"
        )
        return Decision(False, text, text, n=len(obs), extra={"groups": _group_table(obs, {}, {}) or None})
    preds, trues = [o.pred or 0.0 for o in parsed], [o.true or 0.0 for o in parsed]
    value, per_group = fairness_value(g, [o.group for o in parsed], preds, trues)
    interval: tuple[float, float] | None = None
    shown: dict[str, tuple[float, float]] = {}
    method, bound = "", None
    if g.ci is not None:
        interval, shown, method = disparity_interval(g, parsed, scale, g.ci)
        bound = units.judged_end(interval, g.condition.op, g.require)
    judged = bound if bound is not None else value
    passed = g.condition.check(judged)
    groups = _group_table(obs, per_group, shown)
    worst = tuple(WorstCase(f"{g.by_label}={k}", v["value"]) for k, v in sorted(per_group.items(), key=lambda kv: kv[1]["value"]))
    d = Decision(passed, "", value=value, interval=interval, bound=bound, method=method, n=len(obs), units=count, worst=worst)
    text = _message(g, d, groups, skipped)
    unparsed = len(obs) - len(parsed)
    note, ok = unparsed_note(g, unparsed, len(obs))
    passed = passed and ok
    reason = "" if passed else (_reason(g, d) if not d.passed else note.lstrip("; "))
    return Decision(passed, text + note, reason, value, interval, bound, method, len(obs), count, None, worst, {"groups": groups})


def _message(g: GateSpec, d: Decision, groups: dict[str, GroupStat], skipped: int) -> str:
    assert g.condition is not None and d.value is not None
    text = f"{g.stat} of {g.metric} ({g.of}) by '{g.by_label}' = {d.value:.4f}"
    if d.interval is not None:
        lo, hi = d.interval
        text += f" ({(g.ci or 0) * 100:g}% CI {lo:.4f}..{hi:.4g}, {d.method}; judged on {d.bound:.4g}, {g.require})"
    text += f" {'meets' if d.passed else 'misses'} {g.condition}; {d.units} independent units; groups: "
    text += ", ".join(_group_text(k, v) for k, v in groups.items() if v.value is not None)
    return text + (f"; {skipped} rows lack var(s) '{g.by_label}'" if skipped else "")


def _reason(g: GateSpec, d: Decision) -> str:
    assert g.condition is not None and d.value is not None
    if d.interval is None or d.bound is None:
        return f"{g.stat} {d.value:.4g} misses {g.condition}"
    return f"{g.stat} {d.value:.4g}: bound {d.bound:.4g} ({g.require}) misses {g.condition} over {d.units} units"


def _group_text(name: str, entry: GroupStat) -> str:
    extra = f", unparsed {entry.unparsed}" if entry.unparsed else ""
    rates = f", TPR {entry.tpr:.3f}, FPR {entry.fpr:.3f}" if entry.tpr is not None and entry.fpr is not None else ""
    return f"{name}={entry.value:.3f} (n={entry.n}, units={entry.units}{rates}{extra})"


def unparsed_note(g: GateSpec, unparsed: int, total: int, what: str = "outputs") -> tuple[str, bool]:
    """Unreadable outcomes are missing evidence: beyond ``max_unparsed_rate`` the gate fails."""
    if not unparsed:
        return "", True
    rate = unparsed / total if total else 0.0
    note = f"; {unparsed} of {total} {what} had no readable outcome"
    if rate > g.max_unparsed_rate:
        return note + f" (rate {rate:.3g} > max_unparsed_rate {g.max_unparsed_rate:g}: the gate cannot pass on them)", False
    return note, True
