"""Regression guard: the pattern-only detector on the held-out set (fixtures/pii/heldout.jsonl) keeps its figures.

The floors are the figures reached after the held-out fixes (all 1.000, 0% hard negatives flagged) minus a small
margin; see bench/RESULTS.md. The set is no longer blind, so these guard regressions, they do not estimate quality.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from llmeval import pii
from tests._scripts import load_script

OPTIONS = {"spacy_model": pii.PATTERN_ONLY, "entities": list(pii.STRUCTURED_ENTITIES)}
MIN_STRUCTURED_RECALL = 0.98
MIN_STRUCTURED_PRECISION = 0.98
MIN_TYPE_RECALL = 0.9  # per type: the smallest type (IP, 16 spans) may lose one span
MAX_HARD_NEGATIVE_RATE = 0.02


@pytest.fixture(scope="module")
def scored() -> tuple[dict[str, Counter], float]:
    """Per-type counts and the hard-negative flag rate of pattern-only mode on the held-out set."""
    bench = load_script("bench/pii_bench.py")
    return bench.evaluate(bench.load(bench.HELDOUT), OPTIONS)


def _rate(c: Counter, kind: str) -> float:
    denom = c["tp"] + c[kind]
    return c["tp"] / denom if denom else 1.0


def test_heldout_file_matches_its_generator():
    module = load_script("fixtures/pii/make_heldout.py")
    on_disk = [json.loads(line) for line in module.OUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert on_disk == module.rows(), "heldout.jsonl is stale: run .venv/bin/python fixtures/pii/make_heldout.py"


def test_structured_recall_and_precision_hold(scored):
    counts, _ = scored
    total = sum(counts.values(), Counter())
    assert _rate(total, "fn") >= MIN_STRUCTURED_RECALL
    assert _rate(total, "fp") >= MIN_STRUCTURED_PRECISION


@pytest.mark.parametrize("entity", pii.STRUCTURED_ENTITIES)
def test_each_structured_type_keeps_its_recall(scored, entity):
    counts, _ = scored
    assert _rate(counts[entity], "fn") >= MIN_TYPE_RECALL, counts[entity]


def test_hard_negatives_stay_quiet(scored):
    _, rate = scored
    assert rate <= MAX_HARD_NEGATIVE_RATE
