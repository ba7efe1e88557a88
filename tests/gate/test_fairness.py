"""Fairness gates equal fairlearn on the same frame; bootstrap bounds; unparsed outcomes; counterfactual consistency."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as fm

from llmeval.gate import evaluate_gate


def _frame(seed: int = 0, n: int = 120) -> pd.DataFrame:
    """A table of cases: two sensitive features, a 0/1 decision, a true label and a numeric outcome."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["f", "m"], n)
    race = rng.choice(["a", "b", "c"], n)
    label = rng.integers(0, 2, n)
    bias = np.where(race == "b", 0.25, 0.65) + np.where(sex == "f", -0.1, 0.0)
    decision = (rng.random(n) < bias).astype(int)
    return pd.DataFrame({"sex": sex, "race": race, "label": label, "decision": decision, "length": rng.normal(50, 10, n)})


def _rows(make_case: Any, frame: pd.DataFrame) -> list[dict]:
    rows = []
    for i, r in frame.iterrows():
        row = make_case(
            f"c{i}",
            {"decision": float(r.decision), "length": float(r.length)},
            variables={"sex": r.sex, "race": r.race, "label": int(r.label)},
        )
        rows.append(row)
    return rows


@pytest.mark.parametrize(
    ("stat", "by"),
    [
        ("demographic_parity_difference", "race"),
        ("demographic_parity_ratio", "race"),
        ("equalized_odds_difference", "race"),
        ("equalized_odds_ratio", "sex"),
        ("demographic_parity_difference", ["sex", "race"]),
    ],
)
def test_values_equal_fairlearn_on_the_same_frame(make_case: Any, stat: str, by: Any) -> None:
    frame = _frame()
    spec = {"metric": "decision", "of": "value", "by": by, "fairlearn": stat, "y_true": "label", "max": 0.1}
    row = evaluate_gate(spec, _rows(make_case, frame), suite="s", model="hf:m")
    keys = [by] if isinstance(by, str) else by
    expected = getattr(fm, stat)(frame.label, frame.decision, sensitive_features=frame[keys])
    assert row.value == pytest.approx(float(expected))
    rates = frame.groupby(keys)["decision"].mean()
    for key, rate in rates.items():
        name = "+".join(key) if isinstance(key, tuple) else key
        assert row.groups[name].value == pytest.approx(rate)


def test_difference_of_means_of_a_numeric_outcome(make_case: Any) -> None:
    frame = _frame()
    spec = {"metric": "length", "of": "value", "by": "sex", "fairlearn": "difference", "max": 100, "ci": 0.95}
    row = evaluate_gate(spec, _rows(make_case, frame), suite="s", model="hf:m")
    means = frame.groupby("sex")["length"].mean()
    assert row.value == pytest.approx(abs(means["f"] - means["m"]))
    lo, hi = row.interval
    assert lo <= row.value <= hi and row.bound == hi


def test_the_simultaneous_bound_decides_and_is_deterministic(make_case: Any) -> None:
    rows = _rows(make_case, _frame(n=60))
    spec = {
        "metric": "decision",
        "of": "value",
        "by": "race",
        "fairlearn": "demographic_parity_difference",
        "max": 1.0,
        "ci": 0.95,
    }
    first, again = (evaluate_gate(spec, rows, suite="s", model="hf:m") for _ in range(2))
    assert first.interval == again.interval and first.bound == first.interval[1]
    assert first.interval[0] < first.value < first.bound
    between = {**spec, "max": (first.value + first.bound) / 2}
    assert not evaluate_gate(between, rows, suite="s", model="hf:m").passed  # the point passes, the bound does not
    assert evaluate_gate({**between, "ci": False}, rows, suite="s", model="hf:m").passed
    assert evaluate_gate({**between, "require": "not_shown_beyond"}, rows, suite="s", model="hf:m").passed


def _decision(make_case: Any, case: str, group: str, value: float | None, cf_set: str = "") -> dict:
    row = make_case(case, {"decision": 0.0}, variables={"group.g": group, "g": group, "counterfactual.set": cf_set or case})
    label = None if value is None else ("yes" if value else "no")
    meta = {"unparsed": True, "label": None} if value is None else {"label": label}
    row["scores"]["decision"] = {
        "value": math.nan if value is None else value,
        "threshold": {},
        "passed": value is not None,
        "metadata": meta,
    }
    row["output"] = f"answer {label}"
    return row


