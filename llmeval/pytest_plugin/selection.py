"""What a pytest run selected, as core Targets grouped by suite file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from llmeval.core.results import Target
from llmeval.pytest_plugin.items import CaseItem, GateItem


def select(items: Sequence[pytest.Item]) -> dict[str, list[Target]]:
    """Suite path -> its targets: the selected cases per model; a gate whose suite has no selected case takes all."""

    cases: dict[tuple[str, str], list[Any]] = {}
    suites: dict[tuple[str, str], Any] = {}
    for item in items:
        if isinstance(item, CaseItem):
            suites[(item.suite.path, item.spec)] = item.suite
            cases.setdefault((item.suite.path, item.spec), []).append(item.case)
    for item in items:
        if isinstance(item, GateItem):
            key = (item.suite.path, item.spec)
            suites[key] = item.suite
            cases.setdefault(key, list(item.suite.cases))
    out: dict[str, list[Target]] = {}
    for key, suite in suites.items():
        out.setdefault(key[0], []).append(Target(suite, key[1], tuple(cases[key])))
    return out
