"""The hallucination bench's data: our seeded set is reproducible and balanced by kind; absent FaithBench skips cleanly."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from tests._scripts import load_script

data = load_script("bench/_halluc_data.py")
make = load_script("fixtures/hallucination/make_labeled.py")
bench = load_script("bench/hallucination_bench.py")


def test_own_set_is_the_seeded_script_output_and_has_every_kind():
    committed = [json.loads(line) for line in data.OWN.read_text().splitlines()]
    assert committed == make.build()
    kinds = Counter(row["kind"] for row in committed)
    assert len(committed) >= 200 and set(kinds) >= {"entity_swap", "number_change", "date_change", "addition", "negation"}
    assert sum(kinds[k] for k in kinds if k.startswith("paraphrase")) == 80


def test_absent_faithbench_is_none(tmp_path: Path):
    assert data.faithbench(tmp_path / "missing.jsonl") is None


def test_claim_labels_follow_annotated_spans():
    item = data.Item("b1-0", "src", "The fee is 30 dollars. It ships in 9 days.", 1, spans=((35, 36),))
    assert data.claim_labels(item, ["The fee is 30 dollars.", "It ships in 9 days."]) == [0, 1]


def test_threshold_is_chosen_to_maximise_balanced_accuracy():
    scores, labels = np.array([0.1, 0.2, 0.7, 0.9]), np.array([0, 0, 1, 1])
    assert 0.2 < bench.threshold_on(scores, labels) <= 0.7
