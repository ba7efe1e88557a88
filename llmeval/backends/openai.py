"""`openai:<base url>[,<base url>...]#<model name>` — any OpenAI-compatible HTTP server (vLLM, TGI, SGLang,
`transformers serve`, ...), or a fleet of them serving one model (llmeval.backends.fleet balances them).

A served model's identity is its base URL(s) and name: the server cannot prove which weights answer, so
version the name (`support-bot-2024-06`) when the weights change, or the cache will replay old outputs.
The URL set joins the identity (in any order) unless the user declares the model's id outside suite
files (`model_ids = ["NAME=ID"]`): then replicas may come and go and the cache still hits.
The API key comes from the variable `api_key_env` names (default `LLMEVAL_API_KEY`, then `OPENAI_API_KEY`)
and goes only to hosts the key policy allows (llmeval.backends.keys). Each attempt of a request is
bounded in total wall time (`timeout`, body included: a server trickling bytes is cut), failed attempts
are retried `retries` times on timeouts, transport errors, 429 and 5xx.

A request's output format (a judge's verdict schema) is sent as `openai_format` says: `response_format`
(default) sends JSON schemas as OpenAI's `response_format` (json_schema, strict) on both endpoints and
regexes not at all; `vllm` sends both in vLLM's `structured_outputs` field; `off` sends neither. A server
that refuses the field (HTTP 400/422 while it was sent) gets the request again without it, and no format
for the rest of the run: the judge's parser and retries then hold the output to the format.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmeval.backends.base import Backend, Generation, OnResult, OutputFormat, Request, cut_at_stop
from llmeval.backends.fleet import Fleet, Replica
from llmeval.backends.keys import KeyPolicy
from llmeval.backends.limits import DEFAULT_TIMEOUT_S, Limits
from llmeval.backends.openai_spec import declared_id, parse_targets
from llmeval.backends.ratelimit import estimate_tokens
from llmeval.errors import BackendError

if TYPE_CHECKING:
    import httpx

DEFAULT_RETRIES = 3
MAX_DELAY_S = 60.0
MAX_STOP_SENT = 4  # the OpenAI API accepts at most four stop strings; all are applied locally too
FORMAT_MODES = ("response_format", "vllm", "off")
FORMAT_FIELDS = ("response_format", "structured_outputs")
FORMAT_REFUSED = (400, 422)  # what OpenAI (400) and FastAPI-based servers (422) answer to a field they do not take


@dataclass
class _Attempt:
    """The outcome of one HTTP attempt: a generation, or an error and whether it is worth retrying."""

    generation: Generation | None = None
    error: str = ""
    retry: bool = False
    wait_s: float | None = None
    reached: bool = True  # False: the server was never reached (connection refused), so nothing was spent
    status: int | None = None  # the HTTP status of an error answer


class OpenAIBackend(Backend):
    """An OpenAI-compatible server, or a fleet of them serving one model: completions or chat completions.

    `transport` (an httpx.AsyncBaseTransport) replaces the network, for tests and custom clients.
    """

    options = {
        "concurrency": "requests in flight at once (default 8)",
        "timeout": f"seconds of wall time per attempt, body included (default {DEFAULT_TIMEOUT_S:g})",
        "retries": f"further attempts after a timeout, transport error, 429 or 5xx (default {DEFAULT_RETRIES})",
        "allow_hosts": "hosts that may receive the API key (loopback always may)",
        "api_key_env": "NAME or HOST=NAME: the variable holding the API key (default LLMEVAL_API_KEY, then OPENAI_API_KEY)",
        "balance": "how a fleet spreads requests: least-outstanding (default) or round-robin",
        "rpm": "requests a minute to each base URL",
        "tpm": "tokens (prompt + completion) a minute to each base URL",
        "model_ids": "NAME=ID: the id vouched for a served model name, its cache identity instead of the URLs",
        "openai_format": "how a judge's output format is asked for: response_format (default), vllm, off",
    }

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
        balance: str | None = None,
        rpm: float | None = None,
        tpm: float | None = None,
        model_ids: Sequence[str] = (),
        openai_format: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.spec = f"openai:{target}"
        self.format_mode = openai_format or FORMAT_MODES[0]
        if self.format_mode not in FORMAT_MODES:
            raise BackendError(f"openai_format must be one of {', '.join(FORMAT_MODES)}, got {openai_format!r} ({self.spec})")
        self._format_refused: str | None = None  # why the server refused the format field, once it has
        self.base_urls, self.model = parse_targets(target)
        self.base_url = self.base_urls[0]
        self.label = self.model
        self.model_id = declared_id(self.model, model_ids)
        try:
            self.fleet = Fleet.of(self.base_urls, balance=balance, rpm=rpm, tpm=tpm)
        except ValueError as exc:
            raise BackendError(f"model spec '{self.spec}': {exc}") from None
        self.concurrency = max(1, int(concurrency or 8))
        self.defaults = Limits(DEFAULT_TIMEOUT_S if timeout is None else timeout, DEFAULT_RETRIES if retries is None else retries)
        self.backoff = float(backoff)
        self.transport = transport
        self.policy = KeyPolicy(tuple(allow_hosts), tuple(api_key_env))
        for url in self.base_urls:  # the key policy holds for every URL: BackendError if a key must be withheld
            self.policy.key_for(url, self.spec)

    def __repr__(self) -> str:
        return f"OpenAIBackend({','.join(self.base_urls)!r}, model={self.model!r})"

    def identity(self) -> str:
        """Base URL(s) and model name only: stable when the servers are down, so a cached run still replays.

        A fleet's URLs count as a set (order and repeats do not matter); a declared model id replaces them.
        """
        if self.model_id is not None:
            return f"openai|id={self.model_id}#{self.model}"
        return f"openai|{','.join(sorted(set(self.base_urls)))}#{self.model}"

    def secrets(self) -> list[str]:
        """The API keys this backend sends (for masking in reports); read from the environment, never stored."""
        return sorted({key for key in self._keys().values() if key})

    def generate(self, requests: Sequence[Request], on_result: OnResult, limits: Limits | None = None) -> None:
        asyncio.run(self._generate_async(requests, on_result, (limits or Limits()).over(self.defaults)))

    def _keys(self) -> dict[str, str | None]:
        """The key for each base URL (the policy may pick a variable per host, or none)."""
        return {url: self.policy.key_for(url, self.spec)[0] for url in self.base_urls}

    async def _generate_async(self, requests: Sequence[Request], on_result: OnResult, limits: Limits) -> None:
        import httpx

        gate = asyncio.Semaphore(self.concurrency)
        pool = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        keys = self._keys()
        async with httpx.AsyncClient(timeout=limits.timeout, limits=pool, transport=self.transport) as client:

            async def one(index: int, request: Request) -> None:
                async with gate:
                    if limits.deadline is not None and limits.deadline.reached():
                        generation = Generation("", error=limits.deadline.not_started)
                    else:
                        generation = await self._complete(client, request, limits, keys)
                generation.error = _scrub(generation.error, keys.values())
                on_result(index, generation)

            await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))

    async def _complete(self, client: Any, request: Request, limits: Limits, keys: dict[str, str | None]) -> Generation:
        """One request; sent again without its format field when the server refuses that field."""
        path, payload = self._payload(request)
        generation, status = await self._send(client, path, payload, request, limits, keys)
        sent = [f for f in FORMAT_FIELDS if f in payload]
        if generation.error is None or status not in FORMAT_REFUSED or not sent:
            return generation
        bare_payload = {k: v for k, v in payload.items() if k not in sent}
        bare, _ = await self._send(client, path, bare_payload, request, limits, keys)
        if bare.error is None:
            self._format_refused = f"{sent[0]} refused by the server: {generation.error[:200]}"
            bare.meta["output_format"] = f"not applied: {self._format_refused}"
        return bare

    async def _send(
        self, client: Any, path: str, payload: dict[str, Any], request: Request, limits: Limits, keys: dict[str, str | None]
    ) -> tuple[Generation, int | None]:
        """One payload with retries, each on the replica the fleet picks; the last attempt's error and HTTP status once spent.

        A fleet gets one more attempt per further URL, so a dead replica costs a retry but cannot use them all up.
        """
        attempt, attempts = _Attempt(), 1 + (limits.retries or 0) + len(self.fleet) - 1
        tried: set[str] = set()
        replica = self.fleet.pick(tried)
        for number in range(1, attempts + 1):
            attempt = await self._on_replica(replica, client, path, payload, request, limits, keys[replica.url])
            tried.add(replica.url)
            if attempt.generation is not None:
                attempt.generation.meta.update(attempts=number, base_url=replica.url)
                return attempt.generation, None
            if not attempt.retry or number == attempts:
                break
            last, replica = replica, self.fleet.pick(tried)
            if replica is last or len(tried) == len(self.fleet):  # another replica need not wait for this one
                await asyncio.sleep(self._delay(number, attempt.wait_s, limits))
        tries = f" after {number} attempt{'s' if number > 1 else ''}" if attempt.retry else ""
        return Generation("", error=f"{attempt.error}{tries} ({self.spec})", meta={"attempts": number}), attempt.status

    async def _on_replica(
        self,
        replica: Replica,
        client: Any,
        path: str,
        payload: dict[str, Any],
        request: Request,
        limits: Limits,
        key: str | None,
    ) -> _Attempt:
        """Wait for the replica's rate limits (never past the run deadline), send, settle its token count."""
        estimate = estimate_tokens(request.text(), request.config.max_new_tokens)
        attempt = _Attempt(error="", retry=False)
        try:
            wait = limits.deadline.remaining() if limits.deadline is not None else None
            await asyncio.wait_for(replica.limiter.acquire(estimate), None if wait == float("inf") else wait)
        except TimeoutError:
            assert limits.deadline is not None
            attempt = _Attempt(error=limits.deadline.not_started)
        else:
            attempt = await self._bounded_attempt(client, replica.url, path, payload, request, limits, key)
            gen = attempt.generation
            if gen is not None:
                replica.limiter.settle(estimate, gen.prompt_tokens + gen.completion_tokens)
            elif not attempt.reached:  # a refused connection spent nothing
                replica.limiter.settle(estimate, 0)
            if attempt.wait_s is not None:
                replica.limiter.pause(min(attempt.wait_s, MAX_DELAY_S))
        finally:
            self.fleet.release(replica, ok=attempt.generation is not None or _answered(attempt))
        return attempt

    async def _bounded_attempt(
        self,
        client: Any,
        base_url: str,
        path: str,
        payload: dict[str, Any],
        request: Request,
        limits: Limits,
        key: str | None,
    ) -> _Attempt:
        """One attempt cut at its total wall time (httpx's own timeout is per read), or at the run deadline."""
        deadline, bound = limits.deadline, limits.attempt_timeout()
        if deadline is not None and deadline.reached():
            return _Attempt(error=deadline.stopped)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        try:
            return await asyncio.wait_for(self._attempt(client, base_url, path, payload, request, limits, headers), bound)
        except TimeoutError:
            if deadline is not None and deadline.reached():
                return _Attempt(error=deadline.stopped)
            return _Attempt(error=f"POST {base_url}{path} timed out after {limits.timeout:g} s", retry=True)

    async def _attempt(
        self,
        client: Any,
        base_url: str,
        path: str,
        payload: dict[str, Any],
        request: Request,
        limits: Limits,
        headers: dict[str, str],
    ) -> _Attempt:
        import httpx

        url = f"{base_url}{path}"
        start = time.perf_counter()
        try:
            response = await client.post(url, json=payload, headers=headers)
        except httpx.ConnectError as exc:
            error = f"cannot connect to {url} ({_reason(exc)}): is the server running at {base_url}?"
            return _Attempt(error=error, retry=len(self.fleet) > 1, reached=False)
        except httpx.TimeoutException:
            return _Attempt(error=f"POST {url} timed out after {limits.timeout:g} s", retry=True)
        except httpx.HTTPError as exc:
            return _Attempt(error=f"POST {url} failed: {type(exc).__name__}: {_reason(exc)}", retry=True)
        latency = time.perf_counter() - start
        if response.status_code >= 400:
            retry = response.status_code == 429 or response.status_code >= 500
            detail = f"HTTP {response.status_code} from POST {url}: {_body_excerpt(response)}"
            wait_s = _retry_after(response.headers.get("retry-after"))
            return _Attempt(error=detail, retry=retry, wait_s=wait_s, status=response.status_code)
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
        if config.output_format is not None and self._format_refused is None:
            payload.update(format_fields(config.output_format, self.format_mode))
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


