"""openai: sends a request's output format as the server understands it, and copes with servers that refuse it.

The request bodies are checked on the scripted loopback server; `transformers serve` shows a real server
that refuses `response_format` on /v1/completions (HTTP 422) and ignores it on /v1/chat/completions: the
backend then drops the field, and the judge's parser and retries make unparseable output an error.
"""

from __future__ import annotations

import pytest

from llmeval.backends import GenerationConfig, Request
from llmeval.backends.base import OutputFormat
from llmeval.backends.openai import FORMAT_MODES
from llmeval.config import OPENAI_FORMATS
from llmeval.errors import BackendError
from llmeval.judge.parse import rating, rating_format
from llmeval.scorers.base import Sample, build
from llmeval.scorers.batch import score_all
from llmeval.scorers.context import default_context
from tests.backends.conftest import Reply
from tests.backends.test_openai import backend_for, run

SCHEMA_FORMAT = rating_format(1, 5)
REGEX_FORMAT = OutputFormat.regex(r"(yes|no): [a-z]+", name="line")
STRICT_RATING = {"type": "json_schema", "json_schema": {"name": "rating", "schema": SCHEMA_FORMAT.schema, "strict": True}}
CHAT = (("user", "Rate it"),)


@pytest.fixture(autouse=True)
def no_ambient_key(monkeypatch):
    for name in ("OPENAI_API_KEY", "LLMEVAL_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def _sent(server, fmt, mode):
    text = '{"score": 3, "reason": "fine"}'
    server.script = [Reply(200, {"choices": [{"text": text, "message": {"content": text}, "finish_reason": "stop"}]})]
    config = GenerationConfig(max_new_tokens=16, output_format=fmt)
    gens = run(backend_for(server.base_url, openai_format=mode), [Request("p", None, config), Request(None, CHAT, config)])
    assert all(g.error is None for g in gens)
    bodies = {s["path"]: s["body"] for s in server.seen}
    return [
        {k: v for k, v in bodies[p].items() if k in ("response_format", "structured_outputs")}
        for p in ("/v1/completions", "/v1/chat/completions")
    ]


@pytest.mark.parametrize(
    ("mode", "fmt", "fields"),
    [
        (None, SCHEMA_FORMAT, {"response_format": STRICT_RATING}),  # the default
        ("response_format", REGEX_FORMAT, {}),  # OpenAI's API has no regex format: nothing is sent
        ("vllm", SCHEMA_FORMAT, {"structured_outputs": {"json": SCHEMA_FORMAT.schema}}),
        ("vllm", REGEX_FORMAT, {"structured_outputs": {"regex": REGEX_FORMAT.value}}),
        ("off", SCHEMA_FORMAT, {}),
        ("vllm", None, {}),
    ],
)
def test_both_endpoints_carry_the_format_the_mode_can_express(fault_server, mode, fmt, fields):
    assert _sent(fault_server, fmt, mode) == [fields, fields]


def test_a_server_that_refuses_the_field_gets_the_request_without_it_from_then_on(fault_server):
    refused = fault_server.fail(422, {"detail": "Unexpected fields in the request: {'response_format'}"})
    fault_server.script = [refused, fault_server.ok('{"score": 3, "reason": "x"}')]
    backend = backend_for(fault_server.base_url, concurrency=1)
    config = GenerationConfig(max_new_tokens=16, output_format=SCHEMA_FORMAT)
    first, second = run(backend, [Request("a", None, config), Request("b", None, config)])
    assert first.error is None and first.text == '{"score": 3, "reason": "x"}'
    assert "not applied: response_format refused by the server: HTTP 422" in first.meta["output_format"]
    assert ["response_format" in s["body"] for s in fault_server.seen] == [True, False, False]
    assert second.error is None and "output_format" not in second.meta


def test_an_error_the_bare_request_repeats_is_reported_and_the_format_kept(fault_server):
    fault_server.script = [fault_server.fail(400, {"error": {"message": "prompt too long"}})]
    backend = backend_for(fault_server.base_url, concurrency=1)
    config = GenerationConfig(max_new_tokens=16, output_format=SCHEMA_FORMAT)
    (gen,) = run(backend, [Request("a", None, config)])
    assert "HTTP 400" in gen.error and "prompt too long" in gen.error
    assert ["response_format" in s["body"] for s in fault_server.seen] == [True, False]
    (again,) = run(backend, [Request("b", None, config)])
    assert "response_format" in fault_server.seen[-2]["body"]  # not refused: still sent


def test_other_client_errors_are_not_resent(fault_server):
    fault_server.script = [fault_server.fail(401, {"error": {"message": "no key"}})]
    (gen,) = run(backend_for(fault_server.base_url), [Request("a", None, GenerationConfig(output_format=SCHEMA_FORMAT))])
    assert "HTTP 401" in gen.error and len(fault_server.seen) == 1


def test_an_unknown_mode_is_refused_naming_the_choices():
    with pytest.raises(BackendError, match="openai_format must be one of response_format, vllm, off"):
        backend_for("http://127.0.0.1:9/v1", openai_format="guided")
    assert OPENAI_FORMATS == FORMAT_MODES  # the setting offers what the backend takes


def test_transformers_serve_refuses_response_format_on_completions(served_model):
    backend = backend_for(served_model.base_url, served_model.name, concurrency=1)
    config = GenerationConfig(max_new_tokens=8, output_format=SCHEMA_FORMAT)
    completion, chat = run(backend, [Request("Rate it:", None, config), Request(None, CHAT, config)])
    assert completion.error is None and "HTTP 422" in completion.meta["output_format"]
    assert chat.error is None  # sent without the field: the backend stopped sending it


def test_transformers_serve_ignores_response_format_on_chat(served_model):
    config = GenerationConfig(max_new_tokens=8, output_format=SCHEMA_FORMAT)
    (chat,) = run(backend_for(served_model.base_url, served_model.name), [Request(None, CHAT, config)])
    assert chat.error is None and "output_format" not in chat.meta  # taken (with a warning in its log) ...
    with pytest.raises(ValueError):
        rating(chat.text, 1, 5)  # ... and not honoured


def test_a_judge_whose_server_cannot_constrain_is_an_error_after_retries(served_model, tmp_path):
    scorer = build("judge", {"model": f"openai:{served_model.base_url}#{served_model.name}", "retries": 1})
    ctx = default_context(root=tmp_path, threads=1, cache_dir=tmp_path / "cache")
    (result,) = score_all([(scorer, Sample("an answer", prompt="Q?"))], ctx)
    assert type(result).__name__ == "ScoreError"  # never a 0 or NaN score
    assert "unparseable judge output" in result.message and "after 2 attempt(s)" in result.message


JUDGED_SUITE = """
suite: judged-over-http
model: "openai:{url}#bot"
prompt: "Q: refund?"
defaults:
  scorers:
    - judge: {{model: "openai:{url}#judge", min: 0.5}}
cases:
  - {{id: one}}
"""


def _judge_fields(server) -> list[dict]:
    """Format fields of each request the judge sent (the model under test sends none)."""
    bodies = [s["body"] for s in server.seen]
    assert all("response_format" not in b and "structured_outputs" not in b for b in bodies if b["model"] == "bot")
    return [{k: b[k] for k in ("response_format", "structured_outputs") if k in b} for b in bodies if b["model"] == "judge"]


def test_the_setting_reaches_the_judge_backend(pytester, fault_server):
    fault_server.script = [fault_server.ok('{"score": 4, "reason": "ok"}')]
    pytester.makefile(".yaml", judged=JUDGED_SUITE.format(url=fault_server.base_url))
    pytester.runpytest("--llmeval-cache", "off").assert_outcomes(passed=1)
    assert _judge_fields(fault_server) == [{"response_format": STRICT_RATING}]
    fault_server.seen.clear()
    pytester.runpytest("--llmeval-cache", "off", "--llmeval-openai-format", "vllm").assert_outcomes(passed=1)
    assert _judge_fields(fault_server) == [{"structured_outputs": {"json": SCHEMA_FORMAT.schema}}]
    fault_server.seen.clear()
    pytester.makepyprojecttoml('[tool.llmeval]\nopenai_format = "off"\ncache = "off"\n')
    pytester.runpytest().assert_outcomes(passed=1)
    assert _judge_fields(fault_server) == [{}]
    bad = pytester.runpytest("--llmeval-openai-format", "guided")
    assert bad.ret != 0 and "invalid choice: 'guided'" in bad.stderr.str()


def test_a_refused_field_does_not_bench_the_replica(fault_server):
    refused = fault_server.fail(422, {"detail": "Unexpected fields in the request: {'response_format'}"})
    fault_server.script = [refused] * 4 + [fault_server.fail(400, {"error": {"message": "bad request"}})]
    backend = backend_for(fault_server.base_url, concurrency=1)
    config = GenerationConfig(max_new_tokens=16, output_format=SCHEMA_FORMAT)
    gens = run(backend, [Request(str(i), None, config) for i in range(2)])
    assert all("HTTP 4" in g.error for g in gens)
    (replica,) = backend.fleet.replicas
    assert replica.failures == 0 and replica.benched_until == 0.0  # client errors: the server itself is fine
