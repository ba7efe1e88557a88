"""`python:<module>:<callable>` — the user's own application as the model (sync or async)."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect
import json
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from llmeval.backends.base import Generation, OnResult, Request, cut_at_stop
from llmeval.errors import BackendError


class CallableBackend:
    """Calls `fn(prompt_or_messages, vars)` per request; coroutines run with bounded concurrency."""

    sees_vars = True

    def __init__(self, target: str, *, root: Path, concurrency: int = 8, **_: Any) -> None:
        self.spec = f"python:{target}"
        module_name, sep, attr = target.rpartition(":")
        if not sep or not module_name or not attr:
            raise BackendError(f"model spec '{self.spec}' must be python:<module>:<callable>, e.g. python:myapp.bot:answer")
        self.label = attr
        self.concurrency = max(1, concurrency)
        self.fn, self._source = _load_callable(module_name, attr, root, self.spec)
        self._arity = _positional_arity(self.fn)

    def identity(self) -> str:
        """The callable's name plus a hash of its module's source: editing the app invalidates the cache."""
        return f"{self.spec}@{hashlib.sha256(self._source).hexdigest()[:16]}"

    def generate(self, requests: Sequence[Request], on_result: OnResult) -> None:
        if inspect.iscoroutinefunction(self.fn):
            asyncio.run(self._generate_async(requests, on_result))
            return
        for index, request in enumerate(requests):
            on_result(index, self._call_sync(request))

    def close(self) -> None:
        return None

    def _args(self, request: Request) -> tuple[Any, ...]:
        first: Any = request.prompt
        if request.prompt is None:
            first = [{"role": r, "content": c} for r, c in request.messages or ()]
        return (first, json.loads(request.vars))[: self._arity]

    def _call_sync(self, request: Request) -> Generation:
        start = time.perf_counter()
        try:
            out = self.fn(*self._args(request))
        except Exception as exc:  # the user's app failed: report on the case, keep going
            return _failed(exc, start)
        return _finish(out, request, start)

    async def _generate_async(self, requests: Sequence[Request], on_result: OnResult) -> None:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(index: int, request: Request) -> None:
            async with gate:
                start = time.perf_counter()
                try:
                    out = await self.fn(*self._args(request))
                except Exception as exc:
                    on_result(index, _failed(exc, start))
                    return
                on_result(index, _finish(out, request, start))

        await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))


def _finish(out: Any, request: Request, start: float) -> Generation:
    elapsed = time.perf_counter() - start
    if isinstance(out, dict) and "text" in out:
        out = out["text"]
    if not isinstance(out, str):
        return Generation("", latency_s=elapsed, error=f"the callable returned {type(out).__name__}, expected str")
    text = cut_at_stop(out, request.config.stop)
    return Generation(text, len(request.text().split()), len(text.split()), elapsed)


def _failed(exc: BaseException, start: float) -> Generation:
    frames = traceback.format_exception_only(type(exc), exc)
    return Generation("", latency_s=time.perf_counter() - start, error=f"application raised {''.join(frames).strip()}")


def _load_callable(module_name: str, attr: str, root: Path, spec: str) -> tuple[Callable[..., Any], bytes]:
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise BackendError(
            f"cannot import module '{module_name}' for model spec '{spec}': {type(exc).__name__}: {exc} "
            f"(tried sys.path with the rootdir {root} first)"
        ) from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        names = [n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))]
        raise BackendError(
            f"module '{module_name}' has no callable '{attr}' (model spec '{spec}'); callables there: {', '.join(names)}"
        )
    try:
        source = inspect.getsource(module).encode()
    except (OSError, TypeError):
        source = repr(fn).encode()
    return fn, source


def _positional_arity(fn: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 2
    return min(2, sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params))
