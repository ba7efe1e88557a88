"""Where a suite may read files: inside the project root or a folder the user allowed, never a special file.

Paths are checked after following symlinks, so a link inside the project that points elsewhere is
refused too. The roots come from the front end: pytest's rootdir, the folder ``llmeval run`` works in
and the folders it is given, plus ``--llmeval-allow-path DIR`` / ``[tool.llmeval] allow_paths``.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from llmeval.errors import SuiteError

SPECIAL = (Path("/proc"), Path("/sys"), Path("/dev"))
"""Pseudo-file systems whose 'files' are live process or device state: never read, even when allowed."""
ALLOW_HINT = (
    "move the file into the project, or allow its folder explicitly: --llmeval-allow-path DIR "
    '(llmeval run/validate: --allow-path DIR) or allow_paths = ["DIR"] in [tool.llmeval] of pyproject.toml'
)


@dataclass(frozen=True)
class Confinement:
    """The folders a suite's file references must resolve into (symlinks followed)."""

    roots: tuple[Path, ...]

    @classmethod
    def of(cls, root: str | Path, allowed: Iterable[str | Path] = ()) -> Confinement:
        """The project root and the allowed folders (relative ones are taken from the root)."""
        base = Path(root)
        return cls(tuple(dict.fromkeys((base / p).resolve() for p in (".", *allowed))))

    def check(self, path: Path, *, suite_path: str, line: int, key: str) -> Path:
        """`path` resolved; outside every root, or a special file, is a SuiteError at the suite's line."""
        resolved = path.resolve()
        problem, hint = _special(resolved), "suites read regular files (CSV, JSON Lines, Parquet, sources) only"
        if problem is None and not any(resolved.is_relative_to(root) for root in self.roots):
            inside = " or ".join(str(r) for r in self.roots)
            problem, hint = f"it resolves to {resolved}, outside the project ({inside})", ALLOW_HINT
        if problem is None:
            return resolved
        raise SuiteError(f"{key} '{path}' is refused: {problem}", path=suite_path, line=line, key=key, hint=hint)

    def folder_of(self, pattern: str, base: Path) -> Path:
        """The fixed folder a glob starts from (the parts before its first wildcard)."""
        fixed = []
        for part in Path(pattern).parts:
            if any(c in part for c in "*?["):
                break
            fixed.append(part)
        return base.joinpath(*fixed) if fixed else base


def _special(resolved: Path) -> str | None:
    if any(resolved == s or resolved.is_relative_to(s) for s in SPECIAL):
        return "it is a special file (/proc, /sys and /dev hold process and device state, not data)"
    try:
        mode = resolved.stat().st_mode
    except OSError:
        return None  # a missing file is reported by its reader, with the path it was given
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
        return "it is a special file (a FIFO, socket or device), not a regular file"
    return None
