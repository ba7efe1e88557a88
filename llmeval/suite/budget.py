"""What one template render may do (output, work, characters built, time), metered while it runs.

A suite raises the defaults explicitly with its ``limits:`` block (``llmeval.suite.schema.LimitsSchema``);
the sandbox (``llmeval.suite.sandbox``) charges every loop iteration, call, filter and built value to
the meter of the render in progress, and stops the render the moment one budget is spent.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

MAX_CASES = 100_000
"""Cases one suite may expand to unless its ``limits: {cases: N}`` says more."""


@dataclass(frozen=True)
class Budget:
    """Per render: characters output, steps (loop iterations, calls, filters, items measured),
    characters built (all strings and list items made, together; also the largest one value) and seconds."""

    output: int = 1_000_000
    steps: int = 500_000
    chars: int = 10_000_000
    seconds: float = 10.0


DEFAULT = Budget()
LIMIT_KEYS = {"output": "template_output", "steps": "template_steps", "chars": "template_chars", "seconds": "template_seconds"}
"""Budget field -> the suite's ``limits:`` key that raises it."""
_MEANING = {
    "output": "characters of output",
    "steps": "steps (loop iterations, calls, filters and items measured)",
    "chars": "characters built (strings and list items, all values together)",
    "seconds": "seconds",
}


class TemplateLimit(Exception):
    """A template asked for more than the fixed bounds allow (sizes, widths, exponents, range)."""


class BudgetExceeded(TemplateLimit):
    """A render spent one of its budgets; names the budget and the ``limits:`` key that raises it."""

    def __init__(self, field: str, limit: float) -> None:
        self.key, self.limit = LIMIT_KEYS[field], limit
        spent = f"it renders more than {limit:,} characters" if field == "output" else "it went over its budget"
        super().__init__(f"{spent}: the budget of {limit:,} {_MEANING[field]} in one render")


class Meter:
    """The budgets left to the render in progress."""

    __slots__ = ("budget", "chars", "deadline", "steps")

    def __init__(self, budget: Budget) -> None:
        self.budget, self.steps, self.chars = budget, budget.steps, budget.chars
        self.deadline = time.monotonic() + budget.seconds

    def step(self, count: int = 1) -> None:
        self.steps -= count
        if self.steps < 0:
            raise BudgetExceeded("steps", self.budget.steps)
        if time.monotonic() > self.deadline:
            raise BudgetExceeded("seconds", self.budget.seconds)

    def build(self, size: int) -> None:
        """Charge a value of `size` characters/items just made (or about to be)."""
        self.chars -= size
        if self.chars < 0 or size > self.budget.chars:
            raise BudgetExceeded("chars", self.budget.chars)

    def allow(self, size: int) -> None:
        """Refuse, before it is made, a value larger than the characters left to build."""
        if size > self.chars:
            raise BudgetExceeded("chars", self.budget.chars)


_budget: ContextVar[Budget] = ContextVar("template_budget", default=DEFAULT)
_meter: ContextVar[Meter | None] = ContextVar("template_meter", default=None)


@contextmanager
def suite_budget(budget: Budget) -> Iterator[None]:
    """Renders inside this block (one suite's expansion) get `budget`."""
    token = _budget.set(budget)
    try:
        yield
    finally:
        _budget.reset(token)


@contextmanager
def metering() -> Iterator[Meter]:
    """A fresh meter for one render, with the budget of the suite being expanded."""
    meter = Meter(_budget.get())
    token = _meter.set(meter)
    try:
        yield meter
    finally:
        _meter.reset(token)


def current() -> Meter:
    """The meter of the render in progress (a default one outside a render: compile-time folding)."""
    return _meter.get() or Meter(_budget.get())


def measure(value: Any, meter: Meter, limit: int) -> int:
    """Characters `value` takes as text, container items included; each item is a step.

    Stops counting once past `limit` (so a huge or self-containing value costs at most `limit` steps).
    """
    if isinstance(value, (str, bytes)):
        return len(value)
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item) + 2
            continue
        children = _children(item)
        total += 2
        if children:
            meter.step(len(children))
            stack.extend(children)
    return total


_SEQUENCES: tuple[type, ...] = (list, tuple, set, frozenset, type({}.keys()), type({}.values()), type({}.items()))


def _children(value: Any) -> list[Any]:
    if isinstance(value, _SEQUENCES):
        return list(cast(Iterable[Any], value))
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    if type(value).__name__ == "Namespace":  # jinja2.utils.Namespace keeps its attributes private
        attrs = getattr(value, "_Namespace__attrs", None)
        return _children(attrs) if isinstance(attrs, dict) else []
    return []
