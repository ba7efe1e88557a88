"""Phase 2: score every generated sample of the run, each scorer over its whole batch at once."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from llmeval.backends import Generation, Request
from llmeval.scorers import ScoreError, ScoringContext, score_all
from llmeval.scorers.audit import audit_all
from llmeval.scorers.base import Sample, Scorer
from llmeval.suite import Case

Scored = tuple[dict[str, dict[str, Any]], str | None]  # scores by name (JSON form), error


def score_jobs(
    jobs: Sequence[tuple[Case, str, Generation]], ctx: ScoringContext | None = None, timings: dict[str, float] | None = None,
    origins: Sequence[tuple[str, Request]] | None = None,
) -> list[Scored]:  # fmt: skip
    """Scores per (case, prompt text, generation); a generation error or a scorer error is the job's error.

    ``timings`` gets ``load_s`` (scorers' engines and models, loaded first) and ``score_s``; ``origins``, the
    (model spec, request) of each job, reaches scorers that ask the model under test again.
    """
    from llmeval.scorers.batch import prepare_all
    from llmeval.scorers.context import shared_context

    ctx = ctx or shared_context()
    work: list[tuple[int, Scorer, Sample]] = []
    for index, (case, prompt, gen) in enumerate(jobs):
        if gen.error is None:
            sample = case.sample_for(gen.text, prompt, *(origins[index] if origins else ()))
            work.extend((index, scorer, sample) for scorer in case.scorers)
    started = time.perf_counter()
    prepare_all([scorer for _, scorer, _ in work], ctx)
    loaded = time.perf_counter()
    scored = [(scorer, sample) for _, scorer, sample in work]
    units = [(jobs[index][0].suite, origins[index][0] if origins else "") for index, _, _ in work]
    results = audit_all(scored, score_all(scored, ctx), units)  # a judge's trust: per suite and model under test
    if timings is not None:
        timings["load_s"] = timings.get("load_s", 0.0) + loaded - started
        timings["score_s"] = timings.get("score_s", 0.0) + time.perf_counter() - loaded
    out: list[Scored] = [({}, gen.error) for _, _, gen in jobs]
    for (index, scorer, _), result in zip(work, results, strict=True):
        scores, error = out[index]
        if isinstance(result, ScoreError):
            if error is None:
                out[index] = (scores, result.describe())
        else:
            scores[scorer.name] = result.as_dict()
    return out
