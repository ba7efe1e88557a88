"""Where the browser tests find Chromium: Debian's package, driven by playwright (no browser download)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from bench._browser import ARGS as CHROMIUM_ARGS  # noqa: F401 (one list of flags for the bench and the tests)
from bench._browser import CHROMIUM

needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
)


def open_cases(page: Any) -> None:
    """Expand the case table (its section starts collapsed) and wait until the page's script has filled it."""
    page.click("#cases-section > summary")
    page.wait_for_selector("#cases[data-ready]", state="visible", timeout=10_000)
