"""The scorer registry as data: built-ins imported on use, entry points loaded once, names not silently taken over."""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Literal

import jsonschema
import pytest

from llmeval.cli import main
from llmeval.errors import LlmevalError, SuiteError
from llmeval.scorers import base
from llmeval.scorers.base import Sample, build, register
from llmeval.suite import load_suite
from llmeval.suite.schema import json_schema

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def registry(monkeypatch):
    """The registry as this test leaves it is thrown away: registrations and the entry point cache."""
    monkeypatch.setattr(base, "_REGISTERED", {})
    base._load_entry_points.cache_clear()
    yield base
    base._load_entry_points.cache_clear()


def _scorer_modules_after(code: str) -> list[str]:
    """The llmeval.scorers.* modules a fresh interpreter has imported after running `code`."""
    probe = f"import sys\n{code}\nprint(sorted(m for m in sys.modules if m.startswith('llmeval.scorers.')))"
    env = {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    return list(ast.literal_eval(out.stdout.strip()))


def test_listing_names_and_reading_scales_imports_no_scorer_module():
    loaded = _scorer_modules_after(
        "from llmeval.scorers import base\nbase.available()\nassert base.lookup('pii').scale.better == 'lower'"
    )
    assert loaded == ["llmeval.scorers.base", "llmeval.scorers.batch", "llmeval.scorers.context"]


def test_building_a_scorer_imports_its_module_only():
    loaded = _scorer_modules_after("from llmeval.scorers import base\nbase.build('contains', 'x')")
    assert "llmeval.scorers.text" in loaded
    assert not {"llmeval.scorers.pii", "llmeval.scorers.judge", "llmeval.scorers.metrics"} & set(loaded)


@pytest.mark.parametrize("name", sorted(base.BUILTINS))
def test_every_builtin_resolves_to_a_documented_factory(name):
    info = base.lookup(name)
    assert callable(info.factory) and info.summary, name
    assert info.scale != base.Scale(), f"{name} declares no scale"
    if info.shorthand is not None:
        from llmeval.scorers.params import names

        assert info.shorthand in names(info)


def test_registering_a_builtin_name_is_an_error_unless_meant(registry):
    def shouting(min: float | None = None) -> base.Scorer:
        """Always 1."""
        raise AssertionError("not built here")

    with pytest.raises(LlmevalError, match=r"name is taken by built-in scorer 'contains'.*register\('contains', override=True\)"):
        register("contains")(shouting)
    assert registry.lookup("contains").origin == "built-in"
    register("contains", override=True, scale=base.CHECK)(shouting)
    assert registry.lookup("contains").factory is shouting


def test_another_factory_under_a_registered_name_is_refused_the_same_one_again_is_not(registry):
    def first() -> base.Scorer:
        """First."""
        raise AssertionError

    def second() -> base.Scorer:
        """Second."""
        raise AssertionError

    register("mine")(first)
    register("mine")(first)  # its module imported again (a conftest in a second in-process session)
    with pytest.raises(LlmevalError, match="taken by .*first"):
        register("mine")(second)


def test_a_class_registered_as_factory_has_its_init_parameters_typed(registry):
    @register("longer_than", scale=base.CHECK, shorthand="words")
    class LongerThan:
        """1 when the output has more than `words` words."""

        name, threshold = "longer_than", base.Threshold(min=1)

        def __init__(self, words: int, unit: Literal["words"] = "words") -> None:
            self.words = words

        def __call__(self, sample: Sample) -> base.Score:
            ok = len(sample.output.split()) > self.words
            return base.Score(self.name, float(ok), self.threshold, ok)

    from llmeval.scorers.params import parameter_lines

    assert parameter_lines(registry.lookup("longer_than")) == ["words: integer (required)", 'unit: "words" = "words"']
    assert build("longer_than", "2")(Sample(output="one two three")).passed
    with pytest.raises(SuiteError, match="words: expected integer, got 'many'"):
        build("longer_than", "many")


def _install(tmp_path: Path, monkeypatch, group: str, entries: dict[str, str], modules: dict[str, str]) -> None:
    """A real installed distribution (a dist-info folder on sys.path) declaring entry points, and its modules."""
    dist = tmp_path / "site" / "llmeval_extra-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: llmeval-extra\nVersion: 1.0\n")
    lines = "\n".join(f"{name} = {value}" for name, value in entries.items())
    (dist / "entry_points.txt").write_text(f"[{group}]\n{lines}\n")
    for module, source in modules.items():
        (tmp_path / "site" / f"{module}.py").write_text(textwrap.dedent(source))
        monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))


