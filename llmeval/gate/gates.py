"""Evaluate one suite gate over the case rows of a model: ``evaluate_gate(spec, rows) -> GateRecord``.

Verdict rules (README "What the verdict guarantees"):
- bounds: with ``ci``, a gate is judged on an interval end that holds its coverage at every n
  (``llmeval.gate.bounds``), over independent units (``llmeval.gate.units``), never on a point value;
- errors count: an errored output is missing evidence. When more than ``max_error_rate`` of the
  gate's outputs errored (default 0), the gate fails whatever its statistic says. Within that
  allowance, rate gates count an errored output as a failure (pass_rate) or a leak (leak_rate);
  value gates leave it out. Every gate message states the error count and the commonest reasons;
- a regression gate with no baseline to compare with fails, unless the run records a new baseline
  (then it is skipped); it never passes on missing evidence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmeval.gate import rows as R
from llmeval.gate.diff import match_rule
from llmeval.gate.fairness import evaluate_fairness
from llmeval.gate.kinds import KINDS, decider
from llmeval.gate.spec import GateSpec, parse_gate
from llmeval.gate.statgate import Decision, evaluate_stat
from llmeval.gate.units import scale_for
from llmeval.records import BaselineCheck, GateRecord, GateStatus, MetricDiff
from llmeval.scorers.base import Scale


@dataclass(frozen=True)
class Outcome:
    """A gate's status and texts as the rules after the statistic change them."""

    status: GateStatus
    message: str
    reason: str


def evaluate_gate(
    spec: Mapping[str, Any] | GateSpec,
    rows: Sequence[Mapping[str, Any]],
    *,
    suite: str,
    model: str,
    diff: Mapping[str, Any] | None = None,
    regression: Sequence[Mapping[str, Any]] = (),
    max_error_rate: float = 0.0,
    no_baseline: str = "fail",
    scales: Mapping[str, Scale] | None = None,
) -> GateRecord:
    """Decide a gate over the case rows of ``suite`` x ``model``: the one way a gate is decided.

    ``diff`` is the run's baseline comparison (computed once per run), None when there is no baseline;
    ``scales`` maps metrics to their scorers' declared scales (the registry is asked for the rest).
    """
    g = parse_gate(spec)
    selected = R.case_rows(rows, suite=suite, model=model)
    scale = scale_for(g.metric, scales or {}, g.range)
    rules = [*g.rules, *regression] if g.stat == "regression" else list(g.rules)
    decision = _decide(g, selected, scale)
    out = Outcome("passed" if decision.passed else "failed", decision.message, decision.reason)
    baseline, out, decision = _apply_baseline(g, out, decision, diff, no_baseline, suite, model)
    errors = sum(1 for r in selected if R.is_error(r))
    out = _apply_errors(out, selected, errors, max_error_rate)
    if g.metric == "latency_s":
        out = Outcome(out.status, f"{out.message}; {R.TIMING_CAVEAT}", out.reason)
    extra = dict(decision.extra)
    return GateRecord(
        suite=suite,
        gate=g.name,
        model=model,
        metric=g.metric,
        stat=g.stat,
        status=out.status,
        message=out.message,
        reason=out.reason,
        value=decision.value,
        interval=decision.interval,
        ci=g.ci,
        bound=decision.bound,
        threshold=_threshold(g, rules),
        method=decision.method,
        require=g.require,
        scale=scale.describe(),
        n=decision.n,
        units=decision.units,
        cases=len({r.get("case") for r in selected}),
        reachable=decision.reachable,
        errors=errors,
        error_rate=errors / len(selected) if selected else 0.0,
        max_error_rate=max_error_rate,
        worst=decision.worst,
        baseline=baseline,
        groups=extra.get("groups"),  # type: ignore[arg-type]
        flips=tuple(extra.get("flips", ())),  # type: ignore[arg-type]
        flipped=int(extra.get("flipped", 0)),  # type: ignore[call-overload]
    )


def _decide(g: GateSpec, rows: Sequence[R.Row], scale: Scale) -> Decision:
    if g.is_fairness:
        return evaluate_fairness(g, rows, scale)
    if g.stat in KINDS:
        return decider(g.stat)(g, rows, scale)
    if g.stat == "regression":
        return Decision(False, "", n=0)
    return evaluate_stat(g, rows, scale)


