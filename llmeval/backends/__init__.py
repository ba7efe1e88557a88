"""Backends by spec prefix: hf:, vllm:, python:, openai:, replay:, replay-redacted:, and third-party ones from entry points."""

from __future__ import annotations

import difflib
from collections.abc import Callable
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
    "prefixes",
    "resolve",
    "split_spec",
]

BackendFactory = Callable[..., Backend]


def _hf(target: str, root: Path, **options: Any) -> Backend:
    from llmeval.backends.hf import HFBackend

    return HFBackend(target, root=root, **options)


def _vllm(target: str, root: Path, **options: Any) -> Backend:
    from llmeval.backends.vllm import VLLMBackend

    return VLLMBackend(target, root=root, **options)


def _python(target: str, root: Path, **options: Any) -> Backend:
    from llmeval.backends.python import CallableBackend

    return CallableBackend(target, root=root, **options)


def _openai(target: str, root: Path, **options: Any) -> Backend:
    from llmeval.backends.openai import OpenAIBackend

    return OpenAIBackend(target, root=root, **options)


def _replay(target: str, root: Path, **options: Any) -> Backend:
    from llmeval.backends.replay import ReplayBackend

    return ReplayBackend(target, root=root, **options)


def _replay_redacted(target: str, root: Path, **options: Any) -> Backend:
    from llmeval.backends.replay import ReplayBackend

    return ReplayBackend(target, root=root, accept_redacted=True, **options)


def prefixes() -> dict[str, BackendFactory]:
    """The known spec prefixes: built-ins plus the `llmeval.backends` entry point group."""
    from importlib.metadata import entry_points

    found: dict[str, BackendFactory] = {"hf": _hf, "vllm": _vllm, "python": _python, "openai": _openai, "replay": _replay,
                                        "replay-redacted": _replay_redacted}  # fmt: skip
    for ep in entry_points(group="llmeval.backends"):
        found[ep.name] = ep.load()
    return found


def split_spec(spec: str) -> tuple[str, str]:
    prefix, sep, target = spec.partition(":")
    if not sep or not target:
        raise BackendError(
            f"model spec '{spec}' has no prefix: write it as <prefix>:<target>, e.g. hf:fixtures/models/support-tiny "
            f"or python:myapp.bot:answer (known prefixes: {', '.join(prefixes())})"
        )
    return prefix, target


def resolve(spec: str, *, root: Path, **options: Any) -> Backend:
    """Build the backend for a model spec; raises BackendError naming the spec and what was tried."""
    prefix, target = split_spec(spec)
    known = prefixes()
    if prefix not in known:
        close = difflib.get_close_matches(prefix, list(known), n=1)
        hint = f"did you mean '{close[0]}:'? " if close else ""
        raise BackendError(f"unknown model spec prefix '{prefix}:' in '{spec}'; {hint}known: {', '.join(known)}")
    return known[prefix](target, root, **options)
