"""The engine section of bench/RESULTS.md: what was run, the figures, the targets."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import _report


def _rate(run: dict[str, Any], n: int, seconds: float) -> tuple[str, str]:
    tokens = run.get("tokens")
    return f"{n / seconds:.1f}", f"{tokens / seconds:.0f}" if tokens else "-"


def generation_rows(gen: dict[str, Any], n: int) -> list[tuple[str, ...]]:
    """One row per generation measurement: (a), (b) twice, (b'), (c) twice."""
    naive, plan, warm = gen["naive"], gen["plan"], gen["warm"]
    cold, fill, warm_pt = gen["cold_pt"], gen["fill_pt"], gen["warm_pt"]
    pt = f"`pytest {' '.join(gen['pytest_args'])}`"
    return [
        (
            "(a) naive loop: one `generate` per case",
            "in-process, model loaded",
            f"{naive['gen_s']:.2f}",
            f"{naive['load_s']:.2f} (import + load)",
            *_rate(naive, n, naive["gen_s"]),
        ),
        (
            "(b) llmeval plan, cache off",
            "in-process `GenerationPlan` + `HFBackend`, model loaded",
            f"{plan['gen_s']:.2f}",
            f"{plan['load_s']:.2f} (load)",
            *_rate(plan, n, plan["gen_s"]),
        ),
        (
            "(b) llmeval plan, cache off",
            f"{pt} `--llmeval-cache off` (generation phase; the model import + load, "
            f"{cold.get('load_s', 0):.2f} s, is reported apart)",
            f"{cold['gen_s']:.2f}",
            f"{cold['wall_s']:.2f}",
            *_rate(plan, n, max(cold["gen_s"], 0.005)),
        ),
        (
            "(b') first run, cache on (fills it)",
            f"{pt} `--llmeval-cache on`",
            f"{fill['gen_s']:.2f}",
            f"{fill['wall_s']:.2f}",
            *_rate(plan, n, fill["gen_s"]),
        ),
        (
            "(c) warm re-run from the cache",
            "in-process: keys + weight fingerprint + lookup",
            f"{warm['gen_s']:.4f}",
            "-",
            "-",
            "-",
        ),
        (
            "(c) warm re-run from the cache",
            f"{pt} `--llmeval-cache on`, again",
            f"{warm_pt['gen_s']:.2f}",
            f"{warm_pt['wall_s']:.2f}",
            "-",
            "-",
        ),
    ]


def threads_note(gen: dict[str, Any], n: int) -> str:
    probe = gen.get("threads")
    if probe is None:
        return ""
    naive, plan = probe["naive"], probe["plan"]
    return (
        f"Informational, torch limited to 1 intra-op thread (default here: {probe['default']}), in-process, model "
        f"loaded: (a) {naive['gen_s']:.2f} s ({n / naive['gen_s']:.1f} cases/s), (b) {plan['gen_s']:.2f} s "
        f"({n / plan['gen_s']:.1f} cases/s), ratio {naive['gen_s'] / plan['gen_s']:.1f}x; with the default "
        f"thread count (b) took {gen['plan']['gen_s']:.2f} s."
    )


def generation_note(gen: dict[str, Any], f: dict[str, Any], n: int) -> str:
    warm = gen["warm"]
    return (
        f"(a) and (b) gave the same text for {gen['same']}/{n} prompts. (c) in-process served {warm['cached']}/{n} "
        f"from the cache without loading the model (model loaded: {warm['model_loaded']}). The pytest summary line "
        f"shows 2 decimals below 10 s (a printed 0.00 counts as 0.005 s in the ratio). The plugin loads the model "
        f"before its generation clock starts and reports that load apart, `(model load X s)`. "
        f"Warm / cold whole pytest run: {f['warm_wall_ratio']:.1%}."
    )


def overhead_note(over: dict[str, Any]) -> str:
    text = (
        f"(d) one trivial test, {over['runs']} interleaved pairs of runs: overhead **{over['overhead_ms']:.0f} ms** "
        f"wall (median of the paired differences; medians: with the plugin {over['with_wall'] * 1000:.0f} ms, "
        f"with `-p no:llmeval` {over['without_wall'] * 1000:.0f} ms, difference {over['median_diff_ms']:.0f} ms; "
        f"CPU time {over['with_cpu'] * 1000:.0f} vs {over['without_cpu'] * 1000:.0f} ms, "
        f"{over['overhead_cpu_ms']:.0f} ms more; best run vs. best run {over['min_ms']:.0f} ms)."
    )
    nb = over.get("no_bytecode")
    if nb is not None:
        text += (
            f" Subprocesses run with a bytecode cache (`PYTHONPYCACHEPREFIX` in the temp dir), as an installed "
            f"package has; this machine sets `PYTHONDONTWRITEBYTECODE=1`, and without that cache every run "
            f"recompiles and assertion-rewrites llmeval's modules: overhead then {nb['overhead_ms']:.0f} ms wall, "
            f"{nb['overhead_cpu_ms']:.0f} ms CPU (median of {nb['runs']})."
        )
    return text


def collect_note(coll: dict[str, Any], cases: int) -> str:
    return (
        f"(e) `pytest --collect-only -q` on a {cases}-row CSV suite (`python:` echo model), median of {coll['runs']} "
        f"runs after a warm-up: {coll['items']} items, whole run **{coll['wall_s']:.2f} s** (pytest's own "
        f"collection figure {coll['collect_s']:.2f} s)."
    )


def gpu_note(g: dict[str, Any], device: str) -> str:
    naive, plan = g["naive"], g["plan"]
    return (
        f"GPU ({device}), random Qwen2-0.5B shapes ({g['params'] / 1e6:.0f}M parameters), bf16, same prompts: "
        f"(a) {naive['gen_s']:.2f} s ({naive['tokens'] / naive['gen_s']:.0f} tokens/s), "
        f"(b) {plan['gen_s']:.2f} s ({plan['tokens'] / plan['gen_s']:.0f} tokens/s)."
    )


def section(
    gen: dict[str, Any],
    start: dict[str, Any],
    gpu: dict[str, Any] | None,
    f: dict[str, Any],
    info: dict[str, str],
    command: str,
    model: Path,
    sizes: Any,
) -> str:
    """The engine section of RESULTS.md as Markdown."""
    n = sizes.cases
    header = ("measurement", "how", "generation (s)", "whole run / load (s)", "cases/s", "tokens/s")
    lines = [
        "## Generation engine",
        "",
        f"Command: `{command}` — model `{model}`, {n} distinct FAQ prompts (`Q: {{{{ question }}}}\\nA:`), greedy, "
        f"max_new_tokens {sizes.max_new_tokens}, the same prompts in every row. Run {time.strftime('%Y-%m-%d %H:%M')}.",
        "",
        *_report.table(("machine", ""), list(info.items())),
        "",
        *_report.table(header, generation_rows(gen, n)),
        "",
        generation_note(gen, f, n),
        "",
        *([threads_note(gen, n), ""] if gen.get("threads") else []),
        overhead_note(start["overhead"]),
        "",
        collect_note(start["collect"], sizes.collect_cases),
        "",
    ]
    if gpu is None:
        lines += ["GPU (a)/(b) on a Qwen2-0.5B-shaped model: not run (add `--gpu` on a machine with CUDA).", ""]
    elif "skipped" in gpu:
        lines += [f"GPU (a)/(b) on a Qwen2-0.5B-shaped model: skipped, {gpu['skipped']}.", ""]
    else:
        lines += [gpu_note(gpu, info.get("gpu", "cuda")), ""]
    lines += ["### Targets", "", *_report.table(("target", "measured", "goal", "verdict"), _report.targets(f))]
    return "\n".join(lines) + "\n"
