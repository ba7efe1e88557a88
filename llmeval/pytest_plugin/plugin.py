"""The pytest plugin (entry point `llmeval`): options, suite collection, handing the selection to the core.

Only light modules are imported here: torch, transformers, presidio, spaCy and fairlearn load when
used, and nothing here touches the environment (offline hub mode is set where a model loads).
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from llmeval import config as cfg
from llmeval.errors import LlmevalError
from llmeval.pytest_plugin.keys import (
    CONTEXT,
    RUN_ID,
    baseline_key,
    broken_key,
    context_sent_key,
    evaluation_key,
    result_key,
    selection_key,
    sent_key,
    settings_key,
)
from llmeval.pytest_plugin.run import check_outputs, evaluate, evaluation_of

if TYPE_CHECKING:
    pass


def pytest_addoption(parser: pytest.Parser) -> None:
    cfg.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Settings and the baseline are checked now (a bad one is a usage error); the core loads on first use."""
    from llmeval.ops.baseline import settings_baseline
    from llmeval.pytest_plugin.reporter import Reporter

    try:
        settings = cfg.from_pytest(config)
        if cfg.is_xdist_worker(config):  # one run, one id: the controller's
            settings.run_id = config.workerinput.get(RUN_ID, settings.run_id)  # type: ignore[attr-defined]
        baseline = settings_baseline(settings, Path(config.rootpath))
        if not cfg.is_xdist_worker(config):
            check_outputs(config, settings, results=False)
    except LlmevalError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[settings_key] = settings
    config.stash[baseline_key] = baseline
    if not cfg.is_xdist_worker(config):
        config.pluginmanager.register(Reporter(config, settings, baseline), "llmeval-reporter")


def pytest_unconfigure(config: pytest.Config) -> None:
    evaluation = config.stash.get(evaluation_key, None)
    if evaluation is not None:
        evaluation.close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    from llmeval.suite import is_suite_file

    if is_suite_file(file_path):
        from llmeval.pytest_plugin.items import SuiteFile

        return SuiteFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    """Before any item runs: hand the selection to the core; outside xdist workers, evaluate it all now."""
    config = session.config
    if not config.option.collectonly and session.items and evaluation_key in config.stash:
        from llmeval.pytest_plugin.selection import select

        config.stash[selection_key] = select(session.items)
        if not cfg.is_xdist_worker(config):
            _check_results_file(config)
            with _uncaptured(config):
                config.stash[result_key] = evaluate(evaluation_of(config), config.stash[selection_key])
    return (yield)


def _check_results_file(config: pytest.Config) -> None:
    """Suites were collected: the results file (written by default) must be writable before generation starts."""
    try:
        check_outputs(config, config.stash[settings_key], results=True)
    except LlmevalError as exc:
        raise pytest.UsageError(str(exc)) from None


class _uncaptured:
    """Generation progress goes to the real terminal, not pytest's capture."""

    def __init__(self, config: pytest.Config) -> None:
        capman = config.pluginmanager.getplugin("capturemanager")
        self._cm = capman.global_and_fixture_disabled() if capman is not None else None

    def __enter__(self) -> None:
        if self._cm is not None:
            self._cm.__enter__()

    def __exit__(self, *exc: Any) -> None:
        if self._cm is not None:
            self._cm.__exit__(*exc)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """A suite file that could not be collected makes the run exit 2 (usage error), after the others ran."""
    if session.config.stash.get(broken_key, None) and session.exitstatus in (0, 1):
        session.exitstatus = pytest.ExitCode.INTERRUPTED


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Attach the item's records (JSON form) to its report, so they reach the controller under xdist too."""
    report = yield
    if "llmeval.pytest_plugin.items" not in sys.modules:  # no suite was collected: no item of ours (and no import cost)
        return report
    from llmeval.pytest_plugin.items import CaseItem, GateItem

    if not isinstance(item, (CaseItem, GateItem)) or result_key not in item.config.stash:
        return report
    if report.when == "setup" and report.failed and call.excinfo is not None:
        report.longrepr = item.repr_failure(call.excinfo)  # pytest shows tracebacks for setup errors otherwise
    if (report.when == "setup" and report.failed) or report.when == "call":
        records = _records(item)
        # in one process the reporter takes the frozen records as they are; xdist ships their JSON form
        report.llmeval_records = [r.to_json() for r in records] if cfg.is_xdist_worker(item.config) else records
        _send_context(item.config, report)
        if cfg.is_xdist_worker(item.config):
            _send_redaction(item.config, report)
    return report


def _send_context(config: pytest.Config, report: Any) -> None:
    """The baseline comparisons and model identities not sent yet: the reporter concludes the run with them."""
    result = config.stash[result_key]
    sent = config.stash.setdefault(context_sent_key, set())
    diffs = [[path, spec, diff] for (path, spec), diff in result.diffs.items() if (path, spec) not in sent]
    models = {spec: ident for spec, ident in result.models.items() if ("model", spec) not in sent}
    if diffs or models:
        sent.update([(path, spec) for path, spec, _ in diffs] + [("model", spec) for spec in models])
        setattr(report, CONTEXT, {"diffs": diffs, "models": models})


def _send_redaction(config: pytest.Config, report: Any) -> None:
    """The values this worker's redactor found since its last report: the controller masks the run with all of them."""
    from llmeval.core.redaction import worker_payload
    from llmeval.pytest_plugin.redaction import PAYLOAD

    evaluation = config.stash.get(evaluation_key, None)
    if evaluation is None or not evaluation.settings.redact_pii:  # keys: every worker knows them all
        return
    payload = worker_payload(evaluation.redactor, config.stash.setdefault(sent_key, [0, 0]))
    if payload is not None:
        setattr(report, PAYLOAD, payload)


def _records(item: Any) -> list[Any]:
    from llmeval.pytest_plugin.items import CaseItem

    try:
        if isinstance(item, CaseItem):
            return list(item.outcome().records)
        return [item.record()]
    except LlmevalError:  # the suite file could not be evaluated: the item reports why, no records
        return []


@pytest.fixture
def llm(request: pytest.FixtureRequest) -> Any:
    """`llm(prompt, **generation) -> str` on the first --llmeval-model, through the run's cache.

    For plain Python tests; suites get batched generation, this is one call per use (cached).
    """
    from llmeval.backends import GenerationConfig, Request
    from llmeval.errors import BackendError

    run = evaluation_of(request.config)
    if not run.settings.models:
        pytest.fail("the llm fixture needs a model: pass --llmeval-model SPEC or set model in [tool.llmeval]", pytrace=False)
    backend = run.backend(run.settings.models[0])

    def generate(
        prompt: str | None = None, *, messages: list[dict[str, str]] | None = None, sample: int = 0, **generation: Any
    ) -> str:
        if (prompt is None) == (messages is None):
            raise TypeError("llm() takes a prompt or messages=[{role, content}, ...], not both")
        chat = tuple((m["role"], m["content"]) for m in messages) if messages is not None else None
        key = run.plan.add(backend, Request(prompt, chat, GenerationConfig(**generation), sample))
        result = run.plan.get(key)
        if result.error is not None:
            raise BackendError(result.error)
        return result.text

    return generate
