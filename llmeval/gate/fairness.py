"""Fairness gates: fairlearn metrics over the per-case pass/fail (or value), grouped by a case var."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmeval.errors import SuiteError
from llmeval.gate import rows as R
from llmeval.gate.spec import GateSpec


def _columns(g: GateSpec, rows: Sequence[R.Row]) -> tuple[list[Any], list[float], list[float], int]:
    """Group labels, y_pred (pass 0/1 or value) and y_true for rows that carry the ``by`` var."""
    groups: list[Any] = []
    y_pred: list[float] = []
    y_true: list[float] = []
    skipped = 0
    for row in rows:
        score = R.score_of(row, g.metric)
        variables = row.get("vars") or {}
        if R.is_error(row) or score is None:
            continue
        if g.by not in variables or (g.y_true and g.y_true not in variables):
            skipped += 1
            continue
        groups.append(str(variables[g.by]))
        y_pred.append(float(bool(score.get("passed"))) if g.of == "passed" else float(score["value"]))
        y_true.append(float(variables[g.y_true]) if g.y_true else 1.0)
    return groups, y_pred, y_true, skipped


def _needs_binary(g: GateSpec) -> bool:
    return g.stat.startswith(("demographic_parity", "equalized_odds"))


def fairness_value(g: GateSpec, groups: list[Any], y_pred: list[float], y_true: list[float]) -> tuple[float, dict]:
    """The fairlearn disparity and a per-group table ({group: {value, n}})."""
    import numpy as np
    from fairlearn import metrics as fm

    pred = np.asarray(y_pred)
    true = np.asarray(y_true)
    if g.stat.startswith("equalized_odds") and not g.y_true:
        raise SuiteError(
            f"gate '{g.name or g.metric}': {g.stat} needs 'y_true', the case var with each case's expected 0/1 label",
            key="gates.y_true",
            hint=f"e.g. {{metric: {g.metric}, by: {g.by}, fairlearn: {g.stat}, y_true: label, max: 0.1}}",
        )
    if _needs_binary(g):
        value = getattr(fm, g.stat)(true, pred.astype(int), sensitive_features=groups)
    else:
        frame = fm.MetricFrame(metrics=lambda yt, yp: float(np.mean(yp)), y_true=true, y_pred=pred, sensitive_features=groups)
        value = frame.difference() if g.stat == "difference" else frame.ratio()
    table = fm.MetricFrame(
        metrics={"value": lambda yt, yp: float(np.mean(yp)), "n": fm.count},
        y_true=true,
        y_pred=pred,
        sensitive_features=groups,
    ).by_group
    per_group = {str(k): {"value": float(v["value"]), "n": int(v["n"])} for k, v in table.iterrows()}
    return float(value), per_group


def evaluate_fairness(g: GateSpec, rows: Sequence[R.Row], row: dict[str, Any]) -> dict[str, Any]:
    """Fill the gate row for a fairlearn gate."""
    groups, y_pred, y_true, skipped = _columns(g, rows)
    row["n"] = len(groups)
    if len(set(groups)) < 2:
        row["passed"] = False
        row["message"] = (
            f"{g.stat} of {g.metric} by '{g.by}': needs at least two groups, found {len(set(groups))} "
            f"({len(groups)} rows with var '{g.by}', {skipped} rows without it)"
        )
        return row
    value, per_group = fairness_value(g, groups, y_pred, y_true)
    assert g.condition is not None
    row.update(value=value, groups=per_group, passed=g.condition.check(value))
    row["worst"] = [
        {"case": f"{g.by}={k}", "value": v["value"]} for k, v in sorted(per_group.items(), key=lambda kv: kv[1]["value"])
    ]
    table = ", ".join(f"{k}={v['value']:.3f} (n={v['n']})" for k, v in per_group.items())
    verdict = "meets" if row["passed"] else "misses"
    row["message"] = f"{g.stat} of {g.metric} ({g.of}) by '{g.by}' = {value:.4f} {verdict} {g.condition}; groups: {table}"
    if skipped:
        row["message"] += f"; {skipped} rows lack var '{g.by}'"
    return row
