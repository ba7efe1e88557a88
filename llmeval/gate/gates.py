"""Evaluate one suite gate over the case rows of a model: the gate row the records and reports read.

Verdict rules (README "Gates, baselines, verdict"):
- errors count: an errored output is missing evidence. When more than ``max_error_rate`` of the
  gate's outputs errored (default 0), the gate fails whatever its statistic says. Within that
  allowance, rate gates count an errored output as a failure (pass_rate) or a leak (leak_rate);
  value gates leave it out. Every gate message states the error count.
- repeats: intervals resample whole cases, and a rate's interval is never narrower than the exact
  (Clopper–Pearson) interval over the number of distinct cases.
- a regression gate with no baseline to compare with fails, unless the run records a new baseline
  (then it is skipped); it never passes on missing evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmeval.gate import rows as R
from llmeval.gate import stats
from llmeval.gate.consistency import evaluate_consistency
from llmeval.gate.diff import match_rule
from llmeval.gate.fairness import evaluate_fairness
from llmeval.gate.preference import evaluate_preference
from llmeval.gate.spec import GateSpec, gate_name, parse_gate

WORST = 5
_GROUP_GATES = {"consistency": evaluate_consistency, "preference": evaluate_preference}


def _unit(g: GateSpec, row: R.Row) -> float | None:
    """The per-row value a statistic aggregates: 0/1 for rates (errors count against), the value otherwise."""
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


def _clusters(g: GateSpec, rows: Sequence[R.Row]) -> dict[str, list[float]]:
    """Case id -> the units of its samples (a case sampled k times gives k units)."""
    out: dict[str, list[float]] = {}
    for row in rows:
        unit = _unit(g, row)
        if unit is not None:
            out.setdefault(str(row.get("case")), []).append(unit)
    return out


def _interval(g: GateSpec, clusters: list[list[float]]) -> tuple[float, float] | None:
    """Case-resampling interval; for rates, widened to at least the exact interval over distinct cases."""
    if g.ci is None:
        return None
    if not g.is_rate:
        return stats.bootstrap_interval(clusters, g.stat, confidence=g.ci, q=g.q, resamples=g.resamples, seed=g.seed)
    per_case = [sum(c) / len(c) for c in clusters]
    exact = stats.rate_interval(sum(per_case), len(per_case), confidence=g.ci, method=g.method)
    if all(len(c) == 1 for c in clusters):
        return exact
    boot = stats.bootstrap_interval(clusters, g.stat, confidence=g.ci, resamples=g.resamples, seed=g.seed)
    return (min(exact[0], boot[0]), max(exact[1], boot[1]))


def _worst(g: GateSpec, by_case: dict[str, list[float]], rows: Sequence[R.Row]) -> list[dict[str, Any]]:
    """The cases that pull the statistic the wrong way, worst first (ties: by score value)."""
    assert g.condition is not None
    high_is_bad = g.condition.lower_is_better or g.stat == "leak_rate"
    values = {
        case: sum(float(s["value"]) for s in scores) / len(scores) for case, scores in R.group_by_case(rows, g.metric).items()
    }
    sign = -1 if high_is_bad else 1
    summary = sorted(by_case.items(), key=lambda kv: (sign * sum(kv[1]) / len(kv[1]), sign * values.get(kv[0], 0.0)))
    if g.is_rate:
        summary = [(c, u) for c, u in summary if (sum(u) > 0 if high_is_bad else sum(u) < len(u))]
    return [{"case": case, "value": values.get(case, sum(u) / len(u))} for case, u in summary[:WORST]]


def _stat_message(g: GateSpec, row: dict[str, Any]) -> str:
    assert g.condition is not None
    label = f"{g.metric} {g.stat}" + (f"(q={g.q:g})" if g.stat == "quantile" else "")
    text = f"{label} = {row['value']:.4f}"
    if row["interval"] is not None:
        lo, hi = row["interval"]
        side = "upper" if g.condition.lower_is_better or g.stat == "leak_rate" else "lower"
        text += f" ({(g.ci or 0) * 100:g}% CI {lo:.4f}..{hi:.4f})"
        if row["bound"] is not None:
            text += f", {side} bound {row['bound']:.4f}"
    verdict = "meets" if row["status"] == "passed" else "misses"
    return text + f" {verdict} {g.condition}; n={row['n']} outputs over {row['cases']} cases"


def _evaluate_stat(g: GateSpec, rows: Sequence[R.Row], row: dict[str, Any]) -> None:
    assert g.condition is not None
    by_case = _clusters(g, rows)
    clusters = list(by_case.values())
    flat = [v for c in clusters for v in c]
    row.update(n=len(flat), cases=len(by_case))
    if not flat:
        available = ", ".join(R.metrics_in(rows)) or "none"
        row.update(status="failed", message=f"no '{g.metric}' scores to gate on (metrics in these results: {available})")
        return
    row["value"] = stats.point_stat(flat, g.stat, g.q)
    interval = _interval(g, clusters)
    row["interval"] = list(interval) if interval else None
    row["bound"] = g.condition.bound(interval)
    judged = row["bound"] if row["bound"] is not None else row["value"]
    row["status"] = "passed" if g.condition.check(judged) else "failed"
    row["worst"] = _worst(g, by_case, rows)
    row["message"] = _stat_message(g, row)
    if row["worst"]:
        row["message"] += "; worst: " + ", ".join(f"{w['case']}={w['value']:.3g}" for w in row["worst"])


def _apply_baseline(g: GateSpec, row: dict[str, Any], diff: Mapping[str, Any] | None, no_baseline: str) -> None:
    """Attach this gate's part of the run's baseline comparison; a significant regression fails the gate."""
    regression_only = g.stat == "regression"
    if diff is None:
        if regression_only:
            if no_baseline == "skip":
                row.update(status="skipped", message=f"regression on {g.metric} not checked: this run records the baseline")
            else:
                row.update(
                    status="failed",
                    message=f"regression on {g.metric} not checked: no baseline to compare with; pass "
                    "--llmeval-baseline PATH (create one with --llmeval-save-baseline PATH)",
                )
        return
    entries = [m for m in diff["metrics"] if g.metric in (m["metric"], "*") and _same(m, row)]
    regressed = any(m["regressed"] for m in entries)
    row["baseline"] = {
        "path": diff.get("baseline"),
        "mismatches": list(diff.get("mismatches", [])),
        "new_cases": [c["case"] for c in diff.get("new_cases", []) if _same(c, row)],
        "missing_cases": [c["case"] for c in diff.get("missing_cases", []) if _same(c, row)],
        "metrics": entries,
        "regressed": regressed,
        "message": "; ".join(m["message"] for m in entries if m["regressed"]),
    }
    notes = [m["message"] for m in entries if m["regressed"] or regression_only]
    if regression_only:
        row["status"] = "failed" if regressed or not entries else "passed"
        if len(entries) == 1:
            row.update(value=entries[0]["delta"], interval=entries[0]["interval"], n=entries[0]["n"])
        notes = notes or [f"no '{g.metric}' scores shared with the baseline: nothing compared"]
    elif regressed and g.rules:
        row["status"] = "failed"
    extra = notes + row["baseline"]["mismatches"]
    new, missing = row["baseline"]["new_cases"], row["baseline"]["missing_cases"]
    if new or missing:
        extra.append(f"{len(new)} cases new to, {len(missing)} missing from the baseline")
    if extra:
        row["message"] = "; ".join(filter(None, [row.get("message", ""), *extra]))


def _same(entry: Mapping[str, Any], row: Mapping[str, Any]) -> bool:
    return entry.get("suite", row["suite"]) == row["suite"] and entry.get("model", row["model"]) == row["model"]


def _threshold(g: GateSpec, rules: Sequence[Mapping[str, Any]]) -> str:
    if g.condition is not None:
        return g.condition.describe()
    rule = match_rule(rules, g.metric, None) or {"max_drop": 0.0, "alpha": 0.05}
    return f"drop <= {rule['max_drop']:g} (alpha {rule['alpha']:g})"


def _apply_errors(row: dict[str, Any], rows: Sequence[R.Row], max_error_rate: float) -> None:
    """Errored outputs are missing evidence: over the allowance the gate fails; the count is always shown."""
    errors = sum(1 for r in rows if R.is_error(r))
    rate = errors / len(rows) if rows else 0.0
    row.update(errors=errors, error_rate=rate, max_error_rate=max_error_rate)
    note = f"{errors} of {len(rows)} outputs errored"
    if errors and rate > max_error_rate and row["status"] != "skipped":
        row["status"] = "failed"
        note += f" (error rate {rate:.3g} > max_error_rate {max_error_rate:g}: the gate cannot pass on missing evidence)"
    row["message"] = f"{row['message']}; {note}" if row["message"] else note


def evaluate_gate(
    spec: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    *,
    suite: str,
    model: str,
    diff: Mapping[str, Any] | None = None,
    regression: Sequence[Mapping[str, Any]] = (),
    max_error_rate: float = 0.0,
    no_baseline: str = "fail",
) -> dict[str, Any]:
    """Evaluate a gate spec over the case rows of ``suite`` x ``model`` and return its gate row.

    ``diff`` is the run's baseline comparison (computed once per run), None when there is no baseline.
    """
    g = parse_gate(spec)
    selected = R.case_rows(rows, suite=suite, model=model)
    rules = [*g.rules, *regression] if g.stat == "regression" else list(g.rules)
    row: dict[str, Any] = {
        "kind": "gate", "suite": suite, "gate": gate_name(spec), "model": model, "metric": g.metric, "stat": g.stat,
        "value": None, "interval": None, "ci": g.ci, "bound": None, "threshold": _threshold(g, rules),
        "status": "failed", "n": 0, "cases": len({r.get("case") for r in selected}), "message": "", "worst": [],
        "baseline": None, "groups": None,
    }  # fmt: skip
    if g.is_fairness or g.stat in _GROUP_GATES:
        (evaluate_fairness if g.is_fairness else _GROUP_GATES[g.stat])(g, selected, row)
        row["status"] = "passed" if row.pop("passed") else "failed"
    elif g.stat != "regression":
        _evaluate_stat(g, selected, row)
    _apply_baseline(g, row, diff, no_baseline)
    _apply_errors(row, selected, max_error_rate)
    row["passed"] = row["status"] == "passed"
    return row


def gate_properties(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, value) pairs for a gate's JUnit properties."""
    props = [("llmeval.gate", str(row["gate"])), ("llmeval.metric", str(row["metric"])), ("llmeval.stat", str(row["stat"]))]
    for key in ("status", "value", "bound", "ci", "n", "errors", "threshold", "passed"):
        if row.get(key) is not None:
            props.append((f"llmeval.{key}", str(row[key])))
    if row.get("interval"):
        props.append(("llmeval.interval", f"{row['interval'][0]:.6g}..{row['interval'][1]:.6g}"))
    return props + group_properties(row)


def group_properties(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Per-group values of a fairness gate (``llmeval.group.<name>``) and its flipped counterfactual sets."""
    props = []
    for name, entry in (row.get("groups") or {}).items():
        parts = [f"value={entry.get('value')}", f"n={entry.get('n')}"]
        parts += [f"{k}={entry[k]}" for k in ("unparsed", "tpr", "fpr") if entry.get(k) is not None]
        if entry.get("interval"):
            parts.append(f"interval={entry['interval'][0]:.4g}..{entry['interval'][1]:.4g}")
        props.append((f"llmeval.group.{name}", " ".join(parts)))
    for flip in row.get("flips") or ():
        outcomes = "; ".join(f"{m['case']}={m['outcome']}" for m in flip["members"])
        props.append((f"llmeval.flip.{flip['set']}", outcomes))
    return props
