"""The evaluation core: plan → generate → score → gates → verdict, knowing nothing of pytest."""

from __future__ import annotations

from llmeval.core.evaluation import Evaluation
from llmeval.core.results import CaseOutcome, RunResult, Target

__all__ = ["CaseOutcome", "Evaluation", "RunResult", "Target"]
