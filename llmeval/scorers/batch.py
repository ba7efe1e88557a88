"""Batch-first scoring: the BatchScorer protocol, the per-sample adapter, and `score_all` for a whole run.

A batch scorer scores many samples in one call, so model-backed scorers hand the run's model pool
(or a judge model) all their work at once. Scorers equal by `batch_key` score alike: `score_all` calls
one of them for the whole group. A scorer that raises is retried one sample at a time, so only the
samples it fails on become `ScoreError`s — never a 0 or NaN, and never a crash of the other scorers.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from llmeval.scorers.base import Sample, Score, Scorer, Threshold
from llmeval.scorers.context import ScoringContext


@runtime_checkable
class BatchScorer(Protocol):
    """Scores a batch: `score(samples, ctx)` returns one Score per sample, in order, and keeps no state.

    `batch_key` is equal for two scorers exactly when they would score every sample alike (same kind,
    same parameters): scorers are built per case, and the run batches across cases by this key.
    """

    @property
    def name(self) -> str: ...

    @property
    def threshold(self) -> Threshold: ...

    @property
    def batch_key(self) -> Hashable: ...

    def score(self, samples: Sequence[Sample], ctx: ScoringContext) -> list[Score]: ...


@dataclass(frozen=True)
class ScoreError:
    """A scorer failed on one sample: the scorer's name, the exception type and its message."""

    scorer: str
    type: str
    message: str

    def describe(self) -> str:
        return f"scorer '{self.scorer}' raised {self.type}: {self.message}"


@dataclass(frozen=True, eq=False)
class PerSample:
    """Adapts a per-sample scorer (`scorer(sample) -> Score`, e.g. from the entry point) to BatchScorer."""

    scorer: Scorer

    @property
    def name(self) -> str:
        return self.scorer.name

    @property
    def threshold(self) -> Threshold:
        return self.scorer.threshold

    @property
    def batch_key(self) -> Hashable:
        """The scorer itself when hashable (frozen dataclasses compare by parameters), else its identity."""
        try:
            hash(self.scorer)
        except TypeError:
            return ("per-sample", id(self.scorer))
        return ("per-sample", type(self.scorer).__qualname__, self.scorer)

    def score(self, samples: Sequence[Sample], ctx: ScoringContext) -> list[Score]:
        return [self.scorer(sample) for sample in samples]

    def prepare(self, ctx: ScoringContext) -> None:
        prepare = getattr(self.scorer, "prepare", None)
        if callable(prepare):
            prepare(ctx)


def as_batch(scorer: Scorer | BatchScorer) -> BatchScorer:
    """The scorer itself when it is batch-first, else wrapped in the per-sample adapter.

    Decided once per scorer type: a runtime Protocol check evaluates every member (properties included),
    and scorers are built per case, so checking each one cost more than some scorers' own work.
    """
    kind = type(scorer)
    if kind not in _BATCH_FIRST:
        _BATCH_FIRST[kind] = isinstance(scorer, BatchScorer)
    return scorer if _BATCH_FIRST[kind] else PerSample(scorer)  # type: ignore[return-value,arg-type]


_BATCH_FIRST: dict[type, bool] = {}


Job = tuple[Scorer | BatchScorer, Sample]


def prepare_all(scorers: Iterable[Scorer | BatchScorer], ctx: ScoringContext) -> None:
    """Load what each distinct scorer needs (an engine, a model) before scoring, so the run can time it apart.

    Optional: a scorer without ``prepare(ctx)`` loads on first use. A failing load is left to scoring,
    where it becomes an error on each sample of that scorer.
    """
    seen: set[Hashable] = set()
    for scorer in scorers:
        batch = as_batch(scorer)
        prepare = getattr(batch, "prepare", None)
        if batch.batch_key in seen or not callable(prepare):
            continue
        seen.add(batch.batch_key)
        try:
            prepare(ctx)
        except KeyboardInterrupt:
            raise
        except BaseException:  # reported per sample by score_all, with the scorer's own message
            continue


def score_all(jobs: Sequence[Job], ctx: ScoringContext) -> list[Score | ScoreError]:
    """Score every (scorer, sample) of a run: one batch call per distinct `batch_key`, results in job order.

    With the run's score cache (`ctx.scores`), cached results come from it and only the misses are scored:
    engines and models are loaded (`prepare`) only for scorers that have a miss, timed apart in `ctx.stats`.
    """
    store, stats = ctx.scores, ctx.stats
    keys = store.keys(jobs) if store is not None else [None] * len(jobs)
    results: list[Score | ScoreError | None] = [None] * len(jobs)
    if store is not None:
        for index, score in store.lookup(jobs, keys).items():
            results[index] = score
    todo = [i for i, r in enumerate(results) if r is None]
    started = time.perf_counter()
    prepare_all([jobs[i][0] for i in todo], ctx)
    loaded = time.perf_counter()
    groups: dict[Hashable, tuple[BatchScorer, list[int]]] = {}
    for index in todo:
        batch = as_batch(jobs[index][0])
        groups.setdefault(batch.batch_key, (batch, []))[1].append(index)
    for batch, indices in groups.values():
        found = _score_group(batch, [jobs[i][1] for i in indices], ctx)
        for index, result in zip(indices, found, strict=True):
            results[index] = result
    if store is not None:
        store.save([(key, r) for i in todo if (key := keys[i]) is not None and isinstance(r := results[i], Score)])
    stats.asked, stats.scored = stats.asked + len(jobs), stats.scored + len(todo)
    stats.cached += len(jobs) - len(todo)
    stats.load_s, stats.score_s = stats.load_s + loaded - started, stats.score_s + time.perf_counter() - loaded
    return [r for r in results if r is not None]


def _score_group(scorer: BatchScorer, samples: list[Sample], ctx: ScoringContext) -> list[Score | ScoreError]:
    """The whole group in one call; when that fails, one call per sample to find the failing ones."""
    whole = _call(scorer, samples, ctx)
    if not isinstance(whole, ScoreError):
        return list(whole)
    if len(samples) == 1:
        return [whole]
    results: list[Score | ScoreError] = []
    for sample in samples:
        one = _call(scorer, [sample], ctx)
        results.append(one if isinstance(one, ScoreError) else one[0])
    return results


def _call(scorer: BatchScorer, samples: list[Sample], ctx: ScoringContext) -> list[Score] | ScoreError:
    """Run one batch; any exception but KeyboardInterrupt (SystemExit included) becomes a ScoreError."""
    try:
        scores = scorer.score(samples, ctx)
        _check_shape(scorer, scores, len(samples))
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # user code: SystemExit, GeneratorExit… are errors on its cases
        return ScoreError(scorer.name, type(exc).__name__, str(exc) or repr(exc))
    return scores


def _check_shape(scorer: BatchScorer, scores: object, expected: int) -> None:
    if not isinstance(scores, list) or len(scores) != expected or not all(isinstance(s, Score) for s in scores):
        got = f"{len(scores)} item(s)" if isinstance(scores, list) else type(scores).__name__
        raise TypeError(f"score() must return a list of {expected} Score value(s), got {got}")
