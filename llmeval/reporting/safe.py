"""Display-safe text: model and case text shown with control and bidi characters escaped, never acted on.

A terminal obeys ESC sequences, ``\\r`` and BEL; a browser and a terminal both reorder text around bidi
overrides (U+202E shows ``exe.txt`` as ``txt.exe``). Every place that shows untrusted text passes it
through `display` first: those characters then read as ``\\x1b``, ``\\r``, ``\\u202e``.
"""

from __future__ import annotations

_C0 = range(0x00, 0x20)
_C1 = range(0x7F, 0xA0)  # DEL and the C1 controls (0x9b is a one-byte CSI on some terminals)
_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_LINES = (0x2028, 0x2029)  # line/paragraph separators: a line break to some terminals, invisible to others


_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}


def _escaped(code: int) -> str:
    if code in _NAMED:
        return _NAMED[code]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _table(keep: str) -> dict[int, str]:
    codes = (*_C0, *_C1, *_BIDI, *_LINES)
    return {code: _escaped(code) for code in codes if chr(code) not in keep}


_TABLES = {keep: _table(keep) for keep in ("\n\t", "\t", "")}


def display(text: object, *, newlines: bool = True, tabs: bool = True) -> str:
    """`text` as a string with every control and bidi character escaped (``\\n``/``\\t`` kept when allowed)."""
    keep = ("\n" if newlines else "") + ("\t" if tabs else "")
    table = _TABLES.get(keep) or _table(keep)
    return str(text).translate(table)


def display_line(text: object) -> str:
    """`display` for one terminal line: a newline reads as ``\\n`` and a tab as ``\\t``."""
    return display(text, newlines=False, tabs=False)
