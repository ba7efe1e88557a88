"""`judge` and `hallucination: {method: judge}` with `python:` judges written here: votes, both orders, retries, cache."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from llmeval.scorers.base import Sample, build
from llmeval.scorers.batch import score_all
from llmeval.scorers.context import ScoringContext, default_context

JUDGE_APP = """
import json, os, re
LOG = os.path.join(os.path.dirname(__file__), "calls.log")

def _log(kind):
    with open(LOG, "a") as f:
        f.write(kind + "\\n")

def rate(prompt):
    _log("rate")
    answer = prompt.split("Answer to evaluate:")[1]
    return json.dumps({"score": 5 if "good" in answer else 2, "reason": "mentions good" if "good" in answer else "vague"})

def prefer(prompt):
    _log("prefer")
    a = prompt.split("Answer A:")[1].split("Answer B:")[0]
    return json.dumps({"winner": "A" if "good" in a else "B", "reason": "content"})

def first(prompt):
    _log("first")
    return '{"winner": "A", "reason": "always the first"}'

def garbage(prompt):
    _log("garbage")
    return "I think it is fine, maybe a 4?"

def claims(prompt):
    _log("claims")
    source = prompt.split("Source:")[1].split("Claims:")[0]
    lines = re.findall(r"^(\\d+)\\. (.*)$", prompt.split("Claims:")[1], re.M)
    verdicts = [{"claim": int(i), "supported": all(w in source for w in re.findall(r"\\d+", c)), "reason": "numbers"}
                for i, c in lines]
    return "```json\\n" + json.dumps({"verdicts": verdicts}) + "\\n```"
"""
_names = itertools.count()


@pytest.fixture
def app(tmp_path: Path) -> tuple[str, Path]:
    """A judge module of its own per test (a fresh module name, so the import is not shared)."""
    name = f"judge_app_{next(_names)}"
    (tmp_path / f"{name}.py").write_text(JUDGE_APP, encoding="utf-8")
    return name, tmp_path


def context(root: Path) -> ScoringContext:
    return default_context(root=root, threads=1, cache_dir=root / "cache")


def calls(root: Path) -> list[str]:
    log = root / "calls.log"
    return log.read_text().split() if log.exists() else []


SAMPLES = [
    Sample("a good answer", references=("a plain answer",), prompt="Q?"),
    Sample("a bad answer", references=("a good reference",), prompt="Q?"),
]


def test_rating_votes_spread_and_reasons(app):
    name, root = app
    scorer = build("judge", {"model": f"python:{name}:rate", "votes": 3, "min": 0.5})
    good, bad = scorer.score(SAMPLES, context(root))
    assert (good.value, bad.value) == (1.0, 0.25)
    assert good.metadata["votes"] == [5, 5, 5] and good.metadata["spread"] == 0
    assert good.passed and not bad.passed and "mentions good" in good.explanation
    assert calls(root).count("rate") == 6  # 2 samples x 3 votes, one plan call


def test_pairwise_judges_both_orders_and_reports_disagreement(app):
    name, root = app
    fair = build("judge", {"model": f"python:{name}:prefer", "mode": "pairwise"})
    win, loss = fair.score(SAMPLES, context(root))
    assert (win.value, loss.value) == (1.0, 0.0)
    assert win.metadata["order_disagreement"] == 0
    biased = build("judge", {"model": f"python:{name}:first", "mode": "pairwise"})
    (score, _) = biased.score(SAMPLES, context(root))
    assert score.value == 0.5 and score.metadata["order_disagreement"] == 1.0


def test_unparseable_output_is_an_error_after_bounded_retries(app):
    name, root = app
    scorer = build("judge", {"model": f"python:{name}:garbage", "retries": 2})
    (result,) = score_all([(scorer, SAMPLES[0])], context(root))
    assert type(result).__name__ == "ScoreError"
    assert "unparseable judge output" in result.message and "after 3 attempt(s)" in result.message
    assert calls(root).count("garbage") == 3


def test_warm_rerun_makes_no_judge_call(app):
    name, root = app
    scorer = build("judge", {"model": f"python:{name}:rate", "votes": 2})
    first = [s.value for s in scorer.score(SAMPLES, context(root))]
    assert len(calls(root)) == 4
    again = [s.value for s in scorer.score(SAMPLES, context(root))]  # a new context: a new run, same cache
    assert again == first and len(calls(root)) == 4


def test_hallucination_judge_method_per_claim_verdicts(app):
    name, root = app
    scorer = build("hallucination", {"method": "judge", "model": f"python:{name}:claims"})
    source = "The fee is 30 dollars. Delivery takes 5 days."
    out = "The fee is 30 dollars. Delivery takes 9 days."
    (score,) = scorer.score([Sample(out, context=(source,))], context(root))
    assert score.value == 0.5 and score.metadata["unsupported"] == ["Delivery takes 9 days."]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no json", "no JSON object"),
        ('{"score": 9}', "outside"),
        ('{"score": "high"}', "not a number"),
        ("{oops}", "invalid JSON"),
    ],
)
def test_rating_parser_rejects_with_a_reason(text, problem):
    from llmeval.judge.parse import rating

    with pytest.raises(ValueError, match=problem):
        rating(text, 1, 5)


def test_rating_parser_reads_json_inside_prose():
    from llmeval.judge.parse import rating

    found = rating('Sure! {"score": 4, "reason": "ok"} Hope this helps.', 1, 5)
    assert (found.score, found.reason) == (4.0, "ok")
