"""`judge`: an LLM judge (any backend spec) rates the output on a rubric (G-Eval style), or prefers one of two answers.

Rating mode: the judge returns {"score": n, "reason": ...} in `scale`; the value is the mean vote mapped to
0..1, metadata holds the raw mean and the spread of the votes. Pairwise mode: the output against the case's
reference, asked in both orders to cancel position bias; the value is the output's win rate (tie = 0.5) and
metadata says whether the two orders disagreed. Judge calls go through the run's plan (batched, cached)
and carry the JSON schema of the answer, which backends that can constrain decoding enforce (`constrain:
false` turns that off, e.g. for a judge that reasons before answering); output that stays unparseable
after `retries` is an error on the case, never a 0 or NaN.

Judges must earn trust (`audit`, applied per suite and model under test by llmeval.scorers.audit): a
pairwise judge whose orders disagree on more than `max_order_disagreement` of the outputs (mean over
outputs of the share of votes whose two orders disagree), or a rubric judge of several votes whose mean
vote range exceeds `max_vote_spread` of the scale, is no evidence: every output it scored there errors.
Within the limit, a disagreeing output keeps its mean over both orders (0.5 when the orders cancel: a tie).
"""

from __future__ import annotations

import statistics
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from llmeval.errors import LlmevalError
from llmeval.judge.ask import Question, ask
from llmeval.judge.parse import Preference, Rating, preference, preference_format, rating, rating_format
from llmeval.scorers.base import Sample, Score, Threshold
from llmeval.scorers.context import ScoringContext, shared_context

RATE_PROMPT = """You are an evaluator. Criteria: {criteria}
{rubric}
Question or prompt:
{prompt}
{reference}
Answer to evaluate:
{output}

Rate the answer from {low:g} to {high:g}. Reply with JSON only: {{"score": <number>, "reason": "<one sentence>"}}"""
PAIR_PROMPT = """You are an evaluator. Criteria: {criteria}
Question or prompt:
{prompt}

Answer A:
{a}

Answer B:
{b}

Which answer is better? Reply with JSON only: {{"winner": "A" | "B" | "tie", "reason": "<one sentence>"}}"""


