"""The Python API: assert_robust batches through the engine and shrinks; given_perturbations wraps @given."""

from __future__ import annotations

import pytest

from llmeval.robustness import TYPO_KINDS
from llmeval.robustness.api import assert_robust, check_robust, given_perturbations

APP = """
def answer(prompt, vars):
    return "You have 30 days." if "return" in prompt.split() else "Sorry."


def steady(prompt, vars):
    return "You have 30 days."
"""


@pytest.fixture
def project(in_project):
    return in_project("robapp", APP)


def has_30_days(out: str) -> bool:
    return "30 days" in out


def test_check_robust_finds_and_shrinks_the_weak_word(project):
    score = check_robust(
        "python:robapp:answer",
        "Can I return it?",
        has_30_days,
        template="Q: {}",
        kinds=TYPO_KINDS,
        max_edits=3,
        k=8,
        cache_dir=None,
    )
    assert not score.passed
    minimal = score.metadata["minimal"]
    assert len(minimal["edits"]) == 1 and "'return' ->" in minimal["change"]
    assert minimal["original_prompt"] == "Q: Can I return it?"
    with pytest.raises(AssertionError, match="perturbed_prompt"):
        assert_robust("python:robapp:answer", "Can I return it?", has_30_days, kinds=TYPO_KINDS, cache_dir=None)


def test_assert_robust_passes_a_robust_app(project):
    assert assert_robust("python:robapp:steady", "Can I return it?", has_30_days, cache_dir=None).value == 1.0


def test_given_perturbations_runs_a_seeded_hypothesis_test_with_its_database_under_llmeval(project):
    seen = []

    @given_perturbations("Can I return it?", TYPO_KINDS, max_examples=10)
    def check(perturbed):
        seen.append(perturbed.text)
        assert perturbed.text != perturbed.original or not perturbed.edits

    check()
    first = list(seen)
    seen.clear()
    check()
    assert seen == first and len(set(first)) > 1

    @given_perturbations("Can I return it?", TYPO_KINDS, max_examples=50, seed=None)
    def weak(perturbed):
        assert "return" in perturbed.text.split()

    with pytest.raises(AssertionError):
        weak()
    assert any((project.path / ".llmeval" / "hypothesis").iterdir())
