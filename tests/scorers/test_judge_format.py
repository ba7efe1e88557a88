"""An `hf:` judge held to its verdict format: the random tiny model's verdicts parse; unconstrained they do not.

The tiny model is untrained, so every parseable verdict below is the grammar's doing, and every
unparseable one must end as an error on its case (never a 0 or NaN score).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmeval.scorers.base import Sample, build
from llmeval.scorers.batch import score_all
from llmeval.scorers.context import default_context

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = [
    Sample("You have 30 days to return an item.", references=("30 days for a full refund.",), prompt="Returns?"),
    Sample("We ship to 40 countries.", references=("We ship worldwide.",), prompt="Do you ship abroad?"),
    Sample("Call us.", references=("Email support@example.com.",), prompt="How do I reach you?"),
]
SOURCE = "The fee is 30 dollars. Delivery takes 5 days. Returns are free."


def _score(scorer, samples, root):
    return score_all([(scorer, s) for s in samples], default_context(root=root, threads=1, cache_dir=root / "cache"))


@pytest.mark.parametrize("options", [{"votes": 1}, {"votes": 2}, {"mode": "pairwise"}])
def test_a_constrained_hf_judge_always_answers_in_range(tiny_model, tmp_path, options):
    scorer = build("judge", {"model": f"hf:{tiny_model}", **options})
    results = _score(scorer, SAMPLES, tmp_path)
    assert all(type(r).__name__ == "Score" and 0.0 <= r.value <= 1.0 for r in results), results


def test_the_same_judge_unconstrained_is_an_error_never_a_score(tiny_model, tmp_path):
    scorer = build("judge", {"model": f"hf:{tiny_model}", "constrain": False, "retries": 1})
    results = _score(scorer, SAMPLES, tmp_path)
    assert [type(r).__name__ for r in results] == ["ScoreError"] * 3
    assert all("unparseable judge output" in r.message for r in results)


def test_hallucination_verdicts_from_a_constrained_hf_judge(tiny_model, tmp_path):
    outputs = [
        "The fee is 30 dollars.",
        "The fee is 30 dollars. Delivery takes 9 days.",
        "Returns are free. It ships today. Fees vary.",
    ]
    samples = [Sample(o, context=(SOURCE,)) for o in outputs]
    scorer = build("hallucination", {"method": "judge", "model": f"hf:{tiny_model}"})
    results = _score(scorer, samples, tmp_path)
    assert all(type(r).__name__ == "Score" for r in results), results
    assert [r.metadata["claims"] for r in results] == [1, 2, 3]
    free = build("hallucination", {"method": "judge", "model": f"hf:{tiny_model}", "constrain": False, "retries": 0})
    assert {type(r).__name__ for r in _score(free, samples, tmp_path)} == {"ScoreError"}


SUITE = """
suite: judged-by-a-tiny-model
model: python:judged_app:answer
prompt: "Q: {{{{ question }}}}"
defaults:
  scorers:
    - judge: {{model: "hf:{model}", constrain: {constrain}, retries: 1}}
cases:
  - {{id: returns, vars: {{question: "How long do I have to return an item?"}}, reference: "30 days."}}
  - {{id: shipping, vars: {{question: "Do you ship abroad?"}}, reference: "Yes, worldwide."}}
  - {{id: contact, vars: {{question: "How do I reach you?"}}, reference: "By email."}}
"""


def _suite_errors(tmp_path: Path, tiny_model: Path, constrain: bool) -> list[str | None]:
    work = tmp_path / str(constrain)
    work.mkdir()
    (work / "judged_app.py").write_text("def answer(prompt):\n    return 'We answer: ' + prompt[3:]\n")
    (work / "suite.yaml").write_text(SUITE.format(model=tiny_model, constrain=str(constrain).lower()))
    results = work / "results.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}  # this checkout's llmeval, not an installed one
    subprocess.run(
        [
            sys.executable,
            "-m",
            "llmeval",
            "run",
            "suite.yaml",
            "--results",
            str(results),
            "-q",
            "--threads",
            "1",
            "--cache",
            "off",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    return [r["error"] for r in rows if r["kind"] == "case"]


def test_a_judge_suite_on_an_hf_judge_has_no_parse_errors_only_when_constrained(tiny_model, tmp_path):
    assert _suite_errors(tmp_path, tiny_model, True) == [None, None, None]
    errors = _suite_errors(tmp_path, tiny_model, False)
    assert len(errors) == 3 and all(e and "unparseable judge output" in e for e in errors), errors
