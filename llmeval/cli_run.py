"""``llmeval run``: evaluate suites on models without pytest — the same core, records and exit codes.

Exit status as pytest's: 0 every case and gate passed, 1 a case or gate failed or errored, 2 a suite
file or a model could not be loaded (the other suites still run), 4 bad usage, an unwritable output path
included (checked before any model loads; a write that still fails at the end goes to a fallback file),
5 nothing to evaluate (no suite file, or no case selected: no evidence is never a pass).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from llmeval.errors import LlmevalError

FLAGS = {"results": "results", "html": "html", "baseline": "baseline", "save_baseline": "save-baseline", "cache": "cache",
         "cache_dir": "cache-dir", "repeat": "repeat", "batch_size": "batch-size", "concurrency": "concurrency",
         "threads": "threads", "batching": "batching", "timeout": "timeout", "retries": "retries", "deadline": "deadline",
         "token_budget": "token-budget", "balance": "balance", "rpm": "rpm", "tpm": "tpm",
         "engine": "engine", "ray_address": "ray-address", "ray_actors": "ray-actors",
         "history": "history", "mlflow": "mlflow", "prometheus": "prometheus", "pushgateway": "pushgateway",
         "cost_per_1k": "cost-per-1k"}  # fmt: skip


def add_subcommand(subparsers: Any) -> None:
    p = subparsers.add_parser("run", help="evaluate suites on models without writing tests (same records as pytest)")
    p.add_argument("suites", nargs="+", type=Path, help="suite files or folders (searched for suite files)")
    p.add_argument("--model", action="append", default=[], metavar="SPEC", help="model spec (repeatable)")
    for dest, flag in FLAGS.items():
        p.add_argument(f"--{flag}", dest=dest, metavar=dest.upper())
    p.add_argument("--append", action="store_true", default=None, help="append to an existing --results file")
    p.add_argument("--redact-pii", action="store_true", default=None, help="mask detected PII in every output")
    p.add_argument("--allow-host", dest="allow_hosts", action="append", metavar="HOST", help="host that may get the API key")
    p.add_argument("--api-key-env", action="append", metavar="[HOST=]NAME", help="environment variable with the API key")
    add_allow_path(p)
    p.add_argument("--model-id", dest="model_ids", action="append", metavar="NAME=ID", help="declare a served model's id")
    p.add_argument(
        "--vllm-arg",
        dest="vllm_args",
        action="append",
        metavar="NAME=VALUE",
        help="vLLM engine argument for vllm: models (repeatable), e.g. dtype=float32",
    )
    p.add_argument("--junit", type=Path, help="write JUnit XML here (scores as testcase properties)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from llmeval import config as cfg
    from llmeval.core import Evaluation

    root = Path.cwd()
    settings = cfg.Settings()
    cfg.apply(settings, cfg.pyproject_table(root), source="[tool.llmeval] in pyproject.toml")
    names = (*FLAGS, "append", "redact_pii", "allow_hosts", "allow_paths", "api_key_env", "model_ids", "vllm_args")
    given = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if args.model:
        given["models"] = args.model
    try:
        cfg.apply(settings, given, source="the command line")
        settings.from_command_line |= set(given)
        _check_outputs(settings, root, args)
        run = Evaluation(settings, root, write_line=_printer(args.quiet))
    except LlmevalError as exc:
        print(f"llmeval: error: {exc}", file=sys.stderr)
        return 4
    try:
        return _run(run, args)
    finally:
        run.close()


def add_allow_path(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-path", dest="allow_paths", action="append", metavar="DIR",
                        help="folder outside the working directory that suites may read tables from (repeatable)")  # fmt: skip


def load_suites(paths: list[Path], root: Path, allow_paths: list[str]) -> tuple[list[Any], list[str]]:
    """Every suite file under the given paths, loaded inside `root`, the folders given and `allow_paths`."""
    given = [p if p.is_dir() else p.parent for p in paths]
    return _load_suites(paths, root, [*allow_paths, *given])


def _check_outputs(settings: Any, root: Path, args: argparse.Namespace) -> None:
    """Every file the run writes must be writable before any model loads (a usage error, exit 4, otherwise)."""
    from llmeval.reporting.output_paths import check_outputs, settings_outputs

    junit = [("--junit", root / args.junit)] if args.junit else []
    check_outputs([*settings_outputs(settings, root, lambda name: f"--{name}", results=True), *junit])


def _printer(quiet: bool) -> Any:
    def write(line: str) -> None:
        if not quiet:
            print(line, file=sys.stderr)

    return write


def _run(run: Any, args: argparse.Namespace) -> int:
    from llmeval.core import Target

    suites, broken = load_suites(args.suites, run.root, run.settings.allow_paths)
    targets = []
    for suite in suites:
        specs = run.models_for(suite)
        if not specs:
            broken.append(f"{suite.path}:1: no model to run: the suite has no 'model:' and no --model was given")
        for spec in specs:
            try:
                run.label(spec)
            except LlmevalError as exc:
                broken.append(f"{suite.path}:{suite.model_line}: {exc}")
                continue
            targets.append(Target(suite, spec, tuple(suite.cases)))
    for message in broken:
        print(f"ERROR {message}", file=sys.stderr)
    if not any(t.cases for t in targets):
        return _nothing_to_evaluate(suites, args.suites, broken)
    result = run.evaluate(targets)
    status = _report(run, targets, result, args)
    return 2 if broken else status


def _nothing_to_evaluate(suites: list[Any], paths: list[Path], broken: list[str]) -> int:
    """No case to run is no evidence, never a pass: exit 2 when suites or models failed to load, else 5 (as pytest's)."""
    where = ", ".join(str(p) for p in paths)
    if broken:
        found, fix, code = "the errors above left no suite to run", "fix them", 2
    elif suites:
        found, fix, code = f"the suites under {where} select no case", "add cases to them", 5
    else:
        found, fix, code = f"no suite file under {where}", "point llmeval run at suite files (YAML with a 'suite:' key)", 5
    print(f"llmeval: error: nothing to evaluate: {found}; no verdict (exit {code}): {fix}", file=sys.stderr)
    return code


def _load_suites(paths: list[Path], root: Path, allowed: list[Any]) -> tuple[list[Any], list[str]]:
    """Every suite file under the given paths, loaded; broken ones become messages (file:line)."""
    from llmeval.suite import is_suite_file, load_suite

    files: list[Path] = []
    broken: list[str] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and is_suite_file(p))
        elif path.is_file():
            files.append(path)
        else:
            broken.append(f"{path}: no such file or folder")
    suites: list[Any] = []
    names: dict[str, Path] = {}
    for file in files:
        try:
            suite = load_suite(file, root=root, allow_paths=allowed)
        except LlmevalError as exc:
            broken.append(str(exc))
            continue
        if names.setdefault(suite.name, file) != file:
            broken.append(
                f"{file}:1: suite name '{suite.name}' is already used by {names[suite.name]}; give each suite its own name"
            )
            continue
        suites.append(suite)
    return suites, broken