def format_fields(fmt: OutputFormat, mode: str) -> dict[str, Any]:
    """The request fields that ask the server for `fmt` under `mode` ({} when the mode cannot express it)."""
    if mode == "vllm":
        return {"structured_outputs": {"json": fmt.schema} if fmt.kind == "json_schema" else {"regex": fmt.value}}
    if mode == "response_format" and fmt.kind == "json_schema":
        schema = {"name": fmt.name, "schema": fmt.schema, "strict": True}
        return {"response_format": {"type": "json_schema", "json_schema": schema}}
    return {}


def _parse(response: Any, request: Request, latency: float, url: str) -> _Attempt:
    """Text and token counts from a completion or chat completion body."""
    try:
        body = response.json()
        choice = body["choices"][0]
        field, text = ("text", choice["text"]) if request.messages is None else ("message.content", choice["message"]["content"])
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return _Attempt(error=f"unexpected response from POST {url} (no choices[0] text): {_body_excerpt(response)}")
    if not isinstance(text, str):
        return _Attempt(error=_no_text(url, field, text, choice))
    text = text.strip() if text.startswith(" ") else text  # as the hf: backend, so one suite scores alike
    text = cut_at_stop(text, request.config.stop)
    usage = body.get("usage") or {}
    prompt_tokens = usage.get("prompt_tokens") or len(request.text().split())
    completion_tokens = usage.get("completion_tokens") or len(text.split())
    counted = usage.get("prompt_tokens") and usage.get("completion_tokens") is not None
    meta = {"finish_reason": choice.get("finish_reason"), "token_source": "usage" if counted else "words"}
    return _Attempt(Generation(text, int(prompt_tokens), int(completion_tokens), latency, meta=meta))


def _no_text(url: str, field: str, value: Any, choice: Any) -> str:
    """A null (or non-string) answer is missing output, never the text 'None'."""
    shown = "null" if value is None else f"a {type(value).__name__}"
    refusal = choice.get("message", {}).get("refusal") if isinstance(choice.get("message"), dict) else None
    why = f" (refusal: {str(refusal)[:200]!r})" if refusal else f" (finish_reason: {choice.get('finish_reason')!r})"
    return f"POST {url} answered choices[0].{field} = {shown}, not text{why}: no output to score"


def _answered(attempt: _Attempt) -> bool:
    """A client error (4xx but 429: a bad request, a refused field) is the request's fault: the replica is healthy."""
    return attempt.status is not None and 400 <= attempt.status < 500 and attempt.status != 429


def _scrub(text: str | None, keys: Iterable[str | None]) -> str | None:
    """Remove the API keys from an error bound for results, in case a server echoes one back."""
    for key in keys:
        text = text.replace(key, "***") if key and text else text
    return text


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
