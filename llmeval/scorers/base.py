"""The scorer protocol, the Score value and the registry of scorers by name: the built-ins as a table of
"module:attr" names, plus what `register` adds (a project's conftest, a package's `llmeval.scorers` entry point)."""

from __future__ import annotations

import functools
import importlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from llmeval.errors import LlmevalError, ScorerError, unknown_name_hint

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
    """A scorer by name: its factory (a built-in's is a "module:attr" name, imported on first use), the
    parameter a bare scalar fills (`contains: "30 days"` fills `value`), its scale, and where it came from."""

    name: str
    target: str | ScorerFactory
    shorthand: str | None = None
    scale: Scale = UNKNOWN_SCALE
    origin: str = "built-in"

    @property
    def factory(self) -> ScorerFactory:
        return _imported(self.target) if isinstance(self.target, str) else self.target

    @property
    def summary(self) -> str:
        doc = (self.factory.__doc__ or "").strip().splitlines()
        return doc[0] if doc else ""


def _builtin(name: str, target: str, scale: Scale, shorthand: str | None = None) -> tuple[str, ScorerInfo]:
    return name, ScorerInfo(name, f"llmeval.scorers.{target}", shorthand, scale)


_RATIO_UP, _RATIO_DOWN = Scale(0.0, 1.0, "higher"), Scale(0.0, 1.0, "lower")
_SACREBLEU, _COUNT_DOWN, _OUTCOME = Scale(0.0, 100.0, "higher"), Scale(0.0, None, "lower"), Scale(0.0, 1.0, binary=True)

BUILTINS: Mapping[str, ScorerInfo] = dict(
    [
        _builtin("exact", "text:exact", CHECK, shorthand="value"),
        _builtin("contains", "text:contains", CHECK, shorthand="value"),
        _builtin("excludes", "text:excludes", CHECK, shorthand="value"),
        _builtin("regex", "text:regex", CHECK, shorthand="pattern"),
        _builtin("json", "text:json_", CHECK),
        _builtin("length", "text:length", Scale(0.0, None)),
        _builtin("bleu", "metrics:bleu", _SACREBLEU),
        _builtin("chrf", "metrics:chrf", _SACREBLEU),
        _builtin("ter", "metrics:ter", Scale(0.0, None, "lower")),
        _builtin("rouge1", "metrics:rouge1", _RATIO_UP),
        _builtin("rouge2", "metrics:rouge2", _RATIO_UP),
        _builtin("rougeL", "metrics:rougeL", _RATIO_UP),
        _builtin("rougeLsum", "metrics:rougeLsum", _RATIO_UP),
        _builtin("similarity", "similarity:similarity", Scale(-1.0, 1.0, "higher")),
        _builtin("self_consistency", "consistency:self_consistency", _RATIO_DOWN),
        _builtin("hallucination", "hallucination:hallucination", _RATIO_DOWN),
        _builtin("judge", "judge:judge", _RATIO_UP),
        _builtin("decision", "outcome:decision", _OUTCOME),
        _builtin("refusal", "outcome:refusal", _OUTCOME),
        _builtin("sentiment", "outcome:sentiment", Scale(-1.0, 1.0)),
        _builtin("pii", "pii:pii", _COUNT_DOWN),
        _builtin("no_leak", "pii:no_leak", _COUNT_DOWN, shorthand="secrets"),
        _builtin("stereotype", "stereotype:stereotype", Scale(0.0, 1.0, "lower", binary=True), shorthand="model"),
    ]
)
"""The built-in scorers as data: each module is imported only when its scorer is built or listed."""

_REGISTERED: dict[str, ScorerInfo] = {}  # by register(): a project's conftest, or a package's entry point


def register(
    name: str, *, shorthand: str | None = None, scale: Scale = UNKNOWN_SCALE, override: bool = False
) -> Callable[[F], F]:
    """Register a scorer factory under a name usable in suite files, with the scale of its values.

    A name already taken (a built-in, or another package's scorer) is an error unless `override=True`
    says the replacement is meant; the same factory registered again (its module imported again) is not.
    """

    def deco(factory: F) -> F:
        where = f"{getattr(factory, '__module__', '?')}.{getattr(factory, '__qualname__', repr(factory))}"
        taken = _REGISTERED.get(name) or BUILTINS.get(name)
        if taken is not None and not override and taken.origin != where:
            raise LlmevalError(
                f"cannot register scorer '{name}' from {where}: the name is taken by {taken.origin} scorer '{name}'; "
                f"choose another name, or replace it on purpose with register({name!r}, override=True)"
            )
        _REGISTERED[name] = ScorerInfo(name, factory, shorthand, scale, origin=where)
        return factory

    return deco


def available() -> dict[str, ScorerInfo]:
    """Every scorer by name, built-in and from the `llmeval.scorers` entry point group (no scorer module is imported)."""
    _load_entry_points()
    return dict(sorted({**BUILTINS, **_REGISTERED}.items()))


def lookup(name: str) -> ScorerInfo:
    _load_entry_points()
    found = _REGISTERED.get(name) or BUILTINS.get(name)
    if found is None:
        raise ScorerError(f"unknown scorer '{name}'", key=name, hint=unknown_name_hint(name, list(available())))
    return found


def build(name: str, params: Any) -> Scorer:
    """Build a scorer from its suite entry: a mapping of parameters, or a scalar for the shorthand."""
    from llmeval.scorers.params import checked

    info = lookup(name)
    if not isinstance(params, Mapping):
        if info.shorthand is None:
            raise ScorerError(
                f"scorer '{name}' takes a mapping of parameters, got {params!r}",
                key=name,
                hint=f"write it as `- {name}: {{min: 0.5}}`",
            )
        params = {info.shorthand: params}
    kwargs = checked(info, params)
    try:
        scorer = info.factory(**kwargs)
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
    from llmeval.scorers.params import names

    return f"'{info.name}' accepts: {', '.join(names(info))}"


@functools.cache
def _imported(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@functools.cache
def _load_entry_points() -> None:
    """Import the `llmeval.scorers` entry points once per process; importing one registers its scorers."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="llmeval.scorers"):
        try:
            ep.load()
        except LlmevalError:
            raise
        except Exception as exc:
            raise LlmevalError(
                f"the scorer entry point '{ep.name} = {ep.value}' (group llmeval.scorers) failed to load: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
