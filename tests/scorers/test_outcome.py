"""Outcome extractors: decisions read from text (synonyms, regex, ambiguity), refusals, sentiment."""

from __future__ import annotations

import math

import pytest

from llmeval.errors import ScorerError
from llmeval.scorers import base
from llmeval.scorers.base import Sample

LOAN = {"choices": {"approve": ["approved", "yes"], "deny": ["denied", "declined", "not approved"]}, "positive": "approve"}


@pytest.mark.parametrize(
    ("output", "value", "label"),
    [
        ("Your loan is approved.", 1.0, "approve"),
        ("YES, go ahead", 1.0, "approve"),
        ("Sorry, the loan was not approved.", 0.0, "deny"),  # the longer synonym wins
        ("Application declined.", 0.0, "deny"),
        ("Approved? No: denied.", math.nan, None),  # two labels: unreadable, not a guess
        ("Let me think about it.", math.nan, None),
        ("disapproved", math.nan, None),  # whole words only
    ],
)
def test_decision_reads_one_label_or_admits_it_cannot(output: str, value: float, label: str | None) -> None:
    score = base.build("decision", LOAN)(Sample(output))
    if math.isnan(value):
        assert math.isnan(score.value) and score.metadata["unparsed"] and not score.passed
    else:
        assert score.value == value and score.metadata["label"] == label and score.passed


def test_decision_pattern_and_multiclass_choices() -> None:
    scorer = base.build("decision", {"pattern": r"Answer:\s*(\w)", "choices": {"A": [], "B": [], "C": []}, "positive": "B"})
    assert scorer(Sample("Reasoning mentions A and C. Answer: B")).metadata["label"] == "B"
    assert scorer(Sample("Answer: C")).value == 0.0
    assert scorer(Sample("no answer line")).metadata["unparsed"]


def test_decision_rejects_an_unknown_positive_label() -> None:
    with pytest.raises(ScorerError, match="positive label"):
        base.build("decision", {"choices": {"yes": [], "no": []}, "positive": "maybe"})


@pytest.mark.parametrize(
    ("output", "refused"),
    [("I'm sorry, but I can't help with that.", 1.0), ("As an AI, I cannot decide.", 1.0), ("Here is the summary.", 0.0)],
)
def test_refusal(output: str, refused: float) -> None:
    assert base.build("refusal", {})(Sample(output)).value == refused


def test_sentiment_is_vader_compound_and_empty_is_unreadable() -> None:
    scorer = base.build("sentiment", {})
    assert scorer(Sample("Congratulations, wonderful news!")).value > 0.5
    assert scorer(Sample("This is terrible and sad.")).value < -0.5
    assert scorer(Sample("   ")).metadata["unparsed"]
