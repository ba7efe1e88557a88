"""``llmeval history [PATH] [--suite S --metric M --model M --last N] [--html OUT]`` prints a run history's trend;
``llmeval history [PATH] accept RUN_ID`` marks a run accepted (a baseline for ``history:last-accepted``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from llmeval.errors import LlmevalError


def add_subcommand(subparsers: Any) -> None:
    p = subparsers.add_parser("history", help="trend of a run history (--llmeval-history); `accept RUN_ID` accepts a run")
    p.add_argument(
        "words",
        nargs="*",
        metavar="[PATH] [accept RUN_ID]",
        help="the history file (default: [tool.llmeval] history, else .llmeval/history.sqlite)",
    )
    p.add_argument("--suite", help="only this suite")
    p.add_argument("--metric", help="only this metric")
    p.add_argument("--model", help="only this model (its label)")
    p.add_argument("--last", type=int, default=20, metavar="N", help="the last N runs (default 20)")
    p.add_argument("--html", type=Path, metavar="OUT", help="also write the trend as one self-contained HTML page")
    p.set_defaults(func=cmd_history)


def _path_and_action(words: list[str]) -> tuple[Path, list[str]]:
    from llmeval.config import Settings, apply, pyproject_table

    if words and words[0] != "accept":
        return Path(words[0]), words[1:]
    settings, root = Settings(), Path.cwd()
    apply(settings, pyproject_table(root), source="[tool.llmeval] in pyproject.toml")
    return settings.history_path(root), words


def cmd_history(args: argparse.Namespace) -> int:
    from llmeval.ops.history import History

    path, action = _path_and_action(list(args.words))
    history = History(path)
    if action:
        if action[0] != "accept" or len(action) != 2:
            raise LlmevalError(f"unknown history action {' '.join(action)!r}; use: llmeval history [PATH] accept RUN_ID")
        entry = history.accept(action[1])
        print(f"accepted run {entry.run_id} ({entry.verdict}) in {path}")
        print("`--llmeval-baseline history:last-accepted` now compares with it")
        return 0
    if args.last < 1:
        raise LlmevalError(f"--last must be at least 1, got {args.last}")
    from llmeval.ops.trend import render_trend_html, trend_lines

    runs = history.runs(args.last)
    points = history.trend(suite=args.suite, metric=args.metric, model=args.model, last=args.last)
    if not points:
        wanted = ", ".join(f"{k} {v}" for k, v in (("suite", args.suite), ("metric", args.metric), ("model", args.model)) if v)
        print(f"{path}: {len(runs)} runs, no aggregates" + (f" for {wanted}" if wanted else ""), file=sys.stderr)
        return 1
    print(f"{path}: the last {len(runs)} runs")
    for line in trend_lines(points, runs):
        print(line)
    if args.html:
        print(f"trend page: {render_trend_html(points, runs, args.html, str(path))}")
    return 0
