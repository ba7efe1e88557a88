"""The `same_label` and `similarity` relations judge (original, perturbed) output pairs in one batch."""

from __future__ import annotations

import pytest

from llmeval.robustness.relations import Pair, Relation
from llmeval.scorers import Sample
from llmeval.scorers.context import default_context


def _pairs(*outputs: tuple[str, str]) -> list[Pair]:
    return [Pair(Sample(a, (), "q"), Sample(b, (), "q typo"), ()) for a, b in outputs]


def test_same_label_compares_the_extracted_label_not_the_wording():
    relation = Relation.parse({"relation": "same_label", "labels": ["approve", "deny"]})
    verdicts = relation.holds(
        _pairs(("We approve the refund.", "Approve: yes, refund granted"), ("We approve it.", "We deny it.")), None
    )
    assert verdicts == [True, False]
    assert relation.describe() == "the extracted label stays the same"


def test_same_label_without_labels_compares_normalised_outputs():
    relation = Relation.parse({"relation": "same_label"})
    assert relation.holds(_pairs(("Thirty days.", "  thirty DAYS. "), ("Thirty days.", "Ten days.")), None) == [True, False]


@pytest.fixture(scope="module")
def ctx():
    return default_context(threads=1)


def test_similarity_holds_for_a_paraphrase_and_breaks_for_another_answer(ctx):
    relation = Relation.parse({"relation": "similarity", "min_similarity": 0.7})
    verdicts = relation.holds(
        _pairs(
            ("You have 30 days to return an item.", "You have thirty days to return an item."),
            ("You have 30 days to return an item.", "Our shop opens at nine on weekdays."),
        ),
        ctx,
    )
    assert verdicts == [True, False]
