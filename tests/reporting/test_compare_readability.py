"""Comparisons a reader can follow: two versions of one function get distinct names, and `p` is explained."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llmeval.cli import main
from llmeval.core.labels import qualified
from llmeval.reporting.compare import compare_runs, format_comparison, render_compare_html

APP = "def answer(prompt, vars):\n    return {reply!r}\n"
SUITE = """suite: shop
model: python:bot:answer
prompt: "{{ q }}"
defaults: {scorers: [{contains: "30 days"}]}
cases: [{id: a, vars: {q: one}}, {id: b, vars: {q: two}}]
"""


def test_qualified_names_grow_by_whole_components_until_they_differ():
    assert qualified("python:shop.bot:answer", ["python:shop.bot_v2:answer"]) == "bot:answer"
    assert qualified("python:a.bot:answer", ["python:b.bot:answer"]) == "a.bot:answer"
    assert qualified("hf:models/v1/tiny", ["hf:models/v2/tiny"]) == "v1/tiny"
    assert qualified("hf:x/tiny", ["vllm:x/tiny"]) == "hf:x/tiny"


def test_two_versions_of_one_function_are_named_by_their_modules(in_project, capsys):
    project = in_project("bot", APP.format(reply="You have 30 days."))
    project.makepyfile(bot_v2=APP.format(reply="You have 14 days."))
    project.makefile(".yaml", shop=SUITE)
    status = main(["run", ".", "-q", "--results", "r.jsonl", "--model", "python:bot:answer", "--model", "python:bot_v2:answer"])
    assert status == 1
    rows = [json.loads(line) for line in (project.path / "r.jsonl").read_text().splitlines()]
    assert {r["model_label"] for r in rows if r["kind"] == "case"} == {"bot:answer", "bot_v2:answer"}
    out = capsys.readouterr().out
    assert "[bot_v2:answer]" in out and "answer-2" not in out


def test_files_with_the_same_model_name_are_told_apart_by_their_folders(in_project, capsys):
    project = in_project("bot", APP.format(reply="You have 30 days."))
    project.makefile(".yaml", shop=SUITE)
    for version in ("v1", "v2"):
        assert main(["run", ".", "-q", "--results", f"{version}/results.jsonl"]) == 0
    capsys.readouterr()
    assert main(["compare", "v1/results.jsonl", "v2/results.jsonl"]) == 0
    out = capsys.readouterr().out
    assert "answer (v1/results.jsonl)  answer (v2/results.jsonl)  contains" in out
    assert main(["compare", "v1/results.jsonl", "v2/results.jsonl", "--label", "before", "--label", "after"]) == 0
    assert "before  after  contains  2" in capsys.readouterr().out


def _two_cases(make_case: Any) -> dict[str, list[dict]]:
    a = [make_case(f"c{i}", "python:bot:answer", rouge=0.5) for i in range(2)]
    b = [make_case(f"c{i}", "python:bot_v2:answer", rouge=0.6 + 0.01 * i) for i in range(2)]
    return {"bot:answer": a, "bot_v2:answer": b}


def test_the_p_column_is_explained_under_the_table_and_in_the_html(make_case: Any, tmp_path: Path):
    comparison = compare_runs(_two_cases(make_case))
    pair = next(p for p in comparison["pairs"] if p["metric"] == "rougeL")
    assert (pair["n"], pair["a_wins"], pair["b_wins"]) == (2, 0, 2) and 0.45 < pair["p_value"] <= 0.55
    text = format_comparison(comparison, markdown=False)
    table, _, after = text.partition("Pairwise")[2].partition("\n\n")
    assert "  p  " in table
    assert after.startswith('p: two-sided paired sign-flip test of "mean delta = 0" over the n shared cases')
    assert "at n = 2 the least p is 0.5" in after
    html = render_compare_html(comparison, tmp_path / "c.html").read_text()
    assert 'id="p-note"' in html and "at n = 2 the least p is 0.5" in html
