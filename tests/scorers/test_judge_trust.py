"""Judges must earn trust: a pairwise judge whose orders disagree, or a rubric judge whose votes scatter, beyond
its limit over a suite's outputs on one model is not evidence — those outputs error ("judge unreliable: ...")."""

from __future__ import annotations

import json
import re

import pytest

from llmeval.cli import main
from llmeval.reporting import case_table
from llmeval.scorers.base import Sample, build

JUDGES = """
import json, re
from itertools import count

_votes = count()

def first(prompt):
    return '{"winner": "A", "reason": "the first answer reads better"}'

def fair(prompt):
    a = prompt.split("Answer A:")[1].split("Answer B:")[0]
    return json.dumps({"winner": "A" if "correct" in a else "B", "reason": "content"})

def fair_but_q3(prompt):
    return first(prompt) if "question 3" in prompt else fair(prompt)

def steady(prompt):
    return '{"score": 2, "reason": "steady"}'

def scattered(prompt):
    return json.dumps({"score": [1, 5, 3][next(_votes) % 3], "reason": "moody"})
"""
BOT = "def wrong(prompt, vars):\n    return 'I have no idea.'\n"
SUITE = """\
suite: judged
model: python:trust_bot:wrong
prompt: "question {{{{ n }}}}"
defaults:
  scorers:
    - judge: {{model: "python:trust_judges:{judge}", {options}}}
cases:
{cases}
gates:
  - {{metric: judge, mean: ">= 0.4"}}
"""
CASES = "\n".join(f"  - {{id: q{n}, vars: {{n: {n}}}, reference: 'the correct answer {n}'}}" for n in range(1, 11))


@pytest.fixture
def project(in_project):
    project = in_project("trust_bot", BOT)
    project.makepyfile(trust_judges=JUDGES)
    return project


def _run(project, judge: str, options: str) -> tuple[int, list[dict]]:
    project.makefile(".yaml", judged=SUITE.format(judge=judge, options=options, cases=CASES))
    code = main(["run", "judged.yaml", "--results", "r.jsonl", "--html", "r.html", "-q", "--cache", "off"])
    rows = [json.loads(line) for line in (project.path / "r.jsonl").read_text().splitlines()]
    return code, [r for r in rows if r["kind"] == "case"]


def test_a_judge_that_always_prefers_the_first_answer_is_no_evidence(project):
    code, cases = _run(project, "first", "mode: pairwise")
    assert code == 1  # was exit 0: ten 0.5 "wins" passed mean >= 0.4 for a bot wrong on every answer
    reason = "judge unreliable: order disagreement 100% over 10 outputs (limit max_order_disagreement 20%"
    assert [c["status"] for c in cases] == ["error"] * 10
    assert all(c["error"].startswith(reason) for c in cases), cases[0]["error"]
    html = (project.path / "r.html").read_text()
    table = case_table.decode(re.search(r'id="llmeval-cases">([A-Za-z0-9+/=]+)</script>', html)[1])
    assert "judge unreliable: order disagreement 100%" in json.dumps(table)


def test_a_fair_judge_fails_the_wrong_bot_and_keeps_a_rare_disagreement_as_a_tie(project):
    code, cases = _run(project, "fair_but_q3", "mode: pairwise")
    assert code == 1 and all(c["error"] is None for c in cases)
    values = {c["case"]: c["scores"]["judge"]["value"] for c in cases}
    assert values["q3"] == 0.5 and {v for k, v in values.items() if k != "q3"} == {0.0}


def test_the_limit_is_a_parameter(project):
    _, cases = _run(project, "fair_but_q3", "mode: pairwise, max_order_disagreement: 0.05")
    assert all(c["error"].startswith("judge unreliable: order disagreement 10% over 10 outputs") for c in cases)


def test_a_rubric_judge_whose_votes_scatter_is_no_evidence(project):
    _, cases = _run(project, "scattered", "votes: 3")
    reason = "judge unreliable: vote spread 100% of the scale over 10 outputs (limit max_vote_spread 25%"
    assert all(c["error"].startswith(reason) for c in cases), cases[0]["error"]
    _, steady = _run(project, "steady", "votes: 3")
    assert all(c["error"] is None and c["scores"]["judge"]["value"] == 0.25 for c in steady)


def test_pytest_shows_the_reason_on_each_case(project):
    project.makefile(".yaml", judged=SUITE.format(judge="first", options="mode: pairwise", cases=CASES))
    result = project.runpytest("-p", "no:cacheprovider", "--llmeval-cache", "off")
    result.assert_outcomes(errors=10, failed=1)
    result.stdout.fnmatch_lines(["*judge unreliable: order disagreement 100% over 10 outputs*"])


def test_one_sample_scored_alone_is_audited_too(project):
    judge = build("judge", {"model": "python:trust_judges:first", "mode": "pairwise"})
    with pytest.raises(ValueError, match="judge unreliable: order disagreement 100% over 1 output"):
        judge(Sample("I have no idea.", references=("the correct answer",), prompt="q"))


@pytest.mark.parametrize("option", ["max_order_disagreement", "max_vote_spread"])
def test_limits_outside_0_1_are_refused(option):
    from llmeval.errors import ScorerError

    with pytest.raises(ScorerError, match=f"{option} must be between 0 and 1"):
        build("judge", {"model": "python:x:y", option: 1.5})


@pytest.mark.parametrize(("flips", "refused"), [(0, False), (2, False), (3, True), (10, True)])
def test_the_rule_is_the_observed_rate_against_the_limit(flips, refused):
    from llmeval.scorers.base import Score, Threshold

    judge = build("judge", {"model": "python:x:y", "mode": "pairwise"})
    scores = [Score("judge", 0.5, Threshold(), True, metadata={"order_disagreement": float(i < flips)}) for i in range(10)]
    assert (judge.audit(scores) is not None) == refused  # 2 of 10 is exactly the 20% limit: kept
