"""`hf:` decoding strategies side by side: the backend as it was (main), static batches (transformers'
generate; grouped by config, padding-limited on CPU, stop strings ending rows), static with finished rows
dropped (the pruning loop), and transformers' continuous batching (paged attention).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/hf_speed_bench.py [--repeats 3] [--threads 1] [--cases 200]

Workloads (200 prompts: FAQ questions and article summaries, so prompt lengths mix):
- demo: fixtures/models/support-tiny, max_new_tokens 48 (rows end at EOS after 5-40 tokens);
- demo-stop: the same with stop string "." (before: decoded to EOS, cut after);
- random: a randomly initialised Qwen2-like model (4 layers, hidden 512; no EOS in practice), each
  prompt's max_new_tokens one of 8/16/32/48.
Strategies run interleaved (one repeat of each in turn), medians reported, speed as a ratio to `before`;
greedy outputs are compared with static's: texts must be equal, and token counts too (except `before`
with stop strings, which counted tokens decoded past the stop).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llmeval.backends import GenerationConfig, Request  # noqa: E402
from llmeval.backends.hf import HFBackend  # noqa: E402
from llmeval.backends.hf_decode import Decoded, Job  # noqa: E402

DEMO = ROOT / "fixtures" / "models" / "support-tiny"
STRATEGIES = ("static", "pruned", "continuous")


class Before(HFBackend):
    """`hf:` as it was (main at 6cd61f2): requests ordered by prompt length only (a change of config closes
    a batch), batches closed by the token budget only, stop strings cut from the text after decoding."""

    pad_ratio = None

    def _order(self, indexes: list[int], encoded: list[list[int]], requests: Sequence[Request]) -> list[int]:
        return sorted(indexes, key=lambda i: -len(encoded[i]))

    def _decode(self, job: Job) -> Decoded:
        return self._decoder.generate(replace(job, config=replace(job.config, stop=())))


def prompts(n: int) -> list[str]:
    sys.path.insert(0, str(ROOT / "bench"))
    from _suites import prompt_for, questions

    docs = [json.loads(line)["document"] for line in (ROOT / "fixtures/data/articles.jsonl").read_text().splitlines()]
    n_docs = min(len(docs), n // 5)
    out = [f"Document: {d}\nSummary:" for d in docs[:n_docs]]
    return [*out, *(prompt_for(q) for q in questions(n - n_docs))]


def random_model(folder: Path) -> Path:
    """A Qwen2-like model of random weights with the demo tokenizer, saved to a folder (no download)."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(DEMO)
    config = Qwen2Config(
        vocab_size=len(tok),
        hidden_size=512,
        intermediate_size=1536,
        num_hidden_layers=4,
        num_attention_heads=8,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
    )
    Qwen2ForCausalLM(config).eval().save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def workloads(n: int, random_path: Path) -> list[tuple[str, Path, list[Request]]]:
    texts = prompts(n)
    plain, stop = GenerationConfig(max_new_tokens=48), GenerationConfig(max_new_tokens=48, stop=(".",))
    mixed = [GenerationConfig(max_new_tokens=m) for m in (8, 16, 32, 48)]
    return [
        ("demo", DEMO, [Request(t, None, plain) for t in texts]),
        ("demo-stop", DEMO, [Request(t, None, stop) for t in texts]),
        ("random", random_path, [Request(t, None, mixed[i % 4]) for i, t in enumerate(texts)]),
    ]


def run_once(backend: HFBackend, requests: list[Request]) -> tuple[float, list[Any]]:
    out: dict[int, Any] = {}
    started = time.perf_counter()
    backend.generate(requests, out.__setitem__)
    elapsed = time.perf_counter() - started
    return elapsed, [out[i] for i in range(len(requests))]


def measure(name: str, model: Path, requests: list[Request], repeats: int, threads: int) -> list[dict[str, Any]]:
    kinds: dict[str, HFBackend] = {"before (main)": Before(str(model), root=ROOT, batching="static", threads=threads)}
    kinds.update({s: HFBackend(str(model), root=ROOT, batching=s, threads=threads) for s in STRATEGIES})
    for backend in kinds.values():
        backend.load()
        run_once(backend, requests[:8])  # warm-up: first-call allocations, the CB manager's imports
    times: dict[str, list[float]] = {k: [] for k in kinds}
    outputs: dict[str, list[Any]] = {}
    for _ in range(repeats):
        for kind, backend in kinds.items():
            elapsed, outputs[kind] = run_once(backend, requests)
            times[kind].append(elapsed)
    base = statistics.median(times["before (main)"])
    reference = outputs["static"]
    rows = []
    for kind in kinds:
        got = outputs[kind]
        same_text = sum(a.text == b.text for a, b in zip(got, reference, strict=True))
        same_count = sum(a.completion_tokens == b.completion_tokens for a, b in zip(got, reference, strict=True))
        errors = sum(g.error is not None for g in got)
        median = statistics.median(times[kind])
        rows.append(
            {
                "workload": name,
                "strategy": kind,
                "median_s": median,
                "vs_before": base / median,
                "times": times[kind],
                "same_text": same_text,
                "same_count": same_count,
                "n": len(got),
                "errors": errors,
                "tokens": sum(g.completion_tokens for g in got),
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| workload | strategy | median s | speed vs before | runs (s) | texts = static | counts = static | "
        "completion tokens | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        runs = " / ".join(f"{t:.2f}" for t in r["times"])
        lines.append(
            f"| {r['workload']} | {r['strategy']} | {r['median_s']:.2f} | {r['vs_before']:.2f}x | {runs} | "
            f"{r['same_text']}/{r['n']} | {r['same_count']}/{r['n']} | {r['tokens']} | {r['errors']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: a shared machine)")
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--only", choices=["demo", "demo-stop", "random"], action="append")
    args = parser.parse_args(argv)
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    from llmeval.engine.threads import busy_elsewhere, choose_threads, usable_cpus

    cpus, busy = usable_cpus(), busy_elsewhere()
    print(
        f"== thread choice now: {cpus} usable cpus, {busy:.2f} busy elsewhere -> default "
        f"{choose_threads(cpus, busy)} torch threads (this run: --threads {args.threads})",
        flush=True,
    )
    work = Path(tempfile.mkdtemp(prefix="hf-speed-"))
    try:
        rows = []
        for name, model, requests in workloads(args.cases, work / "random-qwen2"):
            if args.only and name not in args.only:
                continue
            if name == "random" and not model.exists():
                random_model(model)
            print(f"== {name}: {len(requests)} prompts, {model.name}, torch threads {args.threads}", flush=True)
            rows += measure(name, model, requests, args.repeats, args.threads)
            print(table([r for r in rows if r["workload"] == name]), flush=True)
        device = "cuda" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} torch threads)"
        print(f"\n== all workloads, {device}, {args.repeats} interleaved repeats, medians\n{table(rows)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
