"""`llmeval run`: the core without pytest — exit codes, broken suites, usage errors, a fault in the core."""

from __future__ import annotations

import json

import pytest

from llmeval.cli import main

APP = "def good(prompt, vars):\n    return 'ok'\n"
SUITE = (
    "suite: {name}\nmodel: python:app:good\nprompt: 'q {{{{ n }}}}'\ndefaults:\n  scorers:\n    - contains: ok\n"
    "cases:\n  - {{id: a, vars: {{n: 1}}}}\n  - {{id: b, vars: {{n: 2}}}}\n"
    "gates:\n  - {{metric: contains, mean: '>= 0.5'}}\n"
)


@pytest.fixture
def project(in_project):
    return in_project("app", APP)


def test_passing_suites_exit_0_and_write_records(project, capsys):
    project.makefile(".yaml", one=SUITE.format(name="one"))
    assert main(["run", ".", "--results", "r.jsonl", "-q"]) == 0
    kinds = [json.loads(line)["kind"] for line in (project.path / "r.jsonl").read_text().splitlines()]
    assert kinds == ["case", "case", "gate", "verdict", "manifest"]
    assert "RELEASE VERDICT: PASS" in capsys.readouterr().out


def test_a_broken_suite_exits_2_after_the_others_ran(project, capsys):
    project.makefile(".yaml", one=SUITE.format(name="one"), two="suite: two\ncases: [{id: x, vars: {n: 1}}\n")
    assert main(["run", ".", "--results", "r.jsonl", "-q"]) == 2
    err = capsys.readouterr().err
    assert "two.yaml:" in err and "Traceback" not in err
    assert "one" in (project.path / "r.jsonl").read_text()


def test_a_missing_baseline_is_a_usage_error(project, capsys):
    project.makefile(".yaml", one=SUITE.format(name="one"))
    assert main(["run", ".", "--baseline", "nope.json", "-q"]) == 4
    assert "nope.json does not exist" in capsys.readouterr().err


def test_a_fault_in_the_core_errors_the_items_instead_of_crashing_pytest(project):
    project.makefile(".yaml", one=SUITE.format(name="one"))
    project.makeconftest(
        "import llmeval.core.evaluation as E\n"
        "def broken(self, targets, keys):\n    raise RuntimeError('scoring exploded')\n"
        "E.Evaluation._score = broken\n"
    )
    result = project.runpytest_subprocess("--llmeval-results", "r.jsonl")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["*could not evaluate this suite: RuntimeError: scoring exploded*"])
    assert "INTERNALERROR" not in result.stdout.str()


def test_no_suite_file_is_exit_5_not_a_pass(project, capsys):
    (project.path / "notes.yaml").write_text("title: not a suite\n")
    assert main(["run", ".", "--results", "r.jsonl", "-q"]) == 5
    out, err = capsys.readouterr()
    assert "nothing to evaluate: no suite file under ." in err and "RELEASE VERDICT" not in out
    assert not (project.path / "r.jsonl").exists()


def test_suites_that_could_not_load_stay_exit_2(project, capsys):
    project.makefile(".yaml", two="suite: two\ncases: [{id: x, vars: {n: 1}}\n")
    assert main(["run", ".", "-q"]) == 2
    out, err = capsys.readouterr()
    assert "two.yaml:" in err and "nothing to evaluate" in err and "RELEASE VERDICT" not in out
