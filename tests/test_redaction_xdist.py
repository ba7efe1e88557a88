"""Redaction under pytest-xdist is decided over the whole run on the controller: a value found in one suite is
masked in another suite run on another worker, in the results, HTML, JUnit and terminal, as a serial run masks it."""

from __future__ import annotations

import json

import pytest

from tests.test_redaction import html_text

APP = """
def first(prompt, vars):
    return ("Refund sent to card 4111 1111 1111 1111 for Margaret Thompson, mail margaret.thompson@example.com, "
            "call +1 212 555 0182, IBAN GB82 WEST 1234 5698 7654 32.")

def second(prompt, vars):
    # each value again, in a form the detector does not find on its own
    return ("Card 41 11 11 11-1111-1111 noted; THOMPSON asked; mail margaret.thompson@exampl… ; "
            "iban gb82west12345698765432; tel 2125550182")
"""
SUITE = (
    'suite: {name}\nmodel: python:app:{fn}\nprompt: "hello"\ndefaults:\n  scorers: [{{contains: "never"}}]\n'
    "cases:\n  - {{id: c}}\n"
)
PLANTED = (
    "4111 1111 1111 1111",
    "41 11 11 11-1111-1111",
    "Margaret",
    "Thompson",
    "THOMPSON",
    "margaret.thompson@exampl",
    "212 555 0182",
    "2125550182",
    "GB82 WEST 1234",
    "gb82west1234",
)


@pytest.fixture
def two_suites(pytester):
    pytester.makepyfile(app=APP)
    pytester.makefile(".yaml", alpha=SUITE.format(name="alpha", fn="first"), beta=SUITE.format(name="beta", fn="second"))
    return pytester


def run(pytester, name, *args):
    """One run writing every output under `name`; what it wrote and showed, and its case outputs by suite."""
    result = pytester.runpytest_subprocess(
        *args,
        "--llmeval-redact-pii",
        "--llmeval-cache",
        "off",
        "--llmeval-results",
        f"{name}.jsonl",
        "--llmeval-html",
        f"{name}.html",
        "--junitxml",
        f"{name}.xml",
    )
    result.assert_outcomes(failed=2)
    rows = [json.loads(line) for line in (pytester.path / f"{name}.jsonl").read_text().splitlines()]
    shown = {
        "terminal": result.stdout.str(),
        "results": (pytester.path / f"{name}.jsonl").read_text(),
        "html": html_text(pytester.path / f"{name}.html"),
        "junit": (pytester.path / f"{name}.xml").read_text(),
    }
    return shown, {r["suite"]: r["output"] for r in rows if r["kind"] == "case"}


def test_xdist_masks_exactly_what_a_serial_run_masks(two_suites):
    serial_shown, serial = run(two_suites, "serial")
    xdist_shown, xdist = run(two_suites, "xdist", "-n", "2", "--dist", "loadfile")  # one suite per worker
    assert xdist == serial
    for shown in (serial_shown, xdist_shown):
        for where, text in shown.items():
            assert [value for value in PLANTED if value in text] == [], where
    assert "<CREDIT_CARD> noted; <PERSON> asked" in xdist["beta"]
    assert "<CREDIT_CARD> noted" in xdist_shown["terminal"] and "&lt;CREDIT_CARD&gt; noted" in xdist_shown["junit"]
