"""The contenders of bench/peers_bench.py, each run as its own process on the same prompts and model.

Every run is a fresh process (same start-up for all, peak RSS per contender) under GNU time, with one torch
thread set twice (OMP_NUM_THREADS in the environment and torch.set_num_threads / --llmeval-threads inside).
Each returns the process's wall and CPU seconds and peak RSS, the model load and the generation phase timed
apart by the contender itself, and its texts (stripped) for the agreement count.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _measure
import _peer_deepeval
import _peer_venvs
import _suites

HERE = Path(__file__).resolve().parent
TIME = "/usr/bin/time"
RUN_TIMEOUT_S = 1800  # one contender's run: far above any measured run, so nothing hangs the bench


@dataclass
class Context:
    """What every contender shares: model, prompts (file and suite), settings, the peers' venvs, a work dir."""

    model: Path
    prompts: list[str]
    prompts_file: Path
    suite: Path
    work: Path
    tokens: int
    threads: int
    peers: dict[str, _peer_venvs.Peer] = field(default_factory=dict)


def base_env(threads: int) -> dict[str, str]:
    """The project's subprocess environment (offline, this checkout's llmeval first) with the thread count."""
    out = _measure.env()
    out.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return out


def peer_env(threads: int) -> dict[str, str]:
    """A peer venv's environment: as the project's, without this checkout on PYTHONPATH."""
    out = base_env(threads)
    out.pop("PYTHONPATH", None)
    return out


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run a command under GNU time: wall, CPU (user + sys) seconds, peak RSS in MB, exit status, output."""
    with tempfile.TemporaryDirectory(prefix="llmeval-peer-time-") as tmp:
        stats = Path(tmp) / "time.txt"
        wrapped = [TIME, "-f", "%M %U %S", "-o", str(stats), *command] if Path(TIME).exists() else command
        started = time.perf_counter()
        try:
            proc = subprocess.run(wrapped, cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
            rc, out = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired as exc:
            rc, out = 124, f"ran past {RUN_TIMEOUT_S} s: {exc}"
        wall = time.perf_counter() - started
        fields = stats.read_text().split()[-3:] if stats.exists() else []
    figures: dict[str, Any] = {"wall_s": wall, "rc": rc, "out": out}
    if len(fields) == 3:
        figures.update(rss_mb=int(fields[0]) / 1024, cpu_s=float(fields[1]) + float(fields[2]))
    return figures


def _failed(run: dict[str, Any], what: str) -> dict[str, Any]:
    tail = "\n".join(run["out"].strip().splitlines()[-8:])
    return {**run, "error": f"{what} exited {run['rc']}: {tail}"}


def worker(kind: str, batch: int | str, python: Path | None = None) -> Callable[[Context], dict[str, Any]]:
    """A bench/_peer_worker.py run of `kind` with the given interpreter (default: this one)."""

    def run(ctx: Context) -> dict[str, Any]:
        out = ctx.work / f"{kind}-{uuid.uuid4().hex[:8]}.json"
        command = [
            str(python or sys.executable),
            str(HERE / "_peer_worker.py"),
            kind,
            str(ctx.model),
            str(ctx.prompts_file),
            str(out),
            "--tokens",
            str(ctx.tokens),
            "--threads",
            str(ctx.threads),
            "--batch-size",
            str(batch),
        ]
        env = base_env(ctx.threads) if python is None else peer_env(ctx.threads)
        done = timed(command, ctx.work, env)
        if done["rc"] != 0 or not out.exists():
            return _failed(done, f"{kind} worker")
        return {**done, **json.loads(out.read_text(encoding="utf-8"))}

    return run


def _results_texts(results: Path) -> list[str]:
    """The outputs of an llmeval results file, in case order (ids q00000, q00001, ...)."""
    rows = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines() if line.strip()]
    cases = sorted((r for r in rows if r.get("kind") == "case"), key=lambda r: str(r["case"]))
    return [str(r["output"]).strip() for r in cases]


def _llmeval_figures(done: dict[str, Any], results: Path) -> dict[str, Any]:
    """The core's own summary line: generation phase (model load apart), then the texts from the results file."""
    found, load = _measure.SUMMARY.search(done["out"]), _measure.LOAD.search(done["out"])
    if done["rc"] not in (0, 1) or not found or not results.exists():
        return _failed(done, "llmeval")
    return {
        **done,
        "gen_s": float(found[4]),
        "load_s": float(load[1]) if load else 0.0,
        "generated": int(found[3]),
        "texts": _results_texts(results),
    }


