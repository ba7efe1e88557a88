"""Token buckets on a controlled clock: pacing, debt for a large request, settling estimates, Retry-After pauses."""

from __future__ import annotations

import asyncio

import pytest

from llmeval.backends.ratelimit import Bucket, RateLimiter, estimate_tokens


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    "per_minute, capacity, rate",
    [(60, 1.0, 1.0), (600, 10.0, 10.0), (30, 1.0, 0.5), (6000, 100.0, 100.0)],
)
def test_a_bucket_holds_one_second_and_refills_at_the_rate(per_minute, capacity, rate):
    clock = Clock()
    bucket = Bucket(per_minute, clock)
    assert (bucket.capacity, bucket.rate) == (capacity, rate)
    for _ in range(int(capacity)):
        assert bucket.wait_s(1) == 0
        bucket.take(1)
    assert bucket.wait_s(1) == pytest.approx(1 / rate)
    clock.now += 1 / rate
    assert bucket.wait_s(1) == pytest.approx(0, abs=1e-9)
    clock.now += 3600
    bucket._refill()
    assert bucket.level == capacity  # an idle hour does not save up a burst


def test_a_request_larger_than_the_bucket_waits_for_a_full_bucket_then_leaves_debt():
    clock = Clock()
    bucket = Bucket(600, clock)  # holds 10
    bucket.take(5)
    assert bucket.wait_s(25) == pytest.approx(0.5)  # until full, not forever
    clock.now += 0.5
    bucket.take(25)
    assert bucket.level == pytest.approx(-15)
    assert bucket.wait_s(1) == pytest.approx(1.6)


def test_settling_replaces_the_estimate_by_the_usage():
    clock = Clock()
    limiter = RateLimiter(tpm=600, clock=clock)
    assert limiter.tokens is not None
    limiter.tokens.take(8)
    limiter.settle(8, 3)
    assert limiter.tokens.level == pytest.approx(7)  # 10 - 8 charged + 5 refunded
    limiter.settle(2, 12)
    assert limiter.tokens.level == pytest.approx(-3)


def test_a_pause_holds_every_request_until_it_ends():
    clock = Clock()
    limiter = RateLimiter(rpm=6000, clock=clock)
    limiter.pause(2.5)
    limiter.pause(1.0)  # a shorter pause never shortens a longer one
    assert limiter.wait_s(1) == pytest.approx(2.5)
    clock.now += 2.5
    assert limiter.wait_s(1) == 0


def test_acquire_charges_both_buckets():
    limiter = RateLimiter(rpm=600, tpm=6000)
    asyncio.run(limiter.acquire(40))
    assert limiter.requests is not None and limiter.tokens is not None
    assert limiter.requests.level == pytest.approx(9, abs=0.1) and limiter.tokens.level == pytest.approx(60, abs=1)


def test_an_unlimited_limiter_never_waits():
    assert RateLimiter().wait_s(10**9) == 0


@pytest.mark.parametrize("prompt, new, expected", [("", 16, 17), ("x" * 400, 0, 101), ("abcd", 8, 10)])
def test_the_estimate_before_the_server_answers(prompt, new, expected):
    assert estimate_tokens(prompt, new) == expected


def test_a_limit_must_be_positive():
    with pytest.raises(ValueError, match="must be positive"):
        Bucket(0)