def _report(run: Any, targets: list[Any], result: Any, args: argparse.Namespace) -> int:
    from llmeval.gate import build_verdict, closing_lines
    from llmeval.reporting.output_paths import EXIT_UNWRITABLE, Fallback
    from llmeval.reporting.outputs import comparison
    from llmeval.reporting.safe import display_line
    from llmeval.reporting.terminal import summary_lines

    cases, gates = result.case_records(), list(result.gates.values())
    verdict = build_verdict(gates, result.baseline_diff, run_id=run.settings.run_id, cases=_case_statuses(run, result))
    compared, fallback = comparison(cases), Fallback()
    written = _write_files(run, targets, result, args, verdict, compared, fallback)
    for line, _ in summary_lines([r.row() for r in cases], verdict, result.baseline_diff):
        print(line)
    if compared is not None:
        from llmeval.reporting.compare import format_comparison

        print(format_comparison(compared, markdown=False))
    for kind, file in written:
        print(f"llmeval {kind}: {run.rel(str(file))}")
    for message in fallback.messages:
        print(f"llmeval: error: {message} (exit status {EXIT_UNWRITABLE})", file=sys.stderr)
    code = EXIT_UNWRITABLE if fallback.messages else (0 if verdict.passed else 1)
    print("")
    for line in closing_lines(verdict, width=160, exit_code=code):
        print(display_line(line))
    return code


