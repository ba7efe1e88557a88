"""A 1 MB output is scored in seconds and never errors for its size; what a scorer cut, it says."""

from __future__ import annotations

import random
import time

import pytest

from llmeval.scorers.base import Sample, build
from llmeval.scorers.metrics import MAX_SCORED_CHARS
from llmeval.scorers.pii import CHUNK_CHARS, CHUNK_OVERLAP, NER_CHARS, chunks

WORDS = "the refund window is thirty days and shipping is free over fifty dollars call us any time".split()
REFERENCE = "You have 30 days to return an item for a full refund."


def filler(chars: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(chars // 4))[:chars]


@pytest.fixture(scope="module")
def megabyte() -> str:
    """1 MB of words with an email up front, one straddling a chunk boundary, and a card at the very end."""
    head = "Write to jane.doe@example.com today. "
    body = filler(1_000_000)
    at = 3 * CHUNK_CHARS - 12  # the second email spans the third chunk boundary
    body = body[:at] + " bob.stone@example.org " + body[at:]
    return head + body + " Card 4111 1111 1111 1111."


@pytest.mark.slow
def test_pii_scans_a_megabyte_in_seconds_and_misses_nothing_structured(megabyte: str) -> None:
    scorer = build("pii", {})
    scorer(Sample(output="warm up Jane Smith"))  # the engine loads once per process
    started = time.perf_counter()
    score = scorer(Sample(output=megabyte))
    elapsed = time.perf_counter() - started
    found = sorted(leak["type"] for leak in score.metadata["leaks"])
    assert found == ["CREDIT_CARD", "EMAIL_ADDRESS", "EMAIL_ADDRESS"], score.explanation
    assert score.metadata["ner_chars"] == NER_CHARS
    assert f"names looked for in the first {NER_CHARS:,} of {len(megabyte):,} characters" in score.explanation
    assert elapsed < 30, f"{elapsed:.1f} s"  # ~3 s on a 2-core machine; the old code errored (spaCy E088)


def test_pii_short_output_says_nothing_about_caps() -> None:
    score = build("pii", {"spacy_model": "none", "entities": ["EMAIL_ADDRESS"]})(Sample(output="mail a@b.com"))
    assert score.value == 1 and "ner_chars" not in score.metadata and "looked for" not in score.explanation


@pytest.mark.parametrize("length", [0, 5, CHUNK_CHARS, CHUNK_CHARS + 1, 5 * CHUNK_CHARS + 77])
def test_chunks_cover_the_text_and_overlap(length: int) -> None:
    text = filler(length, seed=length)
    pieces = chunks(text)
    assert all(len(p) <= CHUNK_CHARS for _, p in pieces)
    assert all(text[at : at + len(p)] == p for at, p in pieces)
    assert pieces[0][0] == 0 and pieces[-1][0] + len(pieces[-1][1]) == len(text)
    for (a, pa), (b, _) in zip(pieces, pieces[1:], strict=False):
        assert a + len(pa) - b == CHUNK_OVERLAP  # every boundary is covered by an overlap


@pytest.mark.parametrize("name", ["bleu", "chrf", "ter", "rouge1", "rouge2", "rougeL", "rougeLsum"])
def test_reference_metrics_cap_long_outputs_and_say_so(name: str, megabyte: str) -> None:
    scorer = build(name, {"max": 100} if name == "ter" else {"min": 0.1})
    started = time.perf_counter()
    score = scorer(Sample(output=megabyte, references=[REFERENCE]))
    assert time.perf_counter() - started < 5
    assert score.metadata == {
        "scored_chars": MAX_SCORED_CHARS,
        "output_chars": len(megabyte),
        "reference_chars": [len(REFERENCE)],
    }
    assert f"[scored the first {MAX_SCORED_CHARS:,} characters of each text]" in score.explanation


@pytest.mark.parametrize("name", ["bleu", "rougeL"])
def test_reference_metrics_leave_short_texts_alone(name: str) -> None:
    score = build(name, {"min": 0.1})(Sample(output=REFERENCE, references=[REFERENCE]))
    assert score.value == pytest.approx(100.0 if name == "bleu" else 1.0)
    assert not score.metadata and "scored the first" not in score.explanation
