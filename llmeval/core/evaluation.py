"""Evaluation: loaded suites x model specs x settings in, frozen records out.

Phases, each over the whole selection at once: (1) plan and generate every request (cached,
batched per backend), (2) score every sample (batched per scorer), (3) redact, (4) gates over the
records with the run's one baseline comparison. pytest and the ``llmeval run`` command are front
ends that only read what this produces.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from llmeval.backends import Backend, Generation, Request, allowed_from_specs, resolve
from llmeval.backends.limits import Deadline, Limits, merge_limits
from llmeval.config import Settings
from llmeval.core.labels import qualified
from llmeval.core.manifest import timestamp
from llmeval.core.records_build import RecordContext, build_case_records, outcome_of
from llmeval.core.redactor import Redactor
from llmeval.core.results import RunResult, Target
from llmeval.core.scoring import score_jobs, scoring_line
from llmeval.engine.cache import Cache, key_extra
from llmeval.engine.plan import GenerationPlan
from llmeval.engine.pool import ENGINE_LOADS
from llmeval.engine.progress import Progress
from llmeval.errors import BackendError
from llmeval.ops.baseline import settings_baseline
from llmeval.records import CaseRecord
from llmeval.scorers import ScoringContext
from llmeval.suite import Case, Suite


class Evaluation:
    """One run's models, cache, plan and baseline; ``evaluate(targets)`` gives the records."""

    def __init__(
        self,
        settings: Settings,
        root: Path,
        *,
        write_line: Callable[[str], None] = lambda line: None,
        live_progress: Callable[[], bool] = lambda: False,
        baseline: Any = None,
    ) -> None:
        self.settings = settings
        self.root = root
        self.write_line = write_line
        self.live_progress = live_progress
        self.backends: dict[str, Backend | BackendError] = {}
        self._labels: dict[str, str] = {}
        cache_dir = Path(settings.cache_dir)
        self.cache = Cache(cache_dir if cache_dir.is_absolute() else root / cache_dir, settings.cache, write_line)
        self.plan = GenerationPlan(self.cache, self._progress, Deadline.start(settings.deadline, settings.token_budget))
        self.baseline = baseline if baseline is not None else settings_baseline(settings, root)
        self._scoring: ScoringContext | None = None
        self._redactor: Redactor | None = None
        self._rel: dict[str, str] = {}
        self.started = timestamp()

    @property
    def scoring(self) -> ScoringContext:
        """What scorers may use: the run's model pool, and the run's plan for judge models (built on first use)."""
        if self._scoring is None:
            from llmeval.engine.pool import ModelPool
            from llmeval.engine.score_cache import ScoreStore, masker
            from llmeval.scorers.context import PlanJudge

            self._scoring = ScoringContext(
                ModelPool(threads=self.settings.threads),
                PlanJudge(self.plan, self.backend),
                self.settings.threads,
                ScoreStore(self.cache, masker(self.plan)),
            )
        return self._scoring

    def _progress(self, total: int) -> Progress:
        return Progress(total, live=self.live_progress(), write_line=self.write_line)

    # -- models -------------------------------------------------------------------------------
    def backend(self, spec: str) -> Backend:
        """The backend for a spec, built once per run; a spec that failed to load fails the same way again."""
        if spec not in self.backends:
            try:
                self.backends[spec] = self._on_engine(resolve(spec, root=self.root, **self._backend_options()))
            except BackendError as exc:
                self.backends[spec] = exc
        found = self.backends[spec]
        if isinstance(found, BackendError):
            raise found
        return found

    def _on_engine(self, backend: Backend) -> Backend:
        """The backend as the run's engine runs it: itself (local), or wrapped to generate on a Ray actor pool."""
        s = self.settings
        if s.engine != "ray":
            return backend
        from llmeval.engine.ray_engine import on_ray

        return on_ray(backend, root=self.root, options=self._backend_options(), address=s.ray_address, actors=s.ray_actors)

    def _backend_options(self) -> dict[str, Any]:
        s = self.settings
        allowed = s.allow_hosts + allowed_from_specs(s.models if "models" in s.from_command_line else [])
        return {
            "batch_size": s.batch_size,
            "concurrency": s.concurrency,
            "threads": s.threads,
            "timeout": s.timeout,
            "retries": s.retries,
            "api_key_env": s.api_key_env,
            "allow_hosts": allowed,
            "balance": s.balance,
            "rpm": s.rpm,
            "tpm": s.tpm,
            "model_ids": s.model_ids,
            "openai_format": s.openai_format,
            "batching": s.batching,
            "vllm_args": s.vllm_args,
        }

    def limits(self, suite: Suite) -> Limits:
        """Request limits: [tool.llmeval] and ini < the suite's `backend:` block < the command line."""
        names = ("timeout", "retries")
        chosen = {n: getattr(self.settings, n) for n in names}
        cli = {n: v for n, v in chosen.items() if n in self.settings.from_command_line}
        return merge_limits({n: v for n, v in chosen.items() if n not in cli}, suite.backend, cli)

    def label(self, spec: str) -> str:
        """A short, unique name for a model in item ids: the folder or callable name, qualified by as much of
        the spec as tells it from the run's other models of that name (`bot:answer`, `bot_v2:answer`)."""
        if spec not in self._labels:
            base = self.backend(spec).label
            peers = [s for s in dict.fromkeys([*self.settings.models, *self._labels]) if s != spec and self._base(s) == base]
            label = qualified(spec, peers) if peers else base
            taken, n, first = set(self._labels.values()), 2, label
            while label in taken:
                label, n = f"{first}-{n}", n + 1
            self._labels[spec] = label
        return self._labels[spec]

    def _base(self, spec: str) -> str | None:
        """The backend's own short name for a spec, None when it cannot load (its own items report that)."""
        try:
            return self.backend(spec).label
        except BackendError:
            return None

    def models_for(self, suite: Suite) -> list[str]:
        return list(self.settings.models) or ([suite.model] if suite.model else [])

    def samples(self, suite: Suite) -> int:
        return self.settings.repeat or suite.repeat

    def identities(self) -> dict[str, str]:
        return {spec: b.identity() for spec, b in self.backends.items() if not isinstance(b, BackendError)}

    def secrets(self) -> list[str]:
        """Secrets the backends hold (API keys): masked in every record whatever the redaction setting."""
        from llmeval.backends import backend_secrets

        return [s for b in self.backends.values() if not isinstance(b, BackendError) for s in backend_secrets(b) if s]

    # -- the run ------------------------------------------------------------------------------
    def evaluate(self, targets: Sequence[Target]) -> RunResult:
        """Generate, score, redact and gate the given targets; every phase batched over all of them."""
        planned = {id(t): self._plan(t) for t in targets}
        keys = [key for per_case in planned.values() for samples in per_case for key, _ in samples]
        self.plan.run(list(dict.fromkeys(keys)))
        records = self._score(targets, planned)
        self.plan.forget(keys)  # the records hold them now
        records = self._redact(records)
        result = RunResult()
        for target in targets:
            for case in target.cases:
                samples = records[(target.suite.path, case.id, target.spec)]
                result.cases[(target.suite.path, case.id, target.spec)] = outcome_of(samples, case.min_pass_rate)
        self._gates(targets, result)
        result.models.update(self.identities())
        return result

    def _plan(self, target: Target) -> list[list[tuple[str, Request]]]:
        """Per case, per sample: the plan key and the request (built once, reused by scoring and the records)."""
        suite, backend = target.suite, self.backend(target.spec)
        limits, extra = self.limits(suite), key_extra(suite.cache_key_files, suite.cache_version)
        requests = [[case.request(suite.generation, k) for k in range(self.samples(suite))] for case in target.cases]
        return [[(self.plan.add(backend, r, limits, key_extra=extra), r) for r in rs] for rs in requests]

    def _score(
        self, targets: Sequence[Target], planned: dict[int, list[list[tuple[str, Request]]]]
    ) -> dict[tuple[str, str, str], list[CaseRecord]]:
        jobs: list[tuple[Target, Case, int, Generation]] = []
        requests: list[tuple[str, Request]] = []
        for target in targets:
            for case, samples in zip(target.cases, planned[id(target)], strict=True):
                jobs.extend((target, case, k, self.plan.get(key)) for k, (key, _) in enumerate(samples))
                requests.extend((target.spec, request) for _, request in samples)
        prompts = [r.text() for _, r in requests]
        texts = [(case, prompt, gen) for (_, case, _, gen), prompt in zip(jobs, prompts, strict=True)]
        loads, before = len(ENGINE_LOADS), dataclasses.replace(self.scoring.stats)
        scored = score_jobs(texts, self.scoring, None, requests)
        if any(getattr(t.suite, "robustness", None) for t in targets):
            from llmeval.robustness.phase import add_robustness

            add_robustness(self, jobs, scored)
        if jobs:
            self.write_line(scoring_line(len(jobs), self.scoring.stats, before, ENGINE_LOADS[loads:]))
        out: dict[tuple[str, str, str], list[CaseRecord]] = {}
        context = RecordContext(self.label, self.rel, self.settings.run_id)
        for (target, case, sample, gen), prompt, (scores, error) in zip(jobs, prompts, scored, strict=True):
            record = build_case_records(context, target.suite, case, target.spec, sample, prompt, gen, scores, error)
            out.setdefault((target.suite.path, case.id, target.spec), []).append(record)
        return out

    @property
    def redactor(self) -> Redactor:
        """The run's one redactor (secrets always, PII when asked); it remembers every value it has found."""
        if self._redactor is None:
            self._redactor = Redactor(self.settings.redact_pii, self.secrets())
        return self._redactor

    def _redact(self, records: dict[tuple[str, str, str], list[CaseRecord]]) -> dict[tuple[str, str, str], list[CaseRecord]]:
        from llmeval.core.redaction import redact_case_records

        return redact_case_records(self.redactor, records)

    def _gates(self, targets: Sequence[Target], result: RunResult) -> None:
        from llmeval.core.gating import GateContext, evaluate_gates

        ctx = GateContext(
            self.baseline, self.label, self.rel, self.settings.run_id, bool(self.settings.save_baseline), self.redactor
        )
        evaluate_gates(ctx, targets, result)

    def rel(self, path: str) -> str:
        """A path relative to the run's root (where possible), computed once per path and shared."""
        if path not in self._rel:
            try:
                self._rel[path] = sys.intern(str(Path(path).resolve().relative_to(self.root.resolve())))
            except ValueError:
                self._rel[path] = sys.intern(path)
        return self._rel[path]

    def close(self) -> None:
        for backend in self.backends.values():
            if not isinstance(backend, BackendError):
                backend.close()
        if self._scoring is not None:
            self._scoring.pool.close()
        self.cache.close()