def _case_statuses(run: Any, result: Any) -> dict[str, str]:
    """Each case result ("suite::case [model]") -> its status over its samples, for the verdict."""
    out = {}
    for (_, case, spec), outcome in result.cases.items():
        suite = outcome.records[0].suite if outcome.records else ""
        out[f"{suite}::{case} [{run.label(spec)}]"] = outcome.status
    return out


def _write_files(run: Any, targets: list[Any], result: Any, args: argparse.Namespace, verdict: Any, compared: Any,
                 fallback: Any) -> list[tuple[str, Path]]:  # fmt: skip
    """Results, JUnit, baseline and HTML; a file that cannot be written goes to `fallback` (its message says where)."""
    from llmeval.core.manifest import build_manifest
    from llmeval.reporting.outputs import write_outputs

    cases, gates = result.case_records(), list(result.gates.values())
    manifest = build_manifest(run, {r.suite: r.suite_path for r in cases})
    rows = [r.row() for r in (*cases, *gates)] + [verdict.to_json(), manifest.to_json()]
    mode = "append" if run.settings.append else "overwrite"
    path, _ = fallback.write("results", run.settings.results_path(run.root), lambda p: _rows(p, rows, mode))
    written = [("results", path)]
    if args.junit:
        from llmeval.reporting.junit import write_junit

        tests = _junit_tests(run, targets, result)
        written.append(("junit", fallback.write("JUnit XML", args.junit, lambda p: write_junit(p, tests))[0]))
    return written + write_outputs(run.settings, run.root, cases, gates, verdict, result.baseline_diff, compared,
                                   fallback=fallback, manifest=manifest)  # fmt: skip


def _rows(path: Path, rows: list[dict[str, Any]], mode: Any) -> None:
    from llmeval.reporting.results import ResultsWriter

    with ResultsWriter(path, mode=mode) as writer:
        for row in rows:
            writer.write(row)


def _junit_tests(run: Any, targets: list[Any], result: Any) -> list[Any]:
    from llmeval.reporting.failure import describe_case_failure, describe_gate_failure
    from llmeval.reporting.junit import JUnitTest, properties_of

    tests = []
    for t in targets:
        rel, label = run.rel(t.suite.path), run.label(t.spec)
        classname = rel.replace("/", ".")
        for case in t.cases:
            outcome = result.cases[(t.suite.path, case.id, t.spec)]
            kind = {"passed": "passed", "failed": "failure", "error": "error"}[outcome.status]
            item = SimpleNamespace(case=case, spec=t.spec)
            message = describe_case_failure(item, outcome, run) if kind == "failure" else (outcome.error or "")
            tests.append(
                JUnitTest(classname, f"{case.id}[{label}]", rel, case.line, kind, message, properties_of(outcome.records))
            )
        for gate in t.suite.gates:
            record = result.gates[(t.suite.path, gate.name, t.spec)]
            kind = {"passed": "passed", "skipped": "skipped", "error": "error"}.get(record.status, "failure")
            item = SimpleNamespace(suite=t.suite, gate=gate, spec=t.spec)
            message = describe_gate_failure(item, record, run) if kind == "failure" else record.message
            tests.append(
                JUnitTest(classname, f"gate:{gate.name}[{label}]", rel, gate.line, kind, message, properties_of([record]))
            )
    return tests
