"""Baseline files: format, round trip, and the comparison of a run with them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmeval.errors import LlmevalError
from llmeval.gate import compare_with_baseline, evaluate_gate, load_baseline, save_baseline


def _save(tmp_path: Any, rows: list[dict], gates: list[dict] = ()) -> Any:
    return load_baseline(save_baseline(tmp_path / "sub" / "baseline.json", rows, list(gates), meta={"git": "abc123"}))


def test_file_is_sorted_indented_json_with_per_case_means(tmp_path: Any, make_case: Any) -> None:
    rows = [make_case("b", {"rougeL": 0.2}, sample=s) for s in range(2)] + [make_case("a", {"rougeL": 0.8})]
    rows[1]["scores"]["rougeL"].update(value=0.6, passed=True)
    gate = evaluate_gate({"metric": "rougeL", "mean": ">= 0.5"}, rows, suite="s", model="hf:m")
    path = save_baseline(tmp_path / "x" / "baseline.json", rows, [gate], meta={"git": "abc123"})
    text = path.read_text()
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2) + "\n"
    assert data["format"] == "llmeval-baseline/1" and data["meta"]["git"] == "abc123" and "created" in data["meta"]
    assert [c["case"] for c in data["cases"]] == ["a", "b"]
    assert data["cases"][1]["scores"]["rougeL"] == {"value": 0.4, "passed": 0.5, "threshold": {"min": 0.5}}
    assert data["cases"][1]["samples"] == 2
    # a gate's mean gives each case one vote: the mean over cases of each case's mean over its samples
    assert data["gates"][0]["gate"] == "rougeL-mean" and data["gates"][0]["value"] == pytest.approx((0.4 + 0.8) / 2)
    assert data["suites"]["s"]["models"] == ["hf:m"]


@pytest.mark.parametrize(
    ("content", "fragment"), [(None, "does not exist"), ("{oops", "not valid JSON"), ('{"a": 1}', "not an llmeval baseline")]
)
def test_bad_baseline_files(tmp_path: Any, content: str | None, fragment: str) -> None:
    path = tmp_path / "b.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(LlmevalError, match=fragment):
        load_baseline(path)


def test_new_and_missing_cases_are_listed(tmp_path: Any, make_case: Any) -> None:
    baseline = _save(tmp_path, [make_case(c, {"rougeL": 0.6}) for c in "abc"])
    diff = compare_with_baseline([make_case(c, {"rougeL": 0.6}) for c in "bcd"], baseline)
    assert [c["case"] for c in diff["new_cases"]] == ["d"]
    assert [c["case"] for c in diff["missing_cases"]] == ["a"]
    assert diff["metrics"][0]["n"] == 2 and diff["passed"] and diff["mismatches"] == []


def test_changed_cases_are_named(tmp_path: Any, make_case: Any) -> None:
    baseline = _save(tmp_path, [make_case(c, {"rougeL": 0.6}, variables={"q": c}) for c in "ab"])
    now = [make_case("a", {"rougeL": 0.6}, variables={"q": "a"}), make_case("b", {"rougeL": 0.6}, variables={"q": "B?"})]
    diff = compare_with_baseline(now, baseline)
    assert diff["mismatches"] == ["suite 's': 1 cases changed since the baseline (b)"]


def test_another_model_is_named(tmp_path: Any, make_case: Any) -> None:
    baseline = _save(tmp_path, [make_case(c, {"rougeL": 0.6}) for c in "ab"])
    diff = compare_with_baseline([make_case(c, {"rougeL": 0.6}, model="hf:new") for c in "ab"], baseline)
    assert diff["mismatches"] == ["suite 's': baseline made by model 'hf:m', this run used 'hf:new'"]
    assert diff["metrics"][0]["baseline_model"] == "hf:m"


def test_suite_version_mismatch_is_named(tmp_path: Any, make_case: Any) -> None:
    rows = [make_case(c, {"rougeL": 0.6}) for c in "ab"]
    baseline = load_baseline(save_baseline(tmp_path / "b.json", rows, [], meta={"suite_versions": {"s": "v1"}}))
    diff = compare_with_baseline(rows, baseline, suite_versions={"s": "v2"})
    assert diff["mismatches"] == ["suite 's': baseline is of suite version v1, this run v2"]


def test_flips_and_case_diffs(tmp_path: Any, make_case: Any) -> None:
    before = [make_case(f"c{i}", {"rougeL": 0.8}) for i in range(12)]
    after = [make_case(f"c{i}", {"rougeL": 0.2 if i < 9 else 0.9}) for i in range(12)]
    diff = compare_with_baseline(after, _save(tmp_path, before), [{"metric": "rougeL", "stat": "pass_rate", "max_drop": 0.1}])
    metric = diff["metrics"][0]
    assert metric["flips"]["pass_to_fail"] == 9 and metric["flips"]["fail_to_pass"] == 0
    assert metric["flips"]["p_worse"] == pytest.approx(0.5**9)
    assert metric["regressed"] and not diff["passed"] and diff["regressions"] == [metric]
    changes = {(c["case"], c["change"], c["flip"]) for c in diff["cases"]}
    assert ("c0", "regressed", "pass->fail") in changes and ("c9", "improved", None) in changes


def test_lower_is_better_metrics_regress_upwards(tmp_path: Any, make_case: Any) -> None:
    before = [make_case(f"c{i}", {"pii": 0.0}) for i in range(30)]
    after = [make_case(f"c{i}", {"pii": 1.0 if i < 12 else 0.0}) for i in range(30)]
    diff = compare_with_baseline(after, _save(tmp_path, before), [{"metric": "pii", "max_drop": 0.0}])
    metric = diff["metrics"][0]
    assert metric["lower_is_better"] and metric["drop"] == pytest.approx(0.4) and metric["regressed"]
    assert {c["change"] for c in diff["cases"]} == {"regressed"}


def test_gate_values_are_compared(tmp_path: Any, make_case: Any) -> None:
    rows = [make_case(c, {"rougeL": 0.7}) for c in "ab"]
    gate = evaluate_gate({"metric": "rougeL", "mean": ">= 0.5"}, rows, suite="s", model="hf:m")
    baseline = _save(tmp_path, rows, [gate])
    now = [make_case(c, {"rougeL": 0.4}) for c in "ab"]
    case_diff = compare_with_baseline(now, baseline)
    new_gate = evaluate_gate({"metric": "rougeL", "mean": ">= 0.5"}, now, suite="s", model="hf:m", diff=case_diff)
    diff = compare_with_baseline([*now, new_gate.to_json()], baseline)
    assert diff["gates"] == [
        {
            "suite": "s",
            "model": "hf:m",
            "gate": "rougeL-mean",
            "baseline_value": 0.7,
            "current_value": 0.4,
            "baseline_passed": True,
            "current_passed": False,
        }
    ]
    assert new_gate.baseline is not None and new_gate.baseline.metrics[0].delta == pytest.approx(-0.3)
