"""Gate conditions such as ``">= 0.6"``: parsed once, checked against a value or an interval bound."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from llmeval.errors import SuiteError

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": lambda a, b: math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9),
}
_PATTERN = re.compile(r"^\s*(>=|<=|==|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(%?)\s*$")
_EXAMPLE = 'write it as a comparison and a number in quotes, e.g. mean: ">= 0.6" or pass_rate: "== 1.0"'


@dataclass(frozen=True)
class Condition:
    """A comparison of a statistic with a number, e.g. ``>= 0.6``."""

    op: str
    value: float

    def check(self, value: float) -> bool:
        if math.isnan(value):
            return False
        return _OPS[self.op](value, self.value)

    def describe(self) -> str:
        return f"{self.op} {self.value:g}"

    def __str__(self) -> str:
        return self.describe()


def parse_condition(text: object, *, key: str = "condition") -> Condition:
    """Parse ``">= 0.6"`` (also ``">= 60%"``); raise SuiteError with an example otherwise."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise SuiteError(f'expected a condition such as ">= 0.6", got {text!r}', key=key, hint=_EXAMPLE)
    if not isinstance(text, str):
        raise SuiteError(
            f"a bare number ({text!r}) does not say which way the gate goes",
            key=key,
            hint=f'write ">= {text}" or "<= {text}"',
        )
    match = _PATTERN.match(text)
    if match is None:
        raise SuiteError(f"cannot read the condition {text!r}", key=key, hint=_EXAMPLE)
    op, number, percent = match.groups()
    value = float(number) / (100 if percent else 1)
    return Condition(op, value)


def bound_condition(value: object, op: str, *, key: str) -> Condition:
    """A numeric bound written as ``max: 0.1`` / ``min: 0.8`` (or a full condition string)."""
    if isinstance(value, str):
        return parse_condition(value, key=key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SuiteError(f"expected a number, got {value!r}", key=key, hint=f"e.g. {key}: 0.1")
    return Condition(op, float(value))
