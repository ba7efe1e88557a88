"""The benchmark's measurements: naive per-case loop, llmeval's plan in-process and under pytest, start-up, collection."""

from __future__ import annotations

import os
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"llmeval: (\d+) outputs \((\d+) from cache, (\d+) generated[^)]*\) in ([\d.]+) s")
LOAD = re.compile(r"\(model load ([\d.]+) s\)")  # printed by the plugin's summary line
COLLECTED = re.compile(r"(\d+) tests? collected in ([\d.]+)s")


def env(bytecode: bool = True) -> dict[str, str]:
    """The subprocess environment: offline, quiet, no tokenizer thread pools, and a bytecode cache.

    The bytecode (and pytest's assertion-rewrite) cache goes to $LLMEVAL_BENCH_PYCACHE when set, as an
    ordinary install would keep it; `bytecode=False` keeps PYTHONDONTWRITEBYTECODE as the caller had it.
    """
    out = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TOKENIZERS_PARALLELISM": "false"}
    # measure this checkout's llmeval, not whichever one the environment installed
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    prefix = os.environ.get("LLMEVAL_BENCH_PYCACHE")
    if bytecode and prefix:
        out.pop("PYTHONDONTWRITEBYTECODE", None)
        out["PYTHONPYCACHEPREFIX"] = prefix
    return out


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _quiet() -> None:
    """No "Loading weights" progress bars in the benchmark's output."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def naive_loop(
    model_path: Path, prompts: list[str], max_new_tokens: int, device: str = "cpu", tick: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """What a pytest test per case does: load once, then per case tokenize, `generate` (greedy), decode."""
    started = time.perf_counter()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _quiet()
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    tok = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype).to(device).eval()
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    eos = model.generation_config.eos_token_id
    eos_ids = set(eos if isinstance(eos, (list, tuple)) else [eos])
    load_s = time.perf_counter() - started
    texts, tokens = [], 0
    started, cpu = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        for done, prompt in enumerate(prompts):
            if tick is not None:
                tick(done)
            enc = tok(prompt, return_tensors="pt", add_special_tokens=False).to(device)
            out = model.generate(
                **enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad, temperature=None, top_p=None, top_k=None
            )
            new = out[0, enc["input_ids"].shape[1] :].tolist()
            tokens += next((k + 1 for k, t in enumerate(new) if t in eos_ids), len(new))
            texts.append(tok.decode(new, skip_special_tokens=True).strip())
    _sync(device)
    return {
        "load_s": load_s,
        "gen_s": time.perf_counter() - started,
        "gen_cpu_s": time.process_time() - cpu,
        "tokens": tokens,
        "texts": texts,
    }


def torch_threads(count: int | None = None) -> int:
    """Set torch's intra-op thread count when given; return the count in force before."""
    import torch

    before = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    return before


def _plan(cache_dir: Path, mode: str) -> Any:
    from llmeval.engine.cache import Cache
    from llmeval.engine.plan import GenerationPlan
    from llmeval.engine.progress import Progress

    return GenerationPlan(Cache(cache_dir, mode), lambda total: Progress(total, live=False, write_line=lambda _: None))


def _requests(prompts: list[str], max_new_tokens: int) -> list[Any]:
    from llmeval.backends import GenerationConfig, Request

    config = GenerationConfig(max_new_tokens=max_new_tokens, temperature=0.0, seed=0)
    return [Request(p, None, config) for p in prompts]


def plan_run(
    model_path: Path,
    prompts: list[str],
    max_new_tokens: int,
    cache_dir: Path,
    *,
    mode: str = "off",
    device: str | None = None,
    batch_size: int | str = "auto",
) -> dict[str, Any]:
    """llmeval's engine in-process: HFBackend + GenerationPlan; the model is loaded before the clock starts."""
    from llmeval.backends.hf import HFBackend

    _quiet()
    started = time.perf_counter()
    backend = HFBackend(str(model_path), root=model_path.parent, device=device, batch_size=batch_size)
    backend.load()  # timed apart, as the naive loop's load is
    load_s = time.perf_counter() - started
    plan = _plan(cache_dir, mode)
    started, cpu = time.perf_counter(), time.process_time()
    keys = [plan.add(backend, r) for r in _requests(prompts, max_new_tokens)]
    plan.run()
    _sync(backend.device)
    gen_s, gen_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    gens = [plan.results[k] for k in keys]
    plan.cache.close()
    errors = [g.error for g in gens if g.error]
    if errors:
        raise RuntimeError(f"llmeval's plan failed on {len(errors)} of {len(gens)} requests, first: {errors[0]}")
    return {
        "load_s": load_s,
        "gen_s": gen_s,
        "gen_cpu_s": gen_cpu_s,
        "tokens": sum(g.completion_tokens for g in gens),
        "texts": [g.text for g in gens],
    }


