"""Scale benchmarks (issue 8, item 10): a large run of a `python:` echo app through pytest, and scoring time
as a share of generation time on the demo suites. Writes the "scale" section of bench/RESULTS.md."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _browser
import _measure
import _report
import _suites

ROOT = Path(__file__).resolve().parents[1]
TIME = "/usr/bin/time"


def timed_pytest(args: list[str], cwd: Path) -> dict[str, Any]:
    """`python -m pytest ARGS`: wall time, peak RSS of the pytest process (GNU time), exit status and output."""
    with tempfile.TemporaryDirectory(prefix="llmeval-bench-rss-") as tmp:
        rss_file = Path(tmp) / "rss.txt"
        command = [sys.executable, "-m", "pytest", *args]
        if Path(TIME).exists():
            command = [TIME, "-f", "%M", "-o", str(rss_file), *command]
        started = time.perf_counter()
        proc = subprocess.run(command, cwd=cwd, env=_measure.env(), capture_output=True, text=True)
        wall = time.perf_counter() - started
        rss = int(rss_file.read_text().split()[-1]) / 1024 if rss_file.exists() else None
    out = proc.stdout + proc.stderr
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"pytest {' '.join(args)} exited {proc.returncode}:\n{out[-3000:]}")
    return {"wall_s": wall, "rss_mb": rss, "rc": proc.returncode, "out": out}


def scale_run(work: Path, cases: int) -> dict[str, Any]:
    """(f) `cases` cases of an echo `python:` app through pytest, with a results file and an HTML report."""
    spec = _suites.write_echo_app(work)
    suite = _suites.write_suite(work, cases, spec, name="scale")
    results, html = work / "reports" / "results.jsonl", work / "reports" / "report.html"
    args = [suite.name, "-q", "-p", "no:cacheprovider", "--llmeval-results", str(results), "--llmeval-html", str(html)]
    run = timed_pytest(args, work)
    summary = _measure.SUMMARY.search(run["out"])
    return {
        "cases": cases,
        "wall_s": run["wall_s"],
        "rss_mb": run["rss_mb"],
        "rc": run["rc"],
        "gen_s": float(summary[4]) if summary else None,
        "command": f"pytest {' '.join(args[:4])} --llmeval-results reports/results.jsonl --llmeval-html reports/report.html",
        "results_mb": results.stat().st_size / 1e6 if results.exists() else None,
        "html_mb": html.stat().st_size / 1e6 if html.exists() else None,
        "browser": _browser.open_time(html) if html.exists() else {"skipped": "no HTML report was written"},
    }


SCORED = re.compile(r"llmeval: scored (\d+) outputs in ([\d.]+) s \(scorer models load ([\d.]+) s apart\)")


def scoring_share(work: Path) -> dict[str, Any]:
    """(g) The demo suites on the demo model, cache off: the core's generation phase vs. its scoring phase.

    Both come from the core's own lines: generation (model load apart) and scoring (scorer engines and
    models, presidio + spaCy and the similarity encoder, loaded first and timed apart).
    """
    args = [
        "suites/",
        "-p",
        "no:cacheprovider",
        "--llmeval-cache",
        "off",
        "--llmeval-threads",
        "1",
        "--llmeval-results",
        str(work / "demo-results.jsonl"),
        "-q",
    ]
    run = timed_pytest(args, ROOT)
    summary, load = _measure.SUMMARY.search(run["out"]), _measure.LOAD.search(run["out"])
    scored = SCORED.search(run["out"])
    return {
        "gen_s": float(summary[4]) if summary else None,
        "load_s": float(load[1]) if load else 0.0,
        "outputs": int(summary[1]) if summary else None,
        "score_s": float(scored[2]) if scored else None,
        "scorer_load_s": float(scored[3]) if scored else None,
        "wall_s": run["wall_s"],
        "command": f"pytest {' '.join(args[:7])} -q",
    }


def targets(scale: dict[str, Any] | None, share: dict[str, Any] | None) -> list[tuple[str, str, str, str]]:
    """(target, measured, goal, PASS/MISS) rows for the scale section."""
    rows: list[tuple[str, str, str, str]] = []
    if scale:
        n, v = f"{scale['cases']:,}", _report.verdict
        rows += [
            (
                f"(f) {n}-case run: peak RSS of the pytest process",
                _mb(scale["rss_mb"]),
                "<= 1,500 MB",
                v(scale["rss_mb"] or 0, 1500, at_least=False) if scale["rss_mb"] else "-",
            ),
            (
                f"(f) {n}-case run: HTML report size",
                _mb(scale["html_mb"]),
                "<= 20 MB",
                v(scale["html_mb"] or 0, 20, at_least=False) if scale["html_mb"] else "-",
            ),
        ]
        ready = scale["browser"].get("ready_s")
        rows.append(
            (
                f"(f) {n}-case run: open the HTML in headless Chromium (table usable)",
                f"{ready:.2f} s" if ready is not None else scale["browser"].get("skipped", "-"),
                "<= 5 s",
                v(ready, 5, at_least=False) if ready is not None else "-",
            )
        )
    if share and share["gen_s"] and share["score_s"] is not None:
        ratio = share["score_s"] / share["gen_s"]
        rows.append(
            (
                "(g) scoring / generation time, demo suites (cache off; model loads apart on both sides)",
                f"{ratio:.0%}",
                "<= 10%",
                _report.verdict(ratio, 0.10, at_least=False),
            )
        )
    return rows


def _mb(value: float | None) -> str:
    return f"{value:,.1f} MB" if value is not None else "-"


def section(scale: dict[str, Any] | None, share: dict[str, Any] | None, command: str, info: dict[str, str]) -> str:
    """The markdown of the scale section."""
    lines = [
        "## Scale and scoring share",
        "",
        f"Command: `{command}` — run {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{info.get('cpu', '?')}, {info.get('cores', '?')} cores, load at start {info.get('load', '-')}.",
        "",
    ]
    if scale:
        b = scale["browser"]
        opened = (
            f"load event {b['load_s']:.2f} s, case table usable {b['ready_s']:.2f} s ({b['rows_rendered']} rows rendered)"
            if "load_s" in b
            else f"not measured: {b['skipped']}"
        )
        lines += [
            f"(f) `{scale['command']}` on a {scale['cases']:,}-case CSV suite (`python:` echo app, `length` scorer), "
            f"exit {scale['rc']}: whole run **{scale['wall_s']:.1f} s** (generation phase {scale['gen_s']} s), "
            f"peak RSS **{_mb(scale['rss_mb'])}**, results file {_mb(scale['results_mb'])}, "
            f"HTML report **{_mb(scale['html_mb'])}**; opened in headless Chromium: {opened}.",
            "",
        ]
    if share:
        lines += [
            f"(g) `{share['command']}`: {share['outputs']} outputs, generation phase {share['gen_s']} s "
            f"(model load {share['load_s']} s apart), scoring phase {share['score_s']} s (scorer engines and "
            f"models load {share['scorer_load_s']} s apart), whole run {share['wall_s']:.1f} s. Both phases "
            "are timed by the core; most of the scoring time is presidio + spaCy NER on the PII suite.",
            "",
        ]
    lines += [
        "For comparison, issue 8's figures before the paginated report and the batched fsync: 100,000 cases, "
        "whole run 11 min 50 s, peak RSS 6.85 GB, HTML report 171 MB, 2 minutes to open in Chromium.",
        "",
    ]
    lines += ["### Targets", "", *_report.table(("target", "measured", "goal", "verdict"), targets(scale, share))]
    return "\n".join(lines) + "\n"
