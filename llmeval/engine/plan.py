"""The generation plan: every selected request, deduplicated, cache-checked, generated in batches once."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from llmeval.backends.base import Backend, Generation, Request, backend_secrets, cache_key
from llmeval.backends.limits import Deadline, Limits
from llmeval.engine.cache import Cache
from llmeval.engine.progress import Progress
from llmeval.errors import LlmevalError

ProgressFactory = Callable[[int], Progress]


@dataclass(frozen=True)
class Job:
    backend: Backend
    request: Request
    key: str
    limits: Limits


class GenerationPlan:
    """Collects requests, then resolves all pending ones in one pass: cache first, misses batched per backend.

    With a run `deadline`, requests not started when it passes become errors (never cached: a re-run
    generates them); what finished stays in the cache. Its token budget is charged here, with the prompt
    and completion tokens of every generated (not cached) output, so it bounds every backend alike.
    The secrets of every backend in the plan (API keys) are masked in each output as it arrives, before the
    cache, scorers or records see it, and in every cache hit.
    """

    def __init__(self, cache: Cache, progress: ProgressFactory, deadline: Deadline | None = None) -> None:
        self.cache = cache
        self.progress = progress
        self.deadline = deadline
        self.jobs: dict[str, Job] = {}
        self.results: dict[str, Generation] = {}
        self._secrets: set[str] = set()
        self._secret_pattern: re.Pattern[str] | None = None
        self._secrets_of: set[int] = set()  # backends whose secrets are known

    def add(self, backend: Backend, request: Request, limits: Limits | None = None, *, key_extra: str = "") -> str:
        """Register a request; `limits` bound its generation, `key_extra` (e.g. a suite's cache_version) joins its key."""
        key = cache_key(backend.identity(), request, with_vars=backend.sees_vars, extra=key_extra)
        self._learn_secrets(backend)
        self.jobs.setdefault(key, Job(backend, request, key, limits or Limits()))
        return key

    def _learn_secrets(self, backend: Backend) -> None:
        if id(backend) in self._secrets_of:
            return
        self._secrets_of.add(id(backend))
        fresh = set(backend_secrets(backend)) - self._secrets
        if fresh:
            from llmeval.pii.values import secret_pattern

            self._secrets |= fresh
            self._secret_pattern = secret_pattern(self._secrets)

    def masked(self, gen: Generation) -> Generation:
        """The generation with every secret of the plan's backends masked in its text and error."""
        pattern = self._secret_pattern
        if pattern is None or not (pattern.search(gen.text) or (gen.error and pattern.search(gen.error))):
            return gen
        from llmeval.core.redactor import SECRET_LABEL

        error = pattern.sub(SECRET_LABEL, gen.error) if gen.error else gen.error
        return dataclasses.replace(gen, text=pattern.sub(SECRET_LABEL, gen.text), error=error)

    def _masked_material(self, job: Job, backend: Backend) -> dict[str, object]:
        """The request as the cache stores it, with any secret in it (a key pasted into a prompt) masked."""
        material = job.request.material(with_vars=backend.sees_vars)
        if self._secret_pattern is None:
            return material
        from llmeval.core.redactor import SECRET_LABEL

        masked: dict[str, object] = json.loads(self._secret_pattern.sub(SECRET_LABEL, json.dumps(material)))
        return masked

    def get(self, key: str) -> Generation:
        if key not in self.results:
            self.run([key])
        return self.results[key]

    def forget(self, keys: list[str]) -> None:
        """Drop finished generations the caller has taken (a 100,000-case run need not hold them twice)."""
        for key in keys:
            self.results.pop(key, None)
            self.jobs.pop(key, None)

    def run(self, keys: list[str] | None = None) -> None:
        """Resolve the given keys (default: every pending one)."""
        wanted = [k for k in (keys if keys is not None else list(self.jobs)) if k not in self.results]
        if not wanted:
            return
        hits = {key: self.masked(gen) for key, gen in self.cache.get_many(wanted).items()}
        self.results.update(hits)
        misses = [self.jobs[k] for k in wanted if k not in hits]
        load_s = self._load_backends(misses)
        progress = self.progress(len(misses))
        groups: dict[tuple[int, object, Limits], list[Job]] = defaultdict(list)
        for job in misses:
            groups[(id(job.backend), job.request.config, job.limits)].append(job)
        for jobs in groups.values():
            self._generate(jobs, progress)
        progress.finish(len(hits), load_s)
        self._report_budget(misses, progress)

    def _report_budget(self, misses: list[Job], progress: Progress) -> None:
        """One terminal line when the token budget stopped requests: how many, and how to generate them."""
        deadline = self.deadline
        if deadline is None or deadline.budget is None or not deadline.out_of_tokens():
            return
        stopped = sum(1 for job in misses if _stopped_by_budget(self.results.get(job.key)))
        if stopped:
            progress.write_line(
                f"llmeval: {deadline.budget.describe()}: {stopped} request{'s' if stopped != 1 else ''} not generated "
                f"(errors on their cases; finished outputs are cached, so a re-run with a bigger "
                f"--llmeval-token-budget generates only these)"
            )

    def _load_backends(self, misses: list[Job]) -> float:
        """Load each needed model before the clock starts, so cases/s and tokens/s measure generation only."""
        started = time.perf_counter()
        for backend in {id(job.backend): job.backend for job in misses}.values():
            try:
                backend.load()
            except LlmevalError:
                continue  # reported on each of its cases by _generate
        return time.perf_counter() - started

    def _generate(self, jobs: list[Job], progress: Progress) -> None:
        backend = jobs[0].backend

        def on_result(index: int, gen: Generation) -> None:
            job, gen = jobs[index], self.masked(gen)
            self.results[job.key] = gen
            if self.deadline is not None and gen.error is None:
                self.deadline.charge(gen.prompt_tokens + gen.completion_tokens)
            self.cache.put(job.key, backend.identity(), self._masked_material(job, backend), gen)
            progress.advance(gen.completion_tokens, gen.error is not None)

        message: str | None
        if self.deadline is not None and self.deadline.reached():
            message = self.deadline.not_started
        else:
            message = self._call(backend, jobs, on_result)
        if message is None:
            return
        for job in jobs:
            if job.key not in self.results:
                self.results[job.key] = Generation("", error=message)
                progress.advance(0, True)

    def _call(self, backend: Backend, jobs: list[Job], on_result: Callable[[int, Generation], None]) -> str | None:
        """Generate one group; the error for its unfinished requests if the backend failed as a whole."""
        requests = [j.request for j in jobs]
        try:
            if backend.takes_limits:
                backend.generate(requests, on_result, limits=jobs[0].limits.with_deadline(self.deadline))
            else:
                backend.generate(requests, on_result)
        except LlmevalError as exc:
            return str(exc)
        except Exception as exc:  # a backend crash must not lose the other backends' work
            return f"backend '{backend.spec}' crashed: {type(exc).__name__}: {exc}"
        return None


def _stopped_by_budget(gen: Generation | None) -> bool:
    return (
        gen is not None
        and gen.error is not None
        and "token budget" in gen.error
        and gen.error.startswith(("not generated:", "stopped:"))
    )
