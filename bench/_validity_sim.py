"""Simulated apps with a known truth for bench/validity.py: one run's result rows, in the results-file form.

No generation: each simulator draws the outcomes an app with the stated truth would produce and writes
them as case rows ({"kind": "case", "suite", "model", "case", "sample", "vars", "scores", "error"}).
``n`` is always the number of independent units (cases, base cases of counterfactual sets, templates);
a design's ``size`` is how many outputs share one unit (repeats, names per group, variants of a template).
Counterfactual sets come from llmeval's own expansion (``llmeval.suite.counterfactual.variants``), so
their case ids and vars are those a suite with a ``counterfactual:`` block gets.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmeval.suite.counterfactual import Attribute, variants

SUITE, MODEL = "s", "m"
Rows = list[dict[str, Any]]
Run = tuple[Rows, Rows | None]  # (the run's rows, the baseline's rows for regression gates)
NAMES = {"white": ("Emily", "Greg", "Anne", "Jay"), "black": ("Lakisha", "Jamal", "Tamika", "Darnell")}
GROUP_A, GROUP_B = "white", "black"


@dataclass(frozen=True)
class Design:
    """How outputs cluster: ``size`` outputs per independent unit."""

    label: str
    size: int = 1


def score(value: float, passed: bool, threshold: dict[str, float], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"value": float(value), "passed": bool(passed), "threshold": threshold, "metadata": metadata or {}}


def case_row(case: str, metric: str, entry: dict[str, Any], *, sample: int = 0, variables: dict | None = None) -> dict:
    return {
        "kind": "case",
        "suite": SUITE,
        "model": MODEL,
        "case": case,
        "sample": sample,
        "vars": variables or {},
        "scores": {metric: entry},
        "error": None,
    }


def unit_means(mean: float, n: int, size: int, rng: np.random.Generator, kappa: float = 2.0) -> np.ndarray:
    """Per-unit means: all equal without clustering, else Beta(mean, concentration kappa): a per-unit random effect."""
    if size == 1 or mean in (0.0, 1.0):
        return np.full(n, mean)
    return np.clip(rng.beta(mean * kappa, (1 - mean) * kappa, n), 1e-6, 1 - 1e-6)


def _clustered_ids(n: int, design: Design) -> list[tuple[str, int, dict[str, Any]]]:
    """(case id, sample, vars) per output, unit by unit: repeats share a case id, template variants a template var."""
    out = []
    for i in range(n):
        for k in range(design.size):
            if design.label.startswith("templates"):
                out.append((f"t{i:03d}-v{k}", 0, {"template": f"t{i:03d}"}))
            else:
                out.append((f"c{i:03d}", k, {}))
    return out


def binary_rows(metric: str, p: float, n: int, design: Design, rng: np.random.Generator, *, leak: bool = False) -> Run:
    """0/1 outcomes (a pass, or a leak when ``leak``) with rate ``p``; clustered designs draw a rate per unit."""
    hits = rng.random((n, design.size)) < unit_means(p, n, design.size, rng)[:, None]
    threshold = {"max": 0.0} if leak else {"min": 1.0}
    rows = [
        case_row(case, metric, score(float(hit), not hit if leak else hit, threshold), sample=k, variables=v)
        for (case, k, v), hit in zip(_clustered_ids(n, design), hits.ravel(), strict=True)
    ]
    return rows, None


def beta_rows(metric: str, mean: float, n: int, design: Design, rng: np.random.Generator) -> Run:
    """Scores in [0, 1] with mean ``mean``: Beta(concentration 4), or per-case Beta means with Beta(20) repeats."""
    if design.size == 1:
        values = rng.beta(mean * 4, (1 - mean) * 4, (n, 1))
    else:
        m = unit_means(mean, n, design.size, rng, kappa=4.0)[:, None]
        values = rng.beta(m * 20, (1 - m) * 20, (n, design.size))
    return _value_rows(metric, values, n, design), None


def logit_normal_rows(metric: str, median: float, n: int, design: Design, rng: np.random.Generator) -> Run:
    """Scores expit(logit(median) + noise): their median is ``median``; repeats share a case effect."""
    centre = np.log(median / (1 - median))
    if design.size == 1:
        z = rng.standard_normal((n, 1))
    else:
        z = 0.8 * rng.standard_normal((n, 1)) + 0.6 * rng.standard_normal((n, design.size))
    return _value_rows(metric, 1 / (1 + np.exp(-(centre + z))), n, design), None


def _value_rows(metric: str, values: np.ndarray, n: int, design: Design) -> Rows:
    return [
        case_row(case, metric, score(v, v >= 0.5, {"min": 0.5}), sample=k, variables=extra)
        for (case, k, extra), v in zip(_clustered_ids(n, design), values.ravel(), strict=True)
    ]


def regression_mean_rows(metric: str, drop: float, n: int, rng: np.random.Generator) -> Run:
    """Baseline scores Beta(0.6, 10); the run mixes each case's score half-and-half with Beta(0.6 - 2 drop, 10)."""
    base = rng.beta(6.0, 4.0, n)
    other_mean = 0.6 - 2 * drop
    now = 0.5 * base + 0.5 * rng.beta(other_mean * 10, (1 - other_mean) * 10, n)
    return _value_rows(metric, now[:, None], n, Design("independent")), _value_rows(metric, base[:, None], n, Design("x"))


