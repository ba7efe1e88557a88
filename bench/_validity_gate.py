"""The one adapter between bench/validity.py and llmeval's gates: did this gate pass on these rows?

It drives the public gate API the way a run does (core/gating.py): the baseline comparison is computed from a
baseline file written with ``save_baseline`` and read back with ``load_baseline``, then ``evaluate_gate`` decides.
It accepts both forms of ``evaluate_gate``: one that takes the suite's gate mapping and returns a dict with
"passed", and one that takes ``parse_gate(spec)`` and returns a record with ``.passed``.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from _validity_sim import MODEL, SUITE, case_row, score

from llmeval.errors import LlmevalError
from llmeval.gate import compare_with_baseline, evaluate_gate, load_baseline, parse_gate, save_baseline

Rows = Sequence[Mapping[str, Any]]


@functools.cache
def _takes_parsed_spec() -> bool:
    """True when evaluate_gate wants parse_gate's object (it rejects a mapping), False when it takes the mapping."""
    probe = {"metric": "m", "pass_rate": ">= 0.5"}
    row = case_row("c0", "m", score(1.0, True, {"min": 1.0}))
    try:
        evaluate_gate(parse_gate(probe), [row], suite=SUITE, model=MODEL)  # type: ignore[arg-type]
    except (LlmevalError, TypeError, AttributeError):
        return False
    return True


def _passed(result: Any) -> bool:
    return bool(result.passed if hasattr(result, "passed") else result["passed"])


def regression_rules(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    rule = spec.get("regression")
    if not rule:
        return []
    return [{"metric": spec["metric"], **(rule if isinstance(rule, Mapping) else {})}]


def baseline_diff(spec: Mapping[str, Any], rows: Rows, baseline_rows: Rows) -> Any:
    """The run's comparison with a baseline saved from ``baseline_rows`` (as --llmeval-baseline reads it)."""
    with tempfile.TemporaryDirectory(prefix="llmeval-validity-") as tmp:
        path = save_baseline(Path(tmp) / "baseline.json", baseline_rows, [], meta={"source": "bench/validity.py"})
        baseline = load_baseline(path)
    return compare_with_baseline(rows, baseline, regression_rules(spec))


def decide(spec: Mapping[str, Any], rows: Rows, baseline_rows: Rows | None = None) -> bool:
    """Whether the gate ``spec`` passes on ``rows`` (compared with ``baseline_rows`` when given)."""
    diff = baseline_diff(spec, rows, baseline_rows) if baseline_rows is not None else None
    gate: Any = parse_gate(spec) if _takes_parsed_spec() else spec
    return _passed(evaluate_gate(gate, rows, suite=SUITE, model=MODEL, diff=diff))
