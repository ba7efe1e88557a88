"""Gate evaluation on constructed results: conditions, interval bounds, fairness, regressions, noise."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from llmeval.errors import SuiteError
from llmeval.gate import compare_with_baseline, evaluate_gate, gate_name, gate_properties, parse_condition, plan_gates
from llmeval.gate.baseline import Baseline, load_baseline, save_baseline
from llmeval.records import GateRecord


@pytest.mark.parametrize(
    ("text", "op", "value"),
    [(">= 0.6", ">=", 0.6), ("<=0.05", "<=", 0.05), ("== 1.0", "==", 1.0), ("> 20", ">", 20.0), ("< 5%", "<", 0.05)],
)
def test_parse_condition(text: str, op: str, value: float) -> None:
    cond = parse_condition(text)
    assert (cond.op, cond.value) == (op, pytest.approx(value))


@pytest.mark.parametrize(("text", "fragment"), [("0.6", "cannot read"), (0.6, "bare number"), ("=> 0.6", "cannot read")])
def test_bad_condition_says_how_to_write_it(text: Any, fragment: str) -> None:
    with pytest.raises(SuiteError, match=fragment) as info:
        parse_condition(text)
    assert info.value.hint


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"metric": "rougeL"}, "names no statistic"),
        ({"metric": "rougeL", "mean": ">= 0.6", "median": ">= 0.5"}, "one statistic"),
        ({"metric": "rougeL", "mean": ">= 0.6", "ci": 1.5}, "confidence level"),
        ({"metric": "bleu", "quantile": ">= 20"}, "needs 'q'"),
        ({"metric": "rougeL", "mean": ">= 0.6", "colour": "red"}, "unknown gate key"),
        ({"metric": "contains", "fairlearn": "demographic_parity_difference", "max": 0.1}, "needs 'by'"),
        ({"metric": "contains", "by": "g", "fairlearn": "parity", "max": 0.1}, "unknown fairlearn"),
        ({"mean": ">= 0.6"}, "needs 'metric'"),
    ],
)
def test_bad_gate_specs_raise_suite_errors(spec: dict, fragment: str) -> None:
    with pytest.raises(SuiteError, match=fragment):
        gate_name(spec)


@pytest.mark.parametrize(
    ("spec", "value", "passed"),
    [
        ({"metric": "rougeL", "mean": ">= 0.5"}, 0.55, True),
        ({"metric": "rougeL", "median": ">= 0.6"}, 0.6, True),
        ({"metric": "rougeL", "min": ">= 0.2"}, 0.1, False),
        ({"metric": "rougeL", "max": "<= 1"}, 0.9, True),
        ({"metric": "rougeL", "quantile": ">= 0.2", "q": 0.25}, 0.3, True),
        ({"metric": "rougeL", "pass_rate": ">= 0.7"}, 0.6, False),
        ({"metric": "rougeL", "pass_rate": "== 1.0"}, 0.6, False),
    ],
)
def test_statistics(make_rows: Any, spec: dict, value: float, passed: bool) -> None:
    rows = make_rows("rougeL", [0.1, 0.3, 0.3, 0.6, 0.6, 0.8, 0.8, 0.8, 0.9, 0.3])
    row = evaluate_gate(spec, rows, suite="s", model="hf:m")
    assert row.value == pytest.approx(value)
    assert row.passed is passed
    assert row.KIND == "gate" and row.n == 10 and row.interval is None


def test_the_interval_bound_decides(make_rows: Any) -> None:
    """The mean clears 0.6, but twelve noisy cases cannot show it: the lower bound fails the gate."""
    values = [0.95, 0.3, 0.9, 0.35, 0.85, 0.4, 0.9, 0.45, 0.8, 0.5, 0.75, 0.45]
    rows = make_rows("rougeL", values)
    plain = evaluate_gate({"metric": "rougeL", "mean": ">= 0.6"}, rows, suite="s", model="hf:m")
    gated = evaluate_gate({"metric": "rougeL", "mean": ">= 0.6", "ci": 0.95}, rows, suite="s", model="hf:m")
    assert plain.passed and plain.value == pytest.approx(np.mean(values))
    assert not gated.passed
    assert gated.interval[0] == gated.bound < 0.6 < gated.value < gated.interval[1]
    for fragment in ("95% CI", "lower bound", ">= 0.6", "worst: c001=0.3"):
        assert fragment in gated.message
    many = make_rows("rougeL", values * 40)  # the same spread over 480 cases does show it
    assert evaluate_gate({"metric": "rougeL", "mean": ">= 0.6", "ci": 0.95}, many, suite="s", model="hf:m").passed


def test_leak_rate_gates_on_the_upper_exact_bound(make_case: Any) -> None:
    rows = [make_case(f"c{i}", {"pii": 1.0 if i < 2 else 0.0}) for i in range(100)]
    spec = {"metric": "pii", "leak_rate": "<= 0.05", "ci": 0.95}
    row = evaluate_gate(spec, rows, suite="s", model="hf:m")
    assert row.value == pytest.approx(0.02)
    assert row.bound == row.interval[1] == pytest.approx(0.070384, abs=1e-5)
    assert not row.passed and [w.case for w in row.worst] == ["c0", "c1"]
    assert evaluate_gate({"metric": "pii", "leak_rate": "<= 0.05"}, rows, suite="s", model="hf:m").passed


def test_errored_outputs_fail_the_gate_unless_allowed(make_case: Any) -> None:
    rows = [make_case("a", {"rougeL": 0.9}), make_case("b", {}, error="timeout"), make_case("c", {"rougeL": 0.7})]
    row = evaluate_gate({"metric": "rougeL", "mean": ">= 0.6"}, rows, suite="s", model="hf:m")
    assert not row.passed and row.n == 2 and row.errors == 1
    assert "1 of 3 outputs errored" in row.message and "cannot pass on missing evidence" in row.message
    allowed = evaluate_gate({"metric": "rougeL", "mean": ">= 0.6"}, rows, suite="s", model="hf:m", max_error_rate=0.5)
    assert allowed.passed and "1 of 3 outputs errored (timeout x1)" in allowed.message


def test_errored_outputs_count_as_failures_in_rate_gates(make_case: Any) -> None:
    rows = [make_case(c, {"contains": 1.0}) for c in "abc"] + [make_case("d", {}, error="boom")]
    row = evaluate_gate({"metric": "contains", "pass_rate": ">= 0.5"}, rows, suite="s", model="hf:m", max_error_rate=0.5)
    assert row.value == 0.75 and row.n == 4 and row.passed
    leak = evaluate_gate({"metric": "contains", "leak_rate": "<= 0.2"}, rows, suite="s", model="hf:m", max_error_rate=0.5)
    assert leak.value == 1.0  # every case here has a value > 0, and the errored one counts as a leak


def test_missing_metric_fails_and_names_what_exists(make_rows: Any) -> None:
    row = evaluate_gate({"metric": "bleu", "mean": ">= 20"}, make_rows("rougeL", [0.5]), suite="s", model="hf:m")
    assert not row.passed and "no 'bleu' scores" in row.message and "rougeL" in row.message


def test_only_the_suite_and_model_are_gated(make_rows: Any) -> None:
    rows = make_rows("rougeL", [0.9] * 5) + make_rows("rougeL", [0.1] * 5, model="hf:other")
    rows += make_rows("rougeL", [0.1] * 5, suite="t")
    row = evaluate_gate({"metric": "rougeL", "mean": ">= 0.6"}, rows, suite="s", model="hf:m")
    assert row.n == 5 and row.passed


def test_repeats_are_samples_of_one_case(make_case: Any) -> None:
    rows = [make_case(f"c{i}", {"rougeL": 0.5 + 0.1 * s}, sample=s) for i in range(6) for s in range(3)]
    row = evaluate_gate({"metric": "rougeL", "mean": ">= 0.55", "ci": 0.9}, rows, suite="s", model="hf:m")
    assert row.n == 18 and row.units == 6 and row.value == pytest.approx(0.6) and "over 6 units" in row.message


def _group_rows(make_case: Any, rates: dict[str, float], n: int = 40) -> list[dict]:
    rows = []
    for group, rate in rates.items():
        for i in range(n):
            value = 1.0 if i < rate * n else 0.0
            rows.append(make_case(f"{group}{i}", {"contains": value}, variables={"group": group, "label": 1}))
    return rows


def test_demographic_parity_gate_reports_groups(make_case: Any) -> None:
    rows = _group_rows(make_case, {"en": 0.9, "de": 0.6})
    spec = {"metric": "contains", "by": "group", "fairlearn": "demographic_parity_difference", "max": 0.1, "ci": False}
    row = evaluate_gate(spec, rows, suite="s", model="hf:m")
    assert row.value == pytest.approx(0.3) and not row.passed and row.interval is None
    assert {k: (v.value, v.n, v.unparsed) for k, v in row.groups.items()} == {
        "de": (pytest.approx(0.6), 40, 0),
        "en": (pytest.approx(0.9), 40, 0),
    }
    with_ci = evaluate_gate({**spec, "ci": 0.95}, rows, suite="s", model="hf:m")  # simultaneous: each group at 1 - 0.05/4
    assert with_ci.groups is not None and with_ci.groups["de"].interval == pytest.approx([0.39212, 0.78487], abs=1e-5)
    assert with_ci.interval == pytest.approx([0.0, 0.9 - 0.39212], abs=0.1) and with_ci.bound == with_ci.interval[1]
    ratio = {"metric": "contains", "by": "group", "fairlearn": "ratio", "min": 0.6, "ci": False}
    assert evaluate_gate(ratio, rows, suite="s", model="hf:m").value == pytest.approx(0.6 / 0.9)


def test_equalized_odds_needs_a_label_var(make_case: Any) -> None:
    rows = _group_rows(make_case, {"en": 0.9, "de": 0.8})
    spec = {"metric": "contains", "by": "group", "fairlearn": "equalized_odds_difference", "max": 0.2}
    with pytest.raises(SuiteError, match="y_true"):
        evaluate_gate(spec, rows, suite="s", model="hf:m")
    row = evaluate_gate({**spec, "y_true": "label", "ci": False}, rows, suite="s", model="hf:m")
    assert row.value == pytest.approx(0.1) and row.passed
    bounded = evaluate_gate({**spec, "y_true": "label"}, rows, suite="s", model="hf:m")  # ci 0.95 by default
    assert bounded.ci == 0.95 and not bounded.passed and "TPR 0.800" in bounded.message


def test_plan_gates_names_are_unique_and_rules_become_gates() -> None:
    gates = [
        {"metric": "rougeL", "mean": ">= 0.6"},
        {"metric": "rougeL", "mean": ">= 0.5"},
        {"metric": "pii", "name": "no-pii", "pass_rate": "== 1"},
    ]
    names = [g.name for g in plan_gates(gates, [{"metric": "rougeL", "max_drop": 0.02}])]
    assert names == ["rougeL-mean", "rougeL-mean-2", "no-pii", "rougeL-regression"]


def _noisy(make_rows: Any, quality: np.ndarray, rng: np.random.Generator, shift: float = 0.0) -> list[dict]:
    return make_rows("rougeL", np.clip(quality + shift + rng.normal(0, 0.08, quality.size), 0, 1))


def _regression_gate(rows: list[dict], baseline: Baseline, rule: dict) -> GateRecord:
    spec = {"metric": "rougeL", "regression": rule}
    diff = compare_with_baseline(rows, baseline, [{"metric": "rougeL", **rule}])
    return evaluate_gate(spec, rows, suite="s", model="hf:m", diff=diff)


def _baseline_of(rows: list[dict], tmp_path: Any) -> Baseline:
    return load_baseline(save_baseline(tmp_path / "baseline.json", rows, [], meta={}))


def test_a_clear_regression_is_caught(make_rows: Any, tmp_path: Any) -> None:
    rng = np.random.default_rng(11)
    quality = rng.uniform(0.3, 0.9, 200)  # a bound valid at any n needs ~200 paired cases to show a 0.08 drop beyond 0.02
    baseline = _baseline_of(_noisy(make_rows, quality, rng), tmp_path)
    row = _regression_gate(_noisy(make_rows, quality, rng, shift=-0.08), baseline, {"max_drop": 0.02})
    assert row.interval is not None and row.baseline is not None  # value: the mean drop, its interval shown beyond 0.02
    assert not row.passed and row.value > 0.05 and row.interval[0] > 0.02
    assert "REGRESSION" in row.message and row.baseline.regressed and "significant" in row.reason


def test_a_small_significant_drop_within_tolerance_passes(make_rows: Any, tmp_path: Any) -> None:
    rng = np.random.default_rng(12)
    quality = rng.uniform(0.3, 0.9, 400)
    baseline = _baseline_of(_noisy(make_rows, quality, rng), tmp_path)
    row = _regression_gate(_noisy(make_rows, quality, rng, shift=-0.012), baseline, {"max_drop": 0.02})
    assert row.baseline is not None and row.passed and 0 < row.baseline.metrics[0].drop < 0.02


@pytest.mark.parametrize("stat", ["mean", "pass_rate"])
def test_noise_between_equal_systems_is_not_flagged(make_rows: Any, tmp_path: Any, stat: str) -> None:
    """Two equal systems, 200 seeds, no tolerance at all: flagged at most ~alpha of the time."""
    flagged = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        quality = rng.uniform(0.3, 0.9, 40)
        baseline = _baseline_of(_noisy(make_rows, quality, rng), tmp_path)
        flagged += not _regression_gate(_noisy(make_rows, quality, rng), baseline, {"max_drop": 0.0, "stat": stat}).passed
    assert flagged / 200 <= 0.08


def test_regression_without_baseline_fails_unless_recording_one(make_rows: Any) -> None:
    spec = {"metric": "rougeL", "regression": {"max_drop": 0.02}}
    row = evaluate_gate(spec, make_rows("rougeL", [0.5]), suite="s", model="hf:m")
    assert not row.passed and row.status == "failed" and "no baseline to compare with" in row.message
    recording = evaluate_gate(spec, make_rows("rougeL", [0.5]), suite="s", model="hf:m", no_baseline="skip")
    assert recording.status == "skipped" and not recording.passed


def test_gate_on_1000_rows_is_fast(make_rows: Any) -> None:
    rows = make_rows("rougeL", np.random.default_rng(0).random(1000))
    spec = {"metric": "rougeL", "mean": ">= 0.4", "ci": 0.95}
    evaluate_gate(spec, rows, suite="s", model="hf:m")
    start = time.perf_counter()
    row = evaluate_gate(spec, rows, suite="s", model="hf:m")
    assert time.perf_counter() - start < 0.5 and row.passed


def test_gate_properties_for_junit(make_rows: Any) -> None:
    row = evaluate_gate(
        {"metric": "rougeL", "mean": ">= 0.4", "ci": 0.9}, make_rows("rougeL", [0.5, 0.6]), suite="s", model="hf:m"
    )
    props = dict(gate_properties(row))
    assert props["llmeval.gate"] == "rougeL-mean" and props["llmeval.threshold"] == ">= 0.4" and "llmeval.interval" in props


def test_rates_with_repeats_bootstrap_by_case(make_case: Any) -> None:
    rows = [make_case(f"c{i}", {"rougeL": 0.9 if i % 4 else 0.1}, sample=s) for i in range(20) for s in range(5)]
    spec = {"metric": "rougeL", "pass_rate": ">= 0.6", "ci": 0.95}
    repeated = evaluate_gate(spec, rows, suite="s", model="hf:m")
    single = evaluate_gate(spec, [r for r in rows if r["sample"] == 0], suite="s", model="hf:m")
    assert repeated.value == single.value == pytest.approx(0.75) and repeated.units == single.units == 20
    assert repeated.interval is not None and single.interval is not None
    assert repeated.interval[0] <= single.interval[0]  # 20 cases of evidence, not 100 rows: never tighter
