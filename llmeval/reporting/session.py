"""The reporter plugin: streams result rows to the results file, then writes the summary, verdict and files."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from llmeval.reporting.redact import redact_row


class Reporter:
    """Registered on the process that sees every report (the xdist controller, or the only process)."""

    def __init__(self, config: pytest.Config, runner: Any) -> None:
        self.config = config
        self.runner = runner
        self.settings = runner.settings
        self.rows: list[dict[str, Any]] = []
        self.results_path = self.settings.results_path(Path(config.rootpath))
        self._writer: Any = None
        self.written: list[tuple[str, Path]] = []

    # -- streaming ----------------------------------------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        rows = getattr(report, "llmeval_rows", None)
        if not rows:
            return
        if self._writer is None:
            from llmeval.reporting.results import ResultsWriter

            self._writer = ResultsWriter(self.results_path)
            self.written.append(("results", self.results_path))
        for row in rows:
            if self.settings.redact_pii:
                row = redact_row(row)
            self._writer.write(row)
            self.rows.append(row)

    # -- end of run ---------------------------------------------------------------------------
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self._writer is not None:
            self._writer.close()
        if not self.rows:
            return
        root = Path(self.config.rootpath)
        if self.settings.save_baseline:
            from llmeval.gate.baseline import save_baseline

            path = root / self.settings.save_baseline
            meta = {"run_id": self.settings.run_id, "suite_versions": self.suite_versions()}
            save_baseline(path, self.case_rows, self.gate_rows, meta=meta)
            self.written.append(("baseline", path))
        if self.settings.html:
            from llmeval.reporting.html import render_html

            path = root / self.settings.html
            render_html(self.rows, path, baseline_diff=self.baseline_diff(), verdict=self.verdict())
            self.written.append(("html", path))
            comparison = self.comparison()
            if comparison is not None:
                from llmeval.reporting.compare import render_compare_html

                side = path.with_name(f"{path.stem}-compare{path.suffix}")
                render_compare_html(comparison, side)
                self.written.append(("model comparison", side))

    def comparison(self) -> dict[str, Any] | None:
        """Side-by-side comparison when the run had several models (computed once)."""
        if not hasattr(self, "_comparison"):
            from llmeval.reporting.compare import compare_runs, split_by_model

            models: dict[str, set[str]] = defaultdict(set)
            for row in self.case_rows:
                models[row["suite"]].add(row["model"])
            # only suites run on several models compare (suites that each have their own model do not)
            shared = [r for r in self.case_rows if len(models[r["suite"]]) > 1]
            runs = split_by_model(shared)
            self._comparison = compare_runs(runs) if len(runs) > 1 else None
        return self._comparison

    @property
    def case_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r.get("kind") == "case"]

    @property
    def gate_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r.get("kind") == "gate"]

    def suite_versions(self) -> dict[str, str]:
        return {s.name: s.version for s in self.runner.selection.suites.values() if s.version}

    def baseline_diff(self) -> dict[str, Any] | None:
        """This run against --llmeval-baseline (computed once; shown in the verdict and the HTML report)."""
        if not hasattr(self, "_diff"):
            self._diff = None
            baseline = self.runner.baseline()
            if baseline is not None and self.case_rows:
                from llmeval.gate.baseline import compare_with_baseline

                rules = [rule for suite in self.runner.selection.suites.values() for rule in suite.regression]
                self._diff = compare_with_baseline(self.case_rows, baseline, rules, suite_versions=self.suite_versions())
        return self._diff

    def verdict(self) -> dict[str, Any]:
        from llmeval.gate import build_verdict

        return build_verdict(self.gate_rows, self.baseline_diff())

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.rows:
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
            tr.write_line(f"llmeval {kind}: {_shown(path, Path(self.config.rootpath))}")


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
