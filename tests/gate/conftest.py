"""Constructed result rows for gate tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest


def case_row(
    case: str,
    values: dict[str, float],
    *,
    suite: str = "s",
    model: str = "hf:m",
    sample: int = 0,
    mins: dict[str, float] | None = None,
    error: str | None = None,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One case row; a metric passes when its value is >= its min (default 0.5), pii when it is 0."""
    mins = {"rougeL": 0.5, **(mins or {})}
    scores = {}
    for name, value in values.items():
        if name == "pii":
            scores[name] = {"value": value, "threshold": {"max": 0.0}, "passed": value <= 0, "explanation": "leaks"}
        else:
            low = mins.get(name, 0.5)
            scores[name] = {"value": value, "threshold": {"min": low}, "passed": value >= low, "explanation": "x"}
    return {
        "kind": "case",
        "run_id": "r1",
        "suite": suite,
        "suite_path": f"suites/{suite}.yaml",
        "case": case,
        "line": 1,
        "model": model,
        "model_label": model.split("/")[-1],
        "sample": sample,
        "prompt": f"Q {case}",
        "output": f"A {case}",
        "reference": "ref",
        "references": ["ref"],
        "scores": {} if error else scores,
        "passed": error is None and all(s["passed"] for s in scores.values()),
        "error": error,
        "latency_s": 0.01,
        "tokens": {"prompt": 3, "completion": 5},
        "tags": [],
        "vars": variables or {},
        "cached": False,
    }


def metric_rows(metric: str, values: Sequence[float], **kw: Any) -> list[dict[str, Any]]:
    return [case_row(f"c{i:03d}", {metric: float(v)}, **kw) for i, v in enumerate(values)]


@pytest.fixture
def make_rows() -> Callable[..., list[dict[str, Any]]]:
    return metric_rows


@pytest.fixture
def make_case() -> Callable[..., dict[str, Any]]:
    return case_row
