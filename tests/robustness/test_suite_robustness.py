"""The `robustness:` block end to end (llmeval run): shrinking finds the minimal breaking edit, in bounded passes."""

from __future__ import annotations

import json

import pytest

from llmeval.cli import main

# A planted weakness: the app answers only when the exact word "return" is in the prompt.
APP = """

def answer(prompt, vars):
    return "You have 30 days." if "return" in prompt.split() else "Sorry, I do not know."


def steady(prompt, vars):
    return "You have 30 days."
"""
SUITE = """suite: rob
model: python:app:{fn}
prompt: "Q: {{{{ question }}}}\\nA:"
defaults:
  scorers: [{{contains: "30 days"}}]
cases:
  - {{id: a, vars: {{question: "Can I return this?"}}}}
  - {{id: b, vars: {{question: "Please, may I return shoes?"}}}}
robustness: {{k: 8, seed: {seed}, var: question, min_edits: 4, max_edits: 4, kinds: [typo_delete, typo_double, case, whitespace]}}
gates:
  - {{metric: robustness, pass_rate: ">= 0.5"}}
"""


@pytest.fixture
def project(in_project):
    return in_project("app", APP)


def run(project, fn="answer", seed=0, cache="off"):
    project.makefile(".yaml", rob=SUITE.format(fn=fn, seed=seed))
    status = main(["run", ".", "--results", "r.jsonl", "-q", "--cache", cache])
    rows = [json.loads(line) for line in (project.path / "r.jsonl").read_text().splitlines()]
    return status, {r["case"]: r["scores"]["robustness"] for r in rows if r["kind"] == "case"}


def test_shrinking_finds_the_single_edit_to_the_weak_word(project):
    status, scores = run(project)
    assert status == 1
    for case in ("a", "b"):
        score = scores[case]
        assert not score["passed"] and score["value"] < 1
        minimal = score["metadata"]["minimal"]
        assert len(minimal["edits"]) == 1 and "'return' ->" in minimal["change"]
        assert "return" not in minimal["perturbed_prompt"].split() and "return" in minimal["original_prompt"]
        assert minimal["perturbed_output"] == "Sorry, I do not know."
        shrink = score["metadata"]["shrink"]
        assert (shrink["from_edits"], shrink["to_edits"]) == (4, 1)
        assert 1 <= shrink["plan_passes"] <= 3  # bounded: at most (edits - 1) rounds, all cases together
        assert shrink["requests"] <= shrink["candidates"]


def test_runs_are_reproducible_under_a_seed(project):
    first = run(project, seed=3)[1]
    assert run(project, seed=3)[1] == first
    other = run(project, seed=4)[1]
    assert [other[c]["metadata"]["minimal"]["perturbed_prompt"] for c in "ab"] != [
        first[c]["metadata"]["minimal"]["perturbed_prompt"] for c in "ab"
    ]


def test_a_robust_app_passes_and_the_cache_serves_a_second_run(project):
    status, scores = run(project, fn="steady", cache="on")
    assert status == 0 and scores["a"]["value"] == 1.0 and "minimal" not in scores["a"]["metadata"]
    assert run(project, fn="steady", cache="on")[1] == scores


def test_pytest_shows_the_minimal_break_side_by_side(project):
    project.makefile(".yaml", rob=SUITE.format(fn="answer", seed=0))
    result = project.runpytest("rob.yaml", "-p", "no:cacheprovider", "--llmeval-cache", "off")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "*FAIL robustness*minimal break:*'return' ->*",
            "*minimal break:*",
            "*original prompt:*Q: Can I return this?*",
            "*perturbed prompt:*",
            "*original output:*You have 30 days.*",
            "*perturbed output: Sorry, I do not know.*",
            "*shrunk 4 -> 1 edits in * plan passes*",
        ]
    )
