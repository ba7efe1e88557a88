"""Time bounds through the plan (deadline, per-suite limits), their precedence, and the suite's cache identity keys."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from llmeval.backends import Backend, Deadline, Generation, GenerationConfig, Limits, Request, merge_limits
from llmeval.engine.cache import Cache, key_extra
from llmeval.engine.plan import GenerationPlan
from llmeval.engine.progress import Progress
from llmeval.errors import LlmevalError, SuiteError

CONFIG = GenerationConfig(max_new_tokens=8)


class LimitedBackend(Backend):
    """A real backend that records the limits it was handed and echoes after `delay_s`."""

    sees_vars = False

    def __init__(self, delay_s: float = 0.0) -> None:
        self.spec, self.label, self.delay_s = "test:limited", "limited", delay_s
        self.seen: list[Limits | None] = []

    def identity(self) -> str:
        return self.spec

    def generate(self, requests, on_result, limits=None):
        self.seen.append(limits)
        for i, r in enumerate(requests):
            time.sleep(self.delay_s)
            on_result(i, Generation(f"out:{r.prompt}"))

    def close(self):
        return None


class OldStyleBackend(LimitedBackend):
    takes_limits = False  # declared: generate is called without limits

    def generate(self, requests, on_result):  # a third-party backend written before limits existed
        for i, r in enumerate(requests):
            on_result(i, Generation(f"old:{r.prompt}"))


def _plan(tmp_path: Path, deadline: Deadline | None = None) -> GenerationPlan:
    return GenerationPlan(Cache(tmp_path / "cache"), lambda n: Progress(n, live=False, write_line=lambda _: None), deadline)


def test_after_the_deadline_nothing_more_is_generated_or_cached(tmp_path):
    deadline = Deadline.start(0.2)
    plan, backend = _plan(tmp_path, deadline), LimitedBackend()
    done = plan.add(backend, Request("early", None, CONFIG))
    plan.run()
    time.sleep(0.25)
    late = plan.add(backend, Request("late", None, CONFIG))
    plan.run()
    assert plan.get(done).text == "out:early"
    assert plan.get(late).error == "not generated: run deadline of 0.2 s reached"
    assert len(backend.seen) == 1 and backend.seen[0].deadline is deadline
    assert set(Cache(tmp_path / "cache").get_many([done, late])) == {done}


def test_requests_are_grouped_by_their_limits(tmp_path):
    plan, backend = _plan(tmp_path), LimitedBackend()
    plan.add(backend, Request("a", None, CONFIG), Limits(timeout=5))
    plan.add(backend, Request("b", None, CONFIG), Limits(timeout=9, retries=1))
    plan.run()
    assert sorted((lim.timeout, lim.retries) for lim in backend.seen) == [(5, None), (9, 1)]


def test_a_backend_without_limits_is_called_as_before(tmp_path):
    plan = _plan(tmp_path, Deadline.start(60))
    key = plan.add(OldStyleBackend(), Request("a", None, CONFIG))
    plan.run()
    assert plan.get(key).text == "old:a"


def test_key_extra_separates_cache_entries(tmp_path):
    plan, backend = _plan(tmp_path), LimitedBackend()
    plain = plan.add(backend, Request("a", None, CONFIG))
    versioned = plan.add(backend, Request("a", None, CONFIG), key_extra=key_extra((), "2024-06"))
    assert plain != versioned and key_extra((), None) == ""


def test_key_extra_follows_file_contents(tmp_path):
    prompt = tmp_path / "system.txt"
    prompt.write_text("Be brief.")
    before = key_extra([str(prompt)], None)
    prompt.write_text("Be thorough.")
    assert key_extra([str(prompt)], None) != before
    assert key_extra([str(prompt)], "1") != key_extra([str(prompt)], "2")


@pytest.mark.parametrize(
    "project, suite, cli, expected",
    [
        ({}, {}, {}, Limits()),
        ({"timeout": 30}, {}, {}, Limits(timeout=30)),
        ({"timeout": 30, "retries": 1}, {"timeout": 10}, {}, Limits(timeout=10, retries=1)),
        ({"timeout": 30}, {"timeout": 10, "retries": 4}, {"timeout": 2, "retries": None}, Limits(timeout=2, retries=4)),
    ],
)
def test_precedence_cli_over_suite_over_project(project, suite, cli, expected):
    assert merge_limits(project, suite, cli) == expected


@pytest.mark.parametrize("bad", [{"timeout": 0}, {"timeout": "soon"}, {"retries": -1}, {"retries": 1.5}])
def test_bad_limits_are_refused(bad):
    with pytest.raises(LlmevalError):
        merge_limits(bad)


SUITE = """\
suite: s
model: python:app:answer
prompt: "{{ q }}"
backend: {timeout: 12.5, retries: 2}
cache_key_files: ["app/*.py", "prompts/system.txt"]
cache_version: "2024-06"
cases:
  - {id: a, vars: {q: x}, scorers: [{contains: x}]}
"""


def test_suite_keys_for_limits_and_cache_identity(tmp_path):
    from llmeval.suite import load_suite

    (tmp_path / "app").mkdir()
    (tmp_path / "prompts").mkdir()
    for name in ("app/__init__.py", "app/bot.py", "prompts/system.txt"):
        (tmp_path / name).write_text("x")
    (tmp_path / "s.yaml").write_text(SUITE)
    suite = load_suite(tmp_path / "s.yaml")
    assert suite.backend == {"timeout": 12.5, "retries": 2}
    assert [Path(p).relative_to(tmp_path.resolve()).as_posix() for p in suite.cache_key_files] == [
        "app/__init__.py",
        "app/bot.py",
        "prompts/system.txt",
    ]
    assert suite.cache_version == "2024-06"


@pytest.mark.parametrize(
    "text, line, says",
    [
        (SUITE.replace('"prompts/system.txt"', '"nothere/*.txt"'), 5, "matches no file"),
        (SUITE.replace("timeout: 12.5", "timeout: -1"), 4, "timeout"),
        (SUITE.replace("retries: 2", "retry: 2"), 4, "retry"),
    ],
)
def test_bad_suite_keys_name_the_line(tmp_path, text, line, says):
    from llmeval.suite import load_suite

    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "bot.py").write_text("x")
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "system.txt").write_text("x")
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(SuiteError) as info:
        load_suite(tmp_path / "s.yaml")
    assert info.value.line == line and says in str(info.value)
