"""`openai:<base url>#<model name>` — any OpenAI-compatible HTTP server (vLLM, TGI, `transformers serve`, ...).

A served model's identity is its base URL and name: the server cannot prove which weights answer, so
version the name (`support-bot-2024-06`) when the weights change, or the cache will replay old outputs.
The API key comes from the variable `api_key_env` names (default `LLMEVAL_API_KEY`, then `OPENAI_API_KEY`)
and goes only to hosts the key policy allows (llmeval.backends.keys). Each attempt of a request is
bounded in total wall time (`timeout`, body included: a server trickling bytes is cut), failed attempts
are retried `retries` times on timeouts, transport errors, 429 and 5xx.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from llmeval.backends.base import Generation, OnResult, Request, cut_at_stop
from llmeval.backends.keys import DEFAULT_KEY_VARIABLES, KeyPolicy
from llmeval.backends.limits import DEFAULT_TIMEOUT_S, Limits
from llmeval.errors import BackendError

DEFAULT_RETRIES = 3
SPEC_EXAMPLE = "openai:http://127.0.0.1:8000/v1#my-model"
MAX_DELAY_S = 60.0
MAX_STOP_SENT = 4  # the OpenAI API accepts at most four stop strings; all are applied locally too


@dataclass
class _Attempt:
    """The outcome of one HTTP attempt: a generation, or an error and whether it is worth retrying."""

    generation: Generation | None = None
    error: str = ""
    retry: bool = False
    wait_s: float | None = None


class OpenAIBackend:
    """Sends completions (prompt) or chat completions (messages) with bounded concurrency and retries."""

    sees_vars = False

    def __init__(
        self,
        target: str,
        *,
        root: Path | None = None,
        concurrency: int = 8,
        timeout: float | None = None,
        retries: int | None = None,
        backoff: float = 1.0,
        allow_hosts: Sequence[str] = (),
        api_key_env: Sequence[str] = (),
        **_: Any,
    ) -> None:
        self.spec = f"openai:{target}"
        self.base_url, self.model = parse_target(target)
        self.label = self.model
        self.concurrency = max(1, int(concurrency or 8))
        self.defaults = Limits(DEFAULT_TIMEOUT_S if timeout is None else timeout, DEFAULT_RETRIES if retries is None else retries)
        self.backoff = float(backoff)
        self.policy = KeyPolicy(tuple(allow_hosts), tuple(api_key_env))
        self._key_variable = self.policy.key_for(self.base_url, self.spec)[1]  # BackendError if it must be withheld

    def __repr__(self) -> str:
        return f"OpenAIBackend({self.base_url!r}, model={self.model!r})"

    def identity(self) -> str:
        """Base URL and model name only: stable when the server is down, so a cached run still replays."""
        return f"openai|{self.base_url}#{self.model}"

    def secrets(self) -> list[str]:
        """The API key this backend sends (for masking in reports); read from the environment, never stored."""
        key = self._key()
        return [key] if key else []

    def generate(self, requests: Sequence[Request], on_result: OnResult, limits: Limits | None = None) -> None:
        asyncio.run(self._generate_async(requests, on_result, (limits or Limits()).over(self.defaults)))

    def close(self) -> None:
        return None

    def _key(self) -> str | None:
        return self.policy.key_for(self.base_url, self.spec)[0]

    async def _generate_async(self, requests: Sequence[Request], on_result: OnResult, limits: Limits) -> None:
        import httpx

        gate = asyncio.Semaphore(self.concurrency)
        pool = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        key = self._key()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with httpx.AsyncClient(headers=headers, timeout=limits.timeout, limits=pool) as client:

            async def one(index: int, request: Request) -> None:
                async with gate:
                    if limits.deadline is not None and limits.deadline.reached():
                        generation = Generation("", error=limits.deadline.not_started)
                    else:
                        generation = await self._complete(client, request, limits)
                generation.error = _scrub(generation.error, key)
                on_result(index, generation)

            await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))

    async def _complete(self, client: Any, request: Request, limits: Limits) -> Generation:
        """One request with retries; the error of the last attempt once they are exhausted."""
        path, payload = self._payload(request)
        attempt, attempts = _Attempt(), 1 + (limits.retries or 0)
        for number in range(1, attempts + 1):
            attempt = await self._bounded_attempt(client, path, payload, request, limits)
            if attempt.generation is not None:
                attempt.generation.meta["attempts"] = number
                return attempt.generation
            if not attempt.retry or number == attempts:
                break
            await asyncio.sleep(self._delay(number, attempt.wait_s, limits))
        tries = f" after {number} attempt{'s' if number > 1 else ''}" if attempt.retry else ""
        return Generation("", error=f"{attempt.error}{tries} ({self.spec})", meta={"attempts": number})

    async def _bounded_attempt(
        self, client: Any, path: str, payload: dict[str, Any], request: Request, limits: Limits
    ) -> _Attempt:
        """One attempt cut at its total wall time (httpx's own timeout is per read), or at the run deadline."""
        deadline, bound = limits.deadline, limits.attempt_timeout()
        if deadline is not None and deadline.reached():
            return _Attempt(error=deadline.stopped)
        try:
            return await asyncio.wait_for(self._attempt(client, path, payload, request, limits), bound)
        except TimeoutError:
            if deadline is not None and deadline.reached():
                return _Attempt(error=deadline.stopped)
            return _Attempt(error=f"POST {self.base_url}{path} timed out after {limits.timeout:g} s", retry=True)

    async def _attempt(self, client: Any, path: str, payload: dict[str, Any], request: Request, limits: Limits) -> _Attempt:
        import httpx

        url = f"{self.base_url}{path}"
        start = time.perf_counter()
        try:
            response = await client.post(url, json=payload)
        except httpx.ConnectError as exc:
            return _Attempt(error=f"cannot connect to {url} ({_reason(exc)}): is the server running at {self.base_url}?")
        except httpx.TimeoutException:
            return _Attempt(error=f"POST {url} timed out after {limits.timeout:g} s", retry=True)
        except httpx.HTTPError as exc:
            return _Attempt(error=f"POST {url} failed: {type(exc).__name__}: {_reason(exc)}", retry=True)
        latency = time.perf_counter() - start
        if response.status_code >= 400:
            retry = response.status_code == 429 or response.status_code >= 500
            detail = f"HTTP {response.status_code} from POST {url}: {_body_excerpt(response)}"
            return _Attempt(error=detail, retry=retry, wait_s=_retry_after(response.headers.get("retry-after")))
        return _parse(response, request, latency, url)

    def _payload(self, request: Request) -> tuple[str, dict[str, Any]]:
        config = request.config
        payload: dict[str, Any] = {
            "model": self.model,
            "max_tokens": config.max_new_tokens,
            "temperature": config.temperature,
            "top_p": config.top_p,
            "seed": config.seed * 1_000_003 + request.sample,  # distinct samples of one case differ
        }
        if config.stop:
            payload["stop"] = list(config.stop[:MAX_STOP_SENT])
        if request.messages is None:
            return "/completions", {**payload, "prompt": request.prompt}
        messages = [{"role": role, "content": content} for role, content in request.messages]
        return "/chat/completions", {**payload, "messages": messages}

    def _delay(self, attempt: int, retry_after: float | None, limits: Limits) -> float:
        """Retry-After when the server sends one, else exponential backoff with jitter; never past the deadline."""
        if retry_after is not None:
            delay = min(retry_after, MAX_DELAY_S)
        else:
            delay = min(self.backoff * 2 ** (attempt - 1) * (0.5 + random.random()), MAX_DELAY_S)
        return min(delay, limits.deadline.remaining()) if limits.deadline is not None else delay


def parse_target(target: str) -> tuple[str, str]:
    """`<base url>#<model name>` → (base url without a trailing slash, model name); BackendError if malformed."""
    base, sep, model = target.partition("#")
    base = base.strip().rstrip("/")
    model = model.strip()
    spec = f"openai:{target}"
    if not sep or not model:
        raise BackendError(
            f"model spec '{spec}' needs the model name after '#': write openai:<base url>#<model name>, e.g. {SPEC_EXAMPLE}"
        )
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BackendError(f"model spec '{spec}' needs an http(s) base URL before '#', e.g. {SPEC_EXAMPLE}")
    if parts.username or parts.password:
        raise BackendError(
            f"model spec '{parts.scheme}://{parts.hostname}...#{model}' carries credentials in its URL; "
            f"remove them and set {' or '.join(DEFAULT_KEY_VARIABLES)} instead (specs are written to reports and the cache)"
        )
    return base, model


def _parse(response: Any, request: Request, latency: float, url: str) -> _Attempt:
    """Text and token counts from a completion or chat completion body."""
    try:
        body = response.json()
        choice = body["choices"][0]
        text = choice["text"] if request.messages is None else (choice["message"].get("content") or "")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return _Attempt(error=f"unexpected response from POST {url} (no choices[0] text): {_body_excerpt(response)}")
    text = str(text)
    text = text.strip() if text.startswith(" ") else text  # as the hf: backend, so one suite scores alike
    text = cut_at_stop(text, request.config.stop)
    usage = body.get("usage") or {}
    prompt_tokens = usage.get("prompt_tokens") or len(request.text().split())
    completion_tokens = usage.get("completion_tokens") or len(text.split())
    meta = {"finish_reason": choice.get("finish_reason")}
    return _Attempt(Generation(text, int(prompt_tokens), int(completion_tokens), latency, meta=meta))


def _scrub(text: str | None, key: str | None) -> str | None:
    """Remove the API key from an error bound for results, in case a server echoes it back."""
    return text.replace(key, "***") if key and text else text


def _reason(exc: BaseException) -> str:
    """The root cause of a transport error, e.g. 'connection refused' under httpx's 'All connection attempts failed'."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    return str(exc) or type(exc).__name__


def _body_excerpt(response: Any, limit: int = 300) -> str:
    try:
        text = response.text
    except Exception:
        return "<unreadable body>"
    text = " ".join(text.split())
    return text[:limit] + ("..." if len(text) > limit else "") if text else "<empty body>"


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
