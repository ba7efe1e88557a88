"""Bounds on generation: a per-attempt timeout, retries, the run deadline and the run's token budget.

Precedence (`merge_limits`): built-in backend default < `[tool.llmeval]` < the suite's `backend:` block
< the command line. A value left unset (None) falls through to the layer below.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from llmeval.errors import LlmevalError

DEFAULT_TIMEOUT_S = 120.0


class TokenBudget:
    """A run-wide cap on tokens spent (prompt + completion of every generated request); thread-safe."""

    def __init__(self, total: int) -> None:
        self.total = int(total)
        self.spent = 0
        self._lock = threading.Lock()

    def charge(self, tokens: int) -> None:
        with self._lock:
            self.spent += max(0, int(tokens))

    def exhausted(self) -> bool:
        return self.spent >= self.total

    def describe(self) -> str:
        return f"run token budget of {self.total:,} tokens reached ({self.spent:,} spent)"


@dataclass(frozen=True, eq=False)
class Deadline:
    """What stops the whole run's generation: a wall-clock bound and/or a token budget, started once per run.

    Every backend checks `reached()` before starting work, so the budget stops each of them the same way
    the clock does; the messages say which of the two stopped a request.
    """

    seconds: float | None
    at: float  # time.monotonic() when the clock runs out; inf without one
    budget: TokenBudget | None = None

    @classmethod
    def start(cls, seconds: float | None, token_budget: int | None = None) -> Deadline | None:
        """A deadline `seconds` from now and/or a budget of `token_budget` tokens; None when neither is set."""
        if seconds is None and token_budget is None:
            return None
        at = time.monotonic() + float(seconds) if seconds is not None else math.inf
        return cls(None if seconds is None else float(seconds), at, TokenBudget(token_budget) if token_budget else None)

    def remaining(self) -> float:
        """Seconds left (inf without a clock); 0 once the budget is spent."""
        if self.budget is not None and self.budget.exhausted():
            return 0.0
        return max(0.0, self.at - time.monotonic())

    def out_of_time(self) -> bool:
        return time.monotonic() >= self.at

    def out_of_tokens(self) -> bool:
        return self.budget is not None and self.budget.exhausted()

    def reached(self) -> bool:
        return self.out_of_time() or self.out_of_tokens()

    def charge(self, tokens: int) -> None:
        """Count a finished generation's tokens against the budget (no-op without one)."""
        if self.budget is not None:
            self.budget.charge(tokens)

    def _why(self) -> str:
        if self.budget is not None and self.budget.exhausted() and not self.out_of_time():
            return f"{self.budget.describe()}; raise --llmeval-token-budget to generate it"
        return f"run deadline of {self.seconds:g} s reached"

    @property
    def not_started(self) -> str:
        """The error of a request the deadline or budget kept from starting."""
        return f"not generated: {self._why()}"

    @property
    def stopped(self) -> str:
        """The error of a request in flight when the deadline passed (or the budget ran out)."""
        return f"stopped: {self._why()}"


@dataclass(frozen=True)
class Limits:
    """Per-request bounds handed to `Backend.generate`; None means the backend's own default."""

    timeout: float | None = None  # seconds of wall time for one attempt of one request (body included)
    retries: int | None = None  # further attempts after a retryable failure
    deadline: Deadline | None = None

    def __post_init__(self) -> None:
        check_limits(self.timeout, self.retries, None, source="limits")

    def over(self, base: Limits) -> Limits:
        """These limits, with unset fields taken from `base`."""
        return Limits(
            self.timeout if self.timeout is not None else base.timeout,
            self.retries if self.retries is not None else base.retries,
            self.deadline if self.deadline is not None else base.deadline,
        )

    def with_deadline(self, deadline: Deadline | None) -> Limits:
        return replace(self, deadline=deadline)

    def attempt_timeout(self) -> float | None:
        """The time one attempt may take now: the timeout, cut to what is left of the run deadline."""
        left = self.deadline.remaining() if self.deadline is not None else None
        left = None if left == math.inf else left
        if self.timeout is None or left is None:
            return self.timeout if left is None else left
        return min(self.timeout, left)


def merge_limits(*layers: Mapping[str, Any] | None) -> Limits:
    """Request limits from settings layers, lowest precedence first: e.g. (pyproject, suite backend:, CLI)."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for name in ("timeout", "retries"):
            value = (layer or {}).get(name)
            if value is not None:
                merged[name] = value
    return Limits(**merged)


def check_limits(timeout: Any, retries: Any, deadline: Any, *, source: str) -> None:
    """Raise LlmevalError naming `source` when a timeout/deadline is not a positive number or retries not >= 0."""
    for name, value in (("timeout", timeout), ("deadline", deadline)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
            raise LlmevalError(f"{source}: {name} must be a positive number of seconds, got {value!r}")
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int) or retries < 0):
        raise LlmevalError(f"{source}: retries must be a whole number of at least 0, got {retries!r}")
