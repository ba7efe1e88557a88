"""The run's token budget through `llmeval run` and the pytest plugin, against a loopback server with known usage."""

from __future__ import annotations

import json

import pytest

from llmeval.cli import main

SUITE = """\
suite: budgeted
model: openai:{url}#m
generation: {{max_new_tokens: 5}}
prompt: "q {{{{ n }}}}"
defaults:
  scorers: [{{contains: ok}}]
cases:
{cases}
gates:
  - {{metric: contains, pass_rate: ">= 0.5"}}
"""
CASES, PER_REQUEST = 6, 15  # each answer reports 10 prompt + 5 completion tokens
STOPPED = "not generated: run token budget of 40 tokens reached (45 spent); raise --llmeval-token-budget to generate it"


@pytest.fixture(autouse=True)
def no_ambient_key(monkeypatch):
    for name in ("OPENAI_API_KEY", "LLMEVAL_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def budgeted(fault_server, in_project):
    """A project whose suite has CASES cases on `fault_server`; every answer costs PER_REQUEST tokens."""
    fault_server.script = [fault_server.ok("ok", prompt_tokens=10, completion_tokens=5)]
    cases = "\n".join(f"  - {{id: c{n}, vars: {{n: {n}}}}}" for n in range(CASES))
    project = in_project("unused_app", "")
    project.makefile(".yaml", budgeted=SUITE.format(url=fault_server.base_url, cases=cases))
    return project, fault_server


def _records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_budget_stops_llmeval_run_and_a_rerun_generates_the_rest(budgeted, capsys):
    project, server = budgeted
    assert main(["run", ".", "--results", "r.jsonl", "--concurrency", "1", "--token-budget", "40"]) == 1
    out = capsys.readouterr()
    assert "run token budget of 40 tokens reached (45 spent): 3 requests not generated" in out.err
    assert "RELEASE VERDICT: FAIL" in out.out and "3 errored outputs" in out.out
    rows = _records(project.path / "r.jsonl")
    cases = [r for r in rows if r["kind"] == "case"]
    done = [r for r in cases if r["status"] == "passed"]
    assert len(done) == 3 and len(server.seen) == 3
    assert all(r["tokens"] == {"prompt": 10, "completion": 5} and r["token_source"] == "usage" for r in done)
    assert {r["served_by"] for r in done} == {server.base_url}
    assert [r["error"] for r in cases if r["status"] == "error"] == [STOPPED] * 3
    gate = next(r for r in rows if r["kind"] == "gate")
    assert gate["status"] == "failed" and gate["errors"] == 3  # missing evidence never passes

    assert main(["run", ".", "--results", "r2.jsonl", "--concurrency", "1", "--token-budget", "1000"]) == 0
    out = capsys.readouterr()
    assert "6 outputs (3 from cache, 3 generated)" in out.err and "RELEASE VERDICT: PASS" in out.out
    assert len(server.seen) == CASES  # the finished three were not asked again
    assert {r["status"] for r in _records(project.path / "r2.jsonl") if r["kind"] == "case"} == {"passed"}


def test_the_budget_through_the_pytest_plugin_and_ini(budgeted):
    project, server = budgeted
    result = project.runpytest("--llmeval-concurrency", "1", "-o", "llmeval_token_budget=40")
    result.assert_outcomes(passed=3, errors=3, failed=1)
    result.stdout.fnmatch_lines(["*run token budget of 40 tokens reached (45 spent): 3 requests not generated*"])
    project.makepyprojecttoml("[tool.llmeval]\ntoken_budget = 100\nconcurrency = 1\n")
    again = project.runpytest()
    again.assert_outcomes(passed=CASES + 1)
    assert len(server.seen) == CASES


def test_a_bad_budget_names_its_source(budgeted, capsys):
    assert main(["run", ".", "--token-budget", "0"]) == 4
    assert "the command line: token_budget must be a whole number of at least 1, got 0" in capsys.readouterr().err
