"""The backend contract: a base class with defaults, options declared per backend, prefixes as data, entry points once."""

from __future__ import annotations

import ast
import dataclasses
import importlib.metadata
import inspect
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import llmeval.backends as backends
from llmeval.backends import Backend, Generation, GenerationConfig, Request, resolve
from llmeval.cli import main
from llmeval.config import Settings
from llmeval.errors import BackendError

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {f.name for f in dataclasses.fields(Settings)}


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(backends, "_REGISTERED", {})
    backends._load_entry_points.cache_clear()
    yield backends
    backends._load_entry_points.cache_clear()


@pytest.mark.parametrize("prefix", sorted(backends.BUILTINS))
def test_each_builtin_declares_settings_its_constructor_takes(prefix):
    factory = backends.factory_for(prefix)
    assert issubclass(factory, Backend) and factory.__doc__
    keywords = inspect.signature(factory).parameters
    assert not [p for p in keywords.values() if p.kind is p.VAR_KEYWORD], "options are declared, not swallowed by **_"
    for name, help_text in backends.options_of(factory).items():
        assert name in SETTINGS and name in keywords and help_text, name


def test_every_option_the_run_passes_is_declared_by_some_backend(tmp_path):
    from llmeval.core.evaluation import Evaluation

    passed = set(Evaluation(Settings(), tmp_path)._backend_options())
    declared = {name for prefix in backends.BUILTINS for name in backends.options_of(backends.factory_for(prefix))}
    assert passed == declared


def test_a_backend_gets_only_the_options_it_declares(registry, tmp_path):
    class Strict(Backend):
        """Takes a timeout and nothing else."""

        options = {"timeout": "seconds per request"}

        def __init__(self, target: str, *, root: Path, timeout: float | None = None) -> None:
            self.spec, self.label, self.timeout = f"strict:{target}", target, timeout

        def generate(self, requests, on_result, limits=None):
            for i, request in enumerate(requests):
                on_result(i, Generation(request.text()))

    backends.register("strict", Strict)
    built = resolve("strict:x", root=tmp_path, timeout=3.0, concurrency=2, vllm_args=["dtype=float32"], batch_size=4)
    assert isinstance(built, Strict) and built.timeout == 3.0
    defaults = (built.identity(), built.secrets(), built.load(), built.close(), built.takes_limits)
    assert defaults == ("strict:x", [], None, None, True)


def test_a_backend_without_generate_is_refused_when_built(registry, tmp_path):
    class Idle(Backend):
        """Generates nothing."""

        def __init__(self, target: str, *, root: Path) -> None:
            self.spec, self.label = f"idle:{target}", target

    backends.register("idle", Idle)
    with pytest.raises(BackendError, match=r"model spec 'idle:x': the 'idle:' backend Idle does not implement generate\(\)"):
        resolve("idle:x", root=tmp_path)


def test_a_factory_that_builds_no_backend_is_refused(registry, tmp_path):
    backends.register("loose", lambda target, root: object())
    with pytest.raises(BackendError, match="the 'loose:' backend built a object, not a llmeval.backends.Backend; subclass"):
        resolve("loose:x", root=tmp_path)


def test_a_taken_prefix_is_refused_unless_meant(registry):
    class Mine(Backend):
        """Mine."""

    with pytest.raises(BackendError, match=r"prefix 'hf:' .* taken by llmeval.backends.hf:HFBackend.*override=True"):
        backends.register("hf", Mine)
    backends.register("hf", Mine, override=True)
    assert backends.factory_for("hf") is Mine


def test_an_unknown_prefix_suggests_the_close_one(tmp_path):
    with pytest.raises(BackendError, match=r"unknown model spec prefix 'hff:' in 'hff:m'; did you mean 'hf:'\?"):
        resolve("hff:m", root=tmp_path)


EXTRA = """
    from llmeval.backends import Backend, Generation

    class Echo(Backend):
        '''Echoes the prompt.'''

        options = {"concurrency": "ignored"}

        def __init__(self, target, *, root, concurrency=8):
            self.spec, self.label, self.concurrency = f"echo:{target}", target, concurrency

        def generate(self, requests, on_result, limits=None):
            for i, r in enumerate(requests):
                on_result(i, Generation(r.prompt))

    class Replacement(Echo):
        override = True
"""


def _install(tmp_path: Path, monkeypatch, entries: dict[str, str]) -> None:
    """A real installed distribution (dist-info on sys.path) declaring `llmeval.backends` entry points."""
    site = tmp_path / "site"
    dist = site / "llmeval_echo-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: llmeval-echo\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[llmeval.backends]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items()))
    (site / "echo_backend.py").write_text(textwrap.dedent(EXTRA))
    monkeypatch.delitem(sys.modules, "echo_backend", raising=False)
    monkeypatch.syspath_prepend(str(site))


def test_entry_points_load_once_per_process(registry, tmp_path, monkeypatch):
    _install(tmp_path, monkeypatch, {"echo": "echo_backend:Echo"})
    calls = []
    real = importlib.metadata.entry_points
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **kw: calls.append(kw) or real(**kw))
    for _ in range(3):
        assert "echo" in backends.prefixes()
    built = resolve("echo:x", root=tmp_path, concurrency=2, timeout=1.0)
    out: dict = {}
    built.generate([Request("hi", None, GenerationConfig())], lambda i, g: out.__setitem__(i, g))
    assert out == {0: Generation("hi")} and built.concurrency == 2
    assert calls == [{"group": "llmeval.backends"}]


def test_an_entry_point_under_a_builtin_prefix_needs_to_say_so(registry, tmp_path, monkeypatch):
    _install(tmp_path, monkeypatch, {"python": "echo_backend:Echo"})
    with pytest.raises(BackendError, match="cannot register backend prefix 'python:' for echo_backend.Echo"):
        backends.prefixes()
    backends._load_entry_points.cache_clear()
    monkeypatch.setattr(backends, "_REGISTERED", {})
    _install(tmp_path / "2", monkeypatch, {"python": "echo_backend:Replacement"})
    assert backends.factory_for("python").__name__ == "Replacement"


def test_listing_prefixes_imports_no_backend_module():
    code = "import sys, llmeval.backends as b\nb.prefixes()\nprint(sorted(m for m in sys.modules if 'llmeval.backends.' in m))"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=True).stdout
    assert not {"llmeval.backends.hf", "llmeval.backends.openai", "llmeval.backends.vllm"} & set(ast.literal_eval(out.strip()))


def test_the_backends_command_lists_each_prefix_with_its_options(capsys):
    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    sections = {line.split()[0]: i for i, line in enumerate(out.splitlines()) if not line.startswith(" ")}
    assert list(sections) == [f"{p}:" for p in backends.BUILTINS]
    assert "  openai_format   how a judge's output format is asked for" in out
    assert "  batching        decoding: auto" in out


def test_the_readme_lists_each_backends_options_as_declared():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| prefix | options |") :].split("\n\n", 1)[0].splitlines()[2:]
    rows = {}
    for line in table:
        prefixes, options = (cell.strip() for cell in line.strip().strip("|").split("|"))
        for prefix in prefixes.replace("`", "").split(", "):
            rows[prefix.rstrip(":")] = set(re.findall(r"`(\w+)`", options))
    assert rows == {p: set(backends.options_of(backends.factory_for(p))) for p in backends.BUILTINS}
