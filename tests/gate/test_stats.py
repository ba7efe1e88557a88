"""Bootstrap intervals, exact rate intervals, the paired test and McNemar on known inputs."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from llmeval.gate import stats


@pytest.mark.parametrize(
    ("stat", "q", "expected"),
    [("mean", 0.5, 2.5), ("median", 0.5, 2.5), ("min", 0.5, 1.0), ("max", 0.5, 4.0), ("quantile", 0.25, 1.75)],
)
def test_point_stat(stat: str, q: float, expected: float) -> None:
    assert stats.point_stat([1, 2, 3, 4], stat, q) == pytest.approx(expected)


def test_point_stat_of_nothing_is_nan() -> None:
    assert math.isnan(stats.point_stat([], "mean"))


def test_bootstrap_is_seeded_and_brackets_the_mean() -> None:
    values = [[v] for v in np.random.default_rng(3).normal(0.6, 0.1, 80)]
    first = stats.bootstrap_interval(values, "mean", confidence=0.95, seed=7)
    assert first == stats.bootstrap_interval(values, "mean", confidence=0.95, seed=7)
    lo, hi = first
    assert lo < float(np.mean(values)) < hi
    assert 0.02 < hi - lo < 0.08  # about 4 standard errors of 0.011


def test_bootstrap_coverage_is_near_nominal() -> None:
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(200):
        sample = [[v] for v in rng.normal(0.5, 0.2, 60)]
        lo, hi = stats.bootstrap_interval(sample, "mean", confidence=0.95, resamples=1000, seed=int(rng.integers(1e9)))
        covered += lo <= 0.5 <= hi
    assert covered / 200 >= 0.90


def test_repeats_resample_whole_cases() -> None:
    """Ten identical repeats of 20 cases are 20 pieces of evidence, not 200."""
    rng = np.random.default_rng(1)
    cases = rng.normal(0.5, 0.2, 20)
    as_repeats = stats.bootstrap_interval([[v] * 10 for v in cases], "mean", seed=0)
    as_independent = stats.bootstrap_interval([[v] for v in np.repeat(cases, 10)], "mean", seed=0)
    assert (as_repeats[1] - as_repeats[0]) > 2.5 * (as_independent[1] - as_independent[0])


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [
        (10, 10, 0.691503, 1.0),  # Clopper-Pearson: (alpha/2)^(1/n)
        (0, 20, 0.0, 0.168433),
    ],
)
def test_exact_rate_interval(k: int, n: int, lo: float, hi: float) -> None:
    from llmeval.gate.bounds import exact_rate

    assert exact_rate(k, n, 0.95).interval == pytest.approx((lo, hi), abs=1e-5)


def test_paired_test_finds_a_shift_and_its_direction() -> None:
    rng = np.random.default_rng(2)
    a = rng.uniform(0.3, 0.9, 100)
    b = a - 0.05 + rng.normal(0, 0.02, 100)
    test = stats.paired_test(a, b)
    assert test.delta == pytest.approx(-0.05, abs=0.01)
    assert test.interval[1] < 0
    assert test.p_less < 0.001 and test.p_greater > 0.99


def test_paired_test_of_identical_systems_is_not_significant() -> None:
    a = np.linspace(0, 1, 30)
    test = stats.paired_test(a, a)
    assert test.delta == 0 and test.p_less == 1.0 and test.p_greater == 1.0


@pytest.mark.parametrize(
    ("before", "after", "table", "p_worse"),
    [
        # 8 pass->fail, 1 fail->pass: P(X >= 8 | n=9, p=.5) = 10/512
        ([1] * 9 + [1] * 5 + [0] * 3, [0] * 8 + [1] + [1] * 5 + [0] * 2 + [1], (6, 8, 1, 2), 10 / 512),
        ([1, 0, 1], [1, 0, 1], (2, 0, 0, 1), 1.0),
        ([0] * 6, [1] * 6, (0, 0, 6, 0), 1.0),
    ],
)
def test_mcnemar_table_and_exact_p(before: list, after: list, table: tuple, p_worse: float) -> None:
    result = stats.mcnemar([bool(x) for x in before], [bool(x) for x in after])
    assert (result.both_pass, result.pass_to_fail, result.fail_to_pass, result.both_fail) == table
    assert result.p_worse == pytest.approx(p_worse)


def test_bootstrap_of_1000_values_is_fast() -> None:
    values = [[v] for v in np.random.default_rng(0).random(1000)]
    stats.bootstrap_interval(values, "mean")
    start = time.perf_counter()
    for stat in ("mean", "median", "quantile"):
        stats.bootstrap_interval(values, stat, q=0.1, resamples=2000)
    assert time.perf_counter() - start < 1.5
