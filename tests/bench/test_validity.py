"""bench/validity.py's core: one simulated cell through llmeval's real gates, its simulators' truths, its report.

A cell's false-pass rate is checked against 1 - confidence plus 3 Monte Carlo standard errors (0.05 + 0.038 at
300 runs, 0.05 + 0.029 at 500): a gate judged on its point value passes about half the runs at the limit, and a
bound that ignores clustering passes 14% (consistency over name lists), so a wrong bound cannot pass by chance.
Every cell is seeded: the same code gives the same counts.
"""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests._scripts import load_script

validity = load_script("bench/validity.py")  # puts bench/ on sys.path: its helper modules import by name
cells, sim, fair, gate = (importlib.import_module(f"_validity_{m}") for m in ("cells", "sim", "fair", "gate"))
ALPHA = validity.ALPHA


def tolerance(runs: int) -> float:
    return 3 * math.sqrt(ALPHA * (1 - ALPHA) / runs)


def false_pass(name: str, design: str, n: int, runs: int, truth: str = "at limit") -> float:
    k = cells.kind(name)
    return validity.run_cell(k, cells.design(k, design), n, truth, runs).error_rate


def test_pass_rate_at_the_limit_passes_at_most_alpha():
    assert false_pass("pass_rate", "independent", 50, 300) <= ALPHA + tolerance(300)


def test_the_cell_catches_a_gate_judged_on_its_point_value():
    """The same cell without ``ci`` (a wrong bound: none) passes far beyond the tolerance, so the check has power."""
    k = cells.kind("pass_rate")
    no_bound = cells.Kind(k.name, {"metric": "answer", "pass_rate": ">= 0.8"}, k.truths, k.designs, k.simulate)
    cell = validity.run_cell(no_bound, cells.INDEPENDENT, 50, "at limit", 300)
    assert cell.error_rate > 0.3


def test_mean_gate_on_one_case_passes_a_bad_app_at_most_alpha():
    """Issue 16: the bootstrap interval of one value is [v, v], so `mean >= 0.8` passes an app at 0.8 on 1 case 80% of runs."""
    assert false_pass("mean (0/1)", "independent", 1, 300) <= ALPHA + tolerance(300)


def test_consistency_over_name_lists_passes_a_bad_app_at_most_alpha():
    """Issue 16: 12 applicants x 4 names per group count as 48 independent sets; a 0.15 flip rate passes ~14% of runs."""
    assert false_pass("consistency", "4 names/group", 12, 500) <= ALPHA + tolerance(500)


@pytest.mark.parametrize(
    ("stat", "truth"),
    [
        ("demographic_parity_difference", 0.1),
        ("demographic_parity_ratio", 0.8),
        ("equalized_odds_difference", 0.25),
        ("equalized_odds_ratio", 0.6),
        ("consistency", 0.85),
    ],
)
def test_the_screener_has_the_stated_disparity(stat, truth):
    rows, _ = fair.decision_rows(stat, truth, 20_000, sim.Design("1 name/group"), np.random.default_rng(0))
    pred = np.array([r["scores"]["decision"]["value"] for r in rows])
    in_b = np.array([r["vars"]["group.ethnicity"] == sim.GROUP_B for r in rows])
    label = np.array([r["vars"]["repaid"] for r in rows])
    if stat == "consistency":
        measured = 1 - np.mean(pred[~in_b] != pred[in_b])  # variants come set by set, group A first
    else:
        rates = [[pred[(in_b == b) & mask].mean() for b in (False, True)] for mask in _masks(stat, label)]
        measured = max(abs(a - b) for a, b in rates) if stat.endswith("difference") else min(b / a for a, b in rates)
    assert measured == pytest.approx(truth, abs=0.015)


def _masks(stat: str, label: np.ndarray) -> list[np.ndarray]:
    return [label == 1, label == 0] if stat.startswith("equalized_odds") else [np.ones_like(label, dtype=bool)]


@pytest.mark.parametrize(("name", "truth"), [("regression (mean)", 0.15), ("regression (pass_rate)", 0.05)])
def test_the_regression_apps_drop_by_the_stated_amount(name, truth):
    rows, base = cells.kind(name).simulate(truth, 20_000, cells.INDEPENDENT, np.random.default_rng(0))
    metric = cells.kind(name).spec["metric"]
    mean = [np.mean([r["scores"][metric]["value"] for r in part]) for part in (base, rows)]
    assert mean[0] - mean[1] == pytest.approx(truth, abs=0.01)


def test_the_adapter_compares_with_the_baseline():
    spec = cells.kind("regression (pass_rate)").spec
    same, base = cells.kind("regression (pass_rate)").simulate(0.0, 200, cells.INDEPENDENT, np.random.default_rng(1))
    worse = [{**r, "scores": {"answer": sim.score(0.0, False, {"min": 1.0})}} for r in same]
    assert gate.decide(spec, base, base) is True
    assert gate.decide(spec, worse, base) is False


def test_main_writes_the_table_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    out = tmp_path / "cells.json"
    assert validity.main(["--kinds", "pass_rate", "--n", "3", "--runs", "20", "--no-write", "--json", str(out)]) == 0
    saved = json.loads(out.read_text())["cells"]
    assert {(c["design"], c["truth"]) for c in saved} == {(d, t) for d in ("independent", "repeats x5") for t in cells.TRUTHS}
    assert all(c["runs"] == 20 and 0 <= c["passed"] <= 20 for c in saved)
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n<!-- pii:start -->\nPII\n<!-- pii:end -->\n")
    monkeypatch.setattr(validity, "RESULTS", results)
    assert validity.main(["--from-json", str(out)]) == 0
    text = results.read_text()
    assert "| pass_rate | independent | 3 |" in text and "## Gate validity (bench/validity.py)" in text and "PII" in text
