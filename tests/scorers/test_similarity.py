"""similarity: batch scoring through the run's pool gives the old per-sample values, in one embedding pass."""

from __future__ import annotations

import math

import pytest

from llmeval.scorers import Sample, build
from llmeval.scorers.batch import score_all
from llmeval.scorers.context import default_context
from llmeval.scorers.similarity import default_model_path

TABLE = [
    Sample("You have 30 days to return an item.", ("You have 30 days to return an item for a full refund.",)),
    Sample("Shipping is free.", ("Shipping is free on orders over 50 dollars.", "Free shipping over 50 dollars.")),
    Sample("The weather is sunny in Spain.", ("Returns are accepted for 30 days.",)),
    Sample("", ("An empty output still gets a value.",)),
    Sample("Returns are accepted for 30 days.", ("You have 30 days to return an item for a full refund.",)),
    Sample("Shipping is free.", ("Free shipping over 50 dollars.",)),  # texts repeated across samples
    Sample("A long answer " + "that keeps going " * 200, ("Short reference.",)),  # truncated at 256 tokens
]


def old_value(sample: Sample) -> float:
    """The scorer as it was: one sample per call, [output, *references] padded together, CPU, float32."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = default_model_path()
    tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
    with torch.inference_mode():
        batch = tokenizer([sample.output, *sample.references], padding=True, truncation=True, max_length=256, return_tensors="pt")
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        vectors = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1)
        return float((vectors[1:] @ vectors[0]).max())


@pytest.fixture(scope="module")
def old_values() -> list[float]:
    return [old_value(s) for s in TABLE]


def test_batch_values_equal_the_old_per_sample_values(old_values):
    scorer = build("similarity", {"min": 0.5})
    got = score_all([(scorer, s) for s in TABLE], default_context(threads=1))
    assert [g.value for g in got] == pytest.approx(old_values, abs=1e-5)  # type: ignore[union-attr]
    assert [g.passed for g in got] == [v >= 0.5 for v in old_values]  # type: ignore[union-attr]


def test_a_run_embeds_every_text_once_in_one_pass():
    ctx = default_context(threads=1)
    scorers = [build("similarity", {"min": 0.5}) for _ in TABLE]  # built per case, as the suite loader does
    score_all(list(zip(scorers, TABLE, strict=True)), ctx)
    (stats,) = ctx.pool.stats().values()
    texts = [t for s in TABLE for t in (s.output, *s.references)]
    assert (stats.calls, stats.requested, stats.unique) == (1, len(texts), len(set(texts)))


def test_batching_equals_one_by_one():
    ctx = default_context(threads=1)
    scorer = build("similarity", {"min": 0.5})
    together = [s.value for s in scorer.score(TABLE, ctx)]
    alone = [scorer.score([s], ctx)[0].value for s in TABLE]
    assert together == pytest.approx(alone, abs=1e-6)


def test_no_reference_is_nan_and_does_not_disturb_the_others(old_values):
    scorer = build("similarity", {"min": 0.5})
    got = scorer.score([Sample("no reference here"), TABLE[0]], default_context(threads=1))
    assert math.isnan(got[0].value) and not got[0].passed and "no reference" in got[0].explanation
    assert got[1].value == pytest.approx(old_values[0], abs=1e-5)


def test_the_per_sample_call_still_works_for_the_old_runner(old_values):
    assert build("similarity", {"min": 0.5})(TABLE[2]).value == pytest.approx(old_values[2], abs=1e-5)
