"""Phase 2: score every generated sample of the run, each scorer over its whole batch at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmeval.backends import Generation
from llmeval.scorers import ScoreError, ScoringContext, score_all
from llmeval.scorers.base import Sample, Scorer
from llmeval.suite import Case

Scored = tuple[dict[str, dict[str, Any]], str | None]  # scores by name (JSON form), error


def score_jobs(jobs: Sequence[tuple[Case, str, Generation]], ctx: ScoringContext | None = None) -> list[Scored]:
    """Scores per (case, prompt text, generation); a generation error or a scorer error is the job's error."""
    from llmeval.scorers.context import shared_context

    work: list[tuple[int, Scorer, Sample]] = []
    for index, (case, prompt, gen) in enumerate(jobs):
        if gen.error is None:
            sample = case.sample_for(gen.text, prompt)
            work.extend((index, scorer, sample) for scorer in case.scorers)
    results = score_all([(scorer, sample) for _, scorer, sample in work], ctx or shared_context())
    out: list[Scored] = [({}, gen.error) for _, _, gen in jobs]
    for (index, scorer, _), result in zip(work, results, strict=True):
        scores, error = out[index]
        if isinstance(result, ScoreError):
            if error is None:
                out[index] = (scores, result.describe())
        else:
            scores[scorer.name] = result.as_dict()
    return out
