"""The HTML report's text: escaping, safe embedded JSON, sections present (no browser needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from llmeval.reporting import case_table, charts
from llmeval.reporting.html import render_html, safe_json


@pytest.mark.parametrize("text", ["</script><script>alert(1)</script>", "a & b <!-- c -->", "\u2028line\u2029"])
def test_safe_json_cannot_close_the_script_block(text: str) -> None:
    encoded = safe_json({"t": text})
    assert "<" not in encoded and ">" not in encoded and "&" not in encoded and "\u2028" not in encoded
    assert json.loads(encoded) == {"t": text}


def test_report_escapes_every_probe(tmp_path: Path, rows_with_probes: list[dict]) -> None:
    html = render_html(rows_with_probes, tmp_path / "r.html").read_text()
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts == ['<script type="application/gzip+base64" id="llmeval-cases">', "<script>"]
    assert "<img" not in html and 'onerror="' not in html and 'href="javascript' not in html
    data = case_table.decode(re.search(r'id="llmeval-cases">([A-Za-z0-9+/=]+)</script>', html)[1])
    assert "BackendError: <b>timeout</b>" in [c[9] for c in data["cases"]]  # the script sets it as text
    assert "Content-Security-Policy" in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_report_without_gates_or_rows(tmp_path: Path) -> None:
    html = render_html([], tmp_path / "empty.html").read_text()
    assert "No gates · 0 passed, 0 failed, 0 errors" in html and 'id="gates"' not in html


def test_chart_labels_are_escaped() -> None:
    svg = charts.model_bars([("<m>", 0.5, (0.4, 0.6))], title="a<b") + charts.histogram([0.1, 0.9], title="<t>")
    assert "<m>" not in svg and "&lt;m&gt;" in svg and "&lt;t&gt;" in svg and "a&lt;b" in svg


def test_scores_outside_zero_one_get_their_own_axis() -> None:
    svg = charts.histogram([5.0, 20.0, 35.0], title="bleu")
    assert all(f">{t}<" in svg for t in (0, 10, 20, 30, 40)) and ">0.25<" not in svg


def test_baseline_sections(tmp_path: Path, rows_with_probes: list[dict], make_case: Any) -> None:
    diff = {
        "baseline": "b.json", "mismatches": ["suite 'support': baseline made by model 'x'"], "metrics": [],
        "cases": [{"suite": "support", "case": "c<1>", "model": "m", "metric": "rougeL", "baseline": 0.9,
                   "current": 0.2, "delta": -0.7, "change": "regressed", "flip": "pass->fail"}],
        "new_cases": [{"suite": "support", "case": "fresh"}], "missing_cases": [], "gates": [], "regressions": [],
    }  # fmt: skip
    html = render_html(rows_with_probes, tmp_path / "r.html", baseline_diff=diff).read_text()
    assert "c&lt;1&gt;" in html and "support::fresh" in html and "baseline made by model" in html
    assert "Regressed cases (1)" in html and "Improved cases (0)" in html
