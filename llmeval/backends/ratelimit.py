"""Requests- and tokens-per-minute limits for one server: token buckets paced evenly, paused by Retry-After.

A bucket refills at `per_minute / 60` units a second and holds one second's worth (at least one unit),
so requests are spread evenly instead of sent in a burst at the top of each minute, and any 60-second
window sees at most the limit plus one second's worth. A request costing more than the bucket holds
waits until it is full and then leaves it in debt, so a large request is never stuck forever.
Tokens are charged before sending (an estimate: prompt characters / 4 + max_new_tokens) and settled
with the server's `usage` afterwards.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

Clock = Callable[[], float]


class Bucket:
    """One token bucket: `per_minute` units a minute, paced per second."""

    def __init__(self, per_minute: float, clock: Clock = time.monotonic) -> None:
        if per_minute <= 0:
            raise ValueError(f"a per-minute limit must be positive, got {per_minute!r}")
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.clock = clock
        self.level = self.capacity
        self.stamp = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_s(self, cost: float) -> float:
        """Seconds until `cost` may be taken (0 when it may be now)."""
        self._refill()
        need = min(cost, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate

    def take(self, cost: float) -> None:
        self._refill()
        self.level -= cost

    def give_back(self, amount: float) -> None:
        """Correct an estimate: a positive amount refunds, a negative one charges more."""
        self._refill()
        self.level = min(self.capacity, self.level + amount)


class RateLimiter:
    """The limits of one base URL: optional request and token buckets, and a pause a 429's Retry-After set."""

    def __init__(self, rpm: float | None = None, tpm: float | None = None, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.requests = Bucket(rpm, clock) if rpm else None
        self.tokens = Bucket(tpm, clock) if tpm else None
        self.paused_until = 0.0

    def wait_s(self, tokens: int) -> float:
        waits = [self.paused_until - self.clock()]
        if self.requests is not None:
            waits.append(self.requests.wait_s(1))
        if self.tokens is not None:
            waits.append(self.tokens.wait_s(tokens))
        return max(0.0, *waits)

    async def acquire(self, tokens: int) -> None:
        """Wait until one request of about `tokens` tokens may be sent, then charge it.

        The check and the charge run without an await between them, so tasks of one event loop never
        both take the last unit.
        """
        while (wait := self.wait_s(tokens)) > 0:
            await asyncio.sleep(wait)
        if self.requests is not None:
            self.requests.take(1)
        if self.tokens is not None:
            self.tokens.take(tokens)

    def settle(self, estimated: int, used: int) -> None:
        """Replace a request's estimated tokens by what the server says it used."""
        if self.tokens is not None:
            self.tokens.give_back(estimated - used)

    def pause(self, seconds: float) -> None:
        """Send nothing to this server for `seconds` (a 429's Retry-After)."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)


def estimate_tokens(prompt: str, max_new_tokens: int) -> int:
    """What a request may cost before the server says: ~4 characters a prompt token, plus the most it may generate."""
    return len(prompt) // 4 + 1 + max_new_tokens
