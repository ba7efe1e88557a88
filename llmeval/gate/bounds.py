"""Confidence bounds that hold their coverage at every sample size, including 1.

Each side of a two-sided interval at ``confidence`` misses with probability at most (1 - confidence) / 2,
whatever the distribution of the values, as long as the units (cases, or whole clusters of them) are
independent draws:

- 0/1 values: the exact (Clopper–Pearson) binomial interval;
- values in a known range [low, high]: the betting interval of Waudby-Smith & Ramdas ("Estimating means
  of bounded random variables by betting", JRSS-B 2023; hedged capital with predictable plug-in bets), a
  test martingale inverted over a grid of candidate means: valid by Ville's inequality, and as narrow as
  the data's variance allows;
- quantiles: the distribution-free order-statistic interval (binomial counts of values below the quantile);
- a mean with no known range: Student's t, which needs enough units to lean on the central limit theorem;
  below ``T_MIN_UNITS`` it gives no bound at all (the gate cannot pass and says why).

numpy and scipy are imported inside the functions: this module is imported by every pytest run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

T_MIN_UNITS = 30
_BET_CAP = 0.75  # the largest share of capital bet per step (WSR's c)
_GRID = 1001


@dataclass(frozen=True)
class Bound:
    """A two-sided interval, the method that gave it and how many independent units it rests on."""

    low: float
    high: float
    method: str
    units: int
    note: str = ""  # why the interval is as wide as the range (too few units for the method)

    @property
    def interval(self) -> tuple[float, float]:
        return (self.low, self.high)


def _delta(confidence: float) -> float:
    return (1.0 - confidence) / 2.0


def exact_rate(successes: int, n: int, confidence: float) -> Bound:
    """Clopper–Pearson interval of a proportion (scipy's beta quantiles); [0, 1] when n is 0."""
    from scipy.stats import beta

    if n == 0:
        return Bound(0.0, 1.0, "exact binomial", 0, "no units")
    d = _delta(confidence)
    low = 0.0 if successes == 0 else float(beta.ppf(d, successes, n - successes + 1))
    high = 1.0 if successes == n else float(beta.ppf(1 - d, successes + 1, n - successes))
    return Bound(low, high, "exact binomial", n)


def _log_capital(v: Any, means: Any, delta: float) -> Any:
    """log of the betting capital against "the mean is at most m", for each m in ``means`` (values in [0, 1]).

    Predictable plug-in bets (WSR): the bet at step t uses only the values before t, so under the null the
    capital is a nonnegative supermartingale and exceeds 1/delta with probability at most delta (Ville).
    """
    import numpy as np

    n = v.size
    t = np.arange(1, n + 1)
    mu = (0.5 + np.cumsum(v)) / (t + 1)
    var = (0.25 + np.cumsum((v - mu) ** 2)) / (t + 1)
    prev_var = np.concatenate([[0.25], var[:-1]])
    lam = np.sqrt(2.0 * math.log(1.0 / delta) / (n * prev_var))
    grid = np.asarray(means, dtype=float)[:, None]
    bets = np.minimum(lam[None, :], _BET_CAP / np.maximum(grid, 1e-12))
    return np.sum(np.log1p(bets * (v[None, :] - grid)), axis=1)


def _betting_lower(x: object, delta: float) -> float:
    """Lower confidence bound (level 1 - delta) for the mean of values in [0, 1], in the given order."""
    import numpy as np

    v = np.asarray(x, dtype=float)
    threshold = math.log(1.0 / delta)
    coarse = np.linspace(0.0, 1.0, _GRID)
    kept = np.flatnonzero(_log_capital(v, coarse, delta) < threshold)
    if kept.size == 0:
        return float(v.mean())
    first = int(kept[0])
    if first == 0:
        return 0.0
    fine = np.linspace(coarse[first - 1], coarse[first], _GRID)
    kept_fine = np.flatnonzero(_log_capital(v, fine, delta) < threshold)
    step = fine[1] - fine[0]
    low = fine[int(kept_fine[0])] if kept_fine.size else coarse[first]
    return float(max(0.0, low - step))


def _to_unit(values: Sequence[float], low: float, high: float) -> Any:
    """The values rescaled from [low, high] to [0, 1] (clipped), as a numpy array."""
    import numpy as np

    return np.clip((np.asarray(values, dtype=float) - low) / (high - low), 0.0, 1.0)


def betting_mean(values: Sequence[float], low: float, high: float, confidence: float) -> Bound:
    """Interval for the mean of values known to lie in [low, high] (WSR betting), valid at any n."""

    if not values:
        return Bound(low, high, "betting (bounded mean)", 0, "no units")
    span = high - low
    unit = _to_unit(values, low, high)
    d = _delta(confidence)
    lo = _betting_lower(unit, d)
    hi = 1.0 - _betting_lower(1.0 - unit, d)
    return Bound(low + span * lo, low + span * hi, "betting (bounded mean)", len(values))


def t_mean(values: Sequence[float], confidence: float) -> Bound:
    """Student-t interval for a mean with no known range; none below T_MIN_UNITS units."""
    import numpy as np
    from scipy.stats import t as student

    n = len(values)
    if n < T_MIN_UNITS:
        note = f"the values have no declared range, so the t interval needs >= {T_MIN_UNITS} units; got {n}"
        return Bound(-math.inf, math.inf, "student-t (unbounded)", n, note)
    arr = np.asarray(values, dtype=float)
    half = float(student.ppf(1 - _delta(confidence), n - 1) * arr.std(ddof=1) / math.sqrt(n))
    return Bound(float(arr.mean()) - half, float(arr.mean()) + half, "student-t (unbounded)", n)


def quantile(values: Sequence[float], q: float, confidence: float, low: float | None, high: float | None) -> Bound:
    """Distribution-free interval for the q-quantile from order statistics (binomial counts)."""
    from scipy.stats import binom

    xs, n, d = sorted(values), len(values), _delta(confidence)
    floor = -math.inf if low is None else low
    ceil = math.inf if high is None else high
    # lower: X_(k) with the largest k such that P(Bin(n, q) <= k - 1) <= d
    k = int(binom.ppf(d, n, q)) if n else 0
    while k >= 1 and binom.cdf(k - 1, n, q) > d:
        k -= 1
    lo = xs[k - 1] if k >= 1 else floor
    # upper: X_(j) with the smallest j such that P(Bin(n, q) >= j) <= d
    j = int(binom.isf(d, n, q)) + 1 if n else 1
    while j > 1 and binom.sf(j - 2, n, q) <= d:
        j -= 1
    hi = xs[j - 1] if j <= n else ceil
    note = "" if k >= 1 and j <= n else f"{n} units are too few for a {confidence:g} interval of the q={q:g} quantile"
    return Bound(float(lo), float(hi), "order statistics", n, note)


def betting_p_above(values: Sequence[float], m: float, low: float, high: float, delta: float) -> float:
    """p-value for "the mean is at most m": 1 / the capital of the bets ``betting_mean`` places at level delta.

    It is below delta exactly when m lies under the lower bound ``betting_mean`` gives at that level.
    """

    if not values or m >= high:
        return 1.0
    if m < low:
        return 0.0
    log_capital = float(_log_capital(_to_unit(values, low, high), [(m - low) / (high - low)], delta)[0])
    return float(min(1.0, math.exp(-log_capital)))