SHOUT = """
    from llmeval.scorers.base import CHECK, Score, Threshold, register

    @register("shout", scale=CHECK)
    def shout(min: float | None = None) -> object:
        '''1 when the output is in capitals.'''
        return lambda s: Score("shout", float(s.output.isupper()), Threshold(min), s.output.isupper())
"""


def test_entry_points_load_once_per_process_and_their_scorers_build(registry, tmp_path, monkeypatch):
    _install(tmp_path, monkeypatch, "llmeval.scorers", {"shout": "extra_scorers"}, {"extra_scorers": SHOUT})
    calls = []
    real = importlib.metadata.entry_points

    def counted(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", counted)
    for _ in range(3):
        assert "shout" in registry.available()
    assert build("shout", {"min": 1})(Sample(output="HI")).passed
    assert calls == [{"group": "llmeval.scorers"}]
    assert registry.lookup("shout").scale == base.CHECK and "extra_scorers" in registry.lookup("shout").origin


def test_an_entry_point_taking_a_builtin_name_fails_naming_itself(registry, tmp_path, monkeypatch):
    taker = SHOUT.replace('@register("shout"', '@register("exact"')
    _install(tmp_path, monkeypatch, "llmeval.scorers", {"exact": "taker"}, {"taker": taker})
    with pytest.raises(LlmevalError, match="cannot register scorer 'exact' from taker.shout: the name is taken by built-in"):
        registry.available()


def test_an_entry_point_that_cannot_load_is_named(registry, tmp_path, monkeypatch):
    _install(tmp_path, monkeypatch, "llmeval.scorers", {"broken": "broken_scorers"}, {"broken_scorers": "import nowhere\n"})
    with pytest.raises(LlmevalError, match=r"entry point 'broken = broken_scorers' \(group llmeval.scorers\) failed to load"):
        registry.lookup("exact")


def test_the_listing_gives_each_parameter_its_type_and_default(capsys):
    assert main(["scorers", "contains", "decision"]) == 0
    out = capsys.readouterr().out
    assert "scale 0/1, higher is better; a bare value fills 'value'" in out
    assert 'mode: "all" | "any" = "all"' in out and "value: string | list[string] (required)" in out
    assert "choices: mapping[string, string | list[string]] | null = null" in out


def test_the_listing_of_an_unknown_scorer_suggests_one(capsys):
    assert main(["scorers", "contian"]) == 2
    assert "did you mean 'contains'" in capsys.readouterr().err


def test_the_schema_types_each_scorers_parameters():
    validator = jsonschema.Draft202012Validator(json_schema())

    def errors(scorer: dict) -> list[str]:
        suite = {"suite": "x", "prompt": "hi", "cases": [{"id": "a", "scorers": [scorer]}]}
        return [e.message for e in validator.iter_errors(suite)]

    assert errors({"contains": "30 days"}) == [] and errors({"contains": {"value": ["a", "b"], "mode": "any"}}) == []
    assert errors({"judge": {"model": "hf:m", "scale": [1, 10], "votes": 3}}) == []
    assert errors({"contains": {"value": "a", "mode": "some"}})
    assert errors({"rougeL": {"min": "high"}})
    assert errors({"length": {"max": 3, "units": "words"}})
    assert errors({"rouge_l": {"min": 0.5}})
    assert errors({"judge": {"criteria": "no model"}})


def test_a_wrongly_typed_parameter_is_refused_at_load_naming_file_and_line(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text("suite: s\nprompt: hi\ncases:\n  - id: a\n    scorers:\n      - length: {max: lots}\n")
    with pytest.raises(SuiteError) as info:
        load_suite(suite, root=tmp_path)
    assert str(info.value).startswith(f"{suite}:6: 'length': bad parameters for scorer 'length': max: expected number | null")


def test_a_templated_number_is_a_number(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "suite: s\nprompt: hi\ncases:\n  - id: a\n    vars: {most: 3}\n"
        '    scorers:\n      - length: {max: "{{ most }}"}\n      - contains: 30\n'
    )
    length, contains = load_suite(suite, root=tmp_path).cases[0].scorers
    assert length(Sample(output="one two three")).passed and not length(Sample(output="one two three four")).passed
    assert contains(Sample(output="within 30 days")).passed
