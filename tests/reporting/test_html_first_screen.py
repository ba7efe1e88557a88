"""The report's first screen answers "can we ship?": checked in headless Chromium at 1400 x 900, from the DOM.

A release-sized run (four suites, 16 failing gates of 32, a significant regression, a gate and cases that
went from pass to fail since the baseline): the verdict, every failing gate with its reason and every
regression lie within the first 900 pixels; the gates come failing first; the long sections start collapsed.
Screenshots go to the test's tmp dir.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmeval.gate import compare_with_baseline, evaluate_gate, load_baseline, save_baseline
from llmeval.gate.baseline import gate_changes
from llmeval.records import GateRecord
from llmeval.reporting.html import render_html
from tests.reporting.chromium import needs_chromium
from tests.reporting.conftest import PROBES, case_row

pytestmark = needs_chromium

FOLD = 900
SUITES = ("support", "billing", "refunds", "shipping")
MODEL = "hf:fixtures/models/support-tiny"
FAILING = (  # fail on every suite: rougeL lies in [0.25, 0.95], contains is 0 or 1
    {"name": "rougeL-excellent", "metric": "rougeL", "mean": ">= 0.99"},
    {"name": "rougeL-median-excellent", "metric": "rougeL", "median": ">= 0.99"},
    {"name": "rougeL-low", "metric": "rougeL", "mean": "<= 0.1"},
    {"name": "contains-impossible", "metric": "contains", "mean": ">= 1.5"},
)
PASSING = (  # pass on the baseline; on the current run only billing's pass rate fails
    {"name": "rougeL-floor", "metric": "rougeL", "mean": ">= 0.1"},
    {"name": "rougeL-median-floor", "metric": "rougeL", "median": ">= 0.1"},
    {"name": "contains-mean", "metric": "contains", "mean": ">= 0.5"},
    {"name": "rougeL-pass-rate", "metric": "rougeL", "pass_rate": ">= 0.9"},
)


def _rows(*, regressed: bool) -> list[dict[str, Any]]:
    """30 cases per suite; with `regressed`, half of billing's cases lose 0.4 of rougeL (most of them fail)."""
    rows = []
    for suite in SUITES:
        for i in range(30):
            rouge = 0.55 + (i % 5) * 0.1 - (0.4 if regressed and suite == "billing" and i % 2 == 0 else 0.0)
            output = f"{PROBES[i % len(PROBES)]} answer {i}" if i < len(PROBES) else None
            rows.append(case_row(f"{suite}-{i:02d}", suite=suite, rouge=round(rouge, 4), output=output))
    return rows


def _gates(rows: list[dict[str, Any]], diff: dict[str, Any] | None = None) -> list[GateRecord]:
    specs = [*PASSING, *FAILING]  # passing first, as a suite might list them: the report must reorder
    return [evaluate_gate(spec, rows, suite=suite, model=MODEL, diff=diff) for suite in SUITES for spec in specs]


@pytest.fixture
def release_report(tmp_path: Path) -> tuple[Path, list[GateRecord]]:
    before = _rows(regressed=False)
    baseline = load_baseline(save_baseline(tmp_path / "baseline.json", before, _gates(before), meta={}))
    now = _rows(regressed=True)
    diff = compare_with_baseline(now, baseline, [{"metric": "rougeL", "max_drop": 0.02}])
    gates = _gates(now, diff)
    diff["gates"] = gate_changes(gates, baseline.gates)  # as the run does once its gates are decided
    return render_html(now, tmp_path / "report.html", gates=gates, baseline_diff=diff, title="release check"), gates


@pytest.fixture
def screen(browser: Any, release_report: tuple[Path, list[GateRecord]]) -> Any:
    context = browser.new_context(offline=True, viewport={"width": 1400, "height": FOLD})
    page = context.new_page()
    page.goto(release_report[0].as_uri())
    page.wait_for_selector("#cases[data-ready]", state="attached", timeout=10_000)
    yield page
    context.close()


def _bottoms(page: Any, selector: str) -> list[float]:
    """The bottom edge of each element matched, in page pixels (the page is scrolled to the top)."""
    return [box["y"] + box["height"] for box in (loc.bounding_box() for loc in page.locator(selector).all())]


def test_verdict_failing_gates_and_regressions_are_above_the_fold(
    screen: Any, release_report: tuple[Path, list[GateRecord]], tmp_path: Path
) -> None:
    page, (_, gates) = screen, release_report
    failing = [g for g in gates if g.status == "failed"]
    assert len(failing) == 17 and len(gates) == 32  # 4 x 4 always failing, billing's pass rate after the drop
    screenshot = tmp_path / "first-screen.png"
    page.screenshot(path=str(screenshot))
    page.screenshot(path=str(tmp_path / "whole-page.png"), full_page=True)
    assert screenshot.stat().st_size > 20_000
    assert page.evaluate("window.scrollY") == 0

    assert page.locator("#verdict").inner_text().startswith("Release verdict: FAIL")
    assert max(_bottoms(page, "#verdict")) <= FOLD
    lines = page.locator("#failing-gates li.failing-gate")
    assert lines.count() == len(failing)
    for g in failing:
        line = lines.filter(has_text=f"{g.suite}::{g.gate} [{g.label}]")
        assert line.count() == 1 and line.is_visible()
        assert line.locator(".why").inner_text() == g.reason  # the reason, in one line
        assert line.bounding_box()["height"] < 30
    assert max(_bottoms(page, "#failing-gates li.failing-gate")) <= FOLD

    regressions = page.locator("#regressions li.regression").all_inner_texts()
    assert len(regressions) == 3, regressions
    assert any(r.startswith("WORSE billing [") and "rougeL" in r for r in regressions)  # the significant drop
    assert any("billing::rougeL-pass-rate" in r and "passed in the baseline, fails now" in r for r in regressions)
    assert any("case results went from pass to fail: billing::billing-" in r for r in regressions)
    assert max(_bottoms(page, "#regressions li.regression")) <= FOLD


