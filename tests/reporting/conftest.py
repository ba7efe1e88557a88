"""Constructed result rows for reporting tests, with XSS probes planted in model text."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.reporting.chromium import CHROMIUM, CHROMIUM_ARGS

PROBES = (
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    '<a href="javascript:window.__xss=1">click me</a>',
    "</script><script>window.__xss=1</script>",
    '"><svg onload="window.__xss=1">',
)


def case_row(
    case: str,
    model: str = "hf:fixtures/models/support-tiny",
    *,
    suite: str = "support",
    sample: int = 0,
    rouge: float = 0.6,
    contains: float = 1.0,
    output: str | None = None,
    error: str | None = None,
    group: str = "en",
) -> dict[str, Any]:
    """A case row with rougeL and contains scores (rougeL passes at >= 0.5)."""
    scores = {
        "rougeL": {
            "value": rouge,
            "threshold": {"min": 0.5},
            "passed": rouge >= 0.5,
            "explanation": f"F={rouge:.2f}",
            "signature": "rouge-score 0.1.2",
        },
        "contains": {"value": contains, "threshold": {"min": 1.0}, "passed": contains >= 1, "explanation": "found"},
    }
    return {
        "kind": "case",
        "run_id": "run1",
        "suite": suite,
        "suite_path": f"suites/{suite}.yaml",
        "case": case,
        "line": 3,
        "model": model,
        "model_label": model.split("/")[-1],
        "sample": sample,
        "prompt": f"Q: question {case}?\nA:",
        "output": output if output is not None else f"answer to {case}",
        "reference": f"reference {case}",
        "references": [f"reference {case}"],
        "scores": {} if error else scores,
        "passed": error is None and all(s["passed"] for s in scores.values()),
        "error": error,
        "latency_s": 0.02,
        "tokens": {"prompt": 5, "completion": 7},
        "tags": ["faq"],
        "vars": {"group": group},
        "cached": False,
    }


def probe_rows() -> list[dict[str, Any]]:
    """Twelve cases: five carry an XSS probe in their output, one errored, some fail."""
    rows = []
    for i in range(12):
        output = f"{PROBES[i % len(PROBES)]} answer {i}" if i < len(PROBES) else None
        rows.append(case_row(f"case-{i:02d}", rouge=0.3 + 0.05 * i, output=output, group=("en", "de")[i % 2]))
    rows.append(case_row("broken", error="BackendError: <b>timeout</b>"))
    rows.append(case_row("needle-refund", rouge=0.9, output="You have 30 days to return an item."))
    return rows


@pytest.fixture
def make_case() -> Callable[..., dict[str, Any]]:
    return case_row


@pytest.fixture
def rows_with_probes() -> list[dict[str, Any]]:
    return probe_rows()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by playwright (no browser download)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()
