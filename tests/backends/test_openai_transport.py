"""openai: faults through its HTTP transport seam (httpx.MockTransport), beside the real loopback servers of test_openai.py.

The transport answers as a server would (status, headers, body) or fails as a network does (a timeout);
everything above it — retries, Retry-After, parsing, the key policy — is the backend's own code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest

from llmeval.backends import GenerationConfig, Request
from llmeval.backends.openai import OpenAIBackend
from llmeval.errors import BackendError

SECRET = "sk-transport-test-0123456789"
GREEDY = GenerationConfig(max_new_tokens=4)


class Server:
    """A scripted OpenAI-compatible server behind a MockTransport: each request takes the next answer."""

    def __init__(self, *answers: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answers = list(answers)
        self.seen: list[tuple[float, httpx.Request, dict]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((time.monotonic(), request, json.loads(request.content)))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def ok(text: str = "fine") -> Callable[[httpx.Request], httpx.Response]:
    body = {"choices": [{"text": text, "finish_reason": "stop"}], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}
    return lambda request: httpx.Response(200, json=body)


def status(code: int, headers: dict[str, str] | None = None, body: object = None) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(code, headers=headers, json=body or {"error": f"status {code}"})


def generate(backend: OpenAIBackend, request: Request | None = None):
    out = {}
    backend.generate([request or Request("Q: hi\nA:", None, GREEDY)], lambda i, gen: out.__setitem__(i, gen))
    return out[0]


def backend(server: Server, url: str = "http://127.0.0.1:8000/v1", model: str = "served", **options) -> OpenAIBackend:
    return OpenAIBackend(f"{url}#{model}", transport=server.transport, **{"backoff": 0.0, **options})


@pytest.fixture(autouse=True)
def no_ambient_key(monkeypatch):
    for name in ("OPENAI_API_KEY", "LLMEVAL_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_a_429_waits_the_retry_after_it_names_then_succeeds():
    server = Server(status(429, {"Retry-After": "0.4"}), ok("after the wait"))
    gen = generate(backend(server, retries=2))
    assert gen.error is None and gen.text == "after the wait" and gen.meta["attempts"] == 2
    (first, *_), (second, *_) = server.seen
    assert second - first >= 0.4  # backoff is 0 here: only the header can have made it wait


def test_a_500_is_retried_and_the_second_answer_is_kept():
    server = Server(status(500), ok("second time"))
    gen = generate(backend(server, retries=1))
    assert (gen.error, gen.text, gen.meta["attempts"]) == (None, "second time", 2)


def test_a_500_with_no_retries_left_is_an_error_naming_the_status_and_attempts():
    server = Server(status(503, body={"error": "overloaded"}))
    gen = generate(backend(server, retries=1))
    assert gen.error.startswith("HTTP 503 from POST http://127.0.0.1:8000/v1/completions: ")
    assert "overloaded" in gen.error and gen.error.endswith("after 2 attempts (openai:http://127.0.0.1:8000/v1#served)")
    assert len(server.seen) == 2


def test_a_timeout_is_retried_then_reported():
    def times_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no bytes for a while", request=request)

    server = Server(times_out)
    gen = generate(backend(server, retries=1, timeout=5))
    assert "POST http://127.0.0.1:8000/v1/completions timed out after 5 s after 2 attempts" in gen.error
    assert gen.text == "" and len(server.seen) == 2


def test_malformed_json_is_an_error_showing_the_body_and_is_not_retried():
    server = Server(lambda request: httpx.Response(200, content=b'{"choices": [ oops'))
    gen = generate(backend(server, retries=3))
    assert "unexpected response from POST http://127.0.0.1:8000/v1/completions (no choices[0] text)" in gen.error
    assert '{"choices": [ oops' in gen.error and len(server.seen) == 1


def test_a_model_name_the_server_does_not_serve_is_named_and_not_retried():
    def serves_one_model(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["model"] != "served":
            return httpx.Response(404, json={"error": {"message": "The model `tiny-v2` does not exist."}})
        return ok()(request)

    server = Server(serves_one_model)
    gen = generate(backend(server, model="tiny-v2", retries=3))
    assert "HTTP 404 from POST" in gen.error and "The model `tiny-v2` does not exist." in gen.error
    assert len(server.seen) == 1
    assert generate(backend(server)).text == "fine"


def test_a_refusal_with_no_text_is_an_error_never_the_text_none():
    answer = {"choices": [{"message": {"content": None, "refusal": "I can't help with that."}, "finish_reason": "stop"}]}
    server = Server(lambda request: httpx.Response(200, json=answer))
    gen = generate(backend(server), Request(None, (("user", "hi"),), GREEDY))
    assert 'choices[0].message.content = null, not text (refusal: "I can\'t help with that.")' in gen.error


def test_the_key_goes_to_an_allowed_host_and_is_refused_to_any_other(monkeypatch):
    monkeypatch.setenv("LLMEVAL_API_KEY", SECRET)
    server = Server(ok())
    assert generate(backend(server, "https://api.example.com/v1", allow_hosts=["api.example.com"])).error is None
    ((_, sent, _),) = server.seen
    assert sent.headers["Authorization"] == f"Bearer {SECRET}"
    for url, allow in (("https://evil.example.net/v1", ["api.example.com"]), ("http://api.example.com/v1", ["api.example.com"])):
        with pytest.raises(BackendError, match=r"withholding the API key in \$LLMEVAL_API_KEY: .*--llmeval-allow-host") as info:
            backend(server, url, allow_hosts=allow)
        assert SECRET not in str(info.value)
    assert len(server.seen) == 1  # nothing was sent to the refused hosts


def test_a_key_the_server_echoes_is_scrubbed_from_the_error(monkeypatch):
    monkeypatch.setenv("LLMEVAL_API_KEY", SECRET)
    server = Server(status(401, body={"error": f"invalid key {SECRET}"}))
    gen = generate(backend(server))
    assert "HTTP 401" in gen.error and "invalid key ***" in gen.error and SECRET not in gen.error
