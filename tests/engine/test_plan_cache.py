"""The generation plan and the cache: dedup, cache modes, model identity in the key, nothing lost on SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llmeval.backends import Backend, Generation, GenerationConfig, Request, cache_key
from llmeval.engine.cache import Cache
from llmeval.engine.plan import GenerationPlan
from llmeval.engine.progress import Progress


class CountingBackend(Backend):
    """A real Backend implementation (not a mock of one): echoes the prompt and counts calls."""

    sees_vars = False

    def __init__(self, name: str = "echo") -> None:
        self.spec = f"test:{name}"
        self.label = name
        self.calls: list[str] = []

    def identity(self) -> str:
        return self.spec

    def generate(self, requests, on_result, limits=None):
        for i, r in enumerate(requests):
            self.calls.append(r.prompt)
            on_result(i, Generation(f"{self.label}:{r.prompt}:{r.sample}", 1, 2, 0.0))

    def close(self):
        return None


def _plan(tmp_path: Path, mode: str = "on") -> GenerationPlan:
    lines: list[str] = []
    return GenerationPlan(Cache(tmp_path / "cache", mode), lambda n: Progress(n, live=False, write_line=lines.append))


CONFIG = GenerationConfig(max_new_tokens=8)


def test_duplicates_are_generated_once(tmp_path):
    plan, backend = _plan(tmp_path), CountingBackend()
    keys = [plan.add(backend, Request(p, None, CONFIG)) for p in ["a", "b", "a", "a"]]
    plan.run()
    assert backend.calls == ["a", "b"]
    assert plan.get(keys[0]).text == plan.get(keys[2]).text == "echo:a:0"


@pytest.mark.parametrize(
    ("mode", "second_run_calls", "cached"),
    [("on", [], True), ("refresh", ["a", "b"], False), ("off", ["a", "b"], False)],
)
def test_cache_modes(tmp_path, mode, second_run_calls, cached):
    first = CountingBackend()
    plan = _plan(tmp_path, "on" if mode != "off" else "off")
    for p in "ab":
        plan.add(first, Request(p, None, CONFIG))
    plan.run()
    second = CountingBackend()
    plan = _plan(tmp_path, mode)
    key = plan.add(second, Request("a", None, CONFIG))
    plan.add(second, Request("b", None, CONFIG))
    plan.run()
    assert second.calls == second_run_calls
    assert plan.get(key).cached is cached


def test_every_generation_parameter_and_sample_is_in_the_key():
    base = Request("p", None, CONFIG)
    variants = [
        Request("p", None, GenerationConfig(max_new_tokens=9)),
        Request("p", None, GenerationConfig(max_new_tokens=8, temperature=0.7)),
        Request("p", None, GenerationConfig(max_new_tokens=8, top_p=0.9)),
        Request("p", None, GenerationConfig(max_new_tokens=8, seed=1)),
        Request("p", None, GenerationConfig(max_new_tokens=8, stop=("\n",))),
        Request("p", None, CONFIG, sample=1),
        Request(None, (("user", "p"),), CONFIG),
        Request("q", None, CONFIG),
    ]
    keys = {cache_key("m", r, with_vars=False) for r in [base, *variants]}
    assert len(keys) == len(variants) + 1
    assert cache_key("m", base, with_vars=False) != cache_key("other-model", base, with_vars=False)
    with_a = Request("p", None, CONFIG, vars='{"a": 1}')
    assert cache_key("m", with_a, with_vars=True) != cache_key("m", base, with_vars=True)
    assert cache_key("m", with_a, with_vars=False) == cache_key("m", base, with_vars=False)


def test_two_models_at_the_same_path_never_share_entries(tmp_path, build_models):
    from llmeval.backends import resolve

    path = tmp_path / "model"
    request = Request("Q: Hi\nA:", None, GenerationConfig(max_new_tokens=4))
    build_models.build_random_model(path, seed=1)
    plan = _plan(tmp_path)
    first = plan.add(resolve(f"hf:{path}", root=tmp_path), request)
    plan.run()
    build_models.build_random_model(path, seed=2, vocab_from=path)
    plan = _plan(tmp_path)
    second = plan.add(resolve(f"hf:{path}", root=tmp_path), request)
    assert first != second
    plan.run()
    assert plan.get(second).cached is False


def test_errors_are_reported_and_never_cached(tmp_path):
    class Failing(CountingBackend):
        def generate(self, requests, on_result, limits=None):
            raise RuntimeError("GPU on fire")

    plan = _plan(tmp_path)
    key = plan.add(Failing(), Request("a", None, CONFIG))
    plan.run()
    assert "GPU on fire" in plan.get(key).error
    assert Cache(tmp_path / "cache").get_many([key]) == {}


APP = """
import os, time
def answer(prompt, vars):
    with open(os.environ["CALL_LOG"], "a") as fh:
        fh.write(prompt + "\\n")
    time.sleep(0.15)
    return "ok " + prompt
"""


def test_sigkill_mid_generation_keeps_finished_work_and_rerun_generates_only_the_rest(tmp_path):
    (tmp_path / "slowapp.py").write_text(APP)
    cases = "\n".join(f"  - {{id: c{i}, vars: {{n: {i}}}}}" for i in range(30))
    (tmp_path / "s.yaml").write_text(
        'suite: s\nmodel: python:slowapp:answer\nprompt: "case {{ n }}"\n'
        f"defaults:\n  scorers: [{{contains: ok}}]\ncases:\n{cases}\n"
    )
    env = {**os.environ, "CALL_LOG": str(tmp_path / "calls.log")}
    cmd = [sys.executable, "-m", "pytest", "s.yaml", "-q", "-p", "no:cacheprovider"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / ".llmeval" / "cache.sqlite"
    deadline = time.time() + 60
    done = 0
    while time.time() < deadline and done < 8:
        time.sleep(0.1)
        if db.exists():
            try:
                done = sqlite3.connect(db).execute("SELECT COUNT(*) FROM generations").fetchone()[0]
            except sqlite3.OperationalError:
                done = 0
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = sqlite3.connect(db).execute("SELECT COUNT(*) FROM generations").fetchone()[0]
    assert 8 <= kept < 30
    (tmp_path / "calls.log").write_text("")
    rerun = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stdout
    regenerated = (tmp_path / "calls.log").read_text().splitlines()
    assert len(regenerated) == 30 - kept
    assert f"{kept} from cache" in rerun.stdout
