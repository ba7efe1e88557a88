"""Phase 2: score every generated sample of the run, each scorer over its whole batch at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmeval.backends import Generation, Request
from llmeval.scorers import ScoreError, ScoringContext, score_all
from llmeval.scorers.audit import audit_all
from llmeval.scorers.base import Sample, Scorer
from llmeval.scorers.context import ScoringStats
from llmeval.suite import Case

Scored = tuple[dict[str, dict[str, Any]], str | None]  # scores by name (JSON form), error


def score_jobs(
    jobs: Sequence[tuple[Case, str, Generation]],
    ctx: ScoringContext | None = None,
    timings: dict[str, float] | None = None,
    origins: Sequence[tuple[str, Request]] | None = None,
) -> list[Scored]:
    """Scores per (case, prompt text, generation); a generation error or a scorer error is the job's error.

    ``timings`` gets ``load_s`` (scorers' engines and models, loaded first, only for scorers with a score-cache
    miss) and ``score_s``; ``origins``, the (model spec, request) of each job, reaches scorers that ask the model
    under test again.
    """
    from llmeval.scorers.context import shared_context

    ctx = ctx or shared_context()
    work: list[tuple[int, Scorer, Sample]] = []
    for index, (case, prompt, gen) in enumerate(jobs):
        if gen.error is None:
            sample = case.sample_for(gen.text, prompt, *(origins[index] if origins else ()))
            work.extend((index, scorer, sample) for scorer in case.scorers)
    load_s, score_s = ctx.stats.load_s, ctx.stats.score_s
    scored = [(scorer, sample) for _, scorer, sample in work]
    units = [(jobs[index][0].suite, origins[index][0] if origins else "") for index, _, _ in work]
    results = audit_all(scored, score_all(scored, ctx), units)  # a judge's trust: per suite and model under test
    if timings is not None:
        timings["load_s"] = timings.get("load_s", 0.0) + ctx.stats.load_s - load_s
        timings["score_s"] = timings.get("score_s", 0.0) + ctx.stats.score_s - score_s
    out: list[Scored] = [({}, gen.error) for _, _, gen in jobs]
    for (index, scorer, _), result in zip(work, results, strict=True):
        scores, error = out[index]
        if isinstance(result, ScoreError):
            if error is None:
                out[index] = (scores, result.describe())
        else:
            scores[scorer.name] = result.as_dict()
    return out


def scoring_line(outputs: int, stats: ScoringStats, before: ScoringStats, engines: Sequence[tuple[str, float]]) -> str:
    """The run's scoring line since `before`: time, score-cache hits, and the scorer engines loaded (`engines`)."""
    score_s, load_s = stats.score_s - before.score_s, stats.load_s - before.load_s
    asked, cached, computed = stats.asked - before.asked, stats.cached - before.cached, stats.scored - before.scored
    loaded = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in engines) or "none"
    return (
        f"llmeval: scored {outputs} outputs in {score_s:.2f} s (scorer models load {load_s:.2f} s apart); "
        f"{cached} of {asked} scores from the score cache, {computed} computed; scorer engines loaded: {loaded}"
    )
