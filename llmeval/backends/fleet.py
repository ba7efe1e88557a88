"""Several base URLs serving one model: which one takes the next request, and which to avoid for a while.

`least-outstanding` (default) sends each request to the server with the fewest requests assigned and
not finished (waiting on its rate limit or in flight), ties broken in turn; `round-robin` takes them
in turn. A retry goes to a server this request has not tried yet while one is left. A server that
failed `BENCH_AFTER` times in a row (refused connections, timeouts, 429/5xx) is benched — passed over
while any other is usable — for `BENCH_S` seconds, doubling with each further failure (at most
`MAX_BENCH_S`); one success clears it. A server paused by a 429's Retry-After is passed over the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from llmeval.backends.ratelimit import RateLimiter

BALANCES = ("least-outstanding", "round-robin")
BENCH_AFTER = 3
BENCH_S = 5.0
MAX_BENCH_S = 60.0


@dataclass(eq=False)
class Replica:
    """One base URL of the fleet and what the fleet knows about it."""

    url: str
    limiter: RateLimiter
    outstanding: int = 0
    failures: int = 0  # in a row
    benched_until: float = 0.0
    served: int = 0


@dataclass
class Fleet:
    """The replicas of one model and the balancing policy; used from one event loop at a time."""

    replicas: list[Replica]
    balance: str = "least-outstanding"
    clock: Callable[[], float] = time.monotonic
    _turn: int = field(default=0, repr=False)

    @classmethod
    def of(cls, urls: Sequence[str], *, balance: str | None = None, rpm: float | None = None, tpm: float | None = None) -> Fleet:
        """A fleet over `urls`, each with its own limits of `rpm` requests and `tpm` tokens a minute."""
        chosen = balance or "least-outstanding"
        if chosen not in BALANCES:
            raise ValueError(f"balance must be one of {', '.join(BALANCES)}, got {balance!r}")
        return cls([Replica(url, RateLimiter(rpm, tpm)) for url in urls], chosen)

    def __len__(self) -> int:
        return len(self.replicas)

    def pick(self, tried: Collection[str] = ()) -> Replica:
        """The replica for the next attempt (counted outstanding until `release`)."""
        fresh = [r for r in self.replicas if r.url not in tried] or self.replicas
        now = self.clock()
        usable = [r for r in fresh if r.benched_until <= now and r.limiter.paused_until <= now] or fresh
        order = {id(r): (i - self._turn) % len(self.replicas) for i, r in enumerate(self.replicas)}
        if self.balance == "round-robin":
            chosen = min(usable, key=lambda r: order[id(r)])
        else:
            chosen = min(usable, key=lambda r: (r.outstanding, order[id(r)]))
        self._turn = (self.replicas.index(chosen) + 1) % len(self.replicas)
        chosen.outstanding += 1
        return chosen

    def release(self, replica: Replica, *, ok: bool) -> None:
        """The attempt on `replica` is over: count it, and bench the replica after repeated failures."""
        replica.outstanding -= 1
        if ok:
            replica.failures, replica.benched_until = 0, 0.0
            replica.served += 1
            return
        replica.failures += 1
        if replica.failures >= BENCH_AFTER:
            bench = min(BENCH_S * 2 ** (replica.failures - BENCH_AFTER), MAX_BENCH_S)
            replica.benched_until = self.clock() + bench
