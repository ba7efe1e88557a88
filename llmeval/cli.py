"""The `llmeval` command: schema, scorers, cache, compare, report."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from llmeval.errors import LlmevalError


def _cmd_schema(args: argparse.Namespace) -> int:
    from llmeval.suite.schema import json_schema

    text = json.dumps(json_schema(), indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def _cmd_scorers(args: argparse.Namespace) -> int:
    from llmeval.scorers.base import available, lookup
    from llmeval.scorers.params import listing

    for info in [lookup(name) for name in args.names] or available().values():
        print("\n".join(listing(info)))
    return 0


def _cmd_backends(args: argparse.Namespace) -> int:
    from llmeval.backends import listing

    print("\n".join(listing()))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from llmeval.config import Settings, apply, pyproject_table
    from llmeval.suite import load_suite

    settings, root = Settings(), Path.cwd()
    apply(settings, pyproject_table(root), source="[tool.llmeval] in pyproject.toml")
    status = 0
    for path in args.suites:
        allowed = [*settings.allow_paths, *(args.allow_paths or []), Path(path).parent]
        try:
            suite = load_suite(path, root=root, allow_paths=allowed)
        except LlmevalError as exc:
            print(exc, file=sys.stderr)
            status = 1
        else:
            print(f"{path}: ok, suite '{suite.name}', {len(suite.cases)} cases, {len(suite.gates)} gates")
    return status


def _cmd_cache(args: argparse.Namespace) -> int:
    from llmeval.engine.cache import Cache

    cache = Cache(Path(args.dir), "on")
    if args.action == "clear":
        print(f"removed {cache.clear()} cached outputs from {cache.path}")
    else:
        print(f"{cache.path}: {cache.stats()['entries']} cached outputs")
    cache.close()
    return 0


def _cmd_probes(args: argparse.Namespace) -> int:
    from llmeval.robustness import probes

    paths = [probes.BUILTIN / f"{n}.jsonl" for n in probes.builtin_names()]
    paths += sorted(p for d in args.dir for p in Path(d).glob("*.jsonl"))
    for line in probes.describe(paths):
        print(line)
    return 0


def _cmd_judge_agreement(args: argparse.Namespace) -> int:
    from llmeval.judge.agreement import agreement, read_judged, read_labels

    try:
        labels, with_suite = read_labels(Path(args.labels))
        found = agreement(labels, read_judged(Path(args.results), args.scorer, with_suite))
    except (OSError, ValueError) as exc:
        print(f"llmeval: error: {exc}", file=sys.stderr)
        return 2
    print(found.describe(args.scorer))
    return 0


OTHER_EXIT_CODES = """  (other commands: 0 done, 1 `validate` found an invalid suite file, 2 an input could not be read,
   4 bad usage, 141 the output pipe was closed)"""


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 4, as pytest's and `llmeval run`'s own usage errors do (argparse's default is 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(4, f"{self.prog}: error: {message}\n")


class _Version(argparse.Action):
    """`llmeval --version`: the installed distribution's version (read only when asked)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from llmeval.about import DISTRIBUTION, version

        print(f"llmeval {version()} ({DISTRIBUTION})")
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    from llmeval.cli_run import EXIT_CODES, add_allow_path

    raw = argparse.RawDescriptionHelpFormatter
    about = "LLM evaluation suites for pytest (run suites with `pytest`)."
    epilog = f"{EXIT_CODES.replace('exit codes:', 'exit codes of `llmeval run` (and of pytest):', 1)}\n{OTHER_EXIT_CODES}"
    parser = _Parser(prog="llmeval", description=about, epilog=epilog, formatter_class=raw)
    parser.add_argument("--version", action=_Version, nargs=0, help="print the installed version and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("schema", help="print the JSON Schema of suite files")
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.set_defaults(func=_cmd_schema)
    p = sub.add_parser("scorers", help="list the registered scorers: scale, parameters with their types and defaults")
    p.add_argument("names", nargs="*", metavar="NAME", help="only these scorers")
    p.set_defaults(func=_cmd_scorers)
    p = sub.add_parser("backends", help="list the model spec prefixes and the options each backend takes")
    p.set_defaults(func=_cmd_backends)
    p = sub.add_parser("validate", help="load and check suite files without running them")
    p.add_argument("suites", nargs="+")
    add_allow_path(p)
    p.set_defaults(func=_cmd_validate)
    p = sub.add_parser("cache", help="inspect or clear the generation cache")
    p.add_argument("action", choices=["info", "clear"])
    p.add_argument("--dir", default=".llmeval")
    p.set_defaults(func=_cmd_cache)
    p = sub.add_parser("probes", help="list the prompt-injection and extraction probe files")
    p.add_argument("action", choices=["list"])
    p.add_argument("--dir", action="append", default=[], help="also list the probe files (*.jsonl) in this folder")
    p.set_defaults(func=_cmd_probes)
    p = sub.add_parser("judge-agreement", help="Cohen's kappa and accuracy of a scorer's pass/fail against human labels")
    p.add_argument("labels", help="CSV with case (and optionally suite) and label (pass/fail) columns")
    p.add_argument("results", help="a run's results file (JSON Lines)")
    p.add_argument("--scorer", default="judge", help="the scorer whose verdict is compared (default: judge)")
    p.set_defaults(func=_cmd_judge_agreement)
    from llmeval.cli_report import add_subcommands
    from llmeval.cli_run import add_subcommand

    add_subcommands(sub)
    add_subcommand(sub)
    from llmeval.ops import cli_card, cli_history

    cli_history.add_subcommand(sub)
    cli_card.add_subcommand(sub)
    return parser


BROKEN_PIPE = 141
"""Exit status when the reader of our output went away (`llmeval schema | head`): 128 + SIGPIPE, as a shell reports."""


def main(argv: list[str] | None = None) -> int:
    try:
        status = _main(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader closed the pipe: stop quietly, and keep the interpreter's last flush from complaining.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
    return status


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except LlmevalError as exc:
        print(f"llmeval: error: {exc}", file=sys.stderr)
        return 2
