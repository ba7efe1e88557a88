"""Cost of the metered template sandbox: load (expand + render) a 20,000-row table suite, and the hostile probes.

Run: .venv/bin/python bench/template_budget_bench.py [--rows 20000] [--repeats 3]
Prints the best wall time of `load_suite` over the repeats, and each hostile probe's outcome and time.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

from llmeval import SuiteError, load_suite

SUITE = """suite: bench
prompt: "Q: {{ question }}{% for t in tags %} #{{ t|upper }}{% endfor %}\\nA:"
defaults:
  scorers: [{contains: "{{ answer|lower }}"}]
cases:
  - cases_from: t.csv
    id: "r-{{ row }}"
    reference: "{{ answer }} ({{ question|length }} chars)"
    vars: {tags: [a, b, c]}
"""
PROBES = {
    "four nested loops over 400 chars": "{% for a in s %}{% for b in s %}{% for c in s %}{% for d in s %}{% endfor %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    "namespace doubling to 2**31": "{% set ns = namespace(s='x') %}{% for i in range(31) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s|length }}",
}


def load_time(folder: Path, rows: int, repeats: int) -> float:
    with (folder / "t.csv").open("w", newline="") as fh:
        rows_ = ([f"question {i} about refunds?", f"Answer {i}"] for i in range(rows))
        csv.writer(fh).writerows([["question", "answer"], *rows_])
    (folder / "s.yaml").write_text(SUITE)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        assert len(load_suite(folder / "s.yaml").cases) == rows
        best = min(best, time.perf_counter() - start)
    return best


def probe(folder: Path, prompt: str) -> tuple[str, float]:
    path = folder / "p.yaml"
    path.write_text(f"suite: p\nprompt: {prompt!r}\ncases:\n  - {{id: a, vars: {{s: {'y' * 400}}}, scorers: [{{exact: y}}]}}\n")
    start = time.perf_counter()
    try:
        load_suite(path)
        outcome = "loaded"
    except SuiteError as exc:
        outcome = str(exc).split(": ", 3)[-1].splitlines()[0][:90]
    return outcome, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-probes", action="store_true", help="skip the hostile probes (they hang without the budget)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(
            f"load_suite, {args.rows:,}-row table, 3 templates per case: best of {args.repeats}: "
            f"{load_time(folder, args.rows, args.repeats):.2f} s"
        )
        for name, prompt in ({} if args.no_probes else PROBES).items():
            outcome, seconds = probe(folder, prompt)
            print(f"{name}: {seconds:.2f} s: {outcome}")


if __name__ == "__main__":
    main()
