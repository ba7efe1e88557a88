"""pytest collection: a suite file is a File; each case x model and each gate x model is an Item.

Items only read the records the core produced (``RunResult``); they never call back into it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest

from llmeval.core import CaseOutcome, Evaluation, RunResult
from llmeval.errors import BackendError, LlmevalError, SuiteError
from llmeval.pytest_plugin.keys import broken_key, markers_key, names_key, settings_key
from llmeval.records import GateRecord
from llmeval.suite import Case, Gate, Suite, load_suite

T = TypeVar("T")


class CaseFailed(Exception):
    """A case missed a threshold (a failure, not an error)."""


class GateFailed(Exception):
    """A gate's condition did not hold, or it could not be evaluated on the evidence."""


class CaseErrored(Exception):
    """The backend produced no output, or a scorer crashed, for this case (an error, not a failure)."""


def evaluation_of(node: pytest.Item | pytest.Collector) -> Evaluation:
    from llmeval.pytest_plugin.run import evaluation_of as build

    return build(node.config)


def result_for(item: CaseItem | GateItem) -> RunResult:
    """The run's records; an xdist worker evaluates a suite file on first use (all its selected cases)."""
    from llmeval.pytest_plugin.run import evaluate_file

    return evaluate_file(item.config, item.suite.path)


class SuiteFile(pytest.File):
    """A YAML suite. A broken one is a collection error of this file only, naming file:line."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            yield from self._collect()
        except LlmevalError:
            # Only this file fails; the other suites still run, and the run exits 2 (see plugin).
            self.config.option.continue_on_collection_errors = True
            self.config.stash.setdefault(broken_key, []).append(str(self.path))
            raise

    def _collect(self) -> Iterator[pytest.Item]:
        settings = self.config.stash[settings_key]
        suite = load_suite(self.path, root=self.config.rootpath, allow_paths=settings.allow_paths)
        _claim_name(self.config, suite)
        run = evaluation_of(self)
        specs = run.models_for(suite)
        if not specs:
            raise SuiteError(
                "no model to run: the suite has no 'model:' and no --llmeval-model was given",
                path=str(self.path),
                line=1,
                key="model",
                hint="add `model: hf:fixtures/models/support-tiny` or pass --llmeval-model SPEC",
            )
        for spec in specs:
            try:
                label = run.label(spec)
            except BackendError as exc:
                where = f"{self.path}:{suite.model_line}" if spec == suite.model else "--llmeval-model"
                raise BackendError(f"{where}: {exc}") from None
            for case in suite.cases:
                _register_markers(self.config, case.tags)
                yield CaseItem.from_parent(self, name=f"{case.id}[{label}]", suite=suite, case=case, spec=spec)
            for gate in suite.gates:
                yield GateItem.from_parent(self, name=f"gate:{gate.name}[{label}]", suite=suite, gate=gate, spec=spec)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, LlmevalError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


def _claim_name(config: pytest.Config, suite: Suite) -> None:
    """Two suite files may not share a suite name: summaries, baselines and gates are keyed by it."""
    names = config.stash.setdefault(names_key, {})
    first = names.setdefault(suite.name, suite.path)
    if Path(first).resolve() != Path(suite.path).resolve():
        raise SuiteError(
            f"suite name '{suite.name}' is already used by {first}",
            path=suite.path,
            line=1,
            key="suite",
            hint="give each suite file its own `suite:` name (results, baselines and gates are keyed by it)",
        )


def _register_markers(config: pytest.Config, tags: tuple[str, ...]) -> None:
    known = config.stash.setdefault(markers_key, set())
    for tag in tags:
        if tag not in known:
            config.addinivalue_line("markers", f"{tag}: llmeval suite tag")
            known.add(tag)


class CaseItem(pytest.Item):
    def __init__(self, *, suite: Suite, case: Case, spec: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite, self.case, self.spec = suite, case, spec
        for tag in case.tags:
            self.add_marker(tag)

    def outcome(self) -> CaseOutcome:
        return _lookup(result_for(self).cases, (self.suite.path, self.case.id, self.spec), result_for(self))

    def setup(self) -> None:
        outcome = self.outcome()
        if outcome.status == "error":
            raise CaseErrored(outcome.error)

    def runtest(self) -> None:
        outcome = self.outcome()
        if outcome.status != "passed":
            raise CaseFailed(outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        from llmeval.reporting.failure import describe_case_failure

        if isinstance(excinfo.value, CaseFailed):
            return describe_case_failure(self, excinfo.value.args[0], evaluation_of(self))
        if isinstance(excinfo.value, (CaseErrored, LlmevalError)):
            from llmeval.reporting.failure import describe_case_error

            where = f"{evaluation_of(self).rel(self.case.path)}:{self.case.line}"
            return describe_case_error(where, self.case.id, self.spec, excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return Path(self.case.path), self.case.line - 1, f"{self.suite.name}::{self.name}"


class GateItem(pytest.Item):
    def __init__(self, *, suite: Suite, gate: Gate, spec: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite, self.gate, self.spec = suite, gate, spec

    def record(self) -> GateRecord:
        return _lookup(result_for(self).gates, (self.suite.path, self.gate.name, self.spec), result_for(self))

    def setup(self) -> None:
        self.record()  # evaluates the suite file on an xdist worker

    def runtest(self) -> None:
        record = self.record()
        if record.status == "skipped":
            pytest.skip(record.message)
        if not record.passed:
            raise GateFailed(record)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, GateFailed):
            from llmeval.reporting.failure import describe_gate_failure

            return describe_gate_failure(self, excinfo.value.args[0], evaluation_of(self))
        if isinstance(excinfo.value, LlmevalError):
            rel = evaluation_of(self).rel(self.suite.path)
            return f"{rel}:{self.gate.line}: gate '{self.gate.name}': {_safe(str(excinfo.value))}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return Path(self.suite.path), self.gate.line - 1, f"{self.suite.name}::{self.name}"


def _lookup(table: Mapping[tuple[str, str, str], T], key: tuple[str, str, str], result: RunResult) -> T:
    """An item's record; a suite file the core could not evaluate raises why, on every item of it."""
    if key not in table:
        raise LlmevalError(result.failures.get(key[0], f"no result for {key[1]} on {key[2]}: it was not selected"))
    return table[key]


def _safe(text: str) -> str:
    from llmeval.reporting.safe import display_line

    return display_line(text)
