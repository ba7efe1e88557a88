"""Smoke test of bench/judge_format_bench.py on the random tiny model: both ways return figures, and only the
constrained way parses (no timing assertions)."""

from __future__ import annotations

import pytest

from llmeval.backends import resolve
from tests._scripts import load_script

bench = load_script("bench/judge_format_bench.py")


@pytest.mark.slow
def test_free_and_constrained_figures(tiny_model):
    backend = resolve(f"hf:{tiny_model}", root=tiny_model.parent, threads=1)
    texts = bench.prompts(4)
    assert len(texts) == 4 and all("Rate the answer from 1 to 5" in t for t in texts)
    free, held = (bench.run(backend, texts, constrained, max_new_tokens=96) for constrained in (False, True))
    assert (free["parsed"], held["parsed"]) == (0.0, 1.0)
    assert held["steps"] > 0 and held["ms_per_step"] > 0 and free["wall_s"] > 0
