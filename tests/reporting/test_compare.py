"""Model comparison from runs of two models, in Python and through `llmeval compare`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmeval.cli_report import main
from llmeval.reporting.compare import compare_runs, format_comparison, render_compare_html
from llmeval.reporting.results import ResultsWriter

SMALL = "hf:fixtures/models/support-tiny"
OTHER = "hf:fixtures/models/support-tiny-b"


def _runs(make_case: Any) -> dict[str, list[dict]]:
    a = [make_case(f"c{i:02d}", SMALL, rouge=0.5 + 0.01 * i) for i in range(30)]
    b = [
        make_case(
            f"c{i:02d}", OTHER, rouge=0.5 + 0.01 * i + (0.1 if i < 20 else -0.05 if i < 25 else 0.0), output=f"<b>bold</b> {i}"
        )
        for i in range(30)
    ]
    b.append(make_case("only-b", OTHER))
    return {"small": a, "other": b}


def test_means_pairs_and_win_tie_loss(make_case: Any) -> None:
    comparison = compare_runs(_runs(make_case))
    assert comparison["labels"] == ["small", "other"] and comparison["metrics"] == ["rougeL", "contains"]
    means = {(m["label"], m["metric"]): m for m in comparison["means"]}
    assert means[("small", "rougeL")]["mean"] == pytest.approx(0.645)
    lo, hi = means[("small", "rougeL")]["interval"]
    assert lo < 0.645 < hi
    pair = next(p for p in comparison["pairs"] if p["metric"] == "rougeL")
    assert (pair["a"], pair["b"], pair["n"]) == ("small", "other", 30)
    assert pair["delta"] == pytest.approx((20 * 0.1 - 5 * 0.05) / 30)
    assert (pair["a_wins"], pair["ties"], pair["b_wins"]) == (5, 5, 20)
    assert pair["only_a"] == 0 and pair["only_b"] == 1
    assert pair["interval"][0] > 0 and pair["p_value"] < 0.01
    assert {t["case"] for t in pair["top"][:10]} <= {f"c{i:02d}" for i in range(20)}
    contains = next(p for p in comparison["pairs"] if p["metric"] == "contains")
    assert contains["ties"] == 30 and contains["top"] == []


def test_text_renderings(make_case: Any) -> None:
    comparison = compare_runs(_runs(make_case))
    markdown = format_comparison(comparison)
    assert "| rougeL | small | other |" not in markdown and "| small | other | rougeL | 30 | +0.05833" in markdown
    text = format_comparison(comparison, markdown=False)
    assert "Pairwise" in text and "|" not in text


def test_html_escapes_outputs(make_case: Any, tmp_path: Path) -> None:
    html = render_compare_html(compare_runs(_runs(make_case)), tmp_path / "c.html").read_text()
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold" not in html and "<svg" in html


def _files(make_case: Any, tmp_path: Path) -> list[str]:
    paths = []
    for label, rows in _runs(make_case).items():
        with ResultsWriter(tmp_path / f"{label}.jsonl") as writer:
            for row in rows:
                writer.write(row)
        paths.append(str(tmp_path / f"{label}.jsonl"))
    return paths


def test_compare_command(make_case: Any, tmp_path: Path, capsys: Any) -> None:
    files = _files(make_case, tmp_path)
    assert main(["compare", *files, "--html", str(tmp_path / "out" / "c.html"), "--label", "A", "--label", "B"]) == 0
    out = capsys.readouterr().out
    assert "A  B  rougeL    30" in out and (tmp_path / "out" / "c.html").stat().st_size > 2000


def test_compare_command_labels_by_model_and_rejects_one_model(make_case: Any, tmp_path: Path, capsys: Any) -> None:
    files = _files(make_case, tmp_path)
    assert main(["compare", *files, "--format", "markdown"]) == 0
    assert "| support-tiny | support-tiny-b | rougeL |" in capsys.readouterr().out
    assert main(["compare", files[0]]) == 2
    assert "nothing to compare" in capsys.readouterr().err
    assert main(["compare", *files, "--label", "only-one"]) == 2
