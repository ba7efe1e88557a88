"""llmeval: LLM evaluation and guardrail suites as pytest tests, with statistical release gates.

The names below load on first use (PEP 562): the pytest plugin imports this package in every run.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from llmeval.about import __version__ as __version__  # one place for it: about.py (pyproject.toml reads it there)

if TYPE_CHECKING:
    from llmeval.check import check, score
    from llmeval.errors import BackendError, LlmevalError, MissingDependency, ScorerError, SuiteError
    from llmeval.scorers.base import Sample, Score, Threshold, register
    from llmeval.suite import load_suite

_HOMES = {
    "check": "llmeval.check",
    "score": "llmeval.check",
    "BackendError": "llmeval.errors",
    "LlmevalError": "llmeval.errors",
    "MissingDependency": "llmeval.errors",
    "ScorerError": "llmeval.errors",
    "SuiteError": "llmeval.errors",
    "Sample": "llmeval.scorers.base",
    "Score": "llmeval.scorers.base",
    "Threshold": "llmeval.scorers.base",
    "register": "llmeval.scorers.base",
    "load_suite": "llmeval.suite",
}
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
assert sorted(__all__) == sorted([*_HOMES, "load_results"]), "the public namespace and its homes disagree"


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'llmeval' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


def load_results(path: Any) -> Any:
    """Read a results file (JSON Lines) into a pandas DataFrame: one row per case x model x sample."""
    from llmeval.reporting.results import load_results as _load

    return _load(path)
