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

from llmeval.backends.base import Backend, Generation, OnResult, Request, cut_at_stop
from llmeval.backends.calls import BoundedRun, DaemonThreads, LoopThread
from llmeval.backends.limits import DEFAULT_TIMEOUT_S, Limits
from llmeval.errors import BackendError

FORMAT_PARAMETER = "output_format"


class CallableBackend(Backend):
    """Your application: calls `fn(prompt_or_messages, vars)` per request on daemon threads (sync) or one event loop (async).

    A callable with a parameter named `output_format` also gets the request's format: None, or
    {"type": "json_schema", "schema": {...}, "name": ...} / {"type": "regex", "pattern": ..., "name": ...}
    (a judge's verdict format; see llmeval.backends.base.OutputFormat). Without that parameter it is not passed.

    Concurrency is bounded by `concurrency` for both; each call is bounded by the timeout (a stuck call
    is abandoned and becomes an error on its case) and the run deadline. `retries` re-call after the app
    raised (not after a timeout: the stuck call still holds its thread).
    """

    options = {
        "concurrency": "calls in flight at once (default 8)",
        "timeout": f"seconds one call may take before it is abandoned and becomes an error (default {DEFAULT_TIMEOUT_S:g})",
        "retries": "calls again after the app raised, not after a timeout (default 0)",
    }
    sees_vars = True

    def __init__(
        self,
        target: str,
        *,
        root: Path,
        concurrency: int = 8,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> None:
        self.spec = f"python:{target}"
        module_name, sep, attr = target.rpartition(":")
        if not sep or not module_name or not attr:
            raise BackendError(f"model spec '{self.spec}' must be python:<module>:<callable>, e.g. python:myapp.bot:answer")
        self.label = attr
        self.concurrency = max(1, concurrency)
        self.defaults = Limits(DEFAULT_TIMEOUT_S if timeout is None else timeout, retries or 0)
        self.fn, self._fingerprint = _load_callable(module_name, attr, root, self.spec)
        self._arity = _positional_arity(self.fn)
        self._takes_format = _takes_format(self.fn)

    def identity(self) -> str:
        """The callable's name plus a hash of its application's source tree: editing any of it invalidates the cache."""
        return f"{self.spec}@{self._fingerprint[:16]}"

    def generate(self, requests: Sequence[Request], on_result: OnResult, limits: Limits | None = None) -> None:
        bounds = (limits or Limits()).over(self.defaults)
        if inspect.iscoroutinefunction(self.fn):
            loop = LoopThread(lambda i: self._call_async(requests[i]))
            try:
                BoundedRun(loop.submit, concurrency=self.concurrency, limits=bounds, what="application call").run(
                    len(requests), on_result
                )
            finally:
                loop.close()
            return
        threads = DaemonThreads(lambda i: self._call_sync(requests[i]))
        threads.ensure(min(self.concurrency, len(requests)))
        try:
            BoundedRun(threads.submit, concurrency=self.concurrency, limits=bounds, what="application call").run(
                len(requests), on_result
            )
        finally:
            threads.close()

    def _args(self, request: Request) -> tuple[Any, ...]:
        first: Any = request.prompt
        if request.prompt is None:
            first = [{"role": r, "content": c} for r, c in request.messages or ()]
        return (first, json.loads(request.vars))[: self._arity]

    def _kwargs(self, request: Request) -> dict[str, Any]:
        if not self._takes_format:
            return {}
        fmt = request.config.output_format
        return {FORMAT_PARAMETER: fmt.describe() if fmt is not None else None}

    def _call_sync(self, request: Request) -> Generation | BaseException:
        start = time.perf_counter()
        try:
            out = self.fn(*self._args(request), **self._kwargs(request))
        except KeyboardInterrupt as exc:
            return exc
        except BaseException as exc:  # the user's app failed (SystemExit too): report on the case, keep going
            return _failed(exc, start)
        return _finish(out, request, start)

    async def _call_async(self, request: Request) -> Generation | BaseException:
        start = time.perf_counter()
        try:
            out = await self.fn(*self._args(request), **self._kwargs(request))
        except asyncio.CancelledError:
            raise
        except KeyboardInterrupt as exc:
            return exc
        except BaseException as exc:
            return _failed(exc, start)
        return _finish(out, request, start)


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
    error = f"application raised {''.join(frames).strip()}"
    return Generation("", latency_s=time.perf_counter() - start, error=error, meta={"retryable": True})


def _load_callable(module_name: str, attr: str, root: Path, spec: str) -> tuple[Callable[..., Any], str]:
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
    return fn, app_fingerprint(module_name, fn)


def app_fingerprint(module_name: str, fn: Callable[..., Any]) -> str:
    """SHA-256 over the source tree of the module's top-level package (every .py under it), or the lone module's file."""
    top = sys.modules.get(module_name.partition(".")[0])
    folders = list(getattr(top, "__path__", None) or [])
    files = sorted({p for folder in folders for p in Path(folder).rglob("*.py")})
    single = getattr(top, "__file__", None)
    roots = [Path(f) for f in folders]
    if not files and single:
        files, roots = [Path(single)], [Path(single).parent]
    digest = hashlib.sha256()
    for file in files:
        base = next((r for r in roots if file.is_relative_to(r)), file.parent)
        digest.update(str(file.relative_to(base)).encode() + b"\0" + file.read_bytes() + b"\0")
    if not files:  # no source on disk (a built-in or extension module): only its name and repr
        digest.update(repr(fn).encode())
    return digest.hexdigest()


def _positional_arity(fn: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 2
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return min(2, sum(p.kind in positional and p.name != FORMAT_PARAMETER for p in params))


def _takes_format(fn: Callable[..., Any]) -> bool:
    """Whether the callable names an `output_format` parameter (by name: **kwargs alone does not count)."""
    try:
        param = inspect.signature(fn).parameters.get(FORMAT_PARAMETER)
    except (TypeError, ValueError):
        return False
    return param is not None and param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)
