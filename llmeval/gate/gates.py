"""Evaluate one suite gate over the case rows of a model: the gate row the reports and pytest read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmeval.gate import rows as R
from llmeval.gate import stats
from llmeval.gate.baseline import Baseline, compare_with_baseline
from llmeval.gate.diff import match_rule
from llmeval.gate.fairness import evaluate_fairness
from llmeval.gate.spec import GateSpec, gate_name, parse_gate

WORST = 5


def _unit(g: GateSpec, score: Mapping[str, Any]) -> float:
    """The per-row value a statistic aggregates: 0/1 for rates, the score value otherwise."""
    if g.stat == "pass_rate":
        return float(bool(score.get("passed")))
    if g.stat == "leak_rate":
        return float(float(score["value"]) > 0)
    return float(score["value"])


def _interval(g: GateSpec, clusters: list[list[float]]) -> tuple[float, float] | None:
    if g.ci is None:
        return None
    if g.is_rate and all(len(c) == 1 for c in clusters):
        # one sample per case: an exact binomial interval; repeats are not independent, so they bootstrap by case
        flat = [v for c in clusters for v in c]
        return stats.rate_interval(int(sum(flat)), len(flat), confidence=g.ci, method=g.method)
    return stats.bootstrap_interval(clusters, g.stat, confidence=g.ci, q=g.q, resamples=g.resamples, seed=g.seed)


def _worst(g: GateSpec, by_case: dict[str, list[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """The cases that pull the statistic the wrong way, worst first."""
    assert g.condition is not None
    high_is_bad = g.condition.lower_is_better or g.stat == "leak_rate"
    summary = []
    for case, scores in by_case.items():
        units = [_unit(g, s) for s in scores]
        value = sum(float(s["value"]) for s in scores) / len(scores)
        summary.append((sum(units) / len(units), value, case))
    summary.sort(key=lambda t: (-t[0], -t[1]) if high_is_bad else (t[0], t[1]))
    if g.is_rate:
        summary = [s for s in summary if (s[0] > 0 if high_is_bad else s[0] < 1)]
    return [{"case": case, "value": value} for _, value, case in summary[:WORST]]


def _stat_message(g: GateSpec, row: dict[str, Any], cases: int) -> str:
    assert g.condition is not None
    label = f"{g.metric} {g.stat}" + (f"(q={g.q:g})" if g.stat == "quantile" else "")
    text = f"{label} = {row['value']:.4f}"
    if row["interval"] is not None:
        lo, hi = row["interval"]
        side = "upper" if g.condition.lower_is_better else "lower"
        text += f" ({(g.ci or 0) * 100:g}% CI {lo:.4f}..{hi:.4f})"
        if row["bound"] is not None:
            text += f", {side} bound {row['bound']:.4f}"
    text += f" {'meets' if row['passed'] else 'misses'} {g.condition}; n={row['n']} rows over {cases} cases"
    return text


def _evaluate_stat(g: GateSpec, rows: Sequence[R.Row], row: dict[str, Any]) -> dict[str, Any]:
    assert g.condition is not None
    by_case = R.group_by_case(rows, g.metric)
    clusters = [[_unit(g, s) for s in scores] for scores in by_case.values()]
    flat = [v for c in clusters for v in c]
    row["n"] = len(flat)
    if not flat:
        row["passed"] = False
        available = ", ".join(R.metrics_in(rows)) or "none"
        row["message"] = f"no '{g.metric}' scores to gate on (metrics in these results: {available})"
        return row
    row["value"] = stats.point_stat(flat, g.stat, g.q)
    interval = _interval(g, clusters)
    row["interval"] = list(interval) if interval else None
    row["bound"] = g.condition.bound(interval)
    judged = row["bound"] if row["bound"] is not None else row["value"]
    row["passed"] = g.condition.check(judged)
    row["worst"] = _worst(g, by_case)
    row["message"] = _stat_message(g, row, len(by_case))
    if row["worst"]:
        row["message"] += "; worst: " + ", ".join(f"{w['case']}={w['value']:.3g}" for w in row["worst"])
    return row


def _apply_baseline(
    g: GateSpec, rows: Sequence[R.Row], row: dict[str, Any], baseline: Baseline | None, rules: list[Mapping[str, Any]]
) -> None:
    """Attach the baseline comparison of this gate's metric; a significant regression fails the gate."""
    regression_only = g.stat == "regression"
    if baseline is None:
        if regression_only:
            row.update(passed=True, message=f"no baseline given (--llmeval-baseline): regression on {g.metric} not checked")
        return
    diff = compare_with_baseline(rows, baseline, rules)
    entries = [m for m in diff["metrics"] if g.metric in (m["metric"], "*")]
    row["baseline"] = {
        "path": baseline.path,
        "mismatches": diff["mismatches"],
        "new_cases": [c["case"] for c in diff["new_cases"]],
        "missing_cases": [c["case"] for c in diff["missing_cases"]],
        "metrics": entries,
        "regressed": any(m["regressed"] for m in entries),
        "message": "; ".join(m["message"] for m in entries if m["regressed"]),
    }
    notes = [m["message"] for m in entries if m["regressed"] or regression_only]
    if regression_only:
        row["passed"] = not row["baseline"]["regressed"]
        if len(entries) == 1:
            row.update(value=entries[0]["delta"], interval=entries[0]["interval"], n=entries[0]["n"])
        notes = notes or [f"no '{g.metric}' scores shared with the baseline"]
    elif row["baseline"]["regressed"]:
        row["passed"] = False
    extra = notes + diff["mismatches"]
    if diff["new_cases"] or diff["missing_cases"]:
        extra.append(f"{len(diff['new_cases'])} cases new to, {len(diff['missing_cases'])} missing from the baseline")
    if extra:
        row["message"] = "; ".join(filter(None, [row.get("message", ""), *extra]))


