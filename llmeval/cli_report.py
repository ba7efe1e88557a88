"""The ``llmeval compare`` and ``llmeval report`` subcommands (added to the main CLI's parser)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from llmeval.errors import LlmevalError


def add_subcommands(subparsers: Any) -> None:
    """Add ``compare`` and ``report`` to an argparse subparsers object; each sets ``func``."""
    compare = subparsers.add_parser(
        "compare",
        help="compare the models of one or more results files",
        description="Means with intervals, paired deltas, win/tie/loss and the cases that differ most. "
        "Each run is named by its model (module-qualified when two share a function or folder name), or by --label. "
        'p is a two-sided paired sign-flip test of "mean delta = 0" over the shared cases: with n pairs it cannot '
        "fall below 2/2^n (0.5 at n = 2).",
    )
    compare.add_argument("results", nargs="+", type=Path, help="results files (JSON Lines)")
    compare.add_argument("--html", type=Path, help="write the comparison as one HTML file")
    label_help = "name each results file's runs: one per file, in order (default: the model's name; several models: NAME:model)"
    compare.add_argument("--label", action="append", default=[], metavar="NAME", help=label_help)
    compare.add_argument("--format", choices=("text", "markdown"), default="text", help="terminal output format")
    compare.set_defaults(func=cmd_compare)
    report = subparsers.add_parser("report", help="export a results file and render its HTML report")
    report.add_argument("results", type=Path, help="a results file (JSON Lines)")
    report.add_argument("--csv", type=Path, help="write the case rows as CSV")
    report.add_argument("--parquet", type=Path, help="write the case rows as Parquet")
    report.add_argument("--html", type=Path, help="write the HTML report")
    report.add_argument("--title", default="llmeval report", help="the HTML report's title")
    report.set_defaults(func=cmd_report)


def labelled_runs(paths: Sequence[Path], labels: Sequence[str]) -> dict[str, list[Mapping[str, Any]]]:
    """Label -> case rows: one run per model per file, named by --label, model label, or file."""
    from llmeval.core.labels import qualified
    from llmeval.records import read_results
    from llmeval.reporting.compare import split_by_model

    if labels and len(labels) != len(paths):
        raise LlmevalError(f"got {len(labels)} --label for {len(paths)} results files; give one per file or none")
    found = []  # (file index, label, rows)
    for i, path in enumerate(paths):
        per_model = split_by_model(read_results(path).rows())
        if not per_model:
            raise LlmevalError(f"{path} holds no case results")
        for model, rows in per_model.items():
            label = labels[i] if labels else model
            if labels and len(per_model) > 1:
                label = f"{labels[i]}:{model}"
            found.append((i, label, rows))
    runs: dict[str, list[Mapping[str, Any]]] = {}
    for i, label, rows in found:
        clash = [j for j, other, _ in found if other == label and j != i]
        if clash and not labels:  # the same model name in several files: name each by its file (`v1/results.jsonl`)
            label = f"{label} ({qualified(str(paths[i]), [str(paths[j]) for j in clash])})"
        if label in runs:
            raise LlmevalError(f"two runs are both named '{label}': give each results file a --label")
        runs[label] = rows
    if len(runs) < 2:
        raise LlmevalError("nothing to compare: the results hold one model; pass two files or a run with two models")
    return runs


def cmd_compare(args: argparse.Namespace) -> int:
    """Print the comparison of the given results files; optionally write it as HTML."""
    from llmeval.reporting.compare import compare_runs, format_comparison, render_compare_html

    try:
        comparison = compare_runs(labelled_runs(args.results, args.label))
    except LlmevalError as exc:
        print(f"llmeval compare: error: {exc}", file=sys.stderr)
        return 2
    print(format_comparison(comparison, markdown=args.format == "markdown"))
    from llmeval.ops.comparability import results_differences

    for line in results_differences(args.results):  # README "In production": comparability
        print(f"llmeval compare: {line}", file=sys.stderr)
    if args.html:
        print(f"comparison written to {render_compare_html(comparison, args.html)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Export a results file (CSV/Parquet), render its HTML report and print its verdict."""
    from llmeval.gate.verdict import build_verdict, format_verdict
    from llmeval.records import read_results
    from llmeval.reporting.html import render_html
    from llmeval.reporting.results import export

    try:
        results = read_results(args.results)
    except LlmevalError as exc:
        print(f"llmeval report: error: {exc}", file=sys.stderr)
        return 2
    rows = results.rows()
    verdict = results.verdict or build_verdict(results.gates)
    for path in export(rows, csv=args.csv, parquet=args.parquet):
        print(f"exported {path}")
    if args.html:
        print(f"report written to {render_html(rows, args.html, title=args.title, verdict=verdict)}")
    if verdict.total:
        print(format_verdict(verdict))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``compare`` or ``report`` on their own (the main ``llmeval`` CLI adds them too)."""
    parser = argparse.ArgumentParser(prog="llmeval")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))
