"""Output formats on generation requests: cache keys, and `hf:` guided decoding on a tiny random model.

The tiny model's weights are random, so unconstrained it writes garbage: whatever parses below parses
because the grammar mask held every row of the batch to the format.
"""

from __future__ import annotations

import json
import re
import sys

import jsonschema
import pytest

from llmeval.backends import GenerationConfig, Request, cache_key, resolve
from llmeval.backends.base import OutputFormat
from llmeval.errors import BackendError, MissingDependency
from llmeval.judge.parse import preference, preference_format, rating, rating_format, verdicts, verdicts_format

PROMPTS = [
    "Rate it:",
    "Q: Do you ship abroad?\nA:",
    "x",
    "Document: The council approved a new park on Tuesday.\nSummary:",
    "Q: Hi\nA:",
    "Judge the answer below, then reply with JSON only.\nAnswer: yes",
]
SCORE = {
    "type": "object",
    "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}, "reason": {"type": "string", "maxLength": 40}},
    "required": ["score", "reason"],
    "additionalProperties": False,
}
LINE = r"(yes|no): [a-z]{1,12}"


# -- cache keys ----------------------------------------------------------------------------------
# Keys computed by the code before output formats existed: a request without one must keep its key.
OLD_KEYS = [
    (
        (
            "hf|abc",
            Request(
                "Q: How long do I have to return an item?\nA:",
                None,
                GenerationConfig(48, 0.0, 1.0, 0, ("\n",)),
                sample=2,
                vars='{"q": 1}',
            ),
            False,
            "",
        ),
        "80fa78b2fda5b5b05ba6dc4f6a4cc65282d4155fd69a5ef9a9210363591abf6e",
    ),
    (
        (
            "python:x@1",
            Request(
                "Q: How long do I have to return an item?\nA:",
                None,
                GenerationConfig(48, 0.0, 1.0, 0, ("\n",)),
                sample=2,
                vars='{"q": 1}',
            ),
            True,
            "v2",
        ),
        "15bbb80df1c149dc51f2b800779b6ffb368840a8c0003587bedc1afdd1c34831",
    ),
    (
        ("openai|u#m", Request(None, (("user", "hi"),), GenerationConfig()), False, ""),
        "fb2b061c86ce46f6e985f0de9fe53e64cc693dde289e7b9b7ade8660f5a853ac",
    ),
]


@pytest.mark.parametrize(("args", "key"), OLD_KEYS)
def test_a_request_without_a_format_keeps_its_old_key(args, key):
    identity, request, with_vars, extra = args
    assert cache_key(identity, request, with_vars=with_vars, extra=extra) == key


def test_the_format_is_part_of_the_key_when_set():
    plain = Request("p", None, GenerationConfig())
    keys = {
        cache_key("hf|a", Request("p", None, GenerationConfig(output_format=f)), with_vars=False)
        for f in (None, OutputFormat.json_schema(SCORE), OutputFormat.regex(LINE), OutputFormat.regex("no"))
    }
    assert len(keys) == 4
    assert cache_key("hf|a", plain, with_vars=False) in keys


def test_a_format_is_a_canonical_value():
    same = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert OutputFormat.json_schema(same) == OutputFormat.json_schema(json.loads(json.dumps(same, indent=2)))
    assert OutputFormat.json_schema(same).schema == same
    assert OutputFormat.regex(LINE).describe() == {"type": "regex", "pattern": LINE, "name": "answer"}
    with pytest.raises(ValueError, match="no JSON schema"):
        _ = OutputFormat.regex(LINE).schema
    with pytest.raises(ValueError, match="json_schema' or 'regex"):
        OutputFormat("grammar", "root ::= x")


# -- the judge's formats agree with its parsers ------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "parse", "text"),
    [
        (rating_format(1, 5), lambda t: rating(t, 1, 5), '{"score": 4.5, "reason": "tab\there"}'),
        (preference_format(), preference, '{"winner": "tie", "reason": ""}'),
        (
            verdicts_format(2),
            lambda t: verdicts(t, 2),
            '{"verdicts": [{"claim": 1, "supported": true, "reason": "a"}, {"claim": 2, "supported": false, "reason": "b"}]}',
        ),
    ],
)
def test_text_that_follows_a_judge_format_parses(fmt, parse, text):
    jsonschema.validate(json.loads(text, strict=False), fmt.schema)
    parse(text)


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        (rating_format(1, 5), '{"score": 6, "reason": "x"}'),
        (preference_format(), '{"winner": "C", "reason": "x"}'),
        (
            verdicts_format(2),
            '{"verdicts": [{"claim": 2, "supported": true, "reason": "a"}, {"claim": 1, "supported": false, "reason": "b"}]}',
        ),
    ],
)
def test_the_formats_reject_what_the_parsers_reject(fmt, text):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(text), fmt.schema)


# -- hf: guided decoding -----------------------------------------------------------------------------
def _run(backend, requests):
    out = {}
    backend.generate(requests, lambda i, gen: out.__setitem__(i, gen))
    return [out[i] for i in range(len(requests))]


