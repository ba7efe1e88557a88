"""`llmeval judge-agreement`: kappa and accuracy against human labels, on hand-computed tables."""

from __future__ import annotations

import json

import pytest

from llmeval.cli import main
from llmeval.judge.agreement import agreement


@pytest.mark.parametrize(
    ("human", "judge", "accuracy", "kappa"),
    [
        ([1, 1, 0, 0], [1, 1, 0, 0], 1.0, 1.0),
        ([1, 1, 0, 0], [0, 0, 1, 1], 0.0, -1.0),
        ([1, 1, 1, 0, 0, 0, 1, 0], [1, 1, 0, 0, 0, 1, 1, 0], 0.75, 0.5),
        ([1, 1, 1, 1], [1, 1, 1, 1], 1.0, 1.0),
    ],
)
def test_kappa_and_accuracy(human, judge, accuracy, kappa):
    found = agreement({str(i): bool(h) for i, h in enumerate(human)}, {str(i): bool(j) for i, j in enumerate(judge)})
    assert (found.accuracy, found.kappa) == pytest.approx((accuracy, kappa))


def test_cli_reads_labels_and_results(tmp_path, capsys):
    (tmp_path / "labels.csv").write_text("case,label\na,pass\nb,fail\nc,pass\nz,fail\n")
    rows = [
        {"kind": "case", "suite": "s", "case": c, "scores": {"judge": {"value": 1, "passed": p}}}
        for c, p in (("a", True), ("b", True), ("c", True))
    ] + [{"kind": "gate", "suite": "s"}]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["judge-agreement", str(tmp_path / "labels.csv"), str(tmp_path / "r.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "3 case(s), accuracy 66.7%, Cohen's kappa 0.000" in out and "1 labeled case(s) not in the results" in out
    (tmp_path / "bad.csv").write_text("case,label\na,maybe\n")
    assert main(["judge-agreement", str(tmp_path / "bad.csv"), str(tmp_path / "r.jsonl")]) == 2
