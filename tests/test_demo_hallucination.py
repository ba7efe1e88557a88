"""The hallucination demo suites catch what they should: invented summaries and RAG answers, not faithful ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "fixtures"))

from build_models import HELD_OUT_ARTICLES  # noqa: E402


def _run(tmp_path: Path, suite: str) -> dict[str, bool]:
    results = tmp_path / "r.jsonl"
    subprocess.run(
        [sys.executable, "-m", "llmeval", "run", suite, "--results", str(results), "-q", "--threads", "1", "--cache", "off"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    return {r["case"]: r["scores"]["hallucination"]["passed"] for r in rows if r["kind"] == "case"}


def test_grounded_summary_flags_unseen_articles_only(demo_model, tmp_path):
    passed = _run(tmp_path, "suites/grounded.yaml")
    assert len(passed) == 40
    assert {case for case, ok in passed.items() if not ok} == set(HELD_OUT_ARTICLES)


def test_rag_suite_flags_the_invented_policies(tmp_path):
    passed = _run(tmp_path, "suites/rag.yaml")
    assert {case for case, ok in passed.items() if not ok} == {"warranty", "price-match", "gift-cards"}
