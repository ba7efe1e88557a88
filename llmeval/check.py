"""`check(...)`: scorer assertions for plain Python tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmeval.scorers import base
from llmeval.scorers.base import Sample, Score


def score(
    output: str,
    *,
    reference: str | Sequence[str] | None = None,
    prompt: str = "",
    context: Sequence[str] = (),
    vars: Mapping[str, Any] | None = None,
    **scorers: Any,
) -> dict[str, Score]:
    """Score one output with named scorers, e.g. score(out, reference=ref, rougeL={"min": 0.5})."""
    refs = [reference] if isinstance(reference, str) else list(reference or [])
    sample = Sample(output=output, references=tuple(refs), prompt=prompt, vars=dict(vars or {}), context=tuple(context))
    return {name: base.build(name, params)(sample) for name, params in scorers.items()}


def check(output: str, **kwargs: Any) -> dict[str, Score]:
    """Like score(), but raises AssertionError listing every missed threshold with its explanation."""
    __tracebackhide__ = True
    results = score(output, **kwargs)
    failed = [s for s in results.values() if not s.passed]
    if failed:
        lines = [f"{s.name} = {s.value:.4g}, want {s.threshold.describe()}: {s.explanation}" for s in failed]
        raise AssertionError("llmeval check failed:\n  " + "\n  ".join(lines))
    return results
