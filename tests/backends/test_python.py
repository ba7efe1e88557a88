"""The python: backend: bounded concurrency, timeouts, the deadline, BaseException, and the app's cache identity."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from llmeval.backends import Deadline, GenerationConfig, Limits, Request
from llmeval.backends.python import CallableBackend

CONFIG = GenerationConfig(max_new_tokens=8)

APP = """
import asyncio, sys, threading, time

STUCK = threading.Event()  # never set
running = 0
peak = 0
lock = threading.Lock()
calls = {}

def answer(prompt, vars):
    if prompt == "hang":
        STUCK.wait()
    if prompt == "exit":
        sys.exit(3)
    if prompt == "interrupt":
        raise KeyboardInterrupt
    return "ok:" + prompt

def counted(prompt):
    global running, peak
    with lock:
        running += 1
        peak = max(peak, running)
    time.sleep(0.05)
    with lock:
        running -= 1
    return prompt

def flaky(prompt):
    calls[prompt] = calls.get(prompt, 0) + 1
    if calls[prompt] == 1:
        raise ConnectionError("first call fails")
    return "second time lucky"

def slow(prompt):
    time.sleep(0.2)
    return prompt

async def answer_async(prompt, vars):
    if prompt == "hang":
        await asyncio.Event().wait()
    if prompt == "block":
        time.sleep(3600)  # blocks the event loop itself
    if prompt == "exit":
        raise SystemExit(3)
    return "ok:" + prompt
"""


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    name = f"hangapp_{abs(hash(tmp_path)) % 10**8}"
    (tmp_path / f"{name}.py").write_text(APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path / f"{name}.py"


def backend(app: Path, fn: str, **options) -> CallableBackend:
    return CallableBackend(f"{app.stem}:{fn}", root=app.parent, **options)


def run(backend: CallableBackend, prompts: list[str], limits: Limits | None = None) -> list:
    out: dict = {}
    backend.generate([Request(p, None, CONFIG) for p in prompts], lambda i, g: out.__setitem__(i, g), limits)
    assert sorted(out) == list(range(len(prompts)))
    return [out[i] for i in range(len(prompts))]


@pytest.mark.parametrize("fn", ["answer", "answer_async"])
def test_a_stuck_call_is_an_error_on_its_case_and_the_others_report(app, fn):
    start = time.monotonic()
    gens = run(backend(app, fn), ["a", "hang", "b"], Limits(timeout=0.3))
    assert time.monotonic() - start < 5
    assert [g.text for g in gens] == ["ok:a", "", "ok:b"]
    assert gens[1].error == "application call timed out after 0.3 s"


def test_an_async_call_that_blocks_the_event_loop_still_times_out(app):
    start = time.monotonic()
    gens = run(backend(app, "answer_async", concurrency=2), ["block", "a"], Limits(timeout=0.3))
    assert time.monotonic() - start < 5
    assert "timed out after 0.3 s" in gens[0].error


@pytest.mark.parametrize("fn", ["answer", "answer_async"])
def test_system_exit_from_the_app_is_an_error_on_its_case(app, fn):
    gens = run(backend(app, fn), ["exit", "a"])
    assert "application raised SystemExit: 3" in gens[0].error
    assert gens[1].text == "ok:a"


def test_keyboard_interrupt_still_stops_the_run(app):
    with pytest.raises(KeyboardInterrupt):
        run(backend(app, "answer"), ["interrupt"])


def test_sync_callables_run_concurrently_up_to_the_bound(app):
    run(backend(app, "counted", concurrency=3), [str(i) for i in range(12)])
    assert sys.modules[app.stem].peak == 3


def test_retries_call_again_after_the_app_raised(app):
    (once,) = run(backend(app, "flaky"), ["p"])
    assert "first call fails" in once.error
    (twice,) = run(backend(app, "flaky", retries=1), ["q"])
    assert (twice.text, twice.error) == ("second time lucky", None)


def test_deadline_stops_what_has_not_started(app):
    gens = run(backend(app, "slow", concurrency=1), ["a", "b", "c", "d"], Limits(deadline=Deadline.start(0.3)))
    assert gens[0].text == "a"
    errors = [g.error for g in gens[1:]]
    assert "not generated: run deadline of 0.3 s reached" in errors
    assert all(e is not None and "run deadline of 0.3 s reached" in e for e in errors[1:])


HANGING_SUITE = """\
suite: hang
model: python:stuckapp:answer
prompt: "{{ q }}"
cases:
  - {id: fine, vars: {q: fine}, scorers: [{contains: fine}]}
  - {id: stuck, vars: {q: hang}, scorers: [{contains: fine}]}
"""


@pytest.mark.parametrize("kind", ["def", "async def"])
def test_a_run_with_a_never_returning_callable_finishes_and_exits(pytester, monkeypatch, kind):
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))  # this checkout's llmeval
    body = "threading.Event().wait()" if kind == "def" else "await asyncio.Event().wait()"
    pytester.makepyfile(
        stuckapp=f"""
        import asyncio, threading
        {kind} answer(prompt):
            if prompt == "hang":
                {body}
            return prompt
    """
    )
    pytester.makefile(".yaml", hang=HANGING_SUITE)
    start = time.monotonic()
    result = pytester.runpytest_subprocess("--llmeval-timeout", "1", "--llmeval-results", "r.jsonl", timeout=60)
    assert time.monotonic() - start < 60
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*timed out after 1 s*"])
    assert (pytester.path / "r.jsonl").is_file()


def _package(root: Path, answer: str) -> None:
    pkg = root / "supportbot"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "bot.py").write_text("from supportbot.policy import ANSWER\n\ndef reply(prompt):\n    return ANSWER\n")
    (pkg / "policy.py").write_text(f"ANSWER = {answer!r}\n")


def _forget_package() -> None:
    for name in [m for m in sys.modules if m == "supportbot" or m.startswith("supportbot.")]:
        del sys.modules[name]


def test_changing_another_module_of_the_app_regenerates(tmp_path, monkeypatch):
    from llmeval.engine.cache import Cache
    from llmeval.engine.plan import GenerationPlan
    from llmeval.engine.progress import Progress

    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    outputs = []
    for answer in ("30 days", "14 days"):
        _package(tmp_path, answer)
        _forget_package()
        plan = GenerationPlan(Cache(tmp_path / "cache"), lambda n: Progress(n, live=False, write_line=lambda _: None))
        key = plan.add(CallableBackend("supportbot.bot:reply", root=tmp_path), Request("q", None, CONFIG))
        plan.run()
        outputs.append((plan.get(key).text, plan.get(key).cached))
    _forget_package()
    assert outputs == [("30 days", False), ("14 days", False)]


def test_a_single_module_app_is_keyed_by_its_file(app):
    before = backend(app, "answer").identity()
    app.write_text(app.read_text() + "\n# edited\n")
    assert backend(app, "answer").identity() != before
