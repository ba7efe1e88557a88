"""What `make demo` says before and after its run: which suites hold planted faults and the verdict each should reach.

The expectations are the table in suites/DEMO.md (one row per suite). Before the run they are printed; after it,
each suite's outcome in the results file is checked against its row, and a suite that ended otherwise is named.

    python suites/demo_notes.py before
    python suites/demo_notes.py after reports/demo/results.jsonl      # exit 1 when a suite ended otherwise
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DEMO_MD = Path(__file__).with_name("DEMO.md")
COLUMNS = ["suite", "file", "planted fault", "failing gates", "failing cases", "expected"]


@dataclass(frozen=True)
class Outcome:
    failing_gates: int
    gates: int
    failing_cases: int
    cases: int

    @property
    def verdict(self) -> str:
        return "FAIL" if self.failing_gates or self.failing_cases else "PASS"

    def describe(self) -> str:
        return f"{self.failing_gates} / {self.gates} gates and {self.failing_cases} / {self.cases} cases failing"


@dataclass(frozen=True)
class Expectation:
    suite: str
    file: str
    planted: str
    outcome: Outcome
    line: int


def _count(cell: str, where: str) -> tuple[int, int]:
    failing, sep, total = cell.partition("/")
    if not sep or not failing.strip().isdigit() or not total.strip().isdigit():
        raise ValueError(f"{where}: '{cell}' is not 'failing / all'")
    return int(failing), int(total)


def expectations(path: Path = DEMO_MD) -> list[Expectation]:
    """The rows of the table in DEMO.md; a malformed row is an error naming its line."""
    found, header = [], None
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.startswith("|") or set(text) <= set("|-: "):
            continue
        cells = [c.strip() for c in text.strip().strip("|").split("|")]
        if header is None:
            if cells != COLUMNS:
                raise ValueError(f"{path}:{number}: the table's columns must be {' | '.join(COLUMNS)}")
            header = cells
            continue
        where = f"{path}:{number}"
        if len(cells) != len(COLUMNS):
            raise ValueError(f"{where}: {len(cells)} cells, want {len(COLUMNS)}")
        row = dict(zip(COLUMNS, cells, strict=True))
        gates, cases = _count(row["failing gates"], where), _count(row["failing cases"], where)
        outcome = Outcome(gates[0], gates[1], cases[0], cases[1])
        if row["expected"] != outcome.verdict:
            raise ValueError(f"{where}: expected {row['expected']}, but the counts make it {outcome.verdict}")
        found.append(Expectation(row["suite"], row["file"], row["planted fault"], outcome, number))
    if not found:
        raise ValueError(f"{path}: no table of expected outcomes")
    return found


def outcomes(results: Path) -> dict[str, Outcome]:
    """Suite -> what the run in `results` found (gates and case outputs, over every model)."""
    from llmeval.records import read_results

    read = read_results(results)
    names = {c.suite for c in read.cases} | {g.suite for g in read.gates}
    out = {}
    for suite in sorted(names):
        gates = [g for g in read.gates if g.suite == suite]
        cases = [c for c in read.cases if c.suite == suite]
        # A regression gate is skipped in a run that records the baseline (make baseline): not a failure there.
        failing_gates = sum(g.status in ("failed", "error") for g in gates)
        failing_cases = sum(c.status != "passed" for c in cases)
        out[suite] = Outcome(failing_gates, len(gates), failing_cases, len(cases))
    return out


def before(expected: Iterable[Expectation]) -> list[str]:
    rows = list(expected)
    planted = sum(not e.planted.startswith("none") for e in rows)
    head = f"== the demo: {planted} of {len(rows)} suites test an app or model with a planted fault (suites/DEMO.md)"
    lines = [f"{head}; expected release verdict: FAIL"]
    for e in rows:
        lines.append(f"   {e.outcome.verdict:<4} expected  {e.suite:<18} {e.planted}")
    lines.append("== the FAILED lines and pytest's exit 1 below are those planted failures: they are the demo's point")
    return lines


def after(expected: Iterable[Expectation], found: dict[str, Outcome]) -> tuple[list[str], bool]:
    """Lines saying whether each suite ended as DEMO.md says, and whether all did."""
    lines, ok = [], True
    for e in expected:
        got = found.get(e.suite)
        if got == e.outcome:
            lines.append(f"   {got.verdict:<4} as expected  {e.suite:<18} {got.describe()}")
            continue
        ok = False
        seen = got.describe() if got else "not in the results"
        lines.append(f"   UNEXPECTED  {e.suite:<18} {seen}; suites/DEMO.md:{e.line} expects {e.outcome.describe()}")
    lines.insert(0, "== each suite's outcome against suites/DEMO.md:")
    if ok:
        lines.append("== all as expected: the release verdict FAIL above is the planted faults being caught")
    else:
        lines.append("== the demo did not end as suites/DEMO.md expects: a change in llmeval or in the demo's apps? (exit 1)")
    return lines, ok


def main(argv: list[str]) -> int:
    expected = expectations()
    if argv[:1] == ["before"]:
        print("\n".join(before(expected)))
        return 0
    if argv[:1] == ["after"] and len(argv) == 2:
        lines, ok = after(expected, outcomes(Path(argv[1])))
        print("\n".join(lines))
        return 0 if ok else 1
    print(__doc__, file=sys.stderr)
    return 4


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
