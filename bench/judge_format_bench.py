"""Judge output formats on an `hf:` judge: parse rate and decoding speed, constrained vs free, side by side.

The judge is the demo model (a support bot, not a judge: free, it answers in prose), rating the FAQ answers
with the `judge` scorer's rating prompt and verdict schema. Both ways run the same prompts through the hf:
backend in one process, in one batch; the first constrained batch (tokenizer read, schema compiled) is timed
apart. The cost of the mask is the time per decoding step of the whole batch (free rows stop early, so
whole-run times are not comparable).

Run: HF_HUB_OFFLINE=1 .venv/bin/python bench/judge_format_bench.py [--threads 1] [--prompts 32] [--rounds 2]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from llmeval.backends import GenerationConfig, Request, resolve  # noqa: E402
from llmeval.judge.parse import rating, rating_format  # noqa: E402
from llmeval.scorers.judge import RATE_PROMPT  # noqa: E402

DEMO_MODEL = ROOT / "fixtures" / "models" / "support-tiny"


def prompts(count: int) -> list[str]:
    with (ROOT / "fixtures" / "data" / "faq.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows = (rows * (count // len(rows) + 1))[:count]
    return [
        RATE_PROMPT.format(
            criteria="correctness", rubric="", prompt=r["question"], output=r["answer"], low=1, high=5, reference=""
        )
        for r in rows
    ]


def run(backend: Any, texts: list[str], constrained: bool, max_new_tokens: int = 256) -> dict[str, float]:
    config = GenerationConfig(max_new_tokens=max_new_tokens, output_format=rating_format(1, 5) if constrained else None)
    out: dict[int, Any] = {}
    started = time.perf_counter()
    backend.generate([Request(t, None, config) for t in texts], lambda i, g: out.__setitem__(i, g))
    wall = time.perf_counter() - started
    gens = [out[i] for i in range(len(texts))]
    parsed = 0
    for gen in gens:
        try:
            rating(gen.text, 1, 5)
            parsed += 1
        except ValueError:
            pass
    steps = max(g.completion_tokens for g in gens)  # one batch: it decodes until its longest row ends
    return {"wall_s": wall, "parsed": parsed / len(gens), "steps": steps, "ms_per_step": 1000 * wall / steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="best of N per way")
    args = parser.parse_args()
    backend = resolve(f"hf:{DEMO_MODEL}", root=ROOT, threads=args.threads)
    backend.load()
    texts = prompts(args.prompts)
    started = time.perf_counter()
    run(backend, texts[:1], constrained=True)  # reads the tokenizer and compiles the schema
    first = time.perf_counter() - started
    best: dict[bool, dict[str, float]] = {}
    for _ in range(args.rounds):
        for constrained in (False, True):
            result = run(backend, texts, constrained)
            if constrained not in best or result["wall_s"] < best[constrained]["wall_s"]:
                best[constrained] = result
    free, held = best[False], best[True]
    print(f"hf:{DEMO_MODEL.name} as judge, {len(texts)} rating prompts, {args.threads} thread(s), best of {args.rounds}")
    print(f"first constrained request (tokenizer info + schema compile + 1 generation): {first:.2f} s")
    print("| way | parseable | wall | decoding steps (longest row) | ms per step (whole batch) |")
    print("|---|---|---|---|---|")
    for name, r in (("free", free), ("constrained (xgrammar)", held)):
        print(f"| {name} | {r['parsed']:.0%} | {r['wall_s']:.2f} s | {r['steps']:.0f} | {r['ms_per_step']:.1f} |")
    print(f"ms per decoding step, constrained / free: {held['ms_per_step'] / free['ms_per_step']:.2f}")


if __name__ == "__main__":
    main()
