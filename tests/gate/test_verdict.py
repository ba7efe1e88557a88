"""The release verdict: a PASS/FAIL line per gate and the significant regressions, once each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmeval.gate import build_verdict, compare_with_baseline, evaluate_gate, format_verdict, load_baseline, save_baseline


def test_verdict_lists_gates_and_regressions_once(tmp_path: Path, make_rows: Any) -> None:
    before = make_rows("rougeL", [0.8] * 30)
    after = make_rows("rougeL", [0.8] * 10 + [0.4] * 20)
    rules = [{"metric": "rougeL", "max_drop": 0.02}]
    baseline = load_baseline(save_baseline(tmp_path / "b.json", before, [], meta={}))
    diff = compare_with_baseline(after, baseline, rules)
    gates = [
        evaluate_gate({"metric": "rougeL", "mean": ">= 0.4", "ci": 0.95}, after, suite="s", model="hf:m", diff=diff),
        evaluate_gate({"metric": "rougeL", "regression": {"max_drop": 0.02}}, after, suite="s", model="hf:m", diff=diff),
    ]
    verdict = build_verdict(gates, diff)
    assert not verdict.passed and (verdict.failed, verdict.total) == (1, 2)
    assert len(verdict.regressions) == 1
    lines = format_verdict(verdict).splitlines()
    assert lines[0] == "RELEASE VERDICT: FAIL  (1/2 gates passed)"
    assert lines[1].startswith("  PASS  s::rougeL-mean [hf:m]  value 0.5333 bound 0.")
    assert lines[2].startswith("  FAIL  s::rougeL-regression [hf:m]  value 0.2667 drop <= 0.02")
    assert "REGRESSION" in lines[4]


def test_all_passing_verdict(make_rows: Any) -> None:
    gate = evaluate_gate({"metric": "rougeL", "mean": ">= 0.5"}, make_rows("rougeL", [0.9]), suite="s", model="hf:m")
    text = format_verdict(build_verdict([gate]))
    assert text.splitlines()[0] == "RELEASE VERDICT: PASS  (1/1 gates passed)" and "regressions" not in text
