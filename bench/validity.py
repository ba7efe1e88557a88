"""The release gates' error rates, measured by simulation (issue 16, item 8).

For every gate kind, apps with a known truth — a bad app exactly at the limit, a clearly bad one, a good one
clearly inside — produce result rows at n = 1, 3, 10, 50, 200 independent units, in plain and clustered designs
(repeats of a case, names per counterfactual base case, variants of a template). Each run's rows go through
llmeval's own gate (bench/_validity_gate.py: ``decide``). No generation. Per gate kind x design x n: the
false-pass rate (a bad app passes) and the false-alarm rate (a good app fails), with their Monte Carlo standard
errors. A cell is flagged when a false-pass rate exceeds 1 - confidence by more than 3 Monte Carlo errors.

Cost grows with runs: today's fairness gates take 0.1-0.4 s per evaluation at n = 200 (fairlearn and a 2,000-draw
bootstrap), so 100 runs per cell took 110 min of cell time on a loaded 2-core machine and the default 1,000 ten
times that; spread it with --jobs, or measure some kinds with --kinds. `make bench` runs 100 per cell.

Run: .venv/bin/python bench/validity.py [--runs 1000] [--quick] [--jobs N] [--kinds "pass_rate,consistency"]
                                        [--n 1,3,10,50,200] [--json PATH] [--from-json PATH] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import numpy as np  # noqa: E402
from _report import table, write_section  # noqa: E402
from _validity_cells import CONFIDENCE, KINDS, TRUTHS, Kind, design, kind  # noqa: E402
from _validity_gate import decide  # noqa: E402
from _validity_sim import Design  # noqa: E402

RESULTS = HERE / "RESULTS.md"
SIZES = (1, 3, 10, 50, 200)
ALPHA = 1 - CONFIDENCE
FLAG_SE = 3.0
NOTES = (
    "How to read it: a false-pass rate at the limit is the worst case over bad apps; the false alarm of the good app "
    "is the power a user gets at that n. A gate with `require: shown_within` (every `ci` gate by default) bounds the "
    "false pass; one with `require: not_shown_beyond` (regression rules by default, and the `not_shown_beyond` rows) "
    "bounds the false alarm of an app inside the limit instead, and its false pass at the limit is about 1 - alpha by "
    "construction. FLAG marks a row whose bounded rate is above 0.05 by more than 3 Monte Carlo errors. Judge designs "
    "are measured against the answers' true quality, through the judge's own audit (a pairwise judge whose order "
    "disagreement exceeds 20% is refused: its outputs error, which fails the gate): a lenient rater (+0.5 on 1-5) is "
    "biased in a way no bound on its scores can see. Fairness: 1 name/group gives one set per applicant; 4 "
    "names/group reuses each applicant in 4 sets.",
)


@dataclass(frozen=True)
class Cell:
    """One measured cell: how often the gate passed on ``runs`` simulated runs of an app with this truth."""

    kind: str
    design: str
    n: int
    truth: str  # "at limit", "bad" or "good"
    truth_value: float
    runs: int
    passed: int
    seconds: float

    @property
    def error_rate(self) -> float:
        """False-pass rate for bad apps, false-alarm rate for the good one."""
        wrong = self.passed if self.truth != "good" else self.runs - self.passed
        return wrong / self.runs

    @property
    def mc_se(self) -> float:
        p = self.error_rate
        return math.sqrt(p * (1 - p) / self.runs)


def run_cell(k: Kind, d: Design, n: int, truth: str, runs: int, seed: int = 0) -> Cell:
    """Simulate ``runs`` runs of the app with this truth and count the runs whose gate passed."""
    value = k.truths[TRUTHS.index(truth)]
    rng = np.random.default_rng([seed, zlib.crc32(f"{k.name}|{d.label}|{n}|{truth}".encode())])
    started = time.perf_counter()
    with warnings.catch_warnings():  # a group without positives at small n: numpy warns on every bootstrap
        warnings.filterwarnings("ignore", "All-NaN slice encountered", RuntimeWarning)
        passed = sum(decide(k.spec, *k.simulate(value, n, d, rng)) for _ in range(runs))
    return Cell(k.name, d.label, n, truth, value, runs, passed, time.perf_counter() - started)


def flagged(cells: Sequence[Cell]) -> bool:
    """The error rate the gate bounds above 1 - confidence by more than FLAG_SE Monte Carlo errors.

    A ``shown_within`` gate bounds the false pass of bad apps; a ``not_shown_beyond`` gate (regressions by
    default) bounds the false alarm of an app exactly inside (a good one).
    """
    limit = ALPHA + FLAG_SE * math.sqrt(ALPHA * (1 - ALPHA) / max(1, min((c.runs for c in cells), default=1)))
    guarded = [c for c in cells if (c.truth == "good") == (kind(c.kind).guards == "false_alarm")]
    return any(c.error_rate > limit for c in guarded)


def _job(args: tuple[str, str, int, str, int, int]) -> Cell:
    name, label, n, truth, runs, seed = args
    k = kind(name)
    return run_cell(k, design(k, label), n, truth, runs, seed)


def plan(kinds: Sequence[Kind], sizes: Sequence[int], runs: int, seed: int) -> list[tuple[str, str, int, str, int, int]]:
    return [(k.name, d.label, n, t, runs, seed) for k in kinds for d in k.designs for n in sizes for t in TRUTHS]


def measure(jobs: list[tuple[str, str, int, str, int, int]], workers: int) -> list[Cell]:
    """Every cell, in plan order (in ``workers`` processes when > 1); progress on stderr."""
    if workers > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            return list(_progress(pool.imap(_job, jobs), len(jobs)))
    return list(_progress(map(_job, jobs), len(jobs)))


def _progress(cells: Iterable[Cell], total: int) -> Iterable[Cell]:
    started = time.perf_counter()
    for i, cell in enumerate(cells, 1):
        print(
            f"[validity {time.perf_counter() - started:6.0f} s] {i}/{total} {cell.kind} | {cell.design} | n={cell.n} | "
            f"{cell.truth}: {cell.error_rate:.3f} ({cell.seconds:.1f} s)",
            file=sys.stderr,
            flush=True,
        )
        yield cell


def _rate(c: Cell) -> str:
    return f"{c.error_rate:.3f} ± {c.mc_se:.3f}"


def rows(cells: Sequence[Cell]) -> list[tuple[str, ...]]:
    """One table row per gate kind x design x n: false-pass at the limit and clearly bad, false alarm, flag."""
    groups: dict[tuple[str, str, int], dict[str, Cell]] = {}
    for c in cells:
        groups.setdefault((c.kind, c.design, c.n), {})[c.truth] = c
    out = []
    for (name, label, n), by_truth in groups.items():
        got = [by_truth.get(t) for t in TRUTHS]
        shown = tuple(_rate(c) if c else "-" for c in got)
        out.append((name, label, str(n), *shown, "**FLAG**" if flagged([c for c in got if c]) else ""))
    return out


def section(cells: Sequence[Cell], command: str, wall_s: float, jobs: int = 1) -> str:
    header = ("gate kind", "design", "n", "false-pass at limit", "false-pass clearly bad", "false alarm (good)", "> 5%?")
    runs = sorted({c.runs for c in cells})
    flags = sum(1 for r in rows(cells) if r[-1])
    specs = [
        f"- {k.name}: `{json.dumps(k.spec)}`; truths at limit / bad / good: {k.truths}"
        for k in KINDS
        if any(c.kind == k.name for c in cells)
    ]
    lines = [
        "## Gate validity (bench/validity.py)",
        "",
        f"Command: `{command}` ({', '.join(map(str, runs))} simulated runs per cell; {wall_s / 60:.1f} min wall time in "
        f"{jobs} process(es), {sum(c.seconds for c in cells) / 60:.1f} min summed over cells).",
        "Rates are shares of runs ± their Monte Carlo standard error. n counts independent units (cases, base cases of "
        "counterfactual sets, templates); clustered designs put several outputs on each unit. **FLAG**: the error rate "
        f"the gate bounds (false pass for shown_within, false alarm for not_shown_beyond) above {ALPHA:g} "
        f"(= 1 - confidence) by more than {FLAG_SE:g} Monte Carlo errors. "
        f"{flags} of {len(rows(cells))} rows flagged.",
        "",
        *table(header, rows(cells)),
        "",
        *NOTES,
        "",
        "Gates as the suites write them (confidence 0.95 throughout):",
        "",
        *specs,
    ]
    return "\n".join(lines)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="simulated runs per cell (default 1000)")
    parser.add_argument("--quick", action="store_true", help="100 runs per cell at n = 3, 50 (a fast check)")
    parser.add_argument("--kinds", help="comma-separated gate kinds (default: all): " + ", ".join(k.name for k in KINDS))
    parser.add_argument("--n", help="comma-separated sizes (default 1,3,10,50,200)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write every cell as JSON to this path")
    parser.add_argument("--from-json", type=Path, help="show (and write) a run saved with --json instead of running")
    parser.add_argument("--no-write", action="store_true", help="print the table without writing bench/RESULTS.md")
    return parser.parse_args(argv)


def save(path: Path, cells: Sequence[Cell], command: str, wall_s: float, jobs: int) -> None:
    data = [asdict(c) | {"error_rate": c.error_rate, "mc_se": c.mc_se} for c in cells]
    path.write_text(json.dumps({"command": command, "wall_s": wall_s, "jobs": jobs, "cells": data}, indent=1))


def load(path: Path) -> tuple[list[Cell], str, float, int]:
    """A run saved with --json: its cells, command, wall time and process count."""
    data = json.loads(path.read_text())
    fields = Cell.__dataclass_fields__
    cells = [Cell(**{k: c[k] for k in fields}) for c in data["cells"]]
    return cells, data["command"], data["wall_s"], data["jobs"]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.from_json:
        cells, command, wall_s, jobs = load(args.from_json)
    else:
        kinds = [kind(name.strip()) for name in args.kinds.split(",")] if args.kinds else list(KINDS)
        sizes = [int(x) for x in args.n.split(",")] if args.n else ([3, 50] if args.quick else list(SIZES))
        started, jobs = time.perf_counter(), args.jobs
        cells = measure(plan(kinds, sizes, 100 if args.quick else args.runs, args.seed), jobs)
        command = " ".join([".venv/bin/python bench/validity.py", *(argv if argv is not None else sys.argv[1:])])
        wall_s = time.perf_counter() - started
    text = section(cells, command, wall_s, jobs)
    print(text, flush=True)
    if args.json:
        save(args.json, cells, command, wall_s, jobs)
    if not args.no_write:
        write_section(RESULTS, text, name="validity")
    return 0


if __name__ == "__main__":
    sys.exit(main())
