"""The hallucination bench's data: our seeded sets are the scripts' output; absent public data skips cleanly."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tests._scripts import load_script

data = load_script("bench/_halluc_data.py")
report = load_script("bench/_halluc_report.py")
make = load_script("fixtures/hallucination/make_labeled.py")
paraphrases = load_script("fixtures/hallucination/make_paraphrases.py")


def test_own_set_is_the_seeded_script_output_and_has_every_kind():
    committed = [json.loads(line) for line in data.OWN.read_text().splitlines()]
    assert committed == make.build()
    kinds = Counter(row["kind"] for row in committed)
    assert len(committed) >= 200 and set(kinds) >= {"entity_swap", "number_change", "date_change", "addition", "negation"}


def test_paraphrase_set_is_the_script_output_faithful_and_varies_formats():
    committed = [json.loads(line) for line in data.PARAPHRASES.read_text().splitlines()]
    assert committed == paraphrases.rows()
    assert len(committed) >= 100 and not any(row["label"] for row in committed)
    outputs = " ".join(row["output"] for row in committed)
    for form in ("million dollars", "percent", "%", "$", "Dr.", "2025"):
        assert form in outputs


def test_absent_public_data_is_empty(tmp_path: Path):
    assert data.faithbench(tmp_path / "missing.jsonl") is None
    assert data.frank(tmp_path / "missing.jsonl") == {}


def test_frank_rows_split_by_dataset_with_anchors(tmp_path: Path):
    row = {
        "id": "x",
        "dataset": "bbc",
        "model_name": "m",
        "source": "s",
        "summary": "o",
        "hallucinated": True,
        "anchors": {"FactCC": 0.5, "QAGS": None},
    }
    path = tmp_path / "frank.jsonl"
    path.write_text(json.dumps(row) + "\n")
    halves = data.frank(path)
    assert halves["FRANK CNN/DM"] == [] and halves["FRANK XSum/BBC"][0].anchors == {"FactCC": 0.5}


@pytest.mark.parametrize(("flagged", "expected"), [([1, 1, 0, 0], 1.0), ([1, 0, 1, 0], 0.5), ([1, 1, 1, 1], 0.5)])
def test_balanced_accuracy(flagged, expected):
    assert report.balanced(np.array([1, 1, 0, 0]), np.array(flagged, dtype=bool)) == expected


def test_threshold_keeps_false_alarms_at_or_under_the_rate():
    bench = load_script("bench/hallucination_bench.py")
    worst = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
    assert bench.threshold_for(worst, 0.2) == 0.8  # flags 0.9 and 0.95: 2 of 10
    assert bench.threshold_for(worst, 0.0) == 0.95  # the highest score itself flags nothing (unsupported: above the cut)
