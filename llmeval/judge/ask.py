"""Asks a judge model through the run's plan: votes, bounded retries on unparseable output, never a silent 0.

Every (prompt, vote, attempt) is one generation request with its own sample index, so the plan batches,
deduplicates and caches them (a warm re-run makes no judge call). An output the parser rejects is asked
again with a fresh sample index, at most `retries` times; still unparseable, it raises `JudgeParseError`,
which the run records as an error on that case. Each question carries the output format its parser accepts;
backends that can constrain decoding to it do (see llmeval.backends.base.OutputFormat), so a weak judge
still answers in a parseable form, and the parser checks what the others return.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from llmeval.backends.base import GenerationConfig, OutputFormat, Request
from llmeval.errors import LlmevalError
from llmeval.scorers.context import ScoringContext

V = TypeVar("V")
RETRY_STRIDE = 1000  # sample index of attempt a for vote v: v + a * RETRY_STRIDE


class JudgeParseError(LlmevalError, ValueError):
    """The judge's output could not be parsed after the allowed retries."""


@dataclass(frozen=True)
class Question:
    """One judge prompt, the output format its parser accepts, and the judge's token budget for it."""

    prompt: str
    format: OutputFormat | None = None
    max_new_tokens: int = 256


@dataclass(frozen=True)
class Answers(Generic[V]):
    """Parsed votes per prompt, or the reason the prompt has none (unparseable after retries, or a generation error)."""

    votes: tuple[V, ...] = ()
    error: str | None = None

    def get(self) -> tuple[V, ...]:
        if self.error is not None:
            raise JudgeParseError(self.error)
        return self.votes


def judge_config(votes: int, question: Question) -> GenerationConfig:
    """Greedy for one vote; sampled (temperature 0.7) when several votes should differ."""
    temperature = 0.7 if votes > 1 else 0.0
    return GenerationConfig(question.max_new_tokens, temperature, seed=0, output_format=question.format)


def ask(
    ctx: ScoringContext,
    spec: str,
    questions: Sequence[Question],
    parse: Callable[[int, str], V],
    *,
    votes: int = 1,
    retries: int = 2,
) -> list[Answers[V]]:
    """`votes` parsed answers per question (`parse(index, text)`); a round's questions and votes go to the plan at once."""
    configs = [judge_config(votes, q) for q in questions]
    parsed: dict[tuple[int, int], V] = {}
    failed: dict[tuple[int, int], str] = {}
    pending = [(p, v) for p in range(len(questions)) for v in range(votes)]
    for attempt in range(retries + 1):
        if not pending:
            break
        requests = [Request(questions[p].prompt, None, configs[p], sample=v + attempt * RETRY_STRIDE) for p, v in pending]
        still = []
        for (p, v), gen in zip(pending, ctx.generate(spec, requests), strict=True):
            reason = gen.error or _try(parse, p, gen.text, parsed, (p, v))
            if reason is not None:
                failed[(p, v)] = reason
                still.append((p, v))
        pending = still
    return [_answers(p, votes, parsed, failed, retries) for p in range(len(questions))]


def _try(parse: Callable[[int, str], V], p: int, text: str, parsed: dict[tuple[int, int], V], key: tuple[int, int]) -> str | None:
    try:
        parsed[key] = parse(p, text)
    except ValueError as exc:
        return f"unparseable judge output ({exc}): {text[:200]!r}"
    return None


def _answers(p: int, votes: int, parsed: dict[Any, Any], failed: dict[Any, Any], retries: int) -> Answers[Any]:
    missing = [v for v in range(votes) if (p, v) not in parsed]
    if missing:
        return Answers(error=f"{failed[(p, missing[0])]} — after {retries + 1} attempt(s)")
    return Answers(tuple(parsed[(p, v)] for v in range(votes)))
