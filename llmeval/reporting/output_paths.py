"""Output paths: checked writable before a run does any work; a write that still fails goes to a fallback file.

A check creates nothing: an existing output must be a regular file we can open for writing; a new one needs its
nearest existing folder to take a file (probed with an unnamed temporary file, which leaves no trace).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from llmeval.errors import LlmevalError
from llmeval.reporting.results import ResultsWriter, WriteMode

T = TypeVar("T")
Row = dict[str, Any]
EXIT_UNWRITABLE = 4  # an output that cannot be written is a usage error, at start-up or at the end


def unwritable(path: Path) -> str | None:
    """Why `path` cannot be written (without creating anything), or None when it can."""
    if path.is_dir():
        return "it is a folder"
    if path.exists():
        if not path.is_file():
            return "it is not a regular file"
        try:
            path.open("ab").close()
        except OSError as exc:
            return exc.strerror or str(exc)
        return None
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is not a folder"
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        return f"cannot create files in {folder}: {exc.strerror or exc}"
    return None


def check_outputs(outputs: Iterable[tuple[str, Path]]) -> None:
    """A usage error naming the option and the path of the first output that cannot be written."""
    for option, path in outputs:
        reason = unwritable(path)
        if reason is not None:
            raise LlmevalError(f"{option} {path}: cannot write there ({reason}); give a writable path")


def settings_outputs(settings: Any, root: Path, flag: Callable[[str], str], *, results: bool) -> list[tuple[str, Path]]:
    """(option, path) of the files the settings ask for; the results file also when `results` (written by default)."""
    outputs = [(flag("results"), settings.results_path(root))] if results or settings.results else []
    outputs += [
        (flag(name.replace("_", "-")), root / value)
        for name in ("html", "save_baseline", "history", "prometheus")
        if (value := getattr(settings, name))
    ]
    return outputs


class Fallback:
    """Writes that failed: each goes again to a private temporary folder; `messages` say where, for the user."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._folder: Path | None = None

    def write(self, what: str, path: Path, write: Callable[[Path], T]) -> tuple[Path, T | None]:
        """`write(path)`; if that fails, `write(spare path)`. The path written (or the one that failed), the result."""
        try:
            return path, write(path)
        except OSError as exc:
            return self.spare(what, path, exc, write)

    def spare(self, what: str, path: Path, error: OSError, write: Callable[[Path], T]) -> tuple[Path, T | None]:
        """`write` to the spare path of `path`, after writing `path` failed with `error`."""
        reason = _reason(error)
        try:
            spare = self.path_for(path)
            result = write(spare)
        except OSError as exc:
            self.messages.append(f"could not write the {what} to {path} ({reason}), nor to a temporary file ({_reason(exc)})")
            return path, None
        self.messages.append(f"could not write the {what} to {path} ({reason}); it was written to {spare} instead")
        return spare, result

    def path_for(self, path: Path) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="llmeval-unwritten-"))
        return self._folder / path.name


class SafeResults:
    """The results file, streamed row by row; if it cannot be opened, or a write fails, the rows so far and the
    rest go to the fallback file instead (the computed results are never lost to a bad path or a full disk)."""

    def __init__(self, path: Path, mode: WriteMode, fallback: Fallback, rows_so_far: Callable[[], Iterable[Row]]) -> None:
        self._fallback, self._rows_so_far = fallback, rows_so_far
        self.path, self._writer = fallback.write("results", path, lambda p: self._start(p, mode))

    def _start(self, path: Path, mode: WriteMode) -> ResultsWriter:
        writer = ResultsWriter(path, mode=mode)
        try:
            for row in self._rows_so_far():
                writer.write(row)
        except OSError:
            _close_quietly(writer)
            raise
        return writer

    def write(self, row: Row) -> None:
        if self._writer is None:
            return  # neither the path nor a temporary file could be written: the message says so
        try:
            self._writer.write(row)
        except OSError as exc:
            _close_quietly(self._writer)
            self.path, self._writer = self._fallback.spare("results", self.path, exc, lambda p: self._start(p, "overwrite"))
            if self._writer is not None:
                self._writer.write(row)

    def close(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except OSError as exc:
                self._fallback.messages.append(f"could not finish the results file {self.path} ({_reason(exc)})")
            self._writer = None


def _reason(error: OSError) -> str:
    """`No such file or directory: /x/y`: the error and the file it concerns."""
    return f"{error.strerror}: {error.filename}" if error.strerror and error.filename else str(error)


def _close_quietly(writer: ResultsWriter) -> None:
    try:
        writer.close()
    except OSError:
        pass
