"""Bounds on generation: a per-attempt timeout, retries, and the run deadline.

Precedence (`merge_limits`): built-in backend default < `[tool.llmeval]` < the suite's `backend:` block
< the command line. A value left unset (None) falls through to the layer below.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from llmeval.errors import LlmevalError

DEFAULT_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Deadline:
    """A wall-clock bound on the whole run's generation, started once per run."""

    seconds: float
    at: float = field(compare=False)  # time.monotonic() when it is reached

    @classmethod
    def start(cls, seconds: float | None) -> Deadline | None:
        """A deadline `seconds` from now, or None for no deadline."""
        if seconds is None:
            return None
        return cls(float(seconds), time.monotonic() + float(seconds))

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def reached(self) -> bool:
        return time.monotonic() >= self.at

    @property
    def not_started(self) -> str:
        """The error of a request the deadline kept from starting."""
        return f"not generated: run deadline of {self.seconds:g} s reached"

    @property
    def stopped(self) -> str:
        """The error of a request in flight when the deadline passed."""
        return f"stopped: run deadline of {self.seconds:g} s reached"


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
