"""Similarity scoring on the demo suites' samples: the old per-sample scorer vs batch scoring through the pool.

The samples are every case with a reference in suites/ (outputs from the demo model, generated once through
the plan and cached in .llmeval/). Model load is timed apart from scoring; each way is timed best of --rounds.

Run: HF_HUB_OFFLINE=1 .venv/bin/python bench/scoring_bench.py [--threads 1] [--rounds 3] [--copies 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from llmeval.scorers import Sample, build  # noqa: E402
from llmeval.scorers.batch import score_all  # noqa: E402
from llmeval.scorers.context import default_context  # noqa: E402
from llmeval.scorers.similarity import default_model_path  # noqa: E402


def demo_samples() -> list[Sample]:
    """(output, references) of every demo case with a reference; outputs from the suite's own model."""
    from llmeval.backends import resolve
    from llmeval.engine.cache import Cache
    from llmeval.engine.plan import GenerationPlan
    from llmeval.engine.progress import Progress
    from llmeval.suite import load_suite

    plan = GenerationPlan(Cache(ROOT / ".llmeval"), lambda n: Progress(n, live=False, write_line=print))
    wanted = []
    for path in sorted((ROOT / "suites").glob("*.yaml")):
        suite = load_suite(path)
        backend = resolve(suite.model or "", root=ROOT, threads=1) if suite.model else None
        for case in suite.cases:
            if case.references and backend is not None:
                wanted.append((case, plan.add(backend, case.request(suite.generation, 0))))
    plan.run()
    return [case.sample_for(plan.get(key).text, "") for case, key in wanted]


class OldSimilarity:
    """The scorer before the pool, verbatim in substance: one sample per call, CPU, behind a global lock."""

    def __init__(self) -> None:
        from transformers import AutoModel, AutoTokenizer

        path = default_model_path()
        self.tokenizer, self.model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
        self.lock = threading.Lock()

    def __call__(self, sample: Sample) -> float:
        import torch

        with self.lock, torch.inference_mode():
            batch = self.tokenizer(
                [sample.output, *sample.references], padding=True, truncation=True, max_length=256, return_tensors="pt"
            )
            hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            vectors = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1)
            return float((vectors[1:] @ vectors[0]).max())


def best_of(rounds: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads for both ways (default 1)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--copies", type=int, default=1, help="score the sample set this many times (repeats)")
    args = parser.parse_args()
    import torch
    import transformers  # noqa: F401  (imported before the load timings, so neither way pays for it)

    torch.set_num_threads(args.threads)
    samples = demo_samples() * args.copies
    scorer = build("similarity", {"min": 0.5})
    start = time.perf_counter()
    old = OldSimilarity()
    old_load = time.perf_counter() - start
    ctx = default_context(threads=args.threads)
    start = time.perf_counter()
    ctx.pool.load("embed", default_model_path())
    new_load = time.perf_counter() - start
    old_s, old_values = best_of(args.rounds, lambda: [old(s) for s in samples])
    new_s, new_scores = best_of(args.rounds, lambda: score_all([(scorer, s) for s in samples], ctx))
    diff = max(abs(a - b.value) for a, b in zip(old_values, new_scores, strict=True))
    device = ctx.pool.load("embed", default_model_path()).device
    setup = f"torch threads {args.threads}, pool device {device}, best of {args.rounds}"
    print(f"similarity on {len(samples)} demo samples ({setup})")
    print(f"{'':12}{'load s':>8}{'score s':>9}{'items/s':>9}")
    print(f"{'before':12}{old_load:>8.2f}{old_s:>9.3f}{len(samples) / old_s:>9.1f}")
    print(f"{'after':12}{new_load:>8.2f}{new_s:>9.3f}{len(samples) / new_s:>9.1f}")
    print(f"speed-up x{old_s / new_s:.1f}; max |after - before| = {diff:.2e}")


if __name__ == "__main__":
    main()
