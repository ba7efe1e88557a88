"""Per-pytest-run state: backends by spec, the generation plan, scored results (kept in config.stash)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmeval.backends import Backend, Generation, allowed_from_specs, resolve
from llmeval.config import Settings
from llmeval.engine.cache import Cache
from llmeval.engine.plan import GenerationPlan
from llmeval.engine.progress import Progress
from llmeval.errors import BackendError
from llmeval.suite import Case, Suite


@dataclass
class CaseResult:
    """The scored samples of one case on one model."""

    rows: list[dict[str, Any]]
    passed: bool
    pass_rate: float
    error: str | None = None


@dataclass
class Selection:
    """What this run selected, per (suite file, model): the cases whose outputs are needed."""

    suites: dict[tuple[str, str], Suite] = field(default_factory=dict)
    cases: dict[tuple[str, str], list[Case]] = field(default_factory=dict)
    generated: set[str] = field(default_factory=set)


@dataclass
class Runner:
    settings: Settings
    root: Path
    write_line: Any
    live_progress: Callable[[], bool]  # asked when generation starts: the terminal reporter exists by then
    backends: dict[str, Backend | BackendError] = field(default_factory=dict)
    scored: dict[tuple[str, str, str], CaseResult] = field(default_factory=dict)
    planned: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    selection: Selection = field(default_factory=Selection)
    lazy: bool = False  # an xdist worker: generate per suite file on first use, not all up front

    def __post_init__(self) -> None:
        cache_dir = Path(self.settings.cache_dir)
        self.cache = Cache(cache_dir if cache_dir.is_absolute() else self.root / cache_dir, self.settings.cache)
        self.plan = GenerationPlan(self.cache, self._progress)
        self._labels: dict[str, str] = {}

    def _progress(self, total: int) -> Progress:
        return Progress(total, live=self.live_progress(), write_line=self.write_line)

    # -- models -------------------------------------------------------------------------------
    def backend(self, spec: str) -> Backend:
        """The backend for a spec, built once per run; a spec that failed to load fails the same way again."""
        if spec not in self.backends:
            try:
                options = {"batch_size": self.settings.batch_size, "concurrency": self.settings.concurrency,
                           "threads": self.settings.threads, "timeout": self.settings.timeout,
                           "retries": self.settings.retries, "api_key_env": self.settings.api_key_env,
                           "allow_hosts": self.settings.allow_hosts + allowed_from_specs(self.settings.models)}
                self.backends[spec] = resolve(spec, root=self.root, **options)
            except BackendError as exc:
                self.backends[spec] = exc
        found = self.backends[spec]
        if isinstance(found, BackendError):
            raise found
        return found

    def label(self, spec: str) -> str:
        """A short, unique name for a model in item ids: the folder or callable name."""
        if spec not in self._labels:
            base = self.backend(spec).label
            taken = set(self._labels.values())
            label, n = base, 2
            while label in taken:
                label, n = f"{base}-{n}", n + 1
            self._labels[spec] = label
        return self._labels[spec]

    def models_for(self, suite: Suite) -> list[str]:
        return list(self.settings.models) or ([suite.model] if suite.model else [])

    def samples(self, suite: Suite) -> int:
        return self.settings.repeat or suite.repeat

    # -- generation ---------------------------------------------------------------------------
    def add(self, suite: Suite, case: Case, spec: str) -> list[str]:
        """Register the case's requests (one per sample) with the plan; returns their keys."""
        ident = (suite.path, case.id, spec)
        if ident not in self.planned:
            backend = self.backend(spec)
            self.planned[ident] = [self.plan.add(backend, case.request(suite.generation, k)) for k in range(self.samples(suite))]
        return self.planned[ident]

    def generate(self, keys: Sequence[str] | None = None) -> None:
        self.plan.run(list(keys) if keys is not None else None)

    def generations(self, suite: Suite, case: Case, spec: str) -> list[Generation]:
        return [self.plan.get(k) for k in self.add(suite, case, spec)]

    # -- scoring ------------------------------------------------------------------------------
    def score(self, suite: Suite, case: Case, spec: str) -> CaseResult:
        ident = (suite.path, case.id, spec)
        if ident not in self.scored:
            self.scored[ident] = self._score(suite, case, spec)
        return self.scored[ident]

    def _score(self, suite: Suite, case: Case, spec: str) -> CaseResult:
        gens = self.generations(suite, case, spec)
        rows = [self._row(suite, case, spec, k, gen) for k, gen in enumerate(gens)]
        errors = [r["error"] for r in rows if r["error"]]
        ok = [r for r in rows if not r["error"]]
        rate = sum(r["passed"] for r in ok) / len(ok) if ok else 0.0
        passed = not errors and rate >= case.min_pass_rate
        return CaseResult(rows, passed, rate, errors[0] if errors else None)

    def _row(self, suite: Suite, case: Case, spec: str, sample: int, gen: Generation) -> dict[str, Any]:
        request = case.request(suite.generation, sample)
        prompt = request.text()
        scores: dict[str, Any] = {}
        error = gen.error
        if error is None:
            view = case.sample_for(gen.text, prompt)
            for scorer in case.scorers:
                try:
                    scores[scorer.name] = scorer(view).as_dict()
                except Exception as exc:  # a scorer bug is an error on this case, not a crash of the run
                    error = f"scorer '{scorer.name}' raised {type(exc).__name__}: {exc}"
                    break
        return {
            "kind": "case",
            "run_id": self.settings.run_id,
            "suite": suite.name,
            "suite_path": self.rel(suite.path),
            "suite_version": suite.version,
            "case": case.id,
            "path": self.rel(case.path),
            "line": case.line,
            "model": spec,
            "model_label": self.label(spec),
            "sample": sample,
            "prompt": prompt,
            "output": gen.text,
            "reference": case.references[0] if case.references else None,
            "references": list(case.references),
            "scores": scores,
            "passed": error is None and all(s["passed"] for s in scores.values()),
            "error": error,
            "latency_s": round(gen.latency_s, 6),
            "tokens": {"prompt": gen.prompt_tokens, "completion": gen.completion_tokens},
            "tags": list(case.tags),
            "vars": dict(case.vars),
            "cached": gen.cached,
            "time": time.time(),
        }

    def rel(self, path: str) -> str:
        try:
            return str(Path(path).resolve().relative_to(self.root.resolve()))
        except ValueError:
            return path

    def close(self) -> None:
        for backend in self.backends.values():
            if not isinstance(backend, BackendError):
                backend.close()
        self.cache.close()

    def prepare(self, items: Sequence[Any]) -> None:
        """Register every selected item's requests; gates whose suite has no selected case take all its cases."""
        from llmeval.items import CaseItem, GateItem

        self.selection = Selection()
        for item in items:
            if isinstance(item, CaseItem):
                key = (item.suite.path, item.spec)
                self.selection.suites[key] = item.suite
                self.selection.cases.setdefault(key, []).append(item.case)
                self.add(item.suite, item.case, item.spec)
        for item in items:
            if isinstance(item, GateItem):
                key = (item.suite.path, item.spec)
                self.selection.suites[key] = item.suite
                if key not in self.selection.cases:
                    self.selection.cases[key] = list(item.suite.cases)
                    for case in item.suite.cases:
                        self.add(item.suite, case, item.spec)

    def keys_for_file(self, path: str) -> list[str]:
        keys: list[str] = []
        for (suite_path, spec), cases in self.selection.cases.items():
            if suite_path == path:
                suite = self.selection.suites[(suite_path, spec)]
                for case in cases:
                    keys.extend(self.add(suite, case, spec))
        return keys

    def generate_for_file(self, path: str) -> None:
        if path not in self.selection.generated:
            self.selection.generated.add(path)
            self.generate(self.keys_for_file(path))

    def gate_rows(self, suite: Suite, spec: str) -> list[dict[str, Any]]:
        cases = self.selection.cases.get((suite.path, spec)) or list(suite.cases)
        return [row for case in cases for row in self.score(suite, case, spec).rows]

    def evaluate_gate(self, item: Any) -> dict[str, Any]:
        from llmeval.gate.gates import evaluate_gate

        rows = self.gate_rows(item.suite, item.spec)
        row = evaluate_gate(
            dict(item.gate.spec),
            rows,
            suite=item.suite.name,
            model=item.spec,
            baseline=self.baseline(),
            regression=list(item.suite.regression),
        )
        row.update(
            {
                "gate": item.gate.name,
                "model_label": self.label(item.spec),
                "run_id": self.settings.run_id,
                "suite_path": self.rel(item.suite.path),
                "line": item.gate.line,
            }
        )
        return row

    def baseline(self) -> Any:
        if not hasattr(self, "_baseline"):
            self._baseline = None
            if self.settings.baseline:
                from llmeval.gate.baseline import load_baseline

                self._baseline = load_baseline(self.root / self.settings.baseline)
        return self._baseline

    # -- JUnit --------------------------------------------------------------------------------
    def record_properties(self, item: Any, result: CaseResult) -> None:
        props: list[tuple[str, object]] = [("llmeval.model", item.spec), ("llmeval.pass_rate", round(result.pass_rate, 4))]
        names = {n for r in result.rows for n in r["scores"]}
        for name in sorted(names):
            values = [r["scores"][name]["value"] for r in result.rows if name in r["scores"]]
            props.append((f"llmeval.score.{name}", round(sum(values) / len(values), 6)))
        self._emit(item, props)

    def record_gate_properties(self, item: Any, row: dict[str, Any]) -> None:
        from llmeval.gate import gate_properties

        self._emit(item, [("llmeval.model", item.spec), *gate_properties(row)])

    def _emit(self, item: Any, props: list[tuple[str, object]]) -> None:
        mode = self.settings.junit_properties
        if mode == "testcase":
            item.user_properties.extend(props)
        elif mode == "testsuite":
            from _pytest.junitxml import xml_key

            xml = item.config.stash.get(xml_key, None)
            if xml is not None:
                for name, value in props:
                    xml.add_global_property(f"{item.nodeid}|{name}", value)
