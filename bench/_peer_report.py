"""Medians, agreement counts, ratios and the "peers" section of bench/RESULTS.md for bench/peers_bench.py."""

from __future__ import annotations

import statistics
import time
from typing import Any

import _report

FIGURES = ("wall_s", "cpu_s", "rss_mb", "load_s", "gen_s", "gen_cpu_s", "detect_s")


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the successful runs (texts from the first), the run count and the first error if any failed."""
    ok = [r for r in runs if "error" not in r]
    out: dict[str, Any] = {"runs": len(ok), "failed": len(runs) - len(ok)}
    if len(ok) < len(runs):
        out["error"] = next(r["error"] for r in runs if "error" in r)
    for name in FIGURES:
        values = [r[name] for r in ok if r.get(name) is not None]
        if values:
            out[name] = statistics.median(values)
    if ok:
        out["texts"] = ok[0]["texts"]
        out["detected_batch"] = ok[0].get("detected_batch")
    return out


def agreement(rows: dict[str, dict[str, Any]], reference: str) -> None:
    """Each row's count of texts identical to the reference row's (greedy decoding: they should all agree)."""
    ref = rows.get(reference, {}).get("texts")
    for row in rows.values():
        texts = row.get("texts")
        if ref is not None and texts is not None:
            row["same"] = sum(a == b for a, b in zip(ref, texts, strict=False))  # a missing text counts as different


def _s(value: float | None, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if value is not None else "-"


def _ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.1f}x" if value is not None and base else "-"


ENGINE = "llmeval engine, batch auto"  # the in-process row: the one whose generation CPU time compares with the workers'


def table(rows: dict[str, dict[str, Any]], how: dict[str, str], reference: str, n: int) -> list[str]:
    """One line per contender: phases, process figures, ratios to llmeval and the agreement count."""
    ref, eng = rows.get(reference, {}), rows.get(ENGINE, {})
    header = (
        "contender",
        "how",
        "load (s)",
        "generation (s)",
        "gen CPU (s)",
        "cases/s",
        "process wall (s)",
        "process CPU (s)",
        "peak RSS (MB)",
        f"generation / {reference}",
        f"gen CPU / {ENGINE}",
        f"process CPU / {reference}",
        f"same text as {reference}",
    )
    lines: list[tuple[str, ...]] = []
    for name, r in rows.items():
        if "gen_s" not in r:
            lines.append((name, how[name], *["-"] * 10, f"failed: {r.get('error', 'not run')}"[:300].replace("|", "/")))
            continue
        lines.append(
            (
                name,
                how[name],
                _s(r.get("load_s")),
                _s(r["gen_s"]),
                _s(r.get("gen_cpu_s")),
                f"{n / max(r['gen_s'], 0.005):.0f}",
                _s(r.get("wall_s"), 1),
                _s(r.get("cpu_s"), 1),
                _s(r.get("rss_mb"), 0),
                _ratio(r["gen_s"], ref.get("gen_s")),
                _ratio(r.get("gen_cpu_s"), eng.get("gen_cpu_s")),
                _ratio(r.get("cpu_s"), ref.get("cpu_s")),
                f"{r['same']}/{n}" if "same" in r else "-",
            )
        )
    return _report.table(header, lines)


def scale_table(scale: list[dict[str, Any]]) -> list[str]:
    header = (
        "cases",
        "model",
        "generation phase (s)",
        "cases/s (generation)",
        "process wall (s)",
        "cases/s (whole run)",
        "process CPU (s)",
        "peak RSS (MB)",
    )
    lines = []
    for r in scale:
        if "gen_s" not in r:
            lines.append((f"{r['cases']:,}", r["label"], f"failed: {r.get('error', '?')}"[:300].replace("|", "/"), *["-"] * 5))
            continue
        lines.append(
            (
                f"{r['cases']:,}",
                r["label"],
                _s(r["gen_s"]),
                f"{r['cases'] / max(r['gen_s'], 0.005):,.0f}",
                _s(r["wall_s"], 1),
                f"{r['cases'] / r['wall_s']:,.1f}",
                _s(r.get("cpu_s"), 1),
                _s(r.get("rss_mb"), 0),
            )
        )
    return _report.table(header, lines)


def section(result: dict[str, Any]) -> str:
    """The markdown of the peers section."""
    s, info = result["settings"], result["machine"]
    lines = [
        "## llmeval vs. its peers (issue 12, item 6)",
        "",
        f"Command: `{result['command']}` — run {time.strftime('%Y-%m-%d %H:%M')}, {info.get('cpu')}, "
        f"{info.get('cores')} cores, load average at start {result['load_start']}, at end "
        f"{info.get('load average at end (1/5/15 min)', '-')}; python {info.get('python')}, torch {info.get('torch')}, "
        f"transformers {info.get('transformers')} in every venv.",
        "",
        f"Workload: model `{s['model']}`, {s['n']} distinct FAQ prompts (`Q: {{{{ question }}}}\\nA:`), greedy, "
        f"{s['tokens']} new tokens, the same prompts for every contender. Settings: {s['threads']} torch thread "
        "for everyone (OMP_NUM_THREADS and torch.set_num_threads / `--llmeval-threads`); each run is a fresh "
        f"process; {s['repeats']} interleaved rounds (the order rotates each round), medians shown. The box is "
        "shared with other sessions: wall times are noisy, CPU seconds are the steadier figure.",
        "",
    ]
    lines += [f"- {note}" for note in result["notes"]] + [""]
    lines += table(result["rows"], result["how"], result["reference"], s["n"]) + [""]
    lines += result["explain"] + [""]
    if result.get("scale"):
        lines += ["### Scaling (llmeval through pytest, cold cache, 1 torch thread)", ""]
        lines += scale_table(result["scale"]) + [""]
        lines += result["scale_explain"] + [""]
    return "\n".join(lines)
