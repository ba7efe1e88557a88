"""Scorers that must earn trust: a scorer may check its own scores over a unit of the run and refuse them.

A scorer with ``audit(scores) -> reason | None`` (an LLM judge: order disagreement, vote spread) gets its
scores grouped per unit (a suite on one model under test) and per ``batch_key``; a group it refuses becomes
errors on those outputs, whose text is the reason — errors are missing evidence, which gates count.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from llmeval.scorers.base import Score
from llmeval.scorers.batch import Job, ScoreError, as_batch


@dataclass(frozen=True)
class Unreliable(ScoreError):
    """A score its own scorer refused as evidence; the reason reads on its own ("judge unreliable: ...")."""

    def describe(self) -> str:
        return self.message


def audit_all(jobs: Sequence[Job], results: Sequence[Score | ScoreError], units: Sequence[Hashable]) -> list[Score | ScoreError]:
    """`results` (of `score_all(jobs)`) with every group an auditing scorer refuses turned into `Unreliable` errors."""
    groups: dict[Hashable, list[int]] = {}
    for index, ((scorer, _), result, unit) in enumerate(zip(jobs, results, units, strict=True)):
        if isinstance(result, Score) and callable(getattr(scorer, "audit", None)):
            groups.setdefault((unit, as_batch(scorer).batch_key), []).append(index)
    out = list(results)
    for indices in groups.values():
        scorer = jobs[indices[0]][0]
        reason = scorer.audit([results[i] for i in indices])  # type: ignore[union-attr]
        if reason is not None:
            for i in indices:
                out[i] = Unreliable(scorer.name, "Unreliable", reason)
    return out
