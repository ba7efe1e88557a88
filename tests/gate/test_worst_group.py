"""The `worst_group` gate kind (the worked example of CONTRIBUTING.md "Adding a gate kind")."""

from __future__ import annotations

import pytest

from llmeval.errors import SuiteError
from llmeval.gate.gates import evaluate_gate
from llmeval.gate.spec import parse_gate


def rows(rates: dict[str, tuple[int, int]]) -> list[dict]:
    out = []
    for group, (passed, n) in rates.items():
        for i in range(n):
            ok = i < passed
            out.append(
                {
                    "kind": "case",
                    "suite": "s",
                    "case": f"{group}-{i}",
                    "model": "m",
                    "sample": 0,
                    "error": None,
                    "vars": {"region": group},
                    "scores": {"contains": {"value": float(ok), "passed": ok}},
                }
            )
    return out


def decide(entry: dict, data: list[dict]):
    return evaluate_gate(parse_gate(entry), data, suite="s", model="m")


def test_the_worst_group_decides_with_simultaneous_exact_bounds():
    entry = {"metric": "contains", "worst_group": ">= 0.7", "by": "region"}
    assert parse_gate(entry).ci == 0.95 and parse_gate(entry).name == "contains-worst_group"
    good = decide(entry, rows({"north": (98, 100), "south": (97, 100)}))
    assert good.passed and "worst group south" in good.message and good.groups["north"].n == 100
    bad = decide(entry, rows({"north": (100, 100), "south": (60, 100)}))
    assert not bad.passed and "worst group south: pass rate 0.6" in bad.message


def test_few_cases_are_not_enough_evidence_and_ci_false_reads_the_point_rates():
    entry = {"metric": "contains", "worst_group": ">= 0.7", "by": "region"}
    few = rows({"north": (3, 3), "south": (3, 3)})  # all pass, but three cases per group show little
    assert not decide(entry, few).passed
    assert decide({**entry, "ci": False}, few).passed


def test_no_output_with_the_group_var_is_no_evidence_and_fails():
    record = decide({"metric": "contains", "worst_group": ">= 0.7", "by": "tier"}, rows({"north": (10, 10)}))
    assert not record.passed and "no output has 'tier'" in record.message


def test_a_bad_condition_is_a_suite_error():
    with pytest.raises(SuiteError):
        parse_gate({"metric": "contains", "worst_group": "lots", "by": "region"})
