"""Phase 2: score every generated sample of the run, each scorer over its whole batch at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmeval.backends import Generation
from llmeval.scorers.base import Sample, Score, Scorer
from llmeval.suite import Case

Scored = tuple[dict[str, dict[str, Any]], str | None]  # scores by name (JSON form), error


def score_jobs(jobs: Sequence[tuple[Case, str, Generation]]) -> list[Scored]:
    """Scores per (case, prompt text, generation); a generation error or a scorer error is the job's error."""
    work: list[tuple[int, Scorer, Sample]] = []
    for index, (case, prompt, gen) in enumerate(jobs):
        if gen.error is None:
            sample = case.sample_for(gen.text, prompt)
            work.extend((index, scorer, sample) for scorer in case.scorers)
    results = score_all([(scorer, sample) for _, scorer, sample in work])
    out: list[Scored] = [({}, gen.error) for _, _, gen in jobs]
    for (index, scorer, _), result in zip(work, results, strict=True):
        scores, error = out[index]
        if isinstance(result, Score):
            scores[scorer.name] = result.as_dict()
        elif error is None:
            out[index] = (scores, f"scorer '{scorer.name}' raised {result}")
    return out


def score_all(jobs: Sequence[tuple[Scorer, Sample]]) -> list[Score | str]:
    """Each (scorer, sample)'s Score, or the error text when the scorer raised (never a 0 or NaN)."""
    out: list[Score | str] = []
    for scorer, sample in jobs:
        try:
            out.append(scorer(sample))
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a scorer bug (even sys.exit) is an error on this case, not a crash
            out.append(f"{type(exc).__name__}: {exc}")
    return out
