"""Backends by spec prefix: hf:, vllm:, python:, openai:, replay:, replay-redacted:, and third-party ones from entry points."""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from llmeval.backends.base import Backend, Generation, GenerationConfig, Request, backend_secrets, cache_key
from llmeval.backends.keys import KeyPolicy, allowed_from_specs
from llmeval.backends.limits import Deadline, Limits, merge_limits
from llmeval.errors import BackendError

__all__ = [
    "Backend",
    "Deadline",
    "Generation",
    "GenerationConfig",
    "KeyPolicy",
    "Limits",
    "Request",
    "allowed_from_specs",
    "backend_secrets",
    "cache_key",
    "merge_limits",
    "listing",
    "options_of",
    "prefixes",
    "register",
    "resolve",
    "split_spec",
]

BackendFactory = Callable[..., Backend]
"""A Backend subclass (or a function) called as factory(target, root=root, **the options it declares)."""

BUILTINS: Mapping[str, str] = {
    "hf": "llmeval.backends.hf:HFBackend",
    "vllm": "llmeval.backends.vllm:VLLMBackend",
    "python": "llmeval.backends.python:CallableBackend",
    "openai": "llmeval.backends.openai:OpenAIBackend",
    "replay": "llmeval.backends.replay:ReplayBackend",
    "replay-redacted": "llmeval.backends.replay:RedactedReplayBackend",
}
"""The built-in spec prefixes as data: a backend's module is imported only when a spec uses it (or it is listed)."""

_REGISTERED: dict[str, BackendFactory] = {}  # by register(): the `llmeval.backends` entry points, a conftest


def register(prefix: str, factory: BackendFactory, *, override: bool = False) -> None:
    """Make `<prefix>:<target>` specs build with `factory`; a taken prefix is an error unless `override=True`."""
    taken = _REGISTERED.get(prefix) or BUILTINS.get(prefix)
    if taken is not None and taken is not factory and not override:
        where = taken if isinstance(taken, str) else f"{taken.__module__}.{taken.__qualname__}"
        raise BackendError(
            f"cannot register backend prefix '{prefix}:' for {factory.__module__}.{factory.__qualname__}: it is taken "
            f"by {where}; choose another prefix, or replace it on purpose (override=True, or `override = True` on the class)"
        )
    _REGISTERED[prefix] = factory


@functools.cache
def _load_entry_points() -> None:
    """Import the `llmeval.backends` entry points once per process, each registered under its name."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="llmeval.backends"):
        try:
            factory = ep.load()
        except Exception as exc:
            raise BackendError(
                f"the backend entry point '{ep.name} = {ep.value}' (group llmeval.backends) failed to load: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        register(ep.name, factory, override=bool(getattr(factory, "override", False)))


def prefixes() -> dict[str, BackendFactory | str]:
    """The known spec prefixes: built-ins ("module:attr", not imported) plus registered and entry point ones."""
    _load_entry_points()
    return {**BUILTINS, **_REGISTERED}


def factory_for(prefix: str, spec: str | None = None) -> BackendFactory:
    known = prefixes()
    if prefix not in known:
        close = difflib.get_close_matches(prefix, list(known), n=1)
        hint = f"did you mean '{close[0]}:'? " if close else ""
        where = f" in '{spec}'" if spec else ""
        raise BackendError(f"unknown model spec prefix '{prefix}:'{where}; {hint}known: {', '.join(known)}")
    found = known[prefix]
    return _imported(found) if isinstance(found, str) else found


@functools.cache
def _imported(target: str) -> BackendFactory:
    module, _, attr = target.partition(":")
    factory: BackendFactory = getattr(importlib.import_module(module), attr)
    return factory


def options_of(factory: BackendFactory) -> dict[str, str]:
    """The run settings a backend takes, each with what it does there (its `options`; none declared: none)."""
    return dict(getattr(factory, "options", {}))


def split_spec(spec: str) -> tuple[str, str]:
    prefix, sep, target = spec.partition(":")
    if not sep or not target:
        raise BackendError(
            f"model spec '{spec}' has no prefix: write it as <prefix>:<target>, e.g. hf:fixtures/models/support-tiny "
            f"or python:myapp.bot:answer (known prefixes: {', '.join(prefixes())})"
        )
    return prefix, target


def resolve(spec: str, *, root: Path, **options: Any) -> Backend:
    """Build the backend for a model spec, passing it the options it declares; BackendError naming the spec if it cannot."""
    prefix, target = split_spec(spec)
    factory = factory_for(prefix, spec)
    if inspect.isclass(factory) and inspect.isabstract(factory):
        missing = ", ".join(f"{name}()" for name in sorted(getattr(factory, "__abstractmethods__", ())))
        raise BackendError(f"model spec '{spec}': the '{prefix}:' backend {factory.__name__} does not implement {missing}")
    declared = options_of(factory)
    backend = factory(target, root=root, **{name: value for name, value in options.items() if name in declared})
    if not isinstance(backend, Backend):
        raise BackendError(
            f"model spec '{spec}': the '{prefix}:' backend built a {type(backend).__name__}, not a llmeval.backends.Backend; "
            "subclass Backend (it gives load, secrets, close and identity their defaults)"
        )
    return backend


def listing() -> list[str]:
    """What `llmeval backends` prints: each prefix, what it is, and the options (run settings) it takes."""
    lines = []
    for prefix in prefixes():
        factory = factory_for(prefix)
        doc = (factory.__doc__ or "").strip().splitlines()
        lines.append(f"{prefix + ':':<17} {doc[0] if doc else ''}")
        declared = options_of(factory)
        for name, help_text in declared.items():
            lines.append(f"  {name:<15} {help_text}")
        if not declared:
            lines.append("  (no options)")
    return lines
