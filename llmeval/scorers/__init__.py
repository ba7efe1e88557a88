"""Scorers: per-output verdicts (Score values) looked up by registered name."""

from __future__ import annotations

from llmeval.scorers.base import Sample, Score, Scorer, Threshold, available, build, register

__all__ = ["Sample", "Score", "Scorer", "Threshold", "available", "build", "register"]
