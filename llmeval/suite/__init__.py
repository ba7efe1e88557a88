"""Suite files: load, validate, expand."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmeval.errors import LlmevalError, SuiteError
from llmeval.suite.source import is_suite_file

if TYPE_CHECKING:
    from llmeval.suite.model import Case, Gate, Suite

__all__ = ["Case", "Gate", "Suite", "is_suite_file", "load_suite"]


def __getattr__(name: str) -> Any:
    """The suite model loads on first use: the plugin asks `is_suite_file` of every file pytest collects."""
    if name in ("Case", "Gate", "Suite"):
        from llmeval.suite import model

        return getattr(model, name)
    raise AttributeError(f"module 'llmeval.suite' has no attribute {name!r}")


def load_suite(path: str | Path, *, root: str | Path | None = None, allow_paths: Sequence[str | Path] = ()) -> Suite:
    """Load, validate and expand a suite file; every failure is a SuiteError naming file:line.

    Files the suite names (``cases_from``, ``cache_key_files``) must resolve inside `root` (default:
    the working directory and the suite's own folder) or one of `allow_paths` (relative to `root`).
    An unexpected exception is a bug in llmeval, but still only this file's error (the cause is chained).
    """
    from llmeval.suite.expand import expand
    from llmeval.suite.paths import Confinement
    from llmeval.suite.validate import validate
    from llmeval.suite.yamlfile import load_yaml

    if root is None:
        root, allow_paths = Path.cwd(), [Path(path).parent.absolute(), *allow_paths]
    try:
        data, linemap = load_yaml(path)
        return expand(validate(data, linemap), linemap, Confinement.of(root, allow_paths))
    except LlmevalError:
        raise
    except Exception as exc:  # noqa: BLE001  (a hostile file must not crash collection of the others)
        raise SuiteError(
            f"cannot load this suite: {type(exc).__name__}: {exc}",
            path=str(path),
            hint="this is a bug in llmeval; please report it with the suite file",
        ) from exc