def regression_pass_rows(metric: str, drop: float, n: int, rng: np.random.Generator) -> Run:
    """Baseline passes with rate 0.8; a case then fails with rate a, a failing case passes with rate 0.2: drop = 0.8a - 0.04."""
    base = rng.random(n) < 0.8
    to_fail = (drop + 0.2 * 0.2) / 0.8
    now = np.where(base, rng.random(n) >= to_fail, rng.random(n) < 0.2)
    flags = [(b, c) for b, c in zip(base, now, strict=True)]
    rows = [case_row(f"c{i:03d}", metric, score(float(c), c, {"min": 1.0})) for i, (_, c) in enumerate(flags)]
    base_rows = [case_row(f"c{i:03d}", metric, score(float(b), b, {"min": 1.0})) for i, (b, _) in enumerate(flags)]
    return rows, base_rows


@functools.cache
def counterfactual_cases(n: int, names: int) -> list[tuple[int, str, dict[str, Any]]]:
    """(base case index, case id, vars) of every variant: two groups, ``names`` names per group, as a suite expands them."""
    values = tuple((group, NAMES[group][:names]) for group in (GROUP_A, GROUP_B))
    attrs = (Attribute("ethnicity", "name", values),)
    return [(i, case, v) for i in range(n) for case, v in variants(attrs, f"app-{i:03d}", {"applicant": i})]


def _stochastic_round(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Integers with expectation x: floor(x) plus a coin with the fractional part (an unbiased noisy rater)."""
    low = np.floor(x)
    return low + (rng.random(x.shape) < x - low)


def judge_rating_rows(quality: float, n: int, design: Design, rng: np.random.Generator) -> Run:
    """A 1-5 rubric judge of answers with true quality q_i ~ Beta(quality, 4): its votes have mean 1 + 4 q_i (+ bias)."""
    bias = 0.5 if design.label.startswith("lenient") else 0.0
    q = rng.beta(quality * 4, (1 - quality) * 4, n)
    votes = np.clip(_stochastic_round(np.clip(1 + 4 * q[:, None] + bias, 1, 5) * np.ones((1, design.size)), rng), 1, 5)
    rows = []
    for i, case_votes in enumerate(votes):
        raw = float(case_votes.mean())
        meta = {"raw": raw, "votes": case_votes.tolist(), "spread": float(case_votes.max() - case_votes.min())}
        rows.append(case_row(f"c{i:03d}", "judge", score((raw - 1) / 4, raw >= 3, {"min": 0.5}, meta)))
    return rows, None


def judge_pairwise_rows(win: float, n: int, design: Design, rng: np.random.Generator) -> Run:
    """The output beats the reference on a share ``win`` of cases; the judge is asked in both orders.

    An honest judge names the better answer but errs on 10% of questions; a position-biased one always says "A".
    """
    better = rng.random(n) < win
    if design.label.startswith("position"):
        wins = np.tile([1.0, 0.0], (n, 1))  # output first: "A" is the output; reference first: "A" is the reference
    else:
        wins = np.where(rng.random((n, 2)) < 0.1, ~better[:, None], better[:, None]).astype(float)
    rows = []
    for i, (first, second) in enumerate(wins):
        meta = {"order_disagreement": float(first != second), "wins": [first, second]}
        value = (first + second) / 2
        rows.append(case_row(f"c{i:03d}", "judge", score(value, value >= 0.5, {"min": 0.5}, meta)))
    return _audited(rows), None


@functools.lru_cache(maxsize=1)
def _pairwise_judge() -> Any:
    from llmeval.scorers.base import build

    return build("judge", {"model": "python:judge:app", "mode": "pairwise"})


def _audited(rows: list[dict]) -> list[dict]:
    """The rows as a run hands them to the gates: the judge's own audit (order disagreement) turns them into errors."""
    from llmeval.scorers.base import Score, Threshold

    judge = _pairwise_judge()
    scores = [
        Score("judge", r["scores"]["judge"]["value"], Threshold(min=0.5), True, metadata=r["scores"]["judge"]["metadata"])
        for r in rows
    ]
    reason = judge.audit(scores)
    if reason is None:
        return rows
    return [{**r, "scores": {}, "error": reason} for r in rows]
