"""The scorer protocol, the Score value and the registry of scorers by name."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from llmeval.errors import ScorerError, unknown_name_hint

if TYPE_CHECKING:
    from llmeval.backends.base import Request


@dataclass(frozen=True)
class Threshold:
    """A bound a score value is checked against: value >= min and/or value <= max."""

    min: float | None = None
    max: float | None = None

    def check(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.min is not None and value < self.min:
            return False
        return not (self.max is not None and value > self.max)

    def describe(self) -> str:
        if self.min is not None and self.max is not None:
            return f"{self.min:g} <= x <= {self.max:g}"
        if self.min is not None:
            return f">= {self.min:g}"
        if self.max is not None:
            return f"<= {self.max:g}"
        return "(report only)"

    def as_dict(self) -> dict[str, float]:
        return {k: v for k, v in (("min", self.min), ("max", self.max)) if v is not None}


@dataclass(frozen=True)
class Score:
    """One scorer's verdict on one output. A returned value, never stored on the scorer."""

    name: str
    value: float
    threshold: Threshold
    passed: bool
    explanation: str = ""
    signature: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "value": self.value,
            "threshold": self.threshold.as_dict(),
            "passed": self.passed,
            "explanation": self.explanation,
        }
        if self.signature:
            data["signature"] = self.signature
        if self.metadata:
            data["metadata"] = dict(self.metadata)
        return data


@dataclass(frozen=True)
class Sample:
    """What a scorer sees: the model output and the case it answers.

    `model` and `request` (the spec and the request that produced the output) are set in a run, so a scorer
    can ask the model under test again (self-consistency); empty outside one.
    """

    output: str
    references: Sequence[str] = ()
    prompt: str = ""
    vars: Mapping[str, Any] = field(default_factory=dict)
    context: Sequence[str] = ()
    model: str = ""
    request: Request | None = None


class Scorer(Protocol):
    """Scores one sample. Keeps no per-call state, so one instance may score many samples.

    The simple form for third-party scorers; a run scores in batches (`llmeval.scorers.batch.BatchScorer`)
    and adapts this form with `PerSample`. Batch scorers may also be called like this, one sample at a time.
    """

    @property
    def name(self) -> str: ...

    @property
    def threshold(self) -> Threshold: ...

    def __call__(self, sample: Sample) -> Score: ...


ScorerFactory = Callable[..., Scorer]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Scale:
    """What a scorer's values can be, declared with the scorer: the gates' bounds and directions read it.

    ``low``/``high`` are the range (None: unbounded on that side); ``better`` is "higher", "lower" or None
    when the use decides (a refusal is good or bad by the suite's intent); ``binary`` when every value is
    ``low`` or ``high`` (a check), so a mean of them is a proportion with an exact interval.
    """

    low: float | None = None
    high: float | None = None
    better: str | None = None
    binary: bool = False

    @property
    def bounded(self) -> bool:
        return self.low is not None and self.high is not None and self.high > self.low

    def describe(self) -> str:
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        kind = "0/1" if self.binary else f"[{lo}, {hi}]"
        return kind + (f", {self.better} is better" if self.better else "")


UNKNOWN_SCALE = Scale()
CHECK = Scale(0.0, 1.0, "higher", binary=True)  # a pass/fail check: 1 = the check holds


@dataclass(frozen=True)
class ScorerInfo:
    name: str
    factory: ScorerFactory
    shorthand: str | None  # the parameter a bare scalar value fills, e.g. contains: "30 days"
    summary: str
    scale: Scale = UNKNOWN_SCALE


_REGISTRY: dict[str, ScorerInfo] = {}


def register(name: str, *, shorthand: str | None = None, scale: Scale = UNKNOWN_SCALE) -> Callable[[F], F]:
    """Register a scorer factory under a name usable in suite files, with the scale of its values."""

    def deco(factory: F) -> F:
        doc = (factory.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = ScorerInfo(name, factory, shorthand, doc[0] if doc else "", scale)
        return factory

    return deco


def available() -> dict[str, ScorerInfo]:
    """Every registered scorer, built-in and from the `llmeval.scorers` entry point group."""
    _load_builtins()
    return dict(sorted(_REGISTRY.items()))


def lookup(name: str) -> ScorerInfo:
    scorers = available()
    if name not in scorers:
        raise ScorerError(f"unknown scorer '{name}'", key=name, hint=unknown_name_hint(name, list(scorers)))
    return scorers[name]


def build(name: str, params: Any) -> Scorer:
    """Build a scorer from its suite entry: a mapping of parameters, or a scalar for the shorthand."""
    info = lookup(name)
    if not isinstance(params, Mapping):
        if info.shorthand is None:
            raise ScorerError(
                f"scorer '{name}' takes a mapping of parameters, got {params!r}",
                key=name,
                hint=f"write it as `- {name}: {{min: 0.5}}`",
            )
        params = {info.shorthand: params}
    try:
        scorer = info.factory(**params)
    except TypeError as exc:
        raise ScorerError(f"bad parameters for scorer '{name}': {exc}", key=name, hint=_params_hint(info)) from None
    except ValueError as exc:
        raise ScorerError(f"scorer '{name}': {exc}", key=name, hint=_params_hint(info)) from None
    try:  # what it was built from: the score cache's key (llmeval.engine.score_cache)
        object.__setattr__(scorer, BUILT_FROM, (name, dict(params)))
    except (AttributeError, TypeError):  # a scorer with __slots__: scored every run
        pass
    return scorer


BUILT_FROM = "_llmeval_built_from"


def _params_hint(info: ScorerInfo) -> str:
    import inspect

    params = [p for p in inspect.signature(info.factory).parameters if p != "self"]
    return f"'{info.name}' accepts: {', '.join(params)}"


_builtins_loaded = False


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    from importlib.metadata import entry_points

    from llmeval.scorers import (  # noqa: F401  (they register themselves)
        consistency,
        hallucination,
        judge,
        metrics,
        outcome,
        pii,
        similarity,
        stereotype,
        text,
    )

    for ep in entry_points(group="llmeval.scorers"):
        ep.load()
