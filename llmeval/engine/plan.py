"""The generation plan: every selected request, deduplicated, cache-checked, generated in batches once."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from llmeval.backends.base import Backend, Generation, Request, cache_key
from llmeval.engine.cache import Cache
from llmeval.engine.progress import Progress
from llmeval.errors import LlmevalError

ProgressFactory = Callable[[int], Progress]


@dataclass(frozen=True)
class Job:
    backend: Backend
    request: Request
    key: str


class GenerationPlan:
    """Collects requests, then resolves all pending ones in one pass: cache first, misses batched per backend."""

    def __init__(self, cache: Cache, progress: ProgressFactory) -> None:
        self.cache = cache
        self.progress = progress
        self.jobs: dict[str, Job] = {}
        self.results: dict[str, Generation] = {}

    def add(self, backend: Backend, request: Request) -> str:
        key = cache_key(backend.identity(), request, with_vars=backend.sees_vars)
        self.jobs.setdefault(key, Job(backend, request, key))
        return key

    def get(self, key: str) -> Generation:
        if key not in self.results:
            self.run([key])
        return self.results[key]

    def run(self, keys: list[str] | None = None) -> None:
        """Resolve the given keys (default: every pending one)."""
        wanted = [k for k in (keys if keys is not None else list(self.jobs)) if k not in self.results]
        if not wanted:
            return
        hits = self.cache.get_many(wanted)
        self.results.update(hits)
        misses = [self.jobs[k] for k in wanted if k not in hits]
        load_s = self._load_backends(misses)
        progress = self.progress(len(misses))
        groups: dict[tuple[int, object], list[Job]] = defaultdict(list)
        for job in misses:
            groups[(id(job.backend), job.request.config)].append(job)
        for jobs in groups.values():
            self._generate(jobs, progress)
        progress.finish(len(hits), load_s)

    def _load_backends(self, misses: list[Job]) -> float:
        """Load each needed model before the clock starts, so cases/s and tokens/s measure generation only."""
        started = time.perf_counter()
        for backend in {id(job.backend): job.backend for job in misses}.values():
            load = getattr(backend, "load", None)
            if load is None:
                continue
            try:
                load()
            except LlmevalError:
                continue  # reported on each of its cases by _generate
        return time.perf_counter() - started

    def _generate(self, jobs: list[Job], progress: Progress) -> None:
        backend = jobs[0].backend

        def on_result(index: int, gen: Generation) -> None:
            job = jobs[index]
            self.results[job.key] = gen
            self.cache.put(job.key, backend.identity(), job.request.material(with_vars=backend.sees_vars), gen)
            progress.advance(gen.completion_tokens, gen.error is not None)

        try:
            backend.generate([j.request for j in jobs], on_result)
        except LlmevalError as exc:
            message = str(exc)
        except Exception as exc:  # a backend crash must not lose the other backends' work
            message = f"backend '{backend.spec}' crashed: {type(exc).__name__}: {exc}"
        else:
            return
        for job in jobs:
            if job.key not in self.results:
                self.results[job.key] = Generation("", error=message)
                progress.advance(0, True)
