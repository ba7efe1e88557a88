"""The end of a run, the same for every front end: records in one order, the verdict, the manifest, the files.

`pytest`, `pytest -n N` and `llmeval run` hand `conclude()` what they gathered (the xdist controller gathers it
from its workers' reports) and write with `write_run()`, so the three write byte-identical results files and
HTML for the same inputs (tests/core/test_front_ends_agree.py diffs them).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from llmeval.config import Settings
from llmeval.core.results import TargetKey
from llmeval.records import CaseRecord, GateRecord, Manifest, Verdict
from llmeval.reporting.output_paths import Fallback
from llmeval.reporting.results import row_line


@dataclass(frozen=True)
class Conclusion:
    """A finished run: its records in canonical order, the baseline comparison, the verdict and the manifest."""

    cases: tuple[CaseRecord, ...]
    gates: tuple[GateRecord, ...]
    diff: dict[str, Any] | None
    verdict: Verdict
    manifest: Manifest
    comparison: dict[str, Any] | None

    def rows(self) -> list[dict[str, Any]]:
        """The results file's rows: every case, every gate, then the verdict and the manifest."""
        return [*self.case_rows, *(g.row() for g in self.gates), self.verdict.to_json(), self.manifest.to_json()]

    @cached_property
    def case_rows(self) -> list[dict[str, Any]]:
        """The case records' JSON rows, made once (the results file, the summary and the reports read them)."""
        return [r.row() for r in self.cases]


def case_order(record: CaseRecord) -> tuple[Any, ...]:
    """Suite file, model, the case's place in its file (table rows by line), case id, sample."""
    return (record.suite_path, record.model_label, record.model, record.path, record.line, record.case, record.sample)


def gate_order(record: GateRecord) -> tuple[Any, ...]:
    return (record.suite_path, record.model_label, record.model, record.line, record.gate)


def conclude(
    *,
    settings: Settings,
    root: Path,
    started: str,
    cases: Iterable[CaseRecord],
    gates: Iterable[GateRecord],
    diffs: Mapping[TargetKey, dict[str, Any]],
    models: Mapping[str, str],
    case_status: Mapping[str, str],
    baseline: Any,
    mask: Callable[[Any], Any] = lambda data: data,
) -> Conclusion:
    """The run's conclusion from what its front end gathered (`mask`: the run's redaction of the comparison)."""
    from llmeval.core.gating import merge_diffs
    from llmeval.core.manifest import build_manifest
    from llmeval.gate import build_verdict
    from llmeval.reporting.outputs import comparison

    ordered_cases = tuple(sorted(cases, key=case_order))
    ordered_gates = tuple(sorted(gates, key=gate_order))
    diff = merge_diffs(diffs) if baseline is not None else None
    if diff is not None:
        from llmeval.gate.baseline import gate_changes

        diff["gates"] = gate_changes(ordered_gates, baseline.gates)
        diff = mask(diff)
    status = dict(sorted(case_status.items()))
    verdict = build_verdict(ordered_gates, diff, run_id=settings.run_id, cases=status)
    suites = {r.suite: r.suite_path for r in ordered_cases}
    manifest = build_manifest(settings, root, models, suites, started=started)
    return Conclusion(ordered_cases, ordered_gates, diff, verdict, manifest, comparison(ordered_cases))


def write_run(
    conclusion: Conclusion, settings: Settings, root: Path, fallback: Fallback, *, results: Path, keep_bytes: int = 0
) -> list[tuple[str, Path]]:
    """Every file the run writes: the results file (its first `keep_bytes` kept: what an appended-to file held before
    the run), the baseline, the HTML report and the comparison page. (kind, path) of each, as written."""
    from llmeval.reporting.outputs import write_outputs

    rows = conclusion.rows()
    path, _ = fallback.write("results", results, lambda p: replace_rows(p, rows, keep_bytes if p == results else 0))
    written = [("results", path)]
    return written + write_outputs(
        settings,
        root,
        conclusion.cases,
        conclusion.gates,
        conclusion.verdict,
        conclusion.diff,
        conclusion.comparison,
        fallback=fallback,
        manifest=conclusion.manifest,
    )


def kept_bytes(settings: Settings, root: Path) -> int:
    """What this run keeps of an existing results file: all of it under --append, else nothing."""
    path = settings.results_path(root)
    return path.stat().st_size if settings.append and path.is_file() else 0


def replace_rows(path: Path, rows: Sequence[Mapping[str, Any]], keep_bytes: int) -> None:
    """`path` becomes its first `keep_bytes` bytes and then `rows` (JSON Lines), in one atomic replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = b""
    if keep_bytes and path.exists():
        with path.open("rb") as f:
            kept = f.read(keep_bytes)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(kept)
            for row in rows:
                f.write(row_line(row).encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