@dataclass(frozen=True)
class JudgeScorer:
    name: str
    threshold: Threshold
    model: str
    criteria: str
    rubric: str
    scale: tuple[float, float]
    mode: str
    votes: int
    retries: int
    constrain: bool = True  # hold the judge to the verdict format where its backend can (off: e.g. a reasoning model)
    max_order_disagreement: float = 0.2  # pairwise: share of outputs whose two orders may disagree
    max_vote_spread: float = 0.25  # rating, votes > 1: mean (max - min vote) as a share of the scale

    @property
    def batch_key(self) -> Hashable:
        return (
            "judge",
            self.threshold,
            self.model,
            self.criteria,
            self.rubric,
            self.scale,
            self.mode,
            self.votes,
            self.retries,
            self.constrain,
            self.max_order_disagreement,
            self.max_vote_spread,
        )

    @property
    def signature(self) -> str:
        return f"judge|{self.mode}|{self.model}|votes={self.votes}|scale={self.scale[0]:g}-{self.scale[1]:g}"

    def score(self, samples: Sequence[Sample], ctx: ScoringContext) -> list[Score]:
        return self._pairwise(samples, ctx) if self.mode == "pairwise" else self._rate(samples, ctx)

    def __call__(self, sample: Sample) -> Score:
        (score,) = self.score([sample], shared_context())
        reason = self.audit([score])
        if reason is not None:
            raise JudgeUnreliable(reason)
        return score

    def audit(self, scores: Sequence[Score]) -> str | None:
        """Why these scores (one suite's outputs on one model) are no evidence, or None when the judge is within its limits."""
        low, high = self.scale
        if not scores or (self.mode != "pairwise" and self.votes < 2):
            return None  # one rating vote measures no spread
        if self.mode == "pairwise":
            rate = statistics.fmean(s.metadata["order_disagreement"] for s in scores)
            what, limit, name = "order disagreement", self.max_order_disagreement, "max_order_disagreement"
        else:
            rate = statistics.fmean(s.metadata["spread"] for s in scores) / (high - low)
            what, limit, name = "vote spread", self.max_vote_spread, "max_vote_spread"
        if rate <= limit + 1e-9:
            return None
        of_scale = " of the scale" if self.mode != "pairwise" else ""
        outputs = f"{len(scores)} output{'s' if len(scores) != 1 else ''}"
        return f"judge unreliable: {what} {rate:.0%}{of_scale} over {outputs} (limit {name} {limit:.0%}; judge {self.model})"

    def _rate(self, samples: Sequence[Sample], ctx: ScoringContext) -> list[Score]:
        low, high = self.scale
        fmt = rating_format(low, high) if self.constrain else None
        questions = [Question(self._rate_prompt(s), fmt) for s in samples]
        answers = ask(ctx, self.model, questions, lambda _, text: rating(text, low, high), votes=self.votes, retries=self.retries)
        return [self._rated(list(a.get())) for a in answers]

    def _rate_prompt(self, s: Sample) -> str:
        rubric = f"Rubric:\n{self.rubric}\n" if self.rubric else ""
        reference = f"\nReference answer:\n{s.references[0]}\n" if s.references else ""
        return RATE_PROMPT.format(
            criteria=self.criteria,
            rubric=rubric,
            prompt=s.prompt,
            output=s.output,
            low=self.scale[0],
            high=self.scale[1],
            reference=reference,
        )

    def _rated(self, votes: list[Rating]) -> Score:
        low, high = self.scale
        raw = statistics.fmean(v.score for v in votes)
        value = (raw - low) / (high - low)
        spread = max(v.score for v in votes) - min(v.score for v in votes)
        why = f"judge score {raw:g} on {low:g}..{high:g} ({len(votes)} vote(s), spread {spread:g}): " + " | ".join(
            v.reason for v in votes
        )
        meta: dict[str, Any] = {"raw": raw, "votes": [v.score for v in votes], "spread": spread}
        return Score(self.name, value, self.threshold, self.threshold.check(value), why, self.signature, meta)

    def _pairwise(self, samples: Sequence[Sample], ctx: ScoringContext) -> list[Score]:
        for s in samples:
            if not s.references:
                raise ValueError("pairwise judging needs a reference answer to compare the output with")
        questions, fmt = [], preference_format() if self.constrain else None
        for s in samples:  # output first (A), then reference first: the output is B
            for a, b in ((s.output, s.references[0]), (s.references[0], s.output)):
                questions.append(Question(PAIR_PROMPT.format(criteria=self.criteria, prompt=s.prompt, a=a, b=b), fmt))
        answers = ask(ctx, self.model, questions, lambda _, text: preference(text), votes=self.votes, retries=self.retries)
        return [self._compared(list(answers[2 * i].get()), list(answers[2 * i + 1].get())) for i in range(len(samples))]

    def _compared(self, first: list[Preference], second: list[Preference]) -> Score:
        wins = [_win(p, "A") for p in first] + [_win(p, "B") for p in second]
        value = statistics.fmean(wins)
        disagree = statistics.fmean(_win(a, "A") != _win(b, "B") for a, b in zip(first, second, strict=True))
        why = (
            f"output win rate {value:.2f} against the reference over both orders; orders disagree on {disagree:.0%}: "
            + " | ".join(p.reason for p in first + second)
        )
        meta: dict[str, Any] = {"order_disagreement": disagree, "wins": wins}
        return Score(self.name, value, self.threshold, self.threshold.check(value), why, self.signature, meta)


class JudgeUnreliable(LlmevalError, ValueError):
    """A judge's order disagreement or vote spread is beyond its limit: its scores are no evidence."""


def _win(p: Preference, output_label: str) -> float:
    return 0.5 if p.winner == "tie" else float(p.winner == output_label)


def judge(
    model: str,
    criteria: str = "helpfulness and correctness",
    rubric: str = "",
    scale: Sequence[float] = (1, 5),
    mode: Literal["rating", "pairwise"] = "rating",
    votes: int = 1,
    retries: int = 2,
    min: float | None = None,
    max: float | None = None,
    constrain: bool = True,
    max_order_disagreement: float = 0.2,
    max_vote_spread: float = 0.25,
) -> JudgeScorer:
    """An LLM judge's rating (0..1 from the rubric's scale) or pairwise win rate against the reference."""
    if mode not in ("rating", "pairwise"):
        raise ValueError(f"mode must be 'rating' or 'pairwise', got {mode!r}")
    if len(scale) != 2 or scale[0] >= scale[1]:
        raise ValueError(f"scale must be [low, high] with low < high, got {list(scale)}")
    if votes < 1 or retries < 0:
        raise ValueError("votes must be >= 1 and retries >= 0")
    for name, limit in (("max_order_disagreement", max_order_disagreement), ("max_vote_spread", max_vote_spread)):
        if not 0 <= limit <= 1:
            raise ValueError(f"{name} must be between 0 and 1 (a share), got {limit!r}")
    low, high = float(scale[0]), float(scale[1])
    return JudgeScorer(
        "judge",
        Threshold(min, max),
        model,
        criteria,
        rubric,
        (low, high),
        mode,
        votes,
        retries,
        bool(constrain),
        float(max_order_disagreement),
        float(max_vote_spread),
    )
