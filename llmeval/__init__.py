"""llmeval: LLM evaluation and guardrail suites as pytest tests, with statistical release gates."""

from __future__ import annotations

from typing import Any

from llmeval.check import check, score
from llmeval.errors import BackendError, LlmevalError, MissingDependency, ScorerError, SuiteError
from llmeval.scorers.base import Sample, Score, Threshold, register
from llmeval.suite import load_suite

__all__ = [
    "BackendError",
    "LlmevalError",
    "MissingDependency",
    "Sample",
    "Score",
    "ScorerError",
    "SuiteError",
    "Threshold",
    "check",
    "load_results",
    "load_suite",
    "register",
    "score",
]
__version__ = "0.1.0"


def load_results(path: Any) -> Any:
    """Read a results file (JSON Lines) into a pandas DataFrame: one row per case x model x sample."""
    from llmeval.reporting.results import load_results as _load

    return _load(path)
