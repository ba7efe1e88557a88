"""Scorer engines (presidio + spaCy, the MiniLM encoder) load only when a score-cache miss needs them, once per
process; a warm demo run scores nothing but the live-judge scores, loads no engine and gives the same records."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from llmeval.engine.pool import ENGINE_LOADS
from llmeval.pii import reset_engines
from llmeval.scorers import Sample, build
from llmeval.scorers.batch import score_all
from llmeval.scorers.context import default_context

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = [
    Sample("Call Ann Lee at ann@example.com.", ("Ann can be reached by email.",), "Who?", {}, ("Ann Lee works here.",)),
    Sample("Refunds take 30 days.", ("Refunds are paid within 30 days.",), "How long?", {}, ("Refunds: 30 days.",)),
]
ENGINES = [("pii", {}), ("similarity", {"min": 0.5}), ("hallucination", {})]


def test_engines_load_once_on_a_miss_and_never_on_a_hit(tmp_path):
    reset_engines()
    jobs = [(build(name, params), s) for name, params in ENGINES for s in SAMPLES]
    cold = default_context(threads=1, cache_dir=tmp_path)
    before = len(ENGINE_LOADS)
    first = score_all(jobs, cold)
    loaded = [name.split(":")[0] for name, _ in ENGINE_LOADS[before:]]
    assert sorted(set(loaded)) == ["embed", "presidio"] and len(loaded) == 2  # each once, though two scorers embed
    score_all(jobs, cold)
    assert len(ENGINE_LOADS) == before + 2
    reset_engines()  # a new process: nothing loaded, the cache on disk
    warm = default_context(threads=1, cache_dir=tmp_path)
    second = score_all([(build(name, params), s) for name, params in ENGINES for s in SAMPLES], warm)
    assert len(ENGINE_LOADS) == before + 2 and warm.pool.stats() == {}
    assert (warm.stats.cached, warm.stats.scored) == (6, 0) and warm.stats.load_s < 0.01
    assert [s.as_dict() for s in second] == [s.as_dict() for s in first]  # type: ignore[union-attr]
    changed = default_context(threads=1, cache_dir=tmp_path)  # one new output: only the engines it needs
    score_all([(build("pii", {}), Sample("Mail bob@example.com", ("x",)))], changed)
    assert [n.split(":")[0] for n, _ in ENGINE_LOADS[before + 2 :]] == ["presidio"] and changed.stats.scored == 1


SCORED = re.compile(
    r"llmeval: scored (\d+) outputs in [\d.]+ s \(scorer models load ([\d.]+) s apart\); "
    r"(\d+) of (\d+) scores from the score cache, (\d+) computed; scorer engines loaded: (.+)"
)


def demo_run(cache: Path, results: Path) -> re.Match[str]:
    """`make demo`'s pytest command (its reports aside), with its own cache folder."""
    args = [
        "-m",
        "pytest",
        "suites/",
        "-p",
        "no:cacheprovider",
        "-o",
        "console_output_style=classic",
        "-q",
        "--llmeval-baseline",
        "fixtures/baselines/demo.json",
        "--llmeval-cache-dir",
        str(cache),
        "--llmeval-results",
        str(results),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, env=env)
    assert run.returncode in (0, 1), run.stdout[-3000:] + run.stderr[-3000:]
    found = SCORED.search(run.stdout + run.stderr)
    assert found, run.stdout[-3000:]
    return found


def scores(results: Path) -> dict[tuple[str, str, str, int], object]:
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    found = {(r["suite"], r["case"], r["model"], r["sample"]): r["scores"] for r in rows if r["kind"] == "case"}
    assert len(found) > 1000
    return found


@pytest.mark.slow
def test_a_warm_demo_run_loads_no_scorer_engine_and_scores_only_the_live_judge(demo_model, tmp_path):
    cold = demo_run(tmp_path / "cache", tmp_path / "cold.jsonl")
    assert cold.group(6) != "none" and "presidio" in cold.group(6) and "embed" in cold.group(6)
    assert int(cold.group(3)) == 0
    warm = demo_run(tmp_path / "cache", tmp_path / "warm.jsonl")
    outputs, load_s, cached, asked, computed, engines = warm.groups()
    assert engines == "none" and float(load_s) < 0.01
    judged = int(cold.group(4)) - int(cached)  # judge scores: asked again, answered by the generation cache
    assert int(computed) == judged and judged <= int(outputs) // 50
    assert scores(tmp_path / "warm.jsonl") == scores(tmp_path / "cold.jsonl")
