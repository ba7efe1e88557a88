"""Statistics for reports and comparisons: point statistics, bootstrap intervals, paired tests (the gates' bounds
are in ``llmeval.gate.bounds``).

Every resampling function is seeded and vectorised over the resamples (numpy arrays of shape
``(resamples, n)``), so 2,000 resamples of 1,000 values take milliseconds. numpy and scipy are
imported inside the functions: this module is imported by every pytest run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

STATS = ("mean", "median", "min", "max", "quantile", "pass_rate", "leak_rate")
RATE_STATS = ("pass_rate", "leak_rate")
DEFAULT_RESAMPLES = 2000
_CHUNK_CELLS = 4_000_000  # values per resampling chunk (~32 MB of float64)


@dataclass(frozen=True)
class PairedTest:
    """A paired comparison of two systems on the same cases: ``delta`` is mean(b - a)."""

    n: int
    delta: float
    interval: tuple[float, float]
    p_less: float  # one-sided p-value for "b is worse than a" (delta < 0)
    p_greater: float  # one-sided p-value for "b is better than a" (delta > 0)

    @property
    def p_two_sided(self) -> float:
        return min(1.0, 2 * min(self.p_less, self.p_greater))


@dataclass(frozen=True)
class McNemar:
    """Exact McNemar test on pass/fail flips between a baseline (a) and a run (b)."""

    both_pass: int
    pass_to_fail: int
    fail_to_pass: int
    both_fail: int
    p_worse: float  # one-sided: more pass->fail than fail->pass flips than chance allows
    p_two_sided: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "both_pass": self.both_pass,
            "pass_to_fail": self.pass_to_fail,
            "fail_to_pass": self.fail_to_pass,
            "both_fail": self.both_fail,
            "p_worse": self.p_worse,
            "p_two_sided": self.p_two_sided,
        }


def point_stat(values: Sequence[float], stat: str, q: float = 0.5) -> float:
    """The statistic over plain values (rates take 0/1 values)."""
    import numpy as np

    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return math.nan
    return float(_reduce(arr[None, :], stat, q)[0])


def _reduce(matrix: Any, stat: str, q: float) -> Any:
    """Apply a statistic along axis 1 of a (resamples, n) matrix, ignoring NaN padding."""
    import numpy as np

    if stat in ("mean", "pass_rate", "leak_rate"):
        return np.nanmean(matrix, axis=1)
    if stat == "median":
        return np.nanmedian(matrix, axis=1)
    if stat == "min":
        return np.nanmin(matrix, axis=1)
    if stat == "max":
        return np.nanmax(matrix, axis=1)
    if stat == "quantile":
        return np.nanquantile(matrix, q, axis=1)
    raise ValueError(f"unknown statistic '{stat}'; expected one of {', '.join(STATS)}")


def bootstrap_interval(
    clusters: Sequence[Sequence[float]],
    stat: str = "mean",
    *,
    confidence: float = 0.95,
    q: float = 0.5,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Two-sided percentile bootstrap interval of a statistic, resampling whole cases.

    ``clusters`` holds one list of values per case (several when a case was sampled repeatedly),
    so repeats of one case move together and do not pass for independent evidence.
    """
    import numpy as np

    clusters = [list(c) for c in clusters if len(c)]
    if not clusters:
        return (math.nan, math.nan)
    width = max(len(c) for c in clusters)
    padded = np.full((len(clusters), width), np.nan)
    for i, values in enumerate(clusters):
        padded[i, : len(values)] = values
    rng = np.random.default_rng(seed)
    parts = []
    for k in _chunks(resamples, len(clusters) * width):
        picks = rng.integers(0, len(clusters), size=(k, len(clusters)))
        parts.append(_reduce(padded[picks].reshape(k, -1), stat, q))
    stats = np.concatenate(parts)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(stats, [alpha, 1 - alpha])
    return (float(lo), float(hi))


def _chunks(resamples: int, cells_per_resample: int) -> list[int]:
    """Resample counts per chunk so one chunk holds about _CHUNK_CELLS values (2,000 x 100,000 would be gigabytes)."""
    step = max(1, _CHUNK_CELLS // max(1, cells_per_resample))
    return [min(step, resamples - start) for start in range(0, resamples, step)]


def paired_test(
    a: Sequence[float],
    b: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> PairedTest:
    """Paired difference b - a: bootstrap interval of the mean, sign-flip randomisation p-values.

    The sign-flip test is exact under the null of exchangeable pairs, so its false-positive rate
    holds at small n where percentile-bootstrap p-values run high.
    """
    import numpy as np

    diff = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    n = int(diff.size)
    if n == 0:
        return PairedTest(0, math.nan, (math.nan, math.nan), 1.0, 1.0)
    observed = float(diff.mean())
    rng = np.random.default_rng(seed)
    sizes = _chunks(resamples, n)
    boot = np.concatenate([diff[rng.integers(0, n, size=(k, n))].mean(axis=1) for k in sizes])
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(boot, [alpha, 1 - alpha])
    flipped = np.concatenate([(rng.choice(np.array([-1.0, 1.0]), size=(k, n)) * diff).mean(axis=1) for k in sizes])
    tol = 1e-12
    p_less = (1 + int(np.sum(flipped <= observed + tol))) / (resamples + 1)
    p_greater = (1 + int(np.sum(flipped >= observed - tol))) / (resamples + 1)
    return PairedTest(n, observed, (float(lo), float(hi)), p_less, p_greater)


def mcnemar(baseline_passed: Sequence[bool], current_passed: Sequence[bool]) -> McNemar:
    """Exact McNemar test (binomial on the discordant pairs) via scipy.stats.binomtest."""
    from scipy.stats import binomtest

    pairs = list(zip(baseline_passed, current_passed, strict=True))
    both_pass = sum(1 for a, b in pairs if a and b)
    to_fail = sum(1 for a, b in pairs if a and not b)
    to_pass = sum(1 for a, b in pairs if not a and b)
    both_fail = len(pairs) - both_pass - to_fail - to_pass
    flips = to_fail + to_pass
    if flips == 0:
        return McNemar(both_pass, to_fail, to_pass, both_fail, 1.0, 1.0)
    p_worse = binomtest(to_fail, flips, 0.5, alternative="greater").pvalue
    p_two = binomtest(to_fail, flips, 0.5, alternative="two-sided").pvalue
    return McNemar(both_pass, to_fail, to_pass, both_fail, float(p_worse), float(p_two))
