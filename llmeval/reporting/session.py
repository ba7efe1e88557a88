"""The reporter plugin, on the process that sees every report (the xdist controller, or the only process).

It reads the records attached to each report: streams them to the results file, puts their scores in
JUnit (per testcase or per testsuite), and at the end writes the verdict, baseline, HTML and
comparison, all from records.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from llmeval import config as cfg
from llmeval.errors import LlmevalError
from llmeval.reporting.output_paths import EXIT_UNWRITABLE, Fallback, unwritable

if TYPE_CHECKING:
    from llmeval.records import CaseRecord, GateRecord, Verdict
    from llmeval.reporting.results import WriteMode


class Reporter:
    def __init__(self, config: pytest.Config, settings: Any) -> None:
        self.config = config
        self.settings = settings
        self.root = Path(config.rootpath)
        self.cases: list[CaseRecord] = []
        self.gates: list[GateRecord] = []
        self.results_path = self.settings.results_path(self.root)
        self._writer: Any = None
        self._tail: list[dict[str, Any]] = []  # the verdict and manifest rows, once written
        self._fallback = Fallback()
        self._properties: dict[str, list[tuple[str, object]]] = {}
        self.written: list[tuple[str, Path]] = []
        self._verdict: Verdict | None = None
        self.case_status: dict[str, str] = {}  # "suite::case [model]" -> passed / failed / error
        self._session: pytest.Session | None = None
        self._final: Any = None  # under xdist: the run's redaction, decided here over every worker's findings
        self._pending: list[Any] = []  # under xdist: records held until the run's redaction is known
        if settings.redact_pii and cfg.is_xdist_controller(config):  # every worker knows every key; PII differs
            from llmeval.reporting.run_redaction import RunRedaction

            self._final = RunRedaction(settings.redact_pii)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """Under xdist, once a worker collected suites: the results file must be writable before any item runs."""
        from llmeval.suite import is_suite_file

        files = {nodeid.partition("::")[0] for nodeid in ids}
        if any(f.endswith((".yaml", ".yml")) and is_suite_file(self.root / f) for f in files):
            from llmeval.plugin import check_outputs

            try:
                check_outputs(self.config, self.settings, results=True)
            except LlmevalError as exc:
                raise pytest.UsageError(str(exc)) from None

    # -- streaming ----------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self._final is not None and hasattr(report, "llmeval_redaction"):
            self._final.learn(report.llmeval_redaction)
            del report.llmeval_redaction
        found = getattr(report, "llmeval_records", None)
        if found:
            from llmeval.records import Record, from_json

            records = [r if isinstance(r, Record) else from_json(r) for r in found]
            del report.llmeval_records  # pytest keeps every report until the end: keep one copy of the records
            self._take(records)
            self._record_properties(report.nodeid, records)
            self._case_status(report, records)
        if report.when == "teardown" and report.nodeid in self._properties:
            # pytest's JUnit writer reads a test's properties from its teardown report
            report.user_properties = [*report.user_properties, *self._properties.pop(report.nodeid)]

    def _take(self, records: list[Any]) -> None:
        """Stream a report's records to the results file; under xdist, hold them for the run's redaction."""
        if self._final is not None:
            self._pending += records
        else:
            self._write(records)

    def _write(self, records: list[Any]) -> None:
        if self._writer is None:
            from llmeval.reporting.output_paths import SafeResults

            mode: WriteMode = "append" if self.settings.append else "overwrite"
            self._writer = SafeResults(self.results_path, mode, self._fallback, self._rows_so_far)
        for record in records:
            self._writer.write(record.row())
            (self.cases if record.KIND == "case" else self.gates).append(record)

    def _case_status(self, report: pytest.TestReport, records: list[Any]) -> None:
        """A case item's outcome over its samples, for the verdict (gate items are counted from their records)."""
        cases = [r for r in records if r.KIND == "case"]
        if not cases or report.skipped:
            return
        first = cases[0]
        status = "passed" if report.passed else ("error" if all(r.status == "error" for r in cases) else "failed")
        self.case_status[f"{first.suite}::{first.case} [{first.model_label or first.model}]"] = status

    def _rows_so_far(self) -> list[dict[str, Any]]:
        """What the results file holds so far (written again to the fallback file if a write fails)."""
        return [*self.case_rows, *self.gate_rows, *self._tail]

    def _record_properties(self, nodeid: str, records: list[Any]) -> None:
        from llmeval.reporting.junit import properties_of

        props = properties_of(records)
        mode = self.settings.junit_properties
        if mode == "testcase":
            self._properties.setdefault(nodeid, []).extend(props)
        elif mode == "testsuite":
            from _pytest.junitxml import xml_key

            xml = self.config.stash.get(xml_key, None)
            if xml is not None:
                for name, value in props:
                    xml.add_global_property(f"{nodeid}|{name}", value)

    def _redact_run(self) -> None:
        """Under xdist: mask every record, JUnit entry and failure text with all workers' values, then write rows."""
        self._final.shown(self.config)
        if self._pending:
            self._write(self._final.records(self._pending))
        self._pending = []

    # -- end of run ---------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)  # before pytest's JUnit writer
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._session = session
        if self._final is not None:
            self._redact_run()
        if self.cases or self.gates:
            self._write_outputs()
        self._close()
        self._junit_fallback()
        if self._fallback.messages:
            session.exitstatus = EXIT_UNWRITABLE

    def _write_outputs(self) -> None:
        from llmeval.reporting.outputs import write_outputs

        verdict, manifest = self.verdict(), self.manifest()
        for row in (verdict.to_json(), manifest.to_json()):
            self._writer.write(row)
            self._tail.append(row)
        self._close()
        self.written += write_outputs(self.settings, self.root, self.cases, self.gates, verdict, self.baseline_diff(),
                                      self.comparison(), fallback=self._fallback, manifest=manifest)  # fmt: skip

    def _junit_fallback(self) -> None:
        """pytest writes --junitxml after this: if its path went bad during the run, send it to a fallback file."""
        from _pytest.junitxml import xml_key

        xml = self.config.stash.get(xml_key, None)
        if xml is not None and (reason := unwritable(Path(xml.logfile))) is not None:
            spare = self._fallback.path_for(Path(xml.logfile))
            self._fallback.messages.append(f"could not write the JUnit XML to {xml.logfile} ({reason}); "
                                           f"it was written to {spare} instead")  # fmt: skip
            xml.logfile = str(spare)

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self.written.append(("results", self._writer.path))
            self._writer = None

    @property
    def case_rows(self) -> list[dict[str, Any]]:
        return [r.row() for r in self.cases]

    @property
    def gate_rows(self) -> list[dict[str, Any]]:
        return [r.row() for r in self.gates]

    def comparison(self) -> dict[str, Any] | None:
        """Side-by-side comparison when the run had several models (computed once)."""
        if not hasattr(self, "_comparison"):
            from llmeval.reporting.outputs import comparison

            self._comparison = comparison(self.cases)
        return self._comparison

    def suite_versions(self) -> dict[str, str]:
        return {r.suite: r.suite_version for r in self.cases if r.suite_version}

    def baseline_diff(self) -> dict[str, Any] | None:
        """The run's baseline comparison, as the core computed it (recomputed without rules under xdist)."""
        if not hasattr(self, "_diff"):
            from llmeval.plugin import result_key, settings_key

            result = self.config.stash.get(result_key, None)
            self._diff = result.baseline_diff if result is not None else None
            baseline = self.config.stash[settings_key][1]
            if self._diff is None and baseline is not None and self.cases:
                from llmeval.gate.baseline import compare_with_baseline

                self._diff = compare_with_baseline(self.case_rows, baseline, suite_versions=self.suite_versions())
                self._diff = self._final.json(self._diff) if self._final is not None else self._diff
        return self._diff

    def verdict(self) -> Verdict:
        if self._verdict is None:
            from llmeval.gate import build_verdict

            self._verdict = build_verdict(self.gates, self.baseline_diff(), run_id=self.settings.run_id, cases=self.case_status)
        return self._verdict

    def manifest(self) -> Any:
        from llmeval.core.manifest import build_manifest
        from llmeval.plugin import evaluation_of

        return build_manifest(evaluation_of(self.config), {r.suite: r.suite_path for r in self.cases})

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.cases and not self.gates:
            self._show_errors(terminalreporter)
            return
        from llmeval.reporting.terminal import summary_lines

        tr = terminalreporter
        tr.section("llmeval summary")
        for line, markup in summary_lines(self.case_rows, self.verdict(), self.baseline_diff()):
            tr.write_line(line, **markup)
        comparison = self.comparison()
        if comparison is not None:
            from llmeval.reporting.compare import format_comparison

            tr.write_line("")
            for line in format_comparison(comparison, markdown=False).splitlines():
                tr.write_line(line)
        for kind, path in self.written:
            tr.write_line(f"llmeval {kind}: {_shown(path, self.root)}")
        self._show_errors(tr)

    def _show_errors(self, tr: Any) -> None:
        for message in self._fallback.messages:
            tr.write_line(f"llmeval: error: {message} (exit status {EXIT_UNWRITABLE})", red=True, bold=True)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """The last lines of the run, after pytest's own summary: the verdict, why, and the exit code it gives."""
        tr = config.pluginmanager.get_plugin("terminalreporter")
        if tr is None or self._verdict is None:
            return
        from llmeval.gate import closing_lines
        from llmeval.reporting.safe import display_line

        verdict, code = self._verdict, int(getattr(self._session, "exitstatus", 0))
        for i, line in enumerate(closing_lines(verdict, width=160, exit_code=code)):
            bad = not verdict.passed or code != 0
            tr.write_line(display_line(line), bold=i == 0, red=bad and i == 0, green=not bad and i == 0)


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def group_means(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (suite, model label): case counts and the mean of every metric."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    values: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        key = (row["suite"], row["model_label"])
        g = groups.setdefault(key, {"rows": 0, "passed": 0, "errors": 0, "model": row["model"]})
        g["rows"] += 1
        g["passed"] += int(bool(row["passed"]))
        g["errors"] += int(bool(row["error"]))
        for name, score in row["scores"].items():
            if score["value"] == score["value"]:  # skip NaN
                values[key][name].append(score["value"])
    for key, g in groups.items():
        g["means"] = {n: sum(v) / len(v) for n, v in sorted(values[key].items()) if v}
    return groups
