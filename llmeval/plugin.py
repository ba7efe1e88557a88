"""The pytest plugin (entry point `llmeval`): options, suite collection, one generation pass, reporting.

Only light modules are imported here: torch, transformers, presidio, spaCy and fairlearn load when used.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from llmeval import config as cfg
from llmeval.errors import LlmevalError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_addoption(parser: pytest.Parser) -> None:
    cfg.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    from llmeval.items import runner_key
    from llmeval.reporting.session import Reporter
    from llmeval.session import Runner

    try:
        settings = cfg.from_pytest(config)
    except LlmevalError as exc:
        raise pytest.UsageError(str(exc)) from None
    worker = cfg.is_xdist_worker(config)
    runner = Runner(settings, Path(config.rootpath), _line_writer(config), lambda: _live(config), lazy=worker)
    config.stash[runner_key] = runner
    if not cfg.is_xdist_worker(config):
        config.pluginmanager.register(Reporter(config, runner), "llmeval-reporter")


def pytest_unconfigure(config: pytest.Config) -> None:
    from llmeval.items import runner_key

    runner = config.stash.get(runner_key, None)
    if runner is not None:
        runner.close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    from llmeval.suite import is_suite_file

    if is_suite_file(file_path):
        from llmeval.items import SuiteFile

        return SuiteFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    """Before any item runs: plan every selected case's requests and (outside xdist workers) generate them all."""
    from llmeval.items import runner_key

    runner = session.config.stash[runner_key]
    if not session.config.option.collectonly and session.items:
        runner.prepare(session.items)
        if not runner.lazy:
            capman = session.config.pluginmanager.getplugin("capturemanager")
            if capman is not None:
                with capman.global_and_fixture_disabled():
                    runner.generate()
            else:
                runner.generate()
    return (yield)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """A suite file that could not be collected makes the run exit 2 (usage error), after the others ran."""
    from llmeval.items import broken_key

    if session.config.stash.get(broken_key, None) and session.exitstatus in (0, 1):
        session.exitstatus = pytest.ExitCode.INTERRUPTED


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Attach the item's result rows to its report, so they reach the controller under xdist too."""
    from llmeval.items import CaseItem, GateItem, rows_key, runner_key

    report = yield
    if not isinstance(item, (CaseItem, GateItem)):
        return report
    if report.when == "setup" and report.failed and call.excinfo is not None:
        report.longrepr = item.repr_failure(call.excinfo)  # pytest shows tracebacks for setup errors otherwise
        if isinstance(item, CaseItem):  # an errored case still gets its rows (with the error) in the results
            report.llmeval_rows = item.config.stash[runner_key].score(item.suite, item.case, item.spec).rows
    elif report.when == "call" and rows_key in item.stash:
        report.llmeval_rows = item.stash[rows_key]
    return report


def _line_writer(config: pytest.Config) -> Any:
    def write(line: str) -> None:
        reporter = config.pluginmanager.getplugin("terminalreporter")
        if reporter is not None and config.get_verbosity() >= -1:  # -q still gets the one summary line
            reporter.write_line(line)

    return write


def _live(config: pytest.Config) -> bool:
    reporter = config.pluginmanager.getplugin("terminalreporter")
    return bool(reporter is not None and reporter.isatty() and config.get_verbosity() >= 0 and not cfg.is_xdist_worker(config))


@pytest.fixture
def llm(request: pytest.FixtureRequest) -> Any:
    """`llm(prompt, **generation) -> str` on the first --llmeval-model, through the run's cache.

    For plain Python tests; suites get batched generation, this is one call per use (cached).
    """
    from llmeval.backends import GenerationConfig, Request
    from llmeval.errors import BackendError
    from llmeval.items import runner_key

    runner = request.config.stash[runner_key]
    if not runner.settings.models:
        pytest.fail("the llm fixture needs a model: pass --llmeval-model SPEC or set model in [tool.llmeval]", pytrace=False)
    backend = runner.backend(runner.settings.models[0])

    def generate(
        prompt: str | None = None, *, messages: list[dict[str, str]] | None = None, sample: int = 0, **generation: Any
    ) -> str:
        if (prompt is None) == (messages is None):
            raise TypeError("llm() takes a prompt or messages=[{role, content}, ...], not both")
        chat = tuple((m["role"], m["content"]) for m in messages) if messages is not None else None
        key = runner.plan.add(backend, Request(prompt, chat, GenerationConfig(**generation), sample))
        result = runner.plan.get(key)
        if result.error is not None:
            raise BackendError(result.error)
        return result.text

    return generate