def llmeval_pytest(ctx: Context) -> dict[str, Any]:
    """`pytest bench.yaml` with a fresh (cold) cache folder: a first run as a user's CI does it."""
    tag = uuid.uuid4().hex[:8]
    results = ctx.work / f"pytest-{tag}.jsonl"
    args = [
        ctx.suite.name,
        "-q",
        "-p",
        "no:cacheprovider",
        "--llmeval-cache-dir",
        str(ctx.work / f"cache-{tag}"),
        "--llmeval-threads",
        str(ctx.threads),
        "--llmeval-results",
        str(results),
    ]
    done = timed([sys.executable, "-m", "pytest", *args], ctx.suite.parent, base_env(ctx.threads))
    return _llmeval_figures(done, results)


def llmeval_cli(ctx: Context) -> dict[str, Any]:
    """`llmeval run bench.yaml` with a fresh (cold) cache folder."""
    tag = uuid.uuid4().hex[:8]
    results = ctx.work / f"cli-{tag}.jsonl"
    args = [
        "run",
        ctx.suite.name,
        "--cache-dir",
        str(ctx.work / f"cache-{tag}"),
        "--threads",
        str(ctx.threads),
        "--results",
        str(results),
    ]
    done = timed([sys.executable, "-m", "llmeval", *args], ctx.suite.parent, base_env(ctx.threads))
    return _llmeval_figures(done, results)


def deepeval(ctx: Context) -> dict[str, Any]:
    """`deepeval test run test_deepeval_pattern.py` in the DeepEval venv (see bench/_peer_deepeval.py)."""
    peer = ctx.peers["deepeval"]
    assert peer.python is not None
    work = ctx.work / f"deepeval-{uuid.uuid4().hex[:8]}"
    test, out = _peer_deepeval.write(work, ctx.model, ctx.prompts, ctx.tokens, ctx.threads)
    done = timed(_peer_deepeval.command(peer.python, test), work, _peer_deepeval.env(peer_env(ctx.threads), work))
    figures = _peer_deepeval.loaded_figures(out)
    if done["rc"] not in (0, 1) or figures is None:
        return _failed(done, "deepeval test run")
    return {**done, **figures}


def warm_up(python: Path, modules: str, project: bool) -> None:
    """Import torch, transformers and the harness once, untimed, so the first timed run does not pay the cold
    file cache alone."""
    env = base_env(1) if project else peer_env(1)
    env["DEEPEVAL_TELEMETRY_OPT_OUT"] = "YES"
    subprocess.run([str(python), "-c", f"import {modules}"], env=env, capture_output=True, timeout=600, cwd=tempfile.gettempdir())


def scale_run(work: Path, cases: int, model: str, threads: int) -> dict[str, Any]:
    """llmeval through pytest on a `cases`-case suite of `model` ("echo": a `python:` app that returns its
    prompt, the harness alone) with a cold cache: wall, generation phase, peak RSS."""
    folder = work / f"scale-{cases}-{'echo' if model == 'echo' else 'hf'}"
    if model == "echo":
        model = _suites.write_echo_app(folder)
    suite = _suites.write_suite(folder, cases, model, name="scale")
    args = [
        suite.name,
        "-q",
        "-p",
        "no:cacheprovider",
        "--llmeval-cache-dir",
        str(folder / "cache"),
        "--llmeval-threads",
        str(threads),
        "--llmeval-results",
        str(folder / "results.jsonl"),
    ]
    done = timed([sys.executable, "-m", "pytest", *args], folder, base_env(threads))
    found, load = _measure.SUMMARY.search(done["out"]), _measure.LOAD.search(done["out"])
    if done["rc"] not in (0, 1) or not found:
        return _failed(done, f"llmeval scale run ({cases} cases)")
    return {
        **done,
        "cases": cases,
        "gen_s": float(found[4]),
        "load_s": float(load[1]) if load else 0.0,
        "generated": int(found[3]),
    }