@pytest.fixture(scope="module")
def hf(tiny_model):
    return resolve(f"hf:{tiny_model}", root=tiny_model.parent, batch_size=8, threads=1)


def _batch(fmt, temperature, tokens=80):
    config = GenerationConfig(max_new_tokens=tokens, temperature=temperature, output_format=fmt)
    return [Request(p, None, config, sample=i) for i, p in enumerate(PROMPTS)]


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_hf_json_schema_holds_every_row_of_a_batch(hf, temperature):
    gens = _run(hf, _batch(OutputFormat.json_schema(SCORE), temperature))
    for gen in gens:
        assert gen.error is None
        jsonschema.validate(json.loads(gen.text, strict=False), SCORE)
    if temperature:  # sampled rows differ, so the rows really were decoded apart
        assert len({g.text for g in gens}) > 1


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_hf_regex_holds_every_row_of_a_batch(hf, temperature):
    gens = _run(hf, _batch(OutputFormat.regex(LINE), temperature, tokens=24))
    assert all(g.error is None and re.fullmatch(LINE, g.text) for g in gens), [g.text for g in gens]


def test_hf_unconstrained_output_of_the_random_model_does_not_parse(hf):
    gens = _run(hf, _batch(None, 1.0))
    assert all(not re.fullmatch(LINE, g.text) for g in gens)
    assert not any(g.text.lstrip().startswith('{"score"') for g in gens)


def test_hf_batched_constrained_greedy_equals_one_by_one(hf, tiny_model):
    requests = _batch(OutputFormat.json_schema(SCORE), 0.0)
    single = resolve(f"hf:{tiny_model}", root=tiny_model.parent, batch_size=1, threads=1)
    assert [g.text for g in _run(hf, requests)] == [_run(single, [r])[0].text for r in requests]


def test_hf_verdict_format_gives_exactly_the_claims(hf):
    config = GenerationConfig(max_new_tokens=420, temperature=1.0, output_format=verdicts_format(3))
    gens = _run(hf, [Request(p, None, config, sample=i) for i, p in enumerate(PROMPTS[:4])])
    assert all(len(verdicts(g.text, 3)) == 3 for g in gens), [g.text for g in gens]


def test_hf_without_xgrammar_names_the_install(tiny_model, monkeypatch):
    monkeypatch.setitem(sys.modules, "xgrammar", None)  # what an environment without it gives: ImportError
    backend = resolve(f"hf:{tiny_model}", root=tiny_model.parent, threads=1)
    with pytest.raises(MissingDependency, match=r"xgrammar.*pip install 'pytest-llmeval-gate\[guided\]'"):
        _run(backend, _batch(OutputFormat.regex(LINE), 0.0, tokens=4))
    assert _run(backend, _batch(None, 0.0, tokens=4))[0].error is None  # unconstrained requests never need it


# -- python: callables that take the format ----------------------------------------------------------
FORMAT_APP = """
import json

def sees(prompt, output_format=None):
    return json.dumps(output_format)

async def sees_async(prompt, vars, *, output_format):
    return json.dumps([vars, output_format])

def blind(prompt, vars):
    return json.dumps(vars)

def swallows(prompt, **options):
    return json.dumps(sorted(options))
"""


@pytest.mark.parametrize(
    ("fn", "fmt", "expected"),
    [
        ("sees", OutputFormat.regex(LINE), {"type": "regex", "pattern": LINE, "name": "answer"}),
        ("sees", OutputFormat.json_schema(SCORE, "rating"), {"type": "json_schema", "schema": SCORE, "name": "rating"}),
        ("sees", None, None),
        ("sees_async", OutputFormat.regex("x"), [{"q": 1}, {"type": "regex", "pattern": "x", "name": "answer"}]),
        ("blind", OutputFormat.regex("x"), {"q": 1}),  # no `output_format` parameter: not passed
        ("swallows", OutputFormat.regex("x"), []),  # **kwargs alone does not ask for it
    ],
)
def test_python_callables_get_the_format_when_they_name_it(tmp_path, monkeypatch, fn, fmt, expected):
    from llmeval.backends.python import CallableBackend

    name = f"format_app_{abs(hash((fn, str(fmt)))) % 10**8}"
    (tmp_path / f"{name}.py").write_text(FORMAT_APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    request = Request("p", None, GenerationConfig(output_format=fmt), vars='{"q": 1}')
    (gen,) = _run(CallableBackend(f"{name}:{fn}", root=tmp_path), [request])
    assert gen.error is None and json.loads(gen.text) == expected


@pytest.mark.parametrize("fmt", [OutputFormat.regex("(unclosed"), OutputFormat.json_schema({"type": "no-such-type"})])
def test_hf_a_format_that_does_not_compile_is_an_error_naming_it(hf, fmt):
    with pytest.raises(BackendError, match="cannot compile the output format"):
        _run(hf, _batch(fmt, 0.0, tokens=4))
