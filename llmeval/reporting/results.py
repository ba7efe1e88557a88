"""The results file (JSON Lines): writing it safely, reading it back, pandas and CSV/Parquet exports."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TextIO

from llmeval.errors import LlmevalError

if TYPE_CHECKING:
    import pandas

_CASE_COLUMNS = (
    "run_id",
    "suite",
    "suite_path",
    "case",
    "line",
    "model",
    "model_label",
    "sample",
    "prompt",
    "output",
    "reference",
    "passed",
    "error",
    "latency_s",
    "cached",
)


WriteMode = Literal["overwrite", "append", "refuse"]


def row_line(row: Mapping[str, Any]) -> str:
    """One row of the results file: a JSON line."""
    return json.dumps(row, ensure_ascii=False, default=str) + "\n"


WRITE_MODES: tuple[WriteMode, ...] = ("overwrite", "append", "refuse")


class ResultsWriter:
    """Streams one JSON line per row: flushed to the OS at each row, fsync'd per batch and at close.

    A crashed process loses nothing (flushed rows are in the OS); a crashed machine loses at most the rows
    since the last fsync: `sync_rows` rows or `sync_seconds` seconds. `mode`: ``overwrite`` (a fresh file),
    ``append`` (add to an existing file) or ``refuse`` (an error when the file already exists).
    """

    def __init__(
        self, path: str | Path, *, mode: WriteMode = "overwrite", sync_rows: int = 1000, sync_seconds: float = 2.0
    ) -> None:
        if mode not in WRITE_MODES:
            raise ValueError(f"results mode must be one of {', '.join(WRITE_MODES)}, got {mode!r}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.sync_rows, self.sync_seconds = sync_rows, sync_seconds
        self._file = self._open(mode)
        self._unsynced, self._synced_at = 0, time.monotonic()

    def _open(self, mode: WriteMode) -> TextIO:
        if mode == "refuse":
            try:
                return self.path.open("x", encoding="utf-8")
            except FileExistsError:
                raise LlmevalError(
                    f"results file {self.path} already exists; remove it, or append to it (--llmeval-append)"
                ) from None
        return self.path.open("a" if mode == "append" else "w", encoding="utf-8")

    def write(self, row: Mapping[str, Any]) -> None:
        self._file.write(row_line(row))
        self._file.flush()
        self._unsynced += 1
        if self._unsynced >= self.sync_rows or time.monotonic() - self._synced_at >= self.sync_seconds:
            self.sync()

    def sync(self) -> None:
        """Force the rows written so far onto the disk."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._unsynced, self._synced_at = 0, time.monotonic()

    def close(self) -> None:
        if not self._file.closed:
            self.sync()
            self._file.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """Every row of a results file; a bad line raises an error naming file:line."""
    p = Path(path)
    if not p.is_file():
        raise LlmevalError(f"results file {p} does not exist; write one with pytest --llmeval-results {p}")
    rows = []
    with p.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LlmevalError(f"{p}:{number}: not a JSON object ({exc.msg} at column {exc.colno})") from None
            if not isinstance(row, dict):
                raise LlmevalError(f"{p}:{number}: expected a JSON object per line, got {type(row).__name__}")
            rows.append(row)
    return rows


def _flat(row: Mapping[str, Any]) -> dict[str, Any]:
    flat = {key: row.get(key) for key in _CASE_COLUMNS}
    tokens = row.get("tokens") or {}
    flat["tokens.prompt"] = tokens.get("prompt")
    flat["tokens.completion"] = tokens.get("completion")
    flat["tags"] = ",".join(row.get("tags") or [])
    for name, score in (row.get("scores") or {}).items():
        flat[f"score.{name}"] = score.get("value")
        flat[f"passed.{name}"] = score.get("passed")
    for name, value in (row.get("vars") or {}).items():
        flat[f"var.{name}"] = value if isinstance(value, (str, int, float, bool)) or value is None else json.dumps(value)
    return flat


def rows_frame(rows: Iterable[Mapping[str, Any]]) -> pandas.DataFrame:
    """A DataFrame of the case rows: one row per case × model × sample, a column per score."""
    import pandas as pd

    records = [_flat(r) for r in rows if r.get("kind", "case") == "case"]
    frame = pd.DataFrame.from_records(records, columns=None if records else list(_CASE_COLUMNS))
    return frame


def load_results(path: str | Path) -> pandas.DataFrame:
    """Read a results file into pandas: ``score.<metric>`` and ``passed.<metric>`` columns per scorer."""
    return rows_frame(read_rows(path))


def export(rows: Iterable[Mapping[str, Any]], csv: str | Path | None = None, parquet: str | Path | None = None) -> list[Path]:
    """Write the case rows as CSV and/or Parquet; returns the paths written."""
    frame = rows_frame(rows)
    written = []
    if csv is not None:
        Path(csv).parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(csv, index=False)
        written.append(Path(csv))
    if parquet is not None:
        Path(parquet).parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(parquet, index=False)
        written.append(Path(parquet))
    return written
