"""Scorers: per-output verdicts (Score values) looked up by registered name, scored in batches per run."""

from __future__ import annotations

from llmeval.scorers.base import Sample, Score, Scorer, Threshold, available, build, register
from llmeval.scorers.batch import BatchScorer, PerSample, ScoreError, as_batch, score_all
from llmeval.scorers.context import JudgeGenerate, ScoringContext, default_context

__all__ = [
    "BatchScorer",
    "JudgeGenerate",
    "PerSample",
    "Sample",
    "Score",
    "ScoreError",
    "Scorer",
    "ScoringContext",
    "Threshold",
    "as_batch",
    "available",
    "build",
    "default_context",
    "register",
    "score_all",
]
