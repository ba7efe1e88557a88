"""The run's evaluation core as the pytest front end holds it on the config: built on first use, shared by hooks and items."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from llmeval import config as cfg
from llmeval.pytest_plugin.keys import baseline_key, done_key, evaluation_key, result_key, selection_key, settings_key

if TYPE_CHECKING:
    from llmeval.core import Evaluation, RunResult, Target


def evaluation_of(config: pytest.Config) -> Evaluation:
    """The run's evaluation core, built when a suite is first collected (a run without suites never imports it)."""
    if evaluation_key not in config.stash:
        from llmeval.core import Evaluation

        config.stash[evaluation_key] = Evaluation(
            config.stash[settings_key],
            Path(config.rootpath),
            write_line=line_writer(config),
            live_progress=lambda: live(config),
            baseline=config.stash[baseline_key],
        )
    return config.stash[evaluation_key]


def evaluate_file(config: pytest.Config, path: str) -> RunResult:
    """The run's records; on an xdist worker a suite file is evaluated when its first item runs."""
    from llmeval.core import RunResult

    result = config.stash.setdefault(result_key, RunResult())
    done = config.stash.setdefault(done_key, set())
    if path not in done and cfg.is_xdist_worker(config):
        done.add(path)
        result.merge(evaluate(evaluation_of(config), {path: config.stash[selection_key].get(path, [])}))
    return result


def evaluate(evaluation: Evaluation, selection: dict[str, list[Target]]) -> RunResult:
    """Evaluate the selection; an unexpected fault becomes an error on each of its items, not an INTERNALERROR."""
    from llmeval.core import RunResult

    try:
        return evaluation.evaluate([t for targets in selection.values() for t in targets])
    except Exception as exc:  # finished generations are already in the cache: a re-run resumes
        message = f"llmeval could not evaluate this suite: {type(exc).__name__}: {exc}"
        return RunResult(failures=dict.fromkeys(selection, message))


def line_writer(config: pytest.Config) -> Any:
    def write(line: str) -> None:
        reporter = config.pluginmanager.getplugin("terminalreporter")
        if reporter is not None and config.get_verbosity() >= -1:  # -q still gets the one summary line
            reporter.write_line(line)

    return write


def live(config: pytest.Config) -> bool:
    reporter = config.pluginmanager.getplugin("terminalreporter")
    return bool(reporter is not None and reporter.isatty() and config.get_verbosity() >= 0 and not cfg.is_xdist_worker(config))


def check_outputs(config: pytest.Config, settings: cfg.Settings, *, results: bool) -> None:
    """Every output the run will write must be writable (`results`: the default results file too), before any work."""
    from llmeval.reporting.output_paths import check_outputs, settings_outputs

    outputs = settings_outputs(settings, Path(config.rootpath), lambda name: f"--llmeval-{name}", results=results)
    xml = getattr(config.option, "xmlpath", None)
    check_outputs([*outputs, *([("--junitxml", Path(os.path.abspath(xml)))] if xml else [])])
