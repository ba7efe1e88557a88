"""llmeval side by side with its peers (issue 12, item 6), on the same prompts, model and thread count, in one run.

Contenders (each a fresh process; interleaved rounds, medians): a naive per-case loop (one transformers
`generate` per prompt); llmeval's engine in-process at batch auto/32/64, through pytest and through
`llmeval run` (cold cache); lm-evaluation-harness's HF backend `generate_until` at batch auto/32/64; DeepEval's
documented pytest pattern (one test per case calling the model, `deepeval test run`). Then llmeval's scaling from
50 to 10,000 cases. The peers are installed into throwaway venvs under .bench-venvs/ (see bench/_peer_venvs.py).
Writes the "peers" section of bench/RESULTS.md.

Run: make bench-peers   (= .venv/bin/python bench/peers_bench.py [--n 200] [--repeats 3] [--threads 1]
                         [--only naive,llmeval,lm-eval,deepeval,scale] [--scale-sizes 50,200,1000,10000] [--no-write])
"""

from __future__ import annotations

import argparse
import json
import os
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

import _peer_report  # noqa: E402
import _peer_runs  # noqa: E402
import _peer_venvs  # noqa: E402
import _report  # noqa: E402
import _suites  # noqa: E402

DEMO_MODEL = ROOT / "fixtures" / "models" / "support-tiny"
RESULTS = HERE / "RESULTS.md"
GROUPS = ("naive", "llmeval", "lm-eval", "deepeval", "scale")
REFERENCE = "llmeval pytest"
Run = Callable[[_peer_runs.Context], dict[str, Any]]


def log(message: str) -> None:
    print(f"[peers {time.strftime('%H:%M:%S')}] {message}", flush=True)


def contenders(only: set[str], peers: dict[str, _peer_venvs.Peer]) -> dict[str, tuple[str, str, Run | None]]:
    """name -> (group, how it runs, runner or None when its peer could not be installed), in table order."""
    w = _peer_runs.worker
    lm, de = peers.get("lm-eval"), peers.get("deepeval")
    table: dict[str, tuple[str, str, Run | None]] = {
        "naive loop": ("naive", "one `model.generate` per prompt, batch 1 (model loaded once)", w("naive", 1)),
        REFERENCE: ("llmeval", "`pytest bench.yaml` (hf:, batch auto), fresh cache folder", _peer_runs.llmeval_pytest),
        "llmeval run": ("llmeval", "`llmeval run bench.yaml` (batch auto), fresh cache folder", _peer_runs.llmeval_cli),
    }
    for batch in ("auto", 32, 64):
        table[f"llmeval engine, batch {batch}"] = (
            "llmeval",
            "in-process `GenerationPlan` + `HFBackend`, cache off",
            w("llmeval", batch),
        )
    for batch in ("auto", 32, 64):
        table[f"lm-eval, batch {batch}"] = (
            "lm-eval",
            "`HFLM(...).generate_until(requests)`",
            w("lm-eval", batch, lm.python) if lm and lm.python else None,
        )
    table["DeepEval pattern"] = (
        "deepeval",
        "`deepeval test run`: a test per case calling `generate`, `LLMTestCase` + `assert_test` (custom length metric, no judge)",
        _peer_runs.deepeval if de and de.python else None,
    )
    return {name: row for name, row in table.items() if row[0] in only}


def install_peers(only: set[str]) -> dict[str, _peer_venvs.Peer]:
    peers = {}
    for name in ("lm-eval", "deepeval"):
        if name in only:
            started = time.perf_counter()
            try:
                peers[name] = _peer_venvs.ensure(name, log)
            except (OSError, subprocess.SubprocessError) as exc:  # no venv module, disk full...: carry on without it
                peers[name] = _peer_venvs.Peer(name, notes=[f"could not make its venv: {exc}"])
            state = f"{peers[name].spec}" if peers[name].python else "NOT AVAILABLE: " + " | ".join(peers[name].notes)
            log(f"peers: {name}: {state} ({time.perf_counter() - started:.0f} s)")
    return peers


def warm_up(peers: dict[str, _peer_venvs.Peer]) -> None:
    log("warm-up: importing torch + transformers (+ the harness) once in each venv, untimed")
    _peer_runs.warm_up(Path(sys.executable), "torch, transformers, llmeval.core", project=True)
    modules = {"lm-eval": "torch, transformers, lm_eval.models.huggingface", "deepeval": "torch, transformers, deepeval"}
    for name, peer in peers.items():
        if peer.python:
            _peer_runs.warm_up(peer.python, modules[name], project=False)


