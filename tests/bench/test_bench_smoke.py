"""Smoke test of bench/run.py on tiny sizes: every measurement returns figures, RESULTS.md keeps other sections.

No timing assertions: the figures' values depend on the machine; only their presence and consistency are checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmeval.suite.templates import render
from tests._scripts import load_script

PII_SECTION = "<!-- pii:start -->\n## PII guardrail\n\n| a | b |\n<!-- pii:end -->"


bench = load_script("bench/run.py")
suites, report, gpu = bench._suites, bench._report, bench._gpu


@pytest.fixture(scope="module")
def measured(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("bench")
    sizes = bench.Sizes(cases=8, collect_cases=40, overhead_runs=1, collect_runs=1, no_bytecode_runs=0, max_new_tokens=6)
    return {
        "gen": bench.measure_generation(tiny_model, sizes, work),
        "start": bench.measure_startup(sizes, work),
        "sizes": sizes,
        "model": tiny_model,
    }


@pytest.mark.slow
def test_generation_figures(measured: dict[str, Any]) -> None:
    gen = measured["gen"]
    assert gen["naive"]["gen_s"] > 0 and gen["plan"]["gen_s"] > 0
    assert len(gen["naive"]["texts"]) == len(gen["plan"]["texts"]) == 8
    assert gen["same"] == 8  # batched greedy equals one generate() per case
    assert gen["warm"] == {**gen["warm"], "cached": 8, "model_loaded": False}
    assert (gen["cold_pt"]["generated"], gen["cold_pt"]["cached"]) == (8, 0)
    assert 0 < gen["cold_pt"]["load_s"] < gen["cold_pt"]["wall_s"]
    assert gen["warm_pt"]["load_s"] == 0  # served from the cache: the model never loads
    assert (gen["fill_pt"]["generated"], gen["fill_pt"]["cached"]) == (8, 0)
    assert (gen["warm_pt"]["generated"], gen["warm_pt"]["cached"]) == (0, 8)
    assert gen["threads"]["plan"]["texts"] == gen["plan"]["texts"]  # one torch thread: same outputs


@pytest.mark.slow
def test_startup_and_collection_figures(measured: dict[str, Any]) -> None:
    over, coll = measured["start"]["overhead"], measured["start"]["collect"]
    assert over["with_wall"] > 0 and over["without_wall"] > 0 and over["runs"] == 1
    assert coll["items"] == 40 and coll["wall_s"] >= coll["collect_s"] > 0


@pytest.mark.slow
def test_section_has_every_target(measured: dict[str, Any]) -> None:
    f = bench.figures(measured["gen"], measured["start"], None)
    gen, start = measured["gen"], measured["start"]
    text = bench._markdown.section(gen, start, None, f, {"cpu": "test"}, "bench/run.py", measured["model"], measured["sizes"])
    rows = report.targets(f)
    assert [r[0][:3] for r in rows] == ["(b)", "(b)", "(b)", "(b)", "(c)", "(c)", "(d)", "(e)"]
    assert all(r[3] in ("PASS", "MISS") or r[3].endswith("informational)") for r in rows)
    assert all(r[1] in text for r in rows)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("gpu", "expected"),
    [
        (None, "not run (add `--gpu`"),
        ({"skipped": "no CUDA"}, "skipped, no CUDA."),
        (
            {"params": 494e6, "naive": {"gen_s": 20.0, "tokens": 9600}, "plan": {"gen_s": 1.0, "tokens": 9600}},
            "(a) 20.00 s (480 tokens/s), (b) 1.00 s (9600 tokens/s)",
        ),
    ],
    ids=["not-asked", "skipped", "ran"],
)
def test_section_gpu_line(measured: dict[str, Any], gpu: dict[str, Any] | None, expected: str) -> None:
    f = bench.figures(measured["gen"], measured["start"], gpu)
    text = bench._markdown.section(
        measured["gen"], measured["start"], gpu, f, {"gpu": "H100"}, "x", measured["model"], measured["sizes"]
    )
    assert expected in text
    assert ("| GPU 0.5B: (b) speed-up over (a), in-process | 20.0x | >= 10x | PASS |" in text) == (expected[:3] == "(a)")


@pytest.mark.parametrize(
    "before",
    [
        "",
        f"# Benchmark results\n\n{PII_SECTION}\n",
        f"# Benchmark results\n\n<!-- engine:start -->\nold figures\n<!-- engine:end -->\n\n{PII_SECTION}\n",
    ],
    ids=["new-file", "pii-only", "both"],
)
def test_write_section_keeps_other_sections(tmp_path: Path, before: str) -> None:
    results = tmp_path / "RESULTS.md"
    if before:
        results.write_text(before)
    report.write_section(results, "## Generation engine\n\nnew figures\n")
    report.write_section(results, "## Generation engine\n\nnewer figures\n")
    text = results.read_text()
    assert text.count(report.START) == text.count(report.END) == 1
    assert "newer figures" in text and "new figures\n" not in text and "old figures" not in text
    assert (PII_SECTION in text) == bool(before)
    assert text.startswith("# Benchmark results\n")


@pytest.mark.parametrize(
    ("value", "goal", "at_least", "expected"),
    [(9.0, 8, True, "PASS"), (7.9, 8, True, "MISS"), (0.04, 0.05, False, "PASS"), (51, 50, False, "MISS")],
)
def test_verdict(value: float, goal: float, at_least: bool, expected: str) -> None:
    assert report.verdict(value, goal, at_least=at_least) == expected


def test_questions_are_distinct_and_render_like_the_suite() -> None:
    qs = suites.questions(700)
    assert len(set(qs)) == 700
    assert suites.prompt_for(qs[60]) == render(suites.PROMPT, {"question": qs[60]}, path="x", line=1, what="prompt")


def test_suite_file_has_one_case_per_row(tmp_path: Path) -> None:
    from llmeval.suite import load_suite

    path = suites.write_suite(tmp_path, 12, "python:bench_echo:answer")
    suite = load_suite(path)
    assert len(suite.cases) == 12
    assert suite.cases[3].prompt == suites.prompt_for(suites.questions(12)[3])


def test_qwen2_builder_on_tiny_shapes(tmp_path: Path, tiny_model: Path) -> None:
    from transformers import AutoConfig

    sizes = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "vocab_size": 4096,
    }
    path, params = gpu.build_qwen2(tmp_path / "q", tiny_model, **sizes)
    config = AutoConfig.from_pretrained(path)
    assert (config.model_type, config.vocab_size, config.num_hidden_layers) == ("qwen2", 4096, 1)
    assert params > 4096 * 32


def test_options() -> None:
    args = bench.parse(["--quick", "--skip-pii", "--gpu", "--cases", "10"])
    assert (args.quick, args.skip_pii, args.gpu, args.cases) == (True, True, True, 10)
    assert bench.parse([]).cases == 200


scale = bench._scale


@pytest.mark.slow
def test_scale_run_measures_a_small_echo_run(tmp_path: Path) -> None:
    figures = scale.scale_run(tmp_path, 30)
    assert figures["cases"] == 30 and figures["rc"] == 0 and figures["wall_s"] > 0
    assert figures["results_mb"] > 0 and 0 < figures["html_mb"] < 1
    assert figures["rss_mb"] is None or figures["rss_mb"] > 10
    browser = figures["browser"]
    assert "skipped" in browser or (browser["rows_rendered"] == 30 and browser["ready_s"] >= browser["load_s"] > 0)


@pytest.mark.parametrize(
    ("scale_figures", "share", "verdicts"),
    [
        (
            {"cases": 100_000, "rss_mb": 900.0, "html_mb": 4.2, "browser": {"load_s": 0.5, "ready_s": 1.5}},
            {"gen_s": 10.0, "score_s": 0.5},
            ["PASS", "PASS", "PASS", "PASS"],
        ),
        (
            {"cases": 100_000, "rss_mb": 6850.0, "html_mb": 171.0, "browser": {"skipped": "no chromium"}},
            {"gen_s": 1.0, "score_s": 3.0},
            ["MISS", "MISS", "-", "MISS"],
        ),
    ],
    ids=["all-met", "before"],
)
def test_scale_targets(scale_figures: dict[str, Any], share: dict[str, Any], verdicts: list[str]) -> None:
    rows = scale.targets(scale_figures, share)
    assert [r[3] for r in rows] == verdicts
    assert rows[0][1] in ("900.0 MB", "6,850.0 MB") and rows[1][2] == "<= 20 MB"


def test_scale_options() -> None:
    args = bench.parse(["--only-scale", "--scale-cases", "500"])
    assert (args.only_scale, args.skip_scale, args.scale_cases) == (True, False, 500)
    with pytest.raises(SystemExit):
        bench.parse(["--only-scale", "--skip-scale"])
