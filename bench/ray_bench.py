"""Ray engine benchmark: `--llmeval-engine ray` (2 actors) vs the local engine on the same 200 prompts, one run.

Local: `HFBackend.generate` in this process (1 and 2 torch threads). Ray: `RayBackend` on a local
`ray.init(num_cpus=2)`, 2 actors of 1 thread each; its wall time includes starting the actors and
loading one model replica in each (a new pool per generate call), reported apart as the time to the
first result. Outputs are compared token for token. Needs Ray: `make ray`.

Run: HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python bench/ray_bench.py [--no-write]
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llmeval.backends import Generation, GenerationConfig, Request, resolve  # noqa: E402

MODEL = ROOT / "fixtures" / "models" / "support-tiny"
RESULTS = ROOT / "bench" / "RESULTS.md"
COMMAND = "HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python bench/ray_bench.py"
LEADS = ("", "Please answer: ", "Quick question: ", "Hi! ")


def prompts(n: int = 200) -> list[Request]:
    with (ROOT / "fixtures" / "data" / "faq.csv").open(encoding="utf-8") as fh:
        questions = [row["question"] for row in csv.DictReader(fh)]
    texts = [f"Q: {lead}{q}\nA:" for lead in LEADS for q in questions][:n]
    return [Request(t, None, GenerationConfig(max_new_tokens=48)) for t in texts]


def timed(backend: Any, requests: list[Request]) -> tuple[float, float, list[Generation]]:
    """(wall s, s to the first result, generations in request order)."""
    out: dict[int, Generation] = {}
    first: list[float] = []
    started = time.perf_counter()

    def on_result(i: int, gen: Generation) -> None:
        if not first:
            first.append(time.perf_counter() - started)
        out[i] = gen

    backend.generate(requests, on_result)
    return time.perf_counter() - started, first[0], [out[i] for i in range(len(requests))]


def local(requests: list[Request], threads: int) -> tuple[float, list[Generation]]:
    import torch

    backend = resolve(f"hf:{MODEL}", root=ROOT, threads=threads)
    backend.load()  # type: ignore[attr-defined]
    wall, _, gens = timed(backend, requests)
    backend.close()
    torch.set_num_threads(1)
    return wall, gens


def on_ray(requests: list[Request]) -> tuple[float, float, list[Generation]]:
    import ray

    from llmeval.engine.ray_engine import RayBackend

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    try:
        backend = RayBackend(resolve(f"hf:{MODEL}", root=ROOT), root=ROOT, options={"threads": 1}, actors=2)
        return timed(backend, requests)
    finally:
        ray.shutdown()


def actor_seconds(gens: list[Generation]) -> dict[str, float]:
    """Generation time per actor: each row's latency is its batch's time over the batch size, so the sum is the batches'."""
    busy: dict[str, float] = {}
    for gen in gens:
        busy[gen.meta["worker"]] = busy.get(gen.meta["worker"], 0.0) + gen.latency_s
    return busy


def same(a: list[Generation], b: list[Generation]) -> int:
    return sum(x.text == y.text and x.completion_tokens == y.completion_tokens and not x.error for x, y in zip(a, b, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    requests = prompts()
    one_s, one = local(requests, 1)
    two_s, two = local(requests, 2)
    ray_s, ray_first_s, on_actors = on_ray(requests)
    busy_s = max(actor_seconds(on_actors).values())
    rows = [
        ("local engine, 1 torch thread", f"{one_s:.2f}", "-", "1.00", f"{same(one, one)}/{len(one)}"),
        ("local engine, 2 torch threads", f"{two_s:.2f}", "-", f"{one_s / two_s:.2f}", f"{same(two, one)}/{len(one)}"),
        (
            "ray engine, 2 actors x 1 thread (start + load + generate)",
            f"{ray_s:.2f}",
            f"{ray_first_s:.2f}",
            f"{one_s / ray_s:.2f}",
            f"{same(on_actors, one)}/{len(one)}",
        ),
        ("ray engine, generation inside the busier actor", f"{busy_s:.2f}", "-", f"{one_s / busy_s:.2f}", "-"),
    ]
    section = render(rows, len(requests))
    print(section)
    if not args.no_write:
        write(section)


def render(rows: list[tuple[str, ...]], n: int) -> str:
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    head = "| engine | wall s | first result s | speed vs local 1 thread | outputs equal to local |\n|---|---|---|---|---|\n"
    table = head + "".join(f"| {' | '.join(r)} |\n" for r in rows)
    return (
        f"<!-- ray:start -->\n## Ray engine\n\nCommand: `{COMMAND}` — run {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{os.cpu_count()} cores, load at end {load}.\n\n"
        f"{n} prompts (the FAQ questions with 4 lead-ins), greedy, 48 new tokens, demo model (fp32, CPU). Wall time of "
        "one `generate` call over all of them; the model is loaded before the local timings, while the Ray time "
        "includes starting 2 actors and loading a replica in each (that is what a run pays: a pool per generate "
        "call). On one 2-core machine Ray cannot win: the same 2 cores do the work, plus actor start-up and "
        "serialisation. It is here for the multi-node path and to show the outputs are the same. *Generation inside the "
        "busier actor*: the summed batch times of the actor that worked longest (what more nodes would divide).\n\n"
        f"{table}<!-- ray:end -->\n"
    )


def write(section: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else "# Benchmark results\n"
    if "<!-- ray:start -->" in text:
        text = re.sub(r"<!-- ray:start -->.*?<!-- ray:end -->\n?", lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
