"""The openai: backend against a real `transformers serve` on loopback, and a fault-injecting server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from llmeval.backends import Deadline, GenerationConfig, Limits, Request, allowed_from_specs
from llmeval.backends.openai import OpenAIBackend
from llmeval.errors import BackendError

SECRET = "sk-test-DO-NOT-LEAK-1234567890"
GREEDY = GenerationConfig(max_new_tokens=8)
# A random tiny model with tied embeddings tends to repeat a prompt's last token: vary the endings.
PROMPTS = [
    "Q: Do you ship abroad?\nA:",
    "Q: How long do I have to return an item",
    "Document: The city council approved a new park on Tuesday.\nSummary",
    "refund",
]
MESSAGES = [
    (("user", "Do you ship abroad?"),),
    (("system", "Be brief."), ("user", "Hello")),
]


def run(backend: OpenAIBackend, requests: list[Request]) -> list:
    out: dict = {}
    backend.generate(requests, lambda i, gen: out.__setitem__(i, gen))
    assert sorted(out) == list(range(len(requests)))
    return [out[i] for i in range(len(requests))]


def backend_for(url: str, model: str = "m", **options) -> OpenAIBackend:
    return OpenAIBackend(f"{url}#{model}", **{"backoff": 0.01, **options})


@pytest.fixture(autouse=True)
def no_ambient_key(monkeypatch):
    for name in ("OPENAI_API_KEY", "LLMEVAL_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    "target, base, model",
    [
        ("http://127.0.0.1:8000/v1#my-model", "http://127.0.0.1:8000/v1", "my-model"),
        ("https://api.example.com/v1/#org/model-2024-06", "https://api.example.com/v1", "org/model-2024-06"),
        ("http://localhost:8000/v1#/models/local path", "http://localhost:8000/v1", "/models/local path"),
    ],
)
def test_spec_gives_base_url_and_model(target, base, model):
    backend = OpenAIBackend(target)
    assert (backend.base_url, backend.model, backend.label) == (base, model, model)
    assert backend.identity() == f"openai|{base}#{model}"


@pytest.mark.parametrize(
    "target, says",
    [
        ("http://127.0.0.1:8000/v1", "needs the model name after '#'"),
        ("http://127.0.0.1:8000/v1#", "needs the model name after '#'"),
        ("127.0.0.1:8000/v1#m", "needs an http(s) base URL"),
        ("ftp://host/v1#m", "needs an http(s) base URL"),
        ("https://user:sk-secret@host/v1#m", "carries credentials"),
    ],
)
def test_bad_spec_says_how_to_write_it(target, says):
    with pytest.raises(BackendError) as info:
        OpenAIBackend(target)
    assert says in str(info.value)
    assert "sk-secret" not in str(info.value)


def test_identity_is_url_and_name_and_tracks_the_name():
    assert backend_for("http://h/v1/", "a").identity() == backend_for("http://h/v1", "a").identity()
    assert backend_for("http://h/v1", "a").identity() != backend_for("http://h/v1", "b").identity()


def test_completions_and_chat_through_transformers_serve(served_model):
    backend = backend_for(served_model.base_url, served_model.name)
    requests = [Request(p, None, GREEDY) for p in PROMPTS] + [Request(None, m, GREEDY) for m in MESSAGES]
    generations = run(backend, requests)
    for gen in generations:
        assert gen.error is None, gen.error
        assert gen.text and 0 < gen.completion_tokens <= GREEDY.max_new_tokens
        assert gen.prompt_tokens > 0 and gen.latency_s > 0 and gen.meta["attempts"] == 1


def test_greedy_outputs_equal_the_hf_backend(served_model):
    from llmeval.backends.hf import HFBackend

    requests = [Request(p, None, GREEDY) for p in PROMPTS] + [Request(None, m, GREEDY) for m in MESSAGES]
    served = run(backend_for(served_model.base_url, served_model.name), requests)
    local = run(HFBackend(str(served_model.path), root=Path("/"), batch_size=1), requests)
    assert [g.text for g in served] == [g.text for g in local]
    assert [g.prompt_tokens for g in served] == [g.prompt_tokens for g in local]
    assert len({g.text for g in served}) > 1  # the comparison is not between constant outputs


def test_stop_strings_are_cut_even_when_the_server_keeps_them(served_model):
    backend = backend_for(served_model.base_url, served_model.name)
    (free,) = run(backend, [Request(PROMPTS[1], None, GREEDY)])
    stop = free.text[len(free.text) // 2 :][:2]
    (cut,) = run(backend, [Request(PROMPTS[1], None, GenerationConfig(max_new_tokens=8, stop=(stop,)))])
    assert cut.text == free.text[: free.text.find(stop)]


def test_concurrent_requests_come_back_as_each_finishes(fault_server):
    delays = [0.6, 0.0, 0.3, 0.0, 0.1, 0.0]
    fault_server.script = [fault_server.ok("unused")]
    requests = [Request(f"delay:{d}", None, GREEDY) for d in delays]
    order: list[int] = []
    out: dict = {}

    def on_result(index, gen):
        order.append(index)
        out[index] = gen

    backend_for(fault_server.base_url, concurrency=3).generate(requests, on_result)
    assert sorted(order) == list(range(len(delays)))
    assert [out[i].text for i in range(len(delays))] == [f"delay:{d}" for d in delays]
    assert fault_server.max_in_flight == 3
    assert order[-1] == 0  # the slowest request, sent first, reported last


def test_body_carries_the_decoding_parameters(fault_server):
    fault_server.script = [fault_server.ok("x")]
    config = GenerationConfig(max_new_tokens=5, temperature=0.7, top_p=0.9, seed=2, stop=("\n", "Q:"))
    run(backend_for(fault_server.base_url, "bot-v3"), [Request("p", None, config, sample=1), Request(None, MESSAGES[1], GREEDY)])
    by_path = {s["path"]: s["body"] for s in fault_server.seen}
    completion = by_path["/v1/completions"]
    assert completion == {
        "model": "bot-v3",
        "prompt": "p",
        "max_tokens": 5,
        "temperature": 0.7,
        "top_p": 0.9,
        "seed": 2 * 1_000_003 + 1,
        "stop": ["\n", "Q:"],
    }
    chat = by_path["/v1/chat/completions"]
    assert chat["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]
    assert chat["temperature"] == 0.0 and "stop" not in chat


@pytest.mark.parametrize(
    "usage, tokens",
    [({"prompt_tokens": 7, "completion_tokens": 3}, (7, 3)), ({}, (3, 2))],
)
def test_token_counts_from_usage_else_words(fault_server, usage, tokens):
    fault_server.script = [fault_server.ok(" two words", **usage)]
    (gen,) = run(backend_for(fault_server.base_url), [Request("three word prompt", None, GREEDY)])
    assert (gen.text, (gen.prompt_tokens, gen.completion_tokens)) == ("two words", tokens)
    assert (gen.meta["token_source"], gen.meta["base_url"]) == ("usage" if usage else "words", fault_server.base_url)


@pytest.mark.parametrize(
    "statuses, attempts, error",
    [
        ([429, 200], 2, None),
        ([503, 502, 200], 3, None),
        ([500, 500, 500, 500, 200], 4, "HTTP 500"),
        ([400, 200], 1, "HTTP 400"),
        ([404, 200], 1, "HTTP 404"),
    ],
)
def test_retries_on_429_and_5xx_only(fault_server, statuses, attempts, error):
    fault_server.script = [fault_server.ok("fine") if s == 200 else fault_server.fail(s) for s in statuses]
    (gen,) = run(backend_for(fault_server.base_url), [Request("p", None, GREEDY)])
    assert len(fault_server.seen) == attempts and gen.meta["attempts"] == attempts
    if error is None:
        assert (gen.text, gen.error) == ("fine", None)
    else:
        assert gen.text == "" and error in gen.error and fault_server.base_url in gen.error
        assert ("after 4 attempts" in gen.error) == (attempts == 4)


def test_retry_after_is_honoured(fault_server):
    fault_server.script = [fault_server.fail(429, headers={"retry-after": "1"}), fault_server.ok("later")]
    start = time.perf_counter()
    (gen,) = run(backend_for(fault_server.base_url, backoff=0.0), [Request("p", None, GREEDY)])
    assert gen.text == "later" and time.perf_counter() - start >= 1.0


def test_timeout_is_retried_then_reported(fault_server):
    fault_server.script = [fault_server.fail(200, body={}, delay_s=1.0)]
    (gen,) = run(backend_for(fault_server.base_url, timeout=0.2, retries=1), [Request("p", None, GREEDY)])
    assert "timed out after 0.2 s" in gen.error and "after 2 attempts" in gen.error
    assert len(fault_server.seen) == 2


def test_malformed_body_is_an_error_not_a_crash(fault_server):
    fault_server.script = [fault_server.fail(200, body={"object": "list"})]
    (gen,) = run(backend_for(fault_server.base_url), [Request("p", None, GREEDY)])
    assert "unexpected response" in gen.error and len(fault_server.seen) == 1


def test_connection_refused_names_the_url(refused_url):
    url = refused_url
    (gen,) = run(backend_for(url), [Request("p", None, GREEDY)])
    assert f"cannot connect to {url}/completions" in gen.error
    assert "connection refused" in gen.error and "is the server running" in gen.error


@pytest.mark.parametrize("variable", ["OPENAI_API_KEY", "LLMEVAL_API_KEY"])
def test_api_key_is_sent_but_never_shown(fault_server, monkeypatch, variable):
    monkeypatch.setenv(variable, SECRET)
    fault_server.script = [fault_server.fail(401, body={"error": f"bad key {SECRET}"}), fault_server.ok("x")]
    backend = backend_for(fault_server.base_url)
    (gen,) = run(backend, [Request("p", None, GREEDY)])
    assert fault_server.seen[0]["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert "HTTP 401" in gen.error and "bad key ***" in gen.error
    shown = [gen.error, repr(gen), backend.identity(), repr(backend), str(vars(backend))]
    assert not any(SECRET in text for text in shown)


def test_no_key_sends_no_authorization(fault_server):
    fault_server.script = [fault_server.ok("x")]
    run(backend_for(fault_server.base_url), [Request("p", None, GREEDY)])
    assert "Authorization" not in fault_server.seen[0]["headers"]


def test_a_trickling_server_is_cut_at_the_timeout(raw_server):
    server = raw_server("trickle", every_s=0.1)
    start = time.monotonic()
    (gen,) = run(backend_for(server.base_url, timeout=0.5, retries=0), [Request("p", None, GREEDY)])
    assert time.monotonic() - start < 3
    assert "timed out after 0.5 s" in gen.error


def test_a_silent_server_costs_timeout_times_attempts(raw_server):
    server = raw_server("silent")
    start = time.monotonic()
    (gen,) = run(backend_for(server.base_url, timeout=0.3, retries=1), [Request("p", None, GREEDY)])
    assert 0.6 <= time.monotonic() - start < 3
    assert "timed out after 0.3 s" in gen.error and "after 2 attempts" in gen.error
    assert server.connections == 2


def test_per_call_limits_override_the_backend_defaults(raw_server):
    server = raw_server("silent")
    out: dict = {}
    backend_for(server.base_url, timeout=60, retries=5).generate(
        [Request("p", None, GREEDY)], out.__setitem__, Limits(timeout=0.2, retries=0)
    )
    gen = out[0]
    assert "timed out after 0.2 s" in gen.error and gen.meta["attempts"] == 1


def test_the_deadline_stops_requests_in_flight_and_not_started(raw_server):
    server = raw_server("silent")
    out: dict = {}
    limits = Limits(deadline=Deadline.start(0.5))
    start = time.monotonic()
    requests = [Request(str(i), None, GREEDY) for i in range(3)]
    backend_for(server.base_url, concurrency=1).generate(requests, out.__setitem__, limits)
    assert time.monotonic() - start < 3
    assert out[0].error.startswith("stopped: run deadline of 0.5 s reached")
    assert [out[1].error, out[2].error] == ["not generated: run deadline of 0.5 s reached"] * 2


@pytest.mark.parametrize(
    "url, options, sent",
    [
        ("http://{ip}:{port}/v1", {"allow_hosts": ["http://{ip}"]}, True),
        ("http://{ip}:{port}/v1", {"allow_hosts": ["{ip}"]}, False),  # https only unless http:// is explicit
        ("http://{ip}:{port}/v1", {}, False),
        ("http://{ip}:{port}/v1", {"allow_hosts": ["other.example.com"]}, False),
    ],
)
def test_the_key_goes_only_to_allowed_hosts(non_loopback_server, monkeypatch, url, options, sent):
    server, ip = non_loopback_server
    monkeypatch.setenv("LLMEVAL_API_KEY", SECRET)
    server.script = [server.ok("x")]
    target = url.format(ip=ip, port=server.port) + "#m"
    allow = [h.format(ip=ip) for h in options.get("allow_hosts", [])]
    if not sent:
        with pytest.raises(BackendError) as info:
            OpenAIBackend(target, allow_hosts=allow)
        message = str(info.value)
        assert f"withholding the API key in $LLMEVAL_API_KEY: {ip}" in message and "--llmeval-allow-host" in message
        assert SECRET not in message and not server.seen
        return
    backend = OpenAIBackend(target, allow_hosts=allow)
    run(backend, [Request("p", None, GREEDY)])
    assert server.seen[0]["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert backend.secrets() == [SECRET]


@pytest.mark.parametrize(
    "target, allow, refused",
    [
        ("https://api.example.com/v1#m", [], "api.example.com is not an allowed host"),
        ("https://api.example.com/v1#m", ["api.example.com"], None),
        ("https://api.example.com/v1#m", ["https://API.example.com"], None),
        ("http://api.example.com/v1#m", ["api.example.com"], "allowed for https only"),
        ("http://api.example.com/v1#m", ["http://api.example.com"], None),
        ("http://localhost:8000/v1#m", [], None),
        ("http://[::1]:8000/v1#m", [], None),
        ("http://127.0.0.2:8000/v1#m", [], None),
        ("http://127.0.0.1.evil.com/v1#m", [], "127.0.0.1.evil.com is not an allowed host"),
    ],
)
def test_key_policy_table(monkeypatch, target, allow, refused):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    if refused is None:
        assert OpenAIBackend(target, allow_hosts=allow).secrets() == [SECRET]
        return
    with pytest.raises(BackendError, match=refused):
        OpenAIBackend(target, allow_hosts=allow)


def test_without_a_key_nothing_is_withheld():
    assert OpenAIBackend("https://api.example.com/v1#m").secrets() == []


def test_hosts_of_user_given_specs_count_as_allowed(monkeypatch):
    monkeypatch.setenv("LLMEVAL_API_KEY", SECRET)
    specs = ["openai:http://gpu-box:8000/v1#m", "hf:models/x", "openai:https://api.example.com/v1#n"]
    allowed = allowed_from_specs(specs)
    assert allowed == ["http://gpu-box", "https://api.example.com"]
    assert OpenAIBackend("http://gpu-box:8000/v1#m", allow_hosts=allowed).secrets() == [SECRET]


def test_api_key_env_picks_the_variable_per_host(monkeypatch):
    monkeypatch.setenv("LLMEVAL_API_KEY", "generic")
    monkeypatch.setenv("EXAMPLE_KEY", "for-example")
    allow = ["api.example.com", "other.example.com"]
    named = ["api.example.com=EXAMPLE_KEY", "other.example.com="]
    assert OpenAIBackend("https://api.example.com/v1#m", allow_hosts=allow, api_key_env=named).secrets() == ["for-example"]
    assert OpenAIBackend("https://other.example.com/v1#m", allow_hosts=allow, api_key_env=named).secrets() == []
    # "host=" sends no key, so an unlisted host needs no allowing either
    assert OpenAIBackend("https://third.example.com/v1#m", api_key_env=["third.example.com="]).secrets() == []
    with pytest.raises(BackendError, match=r"names \$MISSING_KEY"):
        OpenAIBackend("https://api.example.com/v1#m", allow_hosts=allow, api_key_env=["MISSING_KEY"])


KEYED_SUITE = """\
suite: keyed
model: openai:{url}#m
prompt: "{{{{ q }}}}"
cases:
  - {{id: a, vars: {{q: x}}, scorers: [{{contains: x}}]}}