def fill_cache(model_path: Path, prompts: list[str], texts: list[str], max_new_tokens: int, cache_dir: Path) -> None:
    """Store finished outputs under the keys a later run will look up (what a first cache-on run leaves)."""
    from llmeval.backends import Generation
    from llmeval.backends.hf import HFBackend

    backend = HFBackend(str(model_path), root=model_path.parent)
    plan = _plan(cache_dir, "on")
    for request, text in zip(_requests(prompts, max_new_tokens), texts, strict=True):
        key = plan.add(backend, request)
        plan.cache.put(key, backend.identity(), request.material(with_vars=False), Generation(text))
    plan.cache.close()


def warm_plan_run(model_path: Path, prompts: list[str], max_new_tokens: int, cache_dir: Path) -> dict[str, Any]:
    """A fresh backend and plan resolving every request from a filled cache: keys, fingerprint, lookup."""
    from llmeval.backends.hf import HFBackend

    started = time.perf_counter()
    backend = HFBackend(str(model_path), root=model_path.parent)
    plan = _plan(cache_dir, "on")
    keys = [plan.add(backend, r) for r in _requests(prompts, max_new_tokens)]
    plan.run()
    gen_s = time.perf_counter() - started
    cached = sum(plan.results[k].cached for k in keys)
    plan.cache.close()
    return {"gen_s": gen_s, "cached": cached, "model_loaded": backend._model is not None}


def pytest_run(args: list[str], cwd: Path, *, bytecode: bool = True) -> dict[str, Any]:
    """`python -m pytest ARGS` in a subprocess: whole wall time plus the plugin's generation summary line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=cwd, env=env(bytecode), capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out = proc.stdout + proc.stderr
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"pytest {' '.join(args)} exited {proc.returncode}:\n{out[-3000:]}")
    found = SUMMARY.search(out)
    figures: dict[str, Any] = {"wall_s": wall, "cpu_s": cpu, "rc": proc.returncode, "line": found.group(0) if found else None}
    if found:
        figures.update(outputs=int(found[1]), cached=int(found[2]), generated=int(found[3]), gen_s=float(found[4]))
    load = LOAD.search(out)
    figures["load_s"] = float(load[1]) if load else 0.0  # no load reported: everything came from the cache
    return figures


def import_overhead(directory: Path, runs: int, *, bytecode: bool = True) -> dict[str, Any]:
    """Median wall and CPU (user + sys) time of a one-trivial-test pytest run with and without the plugin.

    Runs alternate (ABBA), so a change in the machine's load hits both sides alike; CPU time is the steadier
    figure on a shared machine, wall time is what a user waits.
    """
    base = ["-q", "-p", "no:cacheprovider", "test_trivial.py"]
    variants = {"with": base, "without": [*base, "-p", "no:llmeval"]}
    runs_by: dict[str, list[dict[str, Any]]] = {"with": [], "without": []}
    for args in variants.values():
        pytest_run(args, directory, bytecode=bytecode)  # warm the file and bytecode caches
    for k in range(runs):
        for name in ("with", "without") if k % 2 == 0 else ("without", "with"):  # ABBA: no side always goes first
            runs_by[name].append(pytest_run(variants[name], directory, bytecode=bytecode))
    med = {
        f"{name}_{kind}": statistics.median(r[f"{kind}_s"] for r in done)
        for name, done in runs_by.items()
        for kind in ("wall", "cpu")
    }
    pairs = zip(runs_by["with"], runs_by["without"], strict=True)
    return {
        **med,
        "runs": runs,
        "min_ms": (min(r["wall_s"] for r in runs_by["with"]) - min(r["wall_s"] for r in runs_by["without"])) * 1000,
        # the headline: runs alternate, so the paired difference cancels the shared machine's drifting load
        "overhead_ms": statistics.median(w["wall_s"] - wo["wall_s"] for w, wo in pairs) * 1000,
        "median_diff_ms": (med["with_wall"] - med["without_wall"]) * 1000,
        "overhead_cpu_ms": (med["with_cpu"] - med["without_cpu"]) * 1000,
    }


def collect_time(suite: Path, runs: int = 3) -> dict[str, Any]:
    """`pytest --collect-only -q` on a suite after one warm-up run: medians of the whole wall time and of
    pytest's own "collected in" figure (collection alone, without start-up and shutdown)."""
    args = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", suite.name]
    walls, collects, items = [], [], 0
    for attempt in range(runs + 1):
        started = time.perf_counter()
        proc = subprocess.run(args, cwd=suite.parent, env=env(), capture_output=True, text=True)
        wall = time.perf_counter() - started
        found = COLLECTED.search(proc.stdout)
        if proc.returncode != 0 or not found:
            raise RuntimeError(f"collecting {suite} failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")
        if attempt:  # the first run fills the bytecode cache
            walls.append(wall)
            collects.append(float(found[2]))
            items = int(found[1])
    return {"wall_s": statistics.median(walls), "collect_s": statistics.median(collects), "items": items, "runs": runs}
