"""Case tables (CSV, JSON Lines, Parquet) read with pandas; every row keeps its file and line."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmeval.errors import SuiteError

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
    if not path.is_file():
        raise SuiteError(
            f"case table not found: {path}",
            path=suite_path,
            line=line,
            key="cases_from",
            hint="the path is relative to the suite file's folder",
        )
    import pandas as pd

    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        elif suffix == ".jsonl":
            frame = pd.read_json(path, lines=True, dtype=False)
        else:
            frame = pd.read_parquet(path)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise SuiteError(
            f"cannot parse case table {path}: {exc}",
            path=suite_path,
            line=line,
            key="cases_from",
            hint="check the file's format (CSV needs a header row; JSON Lines one object per line)",
        ) from None
    offset = 2 if suffix == ".csv" else 1  # CSV rows start after the header line
    return [
        Row({str(k): _plain(v) for k, v in record.items()}, i + 1, str(path), i + offset)
        for i, record in enumerate(frame.to_dict(orient="records"))
    ]


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
