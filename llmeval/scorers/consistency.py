"""`self_consistency` (SelfCheckGPT-style): claims of the answer that N resampled answers do not back up.

For cases with no source. In a run, the sample knows the model spec and request that produced it; the
scorer asks that model again `samples` times (temperature `temperature`, sample indices 1000+k) through
the run's plan, so the extra answers are batched and cached. A claim's support by one extra answer is
its best sentence match: the NLI entailment probability when `model` names an NLI model, else the mean
of content-word overlap and embedding cosine, times the share of the claim's facts (numbers, dates, names)
the extra answer repeats: a number, date or name that moves between samples is not backed however similar
the wording. The value is the mean over claims of 1 - mean support.
"""

from __future__ import annotations

import statistics
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from llmeval.backends.base import GenerationConfig, Request
from llmeval.hallucination import claims as T
from llmeval.scorers.base import Sample, Score, Threshold
from llmeval.scorers.context import ScoringContext, shared_context
from llmeval.scorers.similarity import default_model_path

SAMPLE_OFFSET = 1000  # extra answers use sample indices 1000.., apart from the run's own repeats


@dataclass(frozen=True)
class SelfConsistencyScorer:
    name: str
    threshold: Threshold
    samples: int
    temperature: float
    nli_model: str | None
    generator: str | None

    @property
    def batch_key(self) -> Hashable:
        return ("self_consistency", self.threshold, self.samples, self.temperature, self.nli_model, self.generator)

    def score(self, samples: Sequence[Sample], ctx: ScoringContext) -> list[Score]:
        extra = self._resample(samples, ctx)
        claims = [T.claims(s.output) or [s.output] for s in samples]
        support = self._support(claims, extra, ctx)
        return [self._score(c, s) for c, s in zip(claims, support, strict=True)]

    def __call__(self, sample: Sample) -> Score:
        return self.score([sample], shared_context())[0]

    def _resample(self, samples: Sequence[Sample], ctx: ScoringContext) -> list[list[str]]:
        """`self.samples` new answers per sample, all through one plan call per model spec."""
        by_spec: dict[str, list[tuple[int, Request]]] = {}
        for i, s in enumerate(samples):
            spec = self.generator or s.model
            if not spec:
                raise ValueError("self_consistency needs the model under test: run it in a suite, or give `generator:`")
            base = s.request or Request(s.prompt, None, GenerationConfig())
            config = replace(base.config, temperature=self.temperature, seed=base.config.seed)
            by_spec.setdefault(spec, []).extend(
                (i, replace(base, config=config, sample=SAMPLE_OFFSET + k)) for k in range(self.samples)
            )
        out: list[list[str]] = [[] for _ in samples]
        for spec, jobs in by_spec.items():
            for (i, _), gen in zip(jobs, ctx.generate(spec, [r for _, r in jobs]), strict=True):
                if gen.error:
                    raise RuntimeError(f"resampling the model under test failed: {gen.error}")
                out[i].append(gen.text)
        return out

    def _support(self, claims: list[list[str]], extra: list[list[str]], ctx: ScoringContext) -> list[list[float]]:
        """Per claim, its mean support over the extra answers."""
        pairs = [(c, a) for cl, ex in zip(claims, extra, strict=True) for c in cl for a in ex]
        base = self._nli(pairs, ctx) if self.nli_model else self._overlap(pairs, ctx)
        scores = [b * fact_agreement(claim, answer) for b, (claim, answer) in zip(base, pairs, strict=True)]
        out, row = [], 0
        for cl, ex in zip(claims, extra, strict=True):
            out.append([statistics.fmean(scores[row + j * len(ex) : row + (j + 1) * len(ex)]) for j in range(len(cl))])
            row += len(cl) * len(ex)
        return out

    def _nli(self, pairs: list[tuple[str, str]], ctx: ScoringContext) -> list[float]:
        from llmeval.hallucination.nli import support_column

        assert self.nli_model is not None
        column = support_column(ctx.pool.labels(self.nli_model))
        return [float(p[column]) for p in ctx.pool.classify(self.nli_model, [(answer, claim) for claim, answer in pairs])]

    def _overlap(self, pairs: list[tuple[str, str]], ctx: ScoringContext) -> list[float]:
        texts = list(dict.fromkeys(t for pair in pairs for t in pair))
        vectors = ctx.pool.embed(default_model_path(), texts, max_length=256)
        row = {t: i for i, t in enumerate(texts)}
        out = []
        for claim, answer in pairs:
            words = T.content_words(claim)
            overlap = len(words & T.content_words(answer)) / len(words) if words else 1.0
            cosine = max(0.0, float(vectors[row[claim]] @ vectors[row[answer]]))
            out.append((overlap + cosine) / 2)
        return out

    def _score(self, claims: list[str], support: list[float]) -> Score:
        value = 1 - statistics.fmean(support)
        worst = min(range(len(claims)), key=lambda i: support[i])
        least = f"{claims[worst]!r} ({support[worst]:.2f})"
        why = f"inconsistency {value:.2f} over {self.samples} resampled answer(s); least backed claim: {least}"
        meta: dict[str, Any] = {"claim_support": support}
        sig = f"self_consistency|n={self.samples}|t={self.temperature:g}|{self.nli_model or 'overlap+minilm'}|facts"
        return Score(self.name, value, self.threshold, self.threshold.check(value), why, sig, meta)


def facts(text: str) -> tuple[list[float], set[str], set[str]]:
    """The checkable facts of a text: its numbers (years included), month/weekday names and names."""
    return T.numbers(text), T.dates(text), T.entities(text)


def fact_agreement(claim: str, answer: str) -> float:
    """Share of the claim's numbers, dates and names that the other answer also states (1.0 for a claim without any)."""
    numbers, dates, names = facts(claim)
    total = len(numbers) + len(dates) + len(names)
    if not total:
        return 1.0
    other_numbers, other_dates, other_words = T.numbers(answer), T.dates(answer), T.content_words(answer)
    kept = sum(T.number_supported(n, other_numbers) for n in numbers) + len(dates & other_dates) + len(names & other_words)
    return kept / total


def self_consistency(
    samples: int = 5,
    temperature: float = 1.0,
    model: str | None = None,
    generator: str | None = None,
    max: float | None = 0.5,
    min: float | None = None,
) -> SelfConsistencyScorer:
    """Inconsistency (0..1) of the answer's claims with N resampled answers of the same model (SelfCheckGPT-style)."""
    if samples < 1 or temperature <= 0:
        raise ValueError("samples must be >= 1 and temperature > 0 (resampled answers must be able to differ)")
    return SelfConsistencyScorer("self_consistency", Threshold(min, max), samples, temperature, model, generator)
