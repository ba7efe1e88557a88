"""The Ray engine's parts that need no Ray: block layout, row codec, address check, settings, missing Ray.

The engine itself runs on a real Ray session in tests/ray/ (`make test-ray`).
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest

from llmeval.backends.base import Generation, GenerationConfig, Request
from llmeval.backends.limits import Deadline, Limits
from llmeval.config import Settings, apply
from llmeval.core import Evaluation
from llmeval.engine import ray_rows, ray_session
from llmeval.engine.ray_engine import MAX_BLOCK_ROWS, on_ray, plan_blocks
from llmeval.errors import BackendError, LlmevalError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("rows", "actors", "expected"),
    [
        (50, 2, (2, 25, 2)),  # one block per actor
        (200, 2, (4, 50, 2)),  # blocks of at most 64, a multiple of the actors
        (1, 2, (1, 1, 1)),  # no idle actor
        (130, 2, (4, 33, 2)),
        (10_000, 4, (159, 63, 4)),
        (7, 8, (7, 1, 7)),
    ],
)
def test_blocks_spread_rows_evenly_over_the_actors(rows, actors, expected):
    blocks, size, used = plan_blocks(rows, actors)
    assert (blocks, size, used) == expected
    assert size <= MAX_BLOCK_ROWS and blocks * size >= rows > (blocks - 1) * size


def test_requests_and_generations_survive_the_row_codec():
    request = Request(
        None, (("system", "Be brief."), ("user", "Ünïcode?")), GenerationConfig(12, 0.7, 0.9, 3, ("\n", "Q:")), 2, '{"q": 1}'
    )
    assert ray_rows.decode_request(ray_rows.encode_request(request)) == request
    plain = Request("Q: hi\nA:", None, GenerationConfig())
    assert ray_rows.decode_request(ray_rows.encode_request(plain)) == plain
    gen = Generation("out", 3, 4, 0.5, error="boom", meta={"worker": "h:1"})
    assert ray_rows.decode_generation(ray_rows.encode_generation(gen)) == gen


def test_the_deadline_travels_as_wall_clock_time():
    limits = Limits(5.0, 1, Deadline.start(30.0))
    back = ray_rows.limits_from_row(ray_rows.limits_to_row(limits))
    assert (back.timeout, back.retries) == (5.0, 1)
    assert back.deadline is not None and back.deadline.seconds == 30.0
    assert 29.0 < back.deadline.remaining() <= 30.0
    assert ray_rows.limits_from_row(ray_rows.limits_to_row(Limits())) == Limits()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_address_where_no_head_listens_fails_fast_naming_the_fix():
    port = _closed_port()
    started = time.monotonic()
    with pytest.raises(BackendError, match=rf"127.0.0.1:{port}: no Ray head answers there.*ray start --head --port={port}"):
        ray_session.check_reachable(f"127.0.0.1:{port}")
    assert time.monotonic() - started < ray_session.CONNECT_CHECK_S
    with pytest.raises(BackendError, match="write it as HOST:PORT"):
        ray_session.check_reachable("head-node")


@pytest.mark.parametrize(
    ("values", "engine", "address", "actors"),
    [
        ({}, "local", None, None),
        ({"engine": "ray", "ray_address": "10.0.0.5:6379", "ray_actors": "4"}, "ray", "10.0.0.5:6379", 4),
        ({"engine": "local"}, "local", None, None),
    ],
)
def test_engine_settings(values, engine, address, actors):
    settings = Settings()
    apply(settings, values, source="test")
    assert (settings.engine, settings.ray_address, settings.ray_actors) == (engine, address, actors)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"engine": "rey"}, "engine must be one of local, ray"),
        ({"ray_actors": 0}, "ray_actors must be a whole number of at least 1"),
    ],
)
def test_bad_engine_settings_name_the_source(values, message):
    with pytest.raises(LlmevalError, match=f"in pyproject: {message}"):
        apply(Settings(), values, source="in pyproject")


def test_without_ray_the_engine_names_what_to_install(monkeypatch, demo_model):
    monkeypatch.setitem(sys.modules, "ray", None)  # how Python marks a package as not importable
    settings = Settings(engine="ray")
    run = Evaluation(settings, ROOT)
    try:
        wanted = r"needs the package 'ray\[data\]'.*pip install 'pytest-llmeval-gate\[ray\]'.*make ray"
        with pytest.raises(BackendError, match=wanted):
            run.backend(f"hf:{demo_model}")
    finally:
        run.close()


def test_backends_that_cannot_move_to_actors_stay_in_this_process(monkeypatch):
    from llmeval.backends import resolve

    monkeypatch.setitem(sys.modules, "ray", None)  # never needed for them
    backend = resolve("openai:http://127.0.0.1:9/v1#tiny", root=ROOT)
    assert on_ray(backend, root=ROOT, options={}, address=None, actors=None) is backend


def test_engine_option_from_the_command_line_and_ini(pytester):
    pytester.makepyfile(app="def answer(prompt, vars):\n    return 'ok'\n")
    pytester.makefile(
        ".yaml", qa="suite: qa\nmodel: python:app:answer\nprompt: q\ndefaults:\n  scorers: [{contains: ok}]\ncases: [{id: a}]\n"
    )
    pytester.syspathinsert()
    for args in (["--llmeval-engine", "ray", "--llmeval-ray-actors", "2"], ["-o", "llmeval_engine=ray"]):
        result = pytester.runpytest(*args, "--llmeval-results", "r.jsonl")
        result.assert_outcomes(passed=1)  # python: callables run in this process under every engine
        assert '"engine": "ray"' in (pytester.path / "r.jsonl").read_text()
    result = pytester.runpytest("--llmeval-engine", "rey")
    result.stderr.fnmatch_lines(["*--llmeval-engine: invalid choice: 'rey'*"])
