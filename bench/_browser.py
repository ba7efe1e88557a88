"""Time to open an HTML report in headless Chromium (Debian's, driven by playwright), offline."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
READY = "#cases[data-ready]"  # set by the report's script once the case table is usable


def open_time(report: Path, *, timeout_s: float = 600.0) -> dict[str, Any]:
    """Seconds from navigation to the load event and to a usable case table; {"skipped": why} without Chromium."""
    if not os.path.exists(CHROMIUM):
        return {"skipped": f"{CHROMIUM} is missing (apt-get install chromium)"}
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "playwright is not installed"}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            return _timed(browser, report, timeout_s)
        finally:
            browser.close()


def _timed(browser: Any, report: Path, timeout_s: float) -> dict[str, Any]:
    page = browser.new_context(offline=True).new_page()
    page.set_default_timeout(timeout_s * 1000)
    started = time.perf_counter()
    page.goto(report.as_uri(), wait_until="load")
    loaded = time.perf_counter() - started
    ready = None
    if page.locator("#cases").count():
        try:
            page.wait_for_selector(READY, state="attached")
            ready = time.perf_counter() - started
        except Exception:  # an old report without the marker: the load event is all there is
            ready = None
    rows = page.locator("#cases tbody tr.case").count()
    return {"load_s": loaded, "ready_s": ready if ready is not None else loaded, "rows_rendered": rows}
