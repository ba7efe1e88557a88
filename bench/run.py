"""llmeval's benchmark: the engine (issue 3, item 8: naive per-case loop vs. the generation plan, warm cache,
plugin start-up and collection, on the demo model), then scale (issue 8, item 10: a 100,000-case run, scoring
vs. generation time). Writes bench/RESULTS.md (engine and scale sections), then runs the PII bench and the
gates' error rates by simulation (bench/validity.py, VALIDITY_RUNS runs per cell; --quick: its quick mode).

Run: make bench   (= .venv/bin/python bench/run.py [--cases N] [--quick] [--skip-pii] [--skip-hallucination] [--skip-scorers]
                   [--skip-judge-format] [--skip-validity] [--gpu]
                   [--only-scale | --skip-scale] [--scale-cases N])
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import _gpu  # noqa: E402
import _markdown  # noqa: E402
import _measure  # noqa: E402
import _report  # noqa: E402
import _scale  # noqa: E402
import _suites  # noqa: E402

DEMO_MODEL = ROOT / "fixtures" / "models" / "support-tiny"
RESULTS = HERE / "RESULTS.md"
MAX_NEW_TOKENS = 48
VALIDITY_RUNS = 400  # per cell in `make bench` (about 40 min on 2 cores: the fairness gates take most of it)


@dataclass(frozen=True)
class Sizes:
    cases: int = 200
    collect_cases: int = 10_000
    overhead_runs: int = 21
    collect_runs: int = 3
    no_bytecode_runs: int = 5  # (d) again without a bytecode cache, where this machine disables it; 0: skip
    thread_probe: bool = True  # (a) and (b) again on one torch thread
    max_new_tokens: int = MAX_NEW_TOKENS


QUICK = Sizes(cases=24, collect_cases=1000, overhead_runs=3, collect_runs=1, no_bytecode_runs=0)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def demo_model() -> Path:
    """The demo model, built first when missing or stale (as `make setup` does)."""
    log("checking the demo model (fixtures/build_models.py --if-stale)")
    script = ROOT / "fixtures" / "build_models.py"
    subprocess.run([sys.executable, str(script), "--if-stale"], cwd=ROOT, env=_measure.env(), check=True)
    return DEMO_MODEL


def _ticker(total: int, started: float) -> Any:
    step = max(1, total // 4)

    def tick(done: int) -> None:
        if done and done % step == 0:
            rate = done / (time.perf_counter() - started)
            log(f"  (a) {done}/{total} cases, {rate:.1f} cases/s, ~{(total - done) / rate:.0f} s left")

    return tick


def measure_generation(model: Path, sizes: Sizes, work: Path) -> dict[str, Any]:
    """(a), (b) and (c), in-process and through pytest, on the same prompts."""
    prompts = [_suites.prompt_for(q) for q in _suites.questions(sizes.cases)]
    n, tokens = sizes.cases, sizes.max_new_tokens
    log(f"(a) naive loop: one generate() per case, {n} cases (model load timed apart)")
    naive = _measure.naive_loop(model, prompts, tokens, tick=_ticker(n, time.perf_counter()))
    log(f"(a) {naive['gen_s']:.2f} s generating, {naive['load_s']:.2f} s importing torch/transformers + loading")
    log("(b) llmeval plan in-process (HFBackend + GenerationPlan, cache off)")
    plan = _measure.plan_run(model, prompts, tokens, work / "cache-off", mode="off")
    same = sum(a == b for a, b in zip(naive["texts"], plan["texts"], strict=True))
    log(f"(b) {plan['gen_s']:.2f} s generating; outputs equal to (a): {same}/{n}")
    threads = thread_probe(model, prompts, tokens, work) if sizes.thread_probe else None
    _measure.fill_cache(model, prompts, plan["texts"], tokens, work / "cache-warm")
    warm = _measure.warm_plan_run(model, prompts, tokens, work / "cache-warm")
    log(
        f"(c) warm in-process: {warm['gen_s'] * 1000:.1f} ms, {warm['cached']}/{n} from cache, "
        f"model loaded: {warm['model_loaded']}"
    )
    suite = _suites.write_suite(work / "suite", n, f"hf:{model}", max_new_tokens=tokens)
    args = [suite.name, "--llmeval-model", f"hf:{model}", "-q", "-p", "no:cacheprovider"]
    warmup = _measure.pytest_run([*args, "--llmeval-cache", "off", "-k", "q00000"], suite.parent)
    log(f"(b) warm-up run on one case (fills the OS file and bytecode caches): {warmup['wall_s']:.2f} s, {warmup['line']}")
    log(f"(b) pytest {' '.join(args)} --llmeval-cache off")
    cold = _measure.pytest_run([*args, "--llmeval-cache", "off"], suite.parent)
    log(f"(b) {cold['line']}; whole run {cold['wall_s']:.2f} s")
    log("(c) pytest, cache on: a first run fills the cache, the second is the warm re-run")
    fill = _measure.pytest_run([*args, "--llmeval-cache", "on"], suite.parent)
    again = _measure.pytest_run([*args, "--llmeval-cache", "on"], suite.parent)
    log(f"(c) {again['line']}; whole run {again['wall_s']:.2f} s")
    return {
        "naive": naive,
        "plan": plan,
        "same": same,
        "warm": warm,
        "cold_pt": cold,
        "fill_pt": fill,
        "warm_pt": again,
        "threads": threads,
        "pytest_args": args,
    }


def thread_probe(model: Path, prompts: list[str], tokens: int, work: Path) -> dict[str, Any]:
    """(a) and (b) again with torch limited to one intra-op thread (informational: no target)."""
    before = _measure.torch_threads(1)
    try:
        log(f"threads: (a) and (b) again with torch.set_num_threads(1) (default here: {before})")
        naive = _measure.naive_loop(model, prompts, tokens)
        plan = _measure.plan_run(model, prompts, tokens, work / "cache-off-1", mode="off")
    finally:
        _measure.torch_threads(before)
    log(f"threads: one thread: (a) {naive['gen_s']:.2f} s, (b) {plan['gen_s']:.2f} s")
    return {"default": before, "naive": naive, "plan": plan}


def measure_startup(sizes: Sizes, work: Path) -> dict[str, Any]:
    """(d) plugin start-up overhead and (e) collecting a large suite with a `python:` model (no model loads)."""
    _suites.write_trivial_test(work / "trivial")
    log(f"(d) pytest on one trivial test, with and without -p no:llmeval, median of {sizes.overhead_runs} runs each")
    overhead = _measure.import_overhead(work / "trivial", sizes.overhead_runs)
    log(
        f"(d) wall: with {overhead['with_wall'] * 1000:.0f} ms, without {overhead['without_wall'] * 1000:.0f} ms, "
        f"overhead {overhead['overhead_ms']:.0f} ms (CPU time: {overhead['overhead_cpu_ms']:.0f} ms)"
    )
    if os.environ.get("PYTHONDONTWRITEBYTECODE") and sizes.no_bytecode_runs:
        log("(d) again without a bytecode cache (PYTHONDONTWRITEBYTECODE is set here: every run recompiles)")
        overhead["no_bytecode"] = _measure.import_overhead(work / "trivial", sizes.no_bytecode_runs, bytecode=False)
        log(f"(d) without bytecode cache: overhead {overhead['no_bytecode']['overhead_ms']:.0f} ms")
    spec = _suites.write_echo_app(work / "collect")
    suite = _suites.write_suite(work / "collect", sizes.collect_cases, spec, name="collect")
    log(
        f"(e) pytest --collect-only -q on a {sizes.collect_cases}-case suite, median of {sizes.collect_runs} runs after a warm-up"
    )
    collect = _measure.collect_time(suite, sizes.collect_runs)
    log(f"(e) {collect['items']} items; whole run {collect['wall_s']:.2f} s, pytest's collection {collect['collect_s']:.2f} s")
    return {"overhead": overhead, "collect": collect}


def measure_gpu(model: Path, sizes: Sizes, work: Path) -> dict[str, Any]:
    """(a) and (b) on a random Qwen2-0.5B-shaped model on CUDA; {"skipped": why} without a GPU."""
    device = _gpu.cuda_device()
    if device is None:
        log("--gpu: skipped, torch sees no CUDA device")
        return {"skipped": "torch sees no CUDA device on this machine"}
    log("GPU: building a randomly initialised Qwen2-0.5B-shaped model")
    path, params = _gpu.build_qwen2(work / "qwen2-0.5b-random", model, device=device)
    prompts = [_suites.prompt_for(q) for q in _suites.questions(sizes.cases)]
    naive = _measure.naive_loop(
        path, prompts, sizes.max_new_tokens, device=device, tick=_ticker(sizes.cases, time.perf_counter())
    )
    log(f"GPU (a) {naive['gen_s']:.2f} s")
    plan = _measure.plan_run(path, prompts, sizes.max_new_tokens, work / "gpu-cache", mode="off", device=device)
    log(f"GPU (b) {plan['gen_s']:.2f} s")
    return {"params": params, "naive": naive, "plan": plan}


def figures(gen: dict[str, Any], start: dict[str, Any], gpu: dict[str, Any] | None) -> dict[str, Any]:
    """The ratios the targets are about."""
    naive, plan, cold, warm_pt = gen["naive"], gen["plan"], gen["cold_pt"], gen["warm_pt"]
    f = {
        "speedup_inproc": naive["gen_s"] / plan["gen_s"],
        "speedup_pytest": (naive["load_s"] + naive["gen_s"]) / (cold["gen_s"] + cold.get("load_s", 0.0)),
        # the plugin's summary line reports the model load apart from the generation phase
        "speedup_pytest_gen": naive["gen_s"] / max(cold["gen_s"], 0.005),
        "warm_ratio_inproc": gen["warm"]["gen_s"] / plan["gen_s"],
        # the summary line rounds to 0.01 s: count a printed 0.00 as 0.005 s (an upper bound)
        "warm_ratio_pytest": max(warm_pt["gen_s"], 0.005) / cold["gen_s"],
        "warm_wall_ratio": warm_pt["wall_s"] / cold["wall_s"],
        "overhead_ms": start["overhead"]["overhead_ms"],
        "collect_wall_s": start["collect"]["wall_s"],
    }
    if gen.get("threads"):
        f["speedup_1thread"] = gen["threads"]["naive"]["gen_s"] / gen["threads"]["plan"]["gen_s"]
    if gpu is not None and "plan" in gpu:
        f["gpu_speedup"] = gpu["naive"]["gen_s"] / gpu["plan"]["gen_s"]
    return f


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200, help="cases for (a)-(c) (default 200)")
    parser.add_argument("--quick", action="store_true", help="small sizes for a fast check (24 cases, 1,000-case collection)")
    parser.add_argument("--skip-pii", action="store_true", help="do not run bench/pii_bench.py afterwards")
    parser.add_argument("--skip-hallucination", action="store_true", help="do not run bench/hallucination_bench.py afterwards")
    parser.add_argument("--skip-scorers", action="store_true", help="do not run bench/scorer_bench.py (throughput, re-runs)")
    parser.add_argument("--skip-judge-format", action="store_true", help="do not run bench/judge_format_bench.py afterwards")
    parser.add_argument("--skip-validity", action="store_true", help="do not run bench/validity.py afterwards")
    parser.add_argument("--gpu", action="store_true", help="also run (a) and (b) on a random Qwen2-0.5B-shaped model on CUDA")
    parser.add_argument("--model", type=Path, help="model folder instead of the demo model (for development)")
    parser.add_argument("--no-write", action="store_true", help="print the results without writing bench/RESULTS.md")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--only-scale", action="store_true", help="run only the scale sections (f) and (g)")
    which.add_argument("--skip-scale", action="store_true", help="do not run the scale sections (f) and (g)")
    parser.add_argument("--scale-cases", type=int, help="cases for the scale run (f) (default 100,000; --quick: 2,000)")
    return parser.parse_args(argv)


def run_scale(args: argparse.Namespace, command: str, load_at_start: str) -> list[tuple[str, str, str, str]]:
    """(f) the large echo-app run and (g) scoring vs. generation; writes the scale section; returns its targets."""
    cases = args.scale_cases or (2000 if args.quick else 100_000)
    with tempfile.TemporaryDirectory(prefix="llmeval-bench-scale-") as tmp:
        log(f"(f) pytest on a {cases:,}-case suite (`python:` echo app) with --llmeval-results and --llmeval-html")
        scale = _scale.scale_run(Path(tmp) / "scale", cases)
        log(f"(f) {scale['wall_s']:.1f} s, peak RSS {scale['rss_mb']} MB, HTML {scale['html_mb']} MB, {scale['browser']}")
        log("(g) demo suites on the demo model, cache off: generation vs. scoring")
        share = _scale.scoring_share(Path(tmp))
        log(f"(g) generation {share['gen_s']} s, scoring {share['score_s']} s")
    info = {"cpu": _report.machine()["cpu"], "cores": str(os.cpu_count()), "load": load_at_start}
    text = _scale.section(scale, share, command, info)
    print("\n" + text, flush=True)
    if not args.no_write:
        _report.write_section(RESULTS, text, name="scale")
        log(f"wrote the scale section of {RESULTS.relative_to(ROOT)}")
    return _scale.targets(scale, share)


def side_by_side(rows: list[tuple[str, str, str, str]]) -> None:
    """Every target of this run in one table, measured next to its goal."""
    print(
        "\n## All targets of this run\n\n" + "\n".join(_report.table(("target", "measured", "goal", "verdict"), rows)), flush=True
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    sizes = QUICK if args.quick else Sizes(cases=args.cases)
    command = " ".join([".venv/bin/python bench/run.py", *(argv if argv is not None else sys.argv[1:])])
    load_at_start = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "-"
    if args.only_scale:
        demo_model()
        side_by_side(run_scale(args, command, load_at_start))
        return 0
    model = args.model.resolve() if args.model else demo_model()
    with tempfile.TemporaryDirectory(prefix="llmeval-bench-") as tmp:
        work = Path(tmp)
        os.environ.setdefault("LLMEVAL_BENCH_PYCACHE", str(work / "pycache"))  # see _measure.env
        gen = measure_generation(model, sizes, work)
        start = measure_startup(sizes, work)
        gpu = measure_gpu(model, sizes, work) if args.gpu else None
    info = _report.machine()
    info["load average at start (1/5/15 min)"] = load_at_start
    f = figures(gen, start, gpu)
    shown = model.relative_to(ROOT) if model.is_relative_to(ROOT) else model
    text = _markdown.section(gen, start, gpu, f, info, command, shown, sizes)
    print("\n" + text, flush=True)
    if not args.no_write:
        _report.write_section(RESULTS, text)
        log(f"wrote the engine section of {RESULTS.relative_to(ROOT)}")
    rows = _report.targets(f)
    if not args.skip_scale:
        rows += run_scale(args, command, load_at_start)
    side_by_side(rows)
    if not args.skip_pii:
        log("running bench/pii_bench.py")
        subprocess.run([sys.executable, str(HERE / "pii_bench.py")], cwd=ROOT, env=_measure.env(), check=True)
    if not args.skip_hallucination:
        log("running bench/hallucination_bench.py")
        subprocess.run([sys.executable, str(HERE / "hallucination_bench.py")], cwd=ROOT, env=_measure.env(), check=True)
    if not args.skip_scorers:
        log("running bench/scorer_bench.py (each scorer vs its library; the demo cold then warm; a 1,000-case app run)")
        quick = ["--items", "100", "--rounds", "2", "--no-write"] if args.quick else (["--no-write"] if args.no_write else [])
        subprocess.run([sys.executable, str(HERE / "scorer_bench.py"), *quick], cwd=ROOT, env=_measure.env(), check=True)
    if not args.skip_judge_format:
        log("running bench/judge_format_bench.py (prints its table; bench/RESULTS.md has the recorded run)")
        subprocess.run([sys.executable, str(HERE / "judge_format_bench.py")], cwd=ROOT, env=_measure.env(), check=True)
    if not args.skip_validity:
        run_validity_bench(args.quick, write=not args.no_write)
        log("running bench/judge_trust.py (how often the judge trust rule refuses a judge; exact, no simulation)")
        subprocess.run([sys.executable, str(HERE / "judge_trust.py")], cwd=ROOT, env=_measure.env(), check=True)
    run_vllm_bench()
    return 0


def run_validity_bench(quick: bool, *, write: bool) -> None:
    """The gates' false-pass and false-alarm rates by simulation (writes its section of bench/RESULTS.md unless quick)."""
    full = ["--runs", str(VALIDITY_RUNS), "--jobs", "2"] + ([] if write else ["--no-write"])
    extra = ["--quick", "--no-write"] if quick else full
    log(f"running bench/validity.py {' '.join(extra)}")
    subprocess.run([sys.executable, str(HERE / "validity.py"), *extra], cwd=ROOT, env=_measure.env(), check=True)


def run_vllm_bench() -> None:
    """bench/vllm_bench.py where vLLM is importable (here, or in .venv-vllm from `make vllm`); else say how."""
    import importlib.util

    python = sys.executable if importlib.util.find_spec("vllm") else str(ROOT / ".venv-vllm" / "bin" / "python")
    if not Path(python).exists():
        log("skipping the vLLM bench: vLLM is not installed (`make bench-vllm` sets up .venv-vllm and runs it)")
        return
    log("running bench/vllm_bench.py")
    subprocess.run([python, str(HERE / "vllm_bench.py")], cwd=ROOT, env=_measure.env(), check=True)


if __name__ == "__main__":
    sys.exit(main())
