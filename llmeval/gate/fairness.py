"""Fairness gates: fairlearn metrics of an outcome across groups (one case var, or an intersection of several).

The outcome is each case's pass/fail (``of: passed``) or its score value (``of: value``: a decision read
from the output, a refusal, a sentiment, any scorer's number). Outputs the outcome could not be read
from are counted per group and fail the gate beyond ``max_unparsed_rate`` (default 0); they are never
dropped silently or read as a negative. With ``ci``, the gate is judged on the bound of a bootstrap
interval that resamples whole counterfactual sets (or cases, when the suite has no sets).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmeval.errors import SuiteError
from llmeval.gate import fair_boot
from llmeval.gate import rows as R
from llmeval.gate.spec import GateSpec
from llmeval.gate.stats import rate_interval

SET_VAR = "counterfactual.set"


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
    keys = g.by_keys
    out, skipped = [], 0
    for row in rows:
        score, variables = raw_score(row, g.metric), row.get("vars") or {}
        if R.is_error(row) or score is None:
            continue
        if any(k not in variables for k in keys) or (g.y_true and g.y_true not in variables):
            skipped += 1
            continue
        pred = None if is_unparsed(score) else (float(bool(score.get("passed"))) if g.of == "passed" else float(score["value"]))
        true = float(variables[g.y_true]) if g.y_true else None
        cluster = str(variables.get(SET_VAR, row.get("case")))
        out.append(Observation(str(row.get("case")), cluster, tuple(str(variables[k]) for k in keys), pred, true))
    return out, skipped


def _needs_binary(g: GateSpec) -> bool:
    return g.stat.startswith(("demographic_parity", "equalized_odds"))


def _features(g: GateSpec, groups: Sequence[tuple[str, ...]]) -> Any:
    import pandas as pd

    return pd.DataFrame([list(k) for k in groups], columns=list(g.by_keys))


def fairness_value(
    g: GateSpec, groups: Sequence[tuple[str, ...]], y_pred: list[float], y_true: list[float]
) -> tuple[float, dict]:
    """The fairlearn disparity and a per-group table ({group: {value, n, interval, [tpr, fpr]}})."""
    import numpy as np
    from fairlearn import metrics as fm

    pred, true, features = np.asarray(y_pred), np.asarray(y_true), _features(g, groups)
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


def _tables(g: GateSpec, parsed: list[Observation]) -> list[tuple[Any, Any]]:
    clusters = {c: i for i, c in enumerate(dict.fromkeys(o.cluster for o in parsed))}
    groups = {k: i for i, k in enumerate(dict.fromkeys(o.group for o in parsed))}
    c, k = [clusters[o.cluster] for o in parsed], [groups[o.group] for o in parsed]
    values = [o.pred or 0.0 for o in parsed]
    shape = (len(clusters), len(groups))
    if g.stat.startswith("equalized_odds"):
        return [fair_boot.cluster_tables(c, k, values, [o.true == want for o in parsed], shape) for want in (1.0, 0.0)]
    return [fair_boot.cluster_tables(c, k, values, [True] * len(parsed), shape)]


def _group_table(obs: list[Observation], per_group: dict[str, dict[str, Any]], confidence: float) -> dict[str, dict[str, Any]]:
    """Per group: the outcome, n, unparsed count and (for 0/1 outcomes) the exact interval of its rate."""
    table: dict[str, dict[str, Any]] = {}
    for name in sorted({group_name(o.group) for o in obs}):
        mine = [o for o in obs if group_name(o.group) == name]
        values = [o.pred for o in mine if o.pred is not None]
        entry = dict(per_group.get(name, {"value": None, "n": 0}))
        entry["unparsed"] = len(mine) - len(values)
        if values and all(v in (0.0, 1.0) for v in values):
            entry["interval"] = list(rate_interval(sum(values), len(values), confidence=confidence))
        table[name] = entry
    return table


def evaluate_fairness(g: GateSpec, rows: Sequence[R.Row], row: dict[str, Any]) -> dict[str, Any]:
    """Fill the gate row for a fairlearn gate."""
    obs, skipped = observations(g, rows)
    parsed = [o for o in obs if o.pred is not None]
    row["n"] = len(obs)
    found = {o.group for o in parsed}
    if len(found) < 2:
        row["passed"] = False
        row["groups"] = _group_table(obs, {}, g.ci or 0.95) or None
        row["message"] = (
            f"{g.stat} of {g.metric} by '{g.by_label}': needs at least two groups with readable outcomes, found {len(found)} "
            f"({len(obs)} outputs with the group var(s), {len(obs) - len(parsed)} unreadable, {skipped} rows without)"
        )
        return row
    value, per_group = fairness_value(
        g, [o.group for o in parsed], [o.pred or 0.0 for o in parsed], [o.true or 0.0 for o in parsed]
    )
    assert g.condition is not None
    if g.ci is not None:
        interval = fair_boot.bootstrap_disparity(g.stat, _tables(g, parsed), confidence=g.ci, resamples=g.resamples, seed=g.seed)
        row["interval"] = list(interval)
        row["bound"] = g.condition.bound(interval)
    judged = row["bound"] if row.get("bound") is not None else value
    row.update(value=value, groups=_group_table(obs, per_group, g.ci or 0.95), passed=g.condition.check(judged))
    row["worst"] = [
        {"case": f"{g.by_label}={k}", "value": v["value"]} for k, v in sorted(per_group.items(), key=lambda kv: kv[1]["value"])
    ]
    row["message"] = _message(g, row, len(obs) - len(parsed), len(obs), skipped)
    return row


def _message(g: GateSpec, row: dict[str, Any], unparsed: int, total: int, skipped: int) -> str:
    assert g.condition is not None
    text = f"{g.stat} of {g.metric} ({g.of}) by '{g.by_label}' = {row['value']:.4f}"
    if row.get("interval"):
        lo, hi = row["interval"]
        text += f" ({(g.ci or 0) * 100:g}% CI {lo:.4f}..{hi:.4f}, bound {row['bound']:.4f})"
    verdict = "meets" if row["passed"] else "misses"
    table = ", ".join(_group_text(k, v) for k, v in row["groups"].items() if v["value"] is not None)
    text += f" {verdict} {g.condition}; groups: {table}"
    text += unparsed_note(g, row, unparsed, total)
    return text + (f"; {skipped} rows lack var(s) '{g.by_label}'" if skipped else "")


def _group_text(name: str, entry: dict[str, Any]) -> str:
    extra = f", unparsed {entry['unparsed']}" if entry.get("unparsed") else ""
    return f"{name}={entry['value']:.3f} (n={entry['n']}{extra})"


def unparsed_note(g: GateSpec, row: dict[str, Any], unparsed: int, total: int, what: str = "outputs") -> str:
    """Unreadable outcomes are missing evidence: beyond ``max_unparsed_rate`` the gate fails."""
    if not unparsed:
        return ""
    rate = unparsed / total if total else 0.0
    note = f"; {unparsed} of {total} {what} had no readable outcome"
    if rate > g.max_unparsed_rate:
        row["passed"] = False
        note += f" (rate {rate:.3g} > max_unparsed_rate {g.max_unparsed_rate:g}: the gate cannot pass on them)"
    return note
