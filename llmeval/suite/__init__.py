"""Suite files: load, validate, expand."""

from __future__ import annotations

from pathlib import Path

from llmeval.suite.model import Case, Gate, Suite

__all__ = ["Case", "Gate", "Suite", "is_suite_file", "load_suite"]


def is_suite_file(path: Path) -> bool:
    """A YAML file is a suite when it has a top-level `suite:` key (checked without parsing)."""
    if path.suffix not in (".yaml", ".yml"):
        return False
    try:
        with path.open(encoding="utf-8") as fh:
            return any(line.startswith("suite:") for line in fh)
    except (OSError, UnicodeDecodeError):
        return False


def load_suite(path: str | Path) -> Suite:
    """Load, validate and expand a suite file; raises SuiteError naming file:line."""
    from llmeval.suite.expand import expand
    from llmeval.suite.validate import validate
    from llmeval.suite.yamlfile import load_yaml

    data, linemap = load_yaml(path)
    spec = validate(data, linemap)
    return expand(spec, linemap)
