"""The machine description, the targets check and the engine section of bench/RESULTS.md."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

START, END = "<!-- engine:start -->", "<!-- engine:end -->"  # this module's own section


def machine() -> dict[str, str]:
    """CPU model, cores, load, Python, torch and transformers versions, torch threads, CUDA device if any."""
    import torch
    import transformers

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or cpu
    info = {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "torch threads": str(torch.get_num_threads()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "os": f"{platform.system()} {platform.release()}",
    }
    if hasattr(os, "getloadavg"):
        info["load average at end (1/5/15 min)"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def verdict(value: float, goal: float, *, at_least: bool, info: bool = False) -> str:
    ok = value >= goal if at_least else value <= goal
    text = "PASS" if ok else "MISS"
    return f"({text}, informational)" if info else text


def targets(f: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(target, measured, goal, PASS/MISS) rows from the figures."""
    rows = [
        (
            "(b) speed-up over (a): generation, model loaded in both (in-process)",
            f"{f['speedup_inproc']:.1f}x",
            ">= 8x",
            verdict(f["speedup_inproc"], 8, at_least=True),
        ),
        (
            "(b) speed-up over (a): pytest generation phase less its model load, vs. naive loop",
            f"{f['speedup_pytest_gen']:.1f}x",
            ">= 8x",
            verdict(f["speedup_pytest_gen"], 8, at_least=True),
        ),
        (
            "(b) speed-up over (a): pytest generation phase + model load vs. naive import+load+loop (start-up included)",
            f"{f['speedup_pytest']:.1f}x",
            ">= 8x",
            verdict(f["speedup_pytest"], 8, at_least=True, info=True),
        ),
        (
            "(c) warm cache / (b): generation, in-process",
            f"{f['warm_ratio_inproc']:.2%}",
            "<= 5%",
            verdict(f["warm_ratio_inproc"], 0.05, at_least=False),
        ),
        (
            "(c) warm cache / (b): pytest generation phase",
            f"{f['warm_ratio_pytest']:.2%}",
            "<= 5%",
            verdict(f["warm_ratio_pytest"], 0.05, at_least=False),
        ),
        (
            "(d) plugin start-up overhead (median)",
            f"{f['overhead_ms']:.0f} ms",
            "<= 50 ms",
            verdict(f["overhead_ms"], 50, at_least=False),
        ),
        (
            "(e) collecting a 10,000-case suite (whole pytest wall time)",
            f"{f['collect_wall_s']:.2f} s",
            "<= 3 s",
            verdict(f["collect_wall_s"], 3, at_least=False),
        ),
    ]
    if "speedup_1thread" in f:
        rows.insert(
            3,
            (
                "(b) speed-up over (a), in-process, both on 1 torch thread (informational)",
                f"{f['speedup_1thread']:.1f}x",
                ">= 8x",
                verdict(f["speedup_1thread"], 8, at_least=True, info=True),
            ),
        )
    if "gpu_speedup" in f:
        rows.append(
            (
                "GPU 0.5B: (b) speed-up over (a), in-process",
                f"{f['gpu_speedup']:.1f}x",
                ">= 10x",
                verdict(f["gpu_speedup"], 10, at_least=True),
            )
        )
    return rows


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_section(results: Path, section: str, name: str = "engine") -> None:
    """Replace the text between a section's markers (adding them if absent); other sections stay as they are."""
    start, end = markers(name)
    block = f"{start}\n{section.rstrip()}\n{end}"
    text = results.read_text(encoding="utf-8") if results.exists() else "# Benchmark results\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        head, sep, tail = text.partition("\n\n")
        text = f"{head}\n\n{block}\n\n{tail}" if sep else f"{text.rstrip()}\n\n{block}\n"
    results.write_text(text, encoding="utf-8")
