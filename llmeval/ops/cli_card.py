"""``llmeval card RESULTS... [--out MODEL_CARD.md]``: the evaluation part of a model card from results files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_subcommand(subparsers: Any) -> None:
    p = subparsers.add_parser("card", help="write the evaluation part of a model card (Markdown) from results files")
    p.add_argument("results", nargs="+", type=Path, help="results files (JSON Lines) of the runs to describe")
    p.add_argument("--out", type=Path, help="write the card here (default: print it)")
    p.add_argument("--title", default="Evaluation", help="the section's title (default: Evaluation)")
    p.add_argument("--cost-per-1k", type=float, metavar="PRICE", help="price of 1,000 tokens: adds the cost")
    p.set_defaults(func=cmd_card)


def cmd_card(args: argparse.Namespace) -> int:
    from llmeval.ops.card import card_markdown
    from llmeval.records import read_results

    text = card_markdown([read_results(p) for p in args.results], cost_per_1k=args.cost_per_1k, title=args.title)
    if args.out is None:
        print(text, end="")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"model card (evaluation) written to {args.out}")
    return 0
