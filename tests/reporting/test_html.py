"""The HTML report's text: escaping, safe embedded JSON, sections present (no browser needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from llmeval.gate import compare_with_baseline, evaluate_gate, load_baseline, save_baseline
from llmeval.records import GateRecord
from llmeval.reporting import case_table, charts, report_view
from llmeval.reporting.html import render_html, safe_json
from llmeval.reporting.report_view import ReportSection


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
        "baseline": "b.json",
        "mismatches": ["suite 'support': baseline made by model 'x'"],
        "metrics": [],
        "cases": [
            {
                "suite": "support",
                "case": "c<1>",
                "model": "m",
                "metric": "rougeL",
                "baseline": 0.9,
                "current": 0.2,
                "delta": -0.7,
                "change": "regressed",
                "flip": "pass->fail",
            }
        ],
        "new_cases": [{"suite": "support", "case": "fresh"}],
        "missing_cases": [],
        "gates": [],
        "regressions": [],
    }
    html = render_html(rows_with_probes, tmp_path / "r.html", baseline_diff=diff).read_text()
    assert "c&lt;1&gt;" in html and "support::fresh" in html and "baseline made by model" in html
    assert "Regressed cases (1)" in html and "Improved cases (0)" in html


def _xs(svg: str, cls: str, attr: str = "x1") -> list[float]:
    return [float(x) for x in re.findall(rf'class="{cls}"[^>]*? {attr}="([-\d.]+)"', svg)]


def test_gate_chart_draws_the_threshold_its_passing_side_the_interval_and_the_bound() -> None:
    svg = charts.gate_chart(0.7, (0.6, 0.8), 0.6, (">=", 0.65), scale=(0.0, 1.0), title="support::rougeL-mean")
    axis = charts._Axis(0.0, 1.0, 8, charts.GATE_WIDTH - 10)
    assert _xs(svg, "threshold") == [round(axis.x(0.65), 1)] and _xs(svg, "bound") == [round(axis.x(0.6), 1)]
    assert _xs(svg, "pass-zone", "x") == [round(axis.x(0.65), 1)]  # shaded from the threshold to the right
    assert _xs(svg, "interval", "x") == [round(axis.x(0.6), 1)] and f'cx="{axis.x(0.7):.1f}"' in svg
    assert [t for t in re.findall(r'class="tick"[^>]*>([^<]+)<', svg)] == ["0", "0.25", "0.5", "0.75", "1"]
    below = charts.gate_chart(0.3, None, None, ("<=", 0.1), scale=None, title="leak")
    assert _xs(below, "pass-zone", "x") == [8.0]  # "<=" passes on the left


def test_histogram_has_axes_counts_a_unit_and_the_pass_threshold() -> None:
    svg = charts.histogram([0.1, 0.12, 0.3, 0.95], title="rougeL · m", thresholds=[(">=", 0.5)], unit="rougeL")
    assert re.findall(r'class="count"[^>]*>(\d+)<', svg) == ["2", "1", "1"]
    assert "n = 4 results" in svg and ">rougeL</text>" in svg and "pass ≥ 0.5" in svg
    assert {"0", "0.5", "1"} <= set(re.findall(r'class="tick"[^>]*>([^<]+)<', svg))


def test_a_bars_value_label_sits_clear_of_its_whisker() -> None:
    svg = charts.model_bars([("a", 0.9, (0.7, 1.0)), ("b", 0.2, (0.0, 0.5))], title="m", counts=[40, 12], unit="mean m")
    whiskers = [float(x) for x in re.findall(r'class="whisker" x1="[-\d.]+" x2="([-\d.]+)"', svg)]
    labels = re.findall(r'<text x="([-\d.]+)" y="[-\d.]+" class="value">([^<]+)<', svg)
    assert [text for _, text in labels] == ["0.9 [0.7, 1]  n=40", "0.2 [0, 0.5]  n=12"]
    assert min(float(x) for x, _ in labels) > max(whiskers)


def test_thresholds_and_scales_read_from_gate_records() -> None:
    assert report_view.parse_threshold(">= 0.6") == (">=", 0.6)
    assert report_view.parse_threshold("drop <= 0.02 (alpha 0.05)") == ("<=", 0.02)
    assert report_view.parse_threshold("report only") is None
    assert report_view.parse_scale("0/1, higher is better") == (0.0, 1.0)
    assert report_view.parse_scale("[-1, 1]") == (-1.0, 1.0) and report_view.parse_scale("[0, inf]") is None


def _payload(html: str) -> dict[str, Any]:
    return case_table.decode(re.search(r'id="llmeval-cases">([A-Za-z0-9+/=]+)</script>', html)[1])


def test_sample_column_only_when_a_suite_repeats_cases(tmp_path: Path, make_case: Any) -> None:
    once = [make_case("a"), make_case("b")]
    html = render_html(once, tmp_path / "once.html").read_text()
    assert ">Sample</th>" not in html and 'data-samples="false"' in html
    assert [c[4] for c in _payload(html)["cases"]] == [None, None]
    repeated = [*once, make_case("c", suite="sampled", sample=0), make_case("c", suite="sampled", sample=1)]
    html = render_html(repeated, tmp_path / "repeated.html").read_text()
    assert ">Sample</th>" in html and 'data-samples="true"' in html
    assert [c[4] for c in _payload(html)["cases"]] == [None, None, 0, 1]  # blank for the suite without repeats


def test_extra_sections_come_last_and_must_be_markup(tmp_path: Path) -> None:
    from markupsafe import Markup, escape

    with pytest.raises(TypeError, match="not markupsafe.Markup"):
        ReportSection("Model card", "<b>raw</b>")
    card = ReportSection("Model <card>", Markup("<p>{}</p>").format(escape("<img src=x>")), id="model-card")
    html = render_html([], tmp_path / "r.html", extra_sections=[card]).read_text()
    assert html.index('id="model-card"') > html.index('id="cases-section"')
    assert "<summary>Model &lt;card&gt;</summary>" in html and "<p>&lt;img src=x&gt;</p>" in html


def test_first_screen_escapes_gate_and_regression_text(tmp_path: Path, make_case: Any) -> None:
    hostile = '<img src=x onerror="window.__xss=1">'
    gate = GateRecord(
        suite="support",
        gate=f"g{hostile}",
        model="m",
        metric="rougeL",
        stat="mean",
        status="failed",
        reason=f"group {hostile} misses >= 0.5",
        threshold=">= 0.5",
        value=0.2,
    )
    case = {"suite": "support", "case": hostile, "model": "m", "metric": "rougeL", "baseline": 0.9, "current": 0.1}
    changed = {**case, "delta": -0.8, "change": "regressed", "flip": "pass->fail"}
    diff = {"baseline": "b.json", "metrics": [], "gates": [], "mismatches": [], "new_cases": [], "missing_cases": []}
    diff["cases"] = [changed]
    html = render_html([make_case("a")], tmp_path / "r.html", gates=[gate], baseline_diff=diff).read_text()
    assert "<img" not in html and 'onerror="window' not in html
    assert 'class="why">group &lt;img src=x onerror=&#34;window.__xss=1&#34;&gt; misses' in html
    assert "1 case results went from pass to fail: support::&lt;img" in html


def test_regressions_say_so_when_there_is_no_baseline_or_no_drop(tmp_path: Path, make_case: Any) -> None:
    html = render_html([make_case("a")], tmp_path / "r.html").read_text()
    assert "No baseline was given, so nothing was compared" in html
    rows = [make_case("a"), make_case("b")]
    diff = compare_with_baseline(rows, load_baseline(save_baseline(tmp_path / "b.json", rows, [], meta={})))
    html = render_html(rows, tmp_path / "r.html", baseline_diff=diff).read_text()
    assert "None: 2 metrics compared with the baseline, no significant drop." in html


def test_gates_come_failing_first_and_passing_ones_fold_away(tmp_path: Path, make_case: Any) -> None:
    rows = [make_case(f"c{i}", rouge=0.6) for i in range(10)]
    model = rows[0]["model"]
    specs = ({"name": "floor", "metric": "rougeL", "mean": ">= 0.1"}, {"name": "high", "metric": "rougeL", "mean": ">= 0.9"})
    gates = [evaluate_gate(spec, rows, suite="support", model=model) for spec in specs]
    html = render_html(rows, tmp_path / "r.html", gates=gates).read_text()
    assert html.index('data-status="failed"') < html.index('data-status="passed"')
    assert '<details class="section" id="passing-gates"><summary>Passing and skipped gates (1)</summary>' in html
    html = render_html(rows, tmp_path / "r.html", gates=gates[:1]).read_text()
    assert "All 1 evaluated gates passed." in html and '<details class="section" id="passing-gates" open>' in html
