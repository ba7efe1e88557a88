"""pytest collection: a suite file is a File; each case x model and each gate x model is an Item."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmeval.errors import BackendError, LlmevalError, SuiteError
from llmeval.session import Runner
from llmeval.suite import Case, Gate, Suite, load_suite

runner_key = pytest.StashKey[Runner]()
rows_key = pytest.StashKey[list]()
broken_key = pytest.StashKey[list]()


class CaseFailed(Exception):
    """A case missed a threshold (a failure, not an error)."""


class GateFailed(Exception):
    """A gate's condition did not hold."""


class GenerationFailed(Exception):
    """The backend produced no output, or a scorer crashed, for this case (an error, not a failure)."""


def _runner(node: pytest.Item | pytest.Collector) -> Runner:
    return node.config.stash[runner_key]


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
        suite = load_suite(self.path)
        runner = _runner(self)
        specs = runner.models_for(suite)
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
                label = runner.label(spec)
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


def _register_markers(config: pytest.Config, tags: tuple[str, ...]) -> None:
    known = config.stash.setdefault(_markers_key, set())
    for tag in tags:
        if tag not in known:
            config.addinivalue_line("markers", f"{tag}: llmeval suite tag")
            known.add(tag)


_markers_key = pytest.StashKey[set]()


class CaseItem(pytest.Item):
    def __init__(self, *, suite: Suite, case: Case, spec: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite, self.case, self.spec = suite, case, spec
        for tag in case.tags:
            self.add_marker(tag)

    def setup(self) -> None:
        runner = _runner(self)
        if runner.lazy:
            runner.generate_for_file(self.suite.path)
        result = runner.score(self.suite, self.case, self.spec)
        if result.error is not None:
            raise GenerationFailed(result.error)

    def runtest(self) -> None:
        runner = _runner(self)
        result = runner.score(self.suite, self.case, self.spec)
        self.stash[rows_key] = result.rows
        runner.record_properties(self, result)
        if not result.passed:
            raise CaseFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        from llmeval.reporting.failure import describe_case_failure

        if isinstance(excinfo.value, CaseFailed):
            return describe_case_failure(self, excinfo.value.args[0], _runner(self))
        if isinstance(excinfo.value, (GenerationFailed, LlmevalError)):
            where = f"{_runner(self).rel(self.case.path)}:{self.case.line}"
            problem = f"case '{self.case.id}' could not be evaluated on {self.spec} (an error, not a failure)"
            return f"{where}: {problem}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return Path(self.case.path), self.case.line - 1, f"{self.suite.name}::{self.name}"


class GateItem(pytest.Item):
    def __init__(self, *, suite: Suite, gate: Gate, spec: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite, self.gate, self.spec = suite, gate, spec

    def setup(self) -> None:
        runner = _runner(self)
        if runner.lazy:
            runner.generate_for_file(self.suite.path)

    def runtest(self) -> None:
        runner = _runner(self)
        row = runner.evaluate_gate(self)
        self.stash[rows_key] = [row]
        runner.record_gate_properties(self, row)
        if not row["passed"]:
            raise GateFailed(row)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, GateFailed):
            from llmeval.reporting.failure import describe_gate_failure

            return describe_gate_failure(self, excinfo.value.args[0], _runner(self))
        if isinstance(excinfo.value, LlmevalError):
            return f"{_runner(self).rel(self.suite.path)}:{self.gate.line}: gate '{self.gate.name}': {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return Path(self.suite.path), self.gate.line - 1, f"{self.suite.name}::{self.name}"
