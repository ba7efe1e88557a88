"""The HTML report in real headless Chromium: it renders, filters, drills down, and runs no XSS probe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmeval.gate import compare_with_baseline, evaluate_gate, load_baseline, save_baseline
from llmeval.reporting.html import render_html
from tests.reporting.chromium import needs_chromium, open_cases

pytestmark = needs_chromium


@pytest.fixture
def report(tmp_path: Path, rows_with_probes: list[dict]) -> Path:
    rows = rows_with_probes
    baseline = load_baseline(save_baseline(tmp_path / "baseline.json", rows, [], meta={}))
    changed = [
        dict(r, scores={**r["scores"], "rougeL": {**r["scores"]["rougeL"], "value": 0.1, "passed": False}})
        if r["case"] == "case-11"
        else r
        for r in rows
    ]
    diff = compare_with_baseline(changed, baseline)
    gates = [
        evaluate_gate(spec, changed, suite="support", model=rows[0]["model"], diff=diff)
        for spec in (
            {"metric": "rougeL", "mean": ">= 0.5", "ci": 0.95},
            {"metric": "contains", "by": "group", "fairlearn": "demographic_parity_difference", "max": 0.2},
        )
    ]
    return render_html(changed, tmp_path / "report.html", gates=gates, title="probe <b>report</b>", baseline_diff=diff)


@pytest.fixture
def page(browser: Any, report: Path) -> Any:
    context = browser.new_context(offline=True)
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.requests = []
    page.on("request", lambda r: page.requests.append(r.url))
    page.goto(report.as_uri())
    open_cases(page)
    yield page
    context.close()


def _visible_cases(page: Any) -> int:
    return page.locator("#cases tbody tr.case:visible").count()


def test_renders_without_running_probes(page: Any, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert page.title() == "probe <b>report</b>"
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.dialogs == []
    assert page.locator("#cases img, #cases svg, a[href^='javascript:'], #cases script").count() == 0
    assert [u for u in page.requests if not u.startswith("file:")] == []
    assert page.locator("#verdict").inner_text().startswith("Release verdict: FAIL")
    assert page.locator("svg.chart").count() >= 2


def test_search_and_filters_change_the_rows(page: Any) -> None:
    assert _visible_cases(page) == 14
    page.fill("#search", "30 days")
    assert _visible_cases(page) == 1 and page.locator("#shown").inner_text() == "1"
    page.fill("#search", "")
    page.select_option("#f-status", "error")
    assert _visible_cases(page) == 1
    page.select_option("#f-status", "failed")
    failed = _visible_cases(page)
    assert 0 < failed < 14
    page.select_option("#f-status", "")
    page.fill("#search", "onerror")
    assert _visible_cases(page) == 1


def test_drill_down_shows_the_escaped_text(page: Any) -> None:
    row = page.locator("#cases tr.case", has_text="case-01")
    detail = page.locator("#detail-1")
    assert not detail.is_visible()
    row.locator("button.toggle").click()
    assert detail.is_visible()
    assert detail.locator("pre.output").inner_text() == '<img src=x onerror="window.__xss=1"> answer 1'
    assert "F=0.35" in detail.locator("td.explanation").first.inner_text()
    assert detail.locator("pre.prompt").inner_text().startswith("Q: question case-01?")
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_baseline_and_groups_sections(page: Any) -> None:
    assert not page.locator("#diff-regressed").is_visible()  # the baseline section starts collapsed ...
    page.locator("#regressions li.regression a", has_text="support::case-11").click()
    assert "case-11" in page.locator("#diff-regressed").inner_text()  # ... and the first screen's link opens it
    assert page.locator("table.groups tbody tr").count() == 2


@pytest.fixture
def big_page(browser: Any, tmp_path: Path, make_case: Any) -> Any:
    """250 cases (three pages): one hostile output, one 50,000-character output, one needle on the last page."""
    rows = [make_case(f"c{i:03d}", rouge=0.3 + (i % 5) * 0.1) for i in range(250)]
    rows[7] = make_case("c007", output="ok\x1b[2J\rbell\x07 \u202eexe.txt")
    rows[8] = make_case("c008", output="x" * 50_000)
    rows[242] = make_case("c242", output="the needle is here")
    context = browser.new_context(offline=True)
    page = context.new_page()
    page.goto(render_html(rows, tmp_path / "big.html").as_uri())
    open_cases(page)
    yield page
    context.close()


def test_case_table_is_paginated_and_search_covers_every_page(big_page: Any) -> None:
    page = big_page
    assert _visible_cases(page) == 100 and page.locator("#page-info").inner_text() == "page 1 of 3"
    assert page.locator("#cases tr.case").first.locator("td.case-id").inner_text() == "c000"
    page.click("#page-next")
    page.click("#page-next")
    assert _visible_cases(page) == 50 and page.locator("#page-info").inner_text() == "page 3 of 3"
    assert page.locator("#page-next").is_disabled()
    page.click("#page-prev")
    page.click("#page-prev")
    page.fill("#search", "needle")
    assert _visible_cases(page) == 1 and page.locator("#shown").inner_text() == "1"
    assert page.locator("#page-info").inner_text() == "page 1 of 1"
    page.locator("#cases tr.case button.toggle").click()
    assert page.locator("#detail-242 pre.output").inner_text() == "the needle is here"
    page.fill("#search", "")
    page.select_option("#f-status", "failed")
    assert page.locator("#shown").inner_text() == "100"  # rougeL 0.3 and 0.4 fail: 2 in 5, over all pages


def test_hostile_and_long_texts_show_escaped_and_cut(big_page: Any) -> None:
    page = big_page
    page.locator("#cases tr.case", has_text="c007").locator("button.toggle").click()
    assert page.locator("#detail-7 pre.output").inner_text() == "ok\\x1b[2J\\rbell\\x07 \\u202eexe.txt"
    page.locator("#cases tr.case", has_text="c008").locator("button.toggle").click()
    shown = page.locator("#detail-8 pre.output").inner_text()
    assert shown.startswith("x" * 2000) and shown.endswith("[cut here: 48,000 more characters in the results file]")


def test_a_robustness_break_is_shown_side_by_side(browser: Any, tmp_path: Path, make_case: Any) -> None:
    row = make_case("faq-1", output="Sorry, I do not know.")
    minimal = {
        "change": "typo delete: 'return' -> 'rturn'",
        "original_prompt": "Can I return this?",
        "perturbed_prompt": "Can I rturn this?",
        "original_output": "You have 30 days.",
        "perturbed_output": "<b>Sorry</b>, I do not know.",
    }
    row["scores"]["robustness"] = {
        "value": 0.5,
        "threshold": {"min": 1.0},
        "passed": False,
        "explanation": "broke",
        "metadata": {"minimal": minimal},
    }
    context = browser.new_context(offline=True)
    page = context.new_page()
    page.goto(render_html([row, make_case("faq-2")], tmp_path / "r.html").as_uri())
    open_cases(page)
    page.locator("#cases tr.case", has_text="faq-1").locator("button.toggle").click()
    box = page.locator("#detail-0 .minimal-break")
    assert "typo delete: 'return' -> 'rturn'" in box.locator("h3").inner_text()
    cells = box.locator("td pre").all_inner_texts()
    assert cells == ["Can I return this?", "Can I rturn this?", "You have 30 days.", "<b>Sorry</b>, I do not know."]
    page.locator("#cases tr.case", has_text="faq-2").locator("button.toggle").click()
    assert page.locator("#detail-1 .minimal-break").count() == 0
    context.close()