def _apply_baseline(
    g: GateSpec, out: Outcome, d: Decision, diff: Mapping[str, Any] | None, no_baseline: str, suite: str, model: str
) -> tuple[BaselineCheck | None, Outcome, Decision]:
    """This gate's part of the run's baseline comparison; a regression fails the gate."""
    regression_only = g.stat == "regression"
    if diff is None:
        if not regression_only:
            return None, out, d
        if no_baseline == "skip":
            text = f"regression on {g.metric} not checked: this run records the baseline"
            return None, Outcome("skipped", text, ""), d
        text = (
            f"regression on {g.metric} not checked: no baseline to compare with; pass --llmeval-baseline PATH "
            "(create one with --llmeval-save-baseline PATH)"
        )
        return None, Outcome("failed", text, text), d
    here = {"suite": suite, "model": model}
    entries = tuple(
        MetricDiff.from_json({**m, "suite": suite, "model": model})
        for m in diff["metrics"]
        if g.metric in (m["metric"], "*") and _same(m, here)
    )
    regressed = [m for m in entries if m.regressed]
    check = BaselineCheck(
        path=diff.get("baseline"),
        metrics=entries,
        mismatches=tuple(diff.get("mismatches", [])),
        new_cases=tuple(c["case"] for c in diff.get("new_cases", []) if _same(c, here)),
        missing_cases=tuple(c["case"] for c in diff.get("missing_cases", []) if _same(c, here)),
        regressed=bool(regressed),
        message="; ".join(m.message for m in regressed),
    )
    notes = [m.message for m in entries if m.regressed or regression_only]
    status, reason = out.status, out.reason
    if (regression_only or g.rules) and suite in diff.get("changed_suites", ()):
        text = (
            f"regression on {g.metric} not decided: suites.{suite}.sha256 differs from the baseline's, so the cases "
            "may differ; compare with a baseline of this suite file (record one with --llmeval-save-baseline)"
        )
        return check, Outcome("error", text, text), d
    if regression_only:
        status = "failed" if regressed or not entries else "passed"
        if len(entries) == 1:
            e = entries[0]
            d = Decision(False, "", value=e.drop, interval=e.interval, n=e.n, units=e.n, method="paired drop")
        notes = notes or [f"no '{g.metric}' scores shared with the baseline: nothing compared"]
        reason = "; ".join(notes) if status == "failed" else ""
    elif regressed and g.rules:
        status, reason = "failed", "; ".join(m.message for m in regressed)
    extra = notes + list(check.mismatches)
    if check.new_cases or check.missing_cases:
        extra.append(f"{len(check.new_cases)} cases new to, {len(check.missing_cases)} missing from the baseline")
    message = "; ".join(filter(None, [out.message, *extra]))
    return check, Outcome(status, message, reason), d


def _same(entry: Mapping[str, Any], where: Mapping[str, str]) -> bool:
    return bool(entry.get("suite", where["suite"]) == where["suite"] and entry.get("model", where["model"]) == where["model"])


def _threshold(g: GateSpec, rules: Sequence[Mapping[str, Any]]) -> str:
    if g.condition is not None:
        return g.condition.describe()
    rule = match_rule(rules, g.metric, None) or {"max_drop": 0.0, "alpha": 0.05}
    return f"drop <= {rule['max_drop']:g} (alpha {rule['alpha']:g})"


def _apply_errors(out: Outcome, rows: Sequence[R.Row], errors: int, max_error_rate: float) -> Outcome:
    """Errored outputs are missing evidence: over the allowance the gate fails; the count and reasons are shown."""
    rate = errors / len(rows) if rows else 0.0
    note = f"{errors} of {len(rows)} outputs errored"
    if errors:
        note += f" ({error_reasons(rows)})"
    if not errors or rate <= max_error_rate or out.status == "skipped":
        return Outcome(out.status, f"{out.message}; {note}" if out.message else note, out.reason)
    why = f"error rate {rate:.3g} > max_error_rate {max_error_rate:g}: the gate cannot pass on missing evidence"
    reason = f"{errors} of {len(rows)} outputs errored ({error_reasons(rows)})"
    message = f"{out.message}; {note}; {why}" if out.message else f"{note}; {why}"
    return Outcome("failed", message, reason if out.status == "passed" or not out.reason else f"{out.reason}; {reason}")


def error_reasons(rows: Sequence[R.Row], top: int = 2) -> str:
    """The commonest error texts (first line, trimmed) with their counts, e.g. "judge unreliable: ... x10"."""
    counts = Counter(str(r.get("error")).splitlines()[0][:120] for r in rows if R.is_error(r))
    return "; ".join(f"{text} x{n}" for text, n in counts.most_common(top))


def gate_properties(record: GateRecord) -> list[tuple[str, str]]:
    """(name, value) pairs for a gate's JUnit properties."""
    props = [("llmeval.gate", record.gate), ("llmeval.metric", record.metric), ("llmeval.stat", record.stat)]
    for key in ("status", "value", "bound", "ci", "n", "units", "errors", "threshold", "method", "reachable", "passed"):
        value = getattr(record, key)
        if value is not None and value != "":
            props.append((f"llmeval.{key}", str(value)))
    if record.interval:
        props.append(("llmeval.interval", f"{record.interval[0]:.6g}..{record.interval[1]:.6g}"))
    if record.reason:
        props.append(("llmeval.reason", record.reason))
    return props + group_properties(record)


def group_properties(record: GateRecord) -> list[tuple[str, str]]:
    """Per-group values of a fairness gate (``llmeval.group.<name>``) and its flipped counterfactual sets."""
    props = []
    for name, entry in (record.groups or {}).items():
        parts = [f"value={entry.value}", f"n={entry.n}", f"units={entry.units}"]
        parts += [f"{k}={getattr(entry, k)}" for k in ("unparsed", "tpr", "fpr") if getattr(entry, k)]
        if entry.interval:
            parts.append(f"interval={entry.interval[0]:.4g}..{entry.interval[1]:.4g}")
        props.append((f"llmeval.group.{name}", " ".join(parts)))
    for flip in record.flips:
        outcomes = "; ".join(f"{m.case}={m.outcome}" for m in flip.members)
        props.append((f"llmeval.flip.{flip.set}", outcomes))
    return props
