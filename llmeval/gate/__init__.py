"""Release gates: statistics over case results, baselines and the release verdict."""

from __future__ import annotations

from llmeval.gate.baseline import Baseline, compare_with_baseline, load_baseline, save_baseline
from llmeval.gate.conditions import Condition, parse_condition
from llmeval.gate.gates import evaluate_gate, gate_properties
from llmeval.gate.spec import GateSpec, gate_name, parse_gate, plan_gates
from llmeval.gate.verdict import build_verdict, closing_lines, format_verdict

__all__ = [
    "Baseline",
    "Condition",
    "GateSpec",
    "build_verdict",
    "closing_lines",
    "compare_with_baseline",
    "evaluate_gate",
    "format_verdict",
    "gate_name",
    "gate_properties",
    "load_baseline",
    "parse_condition",
    "parse_gate",
    "plan_gates",
    "save_baseline",
]
