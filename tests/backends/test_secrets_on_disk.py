"""A server that echoes the API key: the key reaches no file — cache (current or written by an older llmeval),
results, HTML, JUnit — and no output a scorer or the terminal sees."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from llmeval.backends import Backend, Generation, GenerationConfig, Request
from llmeval.cli import main
from llmeval.engine.cache import FORMAT, Cache
from llmeval.engine.plan import GenerationPlan
from llmeval.engine.progress import Progress

KEY = "sk-live-ECHOED-0123456789abcdef"


@pytest.fixture
def echoing(fault_server, in_project, monkeypatch):
    """A project whose suite asks a loopback server that puts the key in every answer."""
    monkeypatch.setenv("LLMEVAL_API_KEY", KEY)
    fault_server.script = [fault_server.ok(f"Your key is {KEY}, keep it safe.")]
    project = in_project("app", "")
    project.makefile(
        ".yaml",
        echo=f"suite: echo\nmodel: 'openai:{fault_server.base_url}#m'\nprompt: 'q {{{{ n }}}}'\n"
        "defaults:\n  scorers: [{contains: 'keep it safe'}]\ncases:\n  - {id: a, vars: {n: 1}}\n  - {id: b, vars: {n: 2}}\n",
    )
    return project


def run(capsys) -> str:
    code = main(["run", ".", "--results", "r.jsonl", "--html", "r.html", "--junit", "j.xml", "--save-baseline", "b.json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out + captured.err


def files_holding(root: Path, secret: str) -> list[str]:
    """Every file under root whose bytes hold the secret or a 12-character run of it."""
    runs = {secret[i : i + 12].encode() for i in range(len(secret) - 11)}
    return [str(p) for p in root.rglob("*") if p.is_file() and any(r in p.read_bytes() for r in runs)]


def test_an_echoed_key_is_masked_before_anything_is_written(echoing, fault_server, capsys):
    shown = run(capsys)
    assert len(fault_server.seen) == 2 and fault_server.seen[0]["headers"]["Authorization"] == f"Bearer {KEY}"
    assert files_holding(echoing.path, KEY) == [] and KEY not in shown
    cached = sqlite3.connect(echoing.path / ".llmeval" / "cache.sqlite").execute("SELECT text FROM generations")
    assert [t for (t,) in cached] == ["Your key is <SECRET>, keep it safe."] * 2
    run(capsys)  # served from the cache: the same masked outputs, nothing generated again
    assert len(fault_server.seen) == 2 and files_holding(echoing.path, KEY) == []


def test_a_cache_written_before_masking_is_not_served_and_is_wiped(echoing, fault_server, capsys):
    run(capsys)
    db = echoing.path / ".llmeval" / "cache.sqlite"
    with sqlite3.connect(db) as conn:  # as an older llmeval left it: format 1, the key stored in full
        conn.execute("UPDATE generations SET text = ?", (f"old answer with {KEY}",))
        conn.execute("PRAGMA user_version = 0")
    assert files_holding(echoing.path / ".llmeval", KEY)
    shown = run(capsys)
    assert "deleted 2 cached outputs written by an older llmeval" in shown
    assert len(fault_server.seen) == 4  # generated again, not served
    assert files_holding(echoing.path, KEY) == [] and "old answer" not in (echoing.path / "r.jsonl").read_text()
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone() == (FORMAT,)


class KeyedEcho(Backend):
    """A real backend that holds a key and echoes the prompt (a key pasted into a prompt comes back)."""

    sees_vars, spec, label = False, "test:keyed", "keyed"

    def identity(self) -> str:
        return self.spec

    def secrets(self) -> list[str]:
        return [KEY]

    def generate(self, requests, on_result, limits=None):
        for i, r in enumerate(requests):
            on_result(i, Generation(f"echo {r.prompt}", 1, 2, 0.0, error=f"saw {KEY[2:14]}" if "err" in r.prompt else None))

    def close(self):
        return None


def test_the_plan_masks_keys_in_outputs_errors_and_the_stored_request(tmp_path):
    plan = GenerationPlan(Cache(tmp_path / "cache"), lambda n: Progress(n, live=False, write_line=lambda _: None))
    backend = KeyedEcho()
    ok, err = (plan.add(backend, Request(f"{p} {KEY}", None, GenerationConfig())) for p in ("my key is", "err"))
    plan.run()
    assert plan.get(ok).text == "echo my key is <SECRET>" and plan.get(err).error == "saw <SECRET>"
    plan.cache.close()
    assert files_holding(tmp_path, KEY) == []
    (request,) = sqlite3.connect(tmp_path / "cache" / "cache.sqlite").execute("SELECT request FROM generations")
    assert "my key is <SECRET>" in request[0]
