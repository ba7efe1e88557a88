"""The gate defects an audit found, each pinned: bounds at tiny n, clustered evidence, flips kept, messages."""

from __future__ import annotations

from typing import Any

import pytest

from llmeval.errors import SuiteError
from llmeval.gate import build_verdict, closing_lines, evaluate_gate


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("stat", ["mean", "median"])
def test_a_perfect_check_on_a_few_cases_cannot_pass_a_bounded_gate(make_case: Any, n: int, stat: str) -> None:
    """{contains, mean >= 0.9, ci 0.95} passed on 1 and 3 cases: the bootstrap interval of one value is [1, 1]."""
    rows = [make_case(f"c{i}", {"contains": 1.0}) for i in range(n)]
    gate = evaluate_gate({"metric": "contains", stat: ">= 0.9", "ci": 0.95}, rows, suite="s", model="hf:m")
    assert not gate.passed and gate.units == n and gate.bound is not None and gate.bound < 0.9
    if stat == "mean":  # the exact binomial bound of n successes in n: 0.025 ** (1 / n)
        assert gate.bound == pytest.approx(0.025 ** (1 / n), abs=1e-4) and gate.method == "exact binomial"
        assert f"at n = {n} a perfect model reaches {0.025 ** (1 / n):.3g}: add cases" in gate.reason
    else:
        assert "too few" in gate.reason


def test_enough_perfect_cases_do_pass(make_case: Any) -> None:
    rows = [make_case(f"c{i}", {"contains": 1.0}) for i in range(40)]
    for stat in ("mean", "median"):
        assert evaluate_gate({"metric": "contains", stat: ">= 0.9", "ci": 0.95}, rows, suite="s", model="hf:m").passed


def _names(make_case: Any, applicants: int, names: int, gap: float) -> list[dict]:
    """applicants x names per group: the names of one applicant share the applicant's decision."""
    rows = []
    for a in range(applicants):
        for group, rate in (("x", 0.8), ("y", 0.8 - gap)):
            approved = float((a * 7919 % 100) / 100 < rate)
            for k in range(names):
                variables = {"group.g": group, "counterfactual.set": f"a{a}.{k + 1}", "counterfactual.base": f"a{a}"}
                rows.append(make_case(f"a{a}.{k + 1}:{group}", {"decision": approved}, variables=variables))
    return rows


def test_name_lists_count_the_applicants_not_the_names(make_case: Any) -> None:
    """12 applicants x 4 names per group are 12 units of evidence (the names of one applicant move together)."""
    rows = _names(make_case, 12, 4, 0.0)
    spec = {"metric": "decision", "of": "value", "by": "group.g", "fairlearn": "demographic_parity_difference", "max": 0.2}
    gate = evaluate_gate(spec, rows, suite="s", model="hf:m")
    assert gate.n == 96 and gate.units == 12 and gate.groups is not None and gate.groups["x"].units == 12
    wide = gate.interval
    same = evaluate_gate(spec, _names(make_case, 12, 1, 0.0), suite="s", model="hf:m")
    assert same.interval == wide  # four names per applicant add no evidence
    consistency = evaluate_gate({"metric": "decision", "consistency": ">= 0.9", "ci": 0.95}, rows, suite="s", model="hf:m")
    assert consistency.n == 48 and consistency.units == 12 and not consistency.passed  # 12 alike: bound 0.74


def test_every_flipped_set_is_kept_and_counted(make_case: Any) -> None:
    rows = []
    for i in range(200):
        flip = i % 4 == 0 and i < 216
        for group in ("a", "b"):
            value = 0.0 if (flip and group == "b") else 1.0
            variables = {"group.g": group, "counterfactual.set": f"s{i}"}
            rows.append(make_case(f"s{i}:{group}", {"decision": value}, variables=variables))
    gate = evaluate_gate({"metric": "decision", "consistency": ">= 0.9"}, rows, suite="s", model="hf:m")
    assert gate.flipped == len(gate.flips) == 50 and "50 flipped sets" in gate.message


def test_regression_message_says_when_a_drop_is_not_significant(make_rows: Any, tmp_path: Any) -> None:
    from llmeval.gate import compare_with_baseline, load_baseline, save_baseline

    before = make_rows("rougeL", [0.6, 0.7, 0.5, 0.8, 0.6, 0.7, 0.5, 0.8, 0.6])
    after = make_rows("rougeL", [0.5, 0.7, 0.2, 0.8, 0.4, 0.7, 0.3, 0.6, 0.6])
    baseline = load_baseline(save_baseline(tmp_path / "b.json", before, [], meta={}))
    rule = {"metric": "rougeL", "max_drop": 0.02}
    diff = compare_with_baseline(after, baseline, [rule])
    gate = evaluate_gate({"metric": "rougeL", "regression": {"max_drop": 0.02}}, after, suite="s", model="hf:m", diff=diff)
    assert gate.passed and gate.value == pytest.approx(1 / 9)  # the mean drop, on the scale of the threshold
    assert "drop 0.1111 exceeds 0.02 but is not significant (p = " in gate.message and "n = 9)" in gate.message


def test_a_passing_gate_set_with_failed_cases_is_a_failing_verdict(make_rows: Any) -> None:
    """RELEASE VERDICT: PASS followed by exit 1 read as a contradiction: the verdict counts the cases too."""
    gate = evaluate_gate({"metric": "rougeL", "mean": ">= 0.5"}, make_rows("rougeL", [0.9, 0.8]), suite="s", model="hf:m")
    verdict = build_verdict([gate], cases={"s::c0 [m]": "passed", "s::c1 [m]": "failed"})
    lines = closing_lines(verdict, exit_code=1)
    assert lines[0] == "RELEASE VERDICT: FAIL  (1/1 gates passed, 1/2 cases passed)"
    assert lines[1] == "  why: 1 case failed: s::c1 [m]"
    assert lines[-1] == "exit code 1: the verdict is FAIL (0 only when the verdict is PASS)"
    clean = build_verdict([gate], cases={"s::c0 [m]": "passed"})
    assert closing_lines(clean, exit_code=0) == [
        "RELEASE VERDICT: PASS  (1/1 gates passed, 1/1 cases passed)",
        "exit code 0: the verdict is PASS",
    ]
    assert not build_verdict([], cases={}).passed  # nothing evaluated is not a pass


def test_unbounded_metrics_need_enough_cases_and_say_so(make_case: Any) -> None:
    rows = [make_case(f"c{i}", {"length": 40.0 + i}) for i in range(10)]
    gate = evaluate_gate({"metric": "length", "mean": ">= 10", "ci": 0.95}, rows, suite="s", model="hf:m")
    assert not gate.passed and "no declared range" in gate.reason and ">= 30 units" in gate.reason
    ranged = evaluate_gate({"metric": "length", "mean": ">= 10", "ci": 0.95, "range": [0, 100]}, rows, suite="s", model="hf:m")
    assert ranged.passed and ranged.method == "betting (bounded mean)"


def test_no_interval_for_a_minimum_and_no_approximate_methods() -> None:
    with pytest.raises(SuiteError, match="no interval can bound the min"):
        evaluate_gate({"metric": "rougeL", "min": ">= 0.2", "ci": 0.95}, [], suite="s", model="m")
    with pytest.raises(SuiteError, match="under-cover"):
        evaluate_gate({"metric": "rougeL", "pass_rate": ">= 0.2", "method": "wilson"}, [], suite="s", model="m")
