"""The model card's evaluation part from the demo's results: every section present, the detectors' accuracy cited,
and text from the records escaped; the trend page escapes it too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmeval.ops.card import DETECTORS, card_markdown, card_sections, cell
from llmeval.records import read_results

ROOT = Path(__file__).resolve().parents[2]
DEMO_SUITES = ("suites/tickets.yaml", "suites/injection.yaml", "suites/loans-fair.yaml", "suites/rag.yaml")
SECTIONS = (
    "Evaluation data",
    "Metrics",
    "Fairness (per group)",
    "PII, hallucination and prompt injection",
    "Release gates and verdict",
    "Latency, tokens and cost",
    "Caveats",
    "Manifest",
)


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory) -> Path:
    """The demo's suites with PII, injection, fairness and hallucination scorers, run with `llmeval run`."""
    out = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmeval",
            "run",
            *DEMO_SUITES,
            "-q",
            "--results",
            str(out / "results.jsonl"),
            "--html",
            str(out / "report.html"),
            "--cache-dir",
            str(out / "cache"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stderr[-3000:]  # the demo's apps fail some gates on purpose
    return out / "results.jsonl"


@pytest.mark.slow
def test_the_card_of_the_demo_has_every_section_with_figures(demo_results, tmp_path):
    assert subprocess.run(
        [sys.executable, "-m", "llmeval", "card", str(demo_results), "--out", str(tmp_path / "CARD.md"), "--cost-per-1k", "0.5"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    card = (tmp_path / "CARD.md").read_text()
    assert [line.removeprefix("### ") for line in card.splitlines() if line.startswith("### ")] == list(SECTIONS)
    sections = {s.title: s for s in card_sections([read_results(demo_results)], cost_per_1k=0.5)}
    for title in (
        "Evaluation data",
        "Metrics",
        "Fairness (per group)",
        "PII, hallucination and prompt injection",
        "Release gates and verdict",
        "Latency, tokens and cost",
        "Manifest",
    ):
        assert sections[title].rows, title
    suites = {row[0] for row in sections["Evaluation data"].rows}
    assert suites == {"ticket-privacy", "prompt-injection", "loans-fair", "rag-assistant"}
    assert all(len(row[5]) == 12 for row in sections["Evaluation data"].rows)  # the suite files' hashes
    detectors = {row[2] for row in sections["PII, hallucination and prompt injection"].rows}
    assert {DETECTORS[m].what for m in ("pii", "no_leak", "hallucination")} <= detectors
    assert DETECTORS["pii"].accuracy in card and "bench/RESULTS.md" in card
    assert "**FAIL**" in card and "| decision-demographic_parity_difference-by-group.ethnicity |" in card
    assert "cost = tokens / 1000 x 0.5" in card and "timings are machine-dependent" in card
    assert "| package llmeval |" in card and "git commit" in card


def test_card_cells_escape_markup_and_table_syntax():
    assert cell("a|b<script>\nc&d") == "a\\|b&lt;script&gt; c&amp;d"


def test_a_card_without_manifest_or_safety_scorers_says_so(tmp_path):
    from llmeval.records import Results
    from tests.ops.helpers import cases, gate

    text = card_markdown([Results(tuple(cases("r", 0.8)), (gate("r", 0.8),))])
    assert "No PII, hallucination or injection scorer ran." in text
    assert "These results carry no manifest" in text and "No verdict recorded" in text


def test_the_trend_page_escapes_names_and_draws_intervals(tmp_path):
    from llmeval.ops.history import Point, RunEntry
    from llmeval.ops.trend import render_trend_html

    points = [
        Point(i, f"r{i}</text><script>x</script>", "", "PASS", i == 0, "s<b>", "m", "rougeL", 0.5 + i / 10, 0.4, 0.9, 10)
        for i in range(3)
    ]
    runs = [RunEntry(i, p.run_id, "", "", "PASS", None, {}) for i, p in enumerate(points)]
    html = render_trend_html(points, runs, tmp_path / "t.html", "h.sqlite").read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html and "s&lt;b&gt; / m / rougeL" in html
    assert html.count('class="ci"') == 3 and html.count("<circle") == 3 and 'class="acc"' in html


@pytest.mark.slow
def test_the_html_report_carries_the_card(demo_results):
    """The report's last section is the card `llmeval card` writes: the same sections."""
    import html

    page = (demo_results.parent / "report.html").read_text(encoding="utf-8")
    assert 'id="model-card"' in page
    for title in SECTIONS:
        assert f"<h3>{html.escape(title)}</h3>" in page, title


def test_the_cards_report_section_escapes_what_the_records_say():
    from llmeval.gate import build_verdict
    from llmeval.ops.card_html import card_report_section
    from tests.ops.helpers import cases, gate, manifest

    hostile = "<script>alert(1)</script>"
    records = cases("r1", 0.8, suite=hostile)
    gates = [gate("r1", 0.8, suite=hostile)]
    section = card_report_section(records, gates, build_verdict(gates), manifest("r1", suite=hostile))
    body = str(section.body)
    assert hostile not in body and html_escaped(hostile) in body
    assert section.id == "model-card"


def html_escaped(text: str) -> str:
    import html

    return html.escape(text, quote=False)
