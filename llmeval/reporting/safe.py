"""Model text is untrusted: neutralise control characters and bidi overrides before showing it."""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def display(text: str) -> str:
    """The text with C0/C1 controls (except newline and tab) and bidi controls shown escaped (``\\x1b``)."""
    return _UNSAFE.sub(lambda m: _escape(m.group()), text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
