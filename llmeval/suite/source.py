"""Reading a suite file's bytes: recognise a suite, bound its size, decode it as UTF-8 with a line on failure."""

from __future__ import annotations

import codecs
import re
import stat
from pathlib import Path

from llmeval.errors import SuiteError

MAX_SUITE_BYTES = 4 * 1024 * 1024
"""A suite file larger than this is refused (case data belongs in tables: `cases_from:`)."""

_SUITE_KEY = re.compile(rb"^(?:\xef\xbb\xbf)?suite:", re.MULTILINE)
_WIDE_BOMS = {
    codecs.BOM_UTF32_LE: "utf-32-le",
    codecs.BOM_UTF32_BE: "utf-32-be",
    codecs.BOM_UTF16_LE: "utf-16-le",
    codecs.BOM_UTF16_BE: "utf-16-be",
}


def is_suite_file(path: Path) -> bool:
    """A .yaml/.yml regular file whose first MAX_SUITE_BYTES hold a line starting with `suite:`.

    The check reads raw bytes, so a suite that is not valid UTF-8 is still recognised (and then
    reported, not skipped); a UTF-16/32 file with a byte-order mark is decoded for the check.
    """
    if path.suffix not in (".yaml", ".yml"):
        return False
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return False
        with path.open("rb") as fh:
            head = fh.read(MAX_SUITE_BYTES)
    except OSError:
        return False
    encoding = _wide_encoding(head)
    if encoding is not None:
        head = head.decode(encoding, errors="replace").encode("utf-8")
    return _SUITE_KEY.search(head) is not None


def read_suite_text(path: str | Path) -> str:
    """The file's text; too large, not a regular file or not UTF-8 is a SuiteError naming file:line."""
    raw = _read_bounded(Path(path))
    encoding = _wide_encoding(raw)
    if encoding is not None:
        raise SuiteError(
            f"the file is encoded as {encoding.upper()}; suites must be UTF-8",
            path=str(path),
            line=1,
            hint="save the file as UTF-8 (in most editors: 'Save with encoding' > UTF-8)",
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 4].hex(" ")
        raise SuiteError(
            f"the file is not valid UTF-8: byte {exc.start} (0x{bad}) cannot be decoded",
            path=str(path),
            line=raw.count(b"\n", 0, exc.start) + 1,
            hint="save the file as UTF-8; a Latin-1 or Windows-1252 editor setting is the usual cause",
        ) from None


def _read_bounded(path: Path) -> bytes:
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise SuiteError("not a regular file", path=str(path), hint="point at a .yaml suite file")
        with path.open("rb") as fh:
            raw = fh.read(MAX_SUITE_BYTES + 1)
    except OSError as exc:
        raise SuiteError(f"cannot read the file: {exc.strerror or exc}", path=str(path)) from None
    if len(raw) > MAX_SUITE_BYTES:
        raise SuiteError(
            f"the file is larger than {MAX_SUITE_BYTES // (1024 * 1024)} MiB, the limit for a suite",
            path=str(path),
            hint="move case data into a table and load it with `cases_from: cases.csv` (or .jsonl, .parquet)",
        )
    return raw


def _wide_encoding(raw: bytes) -> str | None:
    """UTF-16/32 named by a byte-order mark (UTF-32-LE first: its mark starts with UTF-16-LE's)."""
    return next((name for bom, name in _WIDE_BOMS.items() if raw.startswith(bom)), None)
