"""Output formats on vLLM: `vllm:` guides decoding with vLLM's structured outputs, and vLLM's OpenAI server
honours `openai:`'s `response_format` (JSON schemas) and `structured_outputs` (regexes, `openai_format=vllm`).

The demo model was never trained to write JSON, so every parseable answer below is the constraint's doing.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest

from llmeval.backends import GenerationConfig, Limits, Request
from llmeval.backends.base import OutputFormat
from llmeval.backends.openai import OpenAIBackend
from llmeval.judge.parse import rating, rating_format, verdicts, verdicts_format
from tests.vllm.conftest import DEMO, Runner, Served

pytestmark = pytest.mark.vllm
VLLM = f"vllm:{DEMO}"
RATING = rating_format(1, 5)
VERDICTS = verdicts_format(3)
LINE = OutputFormat.regex(r"(yes|no): [a-z]{1,12}", name="line")
PROMPTS = [
    f"Q: {q}\nA:"
    for q in ("How long do I have to return an item?", "Do you ship abroad?", "Can I change my order?", "Where is my parcel?")
]


def _requests(fmt: OutputFormat, *, chat: bool = False) -> list[Request]:
    config = GenerationConfig(max_new_tokens=512, output_format=fmt)  # room for the longest reasons the schemas allow
    if chat:
        return [Request(None, (("user", p),), config) for p in PROMPTS]
    return [Request(p, None, config) for p in PROMPTS]


def _generate(backend: Any, requests: list[Request]) -> list[Any]:
    got: dict[int, Any] = {}
    backend.generate(requests, lambda i, gen: got.setdefault(i, gen), Limits())
    assert sorted(got) == list(range(len(requests)))
    return [got[i] for i in range(len(requests))]


def _assert_schema(gens: list[Any], fmt: OutputFormat) -> None:
    import json

    assert not [g.error for g in gens if g.error]
    for gen in gens:
        jsonschema.validate(json.loads(gen.text, strict=False), fmt.schema)


def test_vllm_backend_holds_outputs_to_a_json_schema(runner: Runner) -> None:
    backend = runner.run.backend(VLLM)
    gens = _generate(backend, _requests(RATING))
    _assert_schema(gens, RATING)
    assert all(1 <= rating(g.text, 1, 5).score <= 5 for g in gens)
    claims = _generate(backend, _requests(VERDICTS))
    _assert_schema(claims, VERDICTS)
    assert all(len(verdicts(g.text, 3)) == 3 for g in claims)


def test_vllm_backend_holds_outputs_to_a_regex(runner: Runner) -> None:
    gens = _generate(runner.run.backend(VLLM), _requests(LINE))
    assert not [g.error for g in gens if g.error]
    assert all(re.fullmatch(LINE.value, g.text) for g in gens), [g.text for g in gens]


@pytest.mark.parametrize("chat", [False, True], ids=["completions", "chat"])
def test_vllms_server_applies_response_format(vllm_server: Served, chat: bool) -> None:
    backend = OpenAIBackend(f"{vllm_server.base_url}#{vllm_server.name}")
    gens = _generate(backend, _requests(RATING, chat=chat))
    _assert_schema(gens, RATING)
    assert not [g.meta for g in gens if "output_format" in g.meta]  # applied, not dropped after a refusal


def test_vllms_server_applies_regexes_through_structured_outputs(vllm_server: Served) -> None:
    backend = OpenAIBackend(f"{vllm_server.base_url}#{vllm_server.name}", openai_format="vllm")
    gens = _generate(backend, _requests(LINE))
    assert not [g.error for g in gens if g.error]
    assert all(re.fullmatch(LINE.value, g.text) for g in gens), [g.text for g in gens]
    _assert_schema(_generate(backend, _requests(VERDICTS)), VERDICTS)
