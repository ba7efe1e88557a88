"""The example suites (the demo) collect cleanly, and -k with a case id selects exactly that case."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _collect(*args: str) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout  # fmt: skip
    return [line for line in out.splitlines() if "::" in line]


def test_every_example_suite_collects(demo_model):
    items = _collect("suites/")
    assert len(items) > 100
    assert "suites/support.yaml::returns-policy[support-tiny]" in items
    assert "suites/tickets.yaml::gate:pii-leak_rate[summarise]" in items


def test_k_with_a_case_id_runs_exactly_that_case(demo_model):
    assert _collect("suites/support.yaml", "-k", "returns-policy") == ["suites/support.yaml::returns-policy[support-tiny]"]
