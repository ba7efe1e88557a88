"""Case tables (CSV, JSON Lines, Parquet) read with pandas; every row keeps its file and line."""

from __future__ import annotations

import math
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmeval.errors import SuiteError

MAX_TABLE_BYTES = 256 * 2**20
MAX_TABLE_ROWS = 1_000_000
MAX_DEPTH = 64
READERS = {".csv": "read_csv", ".jsonl": "read_json", ".parquet": "read_parquet"}


@dataclass(frozen=True)
class Row:
    values: dict[str, Any]
    number: int  # 1-based row number
    path: str
    line: int  # line in the table file (row number for Parquet)


def read_table(path: Path, *, suite_path: str, line: int) -> list[Row]:
    """Read a case table; a missing or unreadable file is a SuiteError at the suite's cases_from line."""
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise SuiteError(
            f"cannot read case table '{path}': unsupported file type '{suffix}'",
            path=suite_path,
            line=line,
            key="cases_from",
            hint="use a .csv, .jsonl or .parquet file",
        )
    _check_file(path, suite_path, line)
    frame = _read_frame(path, suffix, suite_path, line)
    if len(frame) > MAX_TABLE_ROWS:
        raise _table_error(path, suite_path, line, f"it has {len(frame):,} rows, more than {MAX_TABLE_ROWS:,}")
    offset = 2 if suffix == ".csv" else 1  # CSV rows start after the header line
    rows = [
        Row({str(k): _plain(v) for k, v in record.items()}, i + 1, str(path), i + offset)
        for i, record in enumerate(frame.to_dict(orient="records"))
    ]
    for row in rows:
        _check_depth(row)
    return rows


def _check_file(path: Path, suite_path: str, line: int) -> None:
    """The table must be an existing regular file (not a device, FIFO or folder) of a bounded size."""
    try:
        info = path.stat()
    except OSError:
        raise SuiteError(
            f"case table not found: {path}",
            path=suite_path,
            line=line,
            key="cases_from",
            hint="the path is relative to the suite file's folder",
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise _table_error(path, suite_path, line, "it is not a regular file")
    if info.st_size > MAX_TABLE_BYTES:
        raise _table_error(path, suite_path, line, f"it is larger than {MAX_TABLE_BYTES // 2**20} MiB")


def _read_frame(path: Path, suffix: str, suite_path: str, line: int) -> Any:
    import pandas as pd

    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        if suffix == ".jsonl":
            return pd.read_json(path, lines=True, dtype=False)
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001  (whatever a parser raises on a broken file is the suite's error)
        raise SuiteError(
            f"cannot parse case table {path}: {type(exc).__name__}: {exc}",
            path=suite_path,
            line=line,
            key="cases_from",
            hint="check the file's format (CSV needs a header row; JSON Lines one object per line)",
        ) from None


def _table_error(path: Path, suite_path: str, line: int, problem: str) -> SuiteError:
    return SuiteError(
        f"cannot read case table {path}: {problem}",
        path=suite_path,
        line=line,
        key="cases_from",
        hint=f"case tables are regular files of at most {MAX_TABLE_BYTES // 2**20} MiB and {MAX_TABLE_ROWS:,} rows",
    )


def _check_depth(row: Row) -> None:
    """Nested JSON values may be at most MAX_DEPTH deep (deeper ones break rendering and hashing)."""
    stack = [(v, 1) for v in row.values.values() if isinstance(v, (list, dict))]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise SuiteError(f"a value in this row is nested more than {MAX_DEPTH} deep", path=row.path, line=row.line)
        children = value.values() if isinstance(value, dict) else value
        stack.extend((c, depth + 1) for c in children if isinstance(c, (list, dict)))


def _plain(value: Any) -> Any:
    """numpy scalars to Python, NaN to None, so vars serialise and render cleanly."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            value = value.tolist() if hasattr(value, "tolist") else value
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