"""


def test_a_suite_file_cannot_send_the_key_to_its_own_host(pytester, non_loopback_server, monkeypatch):
    server, ip = non_loopback_server
    monkeypatch.setenv("LLMEVAL_API_KEY", SECRET)
    server.script = [server.ok("x")]
    pytester.makefile(".yaml", keyed=KEYED_SUITE.format(url=server.base_url))
    refused = pytester.runpytest()
    refused.assert_outcomes(errors=1)
    refused.stdout.fnmatch_lines([f"*withholding the API key in $LLMEVAL_API_KEY: {ip} is not an allowed host*"])
    assert not server.seen and SECRET not in refused.stdout.str()
    pytester.runpytest("--llmeval-allow-host", f"http://{ip}").assert_outcomes(passed=1)
    assert server.seen[-1]["headers"]["Authorization"] == f"Bearer {SECRET}"
    pytester.makepyprojecttoml(f'[tool.llmeval]\nallow_hosts = ["http://{ip}"]\ncache = "off"\n')
    pytester.runpytest().assert_outcomes(passed=1)
    assert len(server.seen) == 2


@pytest.mark.parametrize(
    ("request_", "choice", "expected"),
    [
        (Request("p", None, GREEDY), {"text": None, "finish_reason": "stop"}, "choices[0].text = null"),
        (
            Request(None, MESSAGES[0], GREEDY),
            {"message": {"role": "assistant", "content": None, "refusal": "I can't"}},
            'choices[0].message.content = null, not text (refusal: "I can\'t")',
        ),
        (Request("p", None, GREEDY), {"text": 42}, "choices[0].text = a int"),
    ],
)
def test_a_null_answer_is_a_case_error_not_the_text_none(fault_server, request_, choice, expected):
    fault_server.script = [fault_server.fail(200, body={"choices": [choice]})]
    (gen,) = run(backend_for(fault_server.base_url), [request_])
    assert gen.text == "" and gen.error is not None and expected in gen.error, gen
    assert len(fault_server.seen) == 1
