"""Counterfactual apps for the fairness and consistency cells of bench/validity.py, with their exact population truth.

A loan screener sees applicant i (a base case) with a quality u_i ~ U(0, 1) and a repaid label y_i (u_i > 0.5,
flipped for 15% of applicants). It approves when u_i clears its group's cutoff t_g, except that a share ``noise``
of its outputs is a coin toss. Group A's cutoff approves 60%; group B's is shifted by s, solved so that the
population disparity (parity, equalized odds, or consistency) equals the cell's truth. Outputs of one applicant
share u_i and y_i: counterfactual sets of one base case (its names) are not independent evidence.
A continuous outcome (``difference``/``ratio``) is m_g * (q_i + e) / 2 with q_i ~ Beta(2.8, 1.2), e ~ U(0, 1).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from _validity_sim import GROUP_B, Design, Run, case_row, counterfactual_cases, score

CUTOFF_A = 0.375  # group A approves (1 - noise)(1 - t) + noise / 2 = 0.6 at noise 0.2
NOISE = 0.2
LABEL_FLIP = 0.15
METRIC = "decision"


def _above(t: float, label: int) -> float:
    """P(u > t, y = label) for u ~ U(0, 1) and y = [u > 0.5] flipped with probability LABEL_FLIP."""
    high, low = 1 - max(t, 0.5), max(0.0, 0.5 - t)
    return (1 - LABEL_FLIP) * high + LABEL_FLIP * low if label else (1 - LABEL_FLIP) * low + LABEL_FLIP * high


def _rates(t: float, noise: float) -> tuple[float, float, float]:
    """(approval rate, TPR, FPR) of a group with cutoff t."""
    rate = (1 - noise) * (1 - t) + noise / 2
    return rate, (1 - noise) * _above(t, 1) / 0.5 + noise / 2, (1 - noise) * _above(t, 0) / 0.5 + noise / 2


def disparity(stat: str, shift: float, noise: float = NOISE) -> float:
    """The population value of a fairlearn metric (or consistency) when group B's cutoff is shifted by ``shift``."""
    a, b = _rates(CUTOFF_A, noise), _rates(CUTOFF_A + shift, noise)
    values: dict[str, Callable[[], float]] = {
        "demographic_parity_difference": lambda: a[0] - b[0],
        "demographic_parity_ratio": lambda: b[0] / a[0],
        "equalized_odds_difference": lambda: max(abs(a[1] - b[1]), abs(a[2] - b[2])),
        "equalized_odds_ratio": lambda: min(b[1] / a[1], b[2] / a[2]),
        "consistency": lambda: 1 - shift,  # a deterministic screener (noise 0) flips the applicants between the cutoffs
    }
    return values[stat]()


@functools.cache
def solve_shift(stat: str, truth: float, noise: float = NOISE) -> float:
    """The cutoff shift that gives the metric the value ``truth`` (0 for no disparity)."""
    from scipy.optimize import brentq

    fair = disparity(stat, 0.0, noise)
    if abs(fair - truth) < 1e-12:
        return 0.0
    return float(brentq(lambda s: disparity(stat, s, noise) - truth, 0.0, 1 - CUTOFF_A - 1e-9, xtol=1e-12))


def decision_rows(stat: str, truth: float, n: int, design: Design, rng: np.random.Generator) -> Run:
    """Approve/deny outcomes of the screener whose ``stat`` is ``truth``; ``design.size`` names per group."""
    noise = 0.0 if stat == "consistency" else NOISE
    cases = counterfactual_cases(n, design.size)
    base, in_b = _layout(cases)
    u = rng.random(n)
    repaid = (u > 0.5) ^ (rng.random(n) < LABEL_FLIP)
    cutoff = np.where(in_b, CUTOFF_A + solve_shift(stat, truth, noise), CUTOFF_A)
    coin = rng.random(len(cases)) < noise
    approve = np.where(coin, rng.random(len(cases)) < 0.5, u[base] > cutoff)
    rows = []
    for (i, case, variables), yes in zip(cases, approve.tolist(), strict=True):
        entry = score(float(yes), yes, {"min": 1.0}, {"label": "approve" if yes else "deny"})
        rows.append(case_row(case, METRIC, entry, variables={**variables, "repaid": int(repaid[i])}))
    return rows, None


def _layout(cases: list[tuple[int, str, dict[str, Any]]]) -> tuple[np.ndarray, np.ndarray]:
    """Each variant's base case index, and whether it is in group B."""
    return np.array([i for i, _, _ in cases]), np.array([v["group.ethnicity"] == GROUP_B for _, _, v in cases])


def value_rows(stat: str, truth: float, n: int, design: Design, rng: np.random.Generator) -> Run:
    """A continuous outcome in [0, 1] whose group-mean difference (or ratio) is ``truth``; group A's mean is 0.6."""
    scale_b = 1 - truth / 0.6 if stat == "difference" else truth
    cases = counterfactual_cases(n, design.size)
    base, in_b = _layout(cases)
    values = (rng.beta(2.8, 1.2, n)[base] + rng.random(len(cases))) / 2 * np.where(in_b, scale_b, 1.0)
    return [
        case_row(case, "helpfulness", score(value, value >= 0.5, {"min": 0.5}), variables=dict(variables))
        for (_, case, variables), value in zip(cases, values.tolist(), strict=True)
    ], None