def test_gates_come_failing_first_and_long_sections_start_collapsed(screen: Any) -> None:
    page = screen
    statuses = page.locator("table.gates tr.gate-row").evaluate_all("rows => rows.map(r => r.dataset.status)")
    assert len(statuses) == 32 and statuses == sorted(statuses, key=lambda s: s != "failed")
    assert page.locator("#gates tr.gate-row[data-status=failed]").count() == 17
    for section in ("#passing-gates", "#suites-section", "#metrics-section", "#baseline-section", "#cases-section"):
        assert page.locator(section).evaluate("d => d.tagName === 'DETAILS' && !d.open"), section
    assert not page.locator("#cases").is_visible() and not page.locator("#gates-passing").is_visible()
    chart = page.locator("#gates tr.gate-row").first.locator("svg.gate-chart")
    assert chart.locator("line.threshold").count() == 1 and chart.locator("text.tick").count() >= 3
    height = page.evaluate("document.documentElement.scrollHeight")
    page.click("#cases-section > summary")
    assert page.evaluate("document.documentElement.scrollHeight") > height + 2000  # 100 case rows opened


def test_show_them_opens_the_failed_cases(screen: Any) -> None:
    page = screen
    page.locator("#case-line a.show-cases").click()
    assert page.locator("#cases").is_visible() and page.locator("#f-status").input_value() == "failed"
    shown = page.locator("#cases tbody tr.case")
    assert shown.count() > 0
    assert set(shown.evaluate_all("rows => rows.map(r => r.dataset.status)")) == {"failed"}
    assert page.locator("#cases thead th", has_text="Sample").count() == 0  # no suite repeats a case
    assert page.locator("#cases tbody td.latency").first.inner_text() == "20 ms"


def _failing_gate(suite: str, value: float, *, passed: bool) -> GateRecord:
    reason = f"rougeL mean {value:.2f} misses >= 0.9 (n = 40)"
    status = "passed" if passed else "failed"
    return GateRecord(
        suite=suite,
        gate="rougeL-mean",
        model=MODEL,
        metric="rougeL",
        stat="mean",
        status=status,
        reason=reason,
        threshold=">= 0.9",
        value=value,
        scale="0/1",
    )


def _drop(suite: str) -> dict[str, Any]:
    """A baseline comparison's entry for a significant drop of rougeL, as `compare_with_baseline` writes it."""
    flips = {"pass_to_fail": 6, "fail_to_pass": 0}
    entry = dict(suite=suite, model=MODEL, metric="rougeL", n=40, baseline_mean=0.8, current_mean=0.6, delta=-0.2, drop=0.2)
    entry |= dict(interval=[0.1, 0.3], p_worse=0.001, flips=flips, regressed=True, significant_drop=True)
    return entry | {"message": f"rougeL: drop 0.2 exceeds 0.02 and is significant ({suite})"}


def test_a_crowded_first_screen_still_fits(browser: Any, tmp_path: Path) -> None:
    """30 failing gates, 8 regressions and 5 notes: the first 20 gates, 6 regressions and a link to each rest."""
    gates = [_failing_gate(f"suite-{i:02d}", i / 100, passed=i >= 30) for i in range(40)]
    drops = [_drop(f"suite-{i:02d}") for i in range(8)]
    notes = [f"suite 'suite-{i:02d}': 3 cases changed since the baseline" for i in range(5)]
    diff = {"baseline": "b.json", "metrics": drops, "regressions": drops, "mismatches": notes, "cases": [], "gates": []}
    rows = [case_row(f"c{i}", suite=f"suite-{i % 40:02d}") for i in range(80)]
    report = render_html(rows, tmp_path / "crowded.html", gates=gates, baseline_diff=diff)
    context = browser.new_context(offline=True, viewport={"width": 1400, "height": FOLD})
    page = context.new_page()
    page.goto(report.as_uri())
    page.screenshot(path=str(tmp_path / "crowded-first-screen.png"))
    assert page.locator("#failing-gates li.failing-gate").count() == 20
    assert page.locator("#regressions li.regression").count() == 6
    links = ("a[href='#gates-heading']", "#regressions + p a[href='#baseline-section']", "#case-line")
    for selector in ("#verdict", "#failing-gates li.failing-gate", "#regressions li.regression", *links):
        assert max(_bottoms(page, selector)) <= FOLD, selector
    assert page.locator("a[href='#gates-heading']").inner_text() == "10 more failing gates in the table below"
    context.close()
