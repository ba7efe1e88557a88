"""Small builders for core tests."""

from __future__ import annotations

from typing import Any

from llmeval.suite import Case


def case_with_scorer(scorer: Any, case_id: str = "c") -> Case:
    return Case(
        suite="s",
        id=case_id,
        path="s.yaml",
        line=1,
        vars={},
        prompt="p",
        messages=None,
        references=(),
        context=(),
        tags=(),
        scorers=(scorer,),
        min_pass_rate=1.0,
    )