def _threshold(g: GateSpec, rules: list[Mapping[str, Any]]) -> str:
    if g.condition is not None:
        return g.condition.describe()
    rule = match_rule(rules, g.metric, None) or {"max_drop": 0.0, "alpha": 0.05}
    return f"drop <= {rule['max_drop']:g} (alpha {rule['alpha']:g})"


def evaluate_gate(
    spec: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    *,
    suite: str,
    model: str,
    baseline: Baseline | None = None,
    regression: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Evaluate a gate spec over the rows of ``suite`` × ``model`` and return its gate row."""
    g = parse_gate(spec)
    selected = R.case_rows(rows, suite=suite, model=model)
    errors = sum(1 for r in selected if R.is_error(r))
    # suite-level rules are enforced by the regression-only gates plan_gates adds; a stat gate
    # enforces only its own inline ``regression:`` (and shows the baseline comparison either way)
    rules: list[Mapping[str, Any]] = [*g.rules, *regression] if g.stat == "regression" else list(g.rules)
    row: dict[str, Any] = {
        "kind": "gate",
        "run_id": next((r.get("run_id") for r in selected if r.get("run_id")), None),
        "suite": suite,
        "gate": gate_name(spec),
        "model": model,
        "model_label": next((r.get("model_label") for r in selected if r.get("model_label")), model),
        "metric": g.metric,
        "stat": g.stat,
        "value": None,
        "interval": None,
        "ci": g.ci,
        "bound": None,
        "threshold": _threshold(g, rules),
        "passed": False,
        "n": 0,
        "errors": errors,
        "message": "",
        "worst": [],
        "baseline": None,
        "groups": None,
    }
    if g.is_fairness:
        evaluate_fairness(g, selected, row)
    elif g.stat != "regression":
        _evaluate_stat(g, selected, row)
    _apply_baseline(g, selected, row, baseline, rules)
    if errors:
        row["message"] += f"; {errors} errored rows excluded"
    return row


def gate_properties(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, value) pairs for a gate's JUnit properties (``record_property``)."""
    props = [("llmeval.gate", str(row["gate"])), ("llmeval.metric", str(row["metric"])), ("llmeval.stat", str(row["stat"]))]
    for key in ("value", "bound", "ci", "n", "threshold", "passed"):
        if row.get(key) is not None:
            props.append((f"llmeval.{key}", str(row[key])))
    if row.get("interval"):
        props.append(("llmeval.interval", f"{row['interval'][0]:.6g}..{row['interval'][1]:.6g}"))
    return props
