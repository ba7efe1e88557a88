"""Quality scorers: values equal direct sacrebleu / rouge-score calls; text checks pass and fail as documented."""

from __future__ import annotations

import math

import pytest

from llmeval import ScorerError, check, score
from llmeval.scorers import Sample, build

PAIRS = [
    ("You have 30 days to return an item.", ["You have 30 days to return an item for a full refund."]),
    ("Shipping is free.", ["Shipping is free on orders over 50 dollars.", "Free shipping over 50 dollars."]),
    ("completely unrelated words here", ["The parcel arrives in three days."]),
    ("The cats were running quickly", ["The cat runs quick"]),
]


@pytest.mark.parametrize(("hyp", "refs"), PAIRS)
@pytest.mark.parametrize("kind", ["bleu", "chrf", "ter"])
def test_sacrebleu_scores_match_direct_calls(kind, hyp, refs):
    from sacrebleu.metrics import BLEU, CHRF, TER

    metric = {"bleu": BLEU(effective_order=True), "chrf": CHRF(), "ter": TER()}[kind]
    expected = metric.sentence_score(hyp, refs)
    got = build(kind, {"min": 0})(Sample(hyp, tuple(refs)))
    assert got.value == pytest.approx(expected.score)
    assert got.signature == str(metric.get_signature())


@pytest.mark.parametrize(("hyp", "refs"), PAIRS)
@pytest.mark.parametrize("kind", ["rouge1", "rouge2", "rougeL", "rougeLsum"])
def test_rouge_matches_rouge_score_best_over_references(kind, hyp, refs):
    from rouge_score import rouge_scorer

    direct = rouge_scorer.RougeScorer([kind], use_stemmer=True)
    expected = max(direct.score(ref, hyp)[kind].fmeasure for ref in refs)
    got = build(kind, {"min": 0.5})(Sample(hyp, tuple(refs)))
    assert got.value == pytest.approx(expected)
    assert got.passed == (expected >= 0.5)
    assert "rouge-score" in got.signature


TEXT_CASES = [
    # scorer, params, output, references, passed
    ("exact", {}, " Paris ", ["Paris"], True),
    ("exact", {}, "paris", ["Paris"], False),
    ("exact", {"case_sensitive": False}, "paris", ["Paris"], True),
    ("exact", "Lyon", "Lyon", [], True),
    ("contains", "30 days", "within 30 days.", [], True),
    ("contains", {"value": ["30 days", "refund"], "mode": "all"}, "30 days only", [], False),
    ("contains", {"value": ["30 days", "refund"], "mode": "any"}, "30 days only", [], True),
    ("contains", {"value": "REFUND", "case_sensitive": False}, "a refund", [], True),
    ("excludes", ["password", "secret"], "no problem", [], True),
    ("excludes", ["password"], "the PASSWORD is", [], False),
    ("regex", r"\d+ days", "in 30 days", [], True),
    ("regex", {"pattern": r"\d+", "fullmatch": True}, "30 days", [], False),
    ("regex", {"pattern": "sorry", "ignore_case": True, "negate": True}, "Sorry!", [], False),
    ("json", {}, '{"a": 1}', [], True),
    ("json", {}, '```json\n{"a": 1}\n```', [], True),
    ("json", {}, "{a: 1}", [], False),
    ("json", {"schema": {"type": "object", "required": ["name"]}}, '{"a": 1}', [], False),
    ("json", {"schema": {"type": "object", "required": ["name"]}}, '{"name": "x"}', [], True),
    ("length", {"max": 3}, "one two three", [], True),
    ("length", {"max": 3}, "one two three four", [], False),
    ("length", {"min": 5, "unit": "chars"}, "abc", [], False),
]


@pytest.mark.parametrize(("name", "params", "output", "refs", "passed"), TEXT_CASES)
def test_text_scorers(name, params, output, refs, passed):
    result = build(name, params)(Sample(output, tuple(refs)))
    assert result.passed is passed, result.explanation
    assert result.explanation


def test_missing_reference_is_a_failure_with_a_reason():
    result = build("rougeL", {"min": 0.1})(Sample("text", ()))
    assert not result.passed and math.isnan(result.value)
    assert "no reference" in result.explanation


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("rouge_l", {}, "did you mean 'rougeL'"),
        ("contains", {"value": []}, "non-empty"),
        ("contains", {"value": "x", "mode": "some"}, 'mode: expected "all" \\| "any", got \'some\''),
        ("contains", {"value": "x", "mod": "any"}, "'mod' is not a parameter of 'contains' \\(did you mean 'mode'"),
        ("regex", {}, "'pattern' is required \\(string\\)"),
        ("length", {"max": "lots"}, "max: expected number \\| null, got 'lots'"),
        ("length", {}, "give min and/or max"),
        ("rougeL", 0.5, "takes a mapping"),
        ("json", {"schema": {"type": "nonsense"}}, "invalid JSON Schema"),
    ],
)
def test_bad_scorer_configuration_is_explained(name, params, message):
    with pytest.raises(ScorerError, match=message):
        build(name, params)


def test_check_raises_with_every_missed_threshold():
    with pytest.raises(AssertionError) as info:
        check("Shipping is free.", reference="You have 30 days to return an item.", rougeL={"min": 0.5}, contains="30 days")
    assert "rougeL" in str(info.value) and "contains" in str(info.value)
    assert score("30 days", contains="30 days")["contains"].passed


def test_similarity_ranks_paraphrase_above_unrelated():
    close = build("similarity", {"min": 0.5})(
        Sample("You can send items back within a month.", ("Returns are accepted for 30 days.",))
    )
    far = build("similarity", {"min": 0.5})(Sample("The weather is sunny in Spain.", ("Returns are accepted for 30 days.",)))
    assert close.value > far.value + 0.2
    assert close.passed and not far.passed
