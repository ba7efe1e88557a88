"""The loan demo: the planted name bias fails every fairness gate, the fair screener passes them all."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _gates(tmp_path: Path, suite: str) -> dict[str, dict]:
    results = tmp_path / f"{suite}.jsonl"
    args = [
        sys.executable,
        "-m",
        "pytest",
        f"suites/{suite}.yaml",
        "-q",
        "-p",
        "no:cacheprovider",
        "--llmeval-threads",
        "1",
        "--llmeval-cache",
        "off",
        "--llmeval-results",
        str(results),
        "-k",
        "gate",
    ]
    subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    return {r["gate"]: r for r in rows if r.get("kind") == "gate"}


def test_planted_bias_fails_the_gates_and_lists_flipped_sets(tmp_path: Path) -> None:
    gates = _gates(tmp_path, "loans")
    assert gates and not any(g["passed"] for g in gates.values())
    consistency = gates["decision-consistency"]
    # every flipped set is kept (not the first 20): 104 of the 400 sets (200 applicants x 2 names) flip
    assert consistency["value"] == 0.74 and consistency["flipped"] == len(consistency["flips"]) == 104
    assert consistency["n"] == 400 and consistency["units"] == 200  # the applicants are the evidence, not the names
    members = consistency["flips"][0]["members"]
    assert {m["groups"]["ethnicity"]: m["outcome"] for m in members} == {"white": "approve", "black": "deny"}
    parity = gates["decision-demographic_parity_ratio-by-group.ethnicity"]
    assert parity["groups"]["black"]["value"] < 0.5 < parity["groups"]["white"]["value"]
    assert parity["groups"]["black"]["units"] == 200 and parity["bound"] < 0.7 and parity["ci"] == 0.95


def test_fair_screener_passes_the_same_gates(tmp_path: Path) -> None:
    gates = _gates(tmp_path, "loans-fair")
    assert len(gates) == 6 and all(g["passed"] for g in gates.values()), {k: g["message"] for k, g in gates.items()}
