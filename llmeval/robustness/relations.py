"""Metamorphic relations between a case's original output and the output for a perturbed prompt.

- ``scorers``: the case's scorers (or the named ones) still pass on the perturbed output;
- ``similarity``: the perturbed output's embedding similarity to the original output is >= a bound;
- ``same_label``: the label extracted from both outputs (the first of ``labels`` found, else the
  normalised output) is the same.
Each relation checks a whole batch of (original, perturbed) samples at once through `score_all`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmeval.errors import SuiteError
from llmeval.scorers import Sample, ScoreError, Scorer, ScoringContext, build, score_all

RELATIONS = ("scorers", "similarity", "same_label")

Verdict = bool | str  # held / broken, or an error message


@dataclass(frozen=True)
class Pair:
    """One check: the original sample (passing) and the perturbed one, with the case's scorers."""

    original: Sample
    perturbed: Sample
    scorers: tuple[Scorer, ...]


@dataclass(frozen=True)
class Relation:
    kind: str = "scorers"
    scorers: tuple[str, ...] = ()
    min_similarity: float = 0.8
    labels: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> Relation:
        kind = str(spec.get("relation", "scorers"))
        if kind not in RELATIONS:
            raise SuiteError(
                f"unknown robustness relation {kind!r}",
                key="robustness.relation",
                hint=f"relation: one of {', '.join(RELATIONS)}",
            )
        return cls(
            kind, tuple(spec.get("scorers") or ()), float(spec.get("min_similarity", 0.8)), tuple(spec.get("labels") or ())
        )

    def describe(self) -> str:
        if self.kind == "similarity":
            return f"similarity to the original output >= {self.min_similarity:g}"
        if self.kind == "same_label":
            return "the extracted label stays the same"
        return f"scorers {', '.join(self.scorers)} still pass" if self.scorers else "the case's scorers still pass"

    def holds(self, pairs: Sequence[Pair], ctx: ScoringContext) -> list[Verdict]:
        """Whether the relation holds on each pair, in one batch."""
        if self.kind == "same_label":
            return [self.label(p.original.output) == self.label(p.perturbed.output) for p in pairs]
        if self.kind == "similarity":
            scorer = build("similarity", {"min": self.min_similarity})
            jobs = [(scorer, Sample(p.perturbed.output, (p.original.output,), p.perturbed.prompt)) for p in pairs]
            return [_verdict(r) for r in score_all(jobs, ctx)]
        return self._scorers_hold(pairs, ctx)

    def _scorers_hold(self, pairs: Sequence[Pair], ctx: ScoringContext) -> list[Verdict]:
        jobs, owners = [], []
        for index, pair in enumerate(pairs):
            for scorer in pair.scorers:
                if not self.scorers or scorer.name in self.scorers:
                    jobs.append((scorer, pair.perturbed))
                    owners.append(index)
        found: list[list[Verdict]] = [[] for _ in pairs]
        for index, result in zip(owners, score_all(jobs, ctx), strict=True):
            found[index].append(_verdict(result))
        return [_combine(v) for v in found]

    def label(self, output: str) -> str:
        text = output.lower()
        for label in self.labels:
            if re.search(rf"\b{re.escape(label.lower())}\b", text):
                return label
        return " ".join(text.split()) if not self.labels else ""


def _verdict(result: Any) -> Verdict:
    if isinstance(result, ScoreError):
        return result.describe()
    return bool(result.passed)


def _combine(verdicts: list[Verdict]) -> Verdict:
    """An error if any scorer erred, else whether every scorer passed."""
    errors = [v for v in verdicts if isinstance(v, str)]
    return errors[0] if errors else all(verdicts)
