"""llmeval on vLLM vs vLLM alone, side by side in one run (issue 12, item 6), on the demo model in fp32.

(a) `vllm:` through llmeval's plan (Evaluation: plan, generation, scoring, records) vs the same engine's own
`LLM.generate` on the same prompts (target >= 0.95x); (b) `openai:` against vLLM's OpenAI server vs a bare
httpx/asyncio client at the same concurrency (target >= 0.9x). Engine start is timed apart. Each pair runs
`--rounds` times alternating; the median is reported. Needs vLLM: run with .venv-vllm (make bench-vllm).

Run: make bench-vllm   (= .venv-vllm/bin/python bench/vllm_bench.py [--cases 200] [--rounds 3] [--concurrency 16])
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

import _suites  # noqa: E402

from tests._servers import free_port, stop, wait_healthy  # noqa: E402

DEMO_MODEL = ROOT / "fixtures" / "models" / "support-tiny"
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


def llmeval_run(work: Path, spec: str, cases: int, concurrency: int) -> tuple[Any, Callable[[], list[str]]]:
    """An Evaluation (cache off, so every round generates) and a call that runs the bench suite through it."""
    from llmeval.config import Settings
    from llmeval.core import Evaluation, Target
    from llmeval.suite import load_suite

    suite = load_suite(_suites.write_suite(work, cases, spec, max_new_tokens=MAX_NEW_TOKENS, name="vllm-bench"))
    settings = Settings(cache="off", concurrency=concurrency, vllm_args=["dtype=float32"], cache_dir=str(work / "cache"))
    run = Evaluation(settings, work)

    def go() -> list[str]:
        records = run.evaluate([Target(suite, spec, tuple(suite.cases))]).case_records()
        errors = [r.error for r in records if r.error]
        assert not errors, errors[:3]
        return [r.output for r in sorted(records, key=lambda r: r.case)]

    return run, go


def offline(work: Path, cases: int, rounds: int) -> dict[str, float]:
    from vllm import SamplingParams

    prompts = [_suites.prompt_for(q) for q in _suites.questions(cases)]
    run, through_llmeval = llmeval_run(work / "offline", f"vllm:{DEMO_MODEL}", cases, 8)
    backend = run.backend(f"vllm:{DEMO_MODEL}")
    load_s, _ = timed(backend.load)
    llm = backend._llm  # the same engine: both sides run warm on one engine, nothing but llmeval differs
    params = SamplingParams(temperature=0.0, max_tokens=MAX_NEW_TOKENS)

    def bare() -> list[str]:
        return [o.outputs[0].text.strip() for o in llm.generate(prompts, params, use_tqdm=False)]

    through_llmeval()  # warm-up: first-step allocations on both paths
    ours, theirs, mine, native = median_pair(through_llmeval, bare, rounds)
    same = sum(a == b for a, b in zip(mine, native, strict=True))
    run.close()
    return {"load_s": load_s, "llmeval_s": ours, "vllm_s": theirs, "same": same}


def start_server(work: Path) -> tuple[subprocess.Popen, str]:
    """vLLM's OpenAI server on the demo model in fp32, on a free loopback port."""
    port = free_port()
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(DEMO_MODEL), "--host", "127.0.0.1",
               "--port", str(port), "--dtype", "float32", "--enforce-eager", "--gpu-memory-utilization", "0.1"]  # fmt: skip
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
        run, through_llmeval = llmeval_run(work / "served", f"openai:{url}/v1#{DEMO_MODEL}", cases, concurrency)
        through_llmeval()  # warm-up
        bare_client = lambda: asyncio.run(_bare_client(url, prompts, concurrency))  # noqa: E731
        ours, theirs, mine, bare = median_pair(through_llmeval, bare_client, rounds)
        run.close()
        return {"llmeval_s": ours, "bare_s": theirs, "same": sum(a == b for a, b in zip(mine, bare, strict=True))}
    finally:
        stop(process, grace_s=30)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--cases", type=int, default=200)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--concurrency", type=int, default=16)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    with tempfile.TemporaryDirectory(prefix="llmeval-vllm-bench-") as tmp:
        work = Path(tmp)
        log(f"offline engine: {args.cases} prompts x {MAX_NEW_TOKENS} tokens, fp32 greedy, {args.rounds} rounds")
        off = offline(work, args.cases, args.rounds)
        log(f"OpenAI server: same prompts at concurrency {args.concurrency}")
        srv = served(work, args.cases, args.rounds, args.concurrency)
    n = args.cases
    print(f"\nengine start (vllm:, enforce_eager): {off['load_s']:.1f} s")
    print(f"vllm: through llmeval's plan  {off['llmeval_s']:.2f} s | vLLM LLM.generate {off['vllm_s']:.2f} s | "
          f"speed ratio {off['vllm_s'] / off['llmeval_s']:.2f}x (target >= 0.95) | same text {off['same']:.0f}/{n}")  # fmt: skip
    print(f"openai: through llmeval      {srv['llmeval_s']:.2f} s | bare httpx client  {srv['bare_s']:.2f} s | "
          f"speed ratio {srv['bare_s'] / srv['llmeval_s']:.2f}x (target >= 0.9) | same text {srv['same']:.0f}/{n}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
