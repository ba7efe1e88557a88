"""How far a judge agrees with people: Cohen's kappa and accuracy of a scorer's pass/fail against human labels.

Labels: a CSV with a `case` column (optionally `suite`) and a `label` column (pass/fail, true/false, 1/0,
yes/no). Judged: a results file (JSON Lines) of a run; the scorer's `passed` on each case is its verdict.
Cases are matched by (suite, case) when the CSV names suites, else by case id.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TRUE, FALSE = {"pass", "true", "1", "yes", "y", "ok", "good"}, {"fail", "false", "0", "no", "n", "bad"}


@dataclass(frozen=True)
class Agreement:
    n: int
    accuracy: float
    kappa: float
    unmatched: int

    def describe(self, scorer: str) -> str:
        return f"{scorer} vs human labels: {self.n} case(s), accuracy {self.accuracy:.1%}, Cohen's kappa {self.kappa:.3f}" + (
            f" ({self.unmatched} labeled case(s) not in the results)" if self.unmatched else ""
        )


def agreement(human: Mapping[str, bool], judged: Mapping[str, bool]) -> Agreement:
    """Accuracy and Cohen's kappa (chance-corrected) over the keys both sides have."""
    keys = [k for k in human if k in judged]
    if not keys:
        raise ValueError("no labeled case was found in the results")
    pairs = [(human[k], judged[k]) for k in keys]
    observed = sum(a == b for a, b in pairs) / len(pairs)
    p_human, p_judge = sum(a for a, _ in pairs) / len(pairs), sum(b for _, b in pairs) / len(pairs)
    expected = p_human * p_judge + (1 - p_human) * (1 - p_judge)
    kappa = 1.0 if expected == 1 else (observed - expected) / (1 - expected)
    return Agreement(len(pairs), observed, kappa, len(human) - len(keys))


def read_labels(path: Path) -> tuple[dict[str, bool], bool]:
    """Labels by key, and whether keys include the suite."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "case" not in rows[0] or "label" not in rows[0]:
        raise ValueError(f"{path}: needs a header with 'case' and 'label' columns (optionally 'suite')")
    with_suite = "suite" in rows[0]
    return {_key(r, with_suite): _boolean(r["label"], path) for r in rows}, with_suite


def read_judged(path: Path, scorer: str, with_suite: bool) -> dict[str, bool]:
    """The scorer's verdict per case (the first sample of each) from a results file."""
    out: dict[str, bool] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line) if line.strip() else {}
        score = (row.get("scores") or {}).get(scorer) if row.get("kind", "case") == "case" else None
        if score is not None:
            out.setdefault(_key(row, with_suite), bool(score["passed"]))
    return out


def _key(row: Mapping[str, object], with_suite: bool) -> str:
    return f"{row.get('suite')}::{row.get('case')}" if with_suite else str(row.get("case"))


def _boolean(value: str, path: Path) -> bool:
    v = value.strip().lower()
    if v in TRUE or v in FALSE:
        return v in TRUE
    raise ValueError(f"{path}: label {value!r} is not pass/fail, true/false, 1/0 or yes/no")