def rounds(ctx: _peer_runs.Context, table: dict[str, tuple[str, str, Run | None]], repeats: int) -> dict[str, Any]:
    """Every runnable contender once per round; the order rotates each round so no one always goes first."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in table}
    names = [name for name, (_, _, run) in table.items() if run is not None]
    for k in range(repeats):
        order = names[k % len(names) :] + names[: k % len(names)] if names else []
        for name in order:
            run = table[name][2]
            assert run is not None
            try:
                done = run(ctx)
            except Exception as exc:  # a contender that breaks is a row that says so; the others still run
                done = {"error": f"{type(exc).__name__}: {exc}"}
            runs[name].append(done)
            shown = (
                f"error: {done['error'][:300]}"
                if "error" in done
                else (
                    f"load {done.get('load_s', 0):.2f} s, generation {done['gen_s']:.2f} s "
                    f"(CPU {done.get('gen_cpu_s') or 0:.2f} s), process {done['wall_s']:.1f} s"
                )
            )
            log(f"round {k + 1}/{repeats} {name}: {shown}")
    rows = {}
    for name, (_, _, run) in table.items():
        rows[name] = _peer_report.summarise(runs[name]) if run is not None else {"error": "peer not installed"}
    return rows


def scale(work: Path, model: Path, sizes: list[int], threads: int, real_up_to: int) -> list[dict[str, Any]]:
    """llmeval through pytest at each size: the real model up to `real_up_to` cases, the echo app at every size."""
    out = []
    for cases in sizes:
        for label, spec in (("demo model (hf:)", f"hf:{model}"), ("echo app (python:)", "echo")):
            if spec != "echo" and cases > real_up_to:
                continue
            log(f"scale: {cases:,} cases, {label}")
            done = _peer_runs.scale_run(work, cases, spec, threads)
            done["label"] = label
            shown = (
                done.get("error")
                or f"generation {done['gen_s']:.2f} s, process {done['wall_s']:.1f} s, peak RSS {done.get('rss_mb', 0):.0f} MB"
            )
            log(f"scale: {cases:,} cases, {label}: {shown}")
            out.append(done)
    return out


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="prompts (default 200)")
    parser.add_argument("--tokens", type=int, default=48, help="max new tokens (default 48)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for every contender (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds (default 3; medians)")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated groups of {', '.join(GROUPS)}")
    parser.add_argument("--scale-sizes", default="50,200,1000,10000", help="case counts for the scaling rows")
    parser.add_argument(
        "--scale-model-up-to", type=int, default=10_000, help="largest scaling size run on the demo model (larger: echo app only)"
    )
    parser.add_argument("--model", type=Path, help="model folder instead of the demo model")
    parser.add_argument("--no-write", action="store_true", help="print without writing bench/RESULTS.md")
    parser.add_argument("--json", type=Path, help="also write every figure (texts aside) here")
    args = parser.parse_args(argv)
    args.only = {g.strip() for g in args.only.split(",") if g.strip()}
    unknown = args.only - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s) {', '.join(sorted(unknown))}: choose from {', '.join(GROUPS)}")
    args.scale_sizes = [int(x) for x in args.scale_sizes.split(",") if x.strip()]
    return args


def notes(peers: dict[str, _peer_venvs.Peer], rows: dict[str, dict[str, Any]]) -> list[str]:
    """What the reader needs to judge the table: versions, install times and conflicts, batch semantics."""
    out = []
    for name, peer in peers.items():
        installed = (
            f"`{peer.spec}` in `.bench-venvs/{name}` (pip install {peer.install_s:.0f} s{', reused' if peer.reused else ''})"
            if peer.python
            else "not installed"
        )
        out.append(f"{name}: {installed}" + "".join(f"; {n}" for n in peer.notes))
        candidates = _peer_venvs.PEERS[name][0]
        if peer.python and peer.spec != candidates[0]:
            out.append(
                f"{name}: so the row runs `{peer.spec}`, the newest release pip's resolver finds installable "
                f"beside the pins (left unpinned, it backtracks to it); its pytest pattern is the same."
            )
    auto = rows.get("lm-eval, batch auto", {})
    if auto.get("detect_s") is not None:
        out.append(
            f"lm-eval `batch_size=auto` probes the largest batch first (5 forward passes at max_batch_size 64 x "
            f"the model's 512-token max length): {auto['detect_s']:.2f} s of its generation time, batch "
            f"{auto.get('detected_batch')} chosen."
        )
    out.append(
        "Batch semantics: llmeval `auto` = length-sorted batches of at most 64 rows within a 32K-token budget "
        "(rows x (longest prompt + new tokens)); lm-eval `auto` = the probed largest batch (<= 64), "
        "length-sorted; 32/64 = that many rows on both sides; the naive loop and the DeepEval pattern run "
        "one prompt per `generate` call."
    )
    out.append(
        "Load = model (and harness) load as each contender times it; torch is already imported in the worker "
        "rows, pytest/`llmeval run` report the core's own `(model load X s)`, DeepEval's is the test module's "
        "import-time load. Generation = the contender's generation phase; for DeepEval, first test to last "
        "(per-case `generate` + `assert_test`). Process = the whole process (start-up, collection, reports)."
    )
    return out


def explain(rows: dict[str, dict[str, Any]], n: int) -> list[str]:
    ref = rows.get(REFERENCE, {})
    if "gen_s" not in ref:
        return []
    lines = [
        f"Ratios are each contender's time over `{REFERENCE}`'s (above 1x: llmeval is faster). "
        f"Identical texts are counted against `{REFERENCE}` after stripping surrounding whitespace "
        f"(lm-eval keeps the leading space of a continuation)."
    ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    command = " ".join([".venv/bin/python bench/peers_bench.py", *(argv if argv is not None else sys.argv[1:])])
    load_start = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    model = (args.model or DEMO_MODEL).resolve()
    if not (model / "config.json").exists():
        log(f"no model at {model}: run `make setup` first (it builds the demo model)")
        return 2
    peers = install_peers(args.only)
    table = contenders(args.only, peers)
    with tempfile.TemporaryDirectory(prefix="llmeval-peers-") as tmp:
        work = Path(tmp)
        prompts = [_suites.prompt_for(q) for q in _suites.questions(args.n)]
        prompts_file = work / "prompts.json"
        prompts_file.write_text(json.dumps(prompts), encoding="utf-8")
        suite = _suites.write_suite(work / "suite", args.n, f"hf:{model}", max_new_tokens=args.tokens)
        ctx = _peer_runs.Context(model, prompts, prompts_file, suite, work, args.tokens, args.threads, peers)
        warm_up(peers)
        rows = rounds(ctx, table, args.repeats) if table else {}
        _peer_report.agreement(rows, REFERENCE if REFERENCE in rows else next(iter(rows), ""))
        scaled = scale(work, model, args.scale_sizes, args.threads, args.scale_model_up_to) if "scale" in args.only else []
    given = (args.model or DEMO_MODEL).absolute()  # before resolving: fixtures/models may be a link
    shown = given.relative_to(ROOT) if given.is_relative_to(ROOT) else model
    result = {
        "command": command,
        "load_start": load_start,
        "machine": _report.machine(),
        "rows": rows,
        "how": {name: how for name, (_, how, _) in table.items()},
        "reference": REFERENCE,
        "settings": {"model": str(shown), "n": args.n, "tokens": args.tokens, "threads": args.threads, "repeats": args.repeats},
        "notes": notes(peers, rows),
        "explain": explain(rows, args.n),
        "scale": scaled,
        "scale_explain": scale_notes(args),
    }
    text = _peer_report.section(result)
    print("\n" + text, flush=True)
    if args.json:
        strip = {k: v for k, v in result.items() if k not in ("rows", "scale")}
        strip["rows"] = {k: {f: v for f, v in r.items() if f != "texts"} for k, r in rows.items()}
        strip["scale"] = [{f: v for f, v in r.items() if f != "out"} for r in scaled]
        args.json.write_text(json.dumps(strip, indent=1, default=str), encoding="utf-8")
    if not args.no_write:
        _report.write_section(RESULTS, text, name="peers")
        log(f"wrote the peers section of {RESULTS.relative_to(ROOT)}")
    return 0


def scale_notes(args: argparse.Namespace) -> list[str]:
    return [
        f"Each size is one `pytest scale.yaml --llmeval-threads {args.threads}` run with a fresh cache folder, the "
        "suite's `length` scorer, a results file; peak RSS of the pytest process (GNU time). The echo app "
        "(`python:` returning the prompt) measures the harness alone: collection, planning, scoring, records. "
        f"The demo model runs every size up to {args.scale_model_up_to:,} cases."
    ]


if __name__ == "__main__":
    sys.exit(main())
