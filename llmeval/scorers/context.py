"""What a batch scorer may use: the run's model pool and the run's generation plan (for judge models)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from llmeval.backends.base import Backend, Generation, Request
    from llmeval.engine.plan import GenerationPlan
    from llmeval.engine.pool import ModelPool
    from llmeval.engine.score_cache import ScoreStore


class JudgeGenerate(Protocol):
    """Generates text for a judge model: `(model spec, requests) -> one Generation per request, in order`.

    A generation that failed carries `error`; the call itself raises only when the spec cannot be
    resolved. The core routes these requests through the run's plan: deduplicated, cached, batched.
    """

    def __call__(self, spec: str, requests: Sequence[Request]) -> list[Generation]: ...


@dataclass
class ScoringStats:
    """What scoring did in a run: scores asked for, found in the score cache, computed; seconds loading and scoring."""

    asked: int = 0
    cached: int = 0
    scored: int = 0
    load_s: float = 0.0
    score_s: float = 0.0


@dataclass
class ScoringContext:
    """Handed to every `BatchScorer.score` call of a run; scorers keep no model or state of their own.

    `scores`, the run's score cache (None: every score is computed); `stats`, what scoring did so far.
    """

    pool: ModelPool
    generate: JudgeGenerate
    threads: int | None = None
    scores: ScoreStore | None = None
    stats: ScoringStats = field(default_factory=ScoringStats)


@dataclass
class PlanJudge:
    """The default `JudgeGenerate`: backends resolved once per spec, requests run through a GenerationPlan."""

    plan: GenerationPlan
    resolve: Callable[[str], Backend]
    _backends: dict[str, Backend] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, spec: str, requests: Sequence[Request]) -> list[Generation]:
        with self._lock:
            if spec not in self._backends:
                self._backends[spec] = self.resolve(spec)
            backend = self._backends[spec]
            keys = [self.plan.add(backend, r) for r in requests]
            self.plan.run(list(dict.fromkeys(keys)))  # the plan generates a key given twice twice
            return [self.plan.get(k) for k in keys]


def default_context(
    *, root: Path | None = None, threads: int | None = None, cache_dir: Path | None = None, **backend_options: Any
) -> ScoringContext:
    """A context of its own: a fresh pool, and judge calls through a plan with a cache (off unless `cache_dir`)."""
    from llmeval.backends import resolve
    from llmeval.engine.cache import Cache
    from llmeval.engine.plan import GenerationPlan
    from llmeval.engine.pool import ModelPool
    from llmeval.engine.progress import Progress
    from llmeval.engine.score_cache import ScoreStore, masker

    base = root or Path.cwd()
    cache = Cache(cache_dir, "on") if cache_dir is not None else Cache(base / ".llmeval", "off")
    plan = GenerationPlan(cache, lambda total: Progress(total, live=False, write_line=lambda _: None))
    options = {"threads": threads, **backend_options}
    judge = PlanJudge(plan, lambda spec: resolve(spec, root=base, **options))
    return ScoringContext(ModelPool(threads=threads), judge, threads, ScoreStore(cache, masker(plan)))


_shared: ScoringContext | None = None
_shared_lock = threading.Lock()


def shared_context() -> ScoringContext:
    """The process-wide context behind per-sample calls (`scorer(sample)`) made outside a run."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = default_context()
        return _shared
