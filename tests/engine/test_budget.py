"""The run's token budget through the plan: every backend stops alike, finished work is kept, nothing errored is cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmeval.backends import Deadline, GenerationConfig, Request, resolve
from llmeval.engine.cache import Cache
from llmeval.engine.plan import GenerationPlan
from llmeval.engine.progress import Progress

CONFIG = GenerationConfig(max_new_tokens=4)
APP = "import time\n\ndef answer(prompt):\n    time.sleep(0.02)\n    return 'one two three'\n"


def _plan(tmp_path: Path, deadline: Deadline | None, lines: list[str]) -> GenerationPlan:
    return GenerationPlan(Cache(tmp_path / "cache"), lambda n: Progress(n, live=False, write_line=lines.append), deadline)


@pytest.fixture
def python_backend(tmp_path, monkeypatch):
    (tmp_path / "budget_app.py").write_text(APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    return resolve("python:budget_app:answer", root=tmp_path, concurrency=1)


@pytest.fixture
def hf_backend(tiny_model):
    return resolve(f"hf:{tiny_model}", root=tiny_model.parent, threads=1, batch_size=1)


@pytest.mark.parametrize("kind", ["python_backend", "hf_backend"])
def test_every_backend_stops_at_the_budget_and_keeps_what_finished(tmp_path, request, kind):
    backend = request.getfixturevalue(kind)
    lines: list[str] = []
    deadline = Deadline.start(None, token_budget=1)  # the first output spends it
    plan = _plan(tmp_path, deadline, lines)
    keys = [plan.add(backend, Request(f"q{i} refund", None, CONFIG)) for i in range(4)]
    plan.run()
    gens = [plan.get(k) for k in keys]
    finished = [g for g in gens if g.error is None]
    assert len(finished) == 1 and finished[0].completion_tokens > 0
    stopped = [g.error for g in gens if g.error is not None]
    assert len(stopped) == 3
    assert all(e.startswith("not generated: run token budget of 1 tokens reached (") for e in stopped)
    assert deadline.budget is not None and deadline.budget.spent == finished[0].prompt_tokens + finished[0].completion_tokens
    assert any("3 requests not generated" in line for line in lines)
    assert set(Cache(tmp_path / "cache").get_many(keys)) == {keys[gens.index(finished[0])]}


def test_cached_outputs_spend_nothing(tmp_path, python_backend):
    first = _plan(tmp_path, None, [])
    for i in range(3):
        first.add(python_backend, Request(f"q{i}", None, CONFIG))
    first.run()
    deadline = Deadline.start(None, token_budget=1)
    again = _plan(tmp_path, deadline, [])
    for i in range(3):
        again.add(python_backend, Request(f"q{i}", None, CONFIG))
    again.run()
    assert all(g.error is None and g.cached for g in again.results.values())
    assert deadline is not None and deadline.budget is not None and deadline.budget.spent == 0


def test_no_budget_and_no_deadline_is_no_bound():
    assert Deadline.start(None) is None
    both = Deadline.start(60, token_budget=10)
    assert both is not None and not both.reached()
    both.charge(10)
    assert both.reached() and both.out_of_tokens() and not both.out_of_time()
    assert both.stopped.startswith("stopped: run token budget of 10 tokens reached (10 spent)")
