"""Latency and tokens are gateable like scores: p50/p95/p99 percentiles, max, mean; timings carry their caveat."""

from __future__ import annotations

import pytest

from llmeval.errors import SuiteError
from llmeval.gate.gates import evaluate_gate
from llmeval.gate.rows import TIMING_CAVEAT
from llmeval.gate.spec import parse_gate
from tests.ops.helpers import cases


def _rows(latency: float = 0.5):
    return [r.row() for r in cases("r", 0.8, latency=latency)]  # latency_s from `latency` to ~2x it, 15 tokens each


def test_percentile_keys_are_quantile_gates_named_after_them():
    gate = parse_gate({"metric": "latency_s", "p95": "<= 2.0"})
    assert (gate.stat, gate.q, gate.name) == ("quantile", 0.95, "latency_s-p95")
    assert parse_gate({"metric": "tokens", "p50": "<= 20"}).q == 0.5
    with pytest.raises(SuiteError, match="takes no 'q'"):
        parse_gate({"metric": "latency_s", "p95": "<= 2.0", "q": 0.9})
    with pytest.raises(SuiteError, match="one statistic"):
        parse_gate({"metric": "latency_s", "p95": "<= 2.0", "max": "<= 3"})


def test_a_latency_percentile_gate_reads_the_rows_latency_and_prints_the_caveat():
    passed = evaluate_gate({"metric": "latency_s", "p95": "<= 1.5"}, _rows(0.5), suite="qa", model="hf:m")
    assert passed.status == "passed" and 0.9 < passed.value <= 1.0
    assert TIMING_CAVEAT in passed.message
    failed = evaluate_gate({"metric": "latency_s", "max": "<= 0.5"}, _rows(0.5), suite="qa", model="hf:m")
    assert failed.status == "failed" and failed.value == pytest.approx(0.5 * (1 + 39 / 40))


def test_a_bounded_latency_percentile_is_judged_on_its_interval():
    gate = evaluate_gate({"metric": "latency_s", "p50": "<= 0.8", "ci": 0.95}, _rows(0.5), suite="qa", model="hf:m")
    assert gate.interval is not None and gate.bound == gate.interval[1] and gate.method == "order statistics"


def test_token_gates_count_prompt_and_completion_tokens():
    assert evaluate_gate({"metric": "tokens", "max": "<= 15"}, _rows(), suite="qa", model="hf:m").status == "passed"
    assert evaluate_gate({"metric": "tokens", "max": "<= 14"}, _rows(), suite="qa", model="hf:m").status == "failed"
    completion = evaluate_gate({"metric": "completion_tokens", "mean": "== 5"}, _rows(), suite="qa", model="hf:m")
    assert completion.status == "passed" and TIMING_CAVEAT not in completion.message


def test_an_errored_output_has_no_latency_to_gate_on():
    rows = _rows(0.5)
    rows[0] = {**rows[0], "error": "timed out", "latency_s": 99.0}
    gate = evaluate_gate({"metric": "latency_s", "max": "<= 1.0"}, rows, suite="qa", model="hf:m", max_error_rate=0.1)
    assert gate.status == "passed" and gate.value < 1.0
