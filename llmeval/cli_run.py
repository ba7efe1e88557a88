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
from typing import TYPE_CHECKING, Any

from llmeval.errors import LlmevalError

if TYPE_CHECKING:
    from llmeval.core import Evaluation, RunResult, Target

PYTEST_ONLY = frozenset({"junit-properties"})  # `llmeval run` writes its own JUnit file (--junit)


def add_subcommand(subparsers: Any) -> None:
    from llmeval import config as cfg

    p = subparsers.add_parser(
        "run",
        help="evaluate suites on models without writing tests (same records as pytest)",
        description="Evaluate suite files on models: the same core, records, files and verdict as `pytest suites/`. "
        "Every option is also a pytest option (--llmeval-NAME) and a [tool.llmeval] key in pyproject.toml.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("suites", nargs="+", type=Path, help="suite files or folders (searched for suite files)")
    for name, (_, kwargs, help_text) in cfg.OPTIONS.items():
        if name not in PYTEST_ONLY:
            p.add_argument(f"--{name}", dest=name.replace("-", "_"), help=help_text, **kwargs)
    p.add_argument("--junit", type=Path, help="write JUnit XML here (scores as testcase properties)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=cmd_run)


EXIT_CODES = """exit codes:
  0    every case and gate passed (verdict PASS)
  1    a case or gate failed or errored, or a regression (verdict FAIL)
  2    a suite file or a model could not be loaded (the other suites still ran)
  4    bad usage, an unwritable output path included (a file that still fails at the end goes to a fallback file)
  5    nothing to evaluate: no suite file, or no case selected (no evidence is never a pass)
  141  the output pipe was closed (e.g. `| head`)"""


def cmd_run(args: argparse.Namespace) -> int:
    from llmeval import config as cfg
    from llmeval.core import Evaluation

    root = Path.cwd()
    settings = cfg.Settings()
    cfg.apply(settings, cfg.pyproject_table(root), source="[tool.llmeval] in pyproject.toml")
    given = {
        name: value
        for name in cfg.OPTIONS
        if name not in PYTEST_ONLY and (value := getattr(args, name.replace("-", "_"))) is not None
    }
    try:
        cfg.apply(settings, given, source="the command line")
        settings.from_command_line |= {cfg.attribute(name) for name in given}
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
    parser.add_argument(
        "--allow-path",
        dest="allow_paths",
        action="append",
        metavar="DIR",
        help="folder outside the working directory that suites may read tables from (repeatable)",
    )


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


def _run(run: Evaluation, args: argparse.Namespace) -> int:
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


def _report(run: Evaluation, targets: list[Target], result: RunResult, args: argparse.Namespace) -> int:
    from llmeval.core.conclude import conclude, kept_bytes, write_run
    from llmeval.reporting.output_paths import EXIT_UNWRITABLE, Fallback
    from llmeval.reporting.terminal import closing, run_lines

    conclusion = conclude(
        settings=run.settings,
        root=run.root,
        started=run.started,
        cases=result.case_records(),
        gates=result.gates.values(),
        diffs=result.diffs,
        models=result.models,
        case_status=result.case_status({spec: run.label(spec) for spec in {t.spec for t in targets}}),
        baseline=run.baseline,
    )
    fallback = Fallback()
    written = write_run(
        conclusion,
        run.settings,
        run.root,
        fallback,
        results=run.settings.results_path(run.root),
        keep_bytes=kept_bytes(run.settings, run.root),
    )
    if args.junit:
        from llmeval.reporting.junit import write_junit

        tests = _junit_tests(run, targets, result)
        written.append(("junit", fallback.write("JUnit XML", args.junit, lambda p: write_junit(p, tests))[0]))
    for line, _ in run_lines(conclusion, written, run.root):
        print(line)
    for message in fallback.messages:
        print(f"llmeval: error: {message} (exit status {EXIT_UNWRITABLE})", file=sys.stderr)
    code = EXIT_UNWRITABLE if fallback.messages else (0 if conclusion.verdict.passed else 1)
    print("")
    for line, _ in closing(conclusion, code):
        print(line)
    return code


def _junit_tests(run: Evaluation, targets: list[Target], result: RunResult) -> list[Any]:
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
