"""Release gate end to end: baselines, a planted regression exits 1 and is named, JUnit validates against the XSD."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

APP = """
import hashlib

ANSWERS = {i: f"Your order number {i} ships from the warehouse in {i % 5 + 2} business days by courier." for i in range(40)}

def good(prompt, vars):
    return ANSWERS[int(vars["n"])]

def worse(prompt, vars):
    n = int(vars["n"])
    # a planted regression: a third of the answers lose their key facts
    return ANSWERS[n] if n % 3 else "Thank you for your message, we will get back to you."

def jitter(prompt, vars):
    n = int(vars["n"])
    # same quality as good(), different wording on a few cases (noise, not a regression)
    text = ANSWERS[n]
    return text.replace("by courier", "via courier") if n % 7 == 0 else text
"""


def _suite(version: str = "1") -> str:
    cases = "\n".join(f'  - {{id: c{i}, vars: {{n: {i}}}, reference: "{_ref(i)}"}}' for i in range(40))
    return (
        f'suite: orders\nversion: "{version}"\nmodel: python:app:good\nprompt: "Where is order {{{{ n }}}}?"\n'
        "defaults:\n  scorers:\n    - rougeL: {min: 0.5}\n"
        f"cases:\n{cases}\n"
        'gates:\n  - {metric: rougeL, mean: ">= 0.6", ci: 0.95}\n'
        "regression:\n  - {metric: rougeL, max_drop: 0.02}\n"
    )


def _ref(i: int) -> str:
    return f"Your order number {i} ships from the warehouse in {i % 5 + 2} business days by courier."


@pytest.fixture
def project(pytester):
    pytester.makepyfile(app=APP)
    pytester.makefile(".yaml", orders=_suite())
    result = pytester.runpytest("--llmeval-save-baseline", "baseline.json")
    result.assert_outcomes(passed=41, skipped=1)  # the regression gate: nothing to compare with while recording
    return pytester


def test_baseline_file_is_written_and_readable(project):
    data = json.loads((project.path / "baseline.json").read_text())
    assert data["format"] == "llmeval-baseline/1"
    assert len(data["cases"]) == 40


def test_planted_regression_fails_the_build_and_is_named(project):
    result = project.runpytest("--llmeval-model", "python:app:worse", "--llmeval-baseline", "baseline.json")
    assert result.ret == 1
    out = result.stdout.str()
    assert "RELEASE VERDICT: FAIL" in out
    assert "FAILED orders.yaml::gate:rougeL-regression[worse]" in out
    assert "why: significant regression: orders [python:app:worse] rougeL: drop" in out
    assert "baseline made by model 'python:app:good'" in out


def test_noise_is_not_a_regression(project):
    result = project.runpytest("--llmeval-model", "python:app:jitter", "--llmeval-baseline", "baseline.json")
    assert result.ret == 0, result.stdout.str()
    assert "RELEASE VERDICT: PASS" in result.stdout.str()


def test_new_and_missing_cases_and_suite_version_are_reported(project):
    suite = _suite(version="2").replace("  - {id: c39,", "  - {id: c99,")
    (project.path / "orders.yaml").write_text(suite)
    result = project.runpytest("--llmeval-baseline", "baseline.json")
    out = result.stdout.str()
    assert "1 cases new to, 1 missing from the baseline" in out
    assert "version" in out


def test_html_report_is_written(project):
    project.runpytest("--llmeval-html", "report.html", "--llmeval-baseline", "baseline.json")
    from tests.test_redaction import html_text

    html = html_text(project.path / "report.html")
    assert "<html" in html and "orders" in html and '"c17"' in html


@pytest.mark.parametrize(("mode", "xsd"), [("testcase", "junit-10-llmeval.xsd"), ("testsuite", "junit-10.xsd")])
def test_junit_validates_against_the_schema(project, mode, xsd):
    import xmlschema

    project.runpytest("--junitxml", "junit.xml", "--llmeval-junit-properties", mode, "--llmeval-model", "python:app:worse")
    schema = xmlschema.XMLSchema(str(ROOT / "fixtures" / "junit" / xsd))
    errors = [e.reason for e in schema.iter_errors(str(project.path / "junit.xml"))]
    assert errors == []
    text = (project.path / "junit.xml").read_text()
    assert "llmeval.score.rougeL" in text and "llmeval.threshold" in text
