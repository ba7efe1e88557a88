"""The reporter plugin, on the process that sees every report (the xdist controller, or the only process).

It reads what each report carries — the item's records, the baseline comparisons and model identities of its
suite, and under xdist what the worker's redactor found — streams the records to the results file (so a fault
loses no finished work), puts their scores in JUnit, and at the end concludes the run with
`llmeval.core.conclude`, as `llmeval run` does: the results file rewritten in the canonical order, the verdict,
manifest, baseline, HTML and comparison.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from llmeval import config as cfg
from llmeval.core.manifest import timestamp
from llmeval.errors import LlmevalError
from llmeval.pytest_plugin.keys import CONTEXT, RUN_ID
from llmeval.pytest_plugin.redaction import PAYLOAD
from llmeval.reporting.output_paths import EXIT_UNWRITABLE, Fallback, unwritable

if TYPE_CHECKING:
    from llmeval.core.conclude import Conclusion
    from llmeval.core.redaction import RunRedaction
    from llmeval.records import CaseRecord, GateRecord
    from llmeval.reporting.output_paths import SafeResults


class Reporter:
    def __init__(self, config: pytest.Config, settings: cfg.Settings, baseline: Any) -> None:
        self.config = config
        self.settings = settings
        self.baseline = baseline
        self.root = Path(config.rootpath)
        self.started = timestamp()
        self.cases: list[CaseRecord] = []
        self.gates: list[GateRecord] = []
        self.diffs: dict[tuple[str, str], dict[str, Any]] = {}
        self.models: dict[str, str] = {}
        self.case_status: dict[str, str] = {}  # "suite::case [model]" -> passed / failed / error
        self.results_path = settings.results_path(self.root)
        self.written: list[tuple[str, Path]] = []
        self.conclusion: Conclusion | None = None
        self._writer: SafeResults | None = None
        self._kept = 0  # bytes an appended-to results file held before this run
        self._fallback = Fallback()
        self._properties: dict[str, list[tuple[str, object]]] = {}
        self._session: pytest.Session | None = None
        self._final: RunRedaction | None = None  # under xdist: the run's redaction, decided here over every worker's findings
        self._pending: list[Any] = []  # under xdist: records held until the run's redaction is known
        if settings.redact_pii and cfg.is_xdist_controller(config):  # every worker knows every key; PII differs
            from llmeval.core.redaction import RunRedaction

            self._final = RunRedaction(settings.redact_pii)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """Each xdist worker records this run's id, not one of its own."""
        node.workerinput[RUN_ID] = self.settings.run_id

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """Under xdist, once a worker collected suites: the results file must be writable before any item runs."""
        from llmeval.suite import is_suite_file

        files = {nodeid.partition("::")[0] for nodeid in ids}
        if any(f.endswith((".yaml", ".yml")) and is_suite_file(self.root / f) for f in files):
            from llmeval.pytest_plugin.run import check_outputs

            try:
                check_outputs(self.config, self.settings, results=True)
            except LlmevalError as exc:
                raise pytest.UsageError(str(exc)) from None

    # -- streaming ----------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self._final is not None and hasattr(report, PAYLOAD):
            self._final.learn(getattr(report, PAYLOAD))
            delattr(report, PAYLOAD)
        if hasattr(report, CONTEXT):
            context = getattr(report, CONTEXT)
            self.diffs.update({(path, spec): diff for path, spec, diff in context["diffs"]})
            self.models.update(context["models"])
            delattr(report, CONTEXT)
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
            from llmeval.core.conclude import kept_bytes
            from llmeval.reporting.output_paths import SafeResults

            append = self.settings.append and self.results_path.is_file()
            self._kept = kept_bytes(self.settings, self.root)
            self._writer = SafeResults(self.results_path, "append" if append else "overwrite", self._fallback, self._rows_so_far)
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
        return [r.row() for r in (*self.cases, *self.gates)]

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

    def _redact_run(self, final: RunRedaction) -> None:
        """Under xdist: mask every record, JUnit entry and failure text with all workers' values, then write rows."""
        from llmeval.pytest_plugin.redaction import mask_shown

        mask_shown(final, self.config)
        if self._pending:
            self._write(final.records(self._pending))
        self._pending = []

    # -- end of run ---------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)  # before pytest's JUnit writer
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._session = session
        if self._final is not None:
            self._redact_run(self._final)
        if self._writer is not None:
            self._writer.close()
            self._conclude(self._writer.path)
        self._junit_fallback()
        if self._fallback.messages:
            session.exitstatus = EXIT_UNWRITABLE

    def _conclude(self, streamed: Path) -> None:
        """The run's conclusion, as `llmeval run` makes it; the streamed results file is rewritten in its order."""
        from llmeval.core.conclude import conclude, write_run

        final = self._final
        self.conclusion = conclude(
            settings=self.settings,
            root=self.root,
            started=self.started,
            cases=self.cases,
            gates=self.gates,
            diffs=self.diffs,
            models=self.models,
            case_status=self.case_status,
            baseline=self.baseline,
            mask=final.json if final is not None else lambda data: data,
        )
        kept = self._kept if streamed == self.results_path else 0
        self.written += write_run(self.conclusion, self.settings, self.root, self._fallback, results=streamed, keep_bytes=kept)

    def _junit_fallback(self) -> None:
        """pytest writes --junitxml after this: if its path went bad during the run, send it to a fallback file."""
        from _pytest.junitxml import xml_key

        xml = self.config.stash.get(xml_key, None)
        if xml is not None and (reason := unwritable(Path(xml.logfile))) is not None:
            spare = self._fallback.path_for(Path(xml.logfile))
            self._fallback.messages.append(
                f"could not write the JUnit XML to {xml.logfile} ({reason}); it was written to {spare} instead"
            )
            xml.logfile = str(spare)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        tr = terminalreporter
        if self.conclusion is not None:
            from llmeval.reporting.terminal import run_lines

            tr.section("llmeval summary")
            for line, markup in run_lines(self.conclusion, self.written, self.root):
                tr.write_line(line, **markup)
        for message in self._fallback.messages:
            tr.write_line(f"llmeval: error: {message} (exit status {EXIT_UNWRITABLE})", red=True, bold=True)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """The last lines of the run, after pytest's own summary: the verdict, why, and the exit code it gives."""
        tr = config.pluginmanager.get_plugin("terminalreporter")
        if tr is None or self.conclusion is None:
            return
        from llmeval.reporting.terminal import closing

        for line, markup in closing(self.conclusion, int(getattr(self._session, "exitstatus", 0))):
            tr.write_line(line, **markup)