def test_unparsed_outcomes_are_counted_per_group_and_fail_the_gate(make_case: Any) -> None:
    rows = [_decision(make_case, f"a{i}", "a", 1.0) for i in range(10)]
    rows += [_decision(make_case, f"b{i}", "b", None if i < 3 else 1.0) for i in range(10)]
    spec = {"metric": "decision", "of": "value", "by": "g", "fairlearn": "demographic_parity_difference", "max": 0.1}
    spec["ci"] = False
    row = evaluate_gate(spec, rows, suite="s", model="hf:m")
    assert row.value == 0.0  # unreadable outputs are not read as "no"
    assert row.groups["b"].unparsed == 3 and row.groups["b"].n == 7 and row.groups["a"].unparsed == 0
    assert not row.passed and "3 of 20 outputs had no readable outcome" in row.message
    assert evaluate_gate({**spec, "max_unparsed_rate": 0.2}, rows, suite="s", model="hf:m").passed


def test_consistency_counts_flipped_sets_with_an_exact_interval(make_case: Any) -> None:
    rows = []
    for i in range(20):
        flipped = i < 4
        rows.append(_decision(make_case, f"s{i}:a", "a", 1.0, f"s{i}"))
        rows.append(_decision(make_case, f"s{i}:b", "b", 0.0 if flipped else 1.0, f"s{i}"))
    rows.append(_decision(make_case, "s99:a", "a", 1.0, "s99"))
    rows.append(_decision(make_case, "s99:b", "b", None, "s99"))
    row = evaluate_gate({"metric": "decision", "consistency": ">= 0.7", "ci": 0.95}, rows, suite="s", model="hf:m")
    assert row.value == pytest.approx(16 / 20) and row.n == 20
    assert row.interval == pytest.approx([0.563385, 0.942666], abs=1e-5)  # Clopper-Pearson 16/20
    assert row.bound == row.interval[0] and not row.passed  # 0.80 >= 0.7 but the lower bound is not
    assert [f.set for f in row.flips] == ["s0", "s1", "s2", "s3"]
    assert [(m.groups, m.outcome, m.output) for m in row.flips[0].members] == [
        ({"g": "a"}, "yes", "answer yes"),
        ({"g": "b"}, "no", "answer no"),
    ]
    assert "1 of 21 sets had no readable outcome" in row.message


def test_numeric_consistency_uses_the_tolerance(make_case: Any) -> None:
    rows = [
        make_case(f"s{i}:{g}", {"len": 10.0 + (0.4 if g == "b" else 0)}, variables={"counterfactual.set": f"s{i}"})
        for i in range(5)
        for g in "ab"
    ]
    spec = {"metric": "len", "consistency": ">= 1.0"}
    assert evaluate_gate(spec, rows, suite="s", model="hf:m").value == 0.0
    assert evaluate_gate({**spec, "tolerance": 0.5}, rows, suite="s", model="hf:m").value == 1.0


def test_preference_gate_exact_interval_and_bias_type_breakdown(make_case: Any) -> None:
    rows = [
        make_case(f"p{i}", {"stereotype": float(i < 6)}, variables={"bias_type": "gender" if i % 2 else "age"}) for i in range(10)
    ]
    row = evaluate_gate({"metric": "stereotype", "preference": "<= 0.65", "ci": 0.95}, rows, suite="s", model="hf:m")
    assert row.value == 0.6 and row.interval == pytest.approx([0.262378, 0.878448], abs=1e-5)
    assert row.bound == row.interval[1] and not row.passed
    assert {k: (v.value, v.n) for k, v in row.groups.items()} == {"age": (0.6, 5), "gender": (0.6, 5)}


def test_group_tables_and_flips_reach_junit_properties_and_failure_text(make_case: Any) -> None:
    from llmeval.gate.gates import gate_properties
    from llmeval.reporting.failure import flip_lines

    rows = [_decision(make_case, f"s{i}:{g}", g, 1.0 if g == "a" or i else 0.0, f"s{i}") for i in range(3) for g in "ab"]
    rows[1]["output"] = "no\x1b[31m \u202egroup b"  # model text: control and bidi characters are neutralised
    row = evaluate_gate({"metric": "decision", "consistency": ">= 1.0"}, rows, suite="s", model="hf:m")
    props = dict(gate_properties(row))
    assert props["llmeval.group.b"].startswith("value=0.666") and "n=3" in props["llmeval.group.b"]
    assert props["llmeval.flip.s0"] == "s0:a=yes; s0:b=no"
    lines = flip_lines(row.flips)
    assert lines[0] == "  flipped set s0:" and lines[2].split()[:2] == ["b", "no"]
    assert "\x1b" not in "".join(lines) and "\u202e" not in "".join(lines)
